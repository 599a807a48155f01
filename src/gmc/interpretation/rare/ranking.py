"""Gene ranking for a rare-disease case: segregating variant evidence combined with the phenotype match.

Scores (all in [0, 1]):

- Variant frequency score (Exomiser's): 1 when the population AF is unknown or 0;
  1.13533 - 0.13533 * exp(AF in %) up to 2 %; 0 above.
- Variant pathogenicity score: 1 for ClinVar P/LP and predicted loss of function; REVEL when given for a
  missense change, else 0.6 for missense and in-frame changes; 0.5 for splice region; for a coding SNV whose
  protein effect is unknown (annotation without a reference sequence) the expectation over what the standard
  genetic code makes of that base change at that codon position (``codon_change_odds``: 0.1 synonymous,
  0.6 missense, 1 stop gained; e.g. a transition at a third position is almost always synonymous, any change
  at a second position never is), but never less than ``UNKNOWN_EFFECT_FLOOR`` (0.3): an allele whose protein
  effect is unknown is not scored as if it were synonymous; 0.5 when the codon position is unknown; 0.2 for UTR and non-coding exon
  changes; 0.1 for synonymous; 0 otherwise. Variant score = pathogenicity * frequency.
- Variants scoring 0 (intronic, intergenic, ...) are not weighed, nor paired as compound heterozygotes.
- When the gene's diseases have known modes of inheritance (HPO annotations, ``gene_inheritance``), segregation
  modes matching one of them (the tiering module's panel-mode table) count fully and any other mode counts
  ``mode_mismatch_weight`` (0.4; 0 excludes it): the annotations lag behind the literature, which keeps
  reporting recessive forms of dominant disease genes and the reverse.
- A gene's variant score is its best option among the modes its variants segregate with (after the
  tiering module's AF caps): one variant for dominant, de novo, X-linked, MT and homozygous recessive
  modes; the mean of the two variants of a compound heterozygous pair. In the one-allele modes (dominant,
  de novo) a loss-of-function allele, and a ClinVar P/LP allele in a gene that also has a recessive disease
  (most such alleles seen alone are carriers), are weighed by the gene's tolerance of losing one copy
  (``haploinsufficiency_factor``); any other missense-like or coding allele of unknown effect is weighed by the
  gene's tolerance of missense variation (``missense_constraint_factor``, gnomAD missense Z: 0.7 at Z <= 0, 1 from
  Z 3.09). Recessive modes are untouched by either: recessive disease genes are rarely constrained.
- Phenotype score: the caller's gene score (``files.gene_phenotype_scores``: the similarity with the patient
  side weighed 3/4, calibrated against all genes for the same profile), clipped to [0, 1]; a gene without one
  scores 0.
- Combined = logistic(-7 + 4 * variant + 10 * phenotype): the order is that of variant + 2.5 * phenotype, so
  both must be high to rank near the top and the phenotype weighs more, because without genome-wide population
  frequencies many background variants look equally damaging (the ratio 2.5 was chosen on a tuning half of
  the benchmark cases and checked on the other half, docs/bench/rare.md). Ties break on tier (1 before 2
  before 3 before none), then on the variant score, then on the gene symbol, so the order is reproducible.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from gmc.interpretation.rare.inheritance import (
    Call,
    Certainty,
    Mode,
    ModeCall,
    Pedigree,
    VariantGenotypes,
    describe_mode,
    segregate,
)
from gmc.interpretation.rare.panels import ModeOfInheritance, Panel
from gmc.interpretation.rare.tiering import (
    LOF_TERMS,
    PANEL_MODE_MATCH,
    FrequencyCaps,
    TieringVariant,
    is_known_pathogenic,
    rare_modes,
    tier_variant,
)

#: Name and version of the ranking method, written into every result's provenance.
RANKING_METHOD = "gmc-rare-rank 4"


class RankingInputError(ValueError):
    """A candidate variant or a score is malformed; the message names the variant or gene."""


@dataclass(frozen=True)
class CandidateVariant:
    """An annotated variant with every family member's call, as ranking reads it."""

    variant_id: str
    chrom: str
    pos: int
    ref: str
    alt: str
    gene_symbol: str
    calls: Mapping[str, Call]
    #: SO terms of the chosen transcript.
    consequences: frozenset[str]
    hgnc_id: str | None = None
    hgvs_p: str | None = None
    clinvar_significance: str | None = None
    population_af: float | None = None
    revel: float | None = None
    #: True when a truncating variant escapes nonsense-mediated decay on the chosen transcript.
    nmd_escape: bool | None = None
    #: gnomAD LoF observed/expected upper bound (LOEUF) of the gene's MANE transcript, when known.
    loeuf: float | None = None
    #: HGVS c. on the chosen transcript (e.g. ``c.123A>G``): gives the codon position of a coding SNV.
    hgvs_c: str | None = None
    #: gnomAD missense constraint Z score of the gene's MANE transcript, when known.
    mis_z: float | None = None


@dataclass(frozen=True)
class GeneRank:
    """A ranked gene with its scores, the mode and variants that earned them, and the reasons."""

    rank: int
    gene_symbol: str
    hgnc_id: str | None
    combined_score: float
    phenotype_score: float
    variant_score: float
    mode: Mode
    variant_ids: tuple[str, ...]
    tier: int | None
    reasons: tuple[str, ...]
    #: The disease whose phenotype and mode of inheritance earned the score (disease-level matching).
    disease_id: str | None = None
    #: The mode as reports state it: ``mode.value``, except that a de novo allele not confirmed by both
    #: parents' genotypes is ``heterozygous_parents_not_tested`` (``inheritance.describe_mode``).
    mode_label: str = ""
    #: The segregation in a sentence (who was genotyped, phase of a pair).
    inheritance: str = ""
    #: Whether relatives' genotypes support the mode ("consistent") or only the proband's ("possible").
    certainty: str = ""


_MISSENSE_LIKE = frozenset(
    {"missense_variant", "inframe_insertion", "inframe_deletion", "protein_altering_variant"}
)
_MISSENSE_OR_UNKNOWN = _MISSENSE_LIKE | {"coding_sequence_variant"}
_SPLICE_REGION = frozenset(
    {
        "splice_region_variant",
        "splice_donor_5th_base_variant",
        "splice_donor_region_variant",
        "splice_polypyrimidine_tract_variant",
    }
)
_LOW = frozenset(
    {
        "5_prime_UTR_variant",
        "3_prime_UTR_variant",
        "non_coding_transcript_exon_variant",
        "mature_miRNA_variant",
    }
)


#: HPO mode-of-inheritance terms (aspect I of phenotype.hpoa) as panel-style modes; others are ignored.
HPO_INHERITANCE: dict[str, ModeOfInheritance] = {
    "HP:0000006": ModeOfInheritance.AD,  # Autosomal dominant inheritance
    "HP:0025352": ModeOfInheritance.AD,  # Autosomal dominant germline de novo mutation
    "HP:0001470": ModeOfInheritance.AD,  # Sex-limited autosomal dominant
    "HP:0001475": ModeOfInheritance.AD,  # Male-limited autosomal dominant
    "HP:0001444": ModeOfInheritance.AD,  # Autosomal dominant somatic cell mutation
    "HP:0003745": ModeOfInheritance.AD,  # Sporadic
    "HP:0001442": ModeOfInheritance.AD,  # Somatic mosaicism
    "HP:0001428": ModeOfInheritance.AD,  # Somatic mutation
    "HP:0001466": ModeOfInheritance.AD,  # Contiguous gene syndrome
    "HP:0012275": ModeOfInheritance.IMPRINTING,  # Autosomal dominant inheritance with maternal imprinting
    "HP:0012274": ModeOfInheritance.IMPRINTING,  # Autosomal dominant inheritance with paternal imprinting
    "HP:0000007": ModeOfInheritance.AR,  # Autosomal recessive inheritance
    "HP:0032113": ModeOfInheritance.AD_AR,  # Semidominant inheritance
    "HP:0001417": ModeOfInheritance.XL,  # X-linked inheritance
    "HP:0001419": ModeOfInheritance.XLR,  # X-linked recessive inheritance
    "HP:0001423": ModeOfInheritance.XLD,  # X-linked dominant inheritance
    "HP:0001427": ModeOfInheritance.MT,  # Mitochondrial inheritance
}


def modes_from_hpo_inheritance(terms: Iterable[str]) -> frozenset[ModeOfInheritance]:
    """Maps a gene's diseases' HPO inheritance terms to modes (empty when none is known)."""
    return frozenset(HPO_INHERITANCE[t] for t in terms if t in HPO_INHERITANCE)


@lru_cache(maxsize=1)
def hpo_gene_inheritance() -> dict[str, frozenset[ModeOfInheritance]]:
    """Returns each annotated gene's modes of inheritance (union over its diseases), by HGNC id and symbol."""
    from gmc.phenotype.annotations import get_annotations

    annotations = get_annotations()
    inheritance: dict[str, frozenset[ModeOfInheritance]] = {}
    for hgnc_id, gene in annotations.genes.items():
        terms = [
            term
            for disease_id in gene.disease_ids
            if disease_id in annotations.diseases
            for term in annotations.diseases[disease_id].inheritance_terms
        ]
        modes = modes_from_hpo_inheritance(terms)
        if modes:
            inheritance[hgnc_id] = modes
            inheritance.setdefault(gene.symbol, modes)
    return inheritance


def frequency_score(af: float | None) -> float:
    """Returns Exomiser's frequency score: 1 when unknown or absent, falling to 0 above 2 %."""
    if af is None or af <= 0:
        return 1.0
    percent = af * 100
    if percent > 2:
        return 0.0
    return max(0.0, 1.13533 - 0.13533 * math.exp(percent))


_STANDARD_CODE = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"


@lru_cache(maxsize=1)
def _codon_change_table() -> dict[tuple[int, str, str], tuple[float, float, float]]:
    """(codon position, ref, alt) -> shares (synonymous, missense, stop gained) over the sense codons with ref there."""
    bases = "TCAG"
    code = {
        a + b + c: _STANDARD_CODE[16 * i + 4 * j + k]
        for i, a in enumerate(bases)
        for j, b in enumerate(bases)
        for k, c in enumerate(bases)
    }
    table: dict[tuple[int, str, str], tuple[float, float, float]] = {}
    for position in range(3):
        for ref in "ACGT":
            for alt in "ACGT":
                if ref == alt:
                    continue
                counts = [0, 0, 0]
                for codon, amino_acid in code.items():
                    if amino_acid == "*" or codon[position] != ref:
                        continue
                    changed = code[codon[:position] + alt + codon[position + 1:]]
                    counts[0 if changed == amino_acid else 2 if changed == "*" else 1] += 1
                total = sum(counts)
                table[(position + 1, ref, alt)] = (counts[0] / total, counts[1] / total, counts[2] / total)
    return table


_CDS_SUBSTITUTION = re.compile(r"^c\.(\d+)([ACGT])>([ACGT])$")


def codon_change_odds(hgvs_c: str | None) -> tuple[float, float, float] | None:
    """Shares (synonymous, missense, stop gained) of a coding SNV's possible effects by the genetic code, or None.

    Without the reference codon the protein effect of a coding SNV is unknown, but its codon position (from the
    CDS position in HGVS c.) and its bases narrow it down: e.g. C>T at a third position is synonymous in every
    codon, and any change at a second position alters the amino acid. Every sense codon with the reference base
    at that position counts once (no codon-usage weights). None for anything but a plain CDS substitution.
    """
    match = _CDS_SUBSTITUTION.match(hgvs_c or "")
    if match is None:
        return None
    position = (int(match.group(1)) - 1) % 3 + 1
    return _codon_change_table()[(position, match.group(2), match.group(3))]


#: Least score of a coding substitution of unknown protein effect (no reference codon): above a synonymous (0.1)
#: or UTR (0.2) change, because it may be missense or stop-gained. Chosen on the tuning half of the benchmark
#: (docs/bench/rare.md, rare round 2).
UNKNOWN_EFFECT_FLOOR = 0.3


def pathogenicity_score(variant: CandidateVariant) -> float:
    """Returns the variant's predicted pathogenicity in [0, 1] from ClinVar, consequence and REVEL."""
    terms = variant.consequences
    if is_known_pathogenic(variant.clinvar_significance) or terms & LOF_TERMS:
        return 1.0
    if "missense_variant" in terms and variant.revel is not None:
        if not 0 <= variant.revel <= 1:
            raise RankingInputError(f"variant {variant.variant_id}: REVEL {variant.revel} is not within 0-1")
        return variant.revel
    if terms & _MISSENSE_LIKE:
        return 0.6
    if terms & _SPLICE_REGION:
        return 0.5
    if "coding_sequence_variant" in terms:
        # A coding change whose protein effect is unknown (no reference sequence): what the code makes of it.
        odds = codon_change_odds(variant.hgvs_c)
        if odds is None:
            return 0.5
        synonymous, missense, stop = odds
        return max(UNKNOWN_EFFECT_FLOOR, 0.1 * synonymous + 0.6 * missense + 1.0 * stop)
    if terms & _LOW:
        return 0.2
    if "synonymous_variant" in terms:
        return 0.1
    return 0.0


def pathogenicity_reason(variant: CandidateVariant) -> str:
    """Why the variant scores what it does, in words (the branches of ``pathogenicity_score``)."""
    terms = variant.consequences
    score = pathogenicity_score(variant)
    if is_known_pathogenic(variant.clinvar_significance):
        why = f"ClinVar {variant.clinvar_significance}"
    elif terms & LOF_TERMS:
        why = "predicted loss of function (" + ", ".join(sorted(terms & LOF_TERMS)) + ")"
    elif "missense_variant" in terms and variant.revel is not None:
        why = f"missense, REVEL {variant.revel:g}"
    elif terms & _MISSENSE_LIKE:
        why = ", ".join(sorted(terms & _MISSENSE_LIKE)).replace("_", " ")
    elif terms & _SPLICE_REGION:
        why = "splice region"
    elif "coding_sequence_variant" in terms:
        odds = codon_change_odds(variant.hgvs_c)
        if odds is None:
            why = "coding change of unknown protein effect (no reference codon)"
        else:
            why = (
                "coding substitution of unknown protein effect (no reference codon); by the genetic code at this "
                f"codon position {odds[0]:.0%} synonymous, {odds[1]:.0%} missense, {odds[2]:.0%} stop-gained"
                f" (scored at least {UNKNOWN_EFFECT_FLOOR:g}, never as synonymous)"
            )
    elif terms & _LOW:
        why = "UTR or non-coding exon"
    elif "synonymous_variant" in terms:
        why = "synonymous"
    else:
        why = "not weighed (intronic or intergenic)"
    frequency = frequency_score(variant.population_af)
    af = "no population frequency known" if variant.population_af is None else f"population AF {variant.population_af:g}"
    return f"{why}: pathogenicity {score:.2f} x frequency {frequency:.2f} ({af})"


#: Modes in which one heterozygous allele has to cause the disease on its own.
_ONE_ALLELE_MODES = frozenset({Mode.AD, Mode.DE_NOVO})


def haploinsufficiency_factor(loeuf: float | None) -> float:
    """Weight of a heterozygous loss-of-function allele by gene constraint: 1 up to LOEUF 0.6, 0.3 from 1.4.

    gnomAD's LOEUF below 0.6 marks genes intolerant of losing one copy; in a gene that tolerates it (many
    healthy carriers) a lone truncating allele is unlikely to cause a dominant disease. Unknown: 1.
    """
    if loeuf is None:
        return 1.0
    return 1.0 - 0.7 * min(max((loeuf - 0.6) / 0.8, 0.0), 1.0)


#: Missense constraint Z from which a gene counts as intolerant of missense variation (ExAC/gnomAD's 3.09).
MISSENSE_CONSTRAINED_Z = 3.09


#: Weight of a lone missense allele in a gene with no missense constraint (Z <= 0); chosen on the tuning half
#: (flat from 0.6 to 0.85) and checked on the held-out half (docs/bench/rare.md, ranking 4).
MISSENSE_FLOOR = 0.7


def missense_constraint_factor(mis_z: float | None, floor: float = MISSENSE_FLOOR) -> float:
    """Weight of a lone missense-like allele by the gene's missense constraint: floor at Z <= 0, 1 from Z 3.09.

    A gene whose healthy population carries as many missense variants as expected (Z near 0) rarely causes a
    dominant disease through one missense allele; one depleted of them (Z >= 3.09) often does. Unknown: 1.
    """
    if mis_z is None:
        return 1.0
    return floor + (1.0 - floor) * min(max(mis_z / MISSENSE_CONSTRAINED_Z, 0.0), 1.0)


def variant_score(variant: CandidateVariant) -> float:
    """Returns pathogenicity times frequency score."""
    return pathogenicity_score(variant) * frequency_score(variant.population_af)


def combined_score(variant: float, phenotype: float) -> float:
    """Combines a gene's variant and phenotype scores (see the module docstring)."""
    return 1.0 / (1.0 + math.exp(-(-7.0 + 4.0 * variant + 10.0 * phenotype)))


def variant_genotypes(variant: CandidateVariant) -> VariantGenotypes:
    """The segregation view of a candidate: calls, gene and the reference span (for pairs likely in cis)."""
    return VariantGenotypes(
        variant.variant_id, variant.chrom, variant.pos, variant.calls, variant.gene_symbol,
        variant.pos + max(len(variant.ref), 1) - 1,
    )


def _mode_call(segregation: Mapping[str, Any], ids: Sequence[str], mode: Mode) -> ModeCall:
    """The segregation call behind a gene's chosen mode (the pair's own call for a compound heterozygote)."""
    calls = [c for c in segregation[ids[0]].modes if c.mode == mode]
    if mode == Mode.AR_COMP_HET and len(ids) > 1:
        calls = [c for c in calls if c.partner_id == ids[1]] or calls
    consistent = [c for c in calls if c.certainty == Certainty.CONSISTENT]
    return (consistent or calls)[0]


def rank_genes(
    variants: Sequence[CandidateVariant],
    pedigree: Pedigree,
    phenotype_scores: Mapping[str, float],
    *,
    panels: Sequence[Panel] = (),
    caps: FrequencyCaps = FrequencyCaps(),
    build: str = "GRCh38",
    limit: int | None = None,
    gene_inheritance: Mapping[str, frozenset[ModeOfInheritance]] | None = None,
    disease_phenotypes: Mapping[str, Sequence[tuple[float, frozenset[ModeOfInheritance], str]]] | None = None,
    mode_mismatch_weight: float = 0.4,
    missense_floor: float | None = MISSENSE_FLOOR,
) -> list[GeneRank]:
    """Ranks genes for a case; phenotype_scores, gene_inheritance and disease_phenotypes are keyed by HGNC id or symbol.

    disease_phenotypes, when given, holds each gene's diseases as (phenotype score, modes, disease id): a gene then
    takes the best combined score over its diseases, each with the variants that segregate by its modes.
    missense_floor=None turns the missense-constraint weight of lone missense alleles off.

    With a limit, genes are weighed in the order of the most their score could be (the combined score of their
    best variant with their best phenotype score: every weight is at most 1) and weighing stops once no gene left
    can reach the limit: the first `limit` genes are exactly those of the full ranking, while most of an exome's
    genes, which no phenotype lifts, are never segregated.
    """
    by_id: dict[str, CandidateVariant] = {}
    scores: dict[str, float] = {}
    seen: set[str] = set()
    for v in variants:
        if v.variant_id in seen:
            raise RankingInputError(f"variant id {v.variant_id} appears twice")
        seen.add(v.variant_id)
        # Variants that score 0 (intronic, intergenic...) cannot lift a gene, so they are not weighed.
        if not v.gene_symbol:
            continue
        pathogenicity = pathogenicity_score(v)
        if pathogenicity == 0.0:
            continue
        by_id[v.variant_id] = v
        scores[v.variant_id] = pathogenicity * frequency_score(v.population_af)
    by_gene: dict[str, list[CandidateVariant]] = defaultdict(list)
    for v in by_id.values():
        by_gene[v.gene_symbol].append(v)
    weigh = _GeneWeigher(
        pedigree, phenotype_scores, scores, panels=panels, caps=caps, build=build,
        gene_inheritance=gene_inheritance or {}, disease_phenotypes=disease_phenotypes,
        mode_mismatch_weight=mode_mismatch_weight, missense_floor=missense_floor,
    )
    order = list(by_gene)
    bounds: dict[str, float] = {}
    if limit is not None:
        bounds = {gene: weigh.bound(gene, gene_variants) for gene, gene_variants in by_gene.items()}
        order.sort(key=lambda gene: -bounds[gene])  # stable: genes of equal bound keep the variants' order
    ranked: list[tuple[tuple, GeneRank]] = []
    leading: list[float] = []  # the best `limit` combined scores so far (a min-heap)
    for gene in order:
        if limit is not None and len(leading) >= limit and bounds[gene] < leading[0]:
            break  # this gene and every one after it ranks below the first `limit`
        rank = weigh.gene(gene, by_gene[gene])
        if rank is None:
            continue
        ranked.append(((-rank.combined_score, rank.tier or 4, -rank.variant_score, gene), rank))
        if limit is not None:
            if len(leading) < limit:
                heapq.heappush(leading, rank.combined_score)
            else:
                heapq.heappushpop(leading, rank.combined_score)
    ranked.sort(key=lambda item: item[0])
    out = [replace(r, rank=i + 1) for i, (_, r) in enumerate(ranked)]
    return out[:limit] if limit is not None else out


def _clipped(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)


class _GeneWeigher:
    """Segregates, weighs and tiers one gene's variants for ``rank_genes`` (the rules in the module docstring)."""

    def __init__(
        self,
        pedigree: Pedigree,
        phenotype_scores: Mapping[str, float],
        scores: Mapping[str, float],
        *,
        panels: Sequence[Panel],
        caps: FrequencyCaps,
        build: str,
        gene_inheritance: Mapping[str, frozenset[ModeOfInheritance]],
        disease_phenotypes: Mapping[str, Sequence[tuple[float, frozenset[ModeOfInheritance], str]]] | None,
        mode_mismatch_weight: float,
        missense_floor: float | None,
    ) -> None:
        self.pedigree = pedigree
        self.phenotype_scores = phenotype_scores
        self.scores = scores
        self.panels = panels
        self.caps = caps
        self.build = build
        self.gene_inheritance = gene_inheritance
        self.disease_phenotypes = disease_phenotypes
        self.mode_mismatch_weight = mode_mismatch_weight
        self.missense_floor = missense_floor

    def _phenotype(self, variant: CandidateVariant, gene: str) -> float:
        return _clipped(self.phenotype_scores.get(variant.hgnc_id or "", self.phenotype_scores.get(gene, 0.0)))

    def _diseases(self, variant: CandidateVariant, gene: str) -> Sequence[tuple[float, frozenset, str]] | None:
        if self.disease_phenotypes is None:
            return None
        return self.disease_phenotypes.get(variant.hgnc_id or "") or self.disease_phenotypes.get(gene)

    def bound(self, gene: str, variants: Sequence[CandidateVariant]) -> float:
        """The most the gene's combined score can be (rounded as GeneRank rounds it)."""
        phenotype = 0.0
        for v in variants:
            phenotype = max(phenotype, self._phenotype(v, gene),
                            *(_clipped(score) for score, _, _ in self._diseases(v, gene) or ()))
        best = max(self.scores[v.variant_id] for v in variants) * max(1.0, self.mode_mismatch_weight)
        return round(combined_score(best, phenotype), 6)

    def gene(self, gene: str, variants: Sequence[CandidateVariant]) -> GeneRank | None:
        """The gene's rank entry (rank 0), or None when no variant segregates with a mode it can take."""
        pedigree, scores, caps = self.pedigree, self.scores, self.caps
        mode_mismatch_weight, missense_floor = self.mode_mismatch_weight, self.missense_floor
        by_id = {v.variant_id: v for v in variants}
        genotypes = {vid: variant_genotypes(v) for vid, v in by_id.items()}
        segregation = segregate(pedigree, list(genotypes.values()), build=self.build)
        kept: dict[str, dict[Mode, ModeCall]] = {}
        # ClinVar P/LP alleles in genes with a recessive disease: alone, most likely a carrier's.
        carrier_like: set[str] = set()
        mismatched: dict[str, frozenset[Mode]] = {}
        for vid, v in by_id.items():
            tiering_view = TieringVariant(vid, v.gene_symbol, v.consequences, v.clinvar_significance, v.population_af)
            modes, _ = rare_modes(tiering_view, segregation[vid].modes, caps)
            known = self.gene_inheritance.get(v.hgnc_id or "") or self.gene_inheritance.get(v.gene_symbol)
            if known:
                # Only the modes the gene's diseases are inherited by (e.g. no lone heterozygote in a recessive gene).
                allowed = frozenset().union(*(PANEL_MODE_MATCH[m] for m in known))
                if mode_mismatch_weight > 0:
                    mismatched[vid] = frozenset(m for m in modes if m not in allowed)
                else:
                    modes = {m: c for m, c in modes.items() if m in allowed}
            kept[vid] = modes
            if known and ModeOfInheritance.AR in known and is_known_pathogenic(v.clinvar_significance):
                carrier_like.add(vid)
        gene_variants = [v for v in variants if kept[v.variant_id]]
        options: list[tuple[float, Mode, tuple[str, ...]]] = []
        for v in gene_variants:
            for mode in kept[v.variant_id]:
                if mode == Mode.AR_COMP_HET:
                    # Every partner this variant pairs with, not only the one kept per mode.
                    partners = [
                        c.partner_id
                        for c in segregation[v.variant_id].modes
                        if c.mode == Mode.AR_COMP_HET
                        and c.partner_id in kept
                        and Mode.AR_COMP_HET in kept[c.partner_id]
                    ]
                    for partner in partners:
                        off = mode in mismatched.get(v.variant_id, ()) or mode in mismatched.get(partner, ())
                        options.append(
                            (
                                (scores[v.variant_id] + scores[partner]) / 2 * (mode_mismatch_weight if off else 1.0),
                                mode,
                                tuple(sorted((v.variant_id, partner))),
                            )
                        )
                    continue
                value = scores[v.variant_id]
                if mode in _ONE_ALLELE_MODES and (v.consequences & LOF_TERMS or v.variant_id in carrier_like):
                    value *= haploinsufficiency_factor(v.loeuf)
                elif (
                    missense_floor is not None
                    and mode in _ONE_ALLELE_MODES
                    and v.consequences & _MISSENSE_OR_UNKNOWN
                    and not is_known_pathogenic(v.clinvar_significance)
                ):
                    value *= missense_constraint_factor(v.mis_z, missense_floor)
                if mode in mismatched.get(v.variant_id, ()):
                    value *= mode_mismatch_weight
                options.append((value, mode, (v.variant_id,)))
        if not options:
            return None
        diseases = self._diseases(gene_variants[0], gene)
        disease_id = None
        if diseases:
            # Disease-level matching: each disease is paired only with variants segregating by its own
            # mode(s) of inheritance, so a heterozygous carrier in a gene with a recessive and a dominant
            # disease is weighed against the dominant disease's phenotype alone.
            chosen: tuple[float, tuple[float, Mode, tuple[str, ...]], float, str] | None = None
            for disease_score, disease_modes, did in diseases:
                allowed = (
                    frozenset().union(*(PANEL_MODE_MATCH[m] for m in disease_modes)) if disease_modes else None
                )
                fitting = [o for o in options if allowed is None or o[1] in allowed]
                if not fitting:
                    continue
                option = max(fitting, key=lambda o: o[0])
                clipped = _clipped(disease_score)
                value = combined_score(option[0], clipped)
                if chosen is None or value > chosen[0]:
                    chosen = (value, option, clipped, did)
            if chosen is None:
                return None
            _, best, phenotype, disease_id = chosen
        else:
            best = max(options, key=lambda o: o[0])
            phenotype = None
        score, mode, ids = best
        first = by_id[ids[0]]
        if phenotype is None:
            phenotype = self._phenotype(first, gene)
        tiers = []
        for vid in ids:
            v = by_id[vid]
            tiering_view = TieringVariant(vid, gene, v.consequences, v.clinvar_significance, v.population_af)
            tiers.append(
                tier_variant(tiering_view, segregation[vid].modes, self.panels, caps=caps).tier if self.panels else None
            )
        tier = min((t for t in tiers if t is not None), default=None)
        call = _mode_call(segregation, ids, mode)
        label, sentence = describe_mode(call, pedigree, genotypes[ids[0]])
        weights = []
        if len(ids) == 1 and mode in _ONE_ALLELE_MODES:
            v = by_id[ids[0]]
            if v.consequences & LOF_TERMS or v.variant_id in carrier_like:
                factor = haploinsufficiency_factor(v.loeuf)
                if factor < 1:
                    weights.append(f"one allele weighed x{factor:.2f} by the gene's LOEUF {v.loeuf:g}")
            elif (
                missense_floor is not None
                and v.consequences & _MISSENSE_OR_UNKNOWN
                and not is_known_pathogenic(v.clinvar_significance)
            ):
                factor = missense_constraint_factor(v.mis_z, missense_floor)
                if factor < 1:
                    weights.append(f"one missense-like allele weighed x{factor:.2f} by the gene's missense Z {v.mis_z:g}")
        if any(mode in mismatched.get(i, ()) for i in ids):
            weights.append(f"mode not among the gene's annotated modes of inheritance (x{mode_mismatch_weight:g})")
        reasons = (
            f"{label}: "
            + ", ".join(f"{by_id[i].chrom}:{by_id[i].pos} {by_id[i].ref}>{by_id[i].alt}" for i in ids),
            f"variant score {score:.3f}, phenotype score {phenotype:.3f}",
            *weights,
        )
        combined = combined_score(score, phenotype)
        return GeneRank(
            0, gene, first.hgnc_id, round(combined, 6), phenotype, round(score, 6), mode, ids, tier, reasons,
            disease_id, label, sentence, call.certainty.value,
        )
