"""Fixtures for the variant store tests: real VCFs ingested once, a raw-text reading to check against."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from gmc.genomics.store.duckdb_engine import DuckDBEngine
from gmc.genomics.store.queries import VariantStore
from gmc.genomics.store.writer import _read_all, ingest_tables, ingest_vcf
from gmc.genomics.vcf import open_vcf

TRIO = ("annotated", "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz")
PFEIFFER = ("rare", "background", "Pfeiffer_exome_GRCh38.liftover.vcf.gz")


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Right-then-left trimming of shared bases, written out independently of the reader."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def raw_calls(path: Path) -> list[dict]:
    """One dict per (allele, sample) with a non-reference call, from a plain text loop over the VCF."""
    out = []
    samples: list[str] = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith("##"):
                continue
            f = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                samples = f[9:]
                continue
            chrom = f[0].removeprefix("chr")
            keys = f[8].split(":")
            for a, alt in enumerate(f[4].split(","), start=1):
                pos, ref, alt_t = _trim(int(f[1]), f[3], alt)
                for name, value in zip(samples, f[9:], strict=True):
                    fmt = dict(zip(keys, value.split(":"), strict=False))
                    alleles = fmt["GT"].replace("|", "/").split("/")
                    if "." in alleles:
                        continue
                    n_alt = sum(int(x) == a for x in alleles)
                    if n_alt == 0:
                        continue
                    gt = 2 if n_alt == len(alleles) else 1
                    out.append({"sample": name, "chrom": chrom, "pos": pos, "ref": ref, "alt": alt_t, "gt": gt,
                                "filter": f[6], "gq": int(fmt["GQ"]) if fmt.get("GQ", ".") != "." else -1})
    return out


@pytest.fixture(scope="session")
def trio_vcf(benchmarks_dir: Path) -> Path:
    """The GIAB Ashkenazi trio exome (chr1-2, GRCh37)."""
    return benchmarks_dir.joinpath(*TRIO)


@pytest.fixture(scope="session")
def pfeiffer_vcf(benchmarks_dir: Path) -> Path:
    """The Exomiser Pfeiffer exome lifted to GRCh38."""
    return benchmarks_dir.joinpath(*PFEIFFER)


@pytest.fixture(scope="session")
def trio_raw(trio_vcf: Path) -> list[dict]:
    """The trio's non-reference calls read with a plain loop."""
    return raw_calls(trio_vcf)


@pytest.fixture(scope="session")
def trio_store_root(tmp_path_factory: pytest.TempPathFactory, trio_vcf: Path) -> Path:
    """A store holding the real trio (ingested once per session)."""
    root = tmp_path_factory.mktemp("trio_store")
    ingest_vcf(root, trio_vcf, info_keys=("BCSQ",))
    return root


@pytest.fixture(scope="session")
def trio_store(trio_store_root: Path) -> VariantStore:
    """The trio store queried with DuckDB."""
    return VariantStore(trio_store_root, DuckDBEngine())


TRIO_MEMBERS = ("HG002", "HG003", "HG004")


@pytest.fixture(scope="session")
def trio_tables(trio_vcf: Path) -> tuple[pa.Table, pa.Table]:
    """The real trio's contract tables (sites by row; long calls with row and sample name)."""
    with open_vcf(trio_vcf, info_keys=("BCSQ",)) as reader:
        return _read_all(reader.batches(100_000), trio_vcf)


def _cohort_calls(calls: pa.Table, names: list[str]) -> pa.Table:
    """Calls of a made-up cohort in which sample number i carries trio member i % 3's calls."""
    member = {m: calls.filter(pc.equal(calls.column("sample"), m)) for m in TRIO_MEMBERS}
    column = calls.schema.get_field_index("sample")
    parts = [member[TRIO_MEMBERS[i % 3]].set_column(column, "sample", pa.array([n] * len(member[TRIO_MEMBERS[i % 3]])))
             for i, n in enumerate(names)]
    return pa.concat_tables(parts)


@pytest.fixture(scope="session")
def cohort_calls() -> Callable[[pa.Table, list[str]], pa.Table]:
    """Builds the calls of a made-up cohort of trio copies: sample number i carries member i % 3's calls."""
    return _cohort_calls


@pytest.fixture(scope="session")
def cohort_root(tmp_path_factory: pytest.TempPathFactory, trio_tables: tuple[pa.Table, pa.Table]) -> Path:
    """A store with one 210-sample dataset (three sample blocks) made of the trio's real calls."""
    sites, calls = trio_tables
    names = [f"C{i:03d}" for i in range(210)]
    root = tmp_path_factory.mktemp("cohort_blocks")
    ingest_tables(root, sites=sites, genotypes=_cohort_calls(calls, names), samples=names, build="GRCh37")
    return root


SCOUT_TRIO = ("annotated", "scout_demo_643594_trio.clinical.GRCh37.vcf.gz")
PFEIFFER_37 = ("rare", "background", "Pfeiffer_exome_GRCh37.nospike.vcf.gz")
COHORT_189 = ("annotated", "cyvcf2_test_189samples_CSQ_ANN.GRCh37.vcf.gz")


@pytest.fixture(scope="session")
def segmented_root(tmp_path_factory: pytest.TempPathFactory, trio_vcf: Path, benchmarks_dir: Path) -> Path:
    """A GRCh37 store of six one-dataset segments, compacted after each ingest (copy it before changing it).

    The three GIAB trio members one by one (BCSQ column), the Scout demo trio (X, Y, MT, no BCSQ), the Pfeiffer
    exome and a 189-sample chr1 cohort (its segment has a per-sample index): sizes 45 kB to 0.9 MB.
    """
    from gmc.genomics.store.compaction import compact

    root = tmp_path_factory.mktemp("segmented")
    for member in TRIO_MEMBERS:
        ingest_vcf(root, trio_vcf, samples=[member], info_keys=("BCSQ",))
        compact(root, min_datasets=1, retention=0)
    for parts in (SCOUT_TRIO, PFEIFFER_37, COHORT_189):
        ingest_vcf(root, benchmarks_dir.joinpath(*parts))
        compact(root, min_datasets=1, retention=0)
    return root


@pytest.fixture(scope="session")
def two_dataset_root(tmp_path_factory: pytest.TempPathFactory, trio_vcf: Path, benchmarks_dir: Path) -> Path:
    """The GIAB trio (BCSQ column) and the Scout demo trio (no BCSQ; X, Y, MT) in one GRCh37 store."""
    root = tmp_path_factory.mktemp("two_datasets")
    ingest_vcf(root, trio_vcf, info_keys=("BCSQ",))
    ingest_vcf(root, benchmarks_dir.joinpath(*SCOUT_TRIO))
    return root


def _engine_queries(store: VariantStore) -> list[pa.Table]:
    """The store questions both engines must answer alike: a sample's panel, gene carriers, one allele's
    carriers, a region's sites and the cohort frequencies of every chromosome (files with and without BCSQ)."""
    from gmc.genomics.store.queries import VariantFilter

    rare_pass = VariantFilter(pass_only=True, max_cohort_af=0.2, min_gq=20)
    return [
        store.sample_variants("ADM1059A2", genes={"g1": ("X", 1, 155_000_000), "g2": ("21", 1, 48_000_000)},
                              filters=VariantFilter(min_dp=10)),
        store.gene_carriers(("1", 1, 249_000_000), qualifying=rare_pass),
        store.variant_carriers("1", 65797, "T", "C"),
        store.cohort_af(),
        store.sites(region=("2", 1, 50_000_000)),
        # the research selection's question: which samples carry a qualifying call in these spans
        pa.table({"sample": store.carrier_samples([("1", 1, 249_000_000), ("X", 1, 155_000_000)],
                                                  qualifying=VariantFilter(pass_only=True, min_gq=20))}),
    ]


@pytest.fixture(scope="session")
def engine_queries() -> Callable[[VariantStore], list[pa.Table]]:
    """The questions every engine must answer alike (test modules cannot import conftest under importlib)."""
    return _engine_queries


# ------------------------------------------------------------------ a real standalone Spark cluster on loopback

@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real standalone cluster (master + two workers) on 127.0.0.1 for the session; always stopped."""
    from gmc.genomics.store.standalone import StandaloneCluster

    cluster = StandaloneCluster(tmp_path_factory.mktemp("spark_cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()
