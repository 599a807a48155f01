"""Registry test helpers: principals of the demo users."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gmc.auth.models import User
from gmc.auth.service import principal_for


@pytest.fixture
def principal_of():
    """Returns the principal of a demo user inside a session."""

    def _principal(session, username: str):
        user = session.execute(sa.select(User).where(User.username == username)).scalar_one()
        return principal_for(session, user, auth_method="session")

    return _principal


def adt_text(event: str, control: str, pid: str, facility: str = "RRK", extra: str = "") -> str:
    """An HL7 v2 ADT message of a trust's PAS."""
    structure = {"A04": "ADT_A01", "A08": "ADT_A01", "A40": "ADT_A39"}[event]
    segs = [f"MSH|^~\\&|PAS|{facility}|GMC_REGISTRY|GMC|20250314093012||ADT^{event}^{structure}|{control}|P|2.4",
            f"EVN|{event}|20250314093000", pid]
    if extra:
        segs.append(extra)
    return "\r".join(segs) + "\r"


@pytest.fixture
def adt():
    """Builds an HL7 ADT message: adt(event, control id, PID segment, facility=..., extra=...)."""
    return adt_text


@pytest.fixture
def hl7_feed(demo_client, bearer, demo_database):
    """Binds a facility to its trust with a new service user's token, as an admin of that trust's centre (a
    South London admin is made when needed); returns the feed's bearer headers."""
    from gmc.audit.service import Actor
    from gmc.auth.service import create_token, create_user
    from gmc.organisations.models import Trust

    def _feed(facility: str, trust: str | None = None) -> dict[str, str]:
        trust = trust or facility
        with demo_database.transaction() as s:
            centre = s.execute(sa.select(Trust).where(Trust.code == trust)).scalar_one().centre.code
            admin, secret = "admin", None
            if centre != "WMGMC":
                admin = f"admin-{centre.lower()}"
                found = s.execute(sa.select(User).where(User.username == admin)).scalar_one_or_none()
                if found is None:
                    found = create_user(s, actor=Actor.system("test"), username=admin, password="centre-admin-2026",
                                        roles=["admin"], centre_code=centre, centre_wide=True)
                # Admins sign in with a second factor; this one's token is made as the command line makes it.
                secret = create_token(s, actor=Actor.system("test"), user=found, name="test", days=1)[1]
        headers = bearer(demo_client, "admin") if secret is None else {"Authorization": f"Bearer {secret}"}
        user = f"pas-{facility.lower()}"
        made = demo_client.post("/api/users", headers=headers, json={
            "username": user, "password": "feed-password-2026", "roles": ["recruiter"], "centre_code": centre,
            "trust_codes": [trust]})
        assert made.status_code == 201, made.text
        bound = demo_client.post("/api/hl7/interfaces", headers=headers,
                                 json={"facility": facility, "trust_code": trust, "username": user})
        assert bound.status_code == 201, bound.text
        return {"Authorization": f"Bearer {bound.json()['token']}", "content-type": "text/plain"}

    return _feed


@pytest.fixture
def other_gmc(request, demo_db_url, make_settings, tmp_path):
    """A second gmc installation (its own demo database on the same engine, its own app), as a test client."""
    import shutil

    from fastapi.testclient import TestClient

    from gmc.db.core import Database
    from gmc.web.app import create_app

    if demo_db_url.startswith("sqlite"):
        target = tmp_path / "other.db"
        shutil.copy(request.getfixturevalue("sqlite_templates")["demo"], target)
        url = f"sqlite:///{target}"
    else:
        server = request.getfixturevalue("postgres_server")
        template = request.getfixturevalue("postgres_templates")["demo"]
        name = server.new_database_name()
        server.execute_autocommit(f"CREATE DATABASE {name} TEMPLATE {template}")
        url = server.url(name)
    database = Database(url)
    settings = make_settings(url)
    settings.data_dir = tmp_path / "other-data"
    with TestClient(create_app(settings, database=database)) as client:
        yield client, database
    database.dispose()
