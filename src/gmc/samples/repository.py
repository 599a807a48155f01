"""Every query of the samples feature; queries of participant-linked rows go through one scope helper."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from gmc.common.escaping import LIKE_ESCAPE, escape_like
from gmc.registry.models import Consent, Participant, Referral
from gmc.samples.models import (
    Freezer,
    QcResult,
    QcRule,
    ResampleRequest,
    Sample,
    SampleEvent,
    SampleType,
    Shipment,
    StorageBox,
    StorageUnit,
    TurnaroundTarget,
)

Scope = frozenset[int] | None


def scoped(stmt: Select, scope: Scope, trust_column=Sample.trust_id) -> Select:  # noqa: ANN001
    """Limits a query to the caller's trusts (None: national, no limit)."""
    return stmt if scope is None else stmt.where(trust_column.in_(scope))


def sample_by_barcode(session: Session, barcode: str, scope: Scope) -> Sample | None:
    """The sample with this barcode if it is within the scope."""
    return session.execute(scoped(select(Sample).where(Sample.barcode == barcode.strip()), scope)).scalar_one_or_none()


def barcode_exists(session: Session, barcode: str) -> bool:
    """True when any sample (in any trust) already has the barcode."""
    return session.execute(select(Sample.id).where(Sample.barcode == barcode)).first() is not None


def existing_barcodes(session: Session, barcodes: list[str]) -> set[str]:
    """Which of these barcodes are taken already."""
    if not barcodes:
        return set()
    return set(session.execute(select(Sample.barcode).where(Sample.barcode.in_(barcodes))).scalars())


def search_samples(session: Session, scope: Scope, *, text: str = "", state: str = "", sample_type: str = "",
                   limit: int = 200) -> Sequence[Sample]:
    """Samples newest first, filtered by barcode/participant id fragment, state and type."""
    stmt = select(Sample).join(Participant, Participant.id == Sample.participant_id).order_by(Sample.id.desc())
    if text:
        like = f"%{escape_like(text.strip())}%"
        stmt = stmt.where(Sample.barcode.ilike(like, escape=LIKE_ESCAPE)
                          | Participant.participant_id.ilike(like, escape=LIKE_ESCAPE))
    if state:
        stmt = stmt.where(Sample.state == state)
    if sample_type:
        stmt = stmt.where(Sample.sample_type_code == sample_type)
    return session.execute(scoped(stmt, scope).limit(limit)).scalars().all()


def samples_for_export(session: Session, scope: Scope) -> Sequence[Sample]:
    """Every sample in scope, oldest first."""
    return session.execute(scoped(select(Sample).order_by(Sample.id), scope)).scalars().all()


def children(session: Session, sample_id: int) -> Sequence[Sample]:
    """The samples extracted or aliquoted from this one."""
    return session.execute(select(Sample).where(Sample.parent_id == sample_id).order_by(Sample.id)).scalars().all()


def descendants_by_parent(session: Session, root_id: int) -> dict[int | None, list[Sample]]:
    """The whole lineage tree under a root, as parent id -> children."""
    tree: dict[int | None, list[Sample]] = {}
    frontier = [root_id]
    while frontier:
        rows = session.execute(select(Sample).where(Sample.parent_id.in_(frontier)).order_by(Sample.id)).scalars()
        frontier = []
        for row in rows:
            tree.setdefault(row.parent_id, []).append(row)
            frontier.append(row.id)
    return tree


def samples_of_participant(session: Session, participant_pk: int) -> Sequence[Sample]:
    """Every sample of a participant."""
    return session.execute(select(Sample).where(Sample.participant_id == participant_pk)).scalars().all()


def samples_of_referral(session: Session, referral_pk: int) -> Sequence[Sample]:
    """Every sample collected for a referral."""
    return session.execute(select(Sample).where(Sample.referral_id == referral_pk)).scalars().all()


def events_of(session: Session, sample_id: int) -> Sequence[SampleEvent]:
    """The custody and lifecycle events of a sample, oldest first."""
    return session.execute(select(SampleEvent).where(SampleEvent.sample_id == sample_id)
                           .order_by(SampleEvent.occurred_at, SampleEvent.id)).scalars().all()


def state_entries(session: Session, scope: Scope) -> Sequence[tuple[int, int | None, str, str]]:
    """(sample id, parent id, state entered, when) for every state change of samples in scope."""
    stmt = (select(SampleEvent.sample_id, Sample.parent_id, SampleEvent.to_state, SampleEvent.occurred_at)
            .join(Sample, Sample.id == SampleEvent.sample_id).where(SampleEvent.to_state.is_not(None)))
    return session.execute(scoped(stmt, scope)).all()  # type: ignore[return-value]


def qc_results_of(session: Session, sample_id: int) -> Sequence[QcResult]:
    """QC results of a sample, newest first."""
    return session.execute(select(QcResult).where(QcResult.sample_id == sample_id)
                           .order_by(QcResult.measured_at.desc(), QcResult.id.desc())).scalars().all()


def sample_types(session: Session, *, active_only: bool = False) -> Sequence[SampleType]:
    """The configured sample types."""
    stmt = select(SampleType).order_by(SampleType.is_specimen.desc(), SampleType.label)
    if active_only:
        stmt = stmt.where(SampleType.active.is_(True))
    return session.execute(stmt).scalars().all()


def sample_type(session: Session, code: str) -> SampleType | None:
    """One sample type by code."""
    return session.execute(select(SampleType).where(SampleType.code == code)).scalar_one_or_none()


def qc_rules(session: Session, sample_type_code: str | None = None, *, centre_id: int | None = None,
             own_only: bool = False) -> Sequence[QcRule]:
    """The QC thresholds of one type (or all) that apply to a centre: its own rule for a metric over the
    programme default (own_only: only the rows of that centre, or only the defaults for None)."""
    stmt = select(QcRule).order_by(QcRule.sample_type_code, QcRule.metric)
    if sample_type_code:
        stmt = stmt.where(QcRule.sample_type_code == sample_type_code)
    rows = session.execute(stmt).scalars().all()
    if own_only:
        return [r for r in rows if r.centre_id == centre_id]
    chosen: dict[tuple[str, str], QcRule] = {}
    for r in rows:
        if r.centre_id is None:
            chosen.setdefault((r.sample_type_code, r.metric), r)
    for r in rows:
        if centre_id is not None and r.centre_id == centre_id:
            chosen[(r.sample_type_code, r.metric)] = r
    return sorted(chosen.values(), key=lambda r: (r.sample_type_code, r.metric))


def turnaround_targets(session: Session) -> Sequence[TurnaroundTarget]:
    """Every overdue target."""
    return session.execute(select(TurnaroundTarget).order_by(TurnaroundTarget.state)).scalars().all()


def samples_in_states(session: Session, scope: Scope, states: list[str]) -> Sequence[Sample]:
    """Samples in scope currently in one of the states, longest waiting first."""
    stmt = select(Sample).where(Sample.state.in_(states)).order_by(Sample.state_changed_at)
    return session.execute(scoped(stmt, scope)).scalars().all()


def participants_withdrawn_from_use(session: Session) -> list[int]:
    """Participants with a withdrawal from further use on record (the consent service confirms each)."""
    stmt = select(Consent.participant_id).where(Consent.status == "withdrawn",
                                                Consent.withdrawal_level == "no_further_use").distinct()
    return list(session.execute(stmt).scalars())


def with_merged_records(session: Session, participant_ids: list[int]) -> list[int]:
    """These participants and every record merged into them, however many merges deep."""
    found, frontier = set(participant_ids), set(participant_ids)
    while frontier:
        frontier = set(session.execute(select(Participant.id).where(Participant.merged_into_id.in_(frontier))
                                       ).scalars()) - found
        found |= frontier
    return sorted(found)


def live_samples_of(session: Session, scope: Scope, participant_ids: list[int]) -> Sequence[Sample]:
    """Samples of these participants that are not destroyed, in scope."""
    if not participant_ids:
        return []
    stmt = select(Sample).where(Sample.participant_id.in_(participant_ids), Sample.state != "destroyed")
    return session.execute(scoped(stmt.order_by(Sample.id), scope)).scalars().all()


def open_resample_requests(session: Session, scope: Scope) -> Sequence[ResampleRequest]:
    """Open re-sample requests, oldest first."""
    stmt = select(ResampleRequest).where(ResampleRequest.status == "open").order_by(ResampleRequest.created_at)
    return session.execute(scoped(stmt, scope, ResampleRequest.trust_id)).scalars().all()


def open_resample_for(session: Session, sample_id: int) -> ResampleRequest | None:
    """The open re-sample request raised for a sample, if any."""
    return session.execute(select(ResampleRequest).where(ResampleRequest.sample_id == sample_id,
                                                         ResampleRequest.status == "open")).scalar_one_or_none()


def participant_by_programme_id(session: Session, participant_id: str) -> Participant | None:
    """A participant by programme id."""
    return session.execute(select(Participant).where(Participant.participant_id == participant_id)
                           ).scalar_one_or_none()


def referral_by_code(session: Session, referral_id: str) -> Referral | None:
    """A referral by its referral id."""
    return session.execute(select(Referral).where(Referral.referral_id == referral_id)).scalar_one_or_none()


# Storage --------------------------------------------------------------------------------------------

def freezers(session: Session, centre_id: int | None = None, *, any_centre: bool = True) -> Sequence[Freezer]:
    """The freezers of a centre (any_centre: every centre's), by name."""
    stmt = select(Freezer).order_by(Freezer.name)
    if not any_centre:
        stmt = stmt.where(Freezer.centre_id == centre_id)
    return session.execute(stmt).scalars().all()


def freezer_by_name(session: Session, name: str, centre_id: int | None, *, any_centre: bool = False) -> Freezer | None:
    """A centre's freezer by name (any_centre: the first of any centre, for national staff)."""
    stmt = select(Freezer).where(Freezer.name == name)
    if not any_centre:
        stmt = stmt.where(Freezer.centre_id.is_(None) if centre_id is None else Freezer.centre_id == centre_id)
    return session.execute(stmt.order_by(Freezer.id)).scalars().first()


def unit_by_name(session: Session, freezer_id: int, name: str) -> StorageUnit | None:
    """A rack or shelf of a freezer by name."""
    return session.execute(select(StorageUnit).where(StorageUnit.freezer_id == freezer_id,
                                                     StorageUnit.name == name)).scalar_one_or_none()


def box_by_barcode(session: Session, barcode: str) -> StorageBox | None:
    """A box by its barcode."""
    return session.execute(select(StorageBox).where(StorageBox.barcode == barcode.strip())).scalar_one_or_none()


def box_contents(session: Session, box_id: int) -> Sequence[Sample]:
    """The samples stored in a box."""
    return session.execute(select(Sample).where(Sample.box_id == box_id)
                           .order_by(Sample.box_row, Sample.box_col)).scalars().all()


def occupant(session: Session, box_id: int, row: int, col: int) -> Sample | None:
    """The sample at a box position, if any."""
    return session.execute(select(Sample).where(Sample.box_id == box_id, Sample.box_row == row,
                                                Sample.box_col == col)).scalar_one_or_none()


def box_fill(session: Session) -> dict[int, int]:
    """How many samples each box holds."""
    stmt = select(Sample.box_id, func.count(Sample.id)).where(Sample.box_id.is_not(None)).group_by(Sample.box_id)
    return {box_id: n for box_id, n in session.execute(stmt).all()}


# Shipments ------------------------------------------------------------------------------------------

def shipments(session: Session) -> Sequence[Shipment]:
    """Every shipment, newest first, with its items and their samples (lists page and filter them)."""
    stmt = (select(Shipment).order_by(Shipment.id.desc())
            .options(selectinload(Shipment.items)))  # each item joins its sample
    return session.execute(stmt).scalars().all()


def shipment_by_reference(session: Session, reference: str) -> Shipment | None:
    """A shipment by its manifest reference."""
    return session.execute(select(Shipment).where(Shipment.reference == reference.strip())).scalar_one_or_none()


def shipment_count(session: Session) -> int:
    """How many shipments exist (for the next reference number)."""
    return session.execute(select(func.count(Shipment.id))).scalar_one()


def lineage_rows(session: Session, scope: Scope) -> Sequence[tuple[int, int | None, str, str, str]]:
    """(id, parent id, barcode, trust code, origin type) of every sample in scope."""
    from gmc.organisations.models import Trust

    stmt = (select(Sample.id, Sample.parent_id, Sample.barcode, Trust.code, Sample.origin_type_code)
            .join(Trust, Trust.id == Sample.trust_id))
    return session.execute(scoped(stmt, scope)).all()  # type: ignore[return-value]


def ids_with_children(session: Session, ids: list[int]) -> set[int]:
    """Which of these samples have derivatives or aliquots (their work has moved on to the children)."""
    if not ids:
        return set()
    stmt = select(Sample.parent_id).where(Sample.parent_id.in_(ids)).distinct()
    return {i for i in session.execute(stmt).scalars() if i is not None}


def participant_numbers(session: Session, participant_pks: set[int]) -> dict[int, str]:
    """Programme participant ids (P-numbers) by participant key, for showing samples (never names)."""
    if not participant_pks:
        return {}
    rows = session.execute(select(Participant.id, Participant.participant_id)
                           .where(Participant.id.in_(sorted(participant_pks)))).all()
    return dict(rows)
