"""Every genome-data query: dataset rows in SQL, and paged variant reads from the Parquet store with DuckDB."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.genomics.models import GenomeDataset
from gmc.genomics.store.engine import QueryEngine, View
from gmc.genomics.store.layout import (
    CHROM_SHIFT,
    CHROMOSOMES,
    GENOTYPES_SCHEMA,
    StoreLayout,
    chrom_code,
    chrom_of_file,
    key_range,
    record_qual_path,
    sample_index_path,
    sites_schema,
)
from gmc.registry.models import Case, FamilyMember, Participant
from gmc.samples.models import Sample

if TYPE_CHECKING:
    from gmc.genomics.service import VariantQuery

# ----------------------------------------------------------------------------- SQL rows


def datasets_of_case(session: Session, case_pk: int) -> Sequence[GenomeDataset]:
    """A case's datasets, oldest first."""
    stmt = select(GenomeDataset).where(GenomeDataset.case_id == case_pk).order_by(GenomeDataset.id)
    return session.execute(stmt).scalars().all()


def datasets_of_file(session: Session, sha256: str) -> Sequence[GenomeDataset]:
    """Datasets already made from a file (by content hash)."""
    return session.execute(select(GenomeDataset).where(GenomeDataset.file_sha256 == sha256)).scalars().all()


def dataset_by_id(session: Session, dataset_id: str) -> GenomeDataset | None:
    """The dataset with this programme id."""
    return session.execute(select(GenomeDataset).where(GenomeDataset.dataset_id == dataset_id)).scalar_one_or_none()


def family_members(session: Session, family_pk: int) -> Sequence[FamilyMember]:
    """Members of a family."""
    return session.execute(select(FamilyMember).where(FamilyMember.family_id == family_pk)).scalars().all()


def sample_by_barcode(session: Session, barcode: str) -> Sample | None:
    """The sample with this barcode (the caller checks it belongs to the participant)."""
    return session.execute(select(Sample).where(Sample.barcode == barcode)).scalar_one_or_none()


def visible_store_samples(
    session: Session, trust_scope: frozenset[int] | None, build: str
) -> dict[str, tuple[str, str, str]]:
    """Store sample -> (case id, dataset id, participant id) for datasets of cases at trusts in scope."""
    stmt = (select(GenomeDataset.store_sample, Case.case_id, GenomeDataset.dataset_id, Participant.participant_id)
            .join(Case, Case.id == GenomeDataset.case_id)
            .join(Participant, Participant.id == GenomeDataset.participant_id)
            .where(GenomeDataset.build == build))
    if trust_scope is not None:
        stmt = stmt.where(Case.trust_id.in_(list(trust_scope)))
    return {row[0]: (row[1], row[2], row[3]) for row in session.execute(stmt)}


def cases_with_genomes(session: Session, trust_scope: frozenset[int] | None) -> list[dict[str, Any]]:
    """Cases in scope with genome data: {case, proband (P-number), datasets, flags, latest (newest ingest)}."""
    stmt = (select(Case, GenomeDataset, Participant.participant_id)
            .join(GenomeDataset, GenomeDataset.case_id == Case.id)
            .join(Participant, Participant.id == Case.proband_id))
    if trust_scope is not None:
        stmt = stmt.where(Case.trust_id.in_(list(trust_scope)))
    out: dict[int, dict[str, Any]] = {}
    for case, dataset, proband in session.execute(stmt.order_by(Case.case_id)):
        entry = out.setdefault(case.id, {"case": case, "proband": proband, "datasets": 0, "flags": 0,
                                         "latest": dataset.ingested_at})
        entry["datasets"] += 1
        entry["flags"] += len(dataset.qc_flags or [])
        entry["latest"] = max(entry["latest"], dataset.ingested_at)
    return list(out.values())


# ----------------------------------------------------------------------------- the variant store

#: Annotation columns a page shows; absent ones read as NULL.
PAGE_ANNOTATION = ("gene", "consequence", "impact", "hgvs_c", "hgvs_p", "clinvar", "clinvar_stars", "gnomad_af",
                   "loeuf", "hgvs_note", "sv_end", "sv_length", "sv_type", "copy_number")
_IMPACTS = ("HIGH", "MODERATE", "LOW", "MODIFIER")
_TERM = re.compile(r"^[A-Za-z0-9_]+$")
#: Sort keys the table offers -> SQL (the variant key orders by chromosome then position).
SORTS = {
    "position": "g.key",
    "gene": "s.gene NULLS LAST, g.key",
    "impact": "CASE s.impact WHEN 'HIGH' THEN 0 WHEN 'MODERATE' THEN 1 WHEN 'LOW' THEN 2 ELSE 3 END, g.key",
    "gnomad_af": "s.gnomad_af NULLS FIRST, g.key",
    "gq": "g.gq, g.key",
    "qual": "g.qual, g.key",
}


def _list(files: Sequence[str]) -> str:
    """A SQL list of file paths (quotes doubled, since these are paths inside the store)."""
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _site_columns(files: Sequence[str]) -> set[str]:
    """Column names across the sites files (annotation columns vary by dataset)."""
    return set(sites_schema(files).names)


def _ranges(spans: Sequence[tuple[str, int, int]] | None) -> str | None:
    """An OR of key ranges for the spans, or None for the whole genome."""
    if not spans:
        return None
    parts = []
    for chrom, start, end in spans:
        lo, hi = key_range(chrom, start, end)
        parts.append(f"(g.key BETWEEN {lo} AND {hi})")
    return "(" + " OR ".join(parts) + ")"


def _filters(query: VariantQuery, columns: set[str]) -> tuple[list[str], list[Any]]:
    """WHERE conditions and parameters for a VariantQuery; refuses values it cannot express safely."""
    where: list[str] = []
    params: list[Any] = []
    if query.consequence:
        terms = [t.strip() for t in query.consequence.split(",") if t.strip()]
        for t in terms:
            if not _TERM.match(t):
                raise ValueError(f"consequence {t!r} is not a Sequence Ontology term")
        if "consequence" not in columns:
            where.append("FALSE")
        else:
            # instr, not LIKE: the same text in DuckDB and Spark (their escapes of a LIKE pattern differ)
            where.append("(" + " OR ".join("instr('&' || s.consequence || '&', ?) > 0" for _ in terms) + ")")
            params += [f"&{t}&" for t in terms]
    if query.impacts:
        bad = [i for i in query.impacts if i.upper() not in _IMPACTS]
        if bad:
            raise ValueError(f"impact {bad[0]!r} is not one of {', '.join(_IMPACTS)}")
        wanted = [i.upper() for i in query.impacts]
        if "impact" not in columns:
            where.append("FALSE")
        else:
            condition = "s.impact IN (" + ", ".join("?" for _ in wanted) + ")"
            if {"HIGH", "MODERATE"} & set(wanted):
                # a coding change whose codon is unknown (no sequence) has no impact: it may be a stop or a
                # missense, so a filter for HIGH or MODERATE keeps it rather than drop it unseen
                condition = f"({condition} OR (s.impact IS NULL AND s.consequence LIKE '%coding_sequence_variant%'))"
            where.append(condition)
            params += wanted
    if query.max_af is not None:
        if "gnomad_af" in columns:
            where.append("(s.gnomad_af IS NULL OR s.gnomad_af <= ?)")
            params.append(float(query.max_af))
    if query.clinvar_only:
        where.append("s.clinvar IS NOT NULL" if "clinvar" in columns else "FALSE")
    if query.genotype:
        gt = {"het": "g.gt = 1 AND g.ploidy <> 1", "hom": "g.gt = 2 AND g.ploidy <> 1",
              "hemi": "g.ploidy = 1"}.get(query.genotype)
        if gt is None:
            raise ValueError(f"genotype {query.genotype!r} is not het, hom or hemi")
        where.append(f"({gt})")
    if query.pass_only:
        where.append("g.filter IN ('PASS', '.')")
    if query.min_gq is not None:
        where.append("g.gq >= ?")
        params.append(int(query.min_gq))
    return where, params


def _plan(root: Path | str, samples: Sequence[str], spans: Sequence[tuple[str, int, int]] | None) -> tuple[
        list[str], list[str], list[int]] | None:
    """Genotype files of the samples' datasets, every sites file, and the samples' store indexes."""
    layout = StoreLayout(root)
    manifest = layout.read_manifest()
    index = manifest.sample_index()
    wanted = [s for s in samples if s in index]
    if not wanted:
        return None
    chroms = sorted({c for c, _, _ in spans}, key=chrom_code) if spans else list(CHROMOSOMES)
    wanted_set = set(wanted)
    # A sample's calls sit in its dataset's own directory, or in the segment compaction merged it into.
    datasets = [d.dataset_id for d in manifest.datasets if wanted_set.intersection(d.samples)]
    geno = layout.files(manifest, "genotypes", chroms, datasets=datasets)
    sites = layout.files(manifest, "sites", chroms)
    if not geno or not sites:
        return None
    return geno, sites, [index[s] for s in wanted]


def _with_structural(sites: list[str], spans: Sequence[tuple[str, int, int]] | None,
                     engine: QueryEngine | None = None) -> Sequence[tuple[str, int, int]] | None:
    """The spans, plus the start of every structural allele (sv_end stored) that begins before one and reaches
    into it: a deletion spanning a gene is keyed by where it starts, often far outside the gene."""
    if not spans:
        return spans
    extra: list[tuple[str, int, int]] = []
    for chrom, start, _ in spans:
        files = [f for f in sites if chrom_of_file(f) == chrom and "sv_end" in _site_columns([f])]
        if not files:
            continue
        sql = "SELECT DISTINCT pos FROM sites WHERE sv_end >= ? AND pos < ?"
        if engine is None:
            with _page_connection() as con:
                found = con.sql(sql.replace("FROM sites", f"FROM read_parquet({_list(files)}, union_by_name = true)"),
                                params=[start, start]).fetchall()
        else:
            found = [(r["pos"],) for r in engine.run(sql, {"sites": View(files, sites_schema(files))},
                                                     [start, start]).to_pylist()]
        extra += [(chrom, int(p), int(p)) for (p,) in found]
    return [*spans, *extra]


def _select(sites: list[str], extra: Sequence[str] = ()) -> str:
    """The SELECT list of a variant row: call, site and annotation columns (NULL when not stored)."""
    columns = _site_columns(sites)
    annotation = ", ".join(f"s.{c} AS {c}" if c in columns else f"NULL AS {c}" for c in PAGE_ANNOTATION)
    return ("s.chrom AS chrom, s.pos AS pos, s.ref AS ref, s.alt AS alt, g.gt AS gt, g.ploidy AS ploidy, "
            "g.gq AS gq, g.dp AS dp, g.ad_ref AS ad_ref, g.ad_alt AS ad_alt, g.qual AS qual, g.filter AS filter, "
            f"{annotation}" + "".join(f", {e}" for e in extra))


def _from(geno: list[str], sites: list[str]) -> str:
    return (f"read_parquet({_list(geno)}) g JOIN read_parquet({_list(sites)}, union_by_name = true) s "
            "ON s.key = g.key")


def variant_page(
    root: Path, store_sample: str, *, query: VariantQuery, spans: Sequence[tuple[str, int, int]] | None,
    sort: str = "position", descending: bool = False, limit: int = 50, offset: int = 0,
) -> dict[str, Any]:
    """One page of a sample's calls with the total that match; only the page's rows leave DuckDB."""
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r} is not one of {', '.join(SORTS)}")
    plan = _plan(root, [store_sample], spans)
    if plan is None:
        return {"total": 0, "rows": [], "offset": offset, "limit": limit}
    geno, sites, idx = plan
    spans = _with_structural(sites, spans)
    where, params = _filters(query, _site_columns(sites))
    ranges = _ranges(spans)
    conditions = [f"g.sample_idx = {int(idx[0])}", *([ranges] if ranges else []), *where]
    order = SORTS[sort]
    if descending:
        order = ", ".join(f"{part.split(' NULLS')[0]} DESC" for part in order.split(", "))
    sql_where = " AND ".join(conditions)
    page_sql = f"ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}"
    with _page_connection() as con:
        if any("s." in w for w in where) or "s." in order:
            # Site filters or a site sort: join first (the key ranges prune the sites files too). Only the keys
            # and the total leave that pass: carrying every annotation column of the joined rows into the sort
            # cost 4-5x as much on a whole genome as the join itself.
            site_ranges = ranges.replace("g.key", "s.key") if ranges else "TRUE"
            source = f"{_from(geno, sites)} WHERE {sql_where} AND {site_ranges}"
            count = f"SELECT COUNT(*) FROM {source}"
        elif sort != "qual" or all(record_qual_path(f).exists() or not sample_index_path(f).exists() for f in geno):
            return _page_from_index(con, geno, sites, int(idx[0]), spans, where, params, sort, descending,
                                    limit, offset)
        else:
            # Files written before the QUAL runs existed: the same key pass over the sample's calls alone.
            source = f"read_parquet({_list(geno)}) g WHERE {sql_where}"
            count = f"SELECT COUNT(*) FROM {source}"
        if not any("s." in w for w in where):
            # A site sort alone: every call has its site, so the calls give the total without the join, and the
            # page's keys come from a top-N sort (a window over the whole join would hold every row).
            total = con.sql(f"SELECT COUNT(*) FROM read_parquet({_list(geno)}) g WHERE {sql_where}",
                            params=params).fetchall()[0][0]
            found = [(k, total) for (k,) in con.sql(f"SELECT g.key AS key FROM {source} {page_sql}",
                                                    params=params).fetchall()]
            if not found:
                return {"total": int(total), "rows": [], "offset": offset, "limit": limit}
        else:
            found = con.sql(f"SELECT g.key AS key, COUNT(*) OVER () AS total FROM {source} {page_sql}",
                            params=params).fetchall()
        if not found:
            # past the last page (or nothing matches): the window gave no row to read the total from
            total = con.sql(count, params=params).fetchall()[0][0]
            return {"total": int(total), "rows": [], "offset": offset, "limit": limit}
        total = found[0][1]
        # Then the page's rows are read by key from the files of their chromosomes only, in the page's order.
        keys = sorted({int(k) for k, _ in found})
        page_geno, page_sites = _files_of_keys(geno, keys), _files_of_keys(sites, keys)
        in_keys = ", ".join(map(str, keys))
        table = con.sql(
            f"SELECT {_select(page_sites)} FROM {_from(page_geno, page_sites)} WHERE g.sample_idx = {int(idx[0])} "
            f"AND g.key IN ({in_keys}) AND s.key IN ({in_keys}) ORDER BY {order}").to_arrow_table()
    return {"total": int(total), "rows": table.to_pylist(), "offset": offset, "limit": limit}


#: Sorts the per-sample index can answer: its rows carry the call's place in key order and its GQ.
_INDEX_SORTS = {"position": "g.chrom_code, g.row", "gq": "g.gq, g.chrom_code, g.row",
                "qual": "g.qual, g.chrom_code, g.row"}


def _page_from_index(
    con: duckdb.DuckDBPyConnection, geno: list[str], sites: list[str], sample_idx: int,
    spans: Sequence[tuple[str, int, int]] | None, where: list[str], params: list[Any], sort: str,
    descending: bool, limit: int, offset: int,
) -> dict[str, Any]:
    """A call-filtered page through the per-sample index: its few thousand rows, then the page's rows by number."""
    conditions = [f"g.sample_idx = {sample_idx}", *where]
    if spans:
        conditions.append(_row_ranges(geno, spans))
    index_order = _INDEX_SORTS[sort]
    if descending:
        index_order = ", ".join(f"{part} DESC" for part in index_order.split(", "))
    source = f"({_index_of(geno, sample_idx)}) g WHERE {' AND '.join(conditions)}"
    if sort == "qual":
        # QUAL is looked up for the sample's matching calls only, from each file's runs, then sorted like the rest
        con.register("sample_calls", _with_qual(con.sql(f"SELECT g.* FROM {source}", params=params).to_arrow_table(),
                                                geno))
        source, params = "sample_calls g", []
    found = con.sql(f"SELECT g.chrom_code, g.row, g.gt, g.ploidy, g.gq, g.filter, COUNT(*) OVER () AS total "
                    f"FROM {source} ORDER BY {index_order} LIMIT {int(limit)} OFFSET {int(offset)}",
                    params=params).to_arrow_table()
    if not found.num_rows:
        total = con.sql(f"SELECT COUNT(*) FROM {source}", params=params).fetchall()[0][0]
        return {"total": int(total), "rows": [], "offset": offset, "limit": limit}
    total = found.column("total")[0].as_py()
    by_file: dict[tuple[int, str], list[int]] = {}
    files = {Path(f).name: f for f in geno}
    for code, row in zip(found.column("chrom_code").to_pylist(), found.column("row").to_pylist(), strict=True):
        by_file.setdefault((code, files[f"chr{CHROMOSOMES[code - 1]}.parquet"]), []).append(int(row))
    # Only the columns the index lacks; file_row_number filters prune row groups, so each file reads only
    # the groups holding the page's rows.
    fetch = " UNION ALL ".join(
        f"SELECT CAST({code} AS TINYINT) AS chrom_code, CAST(file_row_number AS INT) AS row, key, dp, ad_ref, "
        f"ad_alt, qual FROM read_parquet({_list([f])}, file_row_number = true) "
        f"WHERE file_row_number IN ({', '.join(map(str, rows))})" for (code, f), rows in by_file.items())
    rest = con.sql(fetch).to_arrow_table()
    keys = sorted(int(k) for k in rest.column("key").to_pylist())
    order = SORTS[sort]
    if descending:
        order = ", ".join(f"{part.split(' NULLS')[0]} DESC" for part in order.split(", "))
    con.register("page_index", found)
    con.register("page_rest", rest)
    # the sites of each chromosome's keys apart: row-group min/max pruning then works on that chromosome's keys
    by_chrom: dict[int, list[int]] = {}
    for k in keys:
        by_chrom.setdefault(k >> CHROM_SHIFT, []).append(k)
    page_sites = _files_of_keys(sites, keys)
    site_rows = " UNION ALL BY NAME ".join(
        f"SELECT * FROM read_parquet({_list(_files_of_keys(sites, ks))}, union_by_name = true) "
        f"WHERE key IN ({', '.join(map(str, ks))})" for ks in by_chrom.values())
    table = con.sql(
        f"SELECT {_select(page_sites)} FROM (SELECT * FROM page_index JOIN page_rest USING (chrom_code, row)) g "
        f"JOIN ({site_rows}) s ON s.key = g.key ORDER BY {order}").to_arrow_table()
    return {"total": int(total), "rows": table.to_pylist(), "offset": offset, "limit": limit}


def _index_of(geno: list[str], sample_idx: int) -> str:
    """SQL for one sample's rows of the per-sample index; a file without one (a single sample's) stands in for it."""
    stored = [str(sample_index_path(f)) for f in geno if sample_index_path(f).exists()]
    parts = [f"SELECT sample_idx, row, chrom_code, gt, ploidy, gq, filter FROM read_parquet({_list(stored)}) "
             f"WHERE sample_idx = {sample_idx}"] if stored else []
    for f in geno:
        if not sample_index_path(f).exists():
            code = chrom_code(Path(f).stem.removeprefix("chr"))
            parts.append(f"SELECT sample_idx, CAST(file_row_number AS INT) AS row, CAST({code} AS TINYINT) AS "
                         f"chrom_code, gt, ploidy, gq, filter FROM read_parquet({_list([f])}, file_row_number = true) "
                         f"WHERE sample_idx = {sample_idx}")
    return " UNION ALL ".join(parts)


def _with_qual(calls: pa.Table, geno: list[str]) -> pa.Table:
    """The index rows with each call's QUAL: from the file's QUAL runs, or the genotype file when it has none."""
    codes = calls.column("chrom_code").to_numpy()
    rows = calls.column("row").to_numpy()
    qual = np.full(len(rows), np.nan, dtype=np.float32)
    missing = np.zeros(len(rows), dtype=bool)
    for f in geno:
        here = np.flatnonzero(codes == chrom_code(Path(f).stem.removeprefix("chr")))
        if not len(here):
            continue
        runs_path = record_qual_path(f)
        if runs_path.exists():
            runs = pq.read_table(runs_path)
            at = np.searchsorted(runs.column("first_row").to_numpy(), rows[here], side="right") - 1
            values = runs.column("qual").take(pa.array(at))
        else:
            values = pq.read_table(f, columns=["qual"]).column("qual").take(pa.array(rows[here]))
        missing[here] = values.is_null().to_numpy(zero_copy_only=False)
        qual[here] = values.fill_null(0).to_numpy(zero_copy_only=False)
    return calls.append_column("qual", pa.array(qual, pa.float32(), mask=missing))


def _row_ranges(geno: list[str], spans: Sequence[tuple[str, int, int]]) -> str:
    """Spans as row-number ranges of the key-sorted genotype files (found from the key column's row groups)."""
    files = {Path(f).name: f for f in geno}
    parts = []
    for chrom, start, end in spans:
        path = files.get(f"chr{chrom}.parquet")
        if path is None:
            continue
        lo, hi = key_range(chrom, start, end)
        first, last = _rows_between(path, lo, hi)
        if first < last:
            parts.append(f"(g.chrom_code = {chrom_code(chrom)} AND g.row BETWEEN {first} AND {last - 1})")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def _rows_between(path: str, lo: int, hi: int) -> tuple[int, int]:
    """First and past-last row numbers of keys lo..hi in a key-sorted file, reading only the groups concerned."""
    reader = pq.ParquetFile(path)
    meta = reader.metadata
    column = meta.schema.names.index("key")
    first = last = None
    start = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        stats = group.column(column).statistics
        n = group.num_rows
        if stats is None or not stats.has_min_max or (stats.max >= lo and stats.min <= hi):
            keys = reader.read_row_group(i, columns=["key"]).column("key").to_numpy()
            a, b = np.searchsorted(keys, lo, side="left"), np.searchsorted(keys, hi, side="right")
            if b > a:
                first = start + int(a) if first is None else first
                last = start + int(b)
        elif stats.min > hi:
            break
        start += n
    return (first, last) if first is not None else (0, 0)


_PAGE_DB: duckdb.DuckDBPyConnection | None = None
_PAGE_DB_LOCK = threading.Lock()


def _page_connection() -> duckdb.DuckDBPyConnection:
    """A cursor on one in-process database whose Parquet footer cache outlives a request (files never change)."""
    global _PAGE_DB
    with _PAGE_DB_LOCK:
        if _PAGE_DB is None:
            _PAGE_DB = duckdb.connect(":memory:")
            _PAGE_DB.execute("SET parquet_metadata_cache = true")
        return _PAGE_DB.cursor()


def _files_of_keys(files: Sequence[str], keys: Sequence[int]) -> list[str]:
    """The per-chromosome store files (named chr<name>.parquet) of the chromosomes these keys lie on."""
    names = {f"chr{CHROMOSOMES[(k >> CHROM_SHIFT) - 1]}.parquet" for k in keys}
    return [f for f in files if Path(f).name in names]


def variant_table(
    root: Path, store_sample: str, *, query: VariantQuery, spans: Sequence[tuple[str, int, int]] | None,
    limit: int = 1_000_000,
) -> pa.Table:
    """A sample's matching calls as an Arrow table (for export), sorted by position."""
    plan = _plan(root, [store_sample], spans)
    if plan is None:
        return pa.table({"sample": pa.array([], pa.string()), "chrom": pa.array([], pa.string()),
                         "pos": pa.array([], pa.int32()), "ref": pa.array([], pa.string()),
                         "alt": pa.array([], pa.string()), "gt": pa.array([], pa.int8())})
    geno, sites, idx = plan
    spans = _with_structural(sites, spans)
    where, params = _filters(query, _site_columns(sites))
    ranges = _ranges(spans)
    conditions = [f"g.sample_idx = {int(idx[0])}", *([ranges] if ranges else []), *where]
    with duckdb.connect() as con:
        return con.sql(
            f"SELECT '' AS sample, {_select(sites)} FROM {_from(geno, sites)} WHERE {' AND '.join(conditions)} "
            f"ORDER BY g.key LIMIT {int(limit)}", params=params).to_arrow_table()


def carrier_calls(
    root: Path | str, spans: Sequence[tuple[str, int, int]], *, query: VariantQuery, samples: Sequence[str],
    engine: QueryEngine | None = None,
) -> list[dict[str, Any]]:
    """Calls of the given store samples in the spans that pass the query, with the store sample name; run by the
    engine GMC_VARIANT_ENGINE names (DuckDB at a centre, Spark on a cluster) unless one is given."""
    from gmc.genomics.store.queries import engine_from_settings

    plan = _plan(root, samples, spans)
    if plan is None:
        return []
    geno, sites, idx = plan
    engine = engine if engine is not None else engine_from_settings()
    spans = _with_structural(sites, spans, engine)
    layout = StoreLayout(root)
    names = {i: s for s, i in layout.read_manifest().sample_index().items()}
    where, params = _filters(query, _site_columns(sites))
    conditions = [f"g.sample_idx IN ({', '.join(str(int(i)) for i in idx)})", _ranges(spans) or "TRUE", *where]
    views = {"genotypes": View(geno, GENOTYPES_SCHEMA), "sites": View(sites, sites_schema(sites))}
    table = engine.run(
        f"SELECT g.sample_idx AS sample_idx, {_select(sites)} FROM genotypes g JOIN sites s ON s.key = g.key "
        f"WHERE {' AND '.join(conditions)} ORDER BY g.sample_idx, g.key", views, params)
    rows = table.to_pylist()
    for row in rows:
        row["sample"] = names[row.pop("sample_idx")]
    return rows
