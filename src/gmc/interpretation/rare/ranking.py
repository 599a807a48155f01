"""Gene ranking for a rare-disease case: segregating variant evidence combined with the phenotype match.

Scores (all in [0, 1]):

- Variant frequency score (Exomiser's): 1 when the population AF is unknown or 0;
  1.13533 - 0.13533 * exp(AF in %) up to 2 %; 0 above.
- Variant pathogenicity score: 1 for ClinVar P/LP and predicted loss of function; REVEL when given for a
  missense change, else 0.6 for missense and in-frame changes; 0.5 for splice region and for coding changes
  whose protein effect is unknown (annotation without a reference sequence); 0.2 for UTR and
  non-coding exon changes; 0.1 for synonymous; 0 otherwise. Variant score = pathogenicity * frequency.
- Variants scoring 0 (intronic, intergenic, ...) are not weighed, nor paired as compound heterozygotes.
- When the gene's diseases have known modes of inheritance (HPO annotations, ``gene_inheritance``), only
  segregation modes matching one of them count (the tiering module's panel-mode table).
- A gene's variant score is its best option among the modes its variants segregate with (after the
  tiering module's AF caps): one variant for dominant, de novo, X-linked, MT and homozygous recessive
  modes; the mean of the two variants of a compound heterozygous pair.
- Phenotype score: the caller's gene score (e.g. ``gmc.phenotype.similarity.score_genes``), clipped to
  [0, 1]; a gene without one scores 0.
- Combined = logistic(-6 + 6 * variant + 8 * phenotype): both must be high to rank near the top, and
  the phenotype weighs more because, without genome-wide population frequencies, many background
  variants look equally damaging. Ties break on tier (1 before 2 before 3 before none), then on the
  variant score, then on the gene symbol, so the order is reproducible.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from gmc.interpretation.rare.inheritance import (
    Call,
    Mode,
    ModeCall,
    Pedigree,
    Sex,
    VariantGenotypes,
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
RANKING_METHOD = "gmc-rare-rank 2"


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


_MISSENSE_LIKE = frozenset(
    {"missense_variant", "inframe_insertion", "inframe_deletion", "protein_altering_variant"}
)
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
    if terms & _SPLICE_REGION or "coding_sequence_variant" in terms:
        # coding_sequence_variant: a coding change whose protein effect is unknown (no reference sequence).
        return 0.5
    if terms & _LOW:
        return 0.2
    if "synonymous_variant" in terms:
        return 0.1
    return 0.0


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


def variant_score(variant: CandidateVariant) -> float:
    """Returns pathogenicity times frequency score."""
    return pathogenicity_score(variant) * frequency_score(variant.population_af)


def combined_score(variant: float, phenotype: float) -> float:
    """Combines a gene's variant and phenotype scores (see the module docstring)."""
    return 1.0 / (1.0 + math.exp(-(-6.0 + 6.0 * variant + 8.0 * phenotype)))


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
) -> list[GeneRank]:
    """Ranks genes for a case; phenotype_scores, gene_inheritance and disease_phenotypes are keyed by HGNC id or symbol.

    disease_phenotypes, when given, holds each gene's diseases as (phenotype score, modes, disease id): a gene then
    takes the best combined score over its diseases, each with the variants that segregate by its modes.
    """
    by_id = {}
    seen: set[str] = set()
    for v in variants:
        if v.variant_id in seen:
            raise RankingInputError(f"variant id {v.variant_id} appears twice")
        seen.add(v.variant_id)
        # Variants that score 0 (intronic, intergenic...) cannot lift a gene, so they are not weighed.
        if not v.gene_symbol or pathogenicity_score(v) == 0.0:
            continue
        by_id[v.variant_id] = v
    genotypes = [
        VariantGenotypes(v.variant_id, v.chrom, v.pos, v.calls, v.gene_symbol) for v in by_id.values()
    ]
    segregation = segregate(pedigree, genotypes, build=build)
    scores = {vid: variant_score(v) for vid, v in by_id.items()}
    kept: dict[str, dict[Mode, ModeCall]] = {}
    for vid, v in by_id.items():
        tiering_view = TieringVariant(
            vid, v.gene_symbol, v.consequences, v.clinvar_significance, v.population_af
        )
        modes, _ = rare_modes(tiering_view, segregation[vid].modes, caps)
        known = (gene_inheritance or {}).get(v.hgnc_id or "") or (gene_inheritance or {}).get(v.gene_symbol)
        if known:
            # Only the modes the gene's diseases are inherited by (e.g. no lone heterozygote in a recessive gene).
            allowed = frozenset().union(*(PANEL_MODE_MATCH[m] for m in known))
            modes = {m: c for m, c in modes.items() if m in allowed}
        kept[vid] = modes
    per_gene: dict[str, list[CandidateVariant]] = defaultdict(list)
    for v in by_id.values():
        if kept[v.variant_id]:
            per_gene[v.gene_symbol].append(v)

    ranked: list[tuple[tuple, GeneRank]] = []
    for gene, gene_variants in per_gene.items():
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
                        options.append(
                            (
                                (scores[v.variant_id] + scores[partner]) / 2,
                                mode,
                                tuple(sorted((v.variant_id, partner))),
                            )
                        )
                    continue
                value = scores[v.variant_id]
                if mode in _ONE_ALLELE_MODES and v.consequences & LOF_TERMS:
                    value *= haploinsufficiency_factor(v.loeuf)
                options.append((value, mode, (v.variant_id,)))
        if not options:
            continue
        first_variant = gene_variants[0]
        diseases = None
        if disease_phenotypes is not None:
            diseases = disease_phenotypes.get(first_variant.hgnc_id or "") or disease_phenotypes.get(gene)
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
                clipped = min(max(float(disease_score), 0.0), 1.0)
                value = combined_score(option[0], clipped)
                if chosen is None or value > chosen[0]:
                    chosen = (value, option, clipped, did)
            if chosen is None:
                continue
            _, best, phenotype, disease_id = chosen
        else:
            best = max(options, key=lambda o: o[0])
            phenotype = None
        score, mode, ids = best
        first = by_id[ids[0]]
        if phenotype is None:
            phenotype = phenotype_scores.get(first.hgnc_id or "", phenotype_scores.get(gene, 0.0))
            phenotype = min(max(float(phenotype), 0.0), 1.0)
        tiers = []
        for vid in ids:
            v = by_id[vid]
            tiering_view = TieringVariant(vid, gene, v.consequences, v.clinvar_significance, v.population_af)
            tiers.append(
                tier_variant(tiering_view, segregation[vid].modes, panels, caps=caps).tier if panels else None
            )
        tier = min((t for t in tiers if t is not None), default=None)
        reasons = (
            f"{mode.value}: "
            + ", ".join(f"{by_id[i].chrom}:{by_id[i].pos} {by_id[i].ref}>{by_id[i].alt}" for i in ids),
            f"variant score {score:.3f}, phenotype score {phenotype:.3f}",
        )
        combined = combined_score(score, phenotype)
        rank = GeneRank(
            0, gene, first.hgnc_id, round(combined, 6), phenotype, round(score, 6), mode, ids, tier, reasons,
            disease_id,
        )
        ranked.append(((-rank.combined_score, tier or 4, -rank.variant_score, gene), rank))
    ranked.sort(key=lambda item: item[0])
    out = [replace(r, rank=i + 1) for i, (_, r) in enumerate(ranked)]
    return out[:limit] if limit is not None else out


def candidates_from_annotation(batch: Any, table: Any) -> list[CandidateVariant]:
    """Builds candidates from a genomics VariantBatch and its annotation table (same rows, Arrow columns)."""
    columns = {
        name: table.column(name).to_pylist() for name in ANNOTATION_COLUMNS if name in table.column_names
    }
    missing = [name for name in ("gene", "consequence") if name not in columns]
    if missing:
        raise RankingInputError(f"annotation table lacks column(s) {', '.join(missing)}")
    if table.num_rows != len(batch):
        raise RankingInputError(f"annotation has {table.num_rows} rows for a batch of {len(batch)}")
    empty = [None] * table.num_rows
    candidates: list[CandidateVariant] = []
    seen: set[str] = set()
    for i in range(table.num_rows):
        gene = columns["gene"][i]
        if not gene:
            continue
        chrom, pos, ref, alt = str(batch.chrom[i]), int(batch.pos[i]), str(batch.ref[i]), str(batch.alt[i])
        variant_id = f"{chrom}:{pos}:{ref}:{alt}"
        if variant_id in seen:
            continue
        seen.add(variant_id)
        calls = {
            sample: Call(int(batch.gt[i, j]), int(batch.ploidy[i, j]) if batch.ploidy[i, j] > 0 else 2)
            for j, sample in enumerate(batch.samples)
        }
        consequence = columns["consequence"][i] or ""
        candidates.append(
            CandidateVariant(
                variant_id,
                chrom,
                pos,
                ref,
                alt,
                gene,
                calls,
                frozenset(t for t in consequence.split("&") if t),
                columns.get("hgnc_id", empty)[i] or None,
                columns.get("hgvs_p", empty)[i] or None,
                columns.get("clinvar_significance", empty)[i] or None,
                columns.get("gnomad_af", empty)[i],
                None,
                columns.get("nmd_escape", empty)[i],
            )
        )
    return candidates


#: The annotation columns ranking reads (``gmc.genomics.annotation.annotate.COLUMNS``).
ANNOTATION_COLUMNS = (
    "gene",
    "hgnc_id",
    "consequence",
    "hgvs_p",
    "clinvar_significance",
    "gnomad_af",
    "nmd_escape",
)


def rank_case(
    vcf_path: Path,
    observed: Sequence[str],
    excluded: Sequence[str] = (),
    *,
    pedigree: Pedigree | None = None,
    proband_sex: Sex = Sex.UNKNOWN,
    panels: Sequence[Panel] = (),
    sources: Any = None,
    build: str = "GRCh38",
    limit: int | None = 100,
) -> CaseRanking:
    """Annotates a case VCF, scores the phenotype and ranks genes (singleton of the first sample by default)."""
    from gmc.genomics.annotation.annotate import annotate_batch, load_sources
    from gmc.genomics.vcf import open_vcf
    from gmc.phenotype.ontology import UnknownTermError, get_ontology
    from gmc.phenotype.similarity import score_genes

    if sources is None:
        from gmc.settings import get_settings

        settings = get_settings()
        # The deployment's genome FASTA and population frequency files, when mounted, sharpen the scores.
        sources = load_sources(
            build,
            fasta=settings.reference_fasta,
            frequency_files=[f.strip() for f in settings.frequency_files.split(",") if f.strip()],
        )
    reader = open_vcf(vcf_path, build=build)
    try:
        if pedigree is None:
            if not reader.samples:
                raise RankingInputError(f"{vcf_path}: no samples to rank for")
            pedigree = Pedigree.singleton(reader.samples[0], proband_sex)
        candidates: list[CandidateVariant] = []
        for batch in reader.batches(50_000):
            candidates += candidates_from_annotation(batch, annotate_batch(batch, sources))
    finally:
        reader.close()
    members = {p.individual_id for p in pedigree.individuals}
    # Samples outside the pedigree (e.g. a multi-family VCF) do not take part in segregation.
    if candidates and not set(candidates[0].calls) <= members:
        candidates = [
            replace(c, calls={k: v for k, v in c.calls.items() if k in members}) for c in candidates
        ]
    ontology = get_ontology()
    unknown: list[str] = []

    def known(terms: Sequence[str]) -> list[str]:
        kept = []
        for term in terms:
            try:
                ontology.current_id(term)
            except UnknownTermError:
                # Terms newer than the installed HPO release (or obsolete without replacement) are
                # reported back rather than failing the whole case.
                unknown.append(term)
            else:
                kept.append(term)
        return kept

    observed_known, excluded_known = known(observed), known(excluded)
    matches = score_genes(observed_known, excluded_known) if observed_known else {}
    phenotype = {hgnc: m.score for hgnc, m in matches.items()}
    phenotype.update({m.symbol: m.score for m in matches.values() if m.symbol not in phenotype})
    inheritance = hpo_gene_inheritance()
    genes = rank_genes(
        candidates, pedigree, phenotype, panels=panels, build=build, limit=limit, gene_inheritance=inheritance
    )
    return CaseRanking(tuple(genes), tuple(unknown), len(candidates))


@dataclass(frozen=True)
class CaseRanking:
    """A case's ranked genes, the HPO terms left out as unknown, and how many gene variants were weighed."""

    genes: tuple[GeneRank, ...]
    unknown_terms: tuple[str, ...]
    candidates: int
