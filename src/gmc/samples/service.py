"""Sample rules: registration, lifecycle transitions, extraction, QC, storage, shipments and destruction.

Every function takes the session and the calling Principal, checks the caller's trust scope, records a
custody event and an audit event for each change, and never commits (the request or command boundary does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth import scope
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.common.time import as_utc, utcnow
from gmc.jobs.service import Progress, register_job_kind
from gmc.registry.consent import ConsentAction, current_consent, is_allowed
from gmc.registry.models import Participant, Referral
from gmc.samples import repository as repo
from gmc.samples.layout import parse_position, position_label
from gmc.samples.lifecycle import QC_STATES, IllegalTransition, SampleState, check_transition, parse_state
from gmc.samples.models import (
    Freezer,
    QcResult,
    ResampleRequest,
    Sample,
    SampleEvent,
    Shipment,
    ShipmentItem,
    StorageBox,
    StorageUnit,
)
from gmc.samples.printing import Label, ManifestLine
from gmc.samples.qc import METRICS, QcThreshold, evaluate
from gmc.samples.turnaround import Overdue, SampleClock, overdue

S = SampleState
_BARCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{3,39}$")
#: States from which a sample may be put on a manifest to the sequencing provider.
_SEQUENCING_READY = {S.QC_PASSED.value}
#: States from which a sample may travel to the lab.
_LAB_READY = {S.COLLECTED.value, S.RECEIVED.value}
#: States meaning a sample has already gone to sequencing (a pair partner there counts as dispatched).
_ALREADY_SENT = {S.DISPATCHED.value, S.SEQUENCED.value, S.DATA_RECEIVED.value}


def scope_of(principal: Principal) -> repo.Scope:
    """The caller's trust scope for repository queries."""
    return principal.trust_scope


def _named_centre(session: Session, principal: Principal, centre_code: str | None) -> int | None:
    """The id of the centre a request names (unknown: refused naming it), else the caller's own centre."""
    from gmc.organisations.models import Centre

    if not (centre_code and centre_code.strip()):
        return principal.centre_id
    centre_id = session.execute(select(Centre.id).where(Centre.code == centre_code.strip().upper())
                                ).scalar_one_or_none()
    if centre_id is None:
        raise ValidationFailed(f"unknown centre {centre_code.strip()}", field="centre_code")
    return centre_id


def centre_for(session: Session, principal: Principal, centre_code: str | None, *, what: str) -> int | None:
    """The centre a centre resource is for: the one named (which the caller must be centre-wide staff of, or
    national) or else the caller's own; national staff naming none mean the programme default (None)."""
    centre_id = _named_centre(session, principal, centre_code)
    if centre_id is None:
        scope.require_national(principal, what=f"the programme's default {what}")
    else:
        scope.require_centre(principal, centre_id, what=what)
    return centre_id


def sample_centre_id(session: Session, sample: Sample) -> int | None:
    """The centre of the trust that holds a sample."""
    from gmc.organisations.models import Trust

    trust = session.get(Trust, sample.trust_id)
    return trust.centre_id if trust else None


def clean_barcode(barcode: str, *, field: str = "barcode") -> str:
    """A barcode as scanned, trimmed; refuses empty or malformed ones."""
    value = (barcode or "").strip()
    if not _BARCODE.match(value):
        raise ValidationFailed(f"barcode {value!r} must be 4-40 letters, digits, dots, dashes or underscores",
                               field=field)
    return value


def get_sample(session: Session, principal: Principal, barcode: str) -> Sample:
    """The sample with this barcode in the caller's scope; NotFound names the barcode."""
    value = (barcode or "").strip()
    if not value:
        raise ValidationFailed("scan or type a barcode", field="barcode")
    sample = repo.sample_by_barcode(session, value, scope_of(principal))
    if sample is None:
        raise NotFound(f"unknown barcode {value}: no sample with this barcode in your trusts", field="barcode")
    return sample


def record_sample_read(session: Session, principal: Principal, sample: Sample) -> None:
    """Audits that the caller was shown a sample (it leads to a participant).

    Callers record it last, after every query of the request: a pending event flushed by a later query would
    take the audit chain lock in the handler's thread and hold it until the commit, so concurrent scans would
    queue behind each other instead of only behind the commit.
    """
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="sample", entity_id=sample.id,
           trust_id=sample.trust_id)


def search_samples(session: Session, principal: Principal, *, text: str = "", state: str = "",
                   sample_type: str = "") -> Sequence[Sample]:
    """Samples in the caller's trusts matching a search, newest first (audit it with record_sample_search)."""
    return repo.search_samples(session, scope_of(principal), text=text, state=state, sample_type=sample_type)


def record_samples_shown(session: Session, principal: Principal, what: str, samples: Sequence[Sample]) -> None:
    """Audits a list of samples shown (a worklist, a shipment, a box): which barcodes, never more than 100."""
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="sample",
           summary={"worklist": what, "barcodes": [s.barcode for s in samples][:100], "count": len(samples)})


def record_sample_search(session: Session, principal: Principal, found: Sequence[Sample], *, state: str = "",
                         sample_type: str = "") -> None:
    """Audits a search of samples by its filters and result count, never its text (it may hold an id); last."""
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="sample",
           summary={"results": len(found), "state": state or None, "sample_type": sample_type or None})


def _flush(session: Session, what: str) -> None:
    """Flushes so a stale version or a taken unique key becomes a 409 here, not a 500 at commit."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"{what} was changed by someone else at the same time; reload and try again",
                       field="version") from None
    except IntegrityError as exc:
        raise Conflict(f"{what} clashes with an existing record ({exc.orig.__class__.__name__})") from None


def _event(session: Session, sample: Sample, principal: Principal, kind: str, *, from_state: str | None = None,
           to_state: str | None = None, location: str | None = None, detail: dict[str, Any] | None = None,
           when: datetime | None = None) -> SampleEvent:
    ev = SampleEvent(sample_id=sample.id, occurred_at=when or utcnow(), actor=principal.username, kind=kind,
                     from_state=from_state, to_state=to_state, location=location, detail=detail or {})
    session.add(ev)
    return ev


def location_of(sample: Sample) -> str | None:
    """Where a stored sample is: freezer / rack / box / position (None when not stored)."""
    if sample.box is None or sample.box_row is None or sample.box_col is None:
        return None
    box = sample.box
    return (f"{box.unit.freezer.name} / {box.unit.name} / {box.name} ({box.barcode}) / "
            f"{position_label(sample.box_row, sample.box_col)}")


# Registration ---------------------------------------------------------------------------------------

@dataclass
class NewSpecimen:
    """What is recorded when a specimen is collected."""

    barcode: str
    sample_type: str
    participant_id: str
    trust_id: int
    collected_at: datetime
    collected_by: str
    referral_id: str | None = None
    tumour_site: str | None = None
    tumour_histology: str | None = None
    tumour_content_pct: float | None = None
    volume_ul: float | None = None


def register_specimen(session: Session, principal: Principal, new: NewSpecimen) -> Sample:
    """Records a collected specimen (state collected) after checking type, trust, referral and consent."""
    barcode = clean_barcode(new.barcode)
    if repo.barcode_exists(session, barcode):
        raise Conflict(f"duplicate barcode {barcode}: another sample already has it", field="barcode")
    stype = repo.sample_type(session, new.sample_type)
    if stype is None or not stype.active:
        raise ValidationFailed(f"unknown sample type {new.sample_type!r}", field="sample_type")
    if not stype.is_specimen:
        raise ValidationFailed(f"{stype.label} is made in the lab: record it by extraction, not collection",
                               field="sample_type")
    principal.require_trust(new.trust_id)
    participant = repo.participant_by_programme_id(session, new.participant_id.strip())
    if participant is None:
        raise NotFound(f"no participant {new.participant_id}", field="participant_id")
    referral: Referral | None = None
    if new.referral_id:
        referral = repo.referral_by_code(session, new.referral_id.strip())
        if referral is None or referral.participant_id != participant.id:
            raise ValidationFailed(f"referral {new.referral_id} is not a referral of participant "
                                   f"{participant.participant_id}", field="referral_id")
    decision = is_allowed(session, participant.id, ConsentAction.COLLECT_SAMPLE)
    if not decision.allowed:
        raise Conflict(f"consent does not allow collecting a sample: {decision.reason}", field="participant_id")
    collected_at = as_utc(new.collected_at)
    if collected_at > utcnow():
        raise ValidationFailed("the collection time is in the future", field="collected_at")
    if new.tumour_content_pct is not None and not 0 <= new.tumour_content_pct <= 100:
        raise ValidationFailed("tumour content must be a percentage between 0 and 100", field="tumour_content_pct")
    if stype.tissue != "tumour" and (new.tumour_site or new.tumour_histology or new.tumour_content_pct is not None):
        raise ValidationFailed(f"{stype.label} is not a tumour sample: leave the tumour details empty",
                               field="tumour_site")
    sample = Sample(barcode=barcode, sample_type_code=stype.code, kind="specimen", tissue=stype.tissue,
                    origin_type_code=stype.code, participant_id=participant.id,
                    referral_id=referral.id if referral else None, trust_id=new.trust_id,
                    state=S.COLLECTED.value, state_changed_at=collected_at, collected_at=collected_at,
                    collected_by=new.collected_by.strip() or principal.username, tumour_site=new.tumour_site or None,
                    tumour_histology=new.tumour_histology or None, tumour_content_pct=new.tumour_content_pct,
                    volume_ul=new.volume_ul, created_at=utcnow())
    session.add(sample)
    _flush(session, f"sample {barcode}")
    _event(session, sample, principal, "collect", to_state=S.COLLECTED.value, when=collected_at,
           detail={"collected_by": sample.collected_by})
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="sample", entity_id=sample.id,
           trust_id=sample.trust_id, summary={"barcode": barcode, "type": stype.code, "state": sample.state})
    return sample


# Lifecycle ------------------------------------------------------------------------------------------

def transition(session: Session, principal: Principal, barcode: str, to_state: str, *,
               expected_version: int | None = None, note: str = "", kind: str = "transition",
               detail: dict[str, Any] | None = None, when: datetime | None = None,
               location: str | None = None) -> Sample:
    """Moves a sample to a new state if the lifecycle allows it; a stale expected_version is a 409."""
    sample = get_sample(session, principal, barcode)
    target = parse_state(to_state, field="to_state")
    if target in QC_STATES and not (sample.state == S.ARCHIVED.value and sample.archived_from == target.value):
        raise IllegalTransition(f"sample {sample.barcode} is {sample.state}: record QC measurements to pass or "
                                "fail it", field="to_state")
    return _transition(session, principal, sample, target,
                       expected_version=expected_version, note=note, kind=kind, detail=detail, when=when,
                       location=location)


def _transition(session: Session, principal: Principal, sample: Sample, target: SampleState, *,
                expected_version: int | None = None, note: str = "", kind: str = "transition",
                detail: dict[str, Any] | None = None, when: datetime | None = None,
                location: str | None = None, in_shipment: bool = False) -> Sample:
    if expected_version is not None and expected_version != sample.version:
        raise Conflict(f"sample {sample.barcode} changed since you loaded it (version {expected_version}, now "
                       f"{sample.version}, state {sample.state}); reload and try again", field="version")
    current = sample.state
    check_transition(current, target, barcode=sample.barcode, archived_from=sample.archived_from)
    if target == S.DISPATCHED:
        _check_sequencing_ready(session, sample)
        _check_dispatch_consent(session, sample)
        if not in_shipment:
            _check_pairs(session, [sample])
    at = when or utcnow()
    sample.archived_from = current if target == S.ARCHIVED else None
    sample.state = target.value
    sample.state_changed_at = at
    where = location
    if target in (S.DISPATCHED, S.DESTROYED) and sample.box_id is not None:
        where = where or f"out of {location_of(sample)}"
        sample.box_id = sample.box_row = sample.box_col = None
    info = dict(detail or {})
    if note:
        info["note"] = note
    _flush(session, f"sample {sample.barcode}")
    _event(session, sample, principal, kind, from_state=current, to_state=target.value, location=where,
           detail=info, when=at)
    verb = {"destroy": AuditVerb.DESTROY, "ship": AuditVerb.SHIP, "receive": AuditVerb.RECEIVE}.get(
        kind, AuditVerb.TRANSITION)
    record(session, actor=principal.actor, verb=verb, entity_type="sample", entity_id=sample.id,
           trust_id=sample.trust_id, summary={"barcode": sample.barcode, "from": current, "to": target.value,
                                              "version": sample.version, **info})
    return sample


def receive(session: Session, principal: Principal, barcode: str) -> Sample:
    """Receives a sample at the lab (from collected, in transit or returned)."""
    return transition(session, principal, barcode, S.RECEIVED.value, kind="receive")


def _check_dispatch_consent(session: Session, sample: Sample) -> None:
    decision = is_allowed(session, sample.participant_id, ConsentAction.DISPATCH_SAMPLE)
    if not decision.allowed:
        raise Conflict(f"sample {sample.barcode} may not be dispatched: {decision.reason}", field="barcode")


def _passed_qc(session: Session, sample: Sample) -> bool:
    """True when the sample's latest QC measurement passed."""
    results = repo.qc_results_of(session, sample.id)  # newest first
    return bool(results) and results[0].passed


def _check_sequencing_ready(session: Session, sample: Sample) -> None:
    """Sequencing takes extracted DNA (or RNA) whose latest QC passed, and nothing else."""
    if sample.kind == "specimen":
        raise Conflict(f"sample {sample.barcode} is a {sample.sample_type_code} specimen: sequencing takes extracted "
                       "DNA or RNA that passed QC", field="barcode")
    if sample.state != S.QC_PASSED.value or not _passed_qc(session, sample):
        raise Conflict(f"sample {sample.barcode} is {sample.state}: only a sample whose QC passed is dispatched for "
                       "sequencing", field="barcode")


def _is_cancer(session: Session, sample: Sample) -> bool:
    if sample.tissue == "tumour":
        return True
    if sample.referral_id is None:
        return False
    referral = session.get(Referral, sample.referral_id)
    return referral is not None and referral.programme_arm == "cancer"


def _check_pairs(session: Session, batch: list[Sample]) -> None:
    """A cancer tumour sample and its germline sample go to sequencing together, both having passed QC."""
    in_batch = {s.id for s in batch}
    for sample in batch:
        if not _is_cancer(session, sample):
            continue
        partner_tissue = "germline" if sample.tissue == "tumour" else "tumour"
        if sample.referral_id is not None:
            relatives = repo.samples_of_referral(session, sample.referral_id)
        else:
            relatives = repo.samples_of_participant(session, sample.participant_id)
        partners = [r for r in relatives if r.tissue == partner_tissue]
        # A partner counts when it travels in this batch (which holds only QC-passed samples) or has gone already
        # having passed QC: a pair never leaves with a failed member.
        ok = [p for p in partners if p.id in in_batch or (p.state in _ALREADY_SENT and _passed_qc(session, p))]
        if not ok:
            passed = [p for p in partners if p.state == S.QC_PASSED.value]
            hint = (f"add {partner_tissue} sample {passed[0].barcode} (QC passed) to the same shipment" if passed
                    else f"no {partner_tissue} sample of this case has passed QC yet")
            raise Conflict(f"cancer pair rule: {sample.tissue} sample {sample.barcode} must be dispatched with its "
                           f"{partner_tissue} sample; {hint}", field="barcode")


# Extraction and aliquots ----------------------------------------------------------------------------

def extract(session: Session, principal: Principal, barcode: str, *, new_barcode: str, method: str,
            kit_lot: str, extracted_at: datetime | None = None, volume_ul: float | None = None,
            derivative_type: str = "dna") -> Sample:
    """Records a DNA (or RNA) extraction: a child sample in state extracted; the specimen becomes extracted."""
    parent = get_sample(session, principal, barcode)
    child_barcode = clean_barcode(new_barcode, field="new_barcode")
    if repo.barcode_exists(session, child_barcode):
        raise Conflict(f"duplicate barcode {child_barcode}: another sample already has it", field="new_barcode")
    dtype = repo.sample_type(session, derivative_type)
    if dtype is None or dtype.is_specimen:
        raise ValidationFailed(f"{derivative_type!r} is not a derivative type (dna, rna)", field="derivative_type")
    if not method.strip():
        raise ValidationFailed("name the extraction method", field="method")
    if not kit_lot.strip():
        raise ValidationFailed("give the extraction kit lot", field="kit_lot")
    if parent.state not in (S.RECEIVED.value, S.EXTRACTED.value):
        raise Conflict(f"sample {parent.barcode} is {parent.state}: only a received sample can be extracted",
                       field="barcode")
    at = as_utc(extracted_at) if extracted_at else utcnow()
    if parent.state == S.RECEIVED.value:
        _transition(session, principal, parent, S.EXTRACTED, kind="extract", when=at,
                    detail={"derivative": child_barcode})
    child = Sample(barcode=child_barcode, sample_type_code=dtype.code, kind="derivative", tissue=parent.tissue,
                   origin_type_code=parent.origin_type_code, parent_id=parent.id,
                   participant_id=parent.participant_id, referral_id=parent.referral_id, trust_id=parent.trust_id,
                   state=S.EXTRACTED.value, state_changed_at=at, collected_at=at, collected_by=principal.username,
                   extraction_method=method.strip(), kit_lot=kit_lot.strip(), volume_ul=volume_ul,
                   created_at=utcnow())
    session.add(child)
    _flush(session, f"sample {child_barcode}")
    _event(session, child, principal, "extract", to_state=S.EXTRACTED.value, when=at,
           detail={"from": parent.barcode, "method": child.extraction_method, "kit_lot": child.kit_lot})
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="sample", entity_id=child.id,
           trust_id=child.trust_id, summary={"barcode": child_barcode, "type": dtype.code, "parent": parent.barcode,
                                             "method": child.extraction_method, "kit_lot": child.kit_lot})
    return child


def aliquot(session: Session, principal: Principal, barcode: str, *, count: int,
            volume_ul: float | None = None) -> list[Sample]:
    """Splits a sample into aliquots barcoded <parent>-A<n>, each in the parent's state."""
    parent = get_sample(session, principal, barcode)
    if not 1 <= count <= 24:
        raise ValidationFailed("make between 1 and 24 aliquots at a time", field="count")
    if parent.state in (S.DESTROYED.value, S.DISPATCHED.value, S.SEQUENCED.value, S.DATA_RECEIVED.value):
        raise Conflict(f"sample {parent.barcode} is {parent.state}: it cannot be aliquoted", field="barcode")
    existing = len([c for c in repo.children(session, parent.id) if c.kind == "aliquot"])
    made = []
    for n in range(existing + 1, existing + count + 1):
        code = clean_barcode(f"{parent.barcode}-A{n}")
        if repo.barcode_exists(session, code):
            raise Conflict(f"duplicate barcode {code}", field="barcode")
        child = Sample(barcode=code, sample_type_code=parent.sample_type_code, kind="aliquot", tissue=parent.tissue,
                       origin_type_code=parent.origin_type_code, parent_id=parent.id,
                       participant_id=parent.participant_id, referral_id=parent.referral_id,
                       trust_id=parent.trust_id, state=parent.state, state_changed_at=utcnow(),
                       collected_at=utcnow(), collected_by=principal.username, volume_ul=volume_ul,
                       extraction_method=parent.extraction_method, kit_lot=parent.kit_lot, created_at=utcnow())
        session.add(child)
        made.append(child)
    _flush(session, f"aliquots of {parent.barcode}")
    for child in made:
        _event(session, child, principal, "aliquot", to_state=child.state, detail={"from": parent.barcode})
        record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="sample", entity_id=child.id,
               trust_id=child.trust_id, summary={"barcode": child.barcode, "parent": parent.barcode})
    return made


# QC -------------------------------------------------------------------------------------------------

def thresholds_for(session: Session, sample: Sample) -> list[QcThreshold]:
    """The QC rules that judge a sample: those of its own type, else of the specimen it came from; for each
    metric the sample's centre's own rule, else the programme default."""
    centre_id = sample_centre_id(session, sample)
    for code in (sample.sample_type_code, sample.origin_type_code):
        rules = repo.qc_rules(session, code, centre_id=centre_id)
        if rules:
            return [QcThreshold(r.metric, r.minimum, r.maximum) for r in rules]
    return []


def record_qc(session: Session, principal: Principal, barcode: str, values: dict[str, Any], *,
              expected_version: int | None = None, when: datetime | None = None) -> QcResult:
    """Records QC measurements, judges them by the type's rules, moves the sample to QC passed or failed.

    A failure opens a re-sample request for the participant (one open request per sample).
    """
    sample = get_sample(session, principal, barcode)
    unknown = sorted(set(values) - set(METRICS))
    if unknown:
        raise ValidationFailed(f"unknown QC metric {unknown[0]!r}; known: {', '.join(METRICS)}", field=unknown[0])
    outcome = evaluate({k: values.get(k) for k in METRICS}, thresholds_for(session, sample))
    target = S.QC_PASSED if outcome.passed else S.QC_FAILED
    if sample.state == target.value:
        raise Conflict(f"sample {sample.barcode} is already {sample.state}", field="barcode")
    measured = {k: (None if values.get(k) in (None, "") else float(values[k])) for k in METRICS}
    measured["total_yield_ng"] = outcome.total_yield_ng
    at = as_utc(when) if when else utcnow()
    result = QcResult(sample_id=sample.id, measured_at=at, measured_by=principal.username,
                      passed=outcome.passed, reasons=outcome.reasons, **measured)
    _transition(session, principal, sample, target, expected_version=expected_version, kind="qc", when=at,
                detail={"passed": outcome.passed, "reasons": outcome.reasons})
    session.add(result)
    _flush(session, f"QC of {sample.barcode}")
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="qc_result", entity_id=result.id,
           trust_id=sample.trust_id, summary={"barcode": sample.barcode, "passed": outcome.passed,
                                              "reasons": outcome.reasons})
    if not outcome.passed and repo.open_resample_for(session, sample.id) is None:
        request = ResampleRequest(sample_id=sample.id, participant_id=sample.participant_id,
                                  trust_id=sample.trust_id, reason="QC failed: " + "; ".join(outcome.reasons),
                                  status="open", created_at=utcnow(), created_by=principal.username)
        session.add(request)
        _flush(session, "re-sample request")
        record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="resample_request",
               entity_id=request.id, trust_id=sample.trust_id, summary={"barcode": sample.barcode})
    return result


def close_resample(session: Session, principal: Principal, request_id: int, *, new_barcode: str | None,
                   cancel: bool = False) -> ResampleRequest:
    """Marks a re-sample request fulfilled by a new sample, or cancelled."""
    request = session.get(ResampleRequest, request_id)
    if request is None or not principal.can_see_trust(request.trust_id):
        raise NotFound(f"no re-sample request {request_id}")
    if request.status != "open":
        raise Conflict(f"re-sample request {request_id} is already {request.status}")
    if cancel:
        request.status = "cancelled"
    else:
        new = get_sample(session, principal, new_barcode or "")
        if new.participant_id != request.participant_id:
            raise ValidationFailed(f"sample {new.barcode} belongs to another participant", field="new_barcode")
        request.status, request.new_sample_id = "fulfilled", new.id
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="resample_request",
           entity_id=request.id, trust_id=request.trust_id, summary={"status": request.status})
    return request


# Storage --------------------------------------------------------------------------------------------

def create_freezer(session: Session, principal: Principal, *, name: str, location: str = "",
                   temperature_c: int = -80, centre_id: int | None = None, centre_code: str | None = None) -> Freezer:
    """Adds a freezer to a centre's biobank (centre-wide staff of the centre; the name is unique there)."""
    if centre_id is None:
        centre_id = centre_for(session, principal, centre_code, what="freezers")
    else:
        scope.require_centre(principal, centre_id, what="freezers")
    if not name.strip():
        raise ValidationFailed("name the freezer", field="name")
    if repo.freezer_by_name(session, name.strip(), centre_id):
        raise Conflict(f"a freezer named {name.strip()} exists already", field="name")
    freezer = Freezer(name=name.strip(), location=location, temperature_c=temperature_c, centre_id=centre_id)
    session.add(freezer)
    _flush(session, f"freezer {name}")
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="freezer", entity_id=freezer.id,
           summary={"name": freezer.name, "temperature_c": temperature_c})
    return freezer


def create_unit(session: Session, principal: Principal, *, freezer_id: int, name: str, kind: str = "rack",
                capacity: int = 10) -> StorageUnit:
    """Adds a rack or shelf to a freezer (centre-wide staff of the freezer's centre)."""
    freezer = session.get(Freezer, freezer_id)
    if freezer is None:
        raise NotFound(f"no freezer {freezer_id}", field="freezer_id")
    scope.require_centre(principal, freezer.centre_id, what="freezer", hidden=True)
    if kind not in ("rack", "shelf"):
        raise ValidationFailed("a storage unit is a rack or a shelf", field="kind")
    if repo.unit_by_name(session, freezer.id, name.strip()):
        raise Conflict(f"{freezer.name} already has a {kind} named {name.strip()}", field="name")
    if capacity < 1:
        raise ValidationFailed("capacity must be at least one box", field="capacity")
    unit = StorageUnit(freezer_id=freezer.id, name=name.strip(), kind=kind, capacity=capacity)
    session.add(unit)
    _flush(session, f"{kind} {name}")
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="storage_unit", entity_id=unit.id,
           summary={"freezer": freezer.name, "name": unit.name, "kind": kind})
    return unit


def create_box(session: Session, principal: Principal, *, unit_id: int, barcode: str, name: str, rows: int,
               cols: int) -> StorageBox:
    """Adds a box of rows x cols positions to a rack or shelf that has room (centre-wide staff of its centre)."""
    unit = session.get(StorageUnit, unit_id)
    if unit is None:
        raise NotFound(f"no rack or shelf {unit_id}", field="unit_id")
    scope.require_centre(principal, unit.freezer.centre_id, what="rack or shelf", hidden=True)
    code = clean_barcode(barcode)
    if repo.box_by_barcode(session, code) or repo.barcode_exists(session, code):
        raise Conflict(f"duplicate barcode {code}", field="barcode")
    if not (1 <= rows <= 26 and 1 <= cols <= 99):
        raise ValidationFailed("a box has 1-26 rows and 1-99 columns", field="rows")
    if len(unit.boxes) >= unit.capacity:
        raise Conflict(f"{unit.kind} {unit.name} is full ({unit.capacity} boxes)", field="unit_id")
    box = StorageBox(barcode=code, name=name.strip() or code, unit_id=unit.id, rows=rows, cols=cols,
                     created_at=utcnow())
    session.add(box)
    _flush(session, f"box {code}")
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="storage_box", entity_id=box.id,
           summary={"barcode": code, "unit": unit.name, "layout": f"{rows}x{cols}"})
    return box


def get_box(session: Session, barcode: str, principal: Principal) -> StorageBox:
    """A box of the caller's centre by barcode (another centre's box is not found); NotFound names it."""
    box = repo.box_by_barcode(session, barcode or "")
    if box is None or not (principal.trust_scope is None or box.unit.freezer.centre_id == principal.centre_id):
        raise NotFound(f"unknown box barcode {(barcode or '').strip()}", field="box")
    return box


def freezers_for(session: Session, principal: Principal) -> Sequence[Freezer]:
    """The freezers of the caller's centre (every centre's for national staff), by name."""
    return repo.freezers(session, principal.centre_id, any_centre=principal.trust_scope is None)


def find_freezer(session: Session, principal: Principal, name: str) -> Freezer:
    """A freezer of the caller's centre by name (another centre's is not found)."""
    freezer = repo.freezer_by_name(session, (name or "").strip(), principal.centre_id,
                                   any_centre=principal.trust_scope is None)
    if freezer is None:
        raise NotFound(f"unknown freezer {name}", field="freezer")
    return freezer


def put_away(session: Session, principal: Principal, barcode: str, *, box_barcode: str, position: str,
             expected_version: int | None = None) -> Sample:
    """Stores a sample at a free box position, or moves it there if it is stored elsewhere."""
    sample = get_sample(session, principal, barcode)
    box = get_box(session, box_barcode, principal)
    row, col = parse_position(position, box.rows, box.cols)
    if expected_version is not None and expected_version != sample.version:
        raise Conflict(f"sample {sample.barcode} changed since you loaded it; reload and try again", field="version")
    if sample.state not in {s.value for s in S} - _ALREADY_SENT - {S.DESTROYED.value, S.IN_TRANSIT.value}:
        raise Conflict(f"sample {sample.barcode} is {sample.state}: it is not here to store", field="barcode")
    label = position_label(row, col)
    taken = repo.occupant(session, box.id, row, col)
    if taken is not None:
        if taken.id == sample.id:
            raise Conflict(f"sample {sample.barcode} is already at {box.name} {label}", field="position")
        raise Conflict(f"position {label} of box {box.name} is occupied by sample {taken.barcode}",
                       field="position")
    before = location_of(sample)
    sample.box_id, sample.box_row, sample.box_col = box.id, row, col
    sample.box = box
    _flush(session, f"position {label} of box {box.name}")
    after = location_of(sample)
    kind = "move" if before else "store"
    _event(session, sample, principal, kind, location=after, detail={"from": before} if before else {})
    record(session, actor=principal.actor, verb=AuditVerb.MOVE if before else AuditVerb.STORE, entity_type="sample",
           entity_id=sample.id, trust_id=sample.trust_id,
           summary={"barcode": sample.barcode, "from": before, "to": after})
    return sample


def retrieve(session: Session, principal: Principal, barcode: str) -> Sample:
    """Takes a sample out of its box position (to work on it or ship it)."""
    sample = get_sample(session, principal, barcode)
    before = location_of(sample)
    if before is None:
        raise Conflict(f"sample {sample.barcode} is not in storage", field="barcode")
    sample.box_id = sample.box_row = sample.box_col = None
    sample.box = None
    _flush(session, f"sample {sample.barcode}")
    _event(session, sample, principal, "retrieve", location="bench", detail={"from": before})
    record(session, actor=principal.actor, verb=AuditVerb.MOVE, entity_type="sample", entity_id=sample.id,
           trust_id=sample.trust_id, summary={"barcode": sample.barcode, "from": before, "to": None})
    return sample


# Shipments ------------------------------------------------------------------------------------------

SHIPMENT_KINDS = ("to_lab", "to_sequencing")


def create_shipment(session: Session, principal: Principal, *, kind: str, origin: str, destination: str,
                    reference: str | None = None, centre_code: str | None = None) -> Shipment:
    """Opens a draft shipment (manifest) to the lab or to the sequencing provider, for the caller's centre (any of
    its staff; what goes on it is checked sample by sample)."""
    centre_id = _named_centre(session, principal, centre_code)
    if principal.trust_scope is not None and centre_id != principal.centre_id:
        raise PermissionDenied("shipments are opened by the centre's own staff")
    if kind not in SHIPMENT_KINDS:
        raise ValidationFailed(f"a shipment goes {' or '.join(SHIPMENT_KINDS)}", field="kind")
    if not destination.strip():
        raise ValidationFailed("name the destination", field="destination")
    ref = (reference or "").strip() or f"SHP-{utcnow():%Y}-{repo.shipment_count(session) + 1:04d}"
    if repo.shipment_by_reference(session, ref):
        raise Conflict(f"shipment {ref} exists already", field="reference")
    shipment = Shipment(reference=ref, kind=kind, origin=origin.strip() or "GMC laboratory",
                        destination=destination.strip(), status="draft", created_at=utcnow(),
                        created_by=principal.username, centre_id=centre_id)
    session.add(shipment)
    _flush(session, f"shipment {ref}")
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="shipment", entity_id=shipment.id,
           summary={"reference": ref, "kind": kind, "destination": shipment.destination})
    return shipment


def can_see_shipment(principal: Principal, shipment: Shipment) -> bool:
    """True for national staff, for staff of the shipment's centre, and (older shipments) for anyone who may
    see one of its samples."""
    if principal.trust_scope is None:
        return True
    if shipment.centre_id is not None:
        return shipment.centre_id == principal.centre_id
    return any(i.sample is not None and principal.can_see_trust(i.sample.trust_id) for i in shipment.items)


def get_shipment(session: Session, principal: Principal, reference: str) -> Shipment:
    """A shipment by reference within the caller's centre; NotFound names it (and says nothing of others')."""
    shipment = repo.shipment_by_reference(session, reference or "")
    if shipment is None or not can_see_shipment(principal, shipment):
        raise NotFound(f"unknown shipment {reference}", field="reference")
    return shipment


def change_shipment(session: Session, principal: Principal, reference: str) -> Shipment:
    """A shipment the caller may change: of their centre, and every sample on it within their trusts."""
    shipment = get_shipment(session, principal, reference)
    if not scope.sees_all(principal, [i.sample.trust_id for i in shipment.items if i.sample is not None]):
        raise PermissionDenied(f"shipment {shipment.reference} holds samples of trusts outside your scope")
    return shipment


def shipments_for(session: Session, principal: Principal) -> list[Shipment]:
    """The shipments the caller may see, newest first."""
    return [s for s in repo.shipments(session) if can_see_shipment(principal, s)]


def visible_items(shipment: Shipment, principal: Principal) -> list[ShipmentItem]:
    """The items of a shipment whose samples the caller may see (unknown barcodes are shown to all)."""
    return [i for i in shipment.items if i.sample is None or principal.can_see_trust(i.sample.trust_id)]


def add_to_shipment(session: Session, principal: Principal, reference: str, barcode: str) -> ShipmentItem:
    """Puts a sample on a draft manifest after checking it is ready for that kind of shipment."""
    shipment = change_shipment(session, principal, reference)
    if shipment.status != "draft":
        raise Conflict(f"shipment {shipment.reference} is {shipment.status}: its manifest is closed")
    sample = get_sample(session, principal, barcode)
    if any(i.sample_id == sample.id for i in shipment.items):
        raise Conflict(f"sample {sample.barcode} is already on shipment {shipment.reference}", field="barcode")
    ready = _SEQUENCING_READY if shipment.kind == "to_sequencing" else _LAB_READY
    if sample.state not in ready:
        raise Conflict(f"sample {sample.barcode} is {sample.state}: a {shipment.kind.replace('_', ' ')} shipment "
                       f"takes samples that are {' or '.join(sorted(ready))}", field="barcode")
    if shipment.kind == "to_sequencing":
        _check_sequencing_ready(session, sample)
        _check_dispatch_consent(session, sample)
    item = ShipmentItem(shipment_id=shipment.id, sample_id=sample.id, barcode=sample.barcode, on_manifest=True)
    shipment.items.append(item)
    _flush(session, f"shipment {shipment.reference}")
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="shipment", entity_id=shipment.id,
           trust_id=sample.trust_id, summary={"added": sample.barcode})
    return item


def remove_from_shipment(session: Session, principal: Principal, reference: str, barcode: str) -> None:
    """Takes a sample off a draft manifest."""
    shipment = change_shipment(session, principal, reference)
    if shipment.status != "draft":
        raise Conflict(f"shipment {shipment.reference} is {shipment.status}: its manifest is closed")
    sample = get_sample(session, principal, barcode)
    item = next((i for i in shipment.items if i.sample_id == sample.id), None)
    if item is None:
        raise NotFound(f"sample {sample.barcode} is not on shipment {shipment.reference}", field="barcode")
    shipment.items.remove(item)
    _flush(session, f"shipment {shipment.reference}")
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="shipment", entity_id=shipment.id,
           trust_id=sample.trust_id, summary={"removed": sample.barcode})


def ship(session: Session, principal: Principal, reference: str, *, courier_tracking: str = "") -> Shipment:
    """Marks a shipment sent: every sample moves to in transit (to the lab) or dispatched (to sequencing)."""
    shipment = change_shipment(session, principal, reference)
    if shipment.status != "draft":
        raise Conflict(f"shipment {shipment.reference} is already {shipment.status}")
    samples = [i.sample for i in shipment.items if i.sample is not None]
    if not samples:
        raise ValidationFailed(f"shipment {shipment.reference} has no samples on its manifest")
    for sample in samples:
        principal.require_trust(sample.trust_id)
    target = S.DISPATCHED if shipment.kind == "to_sequencing" else S.IN_TRANSIT
    if target == S.DISPATCHED:
        _check_pairs(session, samples)
    at = utcnow()
    for sample in samples:
        _transition(session, principal, sample, target, kind="ship", when=at, in_shipment=True,
                    location=f"shipment {shipment.reference} to {shipment.destination}",
                    detail={"shipment": shipment.reference})
        if sample.box_id is not None:
            sample.box_id = sample.box_row = sample.box_col = None
    shipment.status, shipment.shipped_at, shipment.shipped_by = "shipped", at, principal.username
    shipment.courier_tracking = courier_tracking.strip() or None
    _flush(session, f"shipment {shipment.reference}")
    record(session, actor=principal.actor, verb=AuditVerb.SHIP, entity_type="shipment", entity_id=shipment.id,
           summary={"reference": shipment.reference, "samples": len(samples), "destination": shipment.destination})
    return shipment


@dataclass
class ScanResult:
    """What a receiving scan did: matched the manifest, or was unexpected."""

    barcode: str
    expected: bool
    message: str


def receive_scan(session: Session, principal: Principal, reference: str, barcode: str) -> ScanResult:
    """Scans one arriving sample: ticks it off the manifest (and receives it), or records it as unexpected."""
    shipment = change_shipment(session, principal, reference)
    if shipment.status == "draft":
        raise Conflict(f"shipment {shipment.reference} has not been shipped yet")
    sample = get_sample(session, principal, barcode)
    item = next((i for i in shipment.items if i.sample_id == sample.id), None)
    at = utcnow()
    if item is not None and item.received_at is not None:
        raise Conflict(f"sample {sample.barcode} was already scanned in at {item.received_at:%H:%M}",
                       field="barcode")
    if item is None:
        item = ShipmentItem(shipment_id=shipment.id, sample_id=sample.id, barcode=sample.barcode,
                            on_manifest=False, received_at=at, received_by=principal.username)
        shipment.items.append(item)
        message = f"{sample.barcode} is NOT on manifest {shipment.reference}: recorded as unexpected"
    else:
        item.received_at, item.received_by = at, principal.username
        message = f"{sample.barcode} ticked off manifest {shipment.reference}"
    if shipment.kind == "to_lab" and sample.state in (S.IN_TRANSIT.value, S.COLLECTED.value):
        _transition(session, principal, sample, S.RECEIVED, kind="receive", when=at,
                    location=f"received from shipment {shipment.reference}", detail={"shipment": shipment.reference})
    else:
        _event(session, sample, principal, "receive", location=f"{shipment.destination}",
               detail={"shipment": shipment.reference, "on_manifest": item.on_manifest})
    _flush(session, f"shipment {shipment.reference}")
    record(session, actor=principal.actor, verb=AuditVerb.RECEIVE, entity_type="shipment", entity_id=shipment.id,
           trust_id=sample.trust_id, summary={"barcode": sample.barcode, "on_manifest": item.on_manifest})
    return ScanResult(sample.barcode, item.on_manifest, message)


@dataclass
class Reconciliation:
    """A shipment's manifest against what arrived."""

    reference: str
    expected: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when everything expected arrived and nothing else did."""
        return not self.missing and not self.unexpected


def reconcile(shipment: Shipment, principal: Principal | None = None) -> Reconciliation:
    """Compares the manifest with the receiving scans (only the items the caller may see, when one is given)."""
    out = Reconciliation(shipment.reference)
    for item in shipment.items if principal is None else visible_items(shipment, principal):
        if item.on_manifest:
            out.expected.append(item.barcode)
            (out.received if item.received_at else out.missing).append(item.barcode)
        else:
            out.unexpected.append(item.barcode)
    return out


def close_receipt(session: Session, principal: Principal, reference: str) -> Reconciliation:
    """Closes receiving of a shipment and records the reconciliation (missing and unexpected samples)."""
    shipment = change_shipment(session, principal, reference)
    if shipment.status != "shipped":
        raise Conflict(f"shipment {shipment.reference} is {shipment.status}: only a shipped one can be received")
    result = reconcile(shipment)
    shipment.status, shipment.received_at, shipment.received_by = "received", utcnow(), principal.username
    _flush(session, f"shipment {shipment.reference}")
    record(session, actor=principal.actor, verb=AuditVerb.RECEIVE, entity_type="shipment", entity_id=shipment.id,
           summary={"reference": shipment.reference, "received": len(result.received),
                    "missing": result.missing, "unexpected": result.unexpected})
    return result


# Consent and destruction ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DestructionDue:
    """A sample that must be destroyed because its participant withdrew from further use."""

    sample: Sample
    reason: str


def destruction_worklist(session: Session, principal: Principal) -> list[DestructionDue]:
    """Samples, not yet destroyed, of participants whose consent now forbids any further use, including the
    samples still held under every record merged into theirs."""
    due: list[DestructionDue] = []
    candidates = repo.participants_withdrawn_from_use(session)
    confirmed = []
    for pid in candidates:
        consent = current_consent(session, pid)
        if consent is not None and consent.status == "withdrawn" and consent.withdrawal_level == "no_further_use":
            confirmed.append(pid)
    confirmed = repo.with_merged_records(session, confirmed)
    for sample in repo.live_samples_of(session, scope_of(principal), confirmed):
        due.append(DestructionDue(sample, "participant withdrew: no further use"))
    record_samples_shown(session, principal, "destruction", [d.sample for d in due])
    return due


def destroy(session: Session, principal: Principal, barcode: str, *, method: str, reason: str,
            witness: str = "", expected_version: int | None = None) -> Sample:
    """Records the destruction of a sample (method, reason, witness); it leaves storage for good."""
    if not method.strip():
        raise ValidationFailed("say how the sample was destroyed (e.g. incineration)", field="method")
    if not reason.strip():
        raise ValidationFailed("give the reason for destruction", field="reason")
    return transition(session, principal, barcode, S.DESTROYED.value, expected_version=expected_version,
                      kind="destroy", detail={"method": method.strip(), "reason": reason.strip(),
                                              "witness": witness.strip()})


def participant_label(session: Session, sample: Sample) -> str:
    """The programme participant id to show for a sample (never a name or NHS number)."""
    participant = session.get(Participant, sample.participant_id)
    return participant.participant_id if participant else "?"


# Turnaround -----------------------------------------------------------------------------------------

def turnaround_clocks(session: Session, principal: Principal) -> list[SampleClock]:
    """One clock per specimen in scope: the first time it or any derivative entered each state."""
    rows = repo.lineage_rows(session, scope_of(principal))
    parent = {r[0]: r[1] for r in rows}
    info = {r[0]: r for r in rows}

    def root(sample_id: int) -> int:
        seen = set()
        while parent.get(sample_id) is not None and sample_id not in seen:
            seen.add(sample_id)
            sample_id = parent[sample_id]  # type: ignore[assignment]
        return sample_id

    entered: dict[int, dict[str, datetime]] = {}
    for sample_id, _parent, state, at in repo.state_entries(session, scope_of(principal)):
        clock = entered.setdefault(root(sample_id), {})
        at = as_utc(at)  # type: ignore[arg-type]
        if state not in clock or at < clock[state]:
            clock[state] = at
    return [SampleClock(info[r][2], info[r][3], info[r][4], states) for r, states in entered.items() if r in info]


def target_table(session: Session, centre_id: int | None = None) -> dict[tuple[str, str | None], float]:
    """The overdue targets of a centre as (state, sample type or None) -> days: its own over the defaults."""
    rows = repo.turnaround_targets(session)
    table = {(t.state, t.sample_type_code): t.max_days for t in rows if t.centre_id is None}
    if centre_id is not None:
        table.update({(t.state, t.sample_type_code): t.max_days for t in rows if t.centre_id == centre_id})
    return table


def overdue_worklist(session: Session, principal: Principal, now: datetime | None = None) -> list[Overdue]:
    """Samples in scope waiting in a state longer than their centre's target, most overdue first."""
    from gmc.organisations.models import Trust

    rows = repo.turnaround_targets(session)
    states = sorted({t.state for t in rows})
    candidates = repo.samples_in_states(session, scope_of(principal), states)
    # An extracted specimen rests once its DNA exists; the clock runs on the DNA instead.
    parents = repo.ids_with_children(session, [s.id for s in candidates])
    centre_of = {t.id: t.centre_id for t in session.execute(select(Trust)).scalars()}
    by_centre: dict[int | None, list[tuple[str, str, str, datetime]]] = {}
    for s in candidates:
        if s.id not in parents:
            by_centre.setdefault(centre_of.get(s.trust_id), []).append(
                (s.barcode, s.state, s.origin_type_code, s.state_changed_at))
    found: list[Overdue] = []
    for centre_id, waiting in by_centre.items():
        found += overdue(waiting, target_table(session, centre_id), now or utcnow())
    late = {o.barcode for o in found}
    record_samples_shown(session, principal, "overdue", [s for s in candidates if s.barcode in late])
    return sorted(found, key=lambda o: o.days_in_state - o.target_days, reverse=True)


def set_target(session: Session, principal: Principal, *, state: str, max_days: float,
               sample_type: str | None = None, centre_code: str | None = None) -> None:
    """Sets (or changes) how many days a centre's samples may wait in a state (lab configuration permission;
    centre-wide staff of that centre, or national staff for the programme default)."""
    from gmc.samples.models import TurnaroundTarget

    principal.require(Permission.LAB_CONFIGURE)
    centre_id = centre_for(session, principal, centre_code, what="turnaround targets")
    parse_state(state, field="state")
    if max_days <= 0:
        raise ValidationFailed("the target must be a positive number of days", field="max_days")
    if sample_type and repo.sample_type(session, sample_type) is None:
        raise ValidationFailed(f"unknown sample type {sample_type!r}", field="sample_type")
    existing = next((t for t in repo.turnaround_targets(session) if t.state == state and t.centre_id == centre_id
                     and t.sample_type_code == (sample_type or None)), None)
    before = existing.max_days if existing else None
    if existing is None:
        session.add(TurnaroundTarget(state=state, sample_type_code=sample_type or None, max_days=max_days,
                                     centre_id=centre_id))
    else:
        existing.max_days = max_days
    _flush(session, "turnaround target")
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="turnaround_target",
           entity_id=f"{centre_id or 'default'}:{state}:{sample_type or '*'}",
           summary={"max_days": [before, max_days], "centre_id": centre_id})


def set_qc_rule(session: Session, principal: Principal, *, sample_type: str, metric: str,
                minimum: float | None, maximum: float | None, centre_code: str | None = None) -> None:
    """Sets (or changes) a centre's QC threshold for a sample type (lab configuration permission; centre-wide
    staff of that centre, or national staff for the programme default)."""
    from gmc.samples.models import QcRule

    principal.require(Permission.LAB_CONFIGURE)
    centre_id = centre_for(session, principal, centre_code, what="QC thresholds")
    if repo.sample_type(session, sample_type) is None:
        raise ValidationFailed(f"unknown sample type {sample_type!r}", field="sample_type")
    if metric not in METRICS:
        raise ValidationFailed(f"unknown QC metric {metric!r}", field="metric")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ValidationFailed("the minimum is above the maximum", field="minimum")
    rule = next((r for r in repo.qc_rules(session, sample_type, centre_id=centre_id, own_only=True)
                 if r.metric == metric), None)
    before = None if rule is None else [rule.minimum, rule.maximum]
    if rule is None:
        session.add(QcRule(sample_type_code=sample_type, metric=metric, minimum=minimum, maximum=maximum,
                           centre_id=centre_id))
    else:
        rule.minimum, rule.maximum = minimum, maximum
    _flush(session, "QC threshold")
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="qc_rule",
           entity_id=f"{centre_id or 'default'}:{sample_type}:{metric}",
           summary={"bounds": [before, [minimum, maximum]], "centre_id": centre_id})


# Import, export, labels and manifests ---------------------------------------------------------------

def import_specimens(session: Session, principal: Principal, text: str, *, source: str = "upload",
                     progress: Progress | None = None) -> list[Sample]:
    """Imports collected specimens from CSV: every row is checked; one bad row refuses the whole file.
    progress(phase, done, total) is told of each row."""
    from gmc.common.errors import DomainError
    from gmc.organisations.models import Trust
    from gmc.samples.csvio import RowProblem, SampleCsvError, parse_import

    rows = parse_import(text, source=source)
    taken = repo.existing_barcodes(session, [r.barcode for r in rows])
    trusts = {t.code: t.id for t in session.query(Trust).all()}
    problems: list[RowProblem] = []
    refused: set[int] = set()
    made: list[Sample] = []
    for done, row in enumerate(rows):
        if progress is not None:
            progress("importing", done, len(rows))
        if row.barcode in taken:
            problems.append(RowProblem(row.line, "barcode", f"duplicate barcode {row.barcode}: already in gmc"))
            continue
        if row.trust_code not in trusts:
            problems.append(RowProblem(row.line, "trust_code", f"unknown trust {row.trust_code}"))
            continue
        try:
            with session.begin_nested():
                made.append(register_specimen(session, principal, NewSpecimen(
                    barcode=row.barcode, sample_type=row.sample_type, participant_id=row.participant_id,
                    trust_id=trusts[row.trust_code], collected_at=row.collected_at, collected_by=row.collected_by,
                    referral_id=row.referral_id, tumour_site=row.tumour_site, tumour_histology=row.tumour_histology,
                    tumour_content_pct=row.tumour_content_pct, volume_ul=row.volume_ul)))
        except DomainError as exc:
            problems.append(RowProblem(row.line, exc.field or "row", exc.message))
            if exc.status_code in (403, 404):
                refused.add(exc.status_code)
    if problems:
        error = SampleCsvError(problems, source=source)
        if refused:
            # A row naming a trust or participant outside the caller's scope refuses the file as the record would be.
            error.status_code = 403 if 403 in refused else 404
        raise error
    record(session, actor=principal.actor, verb=AuditVerb.IMPORT, entity_type="sample",
           summary={"source": source, "rows": len(made)})
    if progress is not None:
        progress("importing", len(rows), len(rows))
    return made


def import_specimens_job(session: Session, principal: Principal, data: bytes, source: str,
                         progress: Progress) -> dict[str, int]:
    """The specimen CSV import as a background job: the same checks, one transaction, counts as its result."""
    from gmc.common.requests import decode_text

    principal.require(Permission.SAMPLE_WRITE)
    progress("checking", 0, 0)
    made = import_specimens(session, principal, decode_text(data, "CSV", field="file"), source=source,
                            progress=progress)
    return {"rows": len(made), "imported": len(made)}


register_job_kind("samples.specimens_csv", "Specimen CSV import", import_specimens_job)


def export_rows(session: Session, principal: Principal) -> list[dict[str, object]]:
    """Every sample in scope as a flat row for CSV export (participant by programme id only)."""
    from gmc.organisations.models import Trust

    samples = repo.samples_for_export(session, scope_of(principal))
    barcodes = {s.id: s.barcode for s in samples}
    trusts = {t.id: t.code for t in session.query(Trust).all()}
    participants = {p.id: p.participant_id for p in session.query(Participant).filter(
        Participant.id.in_({s.participant_id for s in samples}))} if samples else {}
    referrals = {r.id: r.referral_id for r in session.query(Referral).filter(
        Referral.id.in_({s.referral_id for s in samples if s.referral_id}))} if samples else {}
    out = []
    for s in samples:
        out.append({"barcode": s.barcode, "participant_id": participants.get(s.participant_id),
                    "referral_id": referrals.get(s.referral_id) if s.referral_id else None,
                    "trust_code": trusts.get(s.trust_id), "sample_type": s.sample_type_code, "kind": s.kind,
                    "tissue": s.tissue, "parent_barcode": barcodes.get(s.parent_id) if s.parent_id else None,
                    "state": s.state, "state_changed_at": as_utc(s.state_changed_at).isoformat(),
                    "collected_at": as_utc(s.collected_at).isoformat(), "collected_by": s.collected_by,
                    "tumour_site": s.tumour_site, "tumour_histology": s.tumour_histology,
                    "tumour_content_pct": s.tumour_content_pct, "location": location_of(s), "version": s.version})
    record(session, actor=principal.actor, verb=AuditVerb.EXPORT, entity_type="sample",
           summary={"rows": len(out)})
    return out


def labels_for(session: Session, principal: Principal, barcodes: list[str]) -> list[Label]:
    """Label data for the given barcodes (each must be in scope)."""
    out = []
    for code in barcodes:
        sample = get_sample(session, principal, code)
        out.append(Label(sample.barcode, participant_label(session, sample), sample.sample_type_code,
                         as_utc(sample.collected_at).strftime("%Y-%m-%d")))
        record(session, actor=principal.actor, verb=AuditVerb.EXPORT, entity_type="sample", entity_id=sample.id,
               trust_id=sample.trust_id, summary={"format": "label"})
    return out


def export_manifest(session: Session, principal: Principal, reference: str, *, fmt: str
                    ) -> tuple[Shipment, list[ManifestLine]]:
    """A shipment and its manifest rows for a download (CSV or PDF); the export is audited."""
    shipment = get_shipment(session, principal, reference)
    lines = manifest_lines(session, principal, shipment)
    record(session, actor=principal.actor, verb=AuditVerb.EXPORT, entity_type="shipment", entity_id=shipment.id,
           summary={"reference": shipment.reference, "format": fmt, "rows": len(lines)})
    return shipment, lines


def manifest_lines(session: Session, principal: Principal, shipment: Shipment) -> list[ManifestLine]:
    """The manifest rows of a shipment the caller may see."""
    lines = []
    for item in visible_items(shipment, principal):
        if not item.on_manifest or item.sample is None:
            continue
        s = item.sample
        lines.append(ManifestLine(s.barcode, participant_label(session, s), s.sample_type_code, s.tissue, s.state,
                                  as_utc(s.collected_at).strftime("%Y-%m-%d"),
                                  as_utc(item.received_at).strftime("%Y-%m-%d %H:%M") if item.received_at else ""))
    return lines
