"""The Spark engine: the same store and SQL at national scale, in-process (local[n]), on a cluster
(GMC_SPARK_MASTER) or through Spark Connect (GMC_SPARK_REMOTE)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from gmc.genomics.store.engine import View, normalise
from gmc.genomics.store.layout import StoreError

#: Settings every gmc session gets: store answers are small, so one shuffle partition avoids a range-sampling job
#: per ORDER BY; adaptive re-planning costs more than it saves on gene-sized answers (about 0.5 s a query here).
_SQL_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
}
#: Seconds to wait for a master or Connect server to accept a connection before saying it is unreachable.
_PROBE_SECONDS = 5.0


class SparkUnavailable(StoreError):
    """The configured Spark master or Connect server cannot be reached; the message names the setting."""


def local_spark_session(cores: int = 2, app_name: str = "gmc-variant-store") -> Any:
    """A local SparkSession sized for a small machine (few shuffle partitions, no UI)."""
    return _classic_session(f"local[{cores}]", app_name, {"spark.driver.memory": "2g"})


def spark_session(app_name: str = "gmc-variant-store", *, isolated: bool = False) -> Any:
    """The SparkSession the settings name: Spark Connect (GMC_SPARK_REMOTE), else GMC_SPARK_MASTER, with
    GMC_SPARK_CONF on top; SparkUnavailable naming the setting when the server does not answer. isolated: a new
    session (own temp views and SQL settings) on the same application or server."""
    from gmc.settings import get_settings

    settings = get_settings()
    extra = parse_conf(settings.spark_conf)
    if settings.spark_remote:
        return connect_session(settings.spark_remote, extra, new=isolated)
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        # started by spark-submit: its --master and --conf are already in the driver's configuration
        session = _classic_session(None, app_name, extra)
        return session.newSession() if isolated else session
    master = settings.spark_master.strip()
    if master.startswith("spark://"):
        # A standalone client retries an absent master for a minute before failing: ask first.
        hosts = master.removeprefix("spark://").split(",")
        errors = [_probe(h, 7077) for h in hosts]
        if all(errors):
            raise SparkUnavailable(f"GMC_SPARK_MASTER {master} is unreachable ({'; '.join(filter(None, errors))})")
    session = _classic_session(master, app_name, extra)
    return session.newSession() if isolated else session


def connect_session(remote: str, extra: Mapping[str, str] | None = None, *, new: bool = False) -> Any:
    """A Spark Connect session on sc://host:port; SparkUnavailable naming GMC_SPARK_REMOTE if it does not answer."""
    parts = urlsplit(remote)
    if parts.scheme != "sc" or not parts.hostname:
        raise SparkUnavailable(f"GMC_SPARK_REMOTE {remote!r} is not sc://host:port")
    error = _probe(parts.netloc.split(";")[0].split("/")[0], 15002)
    if error:
        raise SparkUnavailable(f"GMC_SPARK_REMOTE {remote} is unreachable ({error})")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.remote(remote)
    spark = builder.create() if new else builder.getOrCreate()
    for key, value in {**_SQL_CONF, **(extra or {})}.items():
        spark.conf.set(key, value)
    return spark


def _classic_session(master: str | None, app_name: str, extra: Mapping[str, str]) -> Any:
    """A classic (JVM in this process) session on a master (None: spark-submit's) with gmc's SQL settings, no UI."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    conf = {**_SQL_CONF, "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", **extra}
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # the JVM's own error types; say which setting led here
        raise SparkUnavailable(f"GMC_SPARK_MASTER {master}: Spark could not start a session ({exc})") from exc


def _probe(hostport: str, default_port: int) -> str | None:
    """None when host:port accepts a TCP connection, else why not."""
    host, _, port = hostport.strip().rpartition(":")
    if not host:
        host, port = port, str(default_port)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_SECONDS):
            return None
    except (OSError, ValueError) as exc:
        return f"{host}:{port}: {exc}"


def parse_conf(text: str) -> dict[str, str]:
    """GMC_SPARK_CONF "key=value,key=value" as a dict; a part without "=" is refused naming the setting."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise StoreError(f"GMC_SPARK_CONF: {part!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


class SparkEngine:
    """Runs store SQL on a SparkSession; DataFrames over a file list are cached between queries."""

    name = "spark"

    def __init__(self, spark: Any | None = None) -> None:
        # Without a session given, one of its own: the query's views are temp views by fixed names, which
        # concurrent requests on one shared session would overwrite under each other.
        self.spark = spark if spark is not None else spark_session(isolated=True)
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

    def frame(self, sql: str, views: Mapping[str, View], params: Sequence[Any] = ()) -> Any:
        """The SQL's answer as a DataFrame (for jobs that write it out on the cluster) over the views' files."""
        for name, view in views.items():
            self._frame(view).createOrReplaceTempView(name)
        return self.spark.sql(sql, args=list(params)) if params else self.spark.sql(sql)

    def run(self, sql: str, views: Mapping[str, View], params: Sequence[Any] = ()) -> pa.Table:
        """Answers the SQL (with ? parameters) after binding each view name to its files."""
        try:
            return normalise(self.frame(sql, views, params).toArrow())
        except Exception as exc:
            if type(exc).__name__ not in ("AnalysisException", "SparkConnectGrpcException", "Py4JJavaError"):
                raise
            # an unreadable store file (path missing, no credentials for s3a/gs/hdfs) surfaces here
            raise StoreError(f"Spark could not answer from the variant store: {str(exc).splitlines()[0]}") from exc

    def close(self) -> None:
        """Forgets cached DataFrames (the session is shared and left running)."""
        self._frames.clear()
