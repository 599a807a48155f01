"""A Spark standalone cluster on this machine's loopback, started from the installed PySpark: a master and workers,
each its own JVM, and optionally a Spark Connect server. For development, the tests and the benchmarks; a real
cluster is started on its nodes as docs/spark.md shows."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check: Callable[[], bool], what: str, procs: list, seconds: float = 120) -> None:
    """Waits until check() holds; RuntimeError naming the log if a process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"{what}: a Spark process exited with {dead[0].returncode} (see {dead[0].log})")
        time.sleep(0.5)
    raise RuntimeError(f"{what}: not ready after {seconds} s")


def _port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class StandaloneCluster:
    """A Spark standalone master and workers started from the installed PySpark's spark-class, each its own JVM
    bound to 127.0.0.1, as the deployment page starts them."""

    def __init__(self, workdir: Path, workers: int = 2, *, cores: int = 1, memory: str = "1g") -> None:
        import pyspark

        self.home = Path(pyspark.__file__).parent
        self.workdir = workdir
        self.env = {**os.environ, "SPARK_HOME": str(self.home), "SPARK_LOCAL_IP": "127.0.0.1",
                    "SPARK_LOG_DIR": str(workdir / "logs"), "SPARK_DAEMON_MEMORY": "256m"}
        # spark-class uses JAVA_HOME when set, else the java on PATH
        self.procs: list[subprocess.Popen] = []
        self.port, self.web = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        spark_class = str(self.home / "bin" / "spark-class")
        self._start("master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(self.port), "--webui-port", str(self.web)])
        _wait_for(lambda: _port_open(self.port), "standalone master", self.procs)
        for i in range(workers):
            self._start(f"worker{i}", [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                       "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
                                       "--work-dir", str(workdir / f"work{i}"), self.url])

        def alive() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/json/", timeout=2) as fh:
                    return json.load(fh).get("aliveworkers", 0) == workers
            except OSError:
                return False

        _wait_for(alive, f"{workers} workers registered", self.procs)

    def _start(self, name: str, argv: list[str], **env: str) -> None:
        """Starts one JVM with its output in workdir/<name>.log."""
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        # spark-class execs java: the process started is the JVM, stopped by its own id
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**self.env, **env})
        proc.log = log.name  # type: ignore[attr-defined]
        self.procs.append(proc)

    @staticmethod
    def driver_conf(executor_memory: str = "512m", cores_max: int = 2) -> str:
        """GMC_SPARK_CONF for a driver in this process on the loopback cluster: executors small enough for the
        workers, the driver reachable on 127.0.0.1."""
        return ("spark.driver.host=127.0.0.1,spark.driver.bindAddress=127.0.0.1,spark.driver.memory=1g,"
                f"spark.executor.memory={executor_memory},spark.executor.cores=1,spark.cores.max={cores_max}")

    def status(self) -> dict:
        """The master's JSON status (workers, running applications and their cores)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/json/", timeout=5) as fh:
            return json.load(fh)

    def start_connect_server(self) -> str:
        """A Spark Connect server (its own driver JVM) on the cluster; returns sc://127.0.0.1:port."""
        port = free_port()
        self._start("connect", [str(self.home / "bin" / "spark-submit"), "--class",
                                "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", self.url,
                                "--conf", f"spark.connect.grpc.binding.port={port}",
                                "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
                                "--conf", "spark.driver.host=127.0.0.1",
                                "--conf", "spark.executor.memory=512m", "--conf", "spark.cores.max=2",
                                "--conf", "spark.ui.enabled=false", "--name", "gmc-connect"],
                    # spark-submit sizes the Connect server's driver like a daemon's
                    SPARK_DAEMON_MEMORY="768m")
        _wait_for(lambda: _port_open(port), "Spark Connect server", self.procs, seconds=180)
        return f"sc://127.0.0.1:{port}"

    def stop_connect_server(self) -> None:
        """Stops the Connect server (an application holding the cluster's cores) and waits for it."""
        proc = self.procs.pop()
        proc.terminate()
        proc.wait(timeout=60)

    def stop(self) -> None:
        """Stops every JVM this cluster started (by process id), last started first."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


