"""The samples JSON API: thin routes over gmc.samples.service, each guarded by its permission."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import NotFound, ValidationFailed
from gmc.common.requests import RawBody, decode_text, import_max_bytes
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.jobs.router import queue_import, runs_as_job
from gmc.organisations.models import Trust
from gmc.samples import csvio, printing, service
from gmc.samples import repository as repo
from gmc.samples.lifecycle import manual_next
from gmc.samples.models import Sample
from gmc.samples.schemas import (
    AliquotIn,
    BoxIn,
    DestroyIn,
    ExtractIn,
    FreezerIn,
    QcIn,
    QcOut,
    QcRuleIn,
    SampleOut,
    ScanIn,
    ShipIn,
    ShipmentIn,
    ShipmentOut,
    SpecimenIn,
    StoreIn,
    TargetIn,
    TransitionIn,
    UnitIn,
)

router = APIRouter(prefix="/api/samples", tags=["samples"])

READ = Depends(require(Permission.SAMPLE_READ))
WRITE = Depends(require(Permission.SAMPLE_WRITE))


def sample_out(db: GmcSession, sample: Sample) -> SampleOut:
    """The API view of a sample."""
    parent = db.get(Sample, sample.parent_id) if sample.parent_id else None
    return SampleOut(barcode=sample.barcode, participant_id=service.participant_label(db, sample),
                     sample_type=sample.sample_type_code, kind=sample.kind, tissue=sample.tissue,
                     parent_barcode=parent.barcode if parent else None, state=sample.state,
                     state_changed_at=sample.state_changed_at, collected_at=sample.collected_at,
                     location=service.location_of(sample), version=sample.version,
                     allowed_next=[s.value for s in manual_next(sample.state, sample.archived_from)])


def _shipment_out(shipment, principal: Principal) -> ShipmentOut:  # noqa: ANN001
    rec = service.reconcile(shipment, principal)
    return ShipmentOut(reference=shipment.reference, kind=shipment.kind, status=shipment.status,
                       destination=shipment.destination, shipped_at=shipment.shipped_at, expected=rec.expected,
                       received=rec.received, missing=rec.missing, unexpected=rec.unexpected)


# Fixed paths come before /{barcode} so they are not read as barcodes.

@router.get("/export.csv")
def export_csv(principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Every sample in your trusts as CSV."""
    text = csvio.write_export(service.export_rows(db, principal))
    return Response(text, media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="samples.csv"'})


@router.post("/import", status_code=201, max_body_size=import_max_bytes(),
             responses={202: {"description": "A large file: imported by a background job (follow `status_url`)"}})
def import_csv(request: Request, body: RawBody, background: BackgroundTasks, principal: Principal = WRITE,
               db: GmcSession = DB) -> Any:
    """Imports collected specimens from a CSV body (text/csv); any bad row refuses the whole file.

    A file larger than GMC_IMPORT_JOB_BYTES is imported by a background job: 202 with its `status_url`."""
    if runs_as_job(request, body):
        return queue_import(request, background, db, principal, kind="samples.specimens_csv", data=body,
                            source="upload.csv")
    text = decode_text(body, "CSV", field="file")
    made = service.import_specimens(db, principal, text)
    return {"imported": len(made), "barcodes": [s.barcode for s in made]}


@router.get("/labels.pdf")
def labels_pdf(barcode: list[str] = Query(...), principal: Principal = READ, db: GmcSession = DB) -> Response:
    """A PDF sheet of Code128 + DataMatrix labels for the given barcodes."""
    pdf = printing.label_sheet_pdf(service.labels_for(db, principal, barcode))
    return Response(pdf, media_type="application/pdf")


@router.get("/worklists/overdue")
def overdue_list(principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, object]]:
    """Samples waiting longer than their target, most overdue first."""
    return [asdict(o) for o in service.overdue_worklist(db, principal)]


@router.get("/worklists/destruction")
def destruction_list(principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, object]]:
    """Samples to destroy because the participant withdrew from further use."""
    return [{"barcode": d.sample.barcode, "state": d.sample.state, "reason": d.reason,
             "location": service.location_of(d.sample)} for d in service.destruction_worklist(db, principal)]


@router.get("/worklists/resample")
def resample_list(principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, object]]:
    """Open re-sample requests."""
    out, shown = [], []
    for r in repo.open_resample_requests(db, principal.trust_scope):
        sample = db.get(Sample, r.sample_id)
        out.append({"id": r.id, "barcode": sample.barcode if sample else None, "reason": r.reason,
                    "created_at": r.created_at})
        shown += [sample] if sample else []
    service.record_samples_shown(db, principal, "re-sample", shown)
    return out


@router.get("/turnaround")
def turnaround_stats(by: str = "trust", principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, object]]:
    """Median and 90th-percentile days per lifecycle step, by trust or sample_type."""
    from gmc.samples.turnaround import turnaround

    if by not in ("trust", "sample_type"):
        raise ValidationFailed("group by trust or sample_type", field="by")
    return [asdict(s) for s in turnaround(service.turnaround_clocks(db, principal), by=by)]


CONFIGURE = Depends(require(Permission.LAB_CONFIGURE))


@router.put("/config/targets")
def put_target(body: TargetIn, principal: Principal = CONFIGURE, db: GmcSession = DB) -> dict[str, object]:
    """Sets how long a centre's samples may wait in a state (admins; your centre unless you name one)."""
    service.set_target(db, principal, state=body.state, max_days=body.max_days, sample_type=body.sample_type,
                       centre_code=body.centre_code)
    return {"state": body.state, "sample_type": body.sample_type, "max_days": body.max_days,
            "centre_code": body.centre_code}


@router.put("/config/qc-rules")
def put_qc_rule(body: QcRuleIn, principal: Principal = CONFIGURE, db: GmcSession = DB) -> dict[str, object]:
    """Sets a centre's QC threshold for a sample type (admins; your centre unless you name one)."""
    service.set_qc_rule(db, principal, sample_type=body.sample_type, metric=body.metric, minimum=body.minimum,
                        maximum=body.maximum, centre_code=body.centre_code)
    return body.model_dump()


@router.get("/config/qc-rules")
def get_qc_rules(principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, object]]:
    """The QC thresholds that judge your centre's samples (its own over the programme defaults)."""
    return [{"sample_type": r.sample_type_code, "metric": r.metric, "minimum": r.minimum, "maximum": r.maximum,
             "centre_specific": r.centre_id is not None}
            for r in repo.qc_rules(db, centre_id=principal.centre_id)]


@router.post("/storage/freezers", status_code=201)
def add_freezer(body: FreezerIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, object]:
    """Adds a freezer."""
    f = service.create_freezer(db, principal, name=body.name, location=body.location,
                               temperature_c=body.temperature_c, centre_code=body.centre_code)
    return {"id": f.id, "name": f.name}


@router.post("/storage/units", status_code=201)
def add_unit(body: UnitIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, object]:
    """Adds a rack or shelf to a freezer."""
    freezer = service.find_freezer(db, principal, body.freezer)
    u = service.create_unit(db, principal, freezer_id=freezer.id, name=body.name, kind=body.kind,
                            capacity=body.capacity)
    return {"id": u.id, "name": u.name}


@router.post("/storage/boxes", status_code=201)
def add_box(body: BoxIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, object]:
    """Adds a box to a rack or shelf."""
    freezer = service.find_freezer(db, principal, body.freezer)
    unit = repo.unit_by_name(db, freezer.id, body.unit)
    if unit is None:
        raise NotFound(f"unknown rack or shelf {body.freezer} / {body.unit}", field="unit")
    b = service.create_box(db, principal, unit_id=unit.id, barcode=body.barcode, name=body.name, rows=body.rows,
                           cols=body.cols)
    return {"id": b.id, "barcode": b.barcode}


@router.get("/storage/boxes/{box_barcode}")
def box_contents(box_barcode: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, object]:
    """A box's layout and the samples (in your trusts) at each position."""
    from gmc.samples.layout import position_label

    box = service.get_box(db, box_barcode, principal)
    held = repo.box_contents(db, box.id)
    contents = {position_label(s.box_row, s.box_col): (s.barcode if principal.can_see_trust(s.trust_id)
                                                       else "occupied") for s in held}
    service.record_samples_shown(db, principal, f"box {box.barcode}",
                                 [s for s in held if principal.can_see_trust(s.trust_id)])
    return {"barcode": box.barcode, "name": box.name, "rows": box.rows, "cols": box.cols,
            "free": box.rows * box.cols - len(contents), "positions": contents}


@router.post("/shipments", status_code=201)
def new_shipment(body: ShipmentIn, principal: Principal = WRITE, db: GmcSession = DB) -> ShipmentOut:
    """Opens a draft shipment."""
    return _shipment_out(service.create_shipment(db, principal, kind=body.kind, origin=body.origin,
                                                 destination=body.destination, reference=body.reference,
                                                 centre_code=body.centre_code), principal)


@router.get("/shipments/{reference}")
def get_shipment(reference: str, principal: Principal = READ, db: GmcSession = DB) -> ShipmentOut:
    """A shipment with its manifest reconciliation (only the samples in your trusts); the read is audited."""
    shipment = service.get_shipment(db, principal, reference)
    out = _shipment_out(shipment, principal)
    service.record_samples_shown(db, principal, f"shipment {shipment.reference}",
                                 [i.sample for i in service.visible_items(shipment, principal) if i.sample])
    return out


@router.post("/shipments/{reference}/items", status_code=201)
def add_item(reference: str, body: ScanIn, principal: Principal = WRITE, db: GmcSession = DB) -> ShipmentOut:
    """Adds a scanned sample to a draft manifest."""
    service.add_to_shipment(db, principal, reference, body.barcode)
    return _shipment_out(service.get_shipment(db, principal, reference), principal)


@router.delete("/shipments/{reference}/items/{barcode}")
def remove_item(reference: str, barcode: str, principal: Principal = WRITE, db: GmcSession = DB) -> ShipmentOut:
    """Takes a sample off a draft manifest."""
    service.remove_from_shipment(db, principal, reference, barcode)
    return _shipment_out(service.get_shipment(db, principal, reference), principal)


@router.post("/shipments/{reference}/ship")
def ship(reference: str, body: ShipIn, principal: Principal = WRITE, db: GmcSession = DB) -> ShipmentOut:
    """Marks the shipment sent."""
    return _shipment_out(service.ship(db, principal, reference, courier_tracking=body.courier_tracking), principal)


@router.post("/shipments/{reference}/receive")
def receive_item(reference: str, body: ScanIn, principal: Principal = WRITE,
                 db: GmcSession = DB) -> dict[str, object]:
    """Scans one arriving sample against the manifest."""
    return asdict(service.receive_scan(db, principal, reference, body.barcode))


@router.post("/shipments/{reference}/close")
def close_receipt(reference: str, principal: Principal = WRITE, db: GmcSession = DB) -> ShipmentOut:
    """Closes receiving and reconciles missing and unexpected samples."""
    service.close_receipt(db, principal, reference)
    return _shipment_out(service.get_shipment(db, principal, reference), principal)


@router.get("/shipments/{reference}/manifest.csv")
def manifest_csv(reference: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The manifest as CSV."""
    shipment, lines = service.export_manifest(db, principal, reference, fmt="csv")
    text = printing.manifest_csv(lines)
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{shipment.reference}.csv"'})


@router.get("/shipments/{reference}/manifest.pdf")
def manifest_pdf(reference: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The printable manifest as PDF."""
    s, lines = service.export_manifest(db, principal, reference, fmt="pdf")
    pdf = printing.manifest_pdf(reference=s.reference, kind=s.kind, origin=s.origin, destination=s.destination,
                                status=s.status, shipped_at=s.shipped_at, lines=lines)
    return Response(pdf, media_type="application/pdf")


@router.get("")
def list_samples(q: str = "", state: str = "", sample_type: str = "", principal: Principal = READ,
                 db: GmcSession = DB) -> list[SampleOut]:
    """Samples in your trusts, newest first (search by barcode or participant id)."""
    found = service.search_samples(db, principal, text=q, state=state, sample_type=sample_type)
    out = [sample_out(db, s) for s in found]
    service.record_sample_search(db, principal, found, state=state, sample_type=sample_type)
    return out


@router.post("", status_code=201)
def register(body: SpecimenIn, principal: Principal = WRITE, db: GmcSession = DB) -> SampleOut:
    """Registers a collected specimen."""
    trust_id = db.execute(select(Trust.id).where(Trust.code == body.trust_code)).scalar_one_or_none()
    if trust_id is None:
        raise ValidationFailed(f"unknown trust {body.trust_code}", field="trust_code")
    data = body.model_dump(exclude={"trust_code"})
    return sample_out(db, service.register_specimen(db, principal, service.NewSpecimen(trust_id=trust_id, **data)))


@router.get("/{barcode}")
def get_sample(barcode: str, principal: Principal = READ, db: GmcSession = DB) -> SampleOut:
    """One sample by barcode."""
    sample = service.get_sample(db, principal, barcode)
    out = sample_out(db, sample)
    service.record_sample_read(db, principal, sample)
    return out


@router.get("/{barcode}/custody")
def custody(barcode: str, principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, object]]:
    """The chain of custody: every event, oldest first."""
    sample = service.get_sample(db, principal, barcode)
    out = [{"at": e.occurred_at, "actor": e.actor, "kind": e.kind, "from_state": e.from_state,
            "to_state": e.to_state, "location": e.location, "detail": e.detail}
           for e in repo.events_of(db, sample.id)]
    service.record_sample_read(db, principal, sample)
    return out


@router.post("/{barcode}/transition")
def transition(barcode: str, body: TransitionIn, principal: Principal = WRITE, db: GmcSession = DB) -> SampleOut:
    """Moves the sample to another lifecycle state (409 if illegal or stale)."""
    return sample_out(db, service.transition(db, principal, barcode, body.to_state,
                                             expected_version=body.expected_version, note=body.note))


@router.post("/{barcode}/receive")
def receive(barcode: str, principal: Principal = WRITE, db: GmcSession = DB) -> SampleOut:
    """Receives the sample at the lab."""
    return sample_out(db, service.receive(db, principal, barcode))


@router.post("/{barcode}/extract", status_code=201)
def extract(barcode: str, body: ExtractIn, principal: Principal = WRITE, db: GmcSession = DB) -> SampleOut:
    """Records an extraction; returns the new derivative."""
    return sample_out(db, service.extract(db, principal, barcode, **body.model_dump()))


@router.post("/{barcode}/aliquots", status_code=201)
def aliquots(barcode: str, body: AliquotIn, principal: Principal = WRITE, db: GmcSession = DB) -> list[SampleOut]:
    """Makes aliquots."""
    return [sample_out(db, s) for s in service.aliquot(db, principal, barcode, count=body.count,
                                                       volume_ul=body.volume_ul)]


@router.post("/{barcode}/qc", status_code=201)
def qc(barcode: str, body: QcIn, principal: Principal = WRITE, db: GmcSession = DB) -> QcOut:
    """Records QC; the sample moves to QC passed or failed."""
    values = body.model_dump(exclude={"expected_version"}, exclude_none=True)
    result = service.record_qc(db, principal, barcode, values, expected_version=body.expected_version)
    return QcOut(passed=result.passed, reasons=result.reasons, total_yield_ng=result.total_yield_ng,
                 state=service.get_sample(db, principal, barcode).state)


@router.post("/{barcode}/store")
def store(barcode: str, body: StoreIn, principal: Principal = WRITE, db: GmcSession = DB) -> SampleOut:
    """Puts the sample at a box position (or moves it there)."""
    return sample_out(db, service.put_away(db, principal, barcode, box_barcode=body.box, position=body.position,
                                           expected_version=body.expected_version))


@router.post("/{barcode}/retrieve")
def retrieve(barcode: str, principal: Principal = WRITE, db: GmcSession = DB) -> SampleOut:
    """Takes the sample out of storage."""
    return sample_out(db, service.retrieve(db, principal, barcode))


@router.post("/{barcode}/destroy")
def destroy(barcode: str, body: DestroyIn, principal: Principal = WRITE, db: GmcSession = DB) -> SampleOut:
    """Records the destruction of the sample."""
    return sample_out(db, service.destroy(db, principal, barcode, method=body.method, reason=body.reason,
                                          witness=body.witness, expected_version=body.expected_version))
