"""Samples and their lineage, QC, custody events, storage, shipments and the configurable rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gmc.db.core import Base


class SampleType(Base):
    """A kind of sample the centre handles (blood EDTA, FFPE block, DNA, ...); new ones may be added."""

    __tablename__ = "sample_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stable code, e.g. blood_edta.
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    #: Name shown to staff.
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    #: germline, tumour, or derived (a derivative takes its parent's tissue).
    tissue: Mapped[str] = mapped_column(String(20), nullable=False)
    #: True for a collected specimen, False for a derivative (DNA, RNA).
    is_specimen: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: Retired types stay for history but are not offered for new samples.
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class QcRule(Base):
    """A configurable QC threshold: for samples from this type, the metric must lie within the bounds.

    A centre's own rule (centre_id set) overrides the programme default (centre_id None) for its samples.
    """

    __tablename__ = "qc_rule"
    __table_args__ = (
        UniqueConstraint("centre_id", "sample_type_code", "metric", name="uq_qc_rule_centre_type_metric"),
        Index("uq_qc_rule_default_type_metric", "sample_type_code", "metric", unique=True,
              sqlite_where=text("centre_id IS NULL"), postgresql_where=text("centre_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The centre whose samples the rule judges (None: the programme default).
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"))
    #: The specimen type the DNA came from (rules follow the origin, so FFPE DNA is judged as FFPE).
    sample_type_code: Mapped[str] = mapped_column(ForeignKey("sample_type.code"), nullable=False)
    #: One of gmc.samples.qc.METRICS.
    metric: Mapped[str] = mapped_column(String(40), nullable=False)
    #: Lowest acceptable value (None: no lower bound).
    minimum: Mapped[float | None] = mapped_column(Float)
    #: Highest acceptable value (None: no upper bound).
    maximum: Mapped[float | None] = mapped_column(Float)


class TurnaroundTarget(Base):
    """How many days a sample may stay in a state before it is overdue (per type, or for all types).

    A centre's own target (centre_id set) overrides the programme default (centre_id None) for its samples.
    """

    __tablename__ = "turnaround_target"
    # One target per (centre or default, state, type or every type); NULLs need partial indexes to be unique.
    __table_args__ = (
        UniqueConstraint("centre_id", "state", "sample_type_code", name="uq_turnaround_target_centre_state_type"),
        Index("uq_turnaround_target_default_type", "state", "sample_type_code", unique=True,
              sqlite_where=text("centre_id IS NULL"), postgresql_where=text("centre_id IS NULL")),
        Index("uq_turnaround_target_centre_all", "centre_id", "state", unique=True,
              sqlite_where=text("sample_type_code IS NULL"), postgresql_where=text("sample_type_code IS NULL")),
        Index("uq_turnaround_target_default_all", "state", unique=True,
              sqlite_where=text("centre_id IS NULL AND sample_type_code IS NULL"),
              postgresql_where=text("centre_id IS NULL AND sample_type_code IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The centre whose samples the target applies to (None: the programme default).
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"))
    #: The lifecycle state being waited in.
    state: Mapped[str] = mapped_column(String(30), nullable=False)
    #: The sample type it applies to (None: every type without its own target).
    sample_type_code: Mapped[str | None] = mapped_column(ForeignKey("sample_type.code"))
    #: Days allowed in the state.
    max_days: Mapped[float] = mapped_column(Float, nullable=False)


class Freezer(Base):
    """A freezer (or fridge, or room-temperature store) in the biobank."""

    __tablename__ = "freezer"
    __table_args__ = (UniqueConstraint("centre_id", "name", name="uq_freezer_centre_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Name on the door, unique in the centre's biobank.
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"))
    #: Room or building.
    location: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: Set temperature in degrees Celsius (-80, -20, 4, 20).
    temperature_c: Mapped[int] = mapped_column(Integer, nullable=False, default=-80)

    units: Mapped[list[StorageUnit]] = relationship(back_populates="freezer", order_by="StorageUnit.name")


class StorageUnit(Base):
    """A rack or shelf inside a freezer that holds boxes."""

    __tablename__ = "storage_unit"
    __table_args__ = (UniqueConstraint("freezer_id", "name", name="uq_storage_unit_freezer_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    freezer_id: Mapped[int] = mapped_column(ForeignKey("freezer.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    #: rack or shelf.
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="rack")
    #: How many boxes it holds.
    capacity: Mapped[int] = mapped_column(Integer, nullable=False, default=10)

    freezer: Mapped[Freezer] = relationship(back_populates="units")
    boxes: Mapped[list[StorageBox]] = relationship(back_populates="unit", order_by="StorageBox.name")


class StorageBox(Base):
    """A box with a grid of positions; each position holds at most one sample."""

    __tablename__ = "storage_box"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The box's own barcode label.
    barcode: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("storage_unit.id"), nullable=False, index=True)
    #: Grid size, e.g. 9 x 9 or 8 x 12.
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    cols: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    unit: Mapped[StorageUnit] = relationship(back_populates="boxes", lazy="joined")


class Sample(Base):
    """A specimen, derivative or aliquot with one barcode, its lifecycle state, lineage and location."""

    __tablename__ = "sample"
    __table_args__ = (
        UniqueConstraint("box_id", "box_row", "box_col", name="uq_sample_box_position"),
        Index("ix_sample_state_changed", "state", "state_changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The label barcode, unique across the programme.
    barcode: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    sample_type_code: Mapped[str] = mapped_column(ForeignKey("sample_type.code"), nullable=False)
    #: specimen, derivative or aliquot.
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    #: germline or tumour (derivatives inherit it from their parent).
    tissue: Mapped[str] = mapped_column(String(20), nullable=False)
    #: The type of the original specimen (QC rules and turnaround are reported by it).
    origin_type_code: Mapped[str] = mapped_column(ForeignKey("sample_type.code"), nullable=False)
    #: The sample this one was extracted or aliquoted from.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    #: The collecting trust: the scope that decides who may see the sample.
    trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), nullable=False, index=True)
    #: Lifecycle state (gmc.samples.lifecycle.SampleState).
    state: Mapped[str] = mapped_column(String(30), nullable=False)
    #: When the sample entered its current state (turnaround and overdue work from it).
    state_changed_at: Mapped[datetime] = mapped_column(nullable=False)
    #: The state an archived sample left, the only one it may go back to.
    archived_from: Mapped[str | None] = mapped_column(String(20))
    collected_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Who collected (or extracted / aliquoted) it.
    collected_by: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Tumour: the site, histology and the pathologist's tumour content estimate (%).
    tumour_site: Mapped[str | None] = mapped_column(String(100))
    tumour_histology: Mapped[str | None] = mapped_column(String(200))
    tumour_content_pct: Mapped[float | None] = mapped_column(Float)
    #: Derivatives: extraction method and kit lot.
    extraction_method: Mapped[str | None] = mapped_column(String(100))
    kit_lot: Mapped[str | None] = mapped_column(String(60))
    volume_ul: Mapped[float | None] = mapped_column(Float)
    #: Storage: the box and 1-based row/column, or None when not stored.
    box_id: Mapped[int | None] = mapped_column(ForeignKey("storage_box.id"), index=True)
    box_row: Mapped[int | None] = mapped_column(Integer)
    box_col: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Optimistic-locking counter: a change based on a stale read is refused, never lost.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    box: Mapped[StorageBox | None] = relationship(lazy="joined")
    parent: Mapped[Sample | None] = relationship(remote_side="Sample.id", lazy="select")

    __mapper_args__ = {"version_id_col": version}


class SampleEvent(Base):
    """One custody or lifecycle event: who held, moved, measured or changed the sample, and when."""

    __tablename__ = "sample_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"), nullable=False, index=True)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    #: Username (or system:<what>) of who did it.
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    #: collect, transition, extract, aliquot, qc, store, retrieve, move, ship, receive, destroy, import.
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    #: Where the sample was afterwards (box position, shipment, ...).
    location: Mapped[str | None] = mapped_column(String(200))
    #: Extra facts (shipment reference, QC result id, destruction method).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


class QcResult(Base):
    """One QC measurement set for a sample and its verdict against the rules in force."""

    __tablename__ = "qc_result"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"), nullable=False, index=True)
    measured_at: Mapped[datetime] = mapped_column(nullable=False)
    measured_by: Mapped[str] = mapped_column(String(200), nullable=False)
    concentration_ng_ul: Mapped[float | None] = mapped_column(Float)
    volume_ul: Mapped[float | None] = mapped_column(Float)
    total_yield_ng: Mapped[float | None] = mapped_column(Float)
    a260_280: Mapped[float | None] = mapped_column(Float)
    #: Integrity: DIN (1-10, TapeStation) or DV200 (% of fragments over 200 nt, FFPE).
    din: Mapped[float | None] = mapped_column(Float)
    dv200: Mapped[float | None] = mapped_column(Float)
    tumour_purity: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: Why it failed, one line per broken rule.
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)


class ResampleRequest(Base):
    """A request to collect a new sample because one failed QC (or was lost)."""

    __tablename__ = "resample_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"), nullable=False, index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), nullable=False, index=True)
    trust_id: Mapped[int] = mapped_column(ForeignKey("trust.id"), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: open, fulfilled or cancelled.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The new sample that fulfilled it.
    new_sample_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id"))


class Shipment(Base):
    """A batch of samples sent together: trust to lab, or lab to the sequencing provider."""

    __tablename__ = "shipment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The manifest reference printed on the box, e.g. SHP-2026-0001.
    reference: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    #: to_lab (collection to the GMC lab) or to_sequencing (lab to the sequencing provider).
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    origin: Mapped[str] = mapped_column(String(200), nullable=False)
    destination: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The centre whose staff opened the shipment; None only for national staff's (and older) shipments.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"), index=True)
    #: draft, shipped, received.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")
    courier_tracking: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    shipped_at: Mapped[datetime | None] = mapped_column()
    shipped_by: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime | None] = mapped_column()
    received_by: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    items: Mapped[list[ShipmentItem]] = relationship(back_populates="shipment", order_by="ShipmentItem.id",
                                                     cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class ShipmentItem(Base):
    """A sample on a manifest, or a barcode scanned on receipt that was not on it."""

    __tablename__ = "shipment_item"
    __table_args__ = (UniqueConstraint("shipment_id", "barcode", name="uq_shipment_item_shipment_barcode"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), nullable=False, index=True)
    #: None for an unexpected barcode that gmc does not know.
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id"), index=True)
    barcode: Mapped[str] = mapped_column(String(40), nullable=False)
    #: True when the sample is on the manifest; False for one that arrived unannounced.
    on_manifest: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: When it was scanned on receipt (None: not (yet) seen).
    received_at: Mapped[datetime | None] = mapped_column()
    received_by: Mapped[str | None] = mapped_column(String(200))

    shipment: Mapped[Shipment] = relationship(back_populates="items")
    sample: Mapped[Sample | None] = relationship(lazy="joined")


# Samples follow their participant through registry merges; registered wherever the schema is loaded.
from gmc.samples import merging as _merging  # noqa: E402, F401
