"""HGVS against independent truth: published VariantValidator-checked phenopackets, the sparse real FASTA, the
representation of indels, and what is withheld (never guessed) when sequence is unknown."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from gmc.genomics.annotation.annotate import AnnotationSources, annotate_allele, transcript_consequences
from gmc.genomics.annotation.consequence import annotate_transcript
from gmc.genomics.annotation.sequence import ReferenceGenome, ReferenceSequenceError
from gmc.genomics.annotation.transcripts import Transcript
from gmc.genomics.vcf import normalise_chrom, trim_alleles


def _published(benchmarks_dir: Path):
    """(chrom, pos, ref, alt, NM accession, c., p.) of every GRCh38 phenopacket variant with an HGVS c."""
    for path in sorted((benchmarks_dir / "rare/phenopackets").glob("*.json")):
        for interpretation in json.loads(path.read_text()).get("interpretations", []):
            for finding in interpretation["diagnosis"].get("genomicInterpretations", []):
                descriptor = finding.get("variantInterpretation", {}).get("variationDescriptor", {})
                vcf = descriptor.get("vcfRecord")
                hgvs = {e["syntax"]: e["value"] for e in descriptor.get("expressions", [])}
                if not vcf or "hgvs.c" not in hgvs or vcf.get("genomeAssembly", "").lower() not in ("hg38", "grch38"):
                    continue
                accession, c = hgvs["hgvs.c"].split(":", 1)
                p = hgvs.get("hgvs.p", ":").split(":", 1)[1].replace("(", "").replace(")", "") or None
                # published spellings that say the same: "c.367C > T", "c.479dupT", "c.1187_1188delAA"
                c = re.sub(r"(del|dup)[ACGT]+$", r"\1", c.replace(" ", ""))
                yield normalise_chrom(vcf["chrom"]), int(vcf["pos"]), vcf["ref"], vcf["alt"], accession, c, p


def _on(consequences, accession: str):
    return next((c for c in consequences if c.refseq and c.refseq.split(".")[0] == accession.split(".")[0]), None)


def test_phenopackets_no_published_c_is_contradicted(benchmarks_dir: Path, grch38_sources: AnnotationSources):
    """Every published c. is given identically or withheld with a note (never a different description);
    substitutions need no sequence and are always given; p. agrees wherever it is given."""
    counts = {"agree": 0, "withheld": 0, "snv": 0, "p_agree": 0}
    for chrom, pos, ref, alt, accession, c, p in _published(benchmarks_dir):
        found = _on(transcript_consequences(chrom, *trim_alleles(pos, ref, alt), grch38_sources), accession)
        if found is None:
            continue  # the publication's transcript is not the MANE Select one
        if found.hgvs_c is None:
            assert found.note and "withheld" in found.note, (chrom, pos, ref, alt)
            assert len(ref) != len(alt)
            counts["withheld"] += 1
            continue
        assert found.hgvs_c == c, (chrom, pos, ref, alt, c, found.hgvs_c)
        counts["agree"] += 1
        counts["snv"] += len(ref) == len(alt) == 1
        if p and found.hgvs_p:
            assert found.hgvs_p == p, (chrom, pos, ref, alt, p, found.hgvs_p)
            counts["p_agree"] += 1
    assert counts["snv"] >= 440 and counts["agree"] >= 450 and counts["withheld"] >= 50
    assert counts["p_agree"] >= 5


@pytest.mark.parametrize(
    ("chrom", "forms", "gene", "hgvs_c", "hgvs_p", "term"),
    [
        # APC (plus strand) GGA after codon 100: the VCF's right-shifted insertion and the left-aligned one
        ("5", [(112767271, "A", "AGGA"), (112767268, "A", "AGGA")], "APC", None, "p.Gly101dup",
         "inframe_insertion"),
        # CFTR F508del written three ways: left-aligned, right-shifted, padded with a base either side
        ("7", [(117559590, "ATCT", "A"), (117559591, "TCTT", "T"), (117559589, "TATCTT", "TAT")], "CFTR",
         "c.1521_1523del", "p.Phe508del", "inframe_deletion"),
        # BRCA1 (minus strand) c.68_69del: left-aligned, right-shifted, padded
        ("17", [(43124027, "ACT", "A"), (43124029, "TCT", "T"), (43124026, "AACTC", "AAC")], "BRCA1",
         "c.68_69del", "p.Glu23ValfsTer17", "frameshift_variant"),
    ],
)
def test_one_description_however_the_vcf_writes_it(grch38_sources, chrom, forms, gene, hgvs_c, hgvs_p, term):
    rows = [annotate_allele(chrom, *trim_alleles(*form), grch38_sources) for form in forms]
    for row in rows:
        assert row["gene"] == gene and row["hgvs_p"] == hgvs_p and row["consequence"].split("&")[0] == term
        assert "Xaa" not in (row["hgvs_p"] or "")
        if hgvs_c:
            assert row["hgvs_c"] == hgvs_c
    assert len({(r["hgvs_c"], r["hgvs_p"], r["consequence"]) for r in rows}) == 1


def _clinvar_indels(refdata_dir: Path, sources: AnnotationSources, covered: set[str], per_strand: int):
    """ClinVar's (left-aligned) coding indels in transcripts whose sequence the sparse FASTA holds."""
    path = refdata_dir / "grch38/clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz"
    found = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.split("\t", 5)
            ref, alt = fields[3], fields[4]
            if len(ref) == len(alt) or len(ref) > 30 or len(alt) > 30 or "," in alt:
                continue
            if ref[0] != alt[0] or min(len(ref), len(alt)) != 1:
                continue  # pure insertions and deletions with their anchor base (delins do not move)
            chrom, pos = normalise_chrom(fields[0]), int(fields[1])
            near = [t for t in sources.transcripts.overlapping(chrom, pos, pos + 1) if t.name in covered]
            if near and near[0].tx_start < pos < near[0].tx_end:
                found.append((chrom, pos, ref, alt, near[0]))
    plus = [f for f in found if f[4].strand > 0][:per_strand]
    return plus + [f for f in found if f[4].strand < 0][:per_strand]


def _right_aligned(genome: ReferenceGenome, chrom: str, pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """The same indel moved as far right as the sequence allows, written with its anchor base (VCF style)."""
    if len(ref) > len(alt):
        unit, at = ref[1:], pos + 1  # deleted bases, first deleted position
        while genome.fetch(chrom, at + len(unit), at + len(unit)) == unit[0]:
            unit, at = unit[1:] + unit[0], at + 1
        anchor = genome.fetch(chrom, at - 1, at - 1)
        return at - 1, anchor + unit, anchor
    unit, at = alt[1:], pos + 1  # inserted bases, inserted before `at`
    while genome.fetch(chrom, at, at) == unit[0]:
        unit, at = unit[1:] + unit[0], at + 1
    anchor = genome.fetch(chrom, at - 1, at - 1)
    return at - 1, anchor, anchor + unit


def test_left_right_and_padded_clinvar_indels_agree_on_both_strands(refdata_dir, grch38_sources, covered_transcripts):
    """ClinVar writes indels left-aligned; moved right, or padded with a base each side, each must get the same
    HGVS c., p. and consequence on its transcript, on plus- and minus-strand genes."""
    genome = grch38_sources.genome
    strands = {1: 0, -1: 0}
    moved = 0
    for chrom, pos, ref, alt, transcript in _clinvar_indels(refdata_dir, grch38_sources, covered_transcripts, 300):
        if annotate_transcript(transcript, *trim_alleles(pos, ref, alt), genome).hgvs_c is None:
            continue  # N beside it (an intron the sparse FASTA lacks): withheld, checked elsewhere
        right = _right_aligned(genome, chrom, pos, ref, alt)
        before, after = genome.fetch(chrom, pos - 1, pos - 1), genome.fetch(chrom, pos + len(ref), pos + len(ref))
        padded = (pos - 1, before + ref + after, before + alt + after)
        results = [annotate_transcript(transcript, *trim_alleles(*form), genome)
                   for form in ((pos, ref, alt), right, padded)]
        assert len({(r.hgvs_c, r.hgvs_p, tuple(r.terms)) for r in results}) == 1, (chrom, pos, ref, alt, [
            (r.hgvs_c, r.hgvs_p, r.terms) for r in results])
        assert results[0].hgvs_c and "Xaa" not in (results[0].hgvs_p or "")
        strands[transcript.strand] += 1
        moved += right[0] != pos
    assert strands[1] >= 50 and strands[-1] >= 50 and moved >= 50


def test_stop_codon_deletion_is_an_extension(grch38_sources):
    """CFTR's stop codon (c.4441_4443, TAG) deleted in frame: the protein reads on to the next stop."""
    cftr = next(t for t in grch38_sources.transcripts.transcripts if t.gene == "CFTR")
    stop = cftr.genomic_position(cftr.cds_last)  # plus strand: the stop's last base
    ref = grch38_sources.genome.fetch("7", stop - 3, stop)
    row = annotate_allele("7", stop - 3, ref, ref[0], grch38_sources)
    assert row["hgvs_c"] == "c.4441_4443del"
    assert re.fullmatch(r"p\.Ter1481[A-Z][a-z]{2}extTer(\d+|\?)", row["hgvs_p"]) and "Xaa" not in row["hgvs_p"]
    assert row["consequence"].startswith("stop_lost")


def test_without_sequence_indels_are_withheld_substitutions_given(grch38_no_fasta):
    """No FASTA: SMC3's published c.1433_1435dup is not guessed as c.1431_1432insGCA; the note says why."""
    row = annotate_allele("10", *trim_alleles(110589913, "T", "TGCA"), grch38_no_fasta)
    assert row["gene"] == "SMC3" and row["hgvs_c"] is None and row["hgvs_p"] is None
    assert row["hgvs_note"].startswith("c. withheld") and "no reference FASTA" in row["hgvs_note"]
    snv = annotate_allele("12", 25245350, "C", "T", grch38_no_fasta)
    assert snv["hgvs_c"] == "c.35G>A" and snv["hgvs_p"] is None and snv["impact"] is None
    assert "p. and codon change withheld" in snv["hgvs_note"]


def test_n_in_the_fasta_is_unknown_sequence(grch38_sources):
    """The sparse FASTA is N outside ~70 genes: DYRK1A's splice-site deletion is not placed (c. withheld), while
    with real sequence (BRCA1) the same kind of allele is named."""
    row = annotate_allele("21", *trim_alleles(37490461, "GGTAA", "G"), grch38_sources)
    assert row["gene"] == "DYRK1A" and row["hgvs_c"] is None
    assert "reference FASTA has N there" in row["hgvs_note"]


def _toy(strand: int) -> Transcript:
    return Transcript(name=f"toy{strand}", chrom="1", strand=strand, tx_start=1000, tx_end=3100, cds_start=1000,
                      cds_end=3100, exon_starts=(1000, 2000, 3000), exon_ends=(1100, 2100, 3100), gene="TOY")


@pytest.mark.parametrize(
    ("strand", "pos", "expected"),
    [
        # intron 1101-2000; an insertion after `pos` lies between pos and pos + 1
        (1, 1101, "splice_donor_variant"),  # between the donor's two bases (+1 and +2)
        (1, 1100, "splice_region_variant"),  # between the exon's last base and +1: beside the site
        (1, 1102, "splice_region_variant"),  # between +2 and +3
        (1, 1999, "splice_acceptor_variant"),  # between -2 and -1
        (1, 2000, "splice_region_variant"),  # between -1 and the next exon
        (-1, 1999, "splice_donor_variant"),  # minus strand: the donor is 1999-2000
        (-1, 2000, "splice_region_variant"),
        (-1, 1101, "splice_acceptor_variant"),
        (-1, 1100, "splice_region_variant"),
    ],
)
def test_insertions_break_a_splice_site_only_between_its_two_bases(strand, pos, expected):
    result = annotate_transcript(_toy(strand), pos, "A", "AT")
    assert result.terms[0] == expected


def test_mitochondrial_genes_and_m_descriptions(grch38_sources, grch38_no_fasta):
    """m.3243A>G is MT-TL1 (MELAS); LHON's m.11778G>A is MT-ND4 p.Arg340His; MT-ND6 is on the minus strand."""
    for sources in (grch38_sources, grch38_no_fasta):
        for chrom in ("MT", "M"):
            row = annotate_allele(normalise_chrom(f"chr{chrom}"), 3243, "A", "G", sources)
            assert (row["gene"], row["hgnc_id"], row["hgvs_c"]) == ("MT-TL1", "HGNC:7490", "m.3243A>G")
            assert "non_coding_transcript_exon_variant" in row["consequence"]
    lhon = annotate_allele("MT", 11778, "G", "A", grch38_sources)
    assert (lhon["gene"], lhon["hgvs_c"], lhon["hgvs_p"]) == ("MT-ND4", "m.11778G>A", "p.Arg340His")
    nd6 = annotate_allele("MT", 14484, "T", "C", grch38_sources)
    assert (nd6["gene"], nd6["hgvs_p"], nd6["consequence"]) == ("MT-ND6", "p.Met64Val", "missense_variant")
    # the sparse FASTA's chrM is N at 310: an insertion there is not placed
    assert annotate_allele("MT", 310, "T", "TC", grch38_sources)["hgvs_c"] is None


def test_mitochondrial_models_match_vep_refseq(refdata_dir: Path, grch38_sources):
    """The 13 protein-coding mitochondrial genes: spans as in the VEP 84 RefSeq cache, and where the sparse FASTA
    holds their sequence, CDS and vertebrate-mitochondrial translation equal to that cache's."""
    from gmc.genomics.annotation.consequence import _reference_protein, transcript_sequence

    def read(name: str) -> dict[str, tuple[str, str]]:
        out, header = {}, None
        with gzip.open(refdata_dir / f"grch38/sequence/{name}", "rt") as handle:
            for line in handle:
                if line.startswith(">"):
                    header = line[1:].split()
                    out[header[0]] = (line, "")
                else:
                    out[header[0]] = (out[header[0]][0], out[header[0]][1] + line.strip())
        return {k: v for k, v in out.items() if " chr=MT " in v[0] and "84_GRCh38" in v[0]}

    cds, proteins = read("vep84_testcache_transcripts_cds.fa.gz"), read("vep84_testcache_transcripts_protein.fa.gz")
    models = {t.gene.removeprefix("MT-").replace("CYB", "CYTB").replace("CO", "COX"): t
              for t in grch38_sources.transcripts.transcripts if t.chrom == "MT" and t.coding}
    assert len(models) == 13 and len(cds) == 13
    compared = 0
    for key, (header, sequence) in cds.items():
        gene = re.search(r"gene=(\S+)", header).group(1)
        start, end = map(int, re.search(r"exons=(\d+)-(\d+)", header).groups())
        model = models[gene]
        assert (model.tx_start + 1, model.tx_end, model.strand) == (start, end, 1 if "strand=1 " in header else -1)
        ours = transcript_sequence(model, grch38_sources.genome)
        if ours is None:
            continue
        assert ours[model.cds_first - 1 : model.cds_last] == sequence
        # the first codon is read as Met whatever it is (ATA, ATT ...: initiator); VEP's cache translates it as is
        assert _reference_protein(model, ours).rstrip("*")[1:] == proteins[key][1].rstrip("*")[1:]
        compared += 1
    assert compared >= 5


def test_a_fasta_of_another_build_or_without_index_is_refused(tmp_path: Path, sparse_fasta: Path):
    with pytest.raises(ReferenceSequenceError, match="contig lengths do not match GRCh37"):
        ReferenceGenome(sparse_fasta, build="GRCh37")
    fasta = tmp_path / "other.fa"
    fasta.write_text(">contig1\nACGT\n")
    (tmp_path / "other.fa.fai").write_text("contig1\t4\t9\t4\t5\n")
    with pytest.raises(ReferenceSequenceError, match=r"other\.fa: none of the GRCh38 chromosomes"):
        ReferenceGenome(fasta, build="GRCh38")
    (tmp_path / "other.fa.fai").unlink()
    with pytest.raises(ReferenceSequenceError, match=r"other\.fa: no \.fai index"):
        ReferenceGenome(fasta, build="GRCh38")
