"""The vectorised annotation path: SNVs in and near exons as the per-allele path annotates them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from gmc.genomics.annotation.annotate import (
    _CONSEQUENCE_COLUMNS,
    COLUMN_NAMES,
    AnnotationSources,
    annotate_allele,
    annotate_alleles,
)
from gmc.genomics.annotation.bulk import annotate_bulk
from gmc.genomics.annotation.grouping import groups_of
from gmc.genomics.vcf import open_vcf

EXOME = "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"


@pytest.fixture(scope="module")
def exome_batch(benchmarks_dir: Path):
    """Every allele row of the real GRCh38 exome (nearly all in or near exons)."""
    with open_vcf(benchmarks_dir / EXOME, samples=[]) as reader:
        batches = list(reader.batches(100_000))
    return SimpleNamespace(**{name: np.concatenate([getattr(b, name) for b in batches])
                              for name in ("chrom", "pos", "ref", "alt")})


def _assert_same_as_per_allele(batch, sources: AnnotationSources) -> list[dict]:
    table = annotate_alleles(batch.chrom, batch.pos, batch.ref, batch.alt, sources).to_pylist()
    for i, row in enumerate(table):
        single = annotate_allele(batch.chrom[i], int(batch.pos[i]), batch.ref[i], batch.alt[i], sources,
                                 lookups=False)
        assert {c: row[c] for c in _CONSEQUENCE_COLUMNS} == {c: single[c] for c in _CONSEQUENCE_COLUMNS}, (
            batch.chrom[i], int(batch.pos[i]), batch.ref[i], batch.alt[i])
    return table


def test_exome_snvs_near_exons_settle_in_bulk_as_the_per_allele_path(exome_batch, grch38_no_fasta):
    """Without a reference every SNV in or near an exon is plain arithmetic: most of an exome settles in bulk."""
    b = exome_batch
    bulk = annotate_bulk(grch38_no_fasta.arrays, b.chrom, b.pos.astype(np.int64), b.ref, b.alt, indels=True)
    snv = np.array([len(r) == 1 and len(a) == 1 for r, a in zip(b.ref, b.alt, strict=True)])
    assert bulk.done[snv].mean() > 0.97
    table = _assert_same_as_per_allele(b, grch38_no_fasta)
    terms = {t for row in table for t in (row["consequence"] or "").split("&")}
    assert {"coding_sequence_variant", "splice_region_variant", "5_prime_UTR_variant", "3_prime_UTR_variant",
            "splice_donor_variant", "splice_acceptor_variant", "start_lost"} <= terms


def test_coding_snvs_of_sequenced_transcripts_keep_codon_terms(exome_batch, grch38_sources):
    """With the sparse FASTA, CDS SNVs of the transcripts it covers still get missense/synonymous and HGVS p."""
    b = exome_batch
    table = _assert_same_as_per_allele(b, grch38_sources)
    terms = {t for row in table for t in (row["consequence"] or "").split("&")}
    assert {"missense_variant", "synonymous_variant"} <= terms
    assert any(row["hgvs_p"] for row in table)


@pytest.mark.parametrize(
    ("chrom", "pos", "ref", "alt", "consequence", "hgvs_c", "exon", "intron", "residue"),
    [
        # BRCA2 (NM_000059.4, plus strand): exon 2 spans 32316422-32316527, CDS from 32316461 (c.1)
        ("13", 32316461, "A", "G", "start_lost", "c.1A>G", "2/27", None, 1),
        ("13", 32316527, "G", "A", "splice_region_variant&coding_sequence_variant", "c.67G>A", "2/27", None, 23),
        ("13", 32316528, "G", "A", "splice_donor_variant&intron_variant", "c.67+1G>A", None, "2/26", None),
        ("13", 32316422, "G", "A", "splice_region_variant&5_prime_UTR_variant", "c.-39G>A", "2/27", None, None),
        ("13", 32316421, "G", "A", "splice_acceptor_variant&intron_variant", "c.-39-1G>A", None, "1/26", None),
        ("13", 32316424, "G", "A", "splice_region_variant&5_prime_UTR_variant", "c.-37G>A", "2/27", None, None),
        # TP53 (NM_000546.6, minus strand): c.1 is the CDS end in genomic order, 7676594; the allele is
        # complemented on the transcript
        ("17", 7676594, "T", "C", "start_lost", "c.1A>G", "2/11", None, 1),
        ("17", 7676591, "C", "T", "coding_sequence_variant", "c.4G>A", "2/11", None, 2),
    ],
)
def test_hand_computed_snvs(grch38_no_fasta, chrom, pos, ref, alt, consequence, hgvs_c, exon, intron, residue):
    row = annotate_alleles(np.array([chrom], dtype=object), np.array([pos]), np.array([ref], dtype=object),
                           np.array([alt], dtype=object), grch38_no_fasta).to_pylist()[0]
    assert row["gene"] in ("BRCA2", "TP53")
    assert (row["consequence"], row["hgvs_c"], row["exon"], row["intron"], row["protein_position"]) == (
        consequence, hgvs_c, exon, intron, residue)


def test_columns_limit_the_output(exome_batch, grch38_no_fasta):
    b = exome_batch
    full = annotate_alleles(b.chrom, b.pos, b.ref, b.alt, grch38_no_fasta)
    wanted = ("gene", "consequence", "hgvs_c", "clinvar", "gnomad_af")
    some = annotate_alleles(b.chrom, b.pos, b.ref, b.alt, grch38_no_fasta, columns=wanted)
    assert some.column_names == list(wanted)
    assert some.equals(full.select(list(wanted)))
    assert full.column_names == list(COLUMN_NAMES)
    with pytest.raises(ValueError, match="unknown column"):
        annotate_alleles(b.chrom, b.pos, b.ref, b.alt, grch38_no_fasta, columns=["gene", "nonsense"])


def test_groups_of_matches_unique_and_compare():
    chrom = np.array(["2", "1", "X", "1", "10", "2", "1"], dtype=object)
    groups = [(name, rows.tolist()) for name, rows in groups_of(chrom)]
    assert groups == [("1", [1, 3, 6]), ("10", [4]), ("2", [0, 5]), ("X", [2])]
    assert [(n, r.tolist()) for n, r in groups_of(pa.chunked_array([["b", None], ["a", "b"]]))] == [
        ("a", [2]), ("b", [0, 3])]
    assert list(groups_of(np.array([], dtype=object))) == []


def test_intronic_indels_settle_in_bulk_as_the_per_allele_path(grch38_no_fasta):
    """Deletions, insertions, delins and MNVs deep in real introns of both strands, without sequence: the
    vectorised path gives the per-allele path's rows; delins and MNVs are named (nearest-exon anchors, ties),
    insertions and deletions are withheld with a note (their 3' place needs the sequence)."""
    arrays = grch38_no_fasta.arrays
    models = grch38_no_fasta.transcripts.transcripts
    changes = [("ACGT", "A"), ("AC", "A"), ("A", "ATTG"), ("G", "GC"), ("ACG", "T"), ("AC", "GT"), ("CAT", "")]
    rows: list[tuple[str, int, str, str]] = []
    strands = {1: 0, -1: 0}
    for i, model in enumerate(models):
        if strands[model.strand] >= 30 or arrays.n_exons[i] < 3:
            continue
        k = arrays.exon_offset[i] + 1
        left, right = int(arrays.exon_end[k]), int(arrays.exon_start[k + 1])
        if right - left < 400:
            continue
        strands[model.strand] += 1
        middle = (left + right) // 2
        # the middle (a tie between the exons on either side), nearer each exon, and past the middle
        for j, at in enumerate((middle, middle + 1, left + 60, right - 80)):
            ref, alt = changes[(i + j) % len(changes)]
            if not alt:  # an unanchored deletion: no base shared with the alternate allele
                ref, alt = "C" + ref, "G"
            rows.append((model.chrom, at, ref, alt))
    assert strands == {1: 30, -1: 30}
    batch = SimpleNamespace(chrom=np.array([r[0] for r in rows], dtype=object), pos=np.array([r[1] for r in rows]),
                            ref=np.array([r[2] for r in rows], dtype=object),
                            alt=np.array([r[3] for r in rows], dtype=object))
    bulk = annotate_bulk(arrays, batch.chrom, batch.pos.astype(np.int64), batch.ref, batch.alt, indels=True)
    assert bulk.done.mean() > 0.9  # these are the bulk path's, not left to the per-allele path
    table = _assert_same_as_per_allele(batch, grch38_no_fasta)
    texts = [row["hgvs_c"] for row in table if row["hgvs_c"]]
    withheld = [row for row in table if row["hgvs_c"] is None]
    assert texts and all("delins" in t for t in texts)
    assert any("+" in t for t in texts) and any("-" in t for t in texts)
    assert len(withheld) > len(table) // 2
    assert all(row["hgvs_note"].startswith("c. withheld") and "no reference FASTA" in row["hgvs_note"]
               for row in withheld)
