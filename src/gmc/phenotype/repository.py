"""Every phenotype query; participant and family lookups go through the trust-scope helpers here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from gmc.phenotype.models import (
    Diagnosis,
    PedigreeFamily,
    PedigreeMember,
    PhenopacketImport,
    PhenotypeObservation,
)
from gmc.registry import repository as registry_repository
from gmc.registry.models import Family, FamilyMember, Participant, Referral


def scoped_participants(stmt: Select, trust_scope: frozenset[int] | None) -> Select:
    """Limits a participant query to the caller's trusts, by the registry's one scoping rule."""
    return registry_repository.scoped(stmt, trust_scope)


def get_participant(session: Session, participant_id: str, trust_scope: frozenset[int] | None) -> Participant | None:
    """The participant with this programme id when the scope lets the caller see them."""
    stmt = scoped_participants(select(Participant).where(Participant.participant_id == participant_id), trust_scope)
    return session.execute(stmt).scalar_one_or_none()


def get_participant_any_scope(session: Session, participant_id: str) -> Participant | None:
    """The participant with this programme id, whoever asks (to tell 'unknown' from 'outside your scope')."""
    return session.execute(select(Participant).where(Participant.participant_id == participant_id)).scalar_one_or_none()


def participants_by_programme_ids(session: Session, participant_ids: Iterable[str],
                                  trust_scope: frozenset[int] | None) -> dict[str, Participant]:
    """Visible participants keyed by programme id."""
    ids = sorted(set(participant_ids))
    if not ids:
        return {}
    stmt = scoped_participants(select(Participant).where(Participant.participant_id.in_(ids)), trust_scope)
    return {p.participant_id: p for p in session.execute(stmt).scalars()}


def participant_trust_ids(session: Session, participant_pk: int) -> set[int]:
    """Trusts the participant is referred or registered at (the registry's rule), for audit events."""
    return registry_repository.participant_trust_ids(session, participant_pk)


def referral_arms(session: Session, participant_pk: int) -> set[str]:
    """Programme arms the participant is referred to."""
    stmt = select(Referral.programme_arm).where(Referral.participant_id == participant_pk)
    return set(session.execute(stmt).scalars())


def visible_participants_query(trust_scope: frozenset[int] | None, *, text: str = "") -> Select:
    """A select of the participants in scope (not merged away), optionally by programme id prefix, for paging."""
    stmt = select(Participant).where(Participant.merged_into_id.is_(None))
    if text:
        stmt = stmt.where(Participant.participant_id.startswith(text.strip().upper(), autoescape=True))
    return scoped_participants(stmt, trust_scope)


_OBSERVED = (select(func.count(PhenotypeObservation.id))
             .where(PhenotypeObservation.participant_id == Participant.id, PhenotypeObservation.removed_at.is_(None),
                    PhenotypeObservation.excluded.is_(False)).scalar_subquery())
#: Sort keys of the participants list: by programme id, or by how many observed terms are recorded.
PARTICIPANT_ORDER = {"participant": Participant.participant_id, "observed": (_OBSERVED, Participant.participant_id)}


def visible_families(session: Session, trust_scope: frozenset[int] | None, *, limit: int = 100) -> Sequence[Family]:
    """Families with a member in scope, by family id."""
    members = scoped_participants(select(Participant.id), trust_scope)
    stmt = (select(Family).join(FamilyMember).where(FamilyMember.participant_id.in_(members))
            .order_by(Family.family_id).limit(limit))
    return session.execute(stmt).scalars().unique().all()


def observation_counts(session: Session, participant_pks: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(observed, excluded) active term counts per participant."""
    pks = list(participant_pks)
    if not pks:
        return {}
    stmt = (
        select(PhenotypeObservation.participant_id, PhenotypeObservation.excluded, func.count())
        .where(PhenotypeObservation.participant_id.in_(pks), PhenotypeObservation.removed_at.is_(None))
        .group_by(PhenotypeObservation.participant_id, PhenotypeObservation.excluded)
    )
    counts: dict[int, list[int]] = {}
    for pk, excluded, n in session.execute(stmt):
        counts.setdefault(pk, [0, 0])[1 if excluded else 0] = n
    return {pk: (c[0], c[1]) for pk, c in counts.items()}


def observations(session: Session, participant_pk: int, *, include_removed: bool = False) -> Sequence[PhenotypeObservation]:
    """A participant's observations, oldest first (removed ones too when asked)."""
    stmt = select(PhenotypeObservation).where(PhenotypeObservation.participant_id == participant_pk)
    if not include_removed:
        stmt = stmt.where(PhenotypeObservation.removed_at.is_(None))
    return session.execute(stmt.order_by(PhenotypeObservation.recorded_at, PhenotypeObservation.id)).scalars().all()


def active_observations_of(session: Session, participant_pks: Iterable[int]) -> dict[int, list[PhenotypeObservation]]:
    """Active observations of several participants at once (bulk imports)."""
    pks = list(participant_pks)
    found: dict[int, list[PhenotypeObservation]] = {pk: [] for pk in pks}
    if not pks:
        return found
    stmt = select(PhenotypeObservation).where(PhenotypeObservation.participant_id.in_(pks),
                                              PhenotypeObservation.removed_at.is_(None))
    for row in session.execute(stmt).scalars():
        found[row.participant_id].append(row)
    return found


def get_observation(session: Session, participant_pk: int, observation_id: int) -> PhenotypeObservation | None:
    """One observation of this participant."""
    stmt = select(PhenotypeObservation).where(PhenotypeObservation.id == observation_id,
                                              PhenotypeObservation.participant_id == participant_pk)
    return session.execute(stmt).scalar_one_or_none()


def diagnoses(session: Session, participant_pk: int, *, include_removed: bool = False) -> Sequence[Diagnosis]:
    """A participant's diagnoses, oldest first."""
    stmt = select(Diagnosis).where(Diagnosis.participant_id == participant_pk)
    if not include_removed:
        stmt = stmt.where(Diagnosis.removed_at.is_(None))
    return session.execute(stmt.order_by(Diagnosis.recorded_at, Diagnosis.id)).scalars().all()


def active_diagnosis_codes(session: Session, participant_pks: Iterable[int]) -> dict[int, set[str]]:
    """Codes of the active diagnoses of several participants at once (bulk imports)."""
    pks = list(participant_pks)
    found: dict[int, set[str]] = {pk: set() for pk in pks}
    if pks:
        stmt = select(Diagnosis.participant_id, Diagnosis.code).where(Diagnosis.participant_id.in_(pks),
                                                                      Diagnosis.removed_at.is_(None))
        for pk, code in session.execute(stmt):
            found[pk].add(code)
    return found


def get_diagnosis(session: Session, participant_pk: int, diagnosis_id: int) -> Diagnosis | None:
    """One diagnosis of this participant."""
    stmt = select(Diagnosis).where(Diagnosis.id == diagnosis_id, Diagnosis.participant_id == participant_pk)
    return session.execute(stmt).scalar_one_or_none()


def imports_of(session: Session, participant_pk: int) -> Sequence[PhenopacketImport]:
    """Phenopackets imported into this participant, oldest first."""
    stmt = select(PhenopacketImport).where(PhenopacketImport.participant_id == participant_pk)
    return session.execute(stmt.order_by(PhenopacketImport.imported_at, PhenopacketImport.id)).scalars().all()


def participants_of_imports(session: Session, phenopacket_ids: Iterable[str]) -> dict[str, int]:
    """Participant pk each previously imported phenopacket id was mapped to."""
    ids = sorted(set(phenopacket_ids))
    found: dict[str, int] = {}
    # Chunked so very large runs stay under database parameter limits.
    for start in range(0, len(ids), 500):
        stmt = select(PhenopacketImport.phenopacket_id, PhenopacketImport.participant_id).where(
            PhenopacketImport.phenopacket_id.in_(ids[start:start + 500])).order_by(PhenopacketImport.id)
        for packet_id, pk in session.execute(stmt):
            found.setdefault(packet_id, pk)
    return found


def programme_ids_taken(session: Session, candidates: Iterable[str]) -> set[str]:
    """Which of these programme participant ids are already used."""
    ids = sorted(set(candidates))
    if not ids:
        return set()
    return set(session.execute(select(Participant.participant_id).where(Participant.participant_id.in_(ids))).scalars())


# -- families and pedigrees ----------------------------------------------------------------------------------


def get_family(session: Session, family_id: str) -> Family | None:
    """The family with this programme family id."""
    return session.execute(select(Family).where(Family.family_id == family_id)).scalar_one_or_none()


def family_visible(session: Session, family: Family, trust_scope: frozenset[int] | None) -> bool:
    """True when a member of the family (or the proband) is visible in the scope."""
    if trust_scope is None:
        return True
    member_ids = select(FamilyMember.participant_id).where(FamilyMember.family_id == family.id)
    stmt = scoped_participants(
        select(func.count()).select_from(Participant).where(
            or_(Participant.id.in_(member_ids), Participant.id == family.proband_id)),
        trust_scope,
    )
    return session.execute(stmt).scalar_one() > 0


def families_of(session: Session, participant_pk: int) -> Sequence[Family]:
    """Families the participant belongs to."""
    stmt = select(Family).join(FamilyMember).where(FamilyMember.participant_id == participant_pk).order_by(Family.id)
    return session.execute(stmt).scalars().unique().all()


def rare_disease_families(session: Session) -> Sequence[Family]:
    """Families with at least one rare-disease referral (for the demo)."""
    arm = select(Referral.participant_id).where(Referral.programme_arm == "rare_disease")
    stmt = (select(Family).join(FamilyMember).where(FamilyMember.participant_id.in_(arm))
            .order_by(Family.family_id))
    return session.execute(stmt).scalars().unique().all()


def pedigree_members(session: Session, family_pk: int) -> Sequence[PedigreeMember]:
    """The stored pedigree of a family, in file order."""
    stmt = select(PedigreeMember).where(PedigreeMember.family_id == family_pk).order_by(
        PedigreeMember.position, PedigreeMember.id)
    return session.execute(stmt).scalars().all()


def pedigree_family(session: Session, family_pk: int) -> PedigreeFamily | None:
    """A family's pedigree details (consanguinity), if recorded."""
    return session.execute(select(PedigreeFamily).where(PedigreeFamily.family_id == family_pk)).scalar_one_or_none()


def participants_by_pk(session: Session, pks: Iterable[int]) -> dict[int, Participant]:
    """Participants keyed by primary key."""
    ids = sorted(set(pks))
    if not ids:
        return {}
    return {p.id: p for p in session.execute(select(Participant).where(Participant.id.in_(ids))).scalars()}
