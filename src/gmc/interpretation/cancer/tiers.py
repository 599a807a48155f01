"""AMP/ASCO/CAP 2017 tiers (Li et al. 2017) from matched evidence, tumour type and oncogenicity, applied as written.

- Tier I: level A or B evidence recorded for this tumour type or an OncoTree ancestor of it (IA, IB), or for a stated
  tumour-agnostic indication (a regulatory approval or guideline for any tumour type, levels.py);
- Tier II: level A or B evidence only for other tumour types (IIC), or level C (IIC) or D (IID) evidence;
- Tier III: other protein-altering variants in cancer genes, or variants classed (likely) oncogenic;
- Tier IV: (likely) benign, or protein-altering outside cancer genes.

What never counts: a study whose disease was simply "Cancer" or "any solid tumour" (pan-cancer, not an indication),
inferential (E) items, statements the source marks "does not support", pharmacogenomic toxicity, and prognostic or
diagnostic items recorded for another lineage (they describe that disease, not this one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gmc.interpretation.cancer.knowledgebase import KnowledgeBase
from gmc.interpretation.cancer.levels import TIERING_LEVELS
from gmc.interpretation.cancer.matching import SPECIFIC_LEVELS, EvidenceMatch
from gmc.interpretation.cancer.oncogenicity import NOT_CLASSIFIED, Oncogenicity
from gmc.interpretation.cancer.oncotree import ROOT

#: Evidence types that carry clinical significance in AMP tiering (therapeutic, diagnostic, prognostic).
CLINICAL_TYPES = frozenset({"predictive", "diagnostic", "prognostic"})
ONCOGENIC_CLASSES = frozenset({"Oncogenic", "Likely Oncogenic"})
BENIGN_CLASSES = frozenset({"Likely Benign", "Benign"})
#: OncoTree tissues of haematological cancers, to which "any solid tumour" indications do not apply.
HAEMATOLOGICAL_TISSUES = frozenset({"Myeloid", "Lymphoid"})
HERE, ELSEWHERE = "here", "elsewhere"


@dataclass
class TierCall:
    """A tier with the AMP evidence level behind it, the evidence that counted and why the rest did not."""

    #: I, II, III, IV, or None (not reported: non-coding/silent without evidence).
    tier: str | None
    #: IA, IB, IIC, IID (None for III/IV).
    amp_level: str | None = None
    #: Evidence that counts, split by whether it holds for this tumour type (its lineage or a stated indication).
    in_tumour_type: list[EvidenceMatch] = field(default_factory=list)
    other_tumour_types: list[EvidenceMatch] = field(default_factory=list)
    reason: str = ""
    #: Evidence id -> why it does not count (shown beside the full evidence list).
    not_counted: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TumourContext:
    """The tumour type being read: its lineage (itself and its OncoTree ancestors) and whether it is a blood cancer."""

    code: str
    name: str
    lineage: frozenset[str]
    haematological: bool

    @classmethod
    def of(cls, kb: KnowledgeBase, code: str) -> TumourContext:
        """The context of an OncoTree code (retired codes mapped)."""
        node = kb.oncotree.get(code)
        chain = kb.oncotree.ancestors(node.code)
        haematological = any(kb.oncotree.nodes[c].name in HAEMATOLOGICAL_TISSUES for c in chain)
        return cls(node.code, node.name, frozenset(chain), haematological)


def evidence_scope(match: EvidenceMatch, tumour: TumourContext,
                   oncogenicity: Oncogenicity | None) -> tuple[str | None, str]:
    """Whether an item counts for this tumour type (HERE), for another (ELSEWHERE) or not at all (None, reason)."""
    item = match.evidence
    if not item.supports:
        return None, "the source records that the evidence does not support this"
    if item.evidence_type not in CLINICAL_TYPES:
        return None, f"{item.evidence_type} evidence does not set an AMP tier"
    if item.level not in TIERING_LEVELS:
        return None, f"level {item.level} ({item.source_level}) is inferential and never sets a tier"
    if item.direction == "toxicity":
        return None, "pharmacogenomic toxicity is a germline matter, not a somatic tier"
    if item.tumour_type == ROOT and not item.tumour_agnostic:
        return None, ("a pan-cancer study (disease: " + (item.disease or "cancer") + "), not a stated "
                      "tumour-agnostic indication")
    if match.level not in SPECIFIC_LEVELS and (oncogenicity is None or oncogenicity.label not in ONCOGENIC_CLASSES):
        label = oncogenicity.label if oncogenicity else "not assessed"
        return None, (f"names any {match.level} change of the gene: counts only for a variant classed oncogenic or "
                      f"likely oncogenic (this one: {label})")
    in_lineage = item.tumour_type in tumour.lineage and item.tumour_type != ROOT
    if item.tumour_type == ROOT:
        if item.evidence_type != "predictive":
            return None, "pan-cancer prognostic or diagnostic evidence describes no lineage"
        if item.scope == "solid" and tumour.haematological:
            return ELSEWHERE, "a solid-tumour indication: for this blood cancer it is another tumour type"
        return HERE, "a stated tumour-agnostic indication"
    if item.evidence_type in {"prognostic", "diagnostic"}:
        if in_lineage:
            return HERE, "recorded for this tumour type or a parent"
        return None, f"{item.evidence_type} evidence for another lineage ({item.disease or 'unmapped disease'})"
    return (HERE, "recorded for this tumour type or a parent") if in_lineage else (
        ELSEWHERE, "recorded for another tumour type")


def _pending_gene_level(not_counted: dict[str, str], oncogenicity: Oncogenicity | None) -> str:
    """A note when gene-level evidence waits on a class the missing population frequency could still give."""
    if oncogenicity is None or not ONCOGENIC_CLASSES & set(oncogenicity.possible_classes):
        return ""
    waiting = sorted(item for item, why in not_counted.items() if why.startswith("names any"))
    if not waiting or oncogenicity.label in ONCOGENIC_CLASSES:
        return ""
    return (f"; {len(waiting)} gene-level item{'s' if len(waiting) > 1 else ''} ({', '.join(waiting[:3])}) would count "
            f"if the variant were classed likely oncogenic, which it could be once its population frequency is known")


def assign_tier(
    kb: KnowledgeBase,
    matches: list[EvidenceMatch],
    tumour_type: str,
    *,
    oncogenicity: Oncogenicity | None = None,
    gene: str | None = None,
    protein_altering: bool = True,
    tumour: TumourContext | None = None,
) -> TierCall:
    """Tier I: level A/B evidence here (this type, a parent, or a stated tumour-agnostic indication); tier II: A/B
    only elsewhere, or C/D; tier III: protein-altering in a cancer gene or (likely) oncogenic without such evidence;
    tier IV: likely benign/benign, or protein-altering outside cancer genes; None: silent or non-coding."""
    tumour = tumour or TumourContext.of(kb, tumour_type)
    here: list[EvidenceMatch] = []
    elsewhere: list[EvidenceMatch] = []
    not_counted: dict[str, str] = {}
    for match in matches:
        scope, why = evidence_scope(match, tumour, oncogenicity)
        if scope == HERE:
            here.append(match)
        elif scope == ELSEWHERE:
            elsewhere.append(match)
        else:
            not_counted[match.evidence.id] = why
    levels_here = {match.evidence.level for match in here}
    levels_elsewhere = {match.evidence.level for match in elsewhere}

    def call(tier: str, amp: str, why: str) -> TierCall:
        return TierCall(tier, amp, here, elsewhere, why, not_counted)

    def named(level: str, pool: list[EvidenceMatch]) -> str:
        best = sorted((m.evidence for m in pool if m.evidence.level == level), key=lambda item: item.id)
        diseases = sorted({item.disease for item in best})[:3]
        return ", ".join(diseases) + (f" ({best[0].id}{' and others' if len(best) > 1 else ''})" if best else "")

    if "A" in levels_here:
        return call("I", "IA", f"level A evidence in this tumour type or a parent: {named('A', here)}")
    if "B" in levels_here:
        return call("I", "IB", f"level B evidence in this tumour type or a parent: {named('B', here)}")
    if levels_elsewhere & {"A", "B"}:
        level = "A" if "A" in levels_elsewhere else "B"
        return call("II", "IIC", f"level {level} evidence only in other tumour types: {named(level, elsewhere)}")
    if "C" in levels_here | levels_elsewhere:
        return call("II", "IIC", f"level C evidence: {named('C', here + elsewhere)}")
    if "D" in levels_here | levels_elsewhere:
        return call("II", "IID", f"level D (preclinical or case report) evidence: {named('D', here + elsewhere)}")
    label = oncogenicity.label if oncogenicity else "VUS"
    pending = _pending_gene_level(not_counted, oncogenicity)
    if not protein_altering:
        return TierCall(None, None, reason="silent or non-coding, no clinical evidence", not_counted=not_counted)
    if label in BENIGN_CLASSES:
        return TierCall("IV", None, reason=f"oncogenicity {label}", not_counted=not_counted)
    # A cancer gene: an IntOGen driver, a CGI cancer gene, an NCG oncogene/suppressor, or a gene with evidence.
    cancer_gene = (gene or "").upper() in kb.genes or (gene or "").upper() in kb.by_gene
    unknown = " (a coding change of unknown protein effect)" if label == NOT_CLASSIFIED else ""
    if cancer_gene or label in ONCOGENIC_CLASSES:
        return TierCall("III", None, reason="unknown clinical significance" + (" in a cancer gene" if cancer_gene else "")
                        + unknown + pending, not_counted=not_counted)
    return TierCall("IV", None, reason="outside known cancer genes, no evidence of cancer association" + unknown,
                    not_counted=not_counted)
