"""The query-engine contract shared by DuckDB and Spark: run one SQL text over named Parquet views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa

_SQL_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INT",
    pa.int16(): "SMALLINT",
    pa.int8(): "TINYINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.string(): "STRING",
    pa.bool_(): "BOOLEAN",
}


class QueryEngine(Protocol):
    """Runs a SQL text in which the names of views refer to lists of Parquet files."""

    #: duckdb or spark.
    name: str

    def run(self, sql: str, views: Mapping[str, View], params: Sequence[Any] = ()) -> pa.Table:
        """Answers the SQL (positional ? parameters bound to params) as an Arrow table."""
        ...


class View:
    """A named table for one query: a list of Parquet files, or an empty table of a known schema."""

    def __init__(self, files: Sequence[str], schema: pa.Schema) -> None:
        self.files = tuple(files)
        self.schema = schema

    def ddl(self) -> str:
        """The view's columns as a SQL column list (given to Spark so it need not infer schemas)."""
        return ", ".join(f"{f.name} {_sql_type(f.type, f.name)}" for f in self.schema)

    def empty_sql(self) -> str:
        """A SELECT with no rows and the view's columns, in SQL both engines accept."""
        cols = ", ".join(f"CAST(NULL AS {_sql_type(f.type, f.name)}) AS {f.name}" for f in self.schema)
        return f"SELECT {cols} WHERE 1 = 0"


def _sql_type(arrow_type: pa.DataType, name: str) -> str:
    """The SQL type both engines use for an Arrow column type."""
    if pa.types.is_large_string(arrow_type):
        return "STRING"
    try:
        return _SQL_TYPES[arrow_type]
    except KeyError:
        raise ValueError(f"column {name} has type {arrow_type}, which the variant store cannot query") from None


def normalise(table: pa.Table) -> pa.Table:
    """Makes engine answers comparable: plain strings, no large types, no chunking differences."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields)).combine_chunks()
