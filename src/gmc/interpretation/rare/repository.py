"""Every query of the rare-disease interpretation feature: panels, applied panels, runs, overrides, notes, diagnoses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from gmc.common.paging import ListState, Page, paginate
from gmc.genomics.models import GenomeDataset
from gmc.interpretation.models import InterpretationRun
from gmc.interpretation.rare.models import AcmgOverride, CaseDiagnosis, CaseNote, CasePanel, GenePanel
from gmc.phenotype.models import PhenotypeObservation
from gmc.registry.models import Case, Family, FamilyMember, Participant, Referral


def current_panels(session: Session) -> Sequence[GenePanel]:
    """The newest version of every panel (PanelApp and custom), by name."""
    return session.execute(select(GenePanel).where(GenePanel.current.is_(True)).order_by(GenePanel.name)).scalars().all()


def current_panel_heads(session: Session, source: str) -> dict[str, tuple[int, int, str]]:
    """panel key -> (row id, version, checksum) of the newest version of every panel from a source (no genes read)."""
    stmt = select(GenePanel.panel_key, GenePanel.id, GenePanel.version, GenePanel.checksum).where(
        GenePanel.current.is_(True), GenePanel.source == source)
    return {key: (pk, version, checksum) for key, pk, version, checksum in session.execute(stmt).all()}


def mark_not_current(session: Session, panel_pks: Sequence[int]) -> None:
    """Marks panel versions as superseded by a newer import."""
    if panel_pks:
        session.execute(update(GenePanel).where(GenePanel.id.in_(list(panel_pks))).values(current=False))


def panel_versions(session: Session, panel_key: str) -> Sequence[GenePanel]:
    """Every stored version of one panel, oldest first."""
    stmt = select(GenePanel).where(GenePanel.panel_key == panel_key).order_by(GenePanel.version)
    return session.execute(stmt).scalars().all()


def current_panel(session: Session, panel_key: str) -> GenePanel | None:
    """The newest version of a panel."""
    stmt = select(GenePanel).where(GenePanel.panel_key == panel_key, GenePanel.current.is_(True))
    return session.execute(stmt).scalar_one_or_none()


def panel_by_name(session: Session, name: str) -> GenePanel | None:
    """The newest version of the panel with this exact (case-insensitive) name."""
    stmt = select(GenePanel).where(func.lower(GenePanel.name) == name.strip().lower(), GenePanel.current.is_(True))
    return session.execute(stmt.order_by(GenePanel.id)).scalars().first()


def panel_state(session: Session) -> tuple[int, int]:
    """(number of current panels, largest panel row id): changes whenever a panel version is added."""
    row = session.execute(select(func.count(GenePanel.id), func.coalesce(func.max(GenePanel.id), 0))
                          .where(GenePanel.current.is_(True))).one()
    return int(row[0]), int(row[1])


def count_custom_panels(session: Session) -> int:
    """How many custom gene lists exist (for their ids)."""
    return int(session.execute(select(func.count(GenePanel.id)).where(GenePanel.source == "custom")).scalar_one())


def applied_panels(session: Session, case_pk: int) -> Sequence[tuple[CasePanel, GenePanel]]:
    """The panels applied to a case and not removed, in the order applied."""
    stmt = (select(CasePanel, GenePanel).join(GenePanel, GenePanel.id == CasePanel.panel_id)
            .where(CasePanel.case_id == case_pk, CasePanel.removed_at.is_(None)).order_by(CasePanel.id))
    return [(a, p) for a, p in session.execute(stmt).all()]


def case_panel(session: Session, case_pk: int, case_panel_pk: int) -> CasePanel | None:
    """One application of a panel to a case."""
    row = session.get(CasePanel, case_panel_pk)
    return row if row is not None and row.case_id == case_pk else None


def runs_of_case(session: Session, case_pk: int, *, kind: str = "rare") -> Sequence[InterpretationRun]:
    """A case's runs of one kind, newest first."""
    stmt = (select(InterpretationRun).where(InterpretationRun.case_id == case_pk, InterpretationRun.kind == kind)
            .order_by(InterpretationRun.id.desc()))
    return session.execute(stmt).scalars().all()


def latest_done_run(session: Session, case_pk: int, *, before_pk: int | None = None) -> InterpretationRun | None:
    """The newest finished rare run of a case (older than before_pk when given)."""
    stmt = select(InterpretationRun).where(InterpretationRun.case_id == case_pk, InterpretationRun.kind == "rare",
                                           InterpretationRun.status == "done")
    if before_pk is not None:
        stmt = stmt.where(InterpretationRun.id < before_pk)
    return session.execute(stmt.order_by(InterpretationRun.id.desc()).limit(1)).scalar_one_or_none()


def get_run(session: Session, run_id: str) -> InterpretationRun | None:
    """A run by its programme id."""
    return session.execute(select(InterpretationRun).where(InterpretationRun.run_id == run_id)).scalar_one_or_none()


def next_run_number(session: Session) -> int:
    """One more than the largest run primary key (for run ids)."""
    return int(session.execute(select(func.coalesce(func.max(InterpretationRun.id), 0))).scalar_one()) + 1


def germline_datasets(session: Session, case_pk: int) -> Sequence[GenomeDataset]:
    """The case's stored germline genome data sets (one per sequenced family member)."""
    stmt = (select(GenomeDataset).where(GenomeDataset.case_id == case_pk, GenomeDataset.kind == "germline")
            .order_by(GenomeDataset.id))
    return session.execute(stmt).scalars().all()


def family_members(session: Session, family_pk: int) -> Sequence[FamilyMember]:
    """The members of a family."""
    return session.execute(select(FamilyMember).where(FamilyMember.family_id == family_pk)
                           .order_by(FamilyMember.id)).scalars().all()


def get_family(session: Session, family_pk: int) -> Family | None:
    """A family by primary key."""
    return session.get(Family, family_pk)


def active_observations(session: Session, participant_pk: int) -> Sequence[PhenotypeObservation]:
    """A participant's current (not removed) HPO observations, oldest first."""
    stmt = (select(PhenotypeObservation).where(PhenotypeObservation.participant_id == participant_pk,
                                               PhenotypeObservation.removed_at.is_(None))
            .order_by(PhenotypeObservation.id))
    return session.execute(stmt).scalars().all()


def overrides_of(session: Session, case_pk: int, variant_id: str | None = None, *,
                 active_only: bool = False) -> Sequence[AcmgOverride]:
    """ACMG overrides of a case (of one variant when given), oldest first."""
    stmt = select(AcmgOverride).where(AcmgOverride.case_id == case_pk)
    if variant_id is not None:
        stmt = stmt.where(AcmgOverride.variant_id == variant_id)
    if active_only:
        stmt = stmt.where(AcmgOverride.superseded_at.is_(None))
    return session.execute(stmt.order_by(AcmgOverride.id)).scalars().all()


def notes_of(session: Session, case_pk: int) -> Sequence[CaseNote]:
    """A case's notes, newest first."""
    return session.execute(select(CaseNote).where(CaseNote.case_id == case_pk)
                           .order_by(CaseNote.id.desc())).scalars().all()


def diagnoses_of(session: Session, case_pk: int) -> Sequence[CaseDiagnosis]:
    """A case's chosen diagnoses, newest first (only the newest is not superseded)."""
    return session.execute(select(CaseDiagnosis).where(CaseDiagnosis.case_id == case_pk)
                           .order_by(CaseDiagnosis.id.desc())).scalars().all()


def _last_rare_run(column: Any) -> Any:
    """A column of each case's newest rare run (None without one), as a correlated subquery."""
    return (select(column).where(InterpretationRun.case_id == Case.id, InterpretationRun.kind == "rare")
            .order_by(InterpretationRun.id.desc()).limit(1).scalar_subquery())


def _top_gene(run: Any) -> Any:
    """The top-ranked gene of a run's results, read inside the database (the results are not loaded)."""
    return run.results[("genes", 0, "gene")].as_string()


_TOP_GENE = _top_gene(InterpretationRun)
_TOP_TIER = InterpretationRun.results[("genes", 0, "tier")].as_string()


def rare_case_page(session: Session, trust_scope: frozenset[int] | None, state: ListState,
                   reviewed_statuses: Sequence[str]) -> Page:
    """One page of the rare-disease cases in scope, filtered (q, status, run, todo=review) and sorted in SQL."""
    f = state.filters
    done = exists().where(InterpretationRun.case_id == Case.id, InterpretationRun.kind == "rare",
                          InterpretationRun.status == "done")
    diagnosed = exists().where(CaseDiagnosis.case_id == Case.id, CaseDiagnosis.superseded_at.is_(None))
    stmt = (select(Case).join(Referral, Referral.id == Case.referral_id)
            .outerjoin(Participant, Participant.id == Case.proband_id).outerjoin(Family, Family.id == Case.family_id)
            .where(Case.programme_arm == "rare_disease"))
    if trust_scope is not None:
        stmt = stmt.where(Case.trust_id.in_(list(trust_scope)))
    if f.get("status"):
        stmt = stmt.where(Case.status == f["status"])
    if f.get("run"):
        stmt = stmt.where(func.coalesce(_last_rare_run(InterpretationRun.status), "none") == f["run"])
    if f.get("todo") == "review":
        stmt = stmt.where(done, ~diagnosed, Case.status.not_in(list(reviewed_statuses)))
    for word in f.get("q", "").split():
        newest_done = (select(func.max(InterpretationRun.id)).where(
            InterpretationRun.case_id == Case.id, InterpretationRun.kind == "rare",
            InterpretationRun.status == "done").correlate(Case).scalar_subquery())
        top = aliased(InterpretationRun)
        stmt = stmt.where(or_(
            Case.case_id.icontains(word, autoescape=True), Participant.participant_id.icontains(word, autoescape=True),
            Referral.clinical_indication.icontains(word, autoescape=True),
            Family.family_id.icontains(word, autoescape=True),
            exists().where(CaseDiagnosis.case_id == Case.id, CaseDiagnosis.superseded_at.is_(None),
                           CaseDiagnosis.gene.icontains(word, autoescape=True)),
            exists().where(top.id == newest_done, _top_gene(top).icontains(word, autoescape=True))))
    last_at = _last_rare_run(func.coalesce(InterpretationRun.finished_at, InterpretationRun.created_at))
    order = {"case": Case.case_id, "opened": (Case.created_at, Case.case_id),
             "indication": (Referral.clinical_indication, Case.case_id), "status": (Case.status, Case.case_id),
             "run": (last_at, Case.case_id)}
    return paginate(session, stmt, state, order)


def rare_run_facts(session: Session, case_pks: Sequence[int]) -> dict[int, dict[str, Any]]:
    """For each case: its newest rare run (id, status, when), its newest finished run's top gene and tier, and its
    chosen diagnosis gene; three queries for the given cases only (the page's rows), no results loaded."""
    if not case_pks:
        return {}
    pks = list(case_pks)
    facts: dict[int, dict[str, Any]] = {pk: {"last_run": None, "last_run_status": None, "last_run_at": None,
                                             "has_results": False, "top_gene": None, "top_tier": None,
                                             "diagnosis": None} for pk in pks}
    newest = (select(func.max(InterpretationRun.id)).where(InterpretationRun.case_id.in_(pks),
                                                            InterpretationRun.kind == "rare")
              .group_by(InterpretationRun.case_id))
    for case_pk, run_id, status, finished, created in session.execute(
            select(InterpretationRun.case_id, InterpretationRun.run_id, InterpretationRun.status,
                   InterpretationRun.finished_at, InterpretationRun.created_at)
            .where(InterpretationRun.id.in_(newest))):
        facts[case_pk].update(last_run=run_id, last_run_status=status, last_run_at=finished or created)
    newest_done = (select(func.max(InterpretationRun.id)).where(
        InterpretationRun.case_id.in_(pks), InterpretationRun.kind == "rare", InterpretationRun.status == "done")
        .group_by(InterpretationRun.case_id))
    for case_pk, gene, tier in session.execute(select(InterpretationRun.case_id, _TOP_GENE, _TOP_TIER)
                                               .where(InterpretationRun.id.in_(newest_done))):
        facts[case_pk].update(has_results=True, top_gene=gene, top_tier=tier)
    for case_pk, gene in session.execute(select(CaseDiagnosis.case_id, CaseDiagnosis.gene).where(
            CaseDiagnosis.case_id.in_(pks), CaseDiagnosis.superseded_at.is_(None)).order_by(CaseDiagnosis.id)):
        facts[case_pk]["diagnosis"] = gene
    return facts


def cases_with_finished_runs(session: Session, trust_scope: frozenset[int] | None, arm: str,
                             kind: str) -> Sequence[Case]:
    """Cases of an arm in scope with at least one finished run of a kind, most recently finished first."""
    last = (select(InterpretationRun.case_id, func.max(InterpretationRun.finished_at).label("at"))
            .where(InterpretationRun.kind == kind, InterpretationRun.status == "done")
            .group_by(InterpretationRun.case_id).subquery())
    stmt = select(Case).join(last, last.c.case_id == Case.id).where(Case.programme_arm == arm)
    if trust_scope is not None:
        stmt = stmt.where(Case.trust_id.in_(list(trust_scope)))
    return session.execute(stmt.order_by(last.c.at.desc(), Case.id)).scalars().all()
