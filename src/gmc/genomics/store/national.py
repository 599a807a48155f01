"""The national variant store: built on Spark from the centres' own stores, with the centre on every row.

Each centre keeps its store (the Parquet layout of gmc.genomics.store) and exports it as it is (a folder or a URI
Spark reads). A build reads every centre's manifest and files, leaves out withdrawn centres and participants,
renumbers the samples, merges the sites (an allele seen by several centres is one site listing them all) and
writes one segment of the national store. The segment is listed in the manifest only after the written files were
checked to hold no withdrawn centre or participant: a reader sees the previous build or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gmc.genomics.store.engine import View
from gmc.genomics.store.layout import (
    CHROM_SHIFT,
    CHROMOSOMES,
    GENOTYPES_SCHEMA,
    MANIFEST_NAME,
    SAMPLES_SCHEMA,
    SITES_SCHEMA,
    DatasetEntry,
    Manifest,
    SegmentEntry,
    StoreError,
    StoreLayout,
    parquet_schema,
    sites_schema,
)
from gmc.genomics.store.writer import _collect_retired, _recover, _retire, _writer_lock, retention_seconds

#: The separator between a centre and its own sample name in the national store (sample names are per centre).
SAMPLE_SEPARATOR = ":"


@dataclass(frozen=True)
class CentreExport:
    """One centre's store as exported for the national build."""

    centre: str
    #: A folder or a URI Spark and Arrow both read (file://, s3a://, gs://, hdfs://).
    uri: str


@dataclass
class NationalBuild:
    """What a national build did: its segment, counts per centre, and what it left out and proved gone."""

    segment_id: str
    build: str
    samples: int
    genotypes: int
    sites: int
    per_centre: dict[str, dict[str, int]] = field(default_factory=dict)
    withdrawn_centres: list[str] = field(default_factory=list)
    withdrawn_samples: list[str] = field(default_factory=list)
    #: Rows of withdrawn centres or participants found in the written files before the swap (always 0: else the
    #: build stops without listing them).
    withdrawn_rows_found: int = 0
    #: Withdrawn participants no kept centre's export holds (already gone at their centre, or misspelt: check).
    withdrawn_not_found: int = 0
    seconds: float = 0.0


def national_sample(centre: str, sample: str) -> str:
    """A centre's sample as the national store names it."""
    return f"{centre}{SAMPLE_SEPARATOR}{sample}"


def parse_centres(values: Iterable[str]) -> list[CentreExport]:
    """NAME=URI texts (the CLI's --centre) as exports; a malformed one or a repeated name is refused by name."""
    out: list[CentreExport] = []
    for text in values:
        name, eq, uri = text.partition("=")
        name = name.strip()
        if not eq or not name or not uri.strip():
            raise StoreError(f"--centre {text!r} is not NAME=URI")
        if not name.replace("_", "").replace("-", "").isalnum():
            raise StoreError(f"--centre {text!r}: the centre name may hold letters, digits, - and _ only")
        out.append(CentreExport(name, uri.strip()))
    names = [c.centre for c in out]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise StoreError(f"centre {repeated[0]} is named twice")
    return out


def read_withdrawn(path: Path | str) -> list[str]:
    """Withdrawn participants' samples, one CENTRE:SAMPLE a line (# comments); a line without a centre is refused
    naming the file and line."""
    out = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        centre, sep, sample = text.partition(SAMPLE_SEPARATOR)
        if not sep or not centre or not sample:
            raise StoreError(f"{path}, line {number}: {text!r} is not CENTRE{SAMPLE_SEPARATOR}SAMPLE")
        out.append(text)
    return out


def _check_schema(location: str, expected: pa.Schema, centre: str) -> None:
    """Refuses a centre's file whose columns differ from this store version's, naming the file."""
    schema = parquet_schema(location)
    for f in expected:
        if f.name not in schema.names:
            raise StoreError(f"{location}: centre {centre}'s export has no column {f.name!r}: it was written by "
                             "another variant store schema version")
        found = schema.field(f.name).type
        if found != f.type and not (pa.types.is_large_string(found) and f.type == pa.string()):
            raise StoreError(f"{location}: centre {centre}'s export has {f.name} as {found}, not {f.type}: it was "
                             "written by another variant store schema version")


@dataclass
class _Centre:
    export: CentreExport
    layout: StoreLayout
    manifest: Manifest
    geno: list[str]
    sites: list[str]


def _read_centre(export: CentreExport) -> _Centre:
    """A centre's manifest and files, their schema version checked file by file."""
    layout = StoreLayout(export.uri)
    manifest = layout.read_manifest()  # another manifest version is refused naming manifest.json
    if not manifest.datasets:
        raise StoreError(f"{layout.location(MANIFEST_NAME)}: centre {export.centre}'s export holds no datasets")
    geno = layout.files(manifest, "genotypes")
    sites = layout.files(manifest, "sites")
    for location in geno:
        _check_schema(location, GENOTYPES_SCHEMA, export.centre)
    for location in sites:
        _check_schema(location, SITES_SCHEMA, export.centre)
    for location in layout.files(manifest, "samples"):
        _check_schema(location, SAMPLES_SCHEMA, export.centre)
    return _Centre(export, layout, manifest, geno, sites)


def build_national(
    spark: Any, centres: Sequence[CentreExport], out: Path | str, *, withdrawn_centres: Iterable[str] = (),
    withdrawn_samples: Iterable[str] = (), retention: float | None = None, partitions: int | None = None,
) -> NationalBuild:
    """Builds the national store at out (a folder every Spark executor and this process see) from the centres'
    exports, leaving out withdrawn centres and participants (CENTRE:SAMPLE), and swaps it in atomically."""
    started = time.monotonic()
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    withdrawn_centres = sorted(set(withdrawn_centres))
    withdrawn = sorted(set(withdrawn_samples))
    unknown = [c for c in withdrawn_centres if c not in {e.centre for e in centres}]
    if unknown:
        raise StoreError(f"withdrawn centre {unknown[0]} is not among the centres named")
    kept = [_read_centre(e) for e in centres if e.centre not in withdrawn_centres]
    if not kept:
        raise StoreError("every centre is withdrawn: nothing to build")
    builds = {c.export.centre: {d.build for d in c.manifest.datasets if d.build} for c in kept}
    all_builds = set().union(*builds.values())
    if len(all_builds) > 1:
        raise StoreError("centres' exports mix genome builds: " + ", ".join(
            f"{c} {'/'.join(sorted(b))}" for c, b in sorted(builds.items())))
    build = next(iter(all_builds), "")
    withdrawn_set = set(withdrawn)

    # New sample numbering: centres in the order given, each centre's datasets and samples in their order.
    datasets: list[DatasetEntry] = []
    index_rows: list[tuple[str, int, int]] = []  # (centre, centre's sample_idx, national sample_idx)
    next_idx = 0
    for c in kept:
        for d in c.manifest.datasets:
            names = []
            first = next_idx
            for i, s in enumerate(d.samples):
                name = national_sample(c.export.centre, s)
                if name in withdrawn_set:
                    continue
                index_rows.append((c.export.centre, d.first_sample_idx + i, next_idx))
                names.append(name)
                next_idx += 1
            if names:
                datasets.append(DatasetEntry(
                    dataset_id=f"{c.export.centre}.{d.dataset_id}", source=f"{c.export.uri}#{d.dataset_id}",
                    samples=names, first_sample_idx=first, chroms=list(d.chroms), n_new_sites=0, n_genotypes=0,
                    build=d.build, skipped_contigs=dict(d.skipped_contigs)))
    if not datasets:
        raise StoreError("every participant is withdrawn: nothing to build")
    held = {national_sample(c.export.centre, s) for c in kept for d in c.manifest.datasets for s in d.samples}
    not_found = len(withdrawn_set - held)

    mapping = spark.createDataFrame(index_rows, "m_centre STRING, old_idx INT, new_idx INT")
    geno_view = View((), GENOTYPES_SCHEMA)
    genotypes = None
    sites = None
    for rank, c in enumerate(kept):
        name = c.export.centre
        g = (spark.read.schema(geno_view.ddl()).parquet(*c.geno)
             .withColumn("centre", F.lit(name)) if c.geno else None)
        if g is not None:
            genotypes = g if genotypes is None else genotypes.unionByName(g)
        if c.sites:
            s = (spark.read.schema(View((), sites_schema(c.sites)).ddl()).parquet(*c.sites)
                 .withColumn("centre", F.lit(name)).withColumn("_rank", F.lit(rank)))
            sites = s if sites is None else sites.unionByName(s, allowMissingColumns=True)
    if genotypes is None or sites is None:
        raise StoreError("the centres' exports hold no calls")
    # the inner join leaves out withdrawn participants' calls and renumbers the others
    genotypes = (genotypes.join(F.broadcast(mapping), (F.col("centre") == F.col("m_centre"))
                                & (F.col("sample_idx") == F.col("old_idx")))
                 .select("key", F.col("new_idx").alias("sample_idx"), *[f.name for f in GENOTYPES_SCHEMA][2:],
                         "centre"))
    # A site stays only while a kept call carries it (a withdrawn participant's private allele goes with them);
    # an allele several centres saw is one site, its annotation from the first centre named, all centres listed.
    carried = genotypes.select("key").distinct()
    sites = sites.join(carried, "key", "left_semi")
    centres_of = sites.groupBy("key").agg(F.concat_ws(",", F.sort_array(F.collect_set("centre"))).alias("centres"))
    first = Window.partitionBy("key").orderBy("_rank")
    sites = (sites.withColumn("_n", F.row_number().over(first)).where("_n = 1").drop("_n", "_rank", "centre")
             .join(centres_of, "key"))

    layout = StoreLayout(out)
    root = layout.root  # the national store is written to a folder (local or a shared file system mount)
    retention = retention_seconds(retention)
    with _writer_lock(layout):
        manifest = layout.read_manifest()
        _recover(layout, manifest)
        stamp = time.time()
        _collect_retired(layout, manifest, retention=retention, now=stamp)
        digest = hashlib.sha256(repr((sorted((c.export.centre, c.export.uri, [d.dataset_id for d in c.manifest.datasets])
                                             for c in kept), withdrawn, stamp)).encode()).hexdigest()[:16]
        segment_id = f"national-{digest}"
        seg = root / "segments" / segment_id
        try:
            return _write_and_swap(spark, layout, manifest, seg, segment_id, genotypes, sites, datasets, next_idx,
                                   kept, withdrawn_centres, withdrawn, withdrawn_set, not_found, build, partitions,
                                   retention, stamp, started)
        except BaseException:
            # nothing half-written stays: the unlisted segment (which may hold withdrawn rows) goes at once
            shutil.rmtree(seg, ignore_errors=True)
            raise


def _write_and_swap(spark: Any, layout: StoreLayout, manifest: Manifest, seg: Path, segment_id: str, genotypes: Any,
                    sites: Any, datasets: list[DatasetEntry], next_idx: int,
                    kept: list[_Centre], withdrawn_centres: list[str], withdrawn: list[str], withdrawn_set: set[str],
                    not_found: int, build: str, partitions: int | None, retention: float, stamp: float,
                    started: float) -> NationalBuild:
    """Writes the segment, proves the withdrawals gone from the written files, then lists it (writer lock held)."""
    from pyspark.sql import functions as F

    geno_view = View((), GENOTYPES_SCHEMA)
    # range partitions by key: each task writes key-sorted files, so row-group statistics prune on regions
    n_parts = partitions or max(2, sum(len(c.geno) for c in kept))
    for table, frame in (("genotypes", genotypes), ("sites", sites)):
        (frame.withColumn("chrom_code", F.shiftright("key", CHROM_SHIFT).cast("int"))
         .repartitionByRange(n_parts, "key").sortWithinPartitions("key")
         .write.mode("error").partitionBy("chrom_code").parquet(str(seg / f"_{table}")))
        _name_chromosome_folders(seg / f"_{table}", seg / table)
    samples = pa.table({
        "sample_idx": pa.array([i for d in datasets for i in range(d.first_sample_idx,
                                                                    d.first_sample_idx + len(d.samples))], pa.int32()),
        "sample": pa.array([s for d in datasets for s in d.samples], pa.string()),
        "dataset_id": pa.array([d.dataset_id for d in datasets for _ in d.samples], pa.string()),
        "centre": pa.array([d.dataset_id.split(".", 1)[0] for d in datasets for _ in d.samples], pa.string()),
    })
    pq.write_table(samples, seg / "samples.parquet")
    # Proof before the swap, read back from the written files: no row of a withdrawn centre, no call of a
    # sample outside the kept numbering, no withdrawn participant's name.
    written = {t: [f for c in CHROMOSOMES for f in layout.table_files(str(seg / t / f"chr{c}.parquet"))]
               for t in ("genotypes", "sites")}
    written_geno = spark.read.schema(geno_view.ddl() + ", centre STRING").parquet(*written["genotypes"])
    per_sample = {r["sample_idx"]: (r["centre"], r["n"]) for r in
                  written_geno.groupBy("sample_idx", "centre").agg(F.count("*").alias("n")).collect()}
    found = sum(n for i, (centre, n) in per_sample.items()
                if centre in withdrawn_centres or not 0 <= i < next_idx)
    found += sum(name in withdrawn_set for name in samples.column("sample").to_pylist())
    if found:
        raise StoreError(f"national build {segment_id}: {found} rows of withdrawn centres or participants "
                         "remain in the written files; not swapped in")
    n_sites = spark.read.schema("key BIGINT").parquet(*written["sites"]).count()
    chroms = [c for c in CHROMOSOMES if (seg / "genotypes" / f"chr{c}.parquet").exists()]
    for d in datasets:
        d.segment = segment_id
    per_centre: dict[str, dict[str, int]] = {}
    for d in datasets:
        d.n_genotypes = int(sum(per_sample.get(i, ("", 0))[1]
                                for i in range(d.first_sample_idx, d.first_sample_idx + len(d.samples))))
        centre = per_centre.setdefault(d.dataset_id.split(".", 1)[0], {"samples": 0, "genotypes": 0})
        centre["samples"] += len(d.samples)
        centre["genotypes"] += d.n_genotypes
    previous = [layout.segment_dir(g.segment_id) for g in manifest.segments]
    previous += [layout.dataset_dir(d.dataset_id) for d in manifest.datasets if not d.segment]
    new = Manifest(datasets=datasets, segments=[SegmentEntry(segment_id, [d.dataset_id for d in datasets], chroms)],
                   retired=list(manifest.retired))
    _retire(new, [p for p in previous if p.exists()], layout, stamp)
    layout.write_manifest(new)  # the swap: atomic rename of manifest.json
    _collect_retired(layout, new, retention=retention, now=stamp)
    return NationalBuild(segment_id=segment_id, build=build, samples=next_idx,
                         genotypes=sum(d.n_genotypes for d in datasets), sites=int(n_sites), per_centre=per_centre,
                         withdrawn_centres=withdrawn_centres, withdrawn_samples=withdrawn, withdrawn_rows_found=found,
                         withdrawn_not_found=not_found, seconds=round(time.monotonic() - started, 2))


def _name_chromosome_folders(written: Path, table_dir: Path) -> None:
    """Renames Spark's chrom_code=N partition folders to the store's chr<name>.parquet (a folder of part files)."""
    table_dir.mkdir(parents=True, exist_ok=True)
    for part in sorted(written.glob("chrom_code=*")):
        code = int(part.name.split("=", 1)[1])
        part.rename(table_dir / f"chr{CHROMOSOMES[code - 1]}.parquet")
    for leftover in written.iterdir():
        leftover.unlink()
    written.rmdir()
