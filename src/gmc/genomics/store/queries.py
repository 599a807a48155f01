"""Variant store queries: one SQL text per question, answered by DuckDB or Spark alike."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from gmc.genomics.store.engine import QueryEngine, View
from gmc.genomics.store.layout import (
    CHROMOSOMES,
    GENOTYPES_SCHEMA,
    MAX_POSITION,
    SAMPLES_SCHEMA,
    Manifest,
    StoreError,
    StoreLayout,
    chrom_code,
    key_range,
    sites_schema,
    variant_key,
)

#: A region or gene span: chromosome and 1-based inclusive start and end.
Span = tuple[str, int, int]

#: Columns of every per-call answer, in order.
CALLS_SCHEMA = pa.schema(
    [
        ("sample", pa.string()),
        ("chrom", pa.string()),
        ("pos", pa.int32()),
        ("ref", pa.string()),
        ("alt", pa.string()),
        ("key", pa.int64()),
        ("gt", pa.int8()),
        ("ploidy", pa.int8()),
        ("gq", pa.int16()),
        ("dp", pa.int32()),
        ("ad_ref", pa.int32()),
        ("ad_alt", pa.int32()),
        ("qual", pa.float32()),
        ("filter", pa.string()),
    ]
)

#: Columns of a cohort allele-frequency answer.
COHORT_AF_SCHEMA = pa.schema(
    [
        ("chrom", pa.string()),
        ("pos", pa.int32()),
        ("ref", pa.string()),
        ("alt", pa.string()),
        ("key", pa.int64()),
        ("ac", pa.int64()),
        ("an", pa.int64()),
        ("af", pa.float64()),
        ("n_het", pa.int64()),
        ("n_hom", pa.int64()),
    ]
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class VariantFilter:
    """Which calls qualify: call quality, genotype, cohort rarity and annotation values."""

    #: Only calls whose record FILTER is PASS.
    pass_only: bool = False
    min_gq: int | None = None
    min_dp: int | None = None
    min_qual: float | None = None
    #: Genotype codes allowed: 1 het, 2 hom-alt or hemizygous.
    genotypes: tuple[int, ...] | None = None
    #: Keep sites whose allele frequency in this cohort is at most this.
    max_cohort_af: float | None = None
    #: Annotation column -> allowed values (e.g. {"consequence": ("missense_variant", ...)}).
    site_in: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Annotation column -> highest allowed value; a site without a value passes (e.g. {"gnomad_af": 0.01}).
    site_at_most: Mapping[str, float] = field(default_factory=dict)
    #: Sites pass when any one holds: column -> allowed values, or None for "holds a value" (e.g.
    #: {"impact": ("HIGH", "MODERATE"), "clinvar": None}: high or moderate impact, or a ClinVar record).
    site_any: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)


def _sql_str(value: str, what: str) -> str:
    """A SQL string literal; quotes and backslashes are refused since the two engines escape them differently."""
    if "'" in value or "\\" in value:
        raise StoreError(f"{what} value {value!r} contains a quote or backslash")
    return f"'{value}'"


def _ranges_sql(column: str, spans: Sequence[Span]) -> str:
    """An OR of key ranges: each span is one contiguous key interval."""
    parts = []
    for chrom, start, end in spans:
        lo, hi = key_range(chrom, int(start), int(end))
        parts.append(f"({column} BETWEEN {lo} AND {hi})")
    return "(" + " OR ".join(parts) + ")"


def _allele_count_sql(alias: str) -> str:
    """Alleles carried by one call: a haploid (hemizygous) alt carries one, not two."""
    return f"CASE WHEN {alias}.ploidy = 1 THEN 1 ELSE {alias}.gt END"


class VariantStore:
    """Queries over one store directory; the engine decides who runs the SQL."""

    def __init__(self, root: Path | str, engine: QueryEngine | None = None) -> None:
        self.layout = StoreLayout(root)
        self.engine = engine if engine is not None else engine_from_settings()
        self._pinned: Manifest | None = None

    # -- catalogue ---------------------------------------------------------------------------

    def manifest(self) -> Manifest:
        """The committed manifest (re-read each call so new ingests are seen), or the pinned one."""
        return self._pinned if self._pinned is not None else self.layout.read_manifest()

    def pinned(self) -> VariantStore:
        """This store fixed at the current manifest: later commits are unseen, so a series of queries reads one state.

        The files it lists stay readable after a compaction or merge replaces them for GMC_STORE_RETENTION_SECONDS.
        """
        store = VariantStore(self.layout.uri, self.engine)
        store._pinned = self.layout.read_manifest()
        return store

    def samples(self) -> pa.Table:
        """Every sample with its store-wide index and dataset, sorted by index."""
        rows = [
            (d.first_sample_idx + i, s, d.dataset_id)
            for d in self.manifest().datasets
            for i, s in enumerate(d.samples)
        ]
        return pa.table(
            {
                "sample_idx": pa.array([r[0] for r in rows], pa.int32()),
                "sample": pa.array([r[1] for r in rows], pa.string()),
                "dataset_id": pa.array([r[2] for r in rows], pa.string()),
            },
            schema=SAMPLES_SCHEMA,
        )

    def _views(self, manifest: Manifest, chroms: Sequence[str] | None) -> dict[str, View]:
        """Views restricted to the chromosomes a query touches, so other files are never opened."""
        sites_files = self.layout.files(manifest, "sites", chroms)
        return {
            "sites": View(sites_files, self._sites_schema(sites_files)),
            "genotypes": View(self.layout.files(manifest, "genotypes", chroms), GENOTYPES_SCHEMA),
            "samples": View(self.layout.files(manifest, "samples"), SAMPLES_SCHEMA),
        }

    def _sites_schema(self, files: Sequence[str]) -> pa.Schema:
        """The union of the sites files' columns (annotation columns vary by dataset)."""
        return sites_schema(files)

    # -- filters -----------------------------------------------------------------------------

    def _filter_sql(self, filters: VariantFilter, sites_schema: pa.Schema) -> list[str]:
        """WHERE conditions for a VariantFilter on aliases g (genotypes) and s (sites)."""
        where: list[str] = []
        if filters.pass_only:
            # "." means no filters were applied, which VCF treats as passing.
            where.append("g.filter IN ('PASS', '.')")
        if filters.min_gq is not None:
            where.append(f"g.gq >= {int(filters.min_gq)}")
        if filters.min_dp is not None:
            where.append(f"g.dp >= {int(filters.min_dp)}")
        if filters.min_qual is not None:
            where.append(f"g.qual >= {float(filters.min_qual)!r}")
        if filters.genotypes is not None:
            codes = sorted({int(c) for c in filters.genotypes})
            if not codes or any(c not in (1, 2) for c in codes):
                raise StoreError(f"filter genotypes {filters.genotypes!r} must be drawn from 1 (het) and 2 (hom)")
            where.append(f"g.gt IN ({', '.join(map(str, codes))})")
        for column, values in sorted(filters.site_in.items()):
            if not _IDENTIFIER.match(column) or column not in sites_schema.names:
                raise StoreError(f"filter column {column!r} is not a column of the sites table")
            if not values:
                raise StoreError(f"filter column {column!r} has no allowed values")
            literals = ", ".join(_sql_str(str(v), column) for v in values)
            where.append(f"s.{column} IN ({literals})")
        for column, limit in sorted(filters.site_at_most.items()):
            if not _IDENTIFIER.match(column):
                raise StoreError(f"filter column {column!r} is not a column name")
            if column in sites_schema.names:  # a column no file holds is null everywhere: every site passes
                where.append(f"(s.{column} IS NULL OR s.{column} <= {float(limit)!r})")
        if filters.site_any:
            either = []
            for column, values in sorted(filters.site_any.items()):
                if not _IDENTIFIER.match(column):
                    raise StoreError(f"filter column {column!r} is not a column name")
                if column not in sites_schema.names:
                    continue  # null everywhere: this alternative never holds
                if values is None:
                    either.append(f"s.{column} IS NOT NULL")
                elif values:
                    either.append(f"s.{column} IN ({', '.join(_sql_str(str(v), column) for v in values)})")
            where.append("(" + " OR ".join(either) + ")" if either else "FALSE")
        return where

    def _an_sql(self, manifest: Manifest, chrom_column: str) -> str:
        """Allele number per chromosome: two per sample of every dataset with calls on it."""
        per_chrom = {c: 0 for c in CHROMOSOMES}
        for d in manifest.datasets:
            for c in d.chroms:
                per_chrom[c] += 2 * len(d.samples)
        cases = " ".join(f"WHEN '{c}' THEN {n}" for c, n in per_chrom.items() if n)
        return f"CASE {chrom_column} {cases} ELSE 0 END" if cases else "0"

    # -- calls -------------------------------------------------------------------------------

    def _calls(
        self,
        *,
        spans: Sequence[Span],
        sample_idx: int | Sequence[int] | None,
        key: int | None,
        filters: VariantFilter,
        order: str,
        distinct_samples: bool = False,
    ) -> pa.Table:
        """The per-call query behind sample_variants, samples_calls, gene_carriers, variant_carriers and
        carrier_samples (distinct_samples: only the carriers' names)."""
        manifest = self.manifest()
        chroms = sorted({c for c, _, _ in spans}, key=chrom_code)
        views = self._views(manifest, chroms)
        # The range on s.key too: engines do not carry it across the join, and it prunes row groups.
        where = [_ranges_sql("g.key", spans), _ranges_sql("s.key", spans)]
        if isinstance(sample_idx, int):
            where.append(f"g.sample_idx = {int(sample_idx)}")
        elif sample_idx is not None:
            where.append(f"g.sample_idx IN ({', '.join(str(int(i)) for i in sample_idx) or 'NULL'})")
        if key is not None:
            where.append(f"g.key = {int(key)}")
        where += self._filter_sql(filters, views["sites"].schema)
        cte = ""
        join = ""
        if filters.max_cohort_af is not None:
            # Frequency over the whole cohort (not only qualifying calls) in the same key ranges.
            cte = (
                "WITH cohort AS (SELECT c.key AS key, SUM(" + _allele_count_sql("c") + ") AS ac "
                f"FROM genotypes c WHERE {_ranges_sql('c.key', spans)} GROUP BY c.key) "
            )
            join = "JOIN cohort ON cohort.key = g.key "
            an = self._an_sql(manifest, "s.chrom")
            where.append(f"CAST(cohort.ac AS DOUBLE) <= {float(filters.max_cohort_af)!r} * ({an})")
        columns = (
            "DISTINCT sm.sample AS sample" if distinct_samples else
            "sm.sample AS sample, s.chrom AS chrom, s.pos AS pos, s.ref AS ref, s.alt AS alt, "
            "g.key AS key, g.gt AS gt, g.ploidy AS ploidy, g.gq AS gq, g.dp AS dp, g.ad_ref AS ad_ref, "
            "g.ad_alt AS ad_alt, g.qual AS qual, g.filter AS filter"
        )
        sql = (
            f"{cte}SELECT {columns} "
            "FROM genotypes g JOIN sites s ON s.key = g.key JOIN samples sm ON sm.sample_idx = g.sample_idx "
            # after DISTINCT, Spark sorts only by output columns: the alias, not sm.sample
            f"{join}WHERE {' AND '.join(where)} ORDER BY {'sample' if distinct_samples else order}"
        )
        answer = self.engine.run(sql, views)
        if distinct_samples:
            return answer.select(["sample"]).cast(pa.schema([("sample", pa.string())]))
        return answer.select(CALLS_SCHEMA.names).cast(CALLS_SCHEMA)

    def _sample_idx(self, sample: str) -> int:
        """Store-wide index of a sample name, or StoreError."""
        index = self.manifest().sample_index()
        if sample not in index:
            raise StoreError(f"sample {sample!r} is not in the variant store")
        return index[sample]

    def sample_variants(
        self,
        sample: str,
        *,
        region: Span | None = None,
        genes: Mapping[str, Span] | None = None,
        filters: VariantFilter | None = None,
    ) -> pa.Table:
        """One sample's calls in a region and/or genes (a panel is a dict of gene spans), sorted by position."""
        spans = _spans(region, genes)
        return self._calls(
            spans=spans, sample_idx=self._sample_idx(sample), key=None, filters=filters or VariantFilter(),
            order="g.key",
        )

    def samples_calls(
        self,
        samples: Sequence[str],
        *,
        region: Span | None = None,
        genes: Mapping[str, Span] | None = None,
        filters: VariantFilter | None = None,
    ) -> pa.Table:
        """The calls of several samples in a region and/or genes (neither: the whole genome), by sample then
        position; samples the store does not hold are refused."""
        spans = _spans(region, genes)
        index = self.manifest().sample_index()
        missing = [s for s in samples if s not in index]
        if missing:
            raise StoreError(f"sample(s) {', '.join(sorted(missing)[:5])} are not in the variant store")
        return self._calls(
            spans=spans, sample_idx=sorted(index[s] for s in samples), key=None,
            filters=filters or VariantFilter(), order="sm.sample, g.key",
        )

    def carrier_samples(self, spans: Sequence[Span], *, qualifying: VariantFilter | None = None) -> list[str]:
        """The samples carrying a qualifying call anywhere in the spans (genes or alleles' positions), sorted."""
        checked = [_check_span(span, "span") for span in spans]
        if not checked:
            return []
        table = self._calls(spans=checked, sample_idx=None, key=None, filters=qualifying or VariantFilter(),
                            order="", distinct_samples=True)
        return table.column("sample").to_pylist()

    def site_columns(self) -> set[str]:
        """The columns of the stored sites tables (the core ones and any annotation)."""
        return set(self._sites_schema(self.layout.files(self.manifest(), "sites")).names)

    def gene_carriers(self, gene_span: Span, *, qualifying: VariantFilter | None = None) -> pa.Table:
        """Every call of a qualifying variant inside a gene span across the cohort, sorted by sample then position."""
        return self._calls(
            spans=[gene_span], sample_idx=None, key=None, filters=qualifying or VariantFilter(),
            order="sm.sample, g.key",
        )

    def variant_carriers(
        self, chrom: str, pos: int, ref: str, alt: str, *, filters: VariantFilter | None = None
    ) -> pa.Table:
        """Every sample carrying one allele, sorted by sample."""
        key = variant_key(chrom, pos, ref, alt)
        table = self._calls(
            spans=[(chrom, pos, pos)], sample_idx=None, key=key, filters=filters or VariantFilter(),
            order="sm.sample",
        )
        # The key holds a 30-bit allele hash: confirm the alleles themselves.
        return table.filter(
            pc.and_(pc.equal(table.column("ref"), ref), pc.equal(table.column("alt"), alt))
        )

    def cohort_af(
        self,
        *,
        region: Span | None = None,
        genes: Mapping[str, Span] | None = None,
        filters: VariantFilter | None = None,
    ) -> pa.Table:
        """Allele count, number and frequency of every site in a region or genes (calls may be filtered)."""
        sql, views = self.cohort_af_query(region=region, genes=genes, filters=filters)
        return self.engine.run(sql, views).select(COHORT_AF_SCHEMA.names).cast(COHORT_AF_SCHEMA)

    def cohort_af_query(
        self,
        *,
        region: Span | None = None,
        genes: Mapping[str, Span] | None = None,
        filters: VariantFilter | None = None,
    ) -> tuple[str, dict[str, View]]:
        """The SQL and views of cohort_af (COHORT_AF_SCHEMA columns), for a job that writes the answer itself."""
        spans = _spans(region, genes)
        filters = filters or VariantFilter()
        if filters.max_cohort_af is not None:
            raise StoreError("cohort_af does not take max_cohort_af; filter its answer instead")
        manifest = self.manifest()
        chroms = sorted({c for c, _, _ in spans}, key=chrom_code)
        views = self._views(manifest, chroms)
        where = [_ranges_sql("g.key", spans), _ranges_sql("s.key", spans)]
        where += self._filter_sql(filters, views["sites"].schema)
        an = self._an_sql(manifest, "s.chrom")
        sql = (
            "SELECT s.chrom AS chrom, s.pos AS pos, s.ref AS ref, s.alt AS alt, s.key AS key, "
            f"CAST(SUM({_allele_count_sql('g')}) AS BIGINT) AS ac, CAST({an} AS BIGINT) AS an, "
            f"CAST(SUM({_allele_count_sql('g')}) AS DOUBLE) / CAST({an} AS DOUBLE) AS af, "
            "CAST(SUM(CASE WHEN g.gt = 1 THEN 1 ELSE 0 END) AS BIGINT) AS n_het, "
            "CAST(SUM(CASE WHEN g.gt = 2 THEN 1 ELSE 0 END) AS BIGINT) AS n_hom "
            f"FROM genotypes g JOIN sites s ON s.key = g.key WHERE {' AND '.join(where)} "
            "GROUP BY s.chrom, s.pos, s.ref, s.alt, s.key ORDER BY s.key"
        )
        return sql, {"genotypes": views["genotypes"], "sites": views["sites"]}

    def sites(self, *, region: Span | None = None, genes: Mapping[str, Span] | None = None) -> pa.Table:
        """The stored sites (with any annotation columns) in a region or genes, sorted by position."""
        spans = _spans(region, genes)
        manifest = self.manifest()
        views = self._views(manifest, sorted({c for c, _, _ in spans}, key=chrom_code))
        sql = f"SELECT * FROM sites s WHERE {_ranges_sql('s.key', spans)} ORDER BY s.key"
        return self.engine.run(sql, {"sites": views["sites"]})


def _spans(region: Span | None, genes: Mapping[str, Span] | None) -> list[Span]:
    """The spans a query covers: a region, genes, or (neither) every chromosome."""
    spans: list[Span] = []
    if region is not None:
        spans.append(_check_span(region, "region"))
    for gene, span in sorted((genes or {}).items()):
        spans.append(_check_span(span, f"gene {gene}"))
    if region is None and genes is None:
        spans = [(c, 1, MAX_POSITION) for c in CHROMOSOMES]
    if not spans:
        raise StoreError("an empty gene list selects nothing; pass region=None and genes=None for everything")
    return spans


def _check_span(span: Span, what: str) -> Span:
    """Validates (chrom, start, end) and names the field on error."""
    try:
        chrom, start, end = span
        chrom_code(str(chrom))
        start, end = int(start), int(end)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what}: {span!r} is not (chrom, start, end) on 1-22, X, Y, MT ({exc})") from None
    if start < 1 or end < start:
        raise StoreError(f"{what}: {chrom}:{start}-{end} is not a 1-based interval with start <= end")
    return str(chrom), start, end


def engine_from_settings() -> QueryEngine:
    """The engine named by get_settings().variant_engine (duckdb or spark)."""
    from gmc.settings import get_settings

    name = get_settings().variant_engine.lower()
    if name == "duckdb":
        from gmc.genomics.store.duckdb_engine import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from gmc.genomics.store.spark_engine import SparkEngine

        return SparkEngine()
    raise StoreError(f"GMC_VARIANT_ENGINE is {name!r}; expected duckdb or spark")
