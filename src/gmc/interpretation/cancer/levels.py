"""Evidence levels of every source mapped to AMP/ASCO/CAP 2017 levels, in one table (the only place they are set).

AMP/ASCO/CAP 2017 (Li et al., J Mol Diagn 2017, table 2) defines the levels of evidence for a biomarker:

- A: an FDA-approved therapy, or a professional guideline, for this biomarker in this tumour type;
- B: well-powered studies with consensus from experts in the field;
- C: an FDA-approved therapy for another tumour type, investigational therapies, or multiple small published
  studies with some consensus;
- D: preclinical trials, or a few case reports without consensus.

Level E (inferential, e.g. CIViC E, MOAlmanac "Inferential") is kept so that it can be shown but never counts towards
a tier. ``states_indication`` marks the levels at which the source records a regulatory approval or a guideline: only
those can state a tumour-agnostic indication (an approval "for any solid tumour", such as NTRK fusions, MSI-H or
TMB-H); a single study whose disease was "Cancer" or "any solid tumour" never counts as this tumour type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


class EvidenceLevelError(ValueError):
    """A source wrote an evidence level that the table does not map; names the source and the level."""


@dataclass(frozen=True)
class LevelMapping:
    """How one source's evidence level reads as an AMP/ASCO/CAP level, and why."""

    source: str
    #: The level exactly as the source writes it (compared case-insensitively).
    source_level: str
    #: A, B, C, D, or E (not an AMP level: shown, never tiering).
    amp_level: str
    #: What the source means by the level.
    meaning: str
    #: True for regulatory approvals and guidelines, the only levels that can state a tumour-agnostic indication.
    states_indication: bool = False


#: Every source level gmc reads, mapped once. Changing a mapping here changes it everywhere (import, tiers, docs).
EVIDENCE_LEVELS: tuple[LevelMapping, ...] = (
    LevelMapping("CIViC", "A", "A", "Validated association: proven or consensus association in human medicine; "
                 "the 2018 export names no approval, and its level A items for 'Cancer' (olaparib, EID1370) are no "
                 "tumour-agnostic indication"),
    LevelMapping("CIViC", "B", "B", "Clinical evidence: clinical trials or other primary patient data in more than a "
                 "few patients"),
    LevelMapping("CIViC", "C", "D", "Case study: individual case reports (AMP level D: 'a few case reports without "
                 "consensus')"),
    LevelMapping("CIViC", "D", "D", "Preclinical evidence: cell lines, animal models"),
    LevelMapping("CIViC", "E", "E", "Inferential association: indirect evidence"),
    LevelMapping("CGI", "FDA guidelines", "A", "FDA-approved biomarker and drug", states_indication=True),
    LevelMapping("CGI", "NCCN guidelines", "A", "NCCN guideline", states_indication=True),
    LevelMapping("CGI", "NCCN/CAP guidelines", "A", "NCCN and CAP guidelines", states_indication=True),
    LevelMapping("CGI", "European LeukemiaNet guidelines", "A", "European LeukemiaNet guideline",
                 states_indication=True),
    LevelMapping("CGI", "CPIC guidelines", "A", "CPIC pharmacogenomic guideline (germline)", states_indication=True),
    LevelMapping("CGI", "Late trials", "B", "Phase III (late) clinical trials"),
    LevelMapping("CGI", "Late trials,Pre-clinical", "B", "Late trials, with preclinical support"),
    LevelMapping("CGI", "Early trials", "C", "Phase I/II (early) clinical trials: investigational therapy"),
    LevelMapping("CGI", "Early Trials,Case Report", "C", "Early trials and case reports"),
    LevelMapping("CGI", "Clinical trials", "C", "Clinical trials of unstated phase: investigational therapy"),
    LevelMapping("CGI", "Case report", "D", "Case reports"),
    LevelMapping("CGI", "Pre-clinical", "D", "Preclinical evidence"),
    LevelMapping("MOAlmanac", "FDA-Approved", "A", "FDA approval (package insert)", states_indication=True),
    LevelMapping("MOAlmanac", "Guideline", "A", "Clinical guideline (NCCN)", states_indication=True),
    LevelMapping("MOAlmanac", "Clinical trial", "B", "Published clinical trial result"),
    LevelMapping("MOAlmanac", "Clinical evidence", "C", "Clinical study that is not a trial, or a case series"),
    LevelMapping("MOAlmanac", "Preclinical", "D", "Preclinical evidence"),
    LevelMapping("MOAlmanac", "Inferential", "E", "Inferred from a related association"),
    LevelMapping("gmc-curated", "A", "A", "Curated by two gmc curators at AMP level A (tumour-agnostic only when "
                 "the curators mark it so, for TISSUE)"),
    LevelMapping("gmc-curated", "B", "B", "Curated by two gmc curators at AMP level B"),
    LevelMapping("gmc-curated", "C", "C", "Curated by two gmc curators at AMP level C"),
    LevelMapping("gmc-curated", "D", "D", "Curated by two gmc curators at AMP level D"),
    LevelMapping("gmc-curated", "E", "E", "Curated by two gmc curators: inferential, never tiering"),
)
#: AMP levels that count towards a tier.
TIERING_LEVELS = frozenset("ABCD")
_INDEX = {(row.source.lower(), row.source_level.lower()): row for row in EVIDENCE_LEVELS}


def level_mapping(source: str, source_level: str) -> LevelMapping:
    """The table row for a source's level; EvidenceLevelError (naming both) when the table has none."""
    row = _INDEX.get((source.strip().lower(), source_level.strip().lower()))
    if row is None:
        known = ", ".join(r.source_level for r in EVIDENCE_LEVELS if r.source.lower() == source.strip().lower())
        raise EvidenceLevelError(f"{source} evidence level {source_level!r} is not in the level table"
                                 + (f" (known: {known})" if known else ""))
    return row


def level_table() -> list[dict[str, object]]:
    """The table as plain rows (API, knowledge page, docs)."""
    return [asdict(row) for row in EVIDENCE_LEVELS]
