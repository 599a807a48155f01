"""Oncogenicity of somatic variants by the ClinGen/CGC/VICC 2022 points scheme (Horak et al. 2022)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gmc.interpretation.cancer.knowledgebase import KnowledgeBase
from gmc.interpretation.cancer.matching import EvidenceMatch
from gmc.interpretation.cancer.model import SomaticVariant

#: Points per criterion (Horak 2022 Table 2; the same values as PCGR's oncogenicity.tsv).
POINTS = {
    "OVS1": 8, "OS1": 4, "OS2": 4, "OS3": 4, "OM1": 2, "OM2": 2, "OM3": 2, "OM4": 2,
    "OP1": 1, "OP2": 1, "OP3": 1, "OP4": 1, "SBVS1": -8, "SBS1": -4, "SBS2": -4, "SBP1": -1, "SBP2": -1,
}
#: Population frequency above which SBVS1 (>5%) and SBS1 (>1%) apply.
VERY_HIGH_POPULATION_AF = 0.05
HIGH_POPULATION_AF = 0.01
#: CGI catalogue sources whose curation rests on functional studies (OS2); ClinVar and predictions do not.
FUNCTIONAL_SOURCES = frozenset({"OncoKB", "DoCM", "IARC"})
#: Biomarker levels precise enough to say the residue is a critical site (OM1), as PCGR reads them.
SITE_LEVELS = frozenset({"exact", "codon", "region"})
#: REVEL thresholds of the ClinGen SVI calibration (Pejaver et al., Am J Hum Genet 2022): supporting evidence of a
#: damaging effect at >= 0.644 (OP1), of no effect at <= 0.290 (SBP1). Used only when the input carries REVEL.
REVEL_OP1 = 0.644
REVEL_SBP1 = 0.290
#: The class given when an input the SOP needs is missing (instead of a VUS that would read as a verdict).
NOT_CLASSIFIED = "Not classified"
#: Consequences that say the change lies in the coding sequence but not what it does to the protein (no reference
#: sequence to translate, gmc.genomics.annotation).
UNKNOWN_EFFECT_TERMS = frozenset({"coding_sequence_variant", "protein_altering_variant"})
#: Consequences that state a protein effect.
KNOWN_EFFECT_TERMS = frozenset({
    "missense_variant", "stop_gained", "frameshift_variant", "inframe_insertion", "inframe_deletion", "stop_lost",
    "start_lost", "synonymous_variant", "stop_retained_variant", "splice_acceptor_variant", "splice_donor_variant",
    "transcript_ablation", "exon_loss_variant",
})
#: Points the frequency criteria could add when no population frequency is known: SBVS1, SBS1, none, OP4.
FREQUENCY_OUTCOMES = (-8, -4, 0, 1)


@dataclass
class Oncogenicity:
    """The criteria met, their summed points and the resulting class, and what was missing to decide it."""

    criteria: list[str] = field(default_factory=list)
    points: int | None = 0
    #: Oncogenic, Likely Oncogenic, VUS, Likely Benign, Benign, or NOT_CLASSIFIED.
    label: str = "VUS"
    #: Why each criterion was met, for the report.
    reasons: dict[str, str] = field(default_factory=dict)
    #: Inputs the SOP needs that were not available ("protein effect", "population frequency").
    missing_inputs: list[str] = field(default_factory=list)
    #: What the missing inputs mean for the class.
    note: str = ""
    #: Every class the variant could have once the missing population frequency is known (one class: settled).
    possible_classes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The RESULT form (result.OncogenicityResult)."""
        return {"class": self.label, "points": self.points, "criteria": list(self.criteria),
                "reasons": dict(self.reasons), "missing_inputs": list(self.missing_inputs), "note": self.note,
                "possible_classes": list(self.possible_classes)}


def protein_effect_unknown(variant: SomaticVariant) -> bool:
    """A coding change whose effect on the protein is not known (no reference sequence to translate it)."""
    terms = set(variant.consequences)
    return bool(terms & UNKNOWN_EFFECT_TERMS) and not terms & KNOWN_EFFECT_TERMS and variant.protein is None


def classify_points(points: int) -> str:
    """Horak 2022 thresholds: >=10 Oncogenic, 6-9 Likely Oncogenic, 0-5 VUS, -1..-6 Likely Benign, <=-7 Benign."""
    if points >= 10:
        return "Oncogenic"
    if points >= 6:
        return "Likely Oncogenic"
    if points >= 0:
        return "VUS"
    if points >= -6:
        return "Likely Benign"
    return "Benign"


def assess_oncogenicity(
    kb: KnowledgeBase, variant: SomaticVariant, matches: Iterable[EvidenceMatch] = ()
) -> Oncogenicity:
    """Applies the criteria the knowledge base can support and sums their points.

    Exclusions follow the SOP as PCGR implements them: OM1 not with OS1/OS3; OM3 not with OS1/OS3/OM1;
    OM4 and OP3 not with OM1/OM3; OM2 not with OVS1. OP1/SBP1 come from REVEL when the input carries it;
    SBS2 (functional studies showing no effect) needs a source gmc lacks.
    """
    result = Oncogenicity()

    def meet(code: str, reason: str) -> None:
        result.criteria.append(code)
        result.reasons[code] = reason

    gene = (variant.gene or "").upper()
    role = kb.genes.get(gene)
    protein = variant.protein
    missense = protein is not None and protein.kind == "missense"
    if variant.is_null and role is not None and role.tumour_suppressor:
        meet("OVS1", f"null variant ({', '.join(sorted(variant.consequences))}) in tumour suppressor {gene}")
    # One catalogue record is one line of evidence: OS2 when this allele itself is a functionally validated
    # oncogenic mutation; OS1 when another nucleotide change giving the same amino-acid change is (the SOP's
    # "same amino acid change ... regardless of nucleotide change"). Never both from the same record.
    catalogue_sources = kb.oncogenic_alleles.get(variant.key, frozenset())
    if catalogue_sources & FUNCTIONAL_SOURCES:
        meet("OS2", "functionally validated oncogenic allele (CGI catalogue from "
                    f"{', '.join(sorted(catalogue_sources & FUNCTIONAL_SOURCES))})")
    elif protein is not None and protein.kind not in {"synonymous", "codon"}:
        others = _oncogenic_protein_changes(kb).get((gene, protein.short), set()) - {variant.key}
        if others:
            chrom, pos, ref, alt = sorted(others)[0]
            meet("OS1", f"same amino-acid change as a validated oncogenic mutation at another nucleotide change "
                        f"({chrom}:{pos} {ref}>{alt}, CGI catalogue)")
    om4 = op3 = om3 = ""
    if missense:
        hotspot = kb.hotspots.get((gene, protein.start))
        if hotspot is not None:
            alt_counts = dict(hotspot.alt_counts)
            same = alt_counts.get(protein.alt, 0)
            where = f"cancerhotspots {gene} {protein.ref}{protein.start}: {hotspot.position_count} samples at the residue"
            if same >= 10 and hotspot.position_count >= 50:
                meet("OS3", f"{where}, {same} with {protein.alt}")
            elif same >= 10:
                om4 = f"{where} (<50), {same} with {protein.alt}"
            elif same >= 1:
                op3 = f"{where}, {same} with {protein.alt} (<10)"
            elif any(count >= 10 for count in alt_counts.values()):
                om3 = f"{where}; other missense changes here are recurrent hotspot alleles"
    elif protein is None and variant.key in kb.hotspot_alleles:
        meet("OS3", f"allele is a cancerhotspots.org hotspot allele ({kb.hotspot_alleles[variant.key][1]})")
    strong = {"OS1", "OS3"} & set(result.criteria)
    if not strong and (missense or (protein is not None and protein.kind in {"inframe_deletion", "inframe_insertion"})):
        site = next((m for m in matches if m.level in SITE_LEVELS and m.evidence.origin == "somatic"
                     and m.evidence.evidence_type in {"predictive", "oncogenic"}), None)
        domain = role is not None and protein is not None and any(
            start <= protein.start <= end for start, end in role.domains)
        if site is not None:
            meet("OM1", f"critical site: clinical evidence names this {site.level} ({site.evidence.id})")
        elif domain:
            meet("OM1", f"in a {gene} domain with significant mutation clustering (IntOGen)")
    if om3 and not strong and "OM1" not in result.criteria:
        meet("OM3", om3)
    if "OM1" not in result.criteria and "OM3" not in result.criteria:
        if om4:
            meet("OM4", om4)
        elif op3:
            meet("OP3", op3)
    in_frame = {"inframe_insertion", "inframe_deletion"}.intersection(variant.consequences) or (
        protein is not None and protein.kind in {"inframe_deletion", "inframe_insertion", "delins"})
    if role is not None and (role.oncogene or role.tumour_suppressor) and "OVS1" not in result.criteria:
        if in_frame:
            meet("OM2", f"in-frame length change in cancer gene {gene}")
        elif "stop_lost" in variant.consequences and role.tumour_suppressor:
            meet("OM2", f"stop-loss in tumour suppressor {gene}")
    if missense and variant.revel is not None:
        if variant.revel >= REVEL_OP1:
            meet("OP1", f"REVEL {variant.revel:.3g} >= {REVEL_OP1} (computational evidence of a damaging effect)")
        elif variant.revel <= REVEL_SBP1:
            meet("SBP1", f"REVEL {variant.revel:.3g} <= {REVEL_SBP1} (computational evidence of no effect)")
    if variant.population_af is not None:
        if variant.population_af > VERY_HIGH_POPULATION_AF:
            meet("SBVS1", f"population allele frequency {variant.population_af:.3g} > 5%")
        elif variant.population_af > HIGH_POPULATION_AF:
            meet("SBS1", f"population allele frequency {variant.population_af:.3g} > 1%")
        elif variant.population_af == 0:
            meet("OP4", "absent from population controls")
    silent = {"synonymous_variant", "intron_variant"}.intersection(variant.consequences)
    # SBP2 is for silent changes with no predicted effect on splicing: nothing in a splice region counts.
    near_splice = any("splice" in term for term in variant.consequences)
    if silent and not variant.is_protein_altering and not near_splice:
        meet("SBP2", "silent or intronic change outside the consensus splice site")
    if protein_effect_unknown(variant):
        result.missing_inputs.append("protein effect")
    if variant.population_af is None:
        result.missing_inputs.append("population frequency")
    points = sum(POINTS[code] for code in result.criteria)
    if "protein effect" in result.missing_inputs:
        result.points, result.label = None, NOT_CLASSIFIED
        result.note = ("not classified: protein effect unknown (no reference sequence covers this coding change; "
                       "configure GMC_REFERENCE_FASTA or supply an annotated VCF)")
        return result
    result.points, result.label = points, classify_points(points)
    result.possible_classes = [result.label]
    if "population frequency" in result.missing_inputs:
        result.possible_classes = list(dict.fromkeys(classify_points(points + extra) for extra in FREQUENCY_OUTCOMES))
        settled = len(result.possible_classes) == 1
        result.note = ("population frequency unknown: OP4, SBS1 and SBVS1 not assessed"
                       + ("; the class does not depend on them" if settled else
                          f"; once known the class could be {' or '.join(result.possible_classes)}"))
    return result


def _oncogenic_protein_changes(kb: KnowledgeBase) -> dict[tuple[str, str], set[tuple[str, int, str, str]]]:
    """(gene, change) -> the CGI validated oncogenic alleles giving it (protein change from the hotspot table)."""
    cached = getattr(kb, "_oncogenic_proteins", None)
    if cached is None:
        cached = {}
        for key in kb.oncogenic_alleles:
            if key in kb.hotspot_alleles:
                cached.setdefault(kb.hotspot_alleles[key], set()).add(key)
        kb._oncogenic_proteins = cached  # type: ignore[attr-defined]
    return cached
