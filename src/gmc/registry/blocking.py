"""Blocking keys of live participants, kept in step with the records by the session itself.

Registration looks for possible matches among the records that share a blocking key with the new person (the keys
of gmc.registry.linkage, the same ones the dedupe of a CSV uses), through an indexed table, instead of scanning a
capped, unordered slice of the register. After every flush that adds or changes a participant, its keys are
rewritten (a merged record has none: it is no longer a candidate).
"""

from __future__ import annotations

from sqlalchemy import delete, event, insert
from sqlalchemy.orm import Session

from gmc.db.core import GmcSession
from gmc.registry.linkage import PersonRecord, blocking_keys, prepare
from gmc.registry.models import Participant, ParticipantBlockKey

_SEX = {"female": "F", "male": "M", "other": "O"}


def person_keys(*, nhs_number: str | None, family_name: str, given_name: str, date_of_birth, sex: str | None,
                postcode: str | None) -> set[str]:
    """The blocking keys of a person's demographics, as stored."""
    record = PersonRecord(record_id="", nhs_number=nhs_number, family_name=family_name, given_name=given_name,
                          date_of_birth=date_of_birth, sex=_SEX.get(sex or ""), postcode=postcode)
    return {"|".join(key) for key in blocking_keys(prepare(record))}


def participant_keys(participant: Participant) -> set[str]:
    """The blocking keys of a live participant (none once merged)."""
    if participant.merged_into_id is not None:
        return set()
    return person_keys(nhs_number=participant.nhs_number, family_name=participant.family_name,
                       given_name=participant.given_name, date_of_birth=participant.date_of_birth,
                       sex=participant.sex, postcode=participant.postcode)


def rewrite_keys(connection, participants: list[Participant]) -> None:  # noqa: ANN001
    """Replaces the stored keys of these participants."""
    ids = [p.id for p in participants if p.id is not None]
    if not ids:
        return
    connection.execute(delete(ParticipantBlockKey).where(ParticipantBlockKey.participant_id.in_(ids)))
    rows = [{"participant_id": p.id, "key": key} for p in participants if p.id is not None
            for key in sorted(participant_keys(p))]
    if rows:
        connection.execute(insert(ParticipantBlockKey), rows)


@event.listens_for(GmcSession, "after_flush")
def _keep_keys_in_step(session: Session, _context) -> None:  # noqa: ANN001
    changed = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, Participant)]
    if changed:
        rewrite_keys(session.connection(), changed)
