"""What a tumour board reads per finding: one line per therapy and direction, statements, and the evidence rows.

Counted predictive evidence (tiers.py) is grouped by regimen and direction, as OncoKB and PCGR present it: a line per
therapy (a combination kept whole) per direction, with its best level, whether it holds for this tumour type, and
every supporting item with its source and citations. Resistance lines are separate from sensitivity lines. Prognostic
and diagnostic statements come only from the tumour's own lineage (tiers.evidence_scope decides).
"""

from __future__ import annotations

from collections import defaultdict

from gmc.interpretation.cancer.knowledgebase import KnowledgeBase
from gmc.interpretation.cancer.matching import EvidenceMatch
from gmc.interpretation.cancer.tiers import TierCall

_DIRECTION_ORDER = {"sensitivity": 0, "resistance": 1}


def _support(match: EvidenceMatch, here: bool) -> dict[str, object]:
    item = match.evidence
    return {"id": item.id, "source": item.source, "level": item.level, "source_level": item.source_level,
            "significance": item.significance, "disease": item.disease, "tumour_type": item.tumour_type,
            "in_tumour_type": here, "tumour_agnostic": item.tumour_agnostic, "match_level": match.level,
            "citations": list(item.citations)}


def therapy_lines(kb: KnowledgeBase, call: TierCall) -> list[dict[str, object]]:
    """One line per regimen and direction from the evidence that counts, best first (RESULT `therapies`)."""
    groups: dict[tuple[str, object], dict[str, object]] = {}
    supports: dict[tuple[str, object], list[tuple[EvidenceMatch, bool]]] = defaultdict(list)
    for matches, here in ((call.in_tumour_type, True), (call.other_tumour_types, False)):
        for match in matches:
            item = match.evidence
            if item.evidence_type != "predictive" or item.direction not in _DIRECTION_ORDER:
                continue
            for therapy in item.therapies:
                regimen = kb.drugs.canonical(therapy)
                key = (item.direction, kb.drugs.regimen_key(regimen))
                groups.setdefault(key, {"therapy": regimen.label, "drugs": list(regimen.drugs),
                                        "combination": regimen.kind, "note": regimen.note,
                                        "direction": item.direction})
                if all(seen.evidence.id != item.id for seen, _ in supports[key]):
                    supports[key].append((match, here))
    lines = []
    for key, line in groups.items():
        rows = sorted(supports[key], key=lambda pair: (not pair[1], pair[0].evidence.level, pair[0].evidence.id))
        here_levels = sorted(m.evidence.level for m, here in rows if here)
        other_levels = sorted(m.evidence.level for m, here in rows if not here)
        line.update(
            best_level=min(here_levels + other_levels), in_tumour_type=bool(here_levels),
            level_here=here_levels[0] if here_levels else None,
            level_elsewhere=other_levels[0] if other_levels else None,
            tumour_agnostic=any(m.evidence.tumour_agnostic for m, here in rows if here),
            sources=sorted({m.evidence.source for m, _ in rows}),
            evidence_ids=[m.evidence.id for m, _ in rows],
            citations=list(dict.fromkeys(c for m, _ in rows for c in m.evidence.citations)),
            diseases=list(dict.fromkeys(m.evidence.disease for m, _ in rows)),
            support=[_support(m, here) for m, here in rows],
        )
        lines.append(line)
    # Best first: this tumour type, then level, then an indication for this lineage before one that holds only as
    # tumour-agnostic (encorafenib + cetuximab in colorectal above the any-solid-tumour dabrafenib + trametinib),
    # sensitivity before resistance, then the better-supported line.
    lines.sort(key=lambda line: (not line["in_tumour_type"], line["level_here"] or line["best_level"],
                                 _agnostic_only(line), _DIRECTION_ORDER[line["direction"]], -len(line["support"]),
                                 str(line["therapy"]).lower()))
    return lines


def _agnostic_only(line: dict[str, object]) -> bool:
    """True when every item that holds for this tumour type at its best level is a tumour-agnostic indication."""
    best = [row for row in line["support"] if row["in_tumour_type"] and row["level"] == line["level_here"]]
    return bool(best) and all(row["tumour_agnostic"] for row in best)


def statement_lines(call: TierCall, evidence_type: str) -> list[dict[str, object]]:
    """Prognostic or diagnostic statements of this lineage, one per significance, best level first."""
    grouped: dict[str, list[EvidenceMatch]] = defaultdict(list)
    for match in call.in_tumour_type:
        if match.evidence.evidence_type == evidence_type:
            grouped[match.evidence.significance or "stated"].append(match)
    lines = []
    for significance, matches in grouped.items():
        matches.sort(key=lambda m: (m.evidence.level, m.evidence.id))
        lines.append({"significance": significance, "best_level": matches[0].evidence.level,
                      "diseases": list(dict.fromkeys(m.evidence.disease for m in matches)),
                      "sources": sorted({m.evidence.source for m in matches}),
                      "evidence_ids": [m.evidence.id for m in matches],
                      "citations": list(dict.fromkeys(c for m in matches for c in m.evidence.citations))})
    return sorted(lines, key=lambda line: (line["best_level"], line["significance"]))


def evidence_rows(call: TierCall, matches: list[EvidenceMatch]) -> list[dict[str, object]]:
    """Every matched item (the full list behind the lines), with whether and why it counts."""
    here = {m.evidence.id for m in call.in_tumour_type}
    counted = here | {m.evidence.id for m in call.other_tumour_types}
    rows = []
    for match in sorted(matches, key=lambda m: (m.evidence.level, m.evidence.id)):
        item = match.evidence
        rows.append({
            "id": item.id, "source": item.source, "type": item.evidence_type, "level": item.level,
            "source_level": item.source_level, "significance": item.significance, "direction": item.direction,
            "supports": item.supports, "disease": item.disease, "tumour_type": item.tumour_type,
            "biomarker": item.biomarker.alteration, "match_level": match.level,
            "therapies": [therapy.label for therapy in item.therapies], "citations": list(item.citations),
            "tumour_agnostic": item.tumour_agnostic, "in_tumour_type": item.id in here,
            "counted_for_tier": item.id in counted, "not_counted_reason": call.not_counted.get(item.id, ""),
        })
    return rows


def counted_ids(call: TierCall) -> list[str]:
    """Ids of the items that count towards the tier."""
    return sorted({match.evidence.id for match in call.in_tumour_type + call.other_tumour_types})
