"""Sample pages: list and import, scanning station, sample page, storage, shipments, worklists, turnaround."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from gmc.audit import repository as audit_repository
from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, ValidationFailed
from gmc.common.flash import redirect_with_message
from gmc.common.labels import add_labels, label
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, matches_text, paginate_list
from gmc.common.requests import FormFields, import_max_bytes
from gmc.common.templating import render
from gmc.common.worklists import WorkItem, Worklist, WorklistSource, register_worklist, worklist
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.jobs.router import runs_as_job, submit_job
from gmc.registry.consent import consent_status
from gmc.samples import printing, service
from gmc.samples import repository as repo
from gmc.samples.layout import LAYOUTS, all_positions, position_label
from gmc.samples.lifecycle import STATE_LABELS, SampleState, manual_next
from gmc.samples.models import Sample, Shipment
from gmc.samples.qc import METRIC_LABELS, METRICS
from gmc.samples.turnaround import turnaround, turnaround_charts

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Samples", "/samples", Permission.SAMPLE_READ, order=200, roles=frozenset({"lab"})))
register_nav(NavItem("Scan", "/samples/scan", Permission.SAMPLE_WRITE, order=201, roles=frozenset({"lab"})))
register_nav(NavItem("Storage", "/samples/storage", Permission.SAMPLE_READ, order=202, roles=frozenset({"lab"})))
register_nav(NavItem("Shipments", "/samples/shipments", Permission.SAMPLE_READ, order=203, roles=frozenset({"lab"})))
register_nav(NavItem("Worklists", "/samples/worklists", Permission.SAMPLE_READ, order=204, roles=frozenset({"lab"})))
register_nav(NavItem("Turnaround", "/samples/turnaround", Permission.SAMPLE_READ, order=205, roles=frozenset({"lab"})))

READ = Depends(require(Permission.SAMPLE_READ))
WRITE = Depends(require(Permission.SAMPLE_WRITE))

add_labels({st.value: text for st, text in STATE_LABELS.items()}, {
    "collected": "info", "in_transit": "info", "received": "info", "extracted": "info", "qc_passed": "ok",
    "qc_failed": "bad", "dispatched": "info", "sequenced": "info", "data_received": "ok",
    "returned_to_sender": "bad"})


# Home-page worklists --------------------------------------------------------------------------------

def _to_receive(db: GmcSession, principal: Principal) -> Worklist:
    waiting = repo.samples_in_states(db, service.scope_of(principal), ["collected", "in_transit"])
    items = [WorkItem(s.barcode, f"/samples/{s.barcode}", f"{label(s.state).lower()} since {s.state_changed_at:%d %b}")
             for s in waiting]
    return worklist("Samples to receive", items, href="/samples?state=collected")


def _overdue(db: GmcSession, principal: Principal) -> Worklist:
    late = service.overdue_worklist(db, principal)
    items = [WorkItem(o.barcode, f"/samples/{o.barcode}", f"{label(o.state).lower()} for {o.days_in_state:g} days "
                      f"(target {o.target_days:g})") for o in late]
    return worklist("Overdue samples", items, href="/samples/worklists", late=True)


def _open_shipments(db: GmcSession, principal: Principal) -> Worklist:
    open_ = [s for s in service.shipments_for(db, principal)
             if s.status == "draft" or (s.status == "shipped" and s.kind == "to_lab")]
    items = [WorkItem(s.reference, f"/samples/shipments/{s.reference}",
                      f"{label(s.status).lower()}, {len(s.items)} samples, {label(s.kind).lower()}") for s in open_]
    return worklist("Shipments to fill or receive", items, href="/samples/shipments")


def _to_destroy(db: GmcSession, principal: Principal) -> Worklist:
    due = service.destruction_worklist(db, principal)
    items = [WorkItem(d.sample.barcode, f"/samples/{d.sample.barcode}", d.reason) for d in due]
    return worklist("Samples to destroy", items, href="/samples/worklists", late=True)


def _resample(db: GmcSession, principal: Principal) -> Worklist:
    items = []
    for r in repo.open_resample_requests(db, service.scope_of(principal)):
        sample = db.get(Sample, r.sample_id)
        items.append(WorkItem(sample.barcode, f"/samples/{sample.barcode}", f"{r.reason} (since {r.created_at:%d %b})"))
    return worklist("Re-sample requests", items, href="/samples/worklists")


for _order, (_key, _build) in enumerate((("to_receive", _to_receive), ("overdue", _overdue),
                                         ("shipments", _open_shipments), ("destroy", _to_destroy),
                                         ("resample", _resample))):
    register_worklist(WorklistSource(f"samples.{_key}", frozenset({"lab"}), _build, order=100 + _order))

#: Actions offered at the scanning station, in the order of a sample's day in the lab.
SCAN_ACTIONS = {"lookup": "Look up", "receive": "Receive at the lab", "extract": "Extract DNA (scan sample, then new tube)",
                "qc": "Record QC (type the values, then scan)", "store": "Put away in a box",
                "retrieve": "Retrieve from storage", "add_to_shipment": "Add to a shipment",
                "ship": "Ship (scan the shipment reference)", "sequenced": "Sequencing confirmed",
                "data_received": "Sequencing data received", "archived": "Archive",
                "returned_to_sender": "Return to sender"}
#: The QC values typed at the station (the rest are recorded on the sample page or through the API).
SCAN_QC_METRICS = ("concentration_ng_ul", "volume_ul", "a260_280", "din", "tumour_purity")


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
    """Samples in your trusts with search, export and CSV import: filtered, sorted and paged."""
    samples = service.search_samples(db, principal, text=q, state=state)
    if q and len(samples) == 1 and samples[0].barcode == q.strip():
        return RedirectResponse(f"/samples/{samples[0].barcode}", status_code=303)
    list_state = ListState.from_query("/samples", request.query_params, sorts=list(_SAMPLE_SORTS),
                                      default_sort="since", default_descending=True, filters=("q", "state"))
    page = paginate_list(samples, list_state, _SAMPLE_SORTS)
    response = render(request, "samples/list.html", {**_base(request), **_register_context(db, principal),
                                                     "samples": page.items, "page": page, "q": q, "state": state,
                                                     "states": list(SampleState), "pnumbers": repo.participant_numbers(
                                                         db, {s.participant_id for s in page.items})})
    service.record_sample_search(db, principal, samples, state=state)
    return response


_SAMPLE_SORTS = {"barcode": lambda s: s.barcode, "type": lambda s: (s.sample_type_code, s.barcode),
                 "state": lambda s: (s.state, s.barcode), "since": lambda s: (s.state_changed_at, s.barcode)}


@router.post("/samples/register")
def register_page(request: Request, form_fields: FormFields, principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Registers a collected specimen from the form and opens its page (or shows why not)."""
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
    ctx["pnumbers"] = repo.participant_numbers(db, {s.participant_id for s in made})
    return render(request, "samples/list.html", {**ctx, "message": f"Imported {len(made)} samples.",
                                                 "message_kind": "ok"}, status_code=201)


# Scanning station ---------------------------------------------------------------------------------

@dataclass
class ScanStation:
    """What the station keeps between scans: the action and the fields that stay filled for a batch."""

    action: str = "receive"
    box: str = ""
    position: str = ""
    shipment: str = ""
    method: str = ""
    kit_lot: str = ""
    #: Extraction: the sample scanned first, waiting for its new tube.
    source: str = ""

    def query(self) -> str:
        """The station as URL parameters (for the redirect after a scan without JavaScript)."""
        return urlencode({k: v for k, v in asdict(self).items() if v})


@dataclass
class ScanOutcome:
    """What one scan did, as the station shows and announces it."""

    ok: bool
    barcode: str
    message: str
    link: str | None = None
    state: str | None = None


def _scan_context(station: ScanStation, outcome: ScanOutcome | None = None) -> dict[str, object]:
    return {"actions": SCAN_ACTIONS, "station": station, "result": outcome, "qc_metrics": SCAN_QC_METRICS,
            "metric_labels": METRIC_LABELS, "metric_units": {k: v[0] for k, v in METRICS.items()},
            "state_labels": {st.value: label for st, label in STATE_LABELS.items()}}


@router.get("/samples/scan")
def scan_page(request: Request, action: str = "receive", box: str = "", position: str = "", shipment: str = "",
              method: str = "", kit_lot: str = "", source: str = "", _: Principal = WRITE) -> Response:
    """The scanning station: a focused field that a keyboard-wedge scanner fills and submits with Enter."""
    station = ScanStation(action if action in SCAN_ACTIONS else "receive", box, position, shipment, method, kit_lot,
                          source)
    return render(request, "samples/scan.html", _scan_context(station))


def _sample_outcome(sample: Sample, message: str) -> ScanOutcome:
    label = STATE_LABELS.get(SampleState(sample.state), sample.state)
    where = service.location_of(sample)
    text = f"{sample.barcode}: {message}. Now {label}" + (f", {where}" if where else "") + "."
    return ScanOutcome(True, sample.barcode, text, f"/samples/{sample.barcode}", sample.state)


def _do_scan(db: GmcSession, principal: Principal, station: ScanStation, barcode: str,
             qc_values: dict[str, str]) -> ScanOutcome:
    """Applies the station's action to one scanned barcode (raises DomainError, changing nothing, when refused)."""
    action = station.action
    code = barcode.strip()
    if not code:
        raise ValidationFailed("scan a barcode", field="barcode")
    if action == "lookup":
        sample = service.get_sample(db, principal, code)
        service.record_sample_read(db, principal, sample)
        return _sample_outcome(sample, "found")
    if action == "receive":
        return _sample_outcome(service.receive(db, principal, code), "received")
    if action == "extract":
        if not station.source:
            sample = service.get_sample(db, principal, code)
            if sample.state != SampleState.RECEIVED.value:
                raise ValidationFailed(f"sample {sample.barcode} is {sample.state}: only a received sample can be "
                                       "extracted", field="barcode")
            station.source = sample.barcode
            return ScanOutcome(True, sample.barcode, f"{sample.barcode}: now scan the new DNA tube.",
                               f"/samples/{sample.barcode}", sample.state)
        source, station.source = station.source, ""
        child = service.extract(db, principal, source, new_barcode=code, method=station.method,
                                kit_lot=station.kit_lot)
        return _sample_outcome(child, f"DNA extracted from {source}")
    if action == "qc":
        values = {k: v.strip() for k, v in qc_values.items() if v.strip()}
        if not values:
            raise ValidationFailed("type the QC values before scanning the sample", field="concentration_ng_ul")
        result = service.record_qc(db, principal, code, values)
        sample = service.get_sample(db, principal, code)
        verdict = "QC passed" if result.passed else "QC failed: " + "; ".join(result.reasons)
        return _sample_outcome(sample, verdict)
    if action == "store":
        sample = service.put_away(db, principal, code, box_barcode=station.box, position=station.position)
        station.position = _next_position(db, station.box, station.position)
        outcome = _sample_outcome(sample, f"put away at {station.box} {sample_position(sample)}")
        if station.position:
            outcome.message += f" Next free position {station.position}."
        return outcome
    if action == "retrieve":
        return _sample_outcome(service.retrieve(db, principal, code), "retrieved")
    if action == "add_to_shipment":
        if not station.shipment.strip():
            raise ValidationFailed("scan or type the shipment reference first", field="shipment")
        item = service.add_to_shipment(db, principal, station.shipment, code)
        shipment = service.get_shipment(db, principal, station.shipment)
        return _sample_outcome(item.sample, f"added to shipment {shipment.reference} "
                                            f"({len(shipment.items)} on the manifest)")
    if action == "ship":
        shipment = service.ship(db, principal, code)
        return ScanOutcome(True, shipment.reference, f"Shipment {shipment.reference} shipped with "
                           f"{len(shipment.items)} samples to {shipment.destination}.",
                           f"/samples/shipments/{shipment.reference}", shipment.status)
    if action in SCAN_ACTIONS:
        return _sample_outcome(service.transition(db, principal, code, action), SCAN_ACTIONS[action].lower())
    raise ValidationFailed(f"unknown scanning action {action!r}", field="action")


def sample_position(sample: Sample) -> str:
    """A stored sample's position label (e.g. A1), or '' when not in a box."""
    if sample.box_row is None or sample.box_col is None:
        return ""
    return position_label(sample.box_row, sample.box_col)


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
async def scan_submit(request: Request, principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Applies the chosen action to the scanned barcode; a refusal changes nothing and says why.

    From the station's script (header HX-Request) the answer is the result fragment, always 200 with the real
    status in X-Scan-Status; without JavaScript the browser is redirected back to the station (post/redirect/get).
    """
    form = {k: str(v) for k, v in (await request.form()).items()}
    station = ScanStation(**{k: form.get(k, "").strip() for k in ScanStation.__dataclass_fields__})
    if station.action not in SCAN_ACTIONS:
        station.action = "lookup"
    barcode = form.get("barcode", "")
    status = 200
    try:
        with db.begin_nested():
            outcome = _do_scan(db, principal, station, barcode, {k: form.get(k, "") for k in SCAN_QC_METRICS})
    except DomainError as exc:
        if exc.field == "barcode":  # the waiting extraction's source itself was refused
            station.source = ""
        outcome = ScanOutcome(False, barcode.strip(), f"{barcode.strip() or 'Nothing scanned'}: {exc.message}. "
                                                      "Nothing was changed.")
        status = exc.status_code
    if not request.headers.get("hx-request"):
        return redirect_with_message(f"/samples/scan?{station.query()}", outcome.message,
                                     "ok" if outcome.ok else "error")
    response = render(request, "samples/_scan_result.html", {**_scan_context(station, outcome)})
    response.headers["X-Scan-Status"] = str(status)
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
        "qc_results": repo.qc_results_of(db, sample.id), "next_states": manual_next(sample.state, sample.archived_from),
        "metrics": METRIC_LABELS, "metric_units": {k: v[0] for k, v in METRICS.items()},
        "datamatrix": Markup(printing.datamatrix_svg(sample.barcode)),
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
    return redirect_with_message(f"/samples/{target}", message)


# Storage ------------------------------------------------------------------------------------------

@router.get("/samples/storage")
def storage_page(request: Request, find: str = "", principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Freezers, racks and boxes with how full each box is; find a sample's location."""
    found = None
    ctx: dict[str, object] = {"freezers": service.freezers_for(db, principal), "fill": repo.box_fill(db), "find": find,
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
                freezer = service.find_freezer(db, principal, form.get("freezer", ""))
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
        return render(request, "samples/storage.html", {"freezers": service.freezers_for(db, principal), "fill": repo.box_fill(db),
                      "find": "", "found": None, "message": message, "message_kind": "error",
                      "layouts": LAYOUTS}, status_code=status)
    return render(request, "samples/storage.html", {"freezers": service.freezers_for(db, principal), "fill": repo.box_fill(db),
                  "find": "", "found": None, "message": f"Added {what} {form.get('name') or form.get('barcode')}.",
                  "message_kind": "ok", "layouts": LAYOUTS}, status_code=201)


@router.get("/samples/storage/boxes/{box_barcode}")
def box_page(request: Request, box_barcode: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """A box as a grid: each position with its sample (or free)."""
    box = service.get_box(db, box_barcode, principal)
    at = {(s.box_row, s.box_col): s for s in repo.box_contents(db, box.id)}
    grid = [[(position_label(r, c), at.get((r, c))) for c in range(1, box.cols + 1)]
            for r in range(1, box.rows + 1)]
    return render(request, "samples/box.html", {"box": box, "grid": grid, "used": len(at),
                                                "can_see": principal.can_see_trust})


# Shipments ----------------------------------------------------------------------------------------

def _shipments_context(request: Request, db: GmcSession, principal: Principal) -> dict[str, object]:
    """The shipments list: filtered by text, status and kind, sorted and paged on the server (state in the URL)."""
    state = ListState.from_query("/samples/shipments", request.query_params, sorts=list(_SHIPMENT_SORTS),
                                 default_sort="opened", default_descending=True, filters=("q", "status", "kind"))
    f = state.filters
    rows = [s for s in service.shipments_for(db, principal)
            if (not f.get("q") or matches_text(_shipment_text(s), f["q"], _SHIPMENT_TEXT))
            and (not f.get("status") or s.status == f["status"]) and (not f.get("kind") or s.kind == f["kind"])]
    page = paginate_list(rows, state, _SHIPMENT_SORTS)
    return {"shipments": page.items, "page": page, "filters": f, "statuses": _SHIPMENT_STATUSES,
            "kinds": _KIND_TEXT}


def _shipment_text(s: Shipment) -> dict[str, object]:
    return {"reference": s.reference, "origin": s.origin, "destination": s.destination,
            "tracking": s.courier_tracking}


_SHIPMENT_STATUSES = ("draft", "shipped", "received")
#: How each of service.SHIPMENT_KINDS reads on the page.
_KIND_TEXT = {"to_sequencing": "to the sequencing provider", "to_lab": "from a trust to the lab"}
_SHIPMENT_TEXT = ("reference", "origin", "destination", "tracking")
_NEVER = datetime.min
_SHIPMENT_SORTS = {"reference": lambda s: s.reference, "opened": lambda s: (s.created_at, s.id),
                   "destination": lambda s: (s.destination.lower(), s.id), "status": lambda s: (s.status, s.id),
                   "samples": lambda s: (len(s.items), s.id), "shipped": lambda s: (s.shipped_at or _NEVER, s.id)}


@router.get("/samples/shipments")
def shipments_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Shipments filtered, sorted and paged (newest first by default), and a form to open one."""
    return render(request, "samples/shipments.html", _shipments_context(request, db, principal))


@router.post("/samples/shipments")
def shipment_create(request: Request, kind: str = Form(...), destination: str = Form(""), origin: str = Form(""),
                    principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Opens a draft shipment and shows it."""
    try:
        with db.begin_nested():
            shipment = service.create_shipment(db, principal, kind=kind, origin=origin, destination=destination)
    except DomainError as exc:
        return render(request, "samples/shipments.html", {**_shipments_context(request, db, principal),
                      "message": exc.message, "message_kind": "error"}, status_code=exc.status_code)
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
    except DomainError as exc:
        return render(request, "samples/shipment.html", {**_shipment_context(db, principal, reference),
                      "message": exc.message, "message_kind": "error"}, status_code=exc.status_code)
    return redirect_with_message(f"/samples/shipments/{reference}", message, kind)


# Worklists and turnaround -------------------------------------------------------------------------

@router.get("/samples/worklists")
def worklists_page(request: Request, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Overdue samples, samples to destroy, open re-sample requests and QC failures."""
    resample = [(r, db.get(Sample, r.sample_id)) for r in repo.open_resample_requests(db, principal.trust_scope)]
    service.record_samples_shown(db, principal, "re-sample", [s for _, s in resample if s is not None])
    return render(request, "samples/worklists.html", {
        "overdue": service.overdue_worklist(db, principal), "destruction": service.destruction_worklist(db, principal),
        "resample": resample, "targets": [t for t in repo.turnaround_targets(db)
                                           if t.centre_id in (None, principal.centre_id)],
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
    charts = turnaround_charts(stats, service.target_table(db, principal.centre_id), by)
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
