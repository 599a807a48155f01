"""Every query of the cancer interpretation feature: curated evidence, runs, notes and case data sets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import Session

from gmc.common.paging import ListState, Page, paginate
from gmc.genomics.models import GenomeDataset
from gmc.interpretation.cancer.models import CuratedEvidence, CuratedEvidenceVersion, TumourBoardNote
from gmc.interpretation.models import InterpretationRun
from gmc.registry.models import Case, Participant, Referral


def curated_item(session: Session, evidence_id: str) -> CuratedEvidence | None:
    """The curation record of one evidence id."""
    return session.execute(select(CuratedEvidence).where(CuratedEvidence.evidence_id == evidence_id)).scalar_one_or_none()


def curated_items(session: Session, *, gene: str | None = None, limit: int = 500) -> Sequence[CuratedEvidence]:
    """Curated items, newest first, optionally of one gene."""
    stmt = select(CuratedEvidence)
    if gene:
        stmt = stmt.where(CuratedEvidence.gene == gene.upper())
    return session.execute(stmt.order_by(CuratedEvidence.id.desc()).limit(limit)).scalars().all()


#: Sort keys of the curated-items list -> columns (the id breaks ties: newest first when equal).
CURATED_ORDER = {"item": CuratedEvidence.evidence_id, "gene": (CuratedEvidence.gene, CuratedEvidence.evidence_id),
                 "status": (CuratedEvidence.status, CuratedEvidence.evidence_id),
                 "created": (CuratedEvidence.created_at, CuratedEvidence.id)}


def curated_items_query(*, gene: str | None = None, status: str | None = None) -> Select:
    """A select of curated items for one page of the list, optionally of one gene and status."""
    stmt = select(CuratedEvidence)
    if gene:
        stmt = stmt.where(CuratedEvidence.gene == gene.strip().upper())
    if status:
        stmt = stmt.where(CuratedEvidence.status == status)
    return stmt


def version(session: Session, version_pk: int) -> CuratedEvidenceVersion | None:
    """One proposed version by primary key."""
    return session.get(CuratedEvidenceVersion, version_pk)


def open_proposal(session: Session, curated_pk: int) -> CuratedEvidenceVersion | None:
    """The version of an item still awaiting review, if any."""
    return session.execute(select(CuratedEvidenceVersion).where(
        CuratedEvidenceVersion.curated_id == curated_pk,
        CuratedEvidenceVersion.status == "proposed")).scalars().first()


def review_queue(session: Session) -> Sequence[CuratedEvidenceVersion]:
    """Every proposal awaiting a second curator, oldest first."""
    return session.execute(select(CuratedEvidenceVersion).where(CuratedEvidenceVersion.status == "proposed")
                           .order_by(CuratedEvidenceVersion.proposed_at, CuratedEvidenceVersion.id)).scalars().all()


def live_versions(session: Session) -> Sequence[tuple[str, str, int, dict]]:
    """(evidence id, item status, live version number, record) of every item with an approved version in force."""
    stmt = (select(CuratedEvidence.evidence_id, CuratedEvidence.status, CuratedEvidence.live_version,
                   CuratedEvidenceVersion.record)
            .join(CuratedEvidenceVersion, (CuratedEvidenceVersion.curated_id == CuratedEvidence.id)
                  & (CuratedEvidenceVersion.version == CuratedEvidence.live_version))
            .where(CuratedEvidence.live_version.is_not(None)).order_by(CuratedEvidence.evidence_id))
    return [tuple(row) for row in session.execute(stmt).all()]  # type: ignore[misc]


def next_number(session: Session, column: object) -> int:
    """One more than the largest primary key of a table (for programme ids)."""
    return int(session.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1


def runs_of_case(session: Session, case_pk: int, kind: str | None = None) -> Sequence[InterpretationRun]:
    """A case's interpretation runs, newest first."""
    stmt = select(InterpretationRun).where(InterpretationRun.case_id == case_pk)
    if kind:
        stmt = stmt.where(InterpretationRun.kind == kind)
    return session.execute(stmt.order_by(InterpretationRun.created_at.desc(), InterpretationRun.id.desc())).scalars().all()


def get_run(session: Session, run_id: str) -> InterpretationRun | None:
    """A run by its programme id."""
    return session.execute(select(InterpretationRun).where(InterpretationRun.run_id == run_id)).scalar_one_or_none()


def notes_of_case(session: Session, case_pk: int) -> Sequence[TumourBoardNote]:
    """A case's tumour board notes, oldest first."""
    return session.execute(select(TumourBoardNote).where(TumourBoardNote.case_id == case_pk)
                           .order_by(TumourBoardNote.created_at, TumourBoardNote.id)).scalars().all()


def case_dataset(session: Session, case_pk: int, kind: str) -> GenomeDataset | None:
    """The newest stored genome data set of a case of one kind (tumour, normal, germline)."""
    return session.execute(select(GenomeDataset).where(GenomeDataset.case_id == case_pk, GenomeDataset.kind == kind)
                           .order_by(GenomeDataset.ingested_at.desc(), GenomeDataset.id.desc())).scalars().first()


def _interpreted() -> Any:
    """Whether a case has a finished somatic run (correlated to Case)."""
    return exists().where(InterpretationRun.case_id == Case.id, InterpretationRun.kind == "somatic",
                          InterpretationRun.status == "done")


def _cancer_cases_in(trust_scope: frozenset[int] | None) -> Select:
    stmt = select(Case).where(Case.programme_arm == "cancer")
    return stmt if trust_scope is None else stmt.where(Case.trust_id.in_(list(trust_scope)))


def cases_for_board(session: Session, *, trust_scope: frozenset[int] | None,
                    closed_statuses: Sequence[str]) -> Sequence[Case]:
    """Cancer cases in scope with a finished somatic run, not in a closed status (no cap), newest first."""
    stmt = _cancer_cases_in(trust_scope).where(_interpreted(), Case.status.not_in(list(closed_statuses)))
    return session.execute(stmt.order_by(Case.created_at.desc(), Case.id.desc())).scalars().all()


def cancer_case_page(session: Session, *, trust_scope: frozenset[int] | None, state: ListState,
                     closed_statuses: Sequence[str], indications_of: Any) -> Page:
    """One page of the cancer cases in scope, filtered (q, interpreted, todo=board) and sorted in SQL.

    indications_of(word) names the referral cancer types whose default tumour type holds the word, so the text
    filter finds a case by its OncoTree code as the list shows it."""
    f = state.filters
    interpreted = _interpreted()
    stmt = (_cancer_cases_in(trust_scope).join(Referral, Referral.id == Case.referral_id)
            .outerjoin(Participant, Participant.id == Case.proband_id))
    if f.get("interpreted"):
        stmt = stmt.where(interpreted if f["interpreted"] == "yes" else ~interpreted)
    if f.get("todo") == "board":
        stmt = stmt.where(interpreted, Case.status.not_in(list(closed_statuses)))
    for word in f.get("q", "").split():
        stmt = stmt.where(or_(Case.case_id.icontains(word, autoescape=True),
                              Participant.participant_id.icontains(word, autoescape=True),
                              Referral.clinical_indication.icontains(word, autoescape=True),
                              func.lower(func.trim(Referral.clinical_indication)).in_(list(indications_of(word)))))
    order = {"case": Case.case_id, "opened": (Case.created_at, Case.case_id),
             "cancer": (Referral.clinical_indication, Case.case_id),
             "interpreted": (case((interpreted, 1), else_=0), Case.created_at, Case.case_id)}
    return paginate(session, stmt, state, order)


def interpreted_case_ids(session: Session, case_pks: Sequence[int]) -> set[int]:
    """Which of these cases have a finished somatic run."""
    if not case_pks:
        return set()
    stmt = select(InterpretationRun.case_id).where(InterpretationRun.case_id.in_(list(case_pks)),
                                                   InterpretationRun.kind == "somatic",
                                                   InterpretationRun.status == "done")
    return set(session.execute(stmt).scalars())
