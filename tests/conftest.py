"""Shared test fixtures: where the shared data lives, and real databases on both engines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("GMC_SHARED", REPO_ROOT.parent / "shared")).resolve()

# Audit checkpoints of every test database go to a file of this test session, never to the checkout's ./var
# (each line names its database, so one file serves them all).
os.environ["GMC_AUDIT_CHECKPOINT_FILE"] = str(
    Path(__import__("tempfile").mkdtemp(prefix="gmc-test-audit-")) / "checkpoints.jsonl")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared directory with reference and benchmark data (it must exist)."""
    assert SHARED_DIR.is_dir(), f"../shared not found at {SHARED_DIR}"
    return SHARED_DIR


@pytest.fixture(scope="session")
def refdata_dir(shared_dir: Path) -> Path:
    """The shared reference-data directory (GMC_REFDATA in production)."""
    return shared_dir / "refdata"


@pytest.fixture(scope="session")
def benchmarks_dir(shared_dir: Path) -> Path:
    """The shared benchmark cases (phenopackets, exomes, annotated trios, tumours)."""
    return shared_dir / "benchmarks"


# --------------------------------------------------------------------------------------------
# Real databases: every database-touching test runs on SQLite and on a throwaway PostgreSQL.
# --------------------------------------------------------------------------------------------
import glob  # noqa: E402
import itertools  # noqa: E402
import pwd  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import sqlalchemy as sa  # noqa: E402

ENGINES = ["sqlite", "postgresql"]
_PG_USER_CANDIDATES = ("postgres", "gmcpg")


def _pg_bindir() -> Path:
    """The directory holding initdb and pg_ctl (Debian's versioned dir first, then PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    if which:
        return Path(which).parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found: run `make test`, which installs them")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_os_user() -> str | None:
    """initdb refuses to run as root, so the server runs as an unprivileged system user."""
    if os.geteuid() != 0:
        return None
    for name in _PG_USER_CANDIDATES:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "gmcpg"], check=True)
    return "gmcpg"


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary directory on a free port."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        self.user = _pg_os_user()
        self.root = Path(tempfile.mkdtemp(prefix="gmc-pg-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        if self.user:
            shutil.chown(self.root, user=self.user)
        self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
                  "--locale=C")
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c max_wal_size=256MB")
        self._run("pg_ctl", "-D", str(self.datadir), "-o", opts, "-w", "-l", str(self.root / "log"), "start")
        self._counter = itertools.count(1)

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    def url(self, dbname: str = "postgres") -> str:
        """A SQLAlchemy URL for a database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute_autocommit(self, sql: str) -> None:
        """Runs a statement outside a transaction (CREATE DATABASE needs that)."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    def new_database_name(self) -> str:
        """A fresh database name on this server."""
        return f"gmc_test_{os.getpid()}_{next(self._counter)}"

    def drop_database(self, name: str) -> None:
        """Drops a test's database (with any connections a server under test left open) to keep the run's disk small."""
        self.execute_autocommit(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stops the server and removes its files."""
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the test session."""
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


def _load_demo_into(url: str, *, full: bool = False) -> None:
    """Loads the foundation demo (centres, trusts, users), or with full=True every feature's demo data."""
    from gmc.audit.service import Actor
    from gmc.db.core import Database
    from gmc.demo.service import DEMO_LOADERS, DemoSummary, load_demo

    db = Database(url)
    try:
        with db.transaction() as session:
            if full:
                load_demo(session)
            else:
                summary = DemoSummary()
                for loader in DEMO_LOADERS:
                    loader(session, Actor.system("demo"), summary)
    finally:
        db.dispose()


def _sqlite_checkpoint(path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Migrated SQLite files, empty and with the demo centre, copied for each test."""
    from gmc.db.migrate import upgrade

    root = tmp_path_factory.mktemp("sqlite-templates")
    empty, demo = root / "empty.db", root / "demo.db"
    upgrade(f"sqlite:///{empty}")
    _sqlite_checkpoint(empty)
    shutil.copy(empty, demo)
    _load_demo_into(f"sqlite:///{demo}")
    _sqlite_checkpoint(demo)
    return {"empty": empty, "demo": demo}


@pytest.fixture(scope="session")
def sqlite_full_demo(sqlite_templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every feature's demo data (built once, on first use)."""
    full = tmp_path_factory.mktemp("sqlite-full-demo") / "full.db"
    shutil.copy(sqlite_templates["empty"], full)
    _load_demo_into(f"sqlite:///{full}", full=True)
    _sqlite_checkpoint(full)
    return full


@pytest.fixture(scope="session")
def postgres_full_demo(postgres_server: PostgresServer, postgres_templates: dict[str, str]) -> str:
    """A PostgreSQL template database with every feature's demo data (built once, on first use)."""
    name = "gmc_template_full"
    postgres_server.execute_autocommit(f"CREATE DATABASE {name} TEMPLATE {postgres_templates['empty']}")
    _load_demo_into(postgres_server.url(name), full=True)
    return name


@pytest.fixture(scope="session")
def postgres_templates(postgres_server: PostgresServer) -> dict[str, str]:
    """Migrated PostgreSQL template databases, empty and with the demo centre."""
    from gmc.db.migrate import upgrade

    names = {"empty": "gmc_template_empty", "demo": "gmc_template_demo"}
    postgres_server.execute_autocommit(f"CREATE DATABASE {names['empty']}")
    upgrade(postgres_server.url(names["empty"]))
    postgres_server.execute_autocommit(f"CREATE DATABASE {names['demo']} TEMPLATE {names['empty']}")
    _load_demo_into(postgres_server.url(names["demo"]))
    return names


def copy_of_template(request: pytest.FixtureRequest, engine: str, template: str | Path, tmp_path: Path,
                     filename: str = "copy.db") -> str:
    """A fresh database from a template: a file copy on SQLite, CREATE DATABASE TEMPLATE on PostgreSQL (dropped when the test ends)."""
    if engine == "sqlite":
        target = tmp_path / filename
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.new_database_name()
    server.execute_autocommit(f"CREATE DATABASE {name} TEMPLATE {template}")
    request.addfinalizer(lambda: server.drop_database(name))
    return server.url(name)


def _fresh_url(request: pytest.FixtureRequest, engine: str, kind: str, tmp_path: Path) -> str:
    fixture = "sqlite_templates" if engine == "sqlite" else "postgres_templates"
    templates = request.getfixturevalue(fixture)
    return copy_of_template(request, engine, templates[kind], tmp_path, f"{kind}.db")


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated, empty database on each engine."""
    return _fresh_url(request, request.param, "empty", tmp_path)


@pytest.fixture
def full_demo_db_url(sqlite_full_demo: Path, tmp_path: Path) -> str:
    """A fresh copy of the full demo centre (every feature's demo data) on SQLite, the embedded default."""
    target = tmp_path / "full.db"
    shutil.copy(sqlite_full_demo, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=ENGINES)
def demo_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each engine holding the demo centres, trusts and users."""
    return _fresh_url(request, request.param, "demo", tmp_path)


@pytest.fixture
def database(db_url: str):
    """A Database on a fresh empty schema."""
    from gmc.db.core import Database

    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def demo_database(demo_db_url: str):
    """A Database on a fresh schema with the demo organisations and users."""
    from gmc.db.core import Database

    db = Database(demo_db_url)
    yield db
    db.dispose()


@pytest.fixture
def make_settings(tmp_path: Path):
    """Builds test settings for a database URL."""
    from gmc.settings import Settings

    def _make(url: str, **overrides: object) -> Settings:
        return Settings(database_url=url, data_dir=tmp_path / "data", environment="test",
                        refdata=SHARED_DIR / "refdata", **overrides)

    return _make


@pytest.fixture
def demo_app(demo_database, make_settings):
    """The web app over a demo database."""
    from gmc.web.app import create_app

    return create_app(make_settings(demo_database.url), database=demo_database)


@pytest.fixture
def demo_client(demo_app):
    """An HTTP client for the demo app (not signed in)."""
    from fastapi.testclient import TestClient

    with TestClient(demo_app) as client:
        yield client


DEMO_PASSWORDS = {
    "admin": "demo-admin-2026", "recruiter": "demo-recruiter-2026", "lab": "demo-lab-2026",
    "scientist": "demo-scientist-2026", "checker": "demo-checker-2026", "clinician": "demo-clinician-2026", "researcher": "demo-researcher-2026",
    "programme": "demo-programme-2026", "sl-recruiter": "demo-slrecruiter-2026",
    "dataaccess": "demo-dataaccess-2026",
}


#: Second-factor keys of demo users (the demo administrator's is published, as the README says).
DEMO_TOTP = {"admin": "GMCDEMOADMINKEYPUBLISHEDFORDEMOS"}
_used_steps: dict[tuple[str, str], int] = {}


def totp_code(database, username: str) -> str:
    """A code a demo user's authenticator would show that this database has not accepted yet.

    gmc takes each time step once, and the steps either side of now (clock drift). The current step's code and
    then the next one's stay good across a step boundary (the previous one's might not), so two sign-ins per
    30 s need no wait; a third waits for the next step, as a person would.
    """
    import time

    import pyotp

    from gmc.auth.models import User

    with database.session() as s:
        last = s.execute(sa.select(User.totp_last_step).where(User.username == username)).scalar_one()
    totp = pyotp.TOTP(DEMO_TOTP[username])
    key = (database.url, username)
    while True:
        now = totp.timecode(time.time())
        step = max(now, _used_steps.get(key, now - 1) + 1, (last if last is not None else now - 1) + 1)
        if step <= now + 1:
            _used_steps[key] = step
            return totp.generate_otp(step)
        time.sleep(1)


def wait_for_job(client, headers: dict[str, str], url: str, seconds: float = 120) -> dict:
    """Polls a background job's status_url until it has succeeded or failed; returns its last status."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job did not finish: {body}")


def wait_until_serving(base: str, *, seconds: float, log: Path | None = None) -> None:
    """Polls `base`/health until a started server answers 200; fails the test, with the server's log, if not in time."""
    import time

    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    shown = log.read_text() if log is not None and log.exists() else ""
    pytest.fail(f"the server at {base} did not answer /health within {seconds:.0f} s{': ' + shown if shown else ''}")


def web_login(client, username: str, password: str | None = None):
    """Signs a test client in through the real login form (and the second-factor form when the user has one);
    returns the last response."""
    client.get("/login")
    token = client.cookies.get("gmc_csrf")
    resp = client.post("/login", data={"username": username, "password": password or DEMO_PASSWORDS[username],
                                       "csrf_token": token, "next": "/"}, follow_redirects=False)
    if resp.status_code == 303 and resp.headers["location"].startswith("/login/second-factor"):
        code = totp_code(client.app.state.database, username)
        resp = client.post("/login/second-factor", data={"code": code, "csrf_token": token, "next": "/"},
                           follow_redirects=False)
    return resp


def api_token(client, username: str) -> dict[str, str]:
    """A bearer header for a demo user, via the OAuth2 password endpoint (with the one-time code if needed)."""
    data = {"username": username, "password": DEMO_PASSWORDS[username]}
    if username in DEMO_TOTP:
        data["otp"] = totp_code(client.app.state.database, username)
    resp = client.post("/api/auth/token", data=data)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture
def login():
    """Signs a client in as a demo user through the login form."""
    return web_login


@pytest.fixture
def bearer():
    """Returns a bearer-token header for a demo user."""
    return api_token


def pytest_unconfigure(config: pytest.Config) -> None:
    """Silences py4j at exit: it closes the Spark gateway from __del__ after the log streams are closed."""
    import logging

    logging.getLogger("py4j").disabled = True


# --------------------------------------------------------------------------------------------
# The research world (tests/research, tests/programme): the demo centres and users, the registry, samples,
# phenotype, research and programme demos (epilepsy families with spiked real exomes, South London recruitment,
# an approved project with a built release, the plans), built once per engine on first use and copied for each
# test; its variant store is shared read-only.
# --------------------------------------------------------------------------------------------
from dataclasses import dataclass as _dataclass  # noqa: E402


@_dataclass
class World:
    """A fresh copy of the research world's database and the data directory its store lives in."""

    url: str
    data_dir: Path
    store_base: Path
    #: Where releases built by this test go.
    releases: Path


def _build(url: str, data_dir: Path) -> None:
    """Loads the foundation, registry, samples, phenotype, research and programme demos (GMC_DATA_DIR=data_dir)."""
    from gmc.audit.service import Actor
    from gmc.db.core import Database
    from gmc.demo.service import DEMO_LOADERS, DemoSummary
    from gmc.phenotype.demo import load_demo as phenotype_demo
    from gmc.programme.demo import load_demo as programme_demo
    from gmc.registry.demo import load_demo as registry_demo
    from gmc.research.demo import load_demo as research_demo
    from gmc.samples.demo import load_demo as samples_demo
    from gmc.settings import reset_settings_cache

    previous = os.environ.get("GMC_DATA_DIR")
    os.environ["GMC_DATA_DIR"] = str(data_dir)
    reset_settings_cache()
    db = Database(url)
    try:
        with db.transaction() as session:
            summary = DemoSummary()
            for loader in [*DEMO_LOADERS, registry_demo, samples_demo, phenotype_demo, research_demo,
                           programme_demo]:
                loader(session, Actor.system("demo"), summary)
    finally:
        db.dispose()
        if previous is None:
            os.environ.pop("GMC_DATA_DIR", None)
        else:
            os.environ["GMC_DATA_DIR"] = previous
        reset_settings_cache()


@pytest.fixture(scope="session")
def research_templates(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Per engine, built on first use: (template database, data directory)."""
    return {}


def _template(request: pytest.FixtureRequest, engine: str) -> tuple[str, Path]:
    cache = request.getfixturevalue("research_templates")
    if engine in cache:
        return cache[engine]
    factory = request.getfixturevalue("tmp_path_factory")
    data_dir = factory.mktemp(f"research-{engine}")
    if engine == "sqlite":
        templates = request.getfixturevalue("sqlite_templates")
        path = data_dir / "world.db"
        shutil.copy(templates["empty"], path)
        _build(f"sqlite:///{path}", data_dir)
        _sqlite_checkpoint(path)
        cache[engine] = (str(path), data_dir)
    else:
        server = request.getfixturevalue("postgres_server")
        templates = request.getfixturevalue("postgres_templates")
        name = "gmc_template_research"
        server.execute_autocommit(f"CREATE DATABASE {name} TEMPLATE {templates['empty']}")
        _build(server.url(name), data_dir)
        cache[engine] = (name, data_dir)
    return cache[engine]


@pytest.fixture(params=ENGINES)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A fresh copy of the research world on each engine."""
    template, data_dir = _template(request, request.param)
    url = copy_of_template(request, request.param, template, tmp_path, "world.db")
    releases = tmp_path / "data" / "research" / "releases"
    releases.mkdir(parents=True)
    # The demo's built release, so downloads of it work from this test's data directory.
    shutil.copytree(data_dir / "research" / "releases", releases, dirs_exist_ok=True)
    (tmp_path / "data" / "variant_store").symlink_to(data_dir / "variant_store", target_is_directory=True)
    yield World(url, tmp_path / "data", data_dir / "variant_store", releases)


@pytest.fixture
def world_db(world: World):
    """A Database on the world copy."""
    from gmc.db.core import Database

    db = Database(world.url)
    yield db
    db.dispose()


@pytest.fixture
def principal_of():
    """The real principal of a (demo) user inside a session."""
    from gmc.auth.models import User
    from gmc.auth.service import principal_for

    def _principal(session, username: str):
        user = session.execute(sa.select(User).where(User.username == username)).scalar_one()
        return principal_for(session, user, auth_method="session")

    return _principal


@pytest.fixture
def world_app(world: World, world_db, refdata_dir: Path):
    """The web app over the world copy; its data directory holds the shared store and this test's releases."""
    from gmc.settings import Settings
    from gmc.web.app import create_app

    settings = Settings(database_url=world.url, data_dir=world.data_dir, environment="test", refdata=refdata_dir)
    return create_app(settings, database=world_db)


@pytest.fixture
def world_client(world_app):
    """An HTTP client for the world app (not signed in)."""
    from fastapi.testclient import TestClient

    with TestClient(world_app) as client:
        yield client
