"""Tests for consequences and HGVS: textbook variants, ClinVar's MC field, phenopackets, splice edges."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from gmc.genomics.annotation.annotate import AnnotationSources, annotate_allele
from gmc.genomics.annotation.consequence import annotate_transcript
from gmc.genomics.annotation.transcripts import Transcript, load_transcripts
from gmc.genomics.vcf import normalise_chrom, trim_alleles

# ClinVar MC names that differ from the SO term names gmc writes
_CLINVAR_MC = {
    "nonsense": "stop_gained",
    "initiator_codon_variant": "start_lost",
    "inframe_indel": "inframe_deletion",
    "non-coding_transcript_variant": "non_coding_transcript_variant",
}


@pytest.mark.parametrize(
    ("variant", "gene", "hgvs_c", "hgvs_p", "term"),
    [
        # the Ashkenazi founder mutations and CFTR F508del, as every textbook names them
        (("17", 43124027, "ACT", "A"), "BRCA1", "c.68_69del", "p.Glu23ValfsTer17", "frameshift_variant"),
        (("17", 43057062, "T", "TG"), "BRCA1", "c.5266dup", "p.Gln1756ProfsTer74", "frameshift_variant"),
        (("13", 32340300, "GT", "G"), "BRCA2", "c.5946del", "p.Ser1982ArgfsTer22", "frameshift_variant"),
        (("7", 117559590, "ATCT", "A"), "CFTR", "c.1521_1523del", "p.Phe508del", "inframe_deletion"),
        # KRAS G12D and BRAF V600E (both genes on the minus strand)
        (("12", 25245350, "C", "T"), "KRAS", "c.35G>A", "p.Gly12Asp", "missense_variant"),
        (("7", 140753336, "A", "T"), "BRAF", "c.1799T>A", "p.Val600Glu", "missense_variant"),
    ],
)
def test_textbook_variants(grch38_sources: AnnotationSources, variant, gene, hgvs_c, hgvs_p, term):
    row = annotate_allele(*variant, grch38_sources)
    assert (row["gene"], row["hgvs_c"], row["hgvs_p"]) == (gene, hgvs_c, hgvs_p)
    assert row["consequence"].split("&")[0] == term


def test_equivalent_indels_get_one_three_prime_name(grch38_sources: AnnotationSources):
    genome = grch38_sources.genome
    # BRCA1 (minus strand) ...ACTCTA...: deleting either CT/TC copy is the same allele, c.68_69del
    assert genome.fetch("17", 43124027, 43124032) == "ACTCTA"
    for variant in (("17", 43124027, "ACT", "A"), ("17", 43124028, "CTC", "C"), ("17", 43124029, "TCT", "T")):
        assert annotate_allele(*variant, grch38_sources)["hgvs_c"] == "c.68_69del"
    # CFTR (plus strand) ATCTTTGG: deleting TCT or CTT is F508del, named at its 3' end
    assert genome.fetch("7", 117559590, 117559597) == "ATCTTTGG"
    assert annotate_allele("7", 117559591, "TCTT", "T", grch38_sources)["hgvs_c"] == "c.1521_1523del"


def test_stop_gained_and_nmd(grch38_sources: AnnotationSources):
    # ClinVar 55490, BRCA1 nonsense in exon 20 of 23: still far from the last junction
    row = annotate_allele("17", 43057063, "G", "A", grch38_sources)
    assert row["consequence"] == "stop_gained" and row["nmd_escape"] is False
    assert row["clinvar_id"] == "55490" and row["clinvar_significance"] == "Pathogenic"


def test_clinvar_molecular_consequence_agreement(refdata_dir: Path, grch38_sources, covered_transcripts):
    """Alleles in genes the sparse FASTA covers must get the consequence ClinVar's MC field states."""
    transcripts = load_transcripts("GRCh38")
    agree = total = 0
    path = refdata_dir / "grch38/clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz"
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            info = dict(kv.split("=", 1) for kv in fields[7].strip().split(";") if "=" in kv)
            # every second ClinVar variation id keeps the test quick; the benchmark script takes them all
            if "MC" not in info or len(fields[3]) > 50 or len(fields[4]) > 50 or int(fields[2]) % 2:
                continue
            chrom, pos = normalise_chrom(fields[0]), int(fields[1])
            near = [t for t in transcripts.overlapping(chrom, pos, pos + 1) if t.name in covered_transcripts]
            if not near:
                continue
            expected = {_CLINVAR_MC.get(mc.split("|")[1], mc.split("|")[1]) for mc in info["MC"].split(",")}
            result = annotate_transcript(
                near[0], *trim_alleles(pos, fields[3], fields[4]), grch38_sources.genome
            )
            total += 1
            agree += bool(result and set(result.terms) & expected)
    assert total > 5_000
    assert agree / total >= 0.98, f"{agree}/{total}"


def test_phenopacket_hgvs_c_for_substitutions(benchmarks_dir: Path, grch38_no_fasta: AnnotationSources):
    """Published cases name their variants on NM transcripts: gmc must give the same c. for SNVs."""
    by_refseq = {t.refseq_nm: t for t in grch38_no_fasta.transcripts.transcripts}
    agree = total = 0
    for path in sorted((benchmarks_dir / "rare/phenopackets").glob("*.json")):
        for interpretation in json.loads(path.read_text()).get("interpretations", []):
            for finding in interpretation["diagnosis"].get("genomicInterpretations", []):
                descriptor = finding.get("variantInterpretation", {}).get("variationDescriptor", {})
                vcf = descriptor.get("vcfRecord", {})
                hgvs = {e["syntax"]: e["value"] for e in descriptor.get("expressions", [])}.get("hgvs.c")
                if not vcf or not hgvs or len(vcf["ref"]) != 1 or len(vcf["alt"]) != 1:
                    continue
                accession, expected = hgvs.split(":", 1)
                transcript = by_refseq.get(accession)
                if transcript is None or vcf.get("genomeAssembly", "").lower() not in ("hg38", "grch38"):
                    continue
                result = annotate_transcript(transcript, int(vcf["pos"]), vcf["ref"], vcf["alt"])
                total += 1
                agree += bool(result and result.hgvs_c == expected)
    assert total > 300
    assert agree / total >= 0.98, f"{agree}/{total}"


def _toy(strand: int) -> Transcript:
    # coding exons 1001-1100, 2001-2100, 3001-3100 (1-based); introns 1101-2000 and 2101-3000
    return Transcript(
        name=f"toy{strand}",
        chrom="1",
        strand=strand,
        tx_start=1000,
        tx_end=3100,
        cds_start=1000,
        cds_end=3100,
        exon_starts=(1000, 2000, 3000),
        exon_ends=(1100, 2100, 3100),
        gene="TOY",
    )


@pytest.mark.parametrize(
    ("strand", "pos", "expected"),
    [
        # plus strand: the intron 1101-2000 starts with the donor and ends with the acceptor
        (1, 1101, "splice_donor_variant"),
        (1, 1102, "splice_donor_variant"),
        (1, 1103, "splice_region_variant"),
        (1, 1108, "splice_region_variant"),
        (1, 1109, "intron_variant"),
        (1, 1999, "splice_acceptor_variant"),
        (1, 2000, "splice_acceptor_variant"),
        (1, 1998, "splice_region_variant"),
        (1, 1992, "intron_variant"),
        (1, 1100, "splice_region_variant"),
        (1, 1098, "splice_region_variant"),
        (1, 1097, "coding_sequence_variant"),
        (1, 2001, "splice_region_variant"),
        # minus strand: the same intron, read the other way, starts at 2000
        (-1, 2000, "splice_donor_variant"),
        (-1, 1999, "splice_donor_variant"),
        (-1, 1101, "splice_acceptor_variant"),
        (-1, 1102, "splice_acceptor_variant"),
        (-1, 1993, "splice_region_variant"),
        (-1, 1992, "intron_variant"),
    ],
)
def test_splice_edges_on_both_strands(strand: int, pos: int, expected: str):
    result = annotate_transcript(_toy(strand), pos, "A", "G")
    assert result is not None and result.terms[0] == expected


def test_splice_hgvs_offsets_on_both_strands():
    plus, minus = _toy(1), _toy(-1)
    assert annotate_transcript(plus, 1101, "G", "A").hgvs_c == "c.100+1G>A"
    assert annotate_transcript(plus, 2000, "G", "A").hgvs_c == "c.101-1G>A"
    # on the minus strand the alleles are complemented
    assert annotate_transcript(minus, 2000, "C", "T").hgvs_c == "c.200+1G>A"
    assert annotate_transcript(minus, 1101, "C", "T").hgvs_c == "c.201-1G>A"


def test_without_sequence_consequences_stay_exact(grch38_no_fasta: AnnotationSources):
    # KRAS G12D without a FASTA: coding, but missense cannot be known without the codon
    row = annotate_allele("12", 25245350, "C", "T", grch38_no_fasta)
    assert row["consequence"] == "coding_sequence_variant" and row["hgvs_c"] == "c.35G>A"
    assert row["hgvs_p"] is None
    # any substitution in ATG loses the start codon: KRAS c.1A>G lies at the CDS end (minus strand)
    kras = grch38_no_fasta.transcripts.by_name[row["transcript"]]
    first_base = kras.cds_end
    assert annotate_allele("12", first_base, "T", "C", grch38_no_fasta)["consequence"] == "start_lost"
    assert annotate_allele("12", 25_000_000, "A", "G", grch38_no_fasta)["consequence"] == "intergenic_variant"


def test_large_deletion_ablates_and_symbolic_alleles_need_their_end(grch38_no_fasta: AnnotationSources):
    import time

    brca1 = next(t for t in grch38_no_fasta.transcripts.transcripts if t.gene == "BRCA1")
    start = brca1.tx_start - 10
    ref = "A" * (brca1.tx_end - start + 20)  # a deletion over the whole gene (sequence not checked here)
    started = time.perf_counter()
    row = annotate_allele("17", start, ref, "A", grch38_no_fasta)
    assert time.perf_counter() - started < 2
    assert row["gene"] == "BRCA1" and row["consequence"] == "transcript_ablation" and row["impact"] == "HIGH"
    # a symbolic deletion is annotated by the interval its END gives; without END its extent is not guessed
    symbolic = annotate_allele("17", start, "A", "<DEL>", grch38_no_fasta)
    assert symbolic["consequence"] is None and symbolic["gene"] is None
    spanning = annotate_allele("17", start, "A", "<DEL>", grch38_no_fasta,
                               structural=(brca1.tx_end + 10, None, "DEL", None))
    assert spanning["gene"] == "BRCA1" and spanning["consequence"] == "transcript_ablation"


def test_phenopacket_protein_changes_in_sequenced_genes(
    benchmarks_dir: Path, grch38_sources, refdata_dir: Path
):
    """Where the sparse FASTA covers the gene, the published p. (e.g. RET Cys634Trp) must come out too."""
    lines = (refdata_dir / "grch38/sequence/mane_select_covered.tsv").read_text().splitlines()[1:]
    covered = {line.split("\t")[1] for line in lines}
    by_refseq = {t.refseq_nm: t for t in grch38_sources.transcripts.transcripts}
    checked = set()
    for path in sorted((benchmarks_dir / "rare/phenopackets").glob("*.json")):
        for interpretation in json.loads(path.read_text()).get("interpretations", []):
            for finding in interpretation["diagnosis"].get("genomicInterpretations", []):
                descriptor = finding.get("variantInterpretation", {}).get("variationDescriptor", {})
                vcf = descriptor.get("vcfRecord", {})
                hgvs = {e["syntax"]: e["value"] for e in descriptor.get("expressions", [])}
                accession = hgvs.get("hgvs.c", ":").split(":")[0]
                if not vcf or not accession or accession not in covered or accession not in by_refseq:
                    continue
                if vcf.get("genomeAssembly", "").lower() not in ("hg38", "grch38"):
                    continue
                result = annotate_transcript(
                    by_refseq[accession],
                    *trim_alleles(int(vcf["pos"]), vcf["ref"], vcf["alt"]),
                    grch38_sources.genome,
                )
                assert result.hgvs_c == hgvs["hgvs.c"].split(":")[1]
                published = hgvs.get("hgvs.p", "").split(":")[-1].replace("(", "").replace(")", "")
                if published and published != "p.?":
                    assert result.hgvs_p == published
                    checked.add(published)
    assert {"p.Cys634Trp", "p.Ser176LeufsTer8"} <= checked


def test_insertions_at_transcript_ends():
    plus, minus = _toy(1), _toy(-1)
    # between the last transcript base (3100) and the next: beside the transcript, not in it
    assert annotate_transcript(plus, 3100, "A", "AT").terms == ["downstream_gene_variant"]
    assert annotate_transcript(minus, 3100, "A", "AT").terms == ["upstream_gene_variant"]
    assert annotate_transcript(plus, 1000, "A", "AT").terms == ["upstream_gene_variant"]
    # one base further in, the insertion is inside the last exon
    assert annotate_transcript(plus, 3099, "A", "AT").terms == ["frameshift_variant"]
