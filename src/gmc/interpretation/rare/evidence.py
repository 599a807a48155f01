"""ACMG evidence from the rest of the pipeline: ClinVar protein index via annotation, candidate -> VariantEvidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from gmc.interpretation.rare.acmg import (
    NULL_TERMS,
    AcmgResult,
    ClinVarIndex,
    CriterionResult,
    GeneRule,
    LofMechanism,
    NullVariantContext,
    VariantEvidence,
    classify,
    clinvar_null_counts,
    read_clinvar_index,
    read_gene_rules,
    read_lof_mechanisms,
)
from gmc.interpretation.rare.inheritance import Certainty, Mode, ModeCall, Pedigree, segregate
from gmc.interpretation.rare.panels import ModeOfInheritance
from gmc.interpretation.rare.ranking import CandidateVariant, GeneRank
from gmc.interpretation.rare.refindex import cached_index
from gmc.interpretation.rare.scores import ScoreFiles
from gmc.interpretation.rare.tiering import is_known_pathogenic

RECESSIVE_MOI = frozenset({ModeOfInheritance.AR, ModeOfInheritance.XLR})
DOMINANT_MOI = frozenset({ModeOfInheritance.AD, ModeOfInheritance.XLD, ModeOfInheritance.IMPRINTING})


def clinvar_protein_index(
    sources: Any, *, genes: Iterable[str] | None = None, clinvar_path: Path | None = None
) -> ClinVarIndex:
    """Builds the ClinVar index with protein changes from the annotation engine (restricted to genes when given).

    ``sources`` is a ``gmc.genomics.annotation.annotate.AnnotationSources``; protein changes need its genome
    FASTA, so without one the residue index stays empty and PS1/PM5 say so.
    """
    from gmc.genomics.annotation.annotate import CLINVAR_FILES, transcript_consequences
    from gmc.settings import get_settings

    wanted = {g.upper() for g in genes} if genes is not None else None
    path = clinvar_path or get_settings().refdata_path(*CLINVAR_FILES[sources.build])

    def protein_change_of(chrom: str, pos: int, ref: str, alt: str, gene: str) -> str | None:
        if wanted is not None and gene.upper() not in wanted:
            return None
        for consequence in transcript_consequences(chrom.removeprefix("chr"), pos, ref, alt, sources):
            # The ClinVar record's own gene, on its MANE transcript (most severe first).
            if consequence.gene.upper() == gene.upper() and consequence.hgvs_p:
                return consequence.hgvs_p
        return None

    return read_clinvar_index(Path(path), protein_change_of=protein_change_of)


def gene_inheritance_class(modes: Iterable[ModeOfInheritance] | None) -> str | None:
    """Returns "recessive", "dominant" or None (mixed or unknown) for a gene's modes of inheritance."""
    known = frozenset(modes or ())
    if known and known <= RECESSIVE_MOI:
        return "recessive"
    if known and known <= DOMINANT_MOI:
        return "dominant"
    return None


def acmg_evidence(
    candidate: CandidateVariant,
    modes: Sequence[ModeCall],
    *,
    gene_modes: Iterable[ModeOfInheritance] | None = None,
    partners: Mapping[str, CandidateVariant] | None = None,
    frequency_source_covered: bool = False,
    parentage_confirmed: bool = False,
    nmd_escape: bool | None = None,
    cadd_phred: float | None = None,
    spliceai_max: float | None = None,
    segregation_meioses: int = 0,
) -> VariantEvidence:
    """Turns a ranked candidate and its segregation into the facts the automatic ACMG criteria read.

    De novo with both parents genotyped is "confirmed" only when parentage is confirmed (sample identity
    checks), otherwise "assumed"; a de novo merely possible in a singleton is neither. A compound
    heterozygous partner classified P/LP in ClinVar gives PM3, phased when both parents were genotyped.
    """
    de_novo = None
    for call in modes:
        if call.mode == Mode.DE_NOVO and call.certainty == Certainty.CONSISTENT:
            de_novo = "confirmed" if parentage_confirmed else "assumed"
    in_trans_with, phased = None, False
    for call in modes:
        if call.mode != Mode.AR_COMP_HET or not call.partner_id or partners is None:
            continue
        partner = partners.get(call.partner_id)
        if partner is not None and is_known_pathogenic(partner.clinvar_significance):
            in_trans_with = partner.clinvar_significance
            phased = phased or call.certainty == Certainty.CONSISTENT
    return VariantEvidence(
        gene=candidate.gene_symbol,
        consequences=candidate.consequences,
        chrom=candidate.chrom,
        pos=candidate.pos,
        ref=candidate.ref,
        alt=candidate.alt,
        hgvs_p=candidate.hgvs_p,
        nmd_escape=candidate.nmd_escape if nmd_escape is None else nmd_escape,
        population_af=candidate.population_af,
        frequency_source_covered=frequency_source_covered,
        inheritance=gene_inheritance_class(gene_modes),
        revel=candidate.revel,
        cadd_phred=cadd_phred,
        spliceai_max=spliceai_max,
        de_novo=de_novo,
        in_trans_with=in_trans_with,
        in_trans_phase_confirmed=phased,
        segregation_meioses=segregation_meioses,
    )


# ----------------------------------------------------------------------------- ACMG for the leading genes

#: Genes (best first) whose variants ACMG classifies in a result.
ACMG_GENES = 25
#: Mendelian errors per informative site below which the family's genotypes confirm parentage (PS2).
PARENTAGE_ERROR_RATE = 0.02
#: Sites with all three of the proband and both parents called, needed to judge parentage.
PARENTAGE_MIN_SITES = 50


@lru_cache(maxsize=1)
def lof_mechanisms() -> dict[str, LofMechanism]:
    """ClinGen haploinsufficiency, gnomAD LOEUF and ClinVar P/LP null-variant counts per gene (once per process)."""
    from gmc.genomics.annotation.annotate import CLINVAR_FILES
    from gmc.settings import get_settings

    root = Path(get_settings().refdata_dir())
    clingen = sorted((root / "clingen").glob("ClinGen_gene_curation_list_GRCh38*.tsv"))
    clinvar = root.joinpath(*CLINVAR_FILES["GRCh38"])
    counts = (
        cached_index("clinvar-null", [clinvar], lambda: clinvar_null_counts(clinvar)) if clinvar.exists() else {}
    )
    if not clingen:
        return {gene: LofMechanism(gene, clinvar_null_plp=n) for gene, n in counts.items()}
    constraint = root / "constraint" / "gnomad_v4.1_constraint_mane_select.csv"
    gene_info = root / "ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz"
    return cached_index(
        "lof-mechanisms", [clingen[-1], constraint, gene_info, clinvar],
        lambda: read_lof_mechanisms(clingen[-1], constraint, gene_info, counts),
    )


#: The ClinGen VCEP gene-specific frequency rules in refdata (as CPSR compiled them).
VCEP_RULES = ("cancer", "germline", "cpsr", "cpsr_acmg_thresholds_vcep.tsv")


@lru_cache(maxsize=1)
def gene_rules() -> dict[str, list[GeneRule]]:
    """The ClinGen expert panels' gene-specific ACMG rules in refdata (empty when the file is absent)."""
    from gmc.settings import get_settings

    path = Path(get_settings().refdata_dir()).joinpath(*VCEP_RULES)
    return read_gene_rules(path) if path.exists() else {}


def _coding_exons(starts: Sequence[int], ends: Sequence[int], cds_start: int, cds_end: int) -> tuple[tuple[int, int], ...]:
    return tuple(
        (max(s, cds_start), min(e, cds_end)) for s, e in zip(starts, ends, strict=True) if e > cds_start and s < cds_end
    )


def _read_alternative_exons(path: Path) -> dict[str, list[tuple[int, int, tuple[tuple[int, int], ...]]]]:
    """gene -> (cds start, cds end, coding exon spans) of each Ensembl protein-coding transcript."""
    import csv
    import gzip

    out: dict[str, list[tuple[int, int, tuple[tuple[int, int], ...]]]] = defaultdict(list)
    with gzip.open(path, "rt") as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
        at = {name: i for i, name in enumerate(header)}
        for row in csv.reader(handle, delimiter="\t"):
            cds_start, cds_end = int(row[at["cdsStart"]]), int(row[at["cdsEnd"]])
            if cds_end <= cds_start:
                continue
            starts = [int(x) for x in row[at["exonStarts"]].strip(",").split(",") if x]
            ends = [int(x) for x in row[at["exonEnds"]].strip(",").split(",") if x]
            out[row[at["gene"]]].append((cds_start, cds_end, _coding_exons(starts, ends, cds_start, cds_end)))
    return dict(out)


@lru_cache(maxsize=1)
def alternative_exon_index() -> dict[str, list[tuple[int, int, tuple[tuple[int, int], ...]]]]:
    """The Ensembl 110 protein-coding transcripts' coding exons per gene (GRCh38), from the on-disk index."""
    from gmc.settings import get_settings

    path = Path(get_settings().refdata_dir()) / "grch38" / "ensembl110_protein_coding.genepred.tsv.gz"
    if not path.exists():
        return {}
    return cached_index("ensembl-exons", [path], lambda: _read_alternative_exons(path))


def _alternative_exon(gene: str, span: tuple[int, int], index: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(alternative, note) for an exon (0-based start, end) of the MANE transcript, from the Ensembl isoforms.

    The exon is alternative when most protein-coding isoforms whose coding region spans it skip it; when only
    some do, the note says so but the MANE transcript (biologically relevant) keeps it in the tree.
    """
    covering = [t for t in index.get(gene, ()) if t[0] < span[1] and t[1] > span[0]]
    skipping = [t for t in covering if not any(s < span[1] and e > span[0] for s, e in t[2])]
    if not covering or not skipping:
        return None, None
    text = f"exon absent from {len(skipping)} of {len(covering)} Ensembl protein-coding transcripts spanning it"
    return (text, None) if 2 * len(skipping) > len(covering) else (None, text)


def null_variant_context(candidate: CandidateVariant, transcript: Any, build: str = "GRCh38") -> NullVariantContext | None:
    """The PVS1 facts of a null variant on its transcript model (``Transcript`` of the annotation), or None."""
    terms = candidate.consequences
    if transcript is None or not transcript.coding or not terms & NULL_TERMS:
        return None
    exons = transcript.exons
    count = len(exons)
    cds_length = transcript.cds_length or None
    alt_index = alternative_exon_index() if build == "GRCh38" else {}
    if terms & {"splice_donor_variant", "splice_acceptor_variant"}:
        position = transcript.exon_index(candidate.pos)
        if position is None:
            anchor = transcript.intron_anchor(candidate.pos)
            if anchor is None:
                return NullVariantContext(transcript.name, exon_count=count)
            intron, _, offset = anchor
            position = intron if offset > 0 else intron + 1
        start, end, _ = exons[position]
        coding = max(0, min(end, transcript.cds_end) - max(start, transcript.cds_start))
        return NullVariantContext(
            transcript.name,
            exon=position + 1,
            exon_count=count,
            # A frame shift from an exon upstream of the last two exons leaves a premature stop NMD can see.
            nmd_predicted=position < count - 2,
            protein_removed=coding / cds_length if cds_length and coding else None,
            frame_preserved=coding % 3 == 0 if coding else None,
            **_isoforms(candidate.gene_symbol, (start, end), alt_index),
        )
    position = transcript.exon_index(candidate.pos + (1 if len(candidate.ref) > 1 else 0))
    cdna = transcript.cdna_position(candidate.pos)
    removed = None
    if cdna is not None and cds_length and transcript.cds_first <= cdna <= transcript.cds_last:
        removed = max(0.0, 1.0 - (cdna - transcript.cds_first + 1) / cds_length)
    nmd = None if candidate.nmd_escape is None else not candidate.nmd_escape
    span = (exons[position][0], exons[position][1]) if position is not None else None
    return NullVariantContext(
        transcript.name,
        exon=position + 1 if position is not None else None,
        exon_count=count,
        nmd_predicted=nmd,
        protein_removed=removed,
        **(_isoforms(candidate.gene_symbol, span, alt_index) if span else {}),
    )


def _isoforms(gene: str, span: tuple[int, int], index: Mapping[str, Any]) -> dict[str, str | None]:
    alternative, note = _alternative_exon(gene, span, index)
    return {"alternative_exon": alternative, "isoform_note": note}


@dataclass(frozen=True)
class ParentageCheck:
    """Whether the family's genotypes confirm that the proband's parents are the biological parents."""

    confirmed: bool | None
    informative_sites: int
    mendelian_errors: int

    def describe(self) -> str:
        """A sentence for the result."""
        if self.confirmed is None:
            return (
                "parentage not assessable: both parents are not genotyped"
                if not self.informative_sites
                else f"parentage not assessable: only {self.informative_sites} sites called in the trio"
            )
        rate = self.mendelian_errors / self.informative_sites
        verdict = "confirmed" if self.confirmed else "NOT confirmed"
        return (
            f"parentage {verdict} by genotype: {self.mendelian_errors} Mendelian errors in "
            f"{self.informative_sites} trio sites ({rate:.1%}, threshold {PARENTAGE_ERROR_RATE:.0%})"
        )


def check_parentage(candidates: Iterable[CandidateVariant], pedigree: Pedigree) -> ParentageCheck:
    """Counts Mendelian errors over the sites where the proband and both parents are called."""
    proband = pedigree.proband
    father, mother = proband.father_id, proband.mother_id
    if not father or not mother:
        return ParentageCheck(None, 0, 0)
    sites = errors = 0
    for candidate in candidates:
        calls = candidate.calls
        child, dad, mum = (calls.get(x) for x in (proband.individual_id, father, mother))
        if child is None or dad is None or mum is None or -1 in (child.genotype, dad.genotype, mum.genotype):
            continue
        if child.genotype == 0 and dad.genotype == 0 and mum.genotype == 0:
            continue
        if _chrom_is_autosome(candidate.chrom) is False:
            continue  # X and Y follow other rules; autosomes are enough to judge parentage
        sites += 1
        c, f, m = child.genotype, dad.genotype, mum.genotype
        if (c == 2 and 0 in (f, m)) or (c == 0 and 2 in (f, m)) or (c == 1 and f == m and f in (0, 2)):
            errors += 1
    if sites < PARENTAGE_MIN_SITES:
        return ParentageCheck(None, sites, errors)
    return ParentageCheck(errors / sites <= PARENTAGE_ERROR_RATE, sites, errors)


def _chrom_is_autosome(chrom: str) -> bool:
    name = chrom.upper().removeprefix("CHR")
    return name not in {"X", "Y", "M", "MT"}


def informative_meioses(candidate: CandidateVariant, pedigree: Pedigree, modes: Sequence[ModeCall]) -> int:
    """Relatives (besides the proband) whose genotype and status co-segregate with the variant (PP1).

    Counted only for a mode the relatives' genotypes support (certainty consistent) other than de novo:
    affected relatives carrying it as the mode requires, and unaffected relatives without it (dominant) or
    not homozygous (recessive).
    """
    supported = {c.mode for c in modes if c.certainty == Certainty.CONSISTENT and c.mode != Mode.DE_NOVO}
    if not supported:
        return 0
    recessive = supported <= {Mode.AR_HOM, Mode.AR_COMP_HET, Mode.XLR}
    count = 0
    for person in pedigree.individuals:
        if person.individual_id == pedigree.proband_id or person.affected is None:
            continue
        call = candidate.calls.get(person.individual_id)
        if call is None or call.genotype < 0:
            continue
        if person.affected:
            count += call.genotype == 2 if Mode.AR_HOM in supported and recessive else call.genotype >= 1
        elif recessive:
            count += call.genotype < 2
        else:
            count += call.genotype == 0
    return count


def acmg_dict(result: AcmgResult) -> dict[str, Any]:
    """An ACMG result as plain data (RESULT.json and the stored runs share this shape)."""
    return {"criteria": [criterion_dict(c) for c in result.criteria], "points": result.points,
            "classification": result.classification.value, "met": result.met()}


def criterion_dict(c: CriterionResult) -> dict[str, Any]:
    """One ACMG criterion as plain data."""
    return {"code": c.code, "met": c.met, "strength": c.strength.value, "direction": c.direction.value,
            "reason": c.reason, "points": c.points, "source": c.source, "by": c.overridden_by}


def classify_leading_genes(
    genes: Sequence[GeneRank],
    entries: Sequence[dict[str, Any]],
    candidates: Mapping[str, CandidateVariant],
    annotation: Mapping[str, Mapping[str, Any]],
    pedigree: Pedigree,
    sources: Any,
    *,
    build: str,
    gene_inheritance: Mapping[str, frozenset[ModeOfInheritance]],
    limit: int = ACMG_GENES,
    score_files: ScoreFiles | None = None,
    clinvar_index: ClinVarIndex | None = None,
) -> dict[str, Any]:
    """Classifies the variants of the first `limit` genes (ACMG/AMP with ClinGen SVI) into their RESULT entries.

    Each variant entry gets ``acmg`` (classification, points, met labels, every criterion with its reason).
    Returns what the classification rested on, for the result's provenance.
    """
    from gmc.interpretation.rare.ranking import variant_genotypes

    lead = [vid for gene in genes[:limit] for vid in gene.variant_ids]
    segregation = segregate(pedigree, [variant_genotypes(candidates[v]) for v in lead], build=build)
    parentage = check_parentage(candidates.values(), pedigree)
    lof = lof_mechanisms()
    rules = gene_rules()
    alleles = [(candidates[v].chrom, candidates[v].pos, candidates[v].ref, candidates[v].alt) for v in lead]
    site_scores = score_files.lookup(alleles) if score_files is not None and score_files.files else {}
    missense_genes = {candidates[v].gene_symbol for v in lead if "missense_variant" in candidates[v].consequences}
    if clinvar_index is None and missense_genes and sources.genome is not None and sources.clinvar is not None:
        # Protein changes of ClinVar records need the genome sequence; without it PS1/PM5 say the index is missing.
        clinvar_index = clinvar_protein_index(sources, genes=missense_genes)
    by_name = sources.transcripts.by_name
    for gene, entry in zip(genes[:limit], entries, strict=False):
        modes = gene_inheritance.get(gene.hgnc_id or "") or gene_inheritance.get(gene.gene_symbol)
        for variant in entry["variants"]:
            vid = variant["variant"]
            if vid not in segregation:
                continue
            candidate = candidates[vid]
            scores = site_scores.get((candidate.chrom.removeprefix("chr"), candidate.pos, candidate.ref, candidate.alt))
            transcript = by_name.get(annotation[vid].get("transcript") or "")
            evidence = acmg_evidence(
                candidate, segregation[vid].modes, gene_modes=modes,
                partners={p: candidates[p] for p in gene.variant_ids if p != vid},
                frequency_source_covered=annotation[vid].get("af_source") is not None,
                parentage_confirmed=bool(parentage.confirmed),
                cadd_phred=scores.cadd_phred if scores else None,
                spliceai_max=scores.spliceai_max if scores else None,
                segregation_meioses=informative_meioses(candidate, pedigree, segregation[vid].modes),
            )
            evidence = replace(
                evidence,
                revel=scores.revel if scores and scores.revel is not None else evidence.revel,
                null_context=null_variant_context(candidate, transcript, build),
                score_sources=score_files.describe() if score_files is not None else "",
            )
            variant["acmg"] = acmg_dict(classify(evidence, lof_mechanisms=lof, clinvar_index=clinvar_index,
                                                 gene_rules=rules))
    return {
        "genes_classified": min(limit, len(genes)),
        "method": "ACMG/AMP 2015 with ClinGen SVI (PVS1 decision tree, PM2 supporting) and Tavtigian 2020 points",
        "parentage": parentage.describe(),
        "score_files": score_files.describe() if score_files is not None else "",
        "vcep_rules": sorted(rules),
    }
