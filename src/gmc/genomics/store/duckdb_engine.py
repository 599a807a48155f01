"""The DuckDB engine: a centre's variant store queried in-process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from gmc.genomics.store.engine import View, normalise
from gmc.genomics.store.layout import StoreError, is_uri


class DuckDBEngine:
    """Runs store SQL on an in-memory DuckDB connection reading the Parquet files in place."""

    name = "duckdb"

    def __init__(self, threads: int = 2) -> None:
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"SET threads = {int(threads)}")
        # Committed files are never rewritten, so their footers can be cached across queries.
        self._con.execute("SET parquet_metadata_cache = true")

    def run(self, sql: str, views: Mapping[str, View], params: Sequence[Any] = ()) -> pa.Table:
        """Answers the SQL (with ? parameters) after binding each view name to its files."""
        for name, view in views.items():
            remote = next((f for f in view.files if is_uri(f)), None)
            if remote is not None:
                raise StoreError(f"DuckDB reads variant stores on this machine's file system, not {remote}: "
                                 "set GMC_VARIANT_ENGINE=spark for a store on shared storage (GMC_STORE_URI)")
            if view.files:
                files = ", ".join("'" + f.replace("'", "''") + "'" for f in view.files)
                source = f"SELECT * FROM read_parquet([{files}], union_by_name = true)"
            else:
                source = view.empty_sql()
            self._con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {source}")
        return normalise(self._con.sql(sql, params=list(params) or None).to_arrow_table())

    def close(self) -> None:
        """Closes the connection."""
        self._con.close()
