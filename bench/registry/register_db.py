"""Benchmark: candidate retrieval of registration against a database register (the path of POST /api/participants).

Loads the first record of each generated person into a fresh, migrated SQLite database (the register), then
registers a sample of the other records (true duplicates with 0-2 errors each) through
gmc.registry.service.find_matches, and reports how often the person's existing record is among the candidates
read from the database (retrieval recall), among the matches returned (match recall), and the time per
registration check. `--retrieval legacy` measures the query it replaced (any shared birth year, name or postcode,
`LIMIT 5000` in storage order), kept here only to compare; `blocks` is the blocking-key index gmc uses.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from gmc.bootstrap import load_models
from gmc.db.core import Database
from gmc.db.migrate import upgrade
from gmc.registry import repository, service
from gmc.registry.models import Participant

_spec = importlib.util.spec_from_file_location("registry_generate", Path(__file__).with_name("generate.py"))
assert _spec and _spec.loader
generate_module = importlib.util.module_from_spec(_spec)
sys.modules["registry_generate"] = generate_module
_spec.loader.exec_module(generate_module)

_SEX = {"F": "female", "M": "male", "O": "other"}


def _legacy_candidates(session, person: service.PersonInput, limit: int = 5000):  # noqa: ANN001, ANN202
    """The candidate query registration used before the blocking-key index (for comparison only)."""
    conditions = []
    if person.nhs_number:
        conditions.append(Participant.nhs_number == person.nhs_number)
    if person.date_of_birth:
        dob = person.date_of_birth
        conditions.append(Participant.date_of_birth.between(date(dob.year - 1, 1, 1), date(dob.year + 1, 12, 31)))
    conditions.append(sa.func.upper(Participant.family_name) == person.family_name.upper())
    conditions.append(sa.func.upper(Participant.given_name) == person.given_name.upper())
    conditions.append(sa.func.upper(Participant.family_name) == person.given_name.upper())
    if person.postcode:
        conditions.append(Participant.postcode == person.postcode)
    stmt = sa.select(Participant).where(Participant.merged_into_id.is_(None), sa.or_(*conditions)).limit(limit)
    return session.execute(stmt).scalars().all()


def _person(row: dict[str, str]) -> service.PersonInput | None:
    """A generated record as registration cleans it (None when registration would refuse it, e.g. a typo putting
    the birth date in the future)."""
    born = row.get("date_of_birth") or ""
    try:
        return service.clean_person(service.PersonInput(
            row["family_name"], row["given_name"], date.fromisoformat(born) if born else None,
            _SEX.get(row.get("sex") or "", "unknown"), row.get("nhs_number") or None, row.get("postcode") or None))
    except (ValueError, service.ValidationFailed):
        return None


def main() -> None:
    """Runs one benchmark and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--probes", type=int, default=1000, help="duplicate records registered as probes")
    parser.add_argument("--retrieval", choices=["blocks", "legacy"], default="blocks")
    args = parser.parse_args()

    generated = generate_module.generate(args.records, seed=args.seed)
    first: dict[str, dict[str, str]] = {}
    probes: list[dict[str, str]] = []
    for row in generated.records:
        if _person(row) is None:
            continue
        if row["true_person_id"] in first:
            probes.append(row)
        else:
            first[row["true_person_id"]] = row
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'register.db'}"
        upgrade(url)
        load_models()
        db = Database(url)
        now = datetime.now(UTC)
        pk_of: dict[str, int] = {}
        start = time.perf_counter()
        with db.transaction() as s:
            seen_nhs: set[str] = set()
            for n, row in enumerate(first.values()):
                p = _person(row)
                assert p is not None
                nhs = p.nhs_number if p.nhs_number not in seen_nhs else None
                seen_nhs.add(nhs or "")
                record = Participant(participant_id=f"P{n:08d}", nhs_number=nhs, family_name=p.family_name,
                                     given_name=p.given_name, date_of_birth=p.date_of_birth, sex=p.sex,
                                     postcode=p.postcode, created_at=now, updated_at=now)
                s.add(record)
                if n % 2000 == 1999:
                    s.flush()
            s.flush()
            pk_of = {person_id: pk for person_id, pk in zip(
                first, s.execute(sa.select(Participant.id).order_by(Participant.id)).scalars(), strict=True)}
        load = time.perf_counter() - start
        sample = random.Random(args.seed).sample(probes, min(args.probes, len(probes)))
        retrieved = matched = 0
        times = []
        with db.session() as s:
            for row in sample:
                person = _person(row)
                assert person is not None
                t0 = time.perf_counter()
                if args.retrieval == "blocks":
                    matches = [m.participant for m in service.find_matches(s, person)]
                else:
                    candidates = _legacy_candidates(s, person)
                    by_id = {str(c.id): c for c in candidates}
                    index = service.LinkageIndex(service._person_record(c) for c in candidates)
                    new = service.PersonRecord(record_id="new", nhs_number=person.nhs_number,
                                               family_name=person.family_name, given_name=person.given_name,
                                               date_of_birth=person.date_of_birth,
                                               sex={"female": "F", "male": "M"}.get(person.sex),
                                               postcode=person.postcode)
                    matches = [by_id[r.other_record_id] for r in index.find_matches(new, limit=10)]
                times.append(time.perf_counter() - t0)
                if args.retrieval == "blocks":
                    keys = service.blocking.person_keys(
                        nhs_number=person.nhs_number, family_name=person.family_name, given_name=person.given_name,
                        date_of_birth=person.date_of_birth, sex=person.sex, postcode=person.postcode)
                    candidates = repository.linkage_candidates(s, keys,
                                                               max_block_size=service.LinkageIndex().max_block_size)
                target = pk_of[row["true_person_id"]]
                retrieved += target in {c.id for c in candidates}
                matched += target in {m.id for m in matches}
        db.dispose()
    n = len(sample)
    times.sort()
    print(f"seed {args.seed}: register of {len(first):,} people (loaded in {load:.1f} s), {n:,} duplicate records "
          f"registered, retrieval {args.retrieval}")
    print(f"the person's record retrieved as a candidate: {retrieved}/{n} ({retrieved / n:.4f}); among the matches "
          f"returned: {matched}/{n} ({matched / n:.4f})")
    print(f"per registration check: median {statistics.median(times) * 1000:.1f} ms, "
          f"p90 {times[int(0.9 * (n - 1))] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
