"""The demo centre as `make demo` loads it: organisations, users and each feature's data."""

from __future__ import annotations

import sqlalchemy as sa

from gmc.audit.chain import verify_chain
from gmc.db.core import Database
from gmc.demo.service import load_demo
from gmc.organisations.models import Centre, Trust
from gmc.registry.models import Consent, DuplicateCandidate, Family, Participant, Referral


def _count(s, stmt) -> int:
    return s.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()


def test_full_demo_centre(full_demo_db_url: str) -> None:
    db = Database(full_demo_db_url)
    try:
        with db.transaction() as s:
            wm = s.execute(sa.select(Centre).where(Centre.code == "WMGMC")).scalar_one()
            assert len(wm.trusts) == 18
            assert _count(s, sa.select(Trust).join(Centre).where(Centre.code == "SLGMC")) == 4
            assert _count(s, sa.select(Participant)) >= 300
            arms = dict(s.execute(sa.select(Referral.programme_arm, sa.func.count()).group_by(Referral.programme_arm)).all())
            assert arms["rare_disease"] >= 50 and arms["cancer"] >= 50
            used = dict(s.execute(sa.select(Centre.code, sa.func.count(sa.distinct(Referral.trust_id)))
                                  .join(Trust, Trust.id == Referral.trust_id).join(Centre, Centre.id == Trust.centre_id)
                                  .group_by(Centre.code)).all())
            assert used["WMGMC"] == 18 and used["SLGMC"] >= 2  # referrals at every West Midlands trust, and in London
            assert _count(s, sa.select(Family)) >= 50
            assert _count(s, sa.select(Consent).where(Consent.status == "withdrawn")) >= 3
            assert _count(s, sa.select(DuplicateCandidate).where(DuplicateCandidate.status == "open")) >= 3
            assert verify_chain(s).ok
        with db.transaction() as s:
            before = _count(s, sa.select(Participant))
            load_demo(s)
        with db.transaction() as s:
            assert _count(s, sa.select(Participant)) == before
            assert verify_chain(s).ok
    finally:
        db.dispose()


def test_demo_scoping_differs_by_user(full_demo_db_url: str, make_settings, login) -> None:
    from fastapi.testclient import TestClient

    from gmc.web.app import create_app

    db = Database(full_demo_db_url)
    app = create_app(make_settings(full_demo_db_url), database=db)
    try:
        with TestClient(app) as admin, TestClient(app) as recruiter, TestClient(app) as south:
            login(admin, "admin")
            login(recruiter, "recruiter")
            login(south, "sl-recruiter")

            def total(client) -> int:
                import re

                return int(re.search(r"\((\d+) at your trusts\)", client.get("/participants").text).group(1))

            assert total(admin) >= 300
            assert 0 < total(recruiter) < total(admin)
            assert 0 < total(south) < total(admin)  # South London's own recruits (the research demo's), not West Midlands
    finally:
        db.dispose()
