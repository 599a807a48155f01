"""AMP/ASCO/CAP 2017 tiers (Li et al. 2017) from matched evidence, tumour type and oncogenicity."""

from __future__ import annotations

from dataclasses import dataclass, field

from gmc.interpretation.cancer.knowledgebase import KnowledgeBase
from gmc.interpretation.cancer.matching import SPECIFIC_LEVELS, EvidenceMatch
from gmc.interpretation.cancer.oncogenicity import Oncogenicity

#: Evidence types that carry clinical significance in AMP tiering (therapeutic, diagnostic, prognostic).
CLINICAL_TYPES = frozenset({"predictive", "diagnostic", "prognostic"})
ONCOGENIC_CLASSES = frozenset({"Oncogenic", "Likely Oncogenic"})
BENIGN_CLASSES = frozenset({"Likely Benign", "Benign"})
#: OncoTree tissues of haematological cancers, to which "any solid tumour" evidence does not apply.
HAEMATOLOGICAL_TISSUES = frozenset({"Myeloid", "Lymphoid"})


@dataclass
class TierCall:
    """A tier with the AMP evidence level behind it and the evidence that counted."""

    #: I, II, III, IV, or None (not reported: non-coding/silent without evidence).
    tier: str | None
    #: IA, IB, IIC, IID (None for III/IV).
    amp_level: str | None = None
    #: Evidence that supports the tier, split by whether it was recorded for this tumour type.
    in_tumour_type: list[EvidenceMatch] = field(default_factory=list)
    other_tumour_types: list[EvidenceMatch] = field(default_factory=list)
    reason: str = ""


def usable(match: EvidenceMatch, oncogenicity: Oncogenicity | None) -> bool:
    """Evidence counts when it supports a clinical significance and names this alteration.

    "Any mutation"/"truncating" biomarkers count only for variants classed (likely) oncogenic, because
    labels such as "PIK3CA-mutated" mean activating or inactivating mutations, not any change in the gene.
    """
    item = match.evidence
    if not item.supports or item.evidence_type not in CLINICAL_TYPES or item.level not in {"A", "B", "C", "D"}:
        return False
    if match.level in SPECIFIC_LEVELS:
        return True
    return oncogenicity is not None and oncogenicity.label in ONCOGENIC_CLASSES


def applies_here(match: EvidenceMatch, lineage: set[str], haematological: bool) -> bool:
    """Evidence recorded for this tumour type or a parent; "any solid tumour" evidence skips blood cancers."""
    item = match.evidence
    if item.tumour_type not in lineage:
        return False
    return not (haematological and "solid" in item.disease.lower())


def assign_tier(
    kb: KnowledgeBase,
    matches: list[EvidenceMatch],
    tumour_type: str,
    *,
    oncogenicity: Oncogenicity | None = None,
    gene: str | None = None,
    protein_altering: bool = True,
) -> TierCall:
    """Tier I: level A/B evidence in this tumour type (or its parents); tier II: A/B in other types, or C/D;
    tier III: protein-altering in a cancer gene or (likely) oncogenic without such evidence; tier IV: likely
    benign/benign, or protein-altering outside cancer genes; None: silent or non-coding without evidence."""
    lineage = set(kb.oncotree.ancestors(tumour_type))
    haematological = kb.oncotree.nodes[kb.oncotree.get(tumour_type).code].tissue in HAEMATOLOGICAL_TISSUES
    counted = [match for match in matches if usable(match, oncogenicity)]
    here = [match for match in counted if applies_here(match, lineage, haematological)]
    elsewhere = [match for match in counted if not applies_here(match, lineage, haematological)]
    levels_here = {match.evidence.level for match in here}
    levels_elsewhere = {match.evidence.level for match in elsewhere}
    if "A" in levels_here:
        return TierCall("I", "IA", here, elsewhere, "level A evidence in this tumour type")
    if "B" in levels_here:
        return TierCall("I", "IB", here, elsewhere, "level B evidence in this tumour type")
    if levels_elsewhere & {"A", "B"}:
        return TierCall("II", "IIC", here, elsewhere, "level A/B evidence in another tumour type")
    if "C" in levels_here | levels_elsewhere:
        return TierCall("II", "IIC", here, elsewhere, "level C evidence")
    if "D" in levels_here | levels_elsewhere:
        return TierCall("II", "IID", here, elsewhere, "level D (preclinical or case report) evidence")
    label = oncogenicity.label if oncogenicity else "VUS"
    if not protein_altering:
        return TierCall(None, None, reason="silent or non-coding, no clinical evidence")
    if label in BENIGN_CLASSES:
        return TierCall("IV", None, reason=f"oncogenicity {label}")
    # A cancer gene: an IntOGen driver, a CGI cancer gene, an NCG oncogene/suppressor, or a gene with evidence.
    cancer_gene = (gene or "").upper() in kb.genes or (gene or "").upper() in kb.by_gene
    if cancer_gene or label in ONCOGENIC_CLASSES:
        return TierCall("III", None, reason="unknown clinical significance" + (" in a cancer gene" if cancer_gene else ""))
    return TierCall("IV", None, reason="protein-altering outside known cancer genes, no evidence of cancer association")
