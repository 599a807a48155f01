"""Schemathesis against the OpenAPI schema: every operation, a bounded number of generated requests, no 5xx.

The app runs in-process over a copy of the full demo centre (SQLite), as an administrator (the widest
permissions), with a fresh API token for every request so that operations which revoke tokens cannot shut the
rest out. Generation is derandomised: the same requests every run, so a failure reproduces.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from gmc.audit.service import Actor
from gmc.auth import repository as auth_repository
from gmc.auth import service as auth_service
from gmc.db.core import Database
from gmc.settings import Settings
from gmc.web.app import create_app

#: Generated requests per operation: about 130 operations x 4 keeps the run to a few minutes of `make test`
#: (raise it locally when changing an API: 25 per operation found the errors fixed with this test).
EXAMPLES_PER_OPERATION = 4
#: Seconds a request may take: this test looks for server errors, not speed (a loaded CI machine is slow).
REQUEST_TIMEOUT = 300
FUZZ_ADMIN = "fuzz-admin"


_ROOT = Path(tempfile.mkdtemp(prefix="gmc-fuzz-"))
_URL = f"sqlite:///{_ROOT / 'gmc.db'}"
# The app is made at import so that Schemathesis can read its schema while collecting (it needs no database for
# that); the fixture below fills the database before the first request.
_SETTINGS = Settings(database_url=_URL, data_dir=_ROOT / "data", environment="test", _env_file=None,
                     audit_checkpoint_file=_ROOT / "checkpoints.jsonl")
APP = create_app(_SETTINGS, database=Database(_URL, settings=_SETTINGS))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def fuzz_app(sqlite_full_demo: Path):
    """The app over its own copy of the full demo centre, with an administrator for the fuzzer."""
    # Reading the schema ran the app's start-up, which looked at the (then empty) database: let go of it first.
    APP.state.database.dispose()
    for leftover in (_ROOT / "gmc.db-wal", _ROOT / "gmc.db-shm"):
        leftover.unlink(missing_ok=True)
    shutil.copy(sqlite_full_demo, _ROOT / "gmc.db")
    with APP.state.database.transaction() as session:
        auth_service.create_user(session, actor=Actor.system("test"), username=FUZZ_ADMIN,
                                 password="fuzzing-lantern-meadow", roles=["admin"], centre_code="WMGMC",
                                 centre_wide=True)
    yield APP
    APP.state.database.dispose()
    shutil.rmtree(_ROOT, ignore_errors=True)


def _fresh_token(app) -> str:
    database = app.state.database
    with database.transaction() as session:
        user = auth_repository.get_user_by_username(session, FUZZ_ADMIN)
        _, secret = auth_service.create_token(session, actor=Actor.system("test"), user=user, name="fuzz", days=1)
    return secret


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_with_a_server_error(case, fuzz_app) -> None:
    response = case.call(headers={"Authorization": f"Bearer {_fresh_token(fuzz_app)}"}, timeout=REQUEST_TIMEOUT)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query or ''} -> {response.status_code}: {response.text[:400]}")
