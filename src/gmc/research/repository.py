"""Every research query: the participants in scope and their facts, phenotypes, diagnoses, tumour types and
genome datasets (read in bulk), and the projects, cohorts, releases and recall entries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from gmc.genomics.models import GenomeDataset
from gmc.interpretation.models import InterpretationRun
from gmc.organisations.models import Centre, Trust
from gmc.phenotype.models import Diagnosis, PhenotypeObservation
from gmc.registry import repository as registry_repo
from gmc.registry.models import Case, Family, FamilyMember, Participant, Referral, TrustRegistration
from gmc.research.models import (
    Cohort,
    CohortVersion,
    DataRelease,
    RecallEntry,
    ReleaseMember,
    ResearchProject,
)

#: Above this many HPO ids a query reads every observed term and filters in memory instead of a long IN list.
_IN_LIMIT = 900


def _chunks(values: Sequence[Any], size: int = _IN_LIMIT) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


# ----------------------------------------------------------------------------- participants


def participants_in_scope(session: Session, trust_scope: frozenset[int] | None) -> list[int]:
    """Primary keys of living records (not merged into another) referred or registered at trusts in scope."""
    stmt = registry_repo.scoped(select(Participant.id).where(Participant.merged_into_id.is_(None)), trust_scope)
    return list(session.execute(stmt).scalars())


def candidates(session: Session, trust_scope: frozenset[int] | None, *, sexes: Sequence[str] = (),
               arms: Sequence[str] = (), term_sets: Sequence[frozenset[str]] = (), hpo_match: str = "all",
               disease_codes: Sequence[str] = (), tumour_typed: bool = False) -> tuple[Select, list[frozenset[str]]]:
    """The living participants in scope meeting the registry and phenotype criteria, as one query of their keys.

    Sex ("unknown" also matches a blank sex), any referral in one of the arms, observed (not excluded, not removed)
    terms of each set ("all") or of any set ("any"), and a suspected or confirmed diagnosis with one of the codes,
    and (tumour_typed) a cancer referral or a finished somatic run, without which nobody has a tumour type; all in
    SQL so that only candidates are read. Returns the query and the term sets too large for an IN list
    (after dropping terms nobody has), which with_observed_terms applies to the candidates.
    """
    stmt = registry_repo.scoped(select(Participant.id).where(Participant.merged_into_id.is_(None)), trust_scope)
    if sexes:
        sex = Participant.sex.in_(list(sexes))
        stmt = stmt.where(or_(sex, Participant.sex == "") if "unknown" in sexes else sex)
    if arms:
        stmt = stmt.where(exists().where(Referral.participant_id == Participant.id,
                                         Referral.programme_arm.in_(list(arms))))
    if disease_codes:
        stmt = stmt.where(exists().where(Diagnosis.participant_id == Participant.id,
                                         Diagnosis.code.in_(list(disease_codes)),
                                         Diagnosis.status.in_(("suspected", "confirmed")),
                                         Diagnosis.removed_at.is_(None)))
    if tumour_typed:
        stmt = stmt.where(or_(
            exists().where(Referral.participant_id == Participant.id, Referral.programme_arm == "cancer"),
            exists().where(Case.proband_id == Participant.id, InterpretationRun.case_id == Case.id,
                           InterpretationRun.kind == "somatic", InterpretationRun.status == "done")))
    sets = [frozenset().union(*term_sets)] if hpo_match == "any" and term_sets else list(term_sets)
    clauses, too_large = [], []
    observed: set[str] | None = None
    for terms in sets:
        if len(terms) > _IN_LIMIT:
            observed = observed_term_ids(session) if observed is None else observed
            terms = terms & observed
        if len(terms) > _IN_LIMIT:
            too_large.append(terms)
        else:
            clauses.append(exists().where(PhenotypeObservation.participant_id == Participant.id,
                                          PhenotypeObservation.removed_at.is_(None),
                                          PhenotypeObservation.excluded.is_(False),
                                          PhenotypeObservation.hpo_id.in_(sorted(terms))))
    if clauses:
        stmt = stmt.where(and_(*clauses))
    return stmt, too_large


def observed_term_ids(session: Session) -> set[str]:
    """Every HPO id observed (not excluded, not removed) in anyone."""
    return set(session.execute(select(PhenotypeObservation.hpo_id).distinct().where(
        PhenotypeObservation.removed_at.is_(None), PhenotypeObservation.excluded.is_(False))).scalars())


def recruitment_ages(session: Session, pks: Select | Sequence[int]) -> dict[int, tuple[date | None, date | None]]:
    """Participant -> (date of birth, first referral date), the two dates an age at recruitment needs."""
    stmt = (select(Participant.id, Participant.date_of_birth, func.min(Referral.referral_date))
            .outerjoin(Referral, Referral.participant_id == Participant.id).group_by(Participant.id,
                                                                                   Participant.date_of_birth))
    if isinstance(pks, Select):
        return {pk: (born, first) for pk, born, first in session.execute(stmt.where(
            Participant.id.in_(pks.scalar_subquery())))}
    out: dict[int, tuple[date | None, date | None]] = {}
    for chunk in _chunks(list(pks)):
        out.update({pk: (born, first) for pk, born, first in session.execute(stmt.where(
            Participant.id.in_(chunk)))})
    return out


def owners_of_samples(session: Session, samples: dict[str, set[str]], among: Select | set[int]) -> set[int]:
    """The participants (of `among`: a query of keys or a set) whose germline datasets are these store samples
    (build -> samples). The candidates' datasets are read as three columns and matched in memory: a common gene's
    carriers are most of a store, too many for IN lists."""
    stmt = select(GenomeDataset.participant_id, GenomeDataset.build, GenomeDataset.store_sample).where(
        GenomeDataset.kind.in_(GERMLINE_KINDS), GenomeDataset.build.in_(sorted(samples)))
    if isinstance(among, Select):
        rows = list(session.execute(stmt.where(GenomeDataset.participant_id.in_(among.scalar_subquery()))))
    else:
        rows = []
        for chunk in _chunks(sorted(among)):
            rows += list(session.execute(stmt.where(GenomeDataset.participant_id.in_(chunk))))
    return {pk for pk, build, sample in rows if sample in samples[build]}


@dataclass(frozen=True)
class ParticipantFacts:
    """What research may know of a participant, before pseudonymisation (identifiers stay in here)."""

    pk: int
    participant_id: str
    sex: str
    date_of_birth: date | None
    deceased: bool
    #: First referral date (recruitment), its arms, centre code and the cancer types named on referrals.
    recruited_on: date | None
    arms: tuple[str, ...]
    centre: str | None
    indications: tuple[str, ...]


def participant_facts(session: Session, pks: Iterable[int]) -> dict[int, ParticipantFacts]:
    """Facts of many participants: sex, birth, death, recruitment date, arms and centre."""
    ids = list(pks)
    people: dict[int, tuple[str, str, date | None, bool]] = {}
    referrals: dict[int, list[tuple[date, str, str, str]]] = {}
    registered: dict[int, str] = {}
    for chunk in _chunks(ids):
        for row in session.execute(select(Participant.id, Participant.participant_id, Participant.sex,
                                          Participant.date_of_birth, Participant.date_of_death)
                                   .where(Participant.id.in_(chunk))):
            people[row[0]] = (row[1], row[2], row[3], row[4] is not None)
        stmt = (select(Referral.participant_id, Referral.referral_date, Referral.programme_arm,
                       Referral.clinical_indication, Centre.code)
                .join(Trust, Trust.id == Referral.trust_id).join(Centre, Centre.id == Trust.centre_id)
                .where(Referral.participant_id.in_(chunk)))
        for pk, on, arm, indication, centre in session.execute(stmt):
            referrals.setdefault(pk, []).append((on, arm, indication, centre))
        stmt = (select(TrustRegistration.participant_id, Centre.code)
                .join(Trust, Trust.id == TrustRegistration.trust_id).join(Centre, Centre.id == Trust.centre_id)
                .where(TrustRegistration.participant_id.in_(chunk)).order_by(TrustRegistration.registered_at))
        for pk, centre in session.execute(stmt):
            registered.setdefault(pk, centre)
    out = {}
    for pk, (pid, sex, born, deceased) in people.items():
        refs = sorted(referrals.get(pk, []))
        out[pk] = ParticipantFacts(
            pk=pk, participant_id=pid, sex=sex or "unknown", date_of_birth=born, deceased=deceased,
            recruited_on=refs[0][0] if refs else None, arms=tuple(sorted({r[1] for r in refs})),
            centre=refs[0][3] if refs else registered.get(pk),
            indications=tuple(r[2] for r in refs if r[1] == "cancer"))
    return out


def with_observed_terms(session: Session, term_ids: frozenset[str], among: set[int]) -> set[int]:
    """Participants (of `among`) with an active, observed (not excluded) term in the set."""
    found: set[int] = set()
    base = select(PhenotypeObservation.participant_id, PhenotypeObservation.hpo_id).where(
        PhenotypeObservation.removed_at.is_(None), PhenotypeObservation.excluded.is_(False))
    if len(term_ids) <= _IN_LIMIT:
        rows = session.execute(base.where(PhenotypeObservation.hpo_id.in_(sorted(term_ids))))
    else:
        rows = session.execute(base)
    for pk, hpo_id in rows:
        if pk in among and hpo_id in term_ids:
            found.add(pk)
    return found


def referral_indications(session: Session, pks: Iterable[int]) -> list[tuple[int, str, str]]:
    """(participant, arm, clinical indication) of every referral of the participants, oldest first."""
    out: list[tuple[int, str, str]] = []
    for chunk in _chunks(list(pks)):
        stmt = (select(Referral.participant_id, Referral.programme_arm, Referral.clinical_indication)
                .where(Referral.participant_id.in_(chunk)).order_by(Referral.referral_date, Referral.id))
        out += [(pk, arm, text) for pk, arm, text in session.execute(stmt)]
    return sorted(out, key=lambda r: r[0])  # stable: each participant's referrals stay oldest first


def cancer_indications(session: Session, among: Select | set[int]) -> dict[int, tuple[str, ...]]:
    """Participant (every one of `among`) -> the clinical indications of their cancer referrals, oldest first
    (ordered as participant_facts orders them)."""
    stmt = select(Referral.participant_id, Referral.referral_date, Referral.clinical_indication).where(
        Referral.programme_arm == "cancer")
    rows: list[tuple[int, date, str]] = []
    if isinstance(among, Select):
        pks = set(session.execute(among).scalars())
        rows = list(session.execute(stmt.where(Referral.participant_id.in_(among.scalar_subquery()))))
    else:
        pks = set(among)
        for chunk in _chunks(sorted(pks)):
            rows += list(session.execute(stmt.where(Referral.participant_id.in_(chunk))))
    found: dict[int, list[tuple[date, str]]] = {pk: [] for pk in pks}
    for pk, on, indication in rows:
        found[pk].append((on, indication))
    return {pk: tuple(text for _, text in sorted(refs)) for pk, refs in found.items()}


def somatic_tumour_types(session: Session) -> dict[int, str]:
    """Participant -> OncoTree code of their latest finished somatic interpretation run."""
    stmt = (select(Case.proband_id, InterpretationRun.inputs, InterpretationRun.id)
            .join(Case, Case.id == InterpretationRun.case_id)
            .where(InterpretationRun.kind == "somatic", InterpretationRun.status == "done")
            .order_by(InterpretationRun.id))
    out: dict[int, str] = {}
    for pk, inputs, _ in session.execute(stmt):
        code = (inputs or {}).get("tumour_type")
        if code:
            out[pk] = str(code)
    return out


@dataclass(frozen=True)
class DatasetRow:
    """A germline genome dataset of a participant, as research needs it."""

    participant_pk: int
    dataset_id: str
    store_sample: str
    build: str
    kind: str
    n_variants: int
    qc: dict[str, Any]
    status: str


#: Dataset kinds whose calls are the participant's own germline genome.
GERMLINE_KINDS = ("germline", "normal")


def germline_datasets(session: Session, pks: Iterable[int] | None = None) -> list[DatasetRow]:
    """Germline datasets (of the given participants, or all), oldest first."""
    stmt = (select(GenomeDataset.participant_id, GenomeDataset.dataset_id, GenomeDataset.store_sample,
                   GenomeDataset.build, GenomeDataset.kind, GenomeDataset.n_variants, GenomeDataset.qc,
                   GenomeDataset.status)
            .where(GenomeDataset.kind.in_(GERMLINE_KINDS)).order_by(GenomeDataset.id))
    rows = [DatasetRow(*r) for r in session.execute(stmt)]
    if pks is None:
        return rows
    wanted = set(pks)
    return [r for r in rows if r.participant_pk in wanted]


def family_places(session: Session, pks: Iterable[int]) -> dict[int, tuple[str, str, str]]:
    """Participant -> (family id, relation to the proband, affected status) for family members."""
    out: dict[int, tuple[str, str, str]] = {}
    for chunk in _chunks(list(pks)):
        stmt = (select(FamilyMember.participant_id, Family.family_id, FamilyMember.relation, FamilyMember.affected)
                .join(Family, Family.id == FamilyMember.family_id).where(FamilyMember.participant_id.in_(chunk))
                .order_by(Family.id))
        for pk, family_id, relation, affected in session.execute(stmt):
            out.setdefault(pk, (family_id, relation, affected))
        stmt = select(Family.proband_id, Family.family_id).where(Family.proband_id.in_(chunk))
        for pk, family_id in session.execute(stmt):
            out.setdefault(pk, (family_id, "proband", "affected"))
    return out


def observations_of(session: Session, pks: Iterable[int]) -> dict[int, list[PhenotypeObservation]]:
    """Active observations (observed and excluded) of many participants, in capture order."""
    out: dict[int, list[PhenotypeObservation]] = {}
    for chunk in _chunks(list(pks)):
        stmt = (select(PhenotypeObservation).where(PhenotypeObservation.participant_id.in_(chunk),
                                                   PhenotypeObservation.removed_at.is_(None))
                .order_by(PhenotypeObservation.id))
        for obs in session.execute(stmt).scalars():
            out.setdefault(obs.participant_id, []).append(obs)
    return out


def diagnoses_of(session: Session, pks: Iterable[int]) -> dict[int, list[Diagnosis]]:
    """Active diagnoses of many participants."""
    out: dict[int, list[Diagnosis]] = {}
    for chunk in _chunks(list(pks)):
        stmt = (select(Diagnosis).where(Diagnosis.participant_id.in_(chunk), Diagnosis.removed_at.is_(None))
                .order_by(Diagnosis.id))
        for diagnosis in session.execute(stmt).scalars():
            out.setdefault(diagnosis.participant_id, []).append(diagnosis)
    return out


# ----------------------------------------------------------------------------- projects, cohorts, releases


def next_number(session: Session, column: Any) -> int:
    """One more than the highest primary key of a table (ids are then checked for clashes)."""
    return int(session.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


def get_project(session: Session, project_id: str) -> ResearchProject | None:
    """The project with this programme id."""
    return session.execute(select(ResearchProject).where(ResearchProject.project_id == project_id)).scalar_one_or_none()


def projects(session: Session, *, lead_id: int | None = None, status: str | None = None) -> Sequence[ResearchProject]:
    """Projects (of one lead, in one status, or all), newest first."""
    stmt = select(ResearchProject).order_by(ResearchProject.id.desc())
    if lead_id is not None:
        stmt = stmt.where(ResearchProject.lead_id == lead_id)
    if status is not None:
        stmt = stmt.where(ResearchProject.status == status)
    return session.execute(stmt).scalars().all()


def get_cohort(session: Session, cohort_id: str) -> Cohort | None:
    """The cohort with this programme id."""
    return session.execute(select(Cohort).where(Cohort.cohort_id == cohort_id)).scalar_one_or_none()


def cohorts_of(session: Session, project_pk: int) -> Sequence[Cohort]:
    """A project's cohorts, oldest first."""
    return session.execute(select(Cohort).where(Cohort.project_id == project_pk).order_by(Cohort.id)).scalars().all()


def get_release(session: Session, release_id: str) -> DataRelease | None:
    """The release with this programme id."""
    return session.execute(select(DataRelease).where(DataRelease.release_id == release_id)).scalar_one_or_none()


def releases(session: Session, *, project_pk: int | None = None, status: str | None = None) -> Sequence[DataRelease]:
    """Releases (of one project, in one status, or all), newest first."""
    stmt = select(DataRelease).order_by(DataRelease.id.desc())
    if project_pk is not None:
        stmt = stmt.where(DataRelease.project_id == project_pk)
    if status is not None:
        stmt = stmt.where(DataRelease.status == status)
    return session.execute(stmt).scalars().all()


def members_of(session: Session, release_pk: int) -> Sequence[ReleaseMember]:
    """A release's members."""
    return session.execute(select(ReleaseMember).where(ReleaseMember.release_id == release_pk)
                           .order_by(ReleaseMember.research_id)).scalars().all()


@dataclass(frozen=True)
class ReleasedMember:
    """One participant of one built release (plain columns: a release's JSON is not read once per member)."""

    release_pk: int
    release_id: str
    participant_id: int
    research_id: str


def released_members(session: Session) -> list[ReleasedMember]:
    """Every member of every built release."""
    stmt = (select(DataRelease.id, DataRelease.release_id, ReleaseMember.participant_id, ReleaseMember.research_id)
            .join(DataRelease, DataRelease.id == ReleaseMember.release_id).where(DataRelease.status == "built"))
    return [ReleasedMember(*row) for row in session.execute(stmt)]


def project_members_by_research_id(session: Session, project_pk: int) -> dict[str, int]:
    """Research id -> participant of every built release of a project."""
    stmt = (select(ReleaseMember.research_id, ReleaseMember.participant_id)
            .join(DataRelease, DataRelease.id == ReleaseMember.release_id)
            .where(DataRelease.project_id == project_pk, DataRelease.status == "built"))
    return {rid: pk for rid, pk in session.execute(stmt)}


def recall_entries(session: Session, *, release_pks: Iterable[int] | None = None) -> Sequence[RecallEntry]:
    """Recall entries (of some releases, or all), newest first."""
    stmt = select(RecallEntry).order_by(RecallEntry.listed_at.desc(), RecallEntry.id.desc())
    if release_pks is not None:
        stmt = stmt.where(RecallEntry.release_id.in_(list(release_pks)))
    return session.execute(stmt).scalars().all()


def recalled_pairs(session: Session) -> set[tuple[int, int]]:
    """(release, participant) pairs already on the recall list."""
    return {(r, p) for r, p in session.execute(select(RecallEntry.release_id, RecallEntry.participant_id))}


def get_cohort_version(session: Session, pk: int) -> CohortVersion | None:
    """A cohort version by primary key."""
    return session.get(CohortVersion, pk)
