"""Sample pages: list and import, scanning station, sample page, storage, shipments, worklists, turnaround."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from gmc.audit import repository as audit_repository
from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, ValidationFailed
from gmc.common.nav import NavItem, register_nav
from gmc.common.requests import FormFields, import_max_bytes
from gmc.common.templating import render
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.jobs.router import runs_as_job, submit_job
from gmc.registry.consent import consent_status
from gmc.samples import printing, service
from gmc.samples import repository as repo
from gmc.samples.layout import LAYOUTS, all_positions, position_label
from gmc.samples.lifecycle import STATE_LABELS, SampleState, manual_next
from gmc.samples.models import Sample
from gmc.samples.qc import METRIC_LABELS, METRICS
from gmc.samples.turnaround import turnaround, turnaround_charts

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Samples", "/samples", Permission.SAMPLE_READ, order=200))
register_nav(NavItem("Scan", "/samples/scan", Permission.SAMPLE_WRITE, order=201))
register_nav(NavItem("Storage", "/samples/storage", Permission.SAMPLE_READ, order=202))
register_nav(NavItem("Shipments", "/samples/shipments", Permission.SAMPLE_READ, order=203))
register_nav(NavItem("Worklists", "/samples/worklists", Permission.SAMPLE_READ, order=204))
register_nav(NavItem("Turnaround", "/samples/turnaround", Permission.SAMPLE_READ, order=205))

READ = Depends(require(Permission.SAMPLE_READ))
WRITE = Depends(require(Permission.SAMPLE_WRITE))

#: Actions offered at the scanning station.
SCAN_ACTIONS = {"lookup": "Look up", "receive": "Receive at the lab", "store": "Put away in a box",
                "retrieve": "Retrieve from storage", "sequenced": "Sequencing confirmed",
                "data_received": "Sequencing data received", "archived": "Archive",
                "returned_to_sender": "Return to sender"}


def _base(request: Request) -> dict[str, object]:
    return {"state_labels": {s.value: label for s, label in STATE_LABELS.items()}}


def _register_context(db: GmcSession, principal: Principal) -> dict[str, object]:
    from sqlalchemy import select

    from gmc.organisations.models import Trust

    trusts = [t for t in db.execute(select(Trust).order_by(Trust.name)).scalars() if principal.can_see_trust(t.id)]
    types = [t for t in repo.sample_types(db, active_only=True) if t.is_specimen]
    return {"trusts": trusts, "specimen_types": types, "can_write": principal.has(Permission.SAMPLE_WRITE)}


@router.get("/samples")
def samples_page(request: Request, q: str = "", state: str = "", principal: Principal = READ,
                 db: GmcSession = DB) -> Response:
    """Samples in your trusts with search, export and CSV import."""
    samples = service.search_samples(db, principal, text=q, state=state)
    if q and len(samples) == 1 and samples[0].barcode == q.strip():
        return RedirectResponse(f"/samples/{samples[0].barcode}", status_code=303)
    response = render(request, "samples/list.html", {**_base(request), **_register_context(db, principal),
                                                     "samples": samples, "q": q, "state": state,
                                                     "states": list(SampleState)})
    service.record_sample_search(db, principal, samples, state=state)
    return response


@router.post("/samples/register")
def register_page(request: Request, form_fields: FormFields, principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Registers a collected specimen from the form and opens its page (or shows why not)."""
    from datetime import datetime

    from sqlalchemy import select

    from gmc.organisations.models import Trust

    form = {k: str(v).strip() for k, v in form_fields.items()}
    try:
        with db.begin_nested():
            trust_id = db.execute(select(Trust.id).where(Trust.code == form.get("trust_code", ""))).scalar_one_or_none()
            if trust_id is None:
                raise ValidationFailed(f"unknown trust {form.get('trust_code')!r}", field="trust_code")
            try:
                collected_at = datetime.fromisoformat(form.get("collected_at", ""))
                pct = float(form["tumour_content_pct"]) if form.get("tumour_content_pct") else None
            except ValueError as exc:
                raise ValidationFailed(f"check the collection time and tumour content: {exc}",
                                       field="collected_at") from None
            if collected_at.tzinfo is None:
                collected_at = collected_at.replace(tzinfo=UTC)
            sample = service.register_specimen(db, principal, service.NewSpecimen(
                barcode=form.get("barcode", ""), sample_type=form.get("sample_type", ""),
                participant_id=form.get("participant_id", ""), trust_id=trust_id, collected_at=collected_at,
                collected_by=form.get("collected_by", ""), referral_id=form.get("referral_id") or None,
                tumour_site=form.get("tumour_site") or None, tumour_histology=form.get("tumour_histology") or None,
                tumour_content_pct=pct))
    except DomainError as exc:
        return render(request, "samples/list.html", {
            **_base(request), **_register_context(db, principal), "samples": [], "q": "", "state": "",
            "states": list(SampleState), "message": exc.message, "message_kind": "error", "form": form},
            status_code=exc.status_code)
    return RedirectResponse(f"/samples/{sample.barcode}", status_code=303)


@router.post("/samples/import", max_body_size=import_max_bytes())
def import_page(request: Request, file: UploadFile, background: BackgroundTasks, principal: Principal = WRITE,
                db: GmcSession = DB) -> Response:
    """Imports a specimen CSV; shows every bad row when refused (nothing is imported then). A large file is
    imported by a background job, whose page shows its progress and outcome."""
    data = file.file.read()
    if runs_as_job(request, data):
        job = submit_job(request, background, db, principal, kind="samples.specimens_csv", data=data,
                         source=file.filename or "upload.csv")
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)
    text = data.decode("utf-8", errors="replace")
    ctx = {**_base(request), **_register_context(db, principal), "samples": [], "q": "", "state": "",
           "states": list(SampleState)}
    try:
        with db.begin_nested():
            made = service.import_specimens(db, principal, text, source=file.filename or "upload")
    except DomainError as exc:
        problems = [str(p) for p in getattr(exc, "problems", [])]
        return render(request, "samples/list.html", {**ctx, "message": exc.message, "message_kind": "error",
                                                     "problems": problems}, status_code=exc.status_code)
    ctx["samples"] = made
    return render(request, "samples/list.html", {**ctx, "message": f"Imported {len(made)} samples.",
                                                 "message_kind": "ok"}, status_code=201)


# Scanning station ---------------------------------------------------------------------------------

@router.get("/samples/scan")
def scan_page(request: Request, action: str = "receive", _: Principal = WRITE) -> Response:
    """The scanning station: an always-focused field that a keyboard-wedge scanner fills and submits."""
    return render(request, "samples/scan.html", {"actions": SCAN_ACTIONS, "action": action, "box": "",
                                                 "position": "", "result": None})


def _do_scan(db: GmcSession, principal: Principal, action: str, barcode: str, box: str, position: str) -> Sample:
    if action == "lookup":
        return service.get_sample(db, principal, barcode)
    if action == "receive":
        return service.receive(db, principal, barcode)
    if action == "store":
        return service.put_away(db, principal, barcode, box_barcode=box, position=position)
    if action == "retrieve":
        return service.retrieve(db, principal, barcode)
    if action in SCAN_ACTIONS:
        return service.transition(db, principal, barcode, action)
    raise DomainError(f"unknown scanning action {action!r}")


def _next_position(db: GmcSession, box_barcode: str, after: str) -> str:
    """The next free position after the one just filled, so a tray can be scanned straight in."""
    box = repo.box_by_barcode(db, box_barcode)
    if box is None:
        return after
    taken = {(s.box_row, s.box_col) for s in repo.box_contents(db, box.id)}
    for row, col in all_positions(box.rows, box.cols):
        if (row, col) not in taken:
            return position_label(row, col)
    return ""


@router.post("/samples/scan")
def scan_submit(request: Request, barcode: str = Form(""), action: str = Form("lookup"), box: str = Form(""),
                position: str = Form(""), principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Applies the chosen action to the scanned barcode; errors change nothing and are shown in red."""
    htmx = bool(request.headers.get("hx-request"))
    template = "samples/_scan_result.html" if htmx else "samples/scan.html"
    ctx: dict[str, object] = {"actions": SCAN_ACTIONS, "action": action, "box": box, "position": position}
    try:
        with db.begin_nested():
            sample = _do_scan(db, principal, action, barcode, box, position)
        ctx["result"] = {"ok": True, "barcode": sample.barcode, "state": sample.state,
                         "location": service.location_of(sample), "action": SCAN_ACTIONS.get(action, action)}
        if action == "store":
            ctx["position"] = _next_position(db, box, position)
        status = 200
    except DomainError as exc:
        ctx["result"] = {"ok": False, "barcode": barcode.strip(), "message": exc.message}
        # htmx does not swap 4xx answers into the page: the station must show the refusal, so the
        # fragment comes back as 200 and carries the real status in a header.
        status = 200 if htmx else exc.status_code
        ctx["status"] = exc.status_code
    response = render(request, template, ctx, status_code=status)
    response.headers["X-Scan-Status"] = str(ctx.get("status", 200))
    if action == "lookup" and status == 200 and "status" not in ctx:
        service.record_sample_read(db, principal, sample)
    return response


# Sample page --------------------------------------------------------------------------------------

def _tree(db: GmcSession, root: Sample) -> list[tuple[int, Sample]]:
    """The lineage as (depth, sample) in display order."""
    children = repo.descendants_by_parent(db, root.id)
    out: list[tuple[int, Sample]] = []

    def walk(node: Sample, depth: int) -> None:
        out.append((depth, node))
        for child in children.get(node.id, []):
            walk(child, depth + 1)

    walk(root, 0)
    return out


def _sample_context(db: GmcSession, principal: Principal, sample: Sample) -> dict[str, object]:
    root = sample
    while root.parent_id is not None:
        parent = db.get(Sample, root.parent_id)
        if parent is None:
            break
        root = parent
    return {
        "sample": sample, "participant": service.participant_label(db, sample),
        "consent_status": consent_status(db, sample.participant_id),
        "location": service.location_of(sample), "tree": _tree(db, root),
        "events": repo.events_of(db, sample.id),
        "audit": audit_repository.history(db, entity_type="sample", entity_id=sample.id),
        "qc_results": repo.qc_results_of(db, sample.id), "next_states": manual_next(sample.state),
        "metrics": METRIC_LABELS, "metric_units": {k: v[0] for k, v in METRICS.items()},
        "datamatrix": Markup(printing.datamatrix_svg(sample.barcode).split("?>", 1)[-1]),
        "thresholds": service.thresholds_for(db, sample), "can_write": principal.has(Permission.SAMPLE_WRITE),
        "state_labels": {s.value: label for s, label in STATE_LABELS.items()},
    }


@router.post("/samples/{barcode}/action")
def sample_action(request: Request, form_fields: FormFields, barcode: str, principal: Principal = WRITE,
                        db: GmcSession = DB) -> Response:
    """Applies a form on the sample page (transition, extract, QC, store, retrieve, destroy)."""
    form = {k: str(v) for k, v in form_fields.items()}
    what = form.get("what", "")
    version = int(form["version"]) if form.get("version", "").isdigit() else None
    message, target = "", barcode
    try:
        with db.begin_nested():
            if what == "transition":
                service.transition(db, principal, barcode, form.get("to_state", ""), expected_version=version,
                                   note=form.get("note", ""))
                message = f"Sample {barcode} is now {form.get('to_state')}."
            elif what == "extract":
                child = service.extract(db, principal, barcode, new_barcode=form.get("new_barcode", ""),
                                        method=form.get("method", ""), kit_lot=form.get("kit_lot", ""),
                                        volume_ul=float(form["volume_ul"]) if form.get("volume_ul") else None)
                message, target = f"Extracted {child.barcode} from {barcode}.", child.barcode
            elif what == "qc":
                values = {k: form.get(k) for k in METRICS if form.get(k)}
                result = service.record_qc(db, principal, barcode, values, expected_version=version)
                message = "QC passed." if result.passed else "QC failed: " + "; ".join(result.reasons)
            elif what == "store":
                service.put_away(db, principal, barcode, box_barcode=form.get("box", ""),
                                 position=form.get("position", ""), expected_version=version)
                message = f"Stored at {form.get('box')} {form.get('position', '').upper()}."
            elif what == "retrieve":
                service.retrieve(db, principal, barcode)
                message = "Retrieved from storage."
            elif what == "destroy":
                service.destroy(db, principal, barcode, method=form.get("method", ""), reason=form.get("reason", ""),
                                witness=form.get("witness", ""), expected_version=version)
                message = "Destruction recorded."
            elif what == "aliquot":
                made = service.aliquot(db, principal, barcode, count=int(form.get("count") or 1))
                message = f"Made {len(made)} aliquots."
            else:
                raise DomainError(f"unknown action {what!r}")
    except (DomainError, ValueError) as exc:
        sample = service.get_sample(db, principal, barcode)
        text = exc.message if isinstance(exc, DomainError) else str(exc)
        status = exc.status_code if isinstance(exc, DomainError) else 422
        return render(request, "samples/sample.html", {**_sample_context(db, principal, sample), "message": text,
                      "message_kind": "error"}, status_code=status)
    sample = service.get_sample(db, principal, target)
    return render(request, "samples/sample.html", {**_sample_context(db, principal, sample), "message": message,
                  "message_kind": "ok"})


# Storage ------------------------------------------------------------------------------------------

@router.get("/samples/storage")
def storage_page(request: Request, find: str = "", principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Freezers, racks and boxes with how full each box is; find a sample's location."""
    found = None
    ctx: dict[str, object] = {"freezers": repo.freezers(db), "fill": repo.box_fill(db), "find": find,
                              "layouts": LAYOUTS}
    if find:
        try:
            sample = service.get_sample(db, principal, find)
            found = {"barcode": sample.barcode, "location": service.location_of(sample) or "not in storage",
                     "state": sample.state}
        except DomainError as exc:
            ctx.update(message=exc.message, message_kind="error")
    response = render(request, "samples/storage.html", {**ctx, "found": found})
    if found is not None:
        service.record_sample_read(db, principal, sample)
    return response


@router.post("/samples/storage")
def storage_add(request: Request, form_fields: FormFields, principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Adds a freezer, a rack or shelf, or a box from the storage page forms."""
    form = {k: str(v).strip() for k, v in form_fields.items()}
    what = form.get("what", "")
    try:
        with db.begin_nested():
            if what == "freezer":
                service.create_freezer(db, principal, name=form.get("name", ""), location=form.get("location", ""),
                                       temperature_c=int(form.get("temperature_c") or -80))
            elif what in ("unit", "box"):
                freezer = repo.freezer_by_name(db, form.get("freezer", ""))
                if freezer is None:
                    raise ValidationFailed(f"unknown freezer {form.get('freezer')!r}", field="freezer")
                if what == "unit":
                    service.create_unit(db, principal, freezer_id=freezer.id, name=form.get("name", ""),
                                        kind=form.get("kind", "rack"), capacity=int(form.get("capacity") or 10))
                else:
                    unit = repo.unit_by_name(db, freezer.id, form.get("unit", ""))
                    if unit is None:
                        raise ValidationFailed(f"{freezer.name} has no rack or shelf {form.get('unit')!r}",
                                               field="unit")
                    rows, cols = (int(x) for x in form.get("layout", "9x9").lower().split("x"))
                    service.create_box(db, principal, unit_id=unit.id, barcode=form.get("barcode", ""),
                                       name=form.get("name", ""), rows=rows, cols=cols)
            else:
                raise ValidationFailed(f"unknown storage form {what!r}")
    except (DomainError, ValueError) as exc:
        message = exc.message if isinstance(exc, DomainError) else f"check the numbers: {exc}"
        status = exc.status_code if isinstance(exc, DomainError) else 422
        return render(request, "samples/storage.html", {"freezers": repo.freezers(db), "fill": repo.box_fill(db),
                      "find": "", "found": None, "message": message, "message_kind": "error",
                      "layouts": LAYOUTS}, status_code=status)
    return render(request, "samples/storage.html", {"freezers": repo.freezers(db), "fill": repo.box_fill(db),
                  "find": "", "found": None, "message": f"Added {what} {form.get('name') or form.get('barcode')}.",
                  "message_kind": "ok", "layouts": LAYOUTS}, status_code=201)


@router.get("/samples/storage/boxes/{box_barcode}")
def box_page(request: Request, box_barcode: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """A box as a grid: each position with its sample (or free)."""
    box = service.get_box(db, box_barcode)
    at = {(s.box_row, s.box_col): s for s in repo.box_contents(db, box.id)}
    grid = [[(position_label(r, c), at.get((r, c))) for c in range(1, box.cols + 1)]
            for r in range(1, box.rows + 1)]
    return render(request, "samples/box.html", {"box": box, "grid": grid, "used": len(at),
                                                "can_see": principal.can_see_trust})


# Shipments ----------------------------------------------------------------------------------------

@router.get("/samples/shipments")
def shipments_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Every shipment, newest first, and a form to open one."""
    return render(request, "samples/shipments.html", {"shipments": service.shipments_for(db, principal)})


@router.post("/samples/shipments")
def shipment_create(request: Request, kind: str = Form(...), destination: str = Form(""), origin: str = Form(""),
                    principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Opens a draft shipment and shows it."""
    try:
        with db.begin_nested():
            shipment = service.create_shipment(db, principal, kind=kind, origin=origin, destination=destination)
    except DomainError as exc:
        return render(request, "samples/shipments.html", {"shipments": service.shipments_for(db, principal),
                      "message": exc.message,
                      "message_kind": "error"}, status_code=exc.status_code)
    return RedirectResponse(f"/samples/shipments/{shipment.reference}", status_code=303)


def _shipment_context(db: GmcSession, principal: Principal, reference: str) -> dict[str, object]:
    shipment = service.get_shipment(db, principal, reference)
    return {"shipment": shipment, "items": service.visible_items(shipment, principal),
            "rec": service.reconcile(shipment, principal), "lines": service.manifest_lines(db, principal, shipment)}


@router.get("/samples/shipments/{reference}")
def shipment_page(request: Request, reference: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """A shipment: scan samples onto the manifest, ship it, scan them in on arrival, reconcile."""
    return render(request, "samples/shipment.html", _shipment_context(db, principal, reference))


@router.get("/samples/shipments/{reference}/manifest")
def manifest_page(request: Request, reference: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The printable HTML manifest."""
    return render(request, "samples/manifest.html", _shipment_context(db, principal, reference))


@router.post("/samples/shipments/{reference}/{what}")
def shipment_action(request: Request, reference: str, what: str, barcode: str = Form(""),
                    courier_tracking: str = Form(""), principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Adds/removes a scanned sample, ships, receives a scanned sample, or closes receipt."""
    message, kind = "", "ok"
    try:
        with db.begin_nested():
            if what == "add":
                service.add_to_shipment(db, principal, reference, barcode)
                message = f"Added {barcode.strip()}."
            elif what == "remove":
                service.remove_from_shipment(db, principal, reference, barcode)
                message = f"Removed {barcode.strip()}."
            elif what == "ship":
                service.ship(db, principal, reference, courier_tracking=courier_tracking)
                message = "Shipment marked as shipped."
            elif what == "receive":
                result = service.receive_scan(db, principal, reference, barcode)
                message, kind = result.message, "ok" if result.expected else "error"
            elif what == "close":
                rec = service.close_receipt(db, principal, reference)
                message = ("Receipt closed: everything arrived." if rec.complete else
                           f"Receipt closed: {len(rec.missing)} missing, {len(rec.unexpected)} unexpected.")
                kind = "ok" if rec.complete else "error"
            else:
                raise DomainError(f"unknown shipment action {what!r}")
        status = 200
    except DomainError as exc:
        message, kind, status = exc.message, "error", exc.status_code
    return render(request, "samples/shipment.html", {**_shipment_context(db, principal, reference),
                  "message": message, "message_kind": kind}, status_code=status)


# Worklists and turnaround -------------------------------------------------------------------------

@router.get("/samples/worklists")
def worklists_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Overdue samples, samples to destroy, open re-sample requests and QC failures."""
    resample = [(r, db.get(Sample, r.sample_id)) for r in repo.open_resample_requests(db, principal.trust_scope)]
    return render(request, "samples/worklists.html", {
        "overdue": service.overdue_worklist(db, principal), "destruction": service.destruction_worklist(db, principal),
        "resample": resample, "targets": repo.turnaround_targets(db),
        "state_labels": {s.value: label for s, label in STATE_LABELS.items()}})


#: Sections other features add to the turnaround page (reporting adds referral to report): each takes the session
#: and principal and returns {"template": name, **context} or None when the caller may not see it.
TURNAROUND_SECTIONS: list[Callable[[GmcSession, Principal], dict[str, Any] | None]] = []


def register_turnaround_section(section: Callable[[GmcSession, Principal], dict[str, Any] | None]) -> None:
    """Adds a section to the turnaround page (called by a feature's views on import)."""
    if section not in TURNAROUND_SECTIONS:
        TURNAROUND_SECTIONS.append(section)


@router.get("/samples/turnaround")
def turnaround_page(request: Request, by: str = "trust", principal: Principal = READ,
                    db: GmcSession = DB) -> Response:
    """Median days per lifecycle step by trust or sample type, as bar charts against the targets."""
    by = by if by in ("trust", "sample_type") else "trust"
    stats = turnaround(service.turnaround_clocks(db, principal), by=by)
    charts = turnaround_charts(stats, service.target_table(db), by)
    overdue = service.overdue_worklist(db, principal)
    sections = [found for section in TURNAROUND_SECTIONS if (found := section(db, principal))]
    return render(request, "samples/turnaround.html", {"charts": charts, "stats": stats, "by": by,
                                                       "overdue": overdue, "sections": sections})


@router.get("/samples/{barcode}")
def sample_page(request: Request, barcode: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """One sample: facts, lineage tree, QC, location, chain of custody and the actions allowed now."""
    sample = service.get_sample(db, principal, barcode)
    response = render(request, "samples/sample.html", _sample_context(db, principal, sample))
    service.record_sample_read(db, principal, sample)
    return response
