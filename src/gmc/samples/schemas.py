"""Request and response bodies of the samples API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SpecimenIn(BaseModel):
    """A collected specimen to register."""

    barcode: str
    sample_type: str
    participant_id: str
    trust_code: str
    collected_at: datetime
    collected_by: str
    referral_id: str | None = None
    tumour_site: str | None = None
    tumour_histology: str | None = None
    tumour_content_pct: float | None = None
    volume_ul: float | None = None


class SampleOut(BaseModel):
    """A sample as the API shows it (participant by programme id only)."""

    barcode: str
    participant_id: str
    sample_type: str
    kind: str
    tissue: str
    parent_barcode: str | None
    state: str
    state_changed_at: datetime
    collected_at: datetime
    location: str | None
    version: int
    allowed_next: list[str]


class TransitionIn(BaseModel):
    """A requested state change; send the version you saw to be told if someone changed it meanwhile."""

    to_state: str
    expected_version: int | None = None
    note: str = ""


class ExtractIn(BaseModel):
    """A DNA/RNA extraction from a specimen."""

    new_barcode: str
    method: str
    kit_lot: str
    extracted_at: datetime | None = None
    volume_ul: float | None = None
    derivative_type: str = "dna"


class AliquotIn(BaseModel):
    """How many aliquots to make."""

    count: int = Field(ge=1, le=24)
    volume_ul: float | None = None


class QcIn(BaseModel):
    """QC measurements (leave unmeasured ones out)."""

    concentration_ng_ul: float | None = None
    volume_ul: float | None = None
    total_yield_ng: float | None = None
    a260_280: float | None = None
    din: float | None = None
    dv200: float | None = None
    tumour_purity: float | None = None
    expected_version: int | None = None


class QcOut(BaseModel):
    """The QC verdict."""

    passed: bool
    reasons: list[str]
    total_yield_ng: float | None
    state: str


class StoreIn(BaseModel):
    """Where to put a sample."""

    box: str
    position: str
    expected_version: int | None = None


class DestroyIn(BaseModel):
    """How and why a sample was destroyed."""

    method: str
    reason: str
    witness: str = ""
    expected_version: int | None = None


class FreezerIn(BaseModel):
    """A new freezer."""

    name: str
    location: str = ""
    temperature_c: int = -80
    #: The centre it is for (default: yours; naming another needs national staff).
    centre_code: str | None = None


class UnitIn(BaseModel):
    """A new rack or shelf."""

    freezer: str
    name: str
    kind: str = "rack"
    capacity: int = 10


class BoxIn(BaseModel):
    """A new box."""

    freezer: str
    unit: str
    barcode: str
    name: str = ""
    rows: int = 9
    cols: int = 9


class ShipmentIn(BaseModel):
    """A new draft shipment."""

    kind: str
    destination: str
    origin: str = ""
    reference: str | None = None
    #: The centre it is for (default: yours; naming another needs national staff).
    centre_code: str | None = None


class ScanIn(BaseModel):
    """A scanned barcode."""

    barcode: str


class ShipIn(BaseModel):
    """Courier details when shipping."""

    courier_tracking: str = ""


class ShipmentOut(BaseModel):
    """A shipment and its reconciliation."""

    reference: str
    kind: str
    status: str
    destination: str
    shipped_at: datetime | None
    expected: list[str]
    received: list[str]
    missing: list[str]
    unexpected: list[str]


class TargetIn(BaseModel):
    """An overdue target."""

    state: str
    max_days: float
    sample_type: str | None = None
    #: The centre it is for (default: yours; naming another needs national staff).
    centre_code: str | None = None


class QcRuleIn(BaseModel):
    """A QC threshold."""

    sample_type: str
    metric: str
    minimum: float | None = None
    maximum: float | None = None
    #: The centre it is for (default: yours; naming another needs national staff).
    centre_code: str | None = None
