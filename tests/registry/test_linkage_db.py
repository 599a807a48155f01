"""Registration finds every candidate through the blocking-key index, however large the register, and a live NHS
number is unique in the database itself; both engines."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from gmc.registry import service
from gmc.registry.models import Participant, ParticipantBlockKey


def _person(n: int, rng: random.Random, now: datetime, **fields) -> Participant:
    values = {"participant_id": f"P{n:08d}", "family_name": f"Fam{rng.randrange(10**6):06d}",
              "given_name": rng.choice(["Amara", "Ben", "Chloe", "Dev", "Ewa"]), "sex": "female",
              "date_of_birth": date(1980, 1 + n % 12, 1 + n % 28), "created_at": now, "updated_at": now}
    values.update(fields)
    return Participant(**values)


def test_the_true_match_is_found_in_a_large_birth_year(demo_database, principal_of) -> None:
    rng, now = random.Random(7), datetime.now(UTC)
    with demo_database.transaction() as s:
        # 6,000 people born in 1980, most named Amara: the old candidate query (same birth year or same given name,
        # LIMIT 5000 in storage order) never reached a record registered after them.
        s.add_all(_person(n, rng, now) for n in range(6000))
        s.flush()
        s.add(_person(6000, rng, now, family_name="Okafor", given_name="Amara", date_of_birth=date(1980, 3, 14),
                      postcode="B15 2TT"))
    with demo_database.transaction() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(ParticipantBlockKey)).scalar_one() > 6000 * 3
        person = service.PersonInput("Okafur", "Amara", date(1980, 3, 14), "female", None, "B15 2TT", None, None)
        matches = service.find_matches(s, person)
        assert [m.participant.participant_id for m in matches][:1] == ["P00006000"]


def test_a_live_nhs_number_is_unique_in_the_database(demo_database) -> None:
    rng, now = random.Random(1), datetime.now(UTC)
    with demo_database.transaction() as s:
        first = _person(1, rng, now, nhs_number="9434765919")
        s.add(first)
        s.flush()
        merged = _person(2, rng, now, nhs_number="9434765919", merged_into_id=first.id)
        s.add(merged)  # a merged record keeps its number: only live ones must differ
    with pytest.raises(sa.exc.IntegrityError), demo_database.transaction() as s:
        s.add(_person(3, rng, now, nhs_number="9434765919"))
        s.flush()
    with demo_database.transaction() as s:
        keys = set(s.execute(sa.select(ParticipantBlockKey.key).join(Participant).where(
            Participant.participant_id == "P00000002")).scalars())
        assert keys == set()  # a merged record is no candidate
