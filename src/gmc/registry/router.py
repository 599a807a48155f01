"""Registry API: participants, referrals, consent, families, duplicates and eligibility rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import NotFound, ValidationFailed
from gmc.common.requests import RawBody, import_max_bytes
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.jobs.router import queue_import, runs_as_job
from gmc.registry import consent as consent_service
from gmc.registry import interop, repository, service
from gmc.registry.schemas import (
    ConsentIn,
    FamilyIn,
    FamilyMemberIn,
    LinkDecisionIn,
    LinkRequestOut,
    MergeIn,
    ParticipantOut,
    ParticipantSummary,
    ParticipantUpdate,
    PersonIn,
    ReasonIn,
    ReferralIn,
    RegistrationOut,
    RulesIn,
    WithdrawalIn,
)

router = APIRouter(prefix="/api", tags=["registry"])

READ = Depends(require(Permission.PARTICIPANT_READ))
WRITE = Depends(require(Permission.PARTICIPANT_WRITE))
CONSENT = Depends(require(Permission.CONSENT_WRITE))


@router.get("/participants", response_model=list[ParticipantSummary])
def search_participants(q: str = Query(..., min_length=2), principal: Principal = READ,
                        db: GmcSession = DB) -> list[ParticipantSummary]:
    """Finds participants by name, NHS number, hospital number or participant id, within your trusts."""
    return [ParticipantSummary(**service.participant_summary(db, p))
            for p in service.search_participants(db, principal=principal, text=q)]


@router.post("/participants", response_model=RegistrationOut, status_code=201)
def register_participant(body: PersonIn, principal: Principal = WRITE, db: GmcSession = DB) -> Any:
    """Registers a person: 201 when created, 200 when linked to the same person, 409 with the candidates you may
    see (and the centres holding any you may not), 202 with a link request when decision is request_link."""
    person = service.PersonInput(**body.model_dump(exclude={"decision"}))
    reg = service.register_person(db, principal=principal, person=person, decision=body.decision)
    if reg.link_request is not None:
        view = service.link_request_view(db, principal, reg.link_request)
        return JSONResponse(LinkRequestOut(**view).model_dump(mode="json"), status_code=202)
    out = RegistrationOut(participant=ParticipantOut(**service.participant_detail(db, reg.participant)),
                          created=reg.created, linked_reason=reg.linked_reason,
                          possible_duplicates=[service.candidate_summary(c) for c in reg.candidates])
    if not reg.created:
        return JSONResponse(out.model_dump(mode="json"), status_code=200)
    return out


@router.get("/participants/{participant_id}", response_model=ParticipantOut)
def get_participant(participant_id: str, principal: Principal = READ, db: GmcSession = DB) -> ParticipantOut:
    """A participant with identifiers, referrals, families and consent (the read is audited)."""
    p = service.view_participant(db, principal=principal, participant_id=participant_id)
    return ParticipantOut(**service.participant_detail(db, p))


@router.patch("/participants/{participant_id}", response_model=ParticipantOut)
def update_participant(participant_id: str, body: ParticipantUpdate, principal: Principal = WRITE,
                       db: GmcSession = DB) -> ParticipantOut:
    """Changes demographics; 409 when someone else changed the record since `version`."""
    p = service.view_participant(db, principal=principal, participant_id=participant_id, audit=False)
    changes = body.model_dump(exclude={"version"}, exclude_unset=True)
    service.update_participant(db, principal=principal, participant=p, changes=changes, expected_version=body.version)
    return ParticipantOut(**service.participant_detail(db, p))


@router.get("/participants/{participant_id}/timeline")
def participant_timeline(participant_id: str, principal: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """What happened to a participant's record, newest first."""
    p = service.view_participant(db, principal=principal, participant_id=participant_id)
    return service.timeline(db, p)


@router.post("/participants/{participant_id}/referrals", response_model=ParticipantOut, status_code=201)
def add_referral(participant_id: str, body: ReferralIn, principal: Principal = WRITE,
                 db: GmcSession = DB) -> ParticipantOut:
    """Records a referral and its eligibility decision."""
    p = service.view_participant(db, principal=principal, participant_id=participant_id, audit=False)
    service.create_referral(db, principal=principal, participant=p, data=service.ReferralInput(**body.model_dump()))
    return ParticipantOut(**service.participant_detail(db, p))


@router.post("/participants/{participant_id}/consents", response_model=ParticipantOut, status_code=201)
def add_consent(participant_id: str, body: ConsentIn, principal: Principal = CONSENT,
                db: GmcSession = DB) -> ParticipantOut:
    """Records a consent on a form version (it supersedes the previous one)."""
    p = service.view_participant(db, principal=principal, participant_id=participant_id, audit=False)
    service.ensure_consent_forms(db)
    form = service.require_form(db, body.form_code, body.form_version)
    service.record_participant_consent(db, principal=principal, participant=p, form=form,
                                       consented_on=body.consented_on, given_by=body.given_by,
                                       given_by_name=body.given_by_name, choices=body.choices, assent=body.assent,
                                       lacks_capacity=body.lacks_capacity, fit_reason=body.fit_reason)
    return ParticipantOut(**service.participant_detail(db, p))


@router.post("/participants/{participant_id}/withdrawal", response_model=ParticipantOut)
def withdraw(participant_id: str, body: WithdrawalIn, principal: Principal = CONSENT,
             db: GmcSession = DB) -> ParticipantOut:
    """Withdraws the participant (no_further_contact or no_further_use), effective everywhere at once."""
    p = service.view_participant(db, principal=principal, participant_id=participant_id, audit=False)
    service.withdraw_participant(db, principal=principal, participant=p, level=body.level, reason=body.reason)
    return ParticipantOut(**service.participant_detail(db, p))


@router.get("/participants/{participant_id}/consent-check")
def consent_check(participant_id: str, action: consent_service.ConsentAction, principal: Principal = READ,
                  db: GmcSession = DB) -> dict[str, Any]:
    """Whether the participant's consent allows an action now, and why."""
    p = service.view_participant(db, principal=principal, participant_id=participant_id)
    decision = consent_service.is_allowed(db, p.id, action)
    return {"action": action.value, "allowed": decision.allowed, "reason": decision.reason}


@router.post("/families", status_code=201)
def create_family(body: FamilyIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Starts a family around a proband."""
    proband = service.view_participant(db, principal=principal, participant_id=body.proband_participant_id,
                                       audit=False)
    family = service.create_family(db, principal=principal, proband=proband)
    return {"family_id": family.family_id, "proband": proband.participant_id}


@router.post("/families/{family_id}/members", status_code=201)
def add_family_member(family_id: str, body: FamilyMemberIn, principal: Principal = WRITE,
                      db: GmcSession = DB) -> dict[str, Any]:
    """Adds a relative to a family."""
    family = service.view_family(db, principal=principal, family_id=family_id)
    relative = service.view_participant(db, principal=principal, participant_id=body.participant_id, audit=False)
    service.add_family_member(db, principal=principal, family=family, participant=relative, relation=body.relation,
                              affected=body.affected)
    return {"family_id": family.family_id, "members": len(family.members)}


@router.get("/duplicates")
def duplicates(principal: Principal = WRITE, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Likely duplicate pairs waiting for a decision."""
    out = []
    for d, a, b in service.duplicate_worklist(db, principal=principal):
        out.append({"id": d.id, "score": d.score, "band": d.band, "reasons": [r["reason"] for r in d.reasons],
                    "a": service.participant_summary(db, a), "b": service.participant_summary(db, b)})
    return out


@router.post("/duplicates/{candidate_id}/merge")
def merge_duplicate(candidate_id: int, body: MergeIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Merges a duplicate pair into the chosen survivor (reversible)."""
    from gmc.registry.models import Participant

    dup = service.view_duplicate(db, principal=principal, candidate_id=candidate_id)
    a, b = db.get(Participant, dup.participant_a_id), db.get(Participant, dup.participant_b_id)
    survivor, merged = (a, b) if a.participant_id == body.survivor_participant_id else (b, a)
    if survivor.participant_id != body.survivor_participant_id:
        raise NotFound("the survivor must be one of the pair", field="survivor_participant_id")
    row = service.merge(db, principal=principal, survivor=survivor, merged=merged, reason=body.reason)
    return {"merge_id": row.id, "survivor": survivor.participant_id, "merged": merged.participant_id}


@router.post("/duplicates/{candidate_id}/reject")
def reject_duplicate(candidate_id: int, body: ReasonIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Records that a proposed pair are different people."""
    dup = service.reject_duplicate(db, principal=principal, candidate_id=candidate_id, reason=body.reason)
    return {"id": dup.id, "status": dup.status}


@router.post("/merges/{merge_id}/unmerge")
def unmerge(merge_id: int, body: ReasonIn, principal: Principal = WRITE, db: GmcSession = DB) -> dict[str, Any]:
    """Undoes a merge."""
    row = service.unmerge(db, principal=principal, merge_id=merge_id, reason=body.reason)
    return {"merge_id": row.id, "unmerged_at": row.unmerged_at.isoformat()}


@router.get("/link-requests", response_model=list[LinkRequestOut])
def link_requests(status: str | None = "pending", principal: Principal = WRITE,
                  db: GmcSession = DB) -> list[LinkRequestOut]:
    """Requests to link a registration to a record of another scope: those your trusts hold a candidate of (you
    decide) and those your trusts made (you follow); the read is audited."""
    return [LinkRequestOut(**service.link_request_view(db, principal, r))
            for r in service.link_requests_for(db, principal=principal, status=status or None)]


@router.post("/link-requests/{request_id}/approve", response_model=LinkRequestOut)
def approve_link_request(request_id: int, body: LinkDecisionIn, principal: Principal = WRITE,
                         db: GmcSession = DB) -> LinkRequestOut:
    """The holding centre links the registration to one of its candidate records (participant_id)."""
    if not body.participant_id:
        raise ValidationFailed("name the record (participant_id) the person is", field="participant_id")
    row = service.approve_link_request(db, principal=principal, request_id=request_id,
                                       participant_id=body.participant_id, reason=body.reason)
    return LinkRequestOut(**service.link_request_view(db, principal, row))


@router.post("/link-requests/{request_id}/reject", response_model=LinkRequestOut)
def reject_link_request(request_id: int, body: LinkDecisionIn, principal: Principal = WRITE,
                        db: GmcSession = DB) -> LinkRequestOut:
    """The holding centre says none of its records is this person."""
    row = service.reject_link_request(db, principal=principal, request_id=request_id, reason=body.reason)
    return LinkRequestOut(**service.link_request_view(db, principal, row))


@router.post("/link-requests/{request_id}/register-new", response_model=LinkRequestOut)
def register_new_from_link_request(request_id: int, body: LinkDecisionIn, principal: Principal = WRITE,
                                   db: GmcSession = DB) -> LinkRequestOut:
    """The requesting trust registers the person as new (after a rejection, or when the match was only probable)."""
    row = service.register_new_from_request(db, principal=principal, request_id=request_id, reason=body.reason)
    return LinkRequestOut(**service.link_request_view(db, principal, row))


@router.get("/consent-forms")
def consent_forms(_: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """The active consent forms and the choices each asks."""
    return [{"code": f.code, "version": f.version, "title": f.title, "audience": f.audience, "choices": f.choices}
            for f in service.ensure_consent_forms(db)]


@router.get("/eligibility/{arm}")
def eligibility_rules(arm: str, _: Principal = READ, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Every version of an arm's eligibility rules, newest first."""
    return [{"version": r.version, "active": r.active, "rules": r.rules, "note": r.note, "created_by": r.created_by,
             "created_at": r.created_at.isoformat()} for r in repository.rule_sets(db, arm)]


@router.post("/eligibility/{arm}", status_code=201)
def publish_eligibility_rules(arm: str, body: RulesIn, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                              db: GmcSession = DB) -> dict[str, Any]:
    """Publishes a new version of an arm's rules (national admins: the rules are the programme's)."""
    rule_set = service.publish_rules(db, actor=principal.actor, arm=arm, rules=body.rules, note=body.note,
                                     principal=principal)
    return {"version": rule_set.version}


@router.get("/reconsent")
def reconsent_worklist(principal: Principal = CONSENT, db: GmcSession = DB) -> list[dict[str, Any]]:
    """Children consented by a parent who have reached 16 and must consent for themselves."""
    return [service.participant_summary(db, p) for p in service.reconsent_worklist(db, principal=principal)]


# ----------------------------------------------------------------------------- interoperability


@router.post("/hl7/adt", tags=["interoperability"])
def hl7_adt_endpoint(body: RawBody, principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Receives one HL7 v2 ADT message (A04, A08, A40) as text; answers with an ACK (AA, 200) or a NAK (AE/AR)
    whose HTTP status names the cause (400 unreadable, 403/404 outside the sender's trust, 409/422 the data)."""
    outcome = interop.process_adt(db, principal=principal, text=body)
    return Response(outcome.ack, media_type="x-application/hl7-v2+er7", status_code=outcome.status,
                    headers={"X-GMC-Accepted": "true" if outcome.accepted else "false"})


class Hl7InterfaceIn(BaseModel):
    """A sending facility to bind to a trust, and the service user whose new token will send its messages."""

    model_config = ConfigDict(extra="forbid")

    facility: str
    trust_code: str
    username: str
    days: int = Field(90, ge=1, le=3650)


@router.post("/hl7/interfaces", status_code=201, tags=["interoperability"])
def create_hl7_interface(body: Hl7InterfaceIn, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                         db: GmcSession = DB) -> dict[str, Any]:
    """Binds a sending facility (MSH-4) to a trust and a new API token of a service user (admins of that trust);
    the token is shown only in this answer. The feed then acts only on that trust's patients."""
    interface, secret = interop.register_interface(db, principal=principal, facility=body.facility,
                                                   trust_code=body.trust_code, username=body.username, days=body.days)
    return {"facility": interface.facility, "trust_code": body.trust_code.strip().upper(), "token": secret}


@router.get("/hl7/interfaces", tags=["interoperability"])
def hl7_interfaces(principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                   db: GmcSession = DB) -> list[dict[str, Any]]:
    """The HL7 interfaces of your trusts."""
    from gmc.organisations.models import Trust

    codes = {t.id: t.code for t in db.query(Trust).all()}
    return [{"facility": i.facility, "trust_code": codes.get(i.trust_id), "active": i.active,
             "token_bound": i.token_id is not None, "created_by": i.created_by, "created_at": i.created_at}
            for i in interop.interfaces_for(db, principal)]


@router.get("/fhir/Patient/{participant_id}", tags=["interoperability"])
def fhir_patient(participant_id: str, principal: Principal = READ, db: GmcSession = DB) -> JSONResponse:
    """The participant as a FHIR R4 Patient."""
    p = service.view_participant(db, principal=principal, participant_id=participant_id)
    return JSONResponse(interop.patient_resource(db, p), media_type="application/fhir+json")


@router.get("/fhir/Consent", tags=["interoperability"])
def fhir_consents(patient: str, principal: Principal = READ, db: GmcSession = DB) -> JSONResponse:
    """The participant's consents as a FHIR R4 searchset Bundle of Consent resources."""
    p = service.view_participant(db, principal=principal, participant_id=patient)
    entries = [{"resource": r} for r in interop.consent_resources(db, p)]
    return JSONResponse({"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries},
                        media_type="application/fhir+json")


@router.post("/fhir/Patient", tags=["interoperability"])
def fhir_patient_import(body: RawBody, trust_code: str | None = None, decision: str = "check",
                        principal: Principal = WRITE, db: GmcSession = DB) -> JSONResponse:
    """Registers or links the person in a FHIR Patient (409 with candidates when a human must decide; 202 with a
    link request for decision request_link)."""
    reg = interop.import_patient(db, principal=principal, resource=body, trust_code=trust_code,
                                 decision=decision)
    if reg.link_request is not None:
        view = service.link_request_view(db, principal, reg.link_request)
        return JSONResponse(LinkRequestOut(**view).model_dump(mode="json"), status_code=202)
    return JSONResponse(interop.patient_resource(db, reg.participant), status_code=201 if reg.created else 200,
                        media_type="application/fhir+json")


@router.post("/fhir/Consent", status_code=201, tags=["interoperability"])
def fhir_consent_import(body: RawBody, principal: Principal = CONSENT, db: GmcSession = DB) -> Any:
    """Records the consent in a FHIR Consent in its state (active, inactive, withdrawn); 200 when already held."""
    consent, changed = interop.import_consent(db, principal=principal, resource=body)
    body = {"consent_id": consent.id, "status": consent.status, "withdrawal_level": consent.withdrawal_level,
            "changed": changed}
    return body if changed else JSONResponse(body, status_code=200)


@router.post("/fhir", tags=["interoperability"], max_body_size=import_max_bytes(),
             responses={202: {"description": "A large Bundle: imported by a background job (follow `status_url`)"}})
def fhir_bundle_import(request: Request, body: RawBody, background: BackgroundTasks, trust_code: str | None = None,
                       decision: str = "check", principal: Principal = CONSENT, db: GmcSession = DB) -> Any:
    """Imports a FHIR Bundle of Patients and Consents (e.g. another gmc's export): Patients matched by NHS number and
    identifiers, Consents in their state; all or nothing, and safe to repeat.

    A Bundle larger than GMC_IMPORT_JOB_BYTES is imported by a background job: 202 with the job's `status_url`."""
    principal.require(Permission.PARTICIPANT_WRITE)
    if runs_as_job(request, body):
        return queue_import(request, background, db, principal, kind="registry.fhir_bundle", data=body,
                            source="bundle.json", options={"trust_code": trust_code, "decision": decision})
    return interop.bundle_result(interop.import_bundle(db, principal=principal, document=body, trust_code=trust_code,
                                                       decision=decision))


@router.post("/hl7/batch", tags=["interoperability"], max_body_size=import_max_bytes(),
             responses={202: {"description": "A large batch: applied by a background job (follow `status_url`)"}})
def hl7_batch_endpoint(request: Request, body: RawBody, background: BackgroundTasks, principal: Principal = WRITE,
                       db: GmcSession = DB) -> Any:
    """Applies a file of HL7 v2 ADT messages (A04, A08, A40; MLLP-framed or one after another) all or nothing: every
    message is acknowledged, and if any is refused nothing is applied (422, or the refusals' common status, listing
    each NAK by message number). Safe to repeat: messages already applied are acknowledged as duplicates.

    A file larger than GMC_IMPORT_JOB_BYTES is applied by a background job: 202 with the job's `status_url`."""
    if runs_as_job(request, body):
        return queue_import(request, background, db, principal, kind="registry.hl7_batch", data=body,
                            source="batch.hl7")
    return interop.apply_adt_batch(db, principal=principal, text=body)


@router.post("/participants/import", tags=["registry"], max_body_size=import_max_bytes(),
             responses={202: {"description": "A large file: imported by a background job (follow `status_url`)"}})
def import_participants_csv(request: Request, body: RawBody, background: BackgroundTasks,
                            principal: Principal = WRITE, db: GmcSession = DB) -> Any:
    """Bulk import from CSV (text/csv body), all-or-nothing with a row-by-row report.

    A file larger than GMC_IMPORT_JOB_BYTES is imported by a background job: 202 with the job's `status_url`
    (progress, then the counts or every problem by line and field)."""
    if runs_as_job(request, body):
        return queue_import(request, background, db, principal, kind="registry.participants_csv", data=body,
                            source="upload.csv")
    # bytes: rows that are not UTF-8 are reported by line like any other bad row
    report = interop.import_csv(db, principal=principal, text=body)
    return {"rows": report.rows, "created": report.created, "linked": report.linked,
            "worklisted": report.worklisted}


@router.get("/cases", tags=["registry"])
def list_cases(arm: str | None = None, status: str | None = None, principal: Principal = READ,
               db: GmcSession = DB) -> list[dict[str, Any]]:
    """Genomic cases at your trusts, newest first."""
    return [service.case_summary(db, c) for c in service.list_cases(db, principal=principal, arm=arm, status=status)]


@router.get("/cases/{case_id}", tags=["registry"])
def get_case(case_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """One genomic case."""
    return service.case_summary(db, service.read_case(db, principal=principal, case_id=case_id))
