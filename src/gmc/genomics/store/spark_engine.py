"""The Spark engine: the same store and SQL at national scale (local mode in tests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from gmc.genomics.store.engine import View, normalise


def local_spark_session(cores: int = 2, app_name: str = "gmc-variant-store") -> Any:
    """A local SparkSession sized for a small machine (few shuffle partitions, no UI)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        # Store answers are small: one shuffle partition avoids a range-sampling job per ORDER BY.
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Adaptive re-planning costs more than it saves on gene-sized answers (about 0.5 s a query here).
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


class SparkEngine:
    """Runs store SQL on a SparkSession; DataFrames over a file list are cached between queries."""

    name = "spark"

    def __init__(self, spark: Any | None = None) -> None:
        self.spark = spark if spark is not None else local_spark_session()
        self._frames: dict[tuple[str, ...], Any] = {}

    def _frame(self, view: View) -> Any:
        """A DataFrame over the view's files; a column missing from a file reads as null."""
        if not view.files:
            return self.spark.sql(view.empty_sql())
        frame = self._frames.get(view.files)
        if frame is None:
            # A given schema spares Spark a schema-merging job per file list.
            frame = self.spark.read.schema(view.ddl()).parquet(*view.files)
            self._frames[view.files] = frame
        return frame

    def run(self, sql: str, views: Mapping[str, View]) -> pa.Table:
        """Answers the SQL after binding each view name to its files."""
        for name, view in views.items():
            self._frame(view).createOrReplaceTempView(name)
        return normalise(self.spark.sql(sql).toArrow())

    def close(self) -> None:
        """Forgets cached DataFrames (the session is shared and left running)."""
        self._frames.clear()
