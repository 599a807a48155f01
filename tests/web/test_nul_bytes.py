"""A NUL byte in a path, a query or a JSON field is bad input (422 or 404), never a server error, on both
engines (PostgreSQL cannot store one in text, SQLite can)."""

from __future__ import annotations

import sqlalchemy as sa

from gmc.registry.models import Participant


def test_nul_bytes_are_refused_not_500(demo_client, bearer, demo_database) -> None:
    h = bearer(demo_client, "admin")
    paths = ("/api/participants/%00", "/api/cases/%00", "/api/samples/%00", "/api/participants?q=a%00b",
             "/participants/%00", "/api/genomes/cases/%00/datasets", "/api/jobs/%00")
    statuses = {path: demo_client.get(path, headers=h).status_code for path in paths}
    assert all(s < 500 for s in statuses.values()), statuses
    assert all(s in (404, 422) for path, s in statuses.items() if "?" not in path), statuses
    resp = demo_client.post("/api/participants", headers=h, json={
        "family_name": "Nul", "given_name": "A\x00B", "date_of_birth": "1980-01-01", "sex": "female",
        "trust_code": "RRK"})
    assert resp.status_code in (201, 422), resp.text
    with demo_database.session() as s:
        stored = s.execute(sa.select(Participant.given_name).where(Participant.family_name == "Nul")).scalars().all()
    assert resp.status_code == 201 or stored == []
