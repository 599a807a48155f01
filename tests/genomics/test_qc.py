"""Sample and trio QC on real exomes, checked against plain loops over the raw VCF text."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from gmc.genomics.qc import (
    QcInputError,
    VcfGenotypes,
    read_vcf_genotypes,
    sample_qc,
    sample_qc_from_calls,
    trio_qc,
    variant_type,
    vcf_qc,
)

GRCH38_PAR = ((10_001, 2_781_479), (155_701_383, 156_030_895))


def _raw_alleles(path: Path) -> list[tuple[str, int, str, str, list[str]]]:
    """(chrom, pos, ref, alt, GT strings) per ALT allele, straight from the text."""
    out = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            gts = [v.split(":")[0].replace("|", "/") for v in f[9:]]
            for a, alt in enumerate(f[4].split(","), start=1):
                carried = [str(a) in g.split("/") for g in gts]
                # A call of another ALT is ref for this allele; a missing call stays missing.
                calls = [g if c or "." in g else "0/0" for g, c in zip(gts, carried, strict=True)]
                out.append((f[0].removeprefix("chr"), int(f[1]), f[3], alt, calls))
    return out


@pytest.fixture(scope="module")
def pfeiffer(benchmarks_dir: Path) -> tuple[VcfGenotypes, list]:
    path = benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    return read_vcf_genotypes(path), _raw_alleles(path)


@pytest.fixture(scope="module")
def trio(benchmarks_dir: Path) -> tuple[VcfGenotypes, list]:
    path = benchmarks_dir / "annotated" / "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"
    return read_vcf_genotypes(path), _raw_alleles(path)


def _qc_of(data: VcfGenotypes, j: int = 0, **kw):  # noqa: ANN202
    return sample_qc(data.samples[j], chrom=data.chrom, pos=data.pos, ref=data.ref, alt=data.alt,
                     gt=data.gt[:, j], ploidy=data.ploidy[:, j], build=data.build, **kw)


def test_exome_titv_and_het_hom_match_a_plain_count(pfeiffer: tuple[VcfGenotypes, list]) -> None:
    data, raw = pfeiffer
    ti = tv = het = hom = 0
    for chrom, _pos, ref, alt, (g,) in raw:
        if g == "0/0":
            continue
        if len(ref) == 1 and len(alt) == 1:
            if {ref, alt} in ({"A", "G"}, {"C", "T"}):
                ti += 1
            else:
                tv += 1
        if chrom.isdigit():
            het += g in ("0/1", "1/0")
            hom += g == "1/1"
    qc = _qc_of(data, recorded_sex="female")
    assert qc.titv == pytest.approx(ti / tv)
    assert 2.0 <= qc.titv <= 3.3  # a real exome
    assert (qc.n_het, qc.n_hom_alt) == (het, hom)
    assert sum(qc.counts_by_type.values()) == qc.n_variants == sum(g != "0/0" for *_, (g,) in raw)
    # This exome really has 14 hets per hom-alt call, so the het/hom flag must fire.
    assert [f.metric for f in qc.flags] == ["het_hom_ratio"]


def _chunked(values: np.ndarray, cuts: tuple[int, ...]) -> pa.ChunkedArray:
    """Arrow strings in chunks split at cuts, the first chunk a slice (a non-zero offset into its buffers)."""
    whole = pa.array(["pad", *values.tolist()], pa.string()).slice(1)
    edges = [0, *cuts, len(values)]
    return pa.chunked_array([whole.slice(a, b - a) for a, b in zip(edges[:-1], edges[1:], strict=True)],
                            pa.string())


def test_qc_over_arrow_columns_equals_qc_over_python_strings(pfeiffer: tuple[VcfGenotypes, list],
                                                             trio: tuple[VcfGenotypes, list]) -> None:
    # the ingest hands QC the Arrow columns as read (chunked, bytes counted in bulk); the lists take the
    # per-pair path: both must give the same QC, with lower-case, MNV and symbolic alleles among the rows
    for data in (pfeiffer[0], trio[0]):
        n = len(data.ref)
        cuts = (n // 3, n // 3 + 1, 2 * n // 3)
        ref, alt = data.ref.copy(), data.alt.copy()
        extra = [("a", "g"), ("a", "A"), ("AC", "GT"), ("A", "<DEL>"), ("G", "*"), ("G", "G[1:5["), ("AT", "a"),
                 ("c", "T"), ("N", "A")]
        for k, (r, a) in enumerate(extra):
            ref[k * 7], alt[k * 7] = r, a
        for j in range(len(data.samples)):
            kw = dict(pos=data.pos, gt=data.gt[:, j], ploidy=data.ploidy[:, j], build=data.build)
            plain = sample_qc(data.samples[j], chrom=list(data.chrom), ref=list(ref), alt=list(alt), **kw)
            arrow = sample_qc(data.samples[j], chrom=_chunked(data.chrom, cuts), ref=_chunked(ref, cuts),
                              alt=_chunked(alt, cuts), **kw)
            assert arrow == plain
            assert plain.counts_by_type["symbolic"] >= 1 and plain.counts_by_type["MNV"] >= 1
        # chunks that do not line up between ref and alt
        odd = sample_qc("s", chrom=_chunked(data.chrom, (5,)), ref=_chunked(ref, (9,)), alt=_chunked(alt, (3,)),
                        **dict(kw, gt=data.gt[:, 0], ploidy=data.ploidy[:, 0]))
        assert odd == sample_qc("s", chrom=list(data.chrom), ref=list(ref), alt=list(alt),
                                **dict(kw, gt=data.gt[:, 0], ploidy=data.ploidy[:, 0]))
    # a non-ASCII allele: its bytes are not its characters, so it takes the per-pair path
    unicode_qc = sample_qc("s", chrom=pa.array(["1", "1"]), pos=[1, 2], ref=pa.array(["\u00e9", "A"]),
                           alt=pa.array(["A", "G"]), gt=[1, 1], build="GRCh38")
    assert unicode_qc.counts_by_type["SNV"] == 2 and unicode_qc.n_transitions == 1


def test_sex_from_chrx_outside_par(pfeiffer: tuple[VcfGenotypes, list]) -> None:
    data, raw = pfeiffer
    nonpar = [g for c, p, _r, _a, (g,) in raw if c == "X" and g != "0/0"
              and not any(s <= p <= e for s, e in GRCH38_PAR)]
    het_fraction = sum(g == "0/1" for g in nonpar) / len(nonpar)
    qc = _qc_of(data, recorded_sex="male")
    assert qc.x_nonpar_calls == len(nonpar)
    assert qc.x_het_fraction == pytest.approx(het_fraction)
    assert qc.inferred_sex == ("female" if het_fraction >= 0.35 else "male")
    assert qc.inferred_sex == "female"
    assert any(f.metric == "sex" for f in qc.flags)  # recorded male: a possible swap
    # The same sample with its non-PAR X calls turned into haploid hemizygous calls reads as male.
    x = (data.chrom == "X") & ~np.any([(data.pos >= s) & (data.pos <= e) for s, e in GRCH38_PAR], axis=0)
    gt = data.gt[:, 0].copy()
    ploidy = data.ploidy[:, 0].copy()
    gt[x & (gt == 1)] = 0
    gt[x & (gt == 2)] = 2
    ploidy[x] = 1
    male = sample_qc("hemi", chrom=data.chrom, pos=data.pos, ref=data.ref, alt=data.alt, gt=gt, ploidy=ploidy,
                     build="GRCh38", recorded_sex=1)
    assert male.inferred_sex == "male" and not any(f.metric == "sex" for f in male.flags)


def test_too_few_chrx_calls_leave_sex_unknown(benchmarks_dir: Path) -> None:
    data = read_vcf_genotypes(benchmarks_dir / "annotated" / "scout_demo_643594_trio.clinical.GRCh37.vcf.gz")
    report = vcf_qc(data, recorded_sex={"ADM1059A1": 1, "ADM1059A2": 1, "ADM1059A3": 2})
    assert [s["inferred_sex"] for s in report["samples"]] == ["unknown"] * 3
    assert all(s["x_nonpar_calls"] < 20 for s in report["samples"])


def test_trio_mendelian_errors_low_and_counted_right(trio: tuple[VcfGenotypes, list]) -> None:
    data, raw = trio
    code = {"0/0": 0, "0/1": 1, "1/0": 1, "1/1": 2}
    informative = errors = 0
    for chrom, _p, _r, _a, gts in raw:
        if not chrom.isdigit() or any(g not in code for g in gts):
            continue
        c, f, m = (code[g] for g in gts)  # columns are HG002 (child), HG003 (father), HG004 (mother)
        if c == f == m == 0:
            continue
        informative += 1
        child_alleles = {(a, b) for a in ((0, 0), (0, 1), (1, 1))[f] for b in ((0, 0), (0, 1), (1, 1))[m]}
        errors += not any(a + b == c for a, b in child_alleles)
    report = vcf_qc(data, trios=[("HG002", "HG003", "HG004")])["trios"][0]
    assert (report["informative_sites"], report["mendelian_errors"]) == (informative, errors)
    assert report["mendelian_error_rate"] < 0.02
    assert [p["consistent"] for p in report["parents"]] == [True, True]
    assert report["flags"] == []


def test_unrelated_parent_is_flagged(trio: tuple[VcfGenotypes, list]) -> None:
    data, _ = trio
    # HG004 is HG003's spouse, not parent; HG002 is HG003's son, so that pair stays consistent.
    report = vcf_qc(data, trios=[("HG003", "HG004", "HG002")], min_gq=20)["trios"][0]
    checks = {p["parent"]: p["consistent"] for p in report["parents"]}
    assert checks == {"HG004": False, "HG002": True}
    assert {f["metric"] for f in report["flags"]} == {"mendelian_error_rate", "father_opposite_homozygotes"}


def test_variant_types_and_bad_input() -> None:
    assert [variant_type(r, a) for r, a in [("A", "G"), ("A", "AT"), ("AT", "A"), ("AC", "GT"), ("AC", "T"),
                                            ("A", "<DEL>")]] == ["SNV", "insertion", "deletion", "MNV", "complex",
                                                                 "symbolic"]
    with pytest.raises(QcInputError, match="ref has 1 rows"):
        sample_qc("s", chrom=["1", "1"], pos=[1, 2], ref=["A"], alt=["G", "T"], gt=[1, 1], build="GRCh38")
    with pytest.raises(QcInputError, match="recorded sex"):
        sample_qc("s", chrom=["1"], pos=[1], ref=["A"], alt=["G"], gt=[1], build="GRCh38", recorded_sex="x")
    with pytest.raises(QcInputError, match="build"):
        sample_qc("s", chrom=["1"], pos=[1], ref=["A"], alt=["G"], gt=[1], build="hg19")
    with pytest.raises(QcInputError, match="mum"):
        trio_qc(child="c", father="d", mother="mum", chrom=["1"], gt={"c": [1], "d": [0]})


def test_qc_from_store_calls_equals_qc_from_the_vcf(trio: tuple[VcfGenotypes, list], tmp_path: Path,
                                                     benchmarks_dir: Path) -> None:
    from gmc.genomics.store.duckdb_engine import DuckDBEngine
    from gmc.genomics.store.queries import VariantStore
    from gmc.genomics.store.writer import ingest_vcf

    data, _ = trio
    ingest_vcf(tmp_path, benchmarks_dir / "annotated" / "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz")
    calls = VariantStore(tmp_path, DuckDBEngine()).sample_variants("HG004")
    stored = sample_qc_from_calls(calls, sample="HG004", build="GRCh37", recorded_sex=2)
    direct = _qc_of(data, 2, recorded_sex=2)
    assert (stored.titv, stored.het_hom_ratio, stored.counts_by_type) == (
        direct.titv, direct.het_hom_ratio, direct.counts_by_type)
    assert stored.n_variants == direct.n_variants
