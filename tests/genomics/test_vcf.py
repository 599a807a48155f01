"""Tests for VCF/BCF reading: splitting, trimming, genotypes, build detection and clear errors."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest
from cyvcf2 import VCF, Writer

from gmc.genomics.vcf import (
    VcfBuildError,
    VcfFormatError,
    detect_build,
    normalise_chrom,
    open_vcf,
    trim_alleles,
)

HEADER38 = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=248956422>
##contig=<ID=chrX,length=156040895>
##contig=<ID=chrM,length=16569>
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">
##INFO=<ID=NOTE,Number=1,Type=String,Description="Free text">
##FILTER=<ID=LowQual,Description="Low quality">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tproband\tmother
"""

RECORDS = [
    # multi-allelic: the proband carries both ALTs, the mother one; the 2nd ALT shares a suffix with REF
    "chr1\t1000\t.\tCAG\tC,TAG\t50\tPASS\tAF=0.1,0.2;NOTE=x\tGT:GQ:DP:AD"
    "\t1/2:30:20:2,8,10\t0/1:40:25:12,13,0",
    # MNP with shared flanks: ACGT>ACTT is a single G>T at 1002+2
    "chr1\t2000\t.\tACGT\tACTT\t.\tLowQual\t.\tGT:AD\t./.:.\t1|1:0,9",
    # haploid male chrX call and a missing diploid call
    "chrX\t3000\t.\tG\tA\t99\tPASS\t.\tGT:GQ\t1:50\t./.:.",
    # mitochondrion, the mother hom-ref
    "chrM\t73\t.\tA\tG\t99\tPASS\t.\tGT\t1/1\t0/0",
]


def _write(tmp_path: Path, lines: list[str], name: str = "tiny.vcf", header: str = HEADER38) -> Path:
    path = tmp_path / name
    text = header + "\n".join(lines) + "\n"
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def _only_batch(path: Path, **kwargs: object):
    batches = list(open_vcf(path, **kwargs).batches())
    assert len(batches) == 1
    return batches[0]


def test_normalise_chrom_and_trim():
    assert [normalise_chrom(c) for c in ("chr1", "1", "chrM", "MT", "chrX", "chr22")] == [
        "1",
        "1",
        "MT",
        "MT",
        "X",
        "22",
    ]
    assert trim_alleles(100, "CAG", "TAG") == (100, "C", "T")
    assert trim_alleles(100, "ACGT", "ACTT") == (102, "G", "T")
    assert trim_alleles(100, "ATG", "AG") == (100, "AT", "A")
    assert trim_alleles(100, "C", "<DEL>") == (100, "C", "<DEL>")


def test_split_trim_and_genotypes(tmp_path: Path):
    batch = _only_batch(_write(tmp_path, RECORDS), info_keys=("AF", "NOTE"))
    assert list(batch.chrom) == ["1", "1", "1", "X", "MT"]
    assert list(batch.pos) == [1000, 1000, 2002, 3000, 73]
    assert list(batch.ref) == ["CAG", "C", "G", "G", "A"]
    assert list(batch.alt) == ["C", "T", "T", "A", "G"]
    # 1/2 is het for both split rows; the mother's 0/1 makes her hom-ref for the second ALT
    assert batch.gt[:2].tolist() == [[1, 1], [1, 0]]
    assert batch.gt[2].tolist() == [-1, 2]
    assert batch.gt[3].tolist() == [2, -1]
    assert batch.ploidy[3].tolist() == [1, 2]
    assert batch.gt[4].tolist() == [2, 0]
    assert batch.ad_ref[:2].tolist() == [[2, 12], [2, 12]]
    assert batch.ad_alt[:2].tolist() == [[8, 13], [10, 0]]
    assert batch.gq[:2].tolist() == [[30, 40], [30, 40]]
    assert batch.dp[2].tolist() == [-1, -1]
    assert list(batch.line) == [13, 13, 14, 15, 16]
    assert list(batch.filter) == ["PASS", "PASS", "LowQual", "PASS", "PASS"]
    assert math.isnan(batch.qual[2]) and batch.qual[0] == 50
    # Number=A values are split per ALT; other keys keep the raw value
    assert batch.info["AF"][0] == pytest.approx(0.1) and batch.info["AF"][1] == pytest.approx(0.2)
    assert list(batch.info["NOTE"]) == ["x", "x", None, None, None]

    sites, calls = batch.to_arrow()
    assert sites.num_rows == 5 and {"chrom", "pos", "ref", "alt", "AF", "NOTE"} <= set(sites.column_names)
    # non-missing, non-hom-ref calls: 2 + 1 + 1 + 1 + 1
    assert calls.num_rows == 6
    assert calls.filter(calls["row"].to_numpy() == 3).to_pylist()[0]["sample"] == "proband"


def test_sample_subset_and_unknown_sample(tmp_path: Path):
    path = _write(tmp_path, RECORDS, "tiny.vcf.gz")
    batch = _only_batch(path, samples=["mother"])
    assert batch.samples == ["mother"] and batch.gt[:2].tolist() == [[1], [0]]
    with pytest.raises(VcfFormatError, match="unknown sample"):
        open_vcf(path, samples=["nobody"])


def test_real_exome_grch38(benchmarks_dir: Path):
    path = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    with gzip.open(path, "rt") as handle:
        header_lines = sum(1 for line in handle if line.startswith("#"))
    reader = open_vcf(path)
    assert reader.build == "GRCh38" and reader.samples == ["manuel"]
    batches = list(reader.batches(size=10_000))
    assert len(batches) >= 4 and all(0 < len(b) <= 10_000 for b in batches)
    first = batches[0]
    # chr1 931131 C>CCCCT 1/1 with AD 6,5, DP 11 and a float GQ of 14.79
    assert (first.chrom[0], first.pos[0], first.ref[0], first.alt[0]) == ("1", 931131, "C", "CCCCT")
    assert first.gt[0, 0] == 2 and first.ad_ref[0, 0] == 6 and first.ad_alt[0, 0] == 5
    assert first.dp[0, 0] == 11 and first.gq[0, 0] == 15
    assert first.line[0] == header_lines + 1
    assert sum(len(b) for b in batches) == 36793
    chroms = set(np.concatenate([b.chrom for b in batches]))
    assert not any(c.startswith("chr") for c in chroms) and {"1", "X"} <= chroms


def test_build_detection_and_mismatch(benchmarks_dir: Path):
    giab = benchmarks_dir / "annotated/GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"
    reader = open_vcf(giab)
    assert reader.build == "GRCh37" and reader.samples == ["HG002", "HG003", "HG004"]
    with pytest.raises(VcfBuildError, match="GRCh37 but GRCh38 was expected"):
        open_vcf(giab, build="GRCh38")
    assert detect_build({"chr1": 248956422}) == "GRCh38"
    assert detect_build({"chrUn": 1000}) is None


def test_no_contigs_needs_a_build(tmp_path: Path):
    header = "\n".join(line for line in HEADER38.splitlines() if not line.startswith("##contig")) + "\n"
    path = _write(tmp_path, RECORDS, header=header)
    with pytest.raises(VcfBuildError, match="give the build"):
        open_vcf(path)
    assert open_vcf(path, build="hg38").build == "GRCh38"


def test_bcf_reads_like_the_vcf(benchmarks_dir: Path, tmp_path: Path):
    source = benchmarks_dir / "annotated/scout_demo_643594_trio.clinical.GRCh37.vcf.gz"
    bcf = tmp_path / "trio.bcf"
    vcf = VCF(str(source))
    writer = Writer(str(bcf), vcf, mode="wb")
    for record in vcf:
        writer.write_record(record)
    writer.close()
    vcf.close()
    from_vcf = _only_batch(source)
    from_bcf = _only_batch(bcf)
    assert open_vcf(bcf).is_bcf and not open_vcf(source).is_bcf
    assert list(from_bcf.pos) == list(from_vcf.pos) and list(from_bcf.alt) == list(from_vcf.alt)
    assert np.array_equal(from_bcf.gt, from_vcf.gt) and np.array_equal(from_bcf.ad_alt, from_vcf.ad_alt)


def test_truncated_gzip_names_file_and_line(benchmarks_dir: Path, tmp_path: Path):
    source = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    truncated = tmp_path / "truncated.vcf.gz"
    truncated.write_bytes(source.read_bytes()[:1_000_000])
    with pytest.raises(VcfFormatError) as caught:
        for _ in open_vcf(truncated).batches():
            pass
    assert caught.value.line and caught.value.line > 1000
    assert str(caught.value).startswith(f"truncated.vcf.gz line {caught.value.line}:")


def test_malformed_line_names_its_line(tmp_path: Path):
    bad = RECORDS[:2] + ["chr1\tnot_a_number\t.\tA\tG\t10\tPASS\t.\tGT\t0/1\t0/0"] + RECORDS[2:]
    with pytest.raises(VcfFormatError, match=r"tiny.vcf line 15:") as caught:
        for _ in open_vcf(_write(tmp_path, bad)).batches():
            pass
    assert caught.value.line == 15


@pytest.mark.parametrize(
    ("relative", "keys", "samples"),
    [
        ("benchmarks/rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz", ("AF", "DB", "DP", "set"), None),
        (
            "benchmarks/annotated/scout_demo_643594_trio.clinical.GRCh37.vcf.gz",
            ("CSQ", "EXACAF", "CLNSIG"),
            None,
        ),
        ("benchmarks/annotated/cyvcf2_test_189samples_CSQ_ANN.GRCh37.vcf.gz", ("AC", "AF", "ANN"), []),
        ("benchmarks/annotated/GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz", ("BCSQ",), None),
        ("benchmarks/rare/background/PlatinumGenomes_NA12878_GRCh38_chr21.vcf.gz", ("metal",), None),
        ("refdata/frequencies/HapMap_exome_chr22_22samples_GRCh37.vcf.gz", ("AF",), None),
    ],
)
def test_text_path_matches_htslib(shared_dir: Path, relative: str, keys: tuple[str, ...], samples):
    """Text VCF goes through Arrow's CSV reader; sites, genotypes and INFO must equal the htslib path."""
    path = shared_dir / relative
    # the Arrow path itself (not its htslib fallback), and htslib itself
    fast = [b for _, b in open_vcf(path, samples=samples, info_keys=keys)._text_batches(7_000)]
    slow = list(open_vcf(path, samples=samples, info_keys=keys).htslib_batches(7_000, 0))
    columns = ("chrom", "pos", "ref", "alt", "filter", "line", "gt", "ploidy", "gq", "dp", "ad_ref", "ad_alt")
    for name in columns:
        a = np.concatenate([getattr(b, name) for b in fast])
        b = np.concatenate([getattr(b, name) for b in slow])
        assert a.shape == b.shape and a.tolist() == b.tolist(), name
    assert np.allclose(
        np.concatenate([b.qual for b in fast]), np.concatenate([b.qual for b in slow]), equal_nan=True
    )
    for name in ("phase_set", "haplotype"):
        assert _phase(fast, name).tolist() == _phase(slow, name).tolist(), name
    for key in keys:
        a = [v for b in fast for v in b.info[key]]
        b = [v for b in slow for v in b.info[key]]
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            # htslib holds floats in 32 bits; the text path keeps the written decimal
            assert x == (pytest.approx(y, rel=1e-6) if isinstance(y, float) else y), key


def _phase(batches, name: str) -> np.ndarray:
    """A phase column over batches, -1 for batches without a phased call."""
    return np.concatenate([getattr(b, name) if getattr(b, name) is not None else np.full(b.gt.shape, -1)
                           for b in batches])


def test_phased_calls_carry_their_phase_set_and_haplotype(tmp_path: Path):
    """GT with "|" and FORMAT PS: which haplotype carries each row's ALT, on both paths; unphased calls have none."""
    header = HEADER38.replace('##FORMAT=<ID=AD', '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">\n'
                              '##FORMAT=<ID=AD')
    path = _write(tmp_path, [
        "chr1\t1000\t.\tC\tT\t50\tPASS\t.\tGT:PS\t0|1:990\t0/1:.",
        "chr1\t1100\t.\tG\tA\t50\tPASS\t.\tGT:PS\t1|0:990\t0|1:.",
        "chr1\t1200\t.\tCAG\tC,TAG\t50\tPASS\t.\tGT:PS\t1|2:990\t0|0:.",
        "chr1\t1300\t.\tA\tG\t50\tPASS\t.\tGT\t1|1\t0|1",
        "chrX\t3000\t.\tG\tA\t99\tPASS\t.\tGT\t1\t0/1",
    ], header=header)
    fast = [b for _, b in open_vcf(path)._text_batches(100)][0]
    slow = list(open_vcf(path).htslib_batches(100, 0))[0]
    for batch in (fast, slow):
        # rows: 1000, 1100, 1200 CAG>C (ALT 1), 1200 C>T (ALT 2), 1300, X; samples: proband, mother
        assert batch.phase_set.tolist() == [[990, -1], [990, 0], [990, -1], [990, -1], [-1, 0], [-1, -1]]
        assert batch.haplotype.tolist() == [[1, -1], [0, 1], [0, -1], [1, -1], [-1, 1], [-1, -1]]
    unphased = _only_batch(_write(tmp_path, RECORDS[:1] + RECORDS[2:], name="unphased.vcf"))
    assert unphased.phase_set is None and unphased.haplotype is None


def test_text_path_on_hand_made_genotypes(tmp_path: Path):
    """Multi-allelic 1/2, haploid, missing and phased calls: the text path equals htslib."""
    path = _write(tmp_path, RECORDS)
    fast = [b for _, b in open_vcf(path)._text_batches(100)][0]
    slow = list(open_vcf(path).htslib_batches(100, 0))[0]
    for name in ("pos", "ref", "alt", "gt", "ploidy", "gq", "dp", "ad_ref", "ad_alt", "line"):
        assert getattr(fast, name).tolist() == getattr(slow, name).tolist(), name


def test_sites_only_errors_still_name_the_line(tmp_path: Path, benchmarks_dir: Path):
    bad = RECORDS[:2] + ["chr1\tnot_a_number\t.\tA\tG\t10\tPASS\t.\tGT\t0/1\t0/0"] + RECORDS[2:]
    with pytest.raises(VcfFormatError, match=r"tiny.vcf line 15:"):
        for _ in open_vcf(_write(tmp_path, bad), samples=[]).batches():
            pass
    source = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    truncated = tmp_path / "truncated.vcf.gz"
    truncated.write_bytes(source.read_bytes()[:1_000_000])
    rows = 0
    with pytest.raises(VcfFormatError, match=r"truncated.vcf.gz line \d+:"):
        for batch in open_vcf(truncated, samples=[]).batches(size=5_000):
            rows += len(batch)
    assert rows > 1000


def test_text_arrow_batch_equals_the_batch_as_arrow(tmp_path: Path, benchmarks_dir: Path):
    from gmc.genomics.vcf import text_arrow_batch, text_batch

    source = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    with gzip.open(source, "rt") as fh:
        lines = fh.readlines()
    # the same file with only records that are one row as written: the all-Arrow path
    simple = [line for line in lines if line.startswith("#") or (
        "," not in line.split("\t")[4] and min(len(line.split("\t")[3]), len(line.split("\t")[4])) == 1)]
    plain = tmp_path / "simple.vcf"
    plain.write_text("".join(simple))
    for path in (source, plain):
        reader = open_vcf(path, samples=["manuel"])
        for part, first_line in reader.text_blocks(10_000):
            batch = text_batch(reader.text_spec, part, first_line)
            sites, calls = batch.to_arrow()
            fast = text_arrow_batch(reader.text_spec, part, first_line)
            assert fast[0].schema == sites.schema and fast[0].equals(sites) and fast[1].equals(calls)
            assert (fast[2] == batch.gt).all() and (fast[3] == batch.ploidy).all() and (fast[4] == batch.gq).all()
            assert fast[5] == batch.line[-1]


def test_text_chunks_are_whole_lines_that_parse_as_the_streamed_blocks(tmp_path: Path, benchmarks_dir: Path):
    import mmap

    import pyarrow as pa

    from gmc.genomics.vcf import text_block

    source = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    with gzip.open(source, "rb") as fh:
        lines = fh.read().splitlines(keepends=True)
    header = [line for line in lines if line.startswith(b"#")]
    records = b"".join(line for line in lines if not line.startswith(b"#"))
    # a header of several reads (the chunks skip it in 64 KB pieces) and a last line with no newline
    padded = tmp_path / "padded.vcf"
    notes = [b"##note=%s\n" % (b"x" * 100) for _ in range(2_000)]
    padded.write_bytes(b"".join(header[:-1] + notes + header[-1:]) + records.rstrip(b"\n"))
    for path, text in ((source, records), (padded, records.rstrip(b"\n"))):
        reader = open_vcf(path, samples=["manuel"])
        slot = 1 << 16
        ring = mmap.mmap(-1, 3 * slot)
        chunks = [(start, ring[start:start + length]) for start, length in reader.text_chunks(ring, slot)]
        assert len(chunks) > 3 and {start for start, _ in chunks} == {0, slot, 2 * slot}  # the slots wrap round
        assert b"".join(block for _, block in chunks) == text
        assert all(block.endswith(b"\n") for _, block in chunks[:-1])
        parsed = pa.Table.from_batches([text_block(reader.text_spec, block) for _, block in chunks])
        streamed = pa.Table.from_batches([part for part, _ in reader.text_blocks(1 << 40)])
        assert parsed.num_rows == len(text.splitlines()) and parsed.equals(streamed)
        assert reader.records_start_line == len(header) + (len(notes) if path == padded else 0) + 1


def test_a_line_longer_than_a_text_chunk_is_refused(tmp_path: Path):
    import mmap

    path = _write(tmp_path, ["chr1\t100\t.\tA\tG\t50\tPASS\tNOTE=" + "x" * 5_000 + "\tGT\t0/1"])
    reader = open_vcf(path)
    with pytest.raises(VcfFormatError, match="longer than 4096 bytes"):
        list(reader.text_chunks(mmap.mmap(-1, 2 * 4096), 4096))
