"""Registry rules: registration with record linkage, referrals and eligibility, families, merges. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gmc.audit.service import Actor, diff, record
from gmc.audit.verbs import AuditVerb
from gmc.auth import scope
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.common.time import utcnow
from gmc.organisations import service as org_service
from gmc.registry import blocking, eligibility, merging, repository
from gmc.registry import consent as consent_service
from gmc.registry.cases import new_programme_id as _new_programme_id
from gmc.registry.cases import open_case, open_consented_cases  # noqa: F401 - open_case is part of this API
from gmc.registry.linkage import LinkageIndex, PersonRecord, normalise_postcode
from gmc.registry.models import (
    Case,
    ConsentForm,
    DuplicateCandidate,
    EligibilityDecision,
    EligibilityRuleSet,
    Family,
    FamilyMember,
    HospitalNumber,
    LinkRequest,
    MergeRecord,
    Participant,
    Referral,
    TrustRegistration,
)
from gmc.registry.nhs_number import InvalidNhsNumber, normalise_nhs_number

SEXES = ("female", "male", "other", "unknown")
_SEX_ALIASES = {"f": "female", "m": "male", "o": "other", "u": "unknown", "female": "female", "male": "male",
                "other": "other", "unknown": "unknown", "1": "male", "2": "female", "9": "other", "0": "unknown"}
RELATIONS = ("proband", "mother", "father", "sibling", "child", "half_sibling", "grandparent", "aunt_uncle",
             "cousin", "partner", "other")
AFFECTED = ("affected", "unaffected", "unknown")

#: Consent forms a new installation starts with: (code, version, title, audience, programme arm or None for any).
DEFAULT_CONSENT_FORMS = [
    ("RD-ADULT", "3.0", "Rare disease: adult participant", "adult", "rare_disease"),
    ("RD-CHILD", "3.0", "Rare disease: child (parent or guardian consents)", "child", "rare_disease"),
    ("CANCER-ADULT", "2.1", "Cancer: adult participant", "adult", "cancer"),
    ("CANCER-CHILD", "1.0", "Cancer: child (parent or guardian consents)", "child", "cancer"),
    ("CONSULTEE", "1.2", "Consultee declaration for an adult lacking capacity", "consultee", None),
]


# ----------------------------------------------------------------------------- people


@dataclass(frozen=True)
class PersonInput:
    """Demographics of a person as entered, imported or received by HL7/FHIR."""

    family_name: str
    given_name: str
    date_of_birth: date | None = None
    sex: str = "unknown"
    nhs_number: str | None = None
    postcode: str | None = None
    trust_code: str | None = None
    hospital_number: str | None = None


def clean_person(person: PersonInput, *, today: date | None = None) -> PersonInput:
    """Validates and normalises demographics; raises ValidationFailed naming the field."""
    today = today or date.today()
    family, given = person.family_name.strip(), person.given_name.strip()
    if not family:
        raise ValidationFailed("family name is required", field="family_name")
    if not given:
        raise ValidationFailed("given name is required", field="given_name")
    nhs = None
    if person.nhs_number and person.nhs_number.strip():
        try:
            nhs = normalise_nhs_number(person.nhs_number)
        except InvalidNhsNumber as exc:
            raise ValidationFailed(f"invalid NHS number: {exc.reason}", field="nhs_number") from exc
    if person.date_of_birth is not None:
        if person.date_of_birth > today:
            raise ValidationFailed("date of birth is in the future", field="date_of_birth")
        if person.date_of_birth.year < 1900:
            raise ValidationFailed("date of birth is before 1900", field="date_of_birth")
    sex = _SEX_ALIASES.get((person.sex or "unknown").strip().lower())
    if sex is None:
        raise ValidationFailed(f"sex must be one of {', '.join(SEXES)}", field="sex")
    postcode = None
    if person.postcode and person.postcode.strip():
        compact = normalise_postcode(person.postcode)
        if compact is None:
            raise ValidationFailed(f"{person.postcode.strip()!r} is not a UK postcode", field="postcode")
        postcode = f"{compact[:-3]} {compact[-3:]}"
    hospital = (person.hospital_number or "").strip() or None
    trust = (person.trust_code or "").strip().upper() or None
    if hospital and not trust:
        raise ValidationFailed("a hospital number needs the trust that issued it", field="trust_code")
    return PersonInput(family, given, person.date_of_birth, sex, nhs, postcode, trust, hospital)


def _person_record(p: Participant) -> PersonRecord:
    return PersonRecord(record_id=str(p.id), nhs_number=p.nhs_number, family_name=p.family_name,
                        given_name=p.given_name, date_of_birth=p.date_of_birth,
                        sex={"female": "F", "male": "M", "other": "O"}.get(p.sex), postcode=p.postcode)


@dataclass
class MatchCandidate:
    """An existing participant who may be the same person as a new record."""

    participant: Participant
    band: str
    score: float
    reasons: list[str]


def find_matches(session: Session, person: PersonInput, *, exclude_pk: int | None = None) -> list[MatchCandidate]:
    """Existing live participants who may be this person: exact NHS number first, then probabilistic linkage."""
    keys = blocking.person_keys(nhs_number=person.nhs_number, family_name=person.family_name,
                                given_name=person.given_name, date_of_birth=person.date_of_birth, sex=person.sex,
                                postcode=person.postcode)
    index = LinkageIndex()
    candidates = [p for p in repository.linkage_candidates(session, keys, max_block_size=index.max_block_size)
                  if p.id != exclude_pk]
    if not candidates:
        return []
    by_id = {str(p.id): p for p in candidates}
    for p in candidates:
        index.add(_person_record(p))
    new = PersonRecord(record_id="new", nhs_number=person.nhs_number, family_name=person.family_name,
                       given_name=person.given_name, date_of_birth=person.date_of_birth,
                       sex={"female": "F", "male": "M", "other": "O"}.get(person.sex), postcode=person.postcode)
    return [MatchCandidate(by_id[r.other_record_id], r.band, round(r.score, 2), r.reasons())
            for r in index.find_matches(new, limit=10)]


class PossibleDuplicate(Conflict):
    """The new record looks like someone already registered: a human must choose."""

    def __init__(self, candidates: list[MatchCandidate], elsewhere: list[dict[str, str]] | None = None) -> None:
        message = "this person may already be registered: use the existing record or confirm a new one"
        if elsewhere:
            message += "; a record may also exist at " + _centres_text(elsewhere)
        super().__init__(message, field="participant")
        # Summarised now: the session is rolled back before the error is rendered.
        self.candidates = [candidate_summary(c) for c in candidates]
        self.elsewhere = elsewhere or []

    def to_dict(self) -> dict[str, object]:
        """The error with the candidate records in the caller's scope (minimal details for confirming identity)
        and, for records the caller may not see, only the centres to contact."""
        out = super().to_dict()
        out["candidates"] = self.candidates
        out["elsewhere"] = self.elsewhere
        return out


class RecordElsewhere(Conflict):
    """The person may already be registered by a centre (or trust) the caller may not see: the caller learns only
    whom to contact, and may ask that centre to link the registration (decision request_link)."""

    def __init__(self, elsewhere: list[dict[str, str]], *, exact: bool) -> None:
        what = "a record with this NHS number exists" if exact else "a record of this person may exist"
        super().__init__(f"{what} at {_centres_text(elsewhere)}: contact them, or send decision request_link to "
                         "ask them to link your registration" + ("" if exact else " (or new to register anyway)"),
                         field="participant")
        self.elsewhere = elsewhere
        self.exact = exact

    def to_dict(self) -> dict[str, object]:
        """The error with the centres to contact (never the records themselves)."""
        return {**super().to_dict(), "elsewhere": self.elsewhere, "nhs_number_match": self.exact}


def _centres_text(elsewhere: list[dict[str, str]]) -> str:
    return ", ".join(f"{e['centre_name']} ({e['centre_code']})" for e in elsewhere)


def holder_centres(session: Session, participants: list[Participant]) -> list[dict[str, str]]:
    """The centres holding these records: all another scope is told about them."""
    from gmc.organisations.models import Centre, Trust

    trust_ids = set().union(*(holding_trusts(session, p) for p in participants)) if participants else set()
    if not trust_ids:
        return []
    rows = session.execute(select(Centre.code, Centre.name).join(Trust, Trust.centre_id == Centre.id)
                           .where(Trust.id.in_(trust_ids)).distinct().order_by(Centre.code)).all()
    return [{"centre_code": code, "centre_name": name} for code, name in rows]


def candidate_summary(c: MatchCandidate) -> dict[str, Any]:
    """What a recruiter is shown of a possible match to decide whether it is the same person."""
    p = c.participant
    return {"participant_id": p.participant_id, "family_name": p.family_name, "given_name": p.given_name,
            "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None, "sex": p.sex,
            "postcode_district": p.postcode.split()[0] if p.postcode else None, "band": c.band,
            "score": c.score, "reasons": c.reasons}


@dataclass
class Registration:
    """What registering a person did: created a participant, linked to an existing one, or (link_request) asked
    the centre holding a matching record to decide (participant is then None)."""

    participant: Participant | None
    created: bool
    linked_reason: str | None = None
    candidates: list[MatchCandidate] = field(default_factory=list)
    link_request: LinkRequest | None = None


def _trust_in_scope(session: Session, principal: Principal, trust_code: str | None) -> int | None:
    if trust_code is None:
        if principal.trust_scope is not None:
            raise ValidationFailed("name the trust registering this person", field="trust_code")
        return None
    trust = org_service.require_trust(session, trust_code)
    principal.require_trust(trust.id)
    return trust.id


def _register_at(session: Session, participant: Participant, trust_id: int | None, actor: Actor) -> None:
    """Registers the participant at a trust, so that trust's staff can see the record."""
    if trust_id is not None and repository.registration(session, participant.id, trust_id) is None:
        session.add(TrustRegistration(participant_id=participant.id, trust_id=trust_id, registered_at=utcnow(),
                                      registered_by=actor.name))
        session.flush()


def _add_hospital_number(session: Session, participant: Participant, trust_id: int | None, number: str | None) -> None:
    if not number or trust_id is None:
        return
    holder = repository.get_by_hospital_number(session, trust_id, number)
    if holder is not None and holder.id != participant.id:
        raise Conflict(f"hospital number {number} at this trust belongs to participant {holder.participant_id}",
                       field="hospital_number")
    if holder is None:
        participant.hospital_numbers.append(HospitalNumber(trust_id=trust_id, number=number))


DECISIONS = "check, new, request_link or link:<participant id>"


def register_person(session: Session, *, principal: Principal, person: PersonInput, decision: str = "check",
                    source: str = "registration", message_ref: str | None = None) -> Registration:
    """Registers a person once: links to the same person when found, asks a human when unsure.

    decision: "check" (refuse with PossibleDuplicate or RecordElsewhere when likely matches exist), "new" (create
    anyway; likely matches in scope go on the duplicate worklist), "link:<participant_id>" (use that existing
    record, which the caller must be able to see), or "request_link" (ask the centre holding a matching record the
    caller may not see to link the registration to it). Records outside the caller's scope are never shown nor
    linked: the caller learns only which centre holds them, and an NHS number held elsewhere cannot be registered
    again as new.
    """
    person = clean_person(person)
    trust_id = _trust_in_scope(session, principal, person.trust_code)
    actor = principal.actor
    if person.hospital_number and trust_id is not None:
        holder = repository.get_by_hospital_number(session, trust_id, person.hospital_number)
        if holder is not None and not decision.startswith("link:"):
            # A trust's hospital number identifies one person there: a re-sent record links, never duplicates.
            return Registration(live_record(session, holder), created=False, linked_reason="same hospital number")
    if decision.startswith("link:"):
        wanted = decision.removeprefix("link:").strip()
        target = repository.get_by_participant_id(session, wanted)
        if target is None or not scope.sees_any(principal, holding_trusts(session, target)):
            raise NotFound(f"no participant {wanted} at your trusts", field="participant_id")
        return _link(session, actor, live_record(session, target), person, trust_id, "confirmed by the user")
    matches = find_matches(session, person)
    inside = [m for m in matches if scope.sees_any(principal, holding_trusts(session, m.participant))]
    outside = [m for m in matches if m not in inside]
    same_nhs = [m for m in matches if person.nhs_number and m.participant.nhs_number == person.nhs_number]
    if same_nhs and same_nhs[0] in inside:
        return _link(session, actor, same_nhs[0].participant, person, trust_id, "same NHS number")
    elsewhere = holder_centres(session, [m.participant for m in outside])
    if outside:
        record(session, actor=actor, verb=AuditVerb.SEARCH, entity_type="participant", trust_id=trust_id,
               summary={"linkage_elsewhere": [e["centre_code"] for e in elsewhere], "exact": bool(same_nhs)})
    if decision == "request_link":
        if not outside:
            raise ValidationFailed("no record at another centre or trust matches this person: register it (decision "
                                   "check or new)", field="decision")
        if trust_id is None:
            raise ValidationFailed("name the trust registering this person", field="trust_code")
        return Registration(None, created=False, link_request=request_link(
            session, actor=actor, person=person, trust_id=trust_id, matches=outside, exact=bool(same_nhs),
            source=source, message_ref=message_ref))
    if decision not in {"check", "new"}:
        raise ValidationFailed(f"decision must be {DECISIONS}", field="decision")
    if inside and decision == "check":
        record(session, actor=actor, verb=AuditVerb.SEARCH, entity_type="participant", trust_id=trust_id,
               summary={"linkage_candidates_shown": [m.participant.participant_id for m in inside]})
        raise PossibleDuplicate(inside, elsewhere)
    if outside and (decision == "check" or same_nhs):
        raise RecordElsewhere(elsewhere, exact=bool(same_nhs))
    return _create(session, actor, person, trust_id, inside, outside)


def register_from_feed(session: Session, *, principal: Principal, person: PersonInput, source: str,
                       message_ref: str | None = None) -> Registration:
    """Registers a person a feed sent (HL7, whose scope is its own trust): links on the trust's hospital number or
    an NHS number the trust holds, creates when nothing matches, and otherwise holds the registration for a human
    (a link request): a feed cannot decide a probable match, nor reach another trust's record."""
    person = clean_person(person)
    trust_id = _trust_in_scope(session, principal, person.trust_code)
    if person.hospital_number and trust_id is not None:
        holder = repository.get_by_hospital_number(session, trust_id, person.hospital_number)
        if holder is not None:
            return Registration(live_record(session, holder), created=False, linked_reason="same hospital number")
    matches = find_matches(session, person)
    same_nhs = [m for m in matches if person.nhs_number and m.participant.nhs_number == person.nhs_number]
    if same_nhs and scope.sees_any(principal, holding_trusts(session, same_nhs[0].participant)):
        return _link(session, principal.actor, same_nhs[0].participant, person, trust_id, "same NHS number")
    if matches:
        if trust_id is None:
            raise ValidationFailed("name the trust registering this person", field="trust_code")
        return Registration(None, created=False, link_request=request_link(
            session, actor=principal.actor, person=person, trust_id=trust_id, matches=matches, exact=bool(same_nhs),
            source=source, message_ref=message_ref))
    return _create(session, principal.actor, person, trust_id, [], [])


def _create(session: Session, actor: Actor, person: PersonInput, trust_id: int | None, inside: list[MatchCandidate],
            outside: list[MatchCandidate]) -> Registration:
    """Creates the participant; likely matches become duplicate candidates (those across scopes are shown only to
    national staff, who may see both records)."""
    now = utcnow()
    participant = Participant(
        participant_id=_new_programme_id(session, "P", Participant, "participant_id"),
        nhs_number=person.nhs_number, family_name=person.family_name, given_name=person.given_name,
        date_of_birth=person.date_of_birth, sex=person.sex, postcode=person.postcode, created_at=now, updated_at=now)
    session.add(participant)
    try:
        session.flush()
    except IntegrityError:
        # Another registration of the same NHS number committed first: one live record per NHS number.
        raise Conflict("a record with this NHS number was registered at the same time; search for it and "
                       "link to it", field="nhs_number") from None
    _register_at(session, participant, trust_id, actor)
    _add_hospital_number(session, participant, trust_id, person.hospital_number)
    record(session, actor=actor, verb=AuditVerb.CREATE, entity_type="participant", entity_id=participant.id,
           trust_id=trust_id, summary={"participant_id": participant.participant_id,
                                       "nhs_number_known": person.nhs_number is not None})
    for m in [*inside, *outside]:
        _open_duplicate(session, participant, m)
    session.flush()
    return Registration(participant, created=True, candidates=inside)


# ----------------------------------------------------------------------------- link requests across scopes


def _person_json(person: PersonInput) -> dict[str, Any]:
    return {"family_name": person.family_name, "given_name": person.given_name,
            "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None, "sex": person.sex,
            "nhs_number": person.nhs_number, "postcode": person.postcode, "trust_code": person.trust_code,
            "hospital_number": person.hospital_number}


def _person_from_json(data: dict[str, Any]) -> PersonInput:
    born = data.get("date_of_birth")
    return PersonInput(data["family_name"], data["given_name"], date.fromisoformat(born) if born else None,
                       data.get("sex") or "unknown", data.get("nhs_number"), data.get("postcode"),
                       data.get("trust_code"), data.get("hospital_number"))


def request_link(session: Session, *, actor: Actor, person: PersonInput, trust_id: int, matches: list[MatchCandidate],
                 exact: bool, source: str, message_ref: str | None = None) -> LinkRequest:
    """Asks the centre(s) holding matching records to decide whether the person registered at the trust is theirs;
    filed under the requesting trust and under each trust holding a candidate."""
    request = LinkRequest(status="pending", source=source, requesting_trust_id=trust_id, requested_by=actor.name,
                          requested_at=utcnow(), person=_person_json(person), exact=exact, message_ref=message_ref,
                          candidates=[{"participant": m.participant.id, "band": m.band, "score": m.score,
                                       "reasons": m.reasons} for m in matches])
    session.add(request)
    session.flush()
    holders = set().union(*(holding_trusts(session, m.participant) for m in matches))
    for filed_under in sorted({trust_id, *holders}):
        record(session, actor=actor, verb=AuditVerb.CREATE, entity_type="link_request", entity_id=request.id,
               trust_id=filed_under, summary={"source": source, "exact": exact, "candidates": len(matches),
                                              "requesting_trust_id": trust_id})
    return request


def _candidates_of(session: Session, request: LinkRequest) -> list[Participant]:
    found = [session.get(Participant, c["participant"]) for c in request.candidates]
    return [live_record(session, p) for p in found if p is not None]


def may_decide(session: Session, principal: Principal, request: LinkRequest) -> bool:
    """True when the caller holds one of the candidate records (their centre decides)."""
    return any(scope.sees_any(principal, holding_trusts(session, p)) for p in _candidates_of(session, request))


def may_follow(principal: Principal, request: LinkRequest) -> bool:
    """True when the caller works for the requesting trust (they see the request's outcome)."""
    return principal.can_see_trust(request.requesting_trust_id)


def link_requests_for(session: Session, *, principal: Principal, status: str | None = "pending") -> list[LinkRequest]:
    """Link requests the caller decides (they hold a candidate) or made (their trust asked); the read is audited."""
    stmt = select(LinkRequest).order_by(LinkRequest.requested_at.desc(), LinkRequest.id.desc()).limit(500)
    if status:
        stmt = stmt.where(LinkRequest.status == status)
    rows = [r for r in session.execute(stmt).scalars() if may_follow(principal, r) or may_decide(session, principal, r)]
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="link_request",
           summary={"results": [r.id for r in rows][:100], "status": status})
    return rows


def view_link_request(session: Session, *, principal: Principal, request_id: int) -> LinkRequest:
    """A link request the caller decides or made; else 404."""
    request = session.get(LinkRequest, request_id)
    if request is None or not (may_follow(principal, request) or may_decide(session, principal, request)):
        raise NotFound(f"no link request {request_id} of your trusts", field="link_request")
    return request


def link_request_view(session: Session, principal: Principal, request: LinkRequest) -> dict[str, Any]:
    """A link request as its reader may see it: the deciding side sees the person asked about and its own
    candidate records; the requesting side sees only which centres hold them and, once linked, the record."""
    from gmc.organisations.models import Trust

    trust = session.get(Trust, request.requesting_trust_id)
    deciding = may_decide(session, principal, request)
    out: dict[str, Any] = {
        "id": request.id, "status": request.status, "source": request.source, "exact": request.exact,
        "requesting_trust": trust.code if trust else None, "requested_by": request.requested_by,
        "requested_at": request.requested_at, "decided_by": request.decided_by, "decided_at": request.decided_at,
        "reason": request.reason, "centres": holder_centres(session, _candidates_of(session, request)),
        "you_decide": deciding, "you_requested": may_follow(principal, request)}
    if deciding or may_follow(principal, request):
        out["person"] = request.person
    if deciding:
        mine = {p.id: p for p in _candidates_of(session, request)
                if scope.sees_any(principal, holding_trusts(session, p))}
        out["candidates"] = [{**candidate_summary(MatchCandidate(mine[c["participant"]], c["band"], c["score"],
                                                                 c["reasons"]))}
                             for c in request.candidates if c["participant"] in mine]
    if request.participant_id is not None:
        result = session.get(Participant, request.participant_id)
        if result is not None and scope.sees_any(principal, holding_trusts(session, result)):
            out["participant_id"] = result.participant_id
    return out


def _pending(request: LinkRequest) -> None:
    if request.status != "pending":
        raise Conflict(f"link request {request.id} is already {request.status.replace('_', ' ')}", field="status")


def approve_link_request(session: Session, *, principal: Principal, request_id: int, participant_id: str,
                         reason: str = "") -> LinkRequest:
    """The holding centre confirms the person is one of its candidate records: the record is registered at the
    requesting trust (with its hospital number), filed under every trust concerned."""
    request = view_link_request(session, principal=principal, request_id=request_id)
    _pending(request)
    chosen = next((p for p in _candidates_of(session, request) if p.participant_id == participant_id), None)
    if chosen is None or not scope.sees_any(principal, holding_trusts(session, chosen)):
        raise NotFound(f"{participant_id} is not a candidate of link request {request.id} at your trusts",
                       field="participant_id")
    person = _person_from_json(request.person)
    _link(session, principal.actor, chosen, person, request.requesting_trust_id,
          f"link request {request.id} approved" + (f": {reason}" if reason else ""))
    request.status, request.participant_id = "linked", chosen.id
    request.decided_by, request.decided_at, request.reason = principal.actor.name, utcnow(), reason or None
    session.flush()
    return request


def reject_link_request(session: Session, *, principal: Principal, request_id: int, reason: str) -> LinkRequest:
    """The holding centre says none of its records is this person."""
    request = view_link_request(session, principal=principal, request_id=request_id)
    if not may_decide(session, principal, request):
        raise PermissionDenied("only the centre holding the candidate records decides this request")
    _pending(request)
    if not reason.strip():
        raise ValidationFailed("say why the records are not this person", field="reason")
    request.status, request.decided_by, request.decided_at, request.reason = ("rejected", principal.actor.name,
                                                                              utcnow(), reason.strip())
    for filed_under in sorted({request.requesting_trust_id, *set().union(
            *(holding_trusts(session, p) for p in _candidates_of(session, request)))}):
        record(session, actor=principal.actor, verb=AuditVerb.REJECT, entity_type="link_request",
               entity_id=request.id, trust_id=filed_under, summary={"reason": reason.strip()})
    return request


def register_new_from_request(session: Session, *, principal: Principal, request_id: int,
                              reason: str = "") -> LinkRequest:
    """The requesting trust registers the person as new: after a rejection, or at once when the candidates were
    only probable (never over an NHS number another record holds)."""
    request = view_link_request(session, principal=principal, request_id=request_id)
    if not may_follow(principal, request):
        raise PermissionDenied("only the requesting trust registers this person")
    if request.status not in {"pending", "rejected"}:
        raise Conflict(f"link request {request.id} is already {request.status.replace('_', ' ')}", field="status")
    person = _person_from_json(request.person)
    if person.nhs_number and repository.get_by_nhs_number(session, person.nhs_number):
        raise Conflict("another record holds this NHS number: an NHS number identifies one person, so the "
                       "registration cannot be new; correct the number or ask the holding centre again",
                       field="nhs_number")
    registration = _create(session, principal.actor, person, request.requesting_trust_id, [], [])
    assert registration.participant is not None
    request.status, request.participant_id = "registered_new", registration.participant.id
    request.decided_by, request.decided_at, request.reason = principal.actor.name, utcnow(), reason or None
    session.flush()
    return request


def live_record(session: Session, participant: Participant) -> Participant:
    """The record a participant's data now lives in (the survivor of any merges)."""
    while participant.merged_into_id is not None:
        participant = session.get(Participant, participant.merged_into_id)  # type: ignore[assignment]
    return participant


def _link(session: Session, actor: Actor, participant: Participant, person: PersonInput, trust_id: int | None,
          reason: str) -> Registration:
    """Registers an existing record at the trust; the event is filed under the new trust and under each trust that
    already held the record, so every holder's staff see who linked it."""
    holders = holding_trusts(session, participant)
    before = {"nhs_number": participant.nhs_number, "postcode": participant.postcode}
    if participant.nhs_number is None and person.nhs_number:
        participant.nhs_number = person.nhs_number
    _register_at(session, participant, trust_id, actor)
    _add_hospital_number(session, participant, trust_id, person.hospital_number)
    after = {"nhs_number": participant.nhs_number, "postcode": participant.postcode}
    for filed_under in sorted({trust_id, *holders} - {None}) or [None]:
        record(session, actor=actor, verb=AuditVerb.LINK, entity_type="participant", entity_id=participant.id,
               trust_id=filed_under, summary={"reason": reason, "trust_id": trust_id,
                                              "changed": sorted(diff(before, after))})
    session.flush()
    return Registration(participant, created=False, linked_reason=reason)


def _open_duplicate(session: Session, participant: Participant, m: MatchCandidate) -> None:
    low, high = sorted((participant.id, m.participant.id))
    if repository.duplicate_between(session, low, high) is None:
        session.add(DuplicateCandidate(participant_a_id=low, participant_b_id=high, score=m.score, band=m.band,
                                       reasons=[{"reason": r} for r in m.reasons], created_at=utcnow()))


def view_participant(session: Session, *, principal: Principal, participant_id: str, audit: bool = True) -> Participant:
    """A participant within the caller's scope (merged ids lead to the survivor); the read is audited."""
    participant = repository.get_by_participant_id(session, participant_id)
    if participant is None:
        raise NotFound(f"no participant {participant_id}", field="participant_id")
    trusts = holding_trusts(session, participant)
    if not scope.sees_any(principal, trusts):
        raise NotFound(f"no participant {participant_id} at your trusts", field="participant_id")
    if audit:
        record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="participant",
               entity_id=participant.id, trust_id=min(trusts) if trusts else None)
    return participant


def holding_trusts(session: Session, participant: Participant) -> set[int]:
    """The trusts holding a participant's record: those it is registered or referred at (a merged record is
    also held by the trusts of the record it was merged into)."""
    return repository.participant_trust_ids(session, participant.id) | repository.participant_trust_ids(
        session, live_record(session, participant).id)


def require_participant(session: Session, principal: Principal, participant: Participant) -> None:
    """The scope rule for a participant: a caller who cannot see the record is told it does not exist (404)."""
    scope.require_record(principal, holding_trusts(session, participant),
                         what=f"participant {participant.participant_id}", field="participant_id")


def audit_trust(session: Session, participant: Participant) -> int | None:
    """The trust an event about a participant is filed under (the lowest of those holding the record)."""
    trusts = holding_trusts(session, participant)
    return min(trusts) if trusts else None


def record_participant_consent(session: Session, *, principal: Principal, participant: Participant,
                               form: ConsentForm, consented_on: date, given_by: str, choices: dict[str, bool],
                               given_by_name: str | None = None, assent: str | None = None,
                               lacks_capacity: bool | None = None, fit_reason: str | None = None) -> Any:
    """Records a consent of a participant in the caller's scope (filed under the participant's trust)."""
    require_participant(session, principal, participant)
    return consent_service.record_consent(session, actor=principal.actor, participant=participant, form=form,
                                          consented_on=consented_on, given_by=given_by, choices=choices,
                                          given_by_name=given_by_name, trust_id=audit_trust(session, participant),
                                          assent=assent, lacks_capacity=lacks_capacity, fit_reason=fit_reason)


def withdraw_participant(session: Session, *, principal: Principal, participant: Participant, level: str,
                         reason: str = "") -> Any:
    """Withdraws a participant in the caller's scope (filed under the participant's trust)."""
    require_participant(session, principal, participant)
    return consent_service.withdraw(session, actor=principal.actor, participant=participant, level=level,
                                    reason=reason, trust_id=audit_trust(session, participant))


EDITABLE = ("family_name", "given_name", "date_of_birth", "sex", "nhs_number", "postcode", "date_of_death")


def update_participant(session: Session, *, principal: Principal, participant: Participant,
                       changes: dict[str, Any], expected_version: int | None = None) -> Participant:
    """Changes demographics (validated, audited with before/after); a stale version is a conflict."""
    require_participant(session, principal, participant)
    if participant.merged_into_id is not None:
        raise Conflict("this record was merged; edit the surviving record", field="participant_id")
    if expected_version is not None and expected_version != participant.version:
        raise Conflict(f"the record changed since you opened it (version {participant.version}, "
                       f"you had {expected_version}); reload and try again", field="version")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    current = PersonInput(participant.family_name, participant.given_name, participant.date_of_birth,
                          participant.sex, participant.nhs_number, participant.postcode)
    merged = clean_person(replace(current, **{k: v for k, v in changes.items() if k != "date_of_death"}))
    before = {k: getattr(participant, k) for k in EDITABLE}
    for key in ("family_name", "given_name", "date_of_birth", "sex", "nhs_number", "postcode"):
        setattr(participant, key, getattr(merged, key))
    if "date_of_death" in changes:
        participant.date_of_death = changes["date_of_death"]
    if participant.nhs_number and participant.nhs_number != before["nhs_number"]:
        clash = [p for p in repository.get_by_nhs_number(session, participant.nhs_number) if p.id != participant.id]
        if clash:
            raise Conflict(f"NHS number already belongs to participant {clash[0].participant_id}: merge instead",
                           field="nhs_number")
    after = {k: getattr(participant, k) for k in EDITABLE}
    changed = diff({k: str(v) if v is not None else None for k, v in before.items()},
                   {k: str(v) if v is not None else None for k, v in after.items()})
    if changed:
        participant.updated_at = utcnow()
        trusts = repository.participant_trust_ids(session, participant.id)
        record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="participant",
               entity_id=participant.id, trust_id=min(trusts) if trusts else None,
               summary={"changed": sorted(changed)})
        session.flush()
    return participant


# ----------------------------------------------------------------------------- referrals & eligibility


def ensure_rule_sets(session: Session, *, actor: Actor) -> None:
    """Creates version 1 of each arm's rules when an installation has none."""
    for arm in eligibility.ARMS:
        if repository.active_rule_set(session, arm) is None:
            publish_rules(session, actor=actor, arm=arm, rules=eligibility.default_rules(arm),
                          note="programme defaults")


def publish_rules(session: Session, *, actor: Actor, arm: str, rules: dict[str, Any], note: str,
                  principal: Principal | None = None) -> EligibilityRuleSet:
    """Publishes a new version of an arm's rules; earlier versions stay for the decisions that used them.

    The rules are the programme's, national: a caller (principal) must be national staff; None is the system.
    """
    if principal is not None:
        scope.require_national(principal, what="the programme's eligibility rules")
    if arm not in eligibility.ARMS:
        raise ValidationFailed(f"programme arm must be one of {', '.join(eligibility.ARMS)}", field="programme_arm")
    if arm == "rare_disease":
        conditions = rules.get("conditions")
        if not isinstance(conditions, dict) or not conditions:
            raise ValidationFailed("rare-disease rules need a non-empty list of conditions", field="conditions")
        for name, structures in conditions.items():
            bad = [s for s in structures if s not in eligibility.FAMILY_STRUCTURES]
            if not structures or bad:
                raise ValidationFailed(f"condition {name!r}: family structures must be from "
                                       f"{', '.join(eligibility.FAMILY_STRUCTURES)}", field="conditions")
    elif not rules.get("cancer_types"):
        raise ValidationFailed("cancer rules need at least one cancer type", field="cancer_types")
    existing = repository.rule_sets(session, arm)
    version = (existing[0].version + 1) if existing else 1
    for old in existing:
        old.active = False
    rule_set = EligibilityRuleSet(programme_arm=arm, version=version, rules=rules, active=True, created_at=utcnow(),
                                  created_by=actor.name, note=note)
    session.add(rule_set)
    session.flush()
    record(session, actor=actor, verb=AuditVerb.CREATE, entity_type="eligibility_rule_set", entity_id=rule_set.id,
           summary={"arm": arm, "version": version, "note": note})
    return rule_set


def decide_eligibility(session: Session, *, actor: Actor, referral: Referral) -> EligibilityDecision:
    """Decides a referral's eligibility under the arm's active rules and stores it with its reasons."""
    ensure_rule_sets(session, actor=actor)
    rule_set = repository.active_rule_set(session, referral.programme_arm)
    assert rule_set is not None
    result = eligibility.evaluate(rule_set.rules, eligibility.ReferralFacts(
        programme_arm=referral.programme_arm, clinical_indication=referral.clinical_indication,
        family_structure=referral.family_structure, prior_tests_completed=referral.prior_tests_completed,
        tumour_sample_expected=referral.tumour_sample_expected,
        germline_sample_expected=referral.germline_sample_expected))
    decision = EligibilityDecision(referral_id=referral.id, eligible=result.eligible, reasons=result.reasons,
                                   rule_set_id=rule_set.id, rule_version=rule_set.version, decided_at=utcnow(),
                                   decided_by=actor.name)
    session.add(decision)
    referral.status = "eligible" if result.eligible else "ineligible"
    session.flush()
    if result.eligible:  # the case opens now if the proband's consent allows it, else when it is recorded
        open_consented_cases(session, actor=actor, participant_pk=referral.participant_id,
                             consented=consent_service.is_allowed(session, referral.participant_id,
                                                                  consent_service.ConsentAction.SEQUENCE).allowed)
    record(session, actor=actor, verb=AuditVerb.ELIGIBILITY_DECIDE, entity_type="participant",
           entity_id=referral.participant_id, trust_id=referral.trust_id,
           summary={"referral": referral.referral_id, "eligible": result.eligible, "rule_version": rule_set.version,
                    "reasons": result.reasons})
    return decision


@dataclass(frozen=True)
class ReferralInput:
    """A referral as entered."""

    trust_code: str
    referring_clinician: str
    referral_date: date
    programme_arm: str
    clinical_indication: str
    family_structure: str | None = None
    prior_tests_completed: bool = False
    tumour_sample_expected: bool = False
    germline_sample_expected: bool = False
    family_id: str | None = None


def create_referral(session: Session, *, principal: Principal, participant: Participant, data: ReferralInput) -> Referral:
    """Records a referral at a trust in the caller's scope and decides its eligibility."""
    require_participant(session, principal, participant)
    if participant.merged_into_id is not None:
        raise Conflict("this record was merged; refer the surviving record", field="participant_id")
    trust = org_service.require_trust(session, data.trust_code.strip().upper())
    principal.require_trust(trust.id)
    if data.programme_arm not in eligibility.ARMS:
        raise ValidationFailed(f"programme arm must be one of {', '.join(eligibility.ARMS)}", field="programme_arm")
    if not data.referring_clinician.strip():
        raise ValidationFailed("name the referring clinician", field="referring_clinician")
    if not data.clinical_indication.strip():
        raise ValidationFailed("give the clinical indication", field="clinical_indication")
    if data.referral_date > date.today():
        raise ValidationFailed("the referral date is in the future", field="referral_date")
    if data.family_structure is not None and data.family_structure not in eligibility.FAMILY_STRUCTURES:
        raise ValidationFailed(f"family structure must be one of {', '.join(eligibility.FAMILY_STRUCTURES)}",
                               field="family_structure")
    family = view_family(session, principal=principal, family_id=data.family_id) if data.family_id else None
    referral = Referral(
        referral_id=_new_programme_id(session, "R", Referral, "referral_id"), participant_id=participant.id,
        trust_id=trust.id, family_id=family.id if family else None,
        referring_clinician=data.referring_clinician.strip(), referral_date=data.referral_date,
        programme_arm=data.programme_arm, clinical_indication=data.clinical_indication.strip(),
        family_structure=data.family_structure, prior_tests_completed=data.prior_tests_completed,
        tumour_sample_expected=data.tumour_sample_expected, germline_sample_expected=data.germline_sample_expected,
        status="received", created_at=utcnow())
    session.add(referral)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="participant", entity_id=participant.id,
           trust_id=trust.id, summary={"referral": referral.referral_id, "arm": data.programme_arm,
                                       "indication": referral.clinical_indication})
    decide_eligibility(session, actor=principal.actor, referral=referral)
    return referral


def view_case(session: Session, *, principal: Principal, case_id: str) -> Case:
    """A case within the caller's scope (by the trust of its referral)."""
    case = repository.get_case(session, case_id)
    if case is None or not principal.can_see_trust(case.trust_id):
        raise NotFound(f"no case {case_id} at your trusts", field="case_id")
    return case


def record_case_read(session: Session, principal: Principal, case: Case, what: str) -> None:
    """Audits that the caller was shown something of a case (it leads to its proband), filed under its trust."""
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "read": what})


def record_list_read(session: Session, principal: Principal, what: str, shown: list[str]) -> None:
    """Audits that the caller was shown a list of people's records (what, and which ids; capped at 100)."""
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="participant",
           summary={"worklist": what, "results": shown[:100], "count": len(shown)})


def list_cases(session: Session, *, principal: Principal, arm: str | None = None,
               status: str | None = None) -> list[Case]:
    """Genomic cases at the caller's trusts, newest first; the read is audited."""
    cases = list(repository.list_cases(session, trust_scope=principal.trust_scope, arm=arm, status=status))
    record_list_read(session, principal, "cases", [c.case_id for c in cases])
    return cases


def read_case(session: Session, *, principal: Principal, case_id: str) -> Case:
    """A case within the caller's scope, shown to them (audited)."""
    case = view_case(session, principal=principal, case_id=case_id)
    record_case_read(session, principal, case, "case")
    return case


def case_summary(session: Session, case: Case) -> dict[str, Any]:
    """A case as plain data for lists and other features' pages (no identifiers beyond programme ids)."""
    proband = session.get(Participant, case.proband_id)
    family = session.get(Family, case.family_id) if case.family_id else None
    return {"case_id": case.case_id, "status": case.status, "programme_arm": case.programme_arm,
            "referral_id": case.referral.referral_id, "clinical_indication": case.referral.clinical_indication,
            "proband_participant_id": proband.participant_id if proband else None,
            "family_id": family.family_id if family else None, "trust_id": case.trust_id,
            "created_at": case.created_at}


# ----------------------------------------------------------------------------- families


def view_family(session: Session, *, principal: Principal, family_id: str) -> Family:
    """A family whose proband the caller may see (families are recruited at the proband's trusts); else 404."""
    family = repository.get_family(session, family_id)
    proband = session.get(Participant, family.proband_id) if family is not None and family.proband_id else None
    if family is None or proband is None or not scope.sees_any(principal, holding_trusts(session, proband)):
        raise NotFound(f"no family {family_id} at your trusts", field="family_id")
    return family


def create_family(session: Session, *, principal: Principal, proband: Participant) -> Family:
    """Starts a family around a proband in the caller's scope."""
    require_participant(session, principal, proband)
    family = Family(family_id=_new_programme_id(session, "F", Family, "family_id"), proband_id=proband.id,
                    created_at=utcnow())
    family.members.append(FamilyMember(participant_id=proband.id, relation="proband", affected="affected"))
    session.add(family)
    session.flush()
    trusts = repository.participant_trust_ids(session, proband.id)
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="participant", entity_id=proband.id,
           trust_id=min(trusts) if trusts else None, summary={"family": family.family_id, "relation": "proband"})
    return family


def add_family_member(session: Session, *, principal: Principal, family: Family, participant: Participant,
                      relation: str, affected: str) -> FamilyMember:
    """Adds a relative to a family with their relationship to the proband and affected status (the caller must
    see both the family and the relative)."""
    view_family(session, principal=principal, family_id=family.family_id)
    require_participant(session, principal, participant)
    if relation not in RELATIONS or relation == "proband":
        raise ValidationFailed(f"relation must be one of {', '.join(r for r in RELATIONS if r != 'proband')}",
                               field="relation")
    if affected not in AFFECTED:
        raise ValidationFailed(f"affected must be one of {', '.join(AFFECTED)}", field="affected")
    if any(m.participant_id == participant.id for m in family.members):
        raise Conflict(f"{participant.participant_id} is already in family {family.family_id}", field="participant_id")
    if relation in {"mother", "father"} and any(m.relation == relation for m in family.members):
        raise Conflict(f"family {family.family_id} already has a {relation}", field="relation")
    expected_sex = {"mother": "female", "father": "male"}.get(relation)
    if expected_sex and participant.sex not in {expected_sex, "unknown"}:
        raise ValidationFailed(f"a {relation} is recorded as {participant.sex}", field="relation")
    member = FamilyMember(participant_id=participant.id, relation=relation, affected=affected)
    family.members.append(member)
    session.flush()
    trusts = repository.participant_trust_ids(session, participant.id)
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="participant",
           entity_id=participant.id, trust_id=min(trusts) if trusts else None,
           summary={"family": family.family_id, "relation": relation, "affected": affected})
    return member


# ----------------------------------------------------------------------------- consent forms


def ensure_consent_forms(session: Session) -> list[ConsentForm]:
    """Creates the standard consent forms when missing; returns the active forms."""
    for code, version, title, audience, arm in DEFAULT_CONSENT_FORMS:
        if repository.get_consent_form(session, code, version) is None:
            session.add(ConsentForm(code=code, version=version, title=title, choices=list(consent_service.CHOICES),
                                    audience=audience, programme_arm=arm, active=True))
    session.flush()
    return list(repository.consent_forms(session))


def require_form(session: Session, code: str, version: str) -> ConsentForm:
    """A consent form version, or an error naming it."""
    form = repository.get_consent_form(session, code, version)
    if form is None or not form.active:
        raise NotFound(f"no active consent form {code} v{version}", field="form")
    return form


# ----------------------------------------------------------------------------- merge and unmerge


def merge(session: Session, *, principal: Principal, survivor: Participant, merged: Participant, reason: str) -> MergeRecord:
    """Merges one record into another: identifiers, referrals, consents and families move; reversible."""
    if survivor.id == merged.id:
        raise ValidationFailed("cannot merge a record into itself", field="participant_id")
    if survivor.merged_into_id is not None or merged.merged_into_id is not None:
        raise Conflict("one of these records has already been merged", field="participant_id")
    if survivor.nhs_number and merged.nhs_number and survivor.nhs_number != merged.nhs_number:
        raise Conflict("the records have different NHS numbers: they are different people", field="nhs_number")
    for p in (survivor, merged):
        require_participant(session, principal, p)
    from gmc.registry.models import Consent

    moved: dict[str, list[int]] = {"hospital_number": [], "referral": [], "consent": [], "family_member": [],
                                   "trust_registration": []}
    survivor_trusts = {r.trust_id for r in session.execute(
        select(TrustRegistration).where(TrustRegistration.participant_id == survivor.id)).scalars()}
    for reg in session.execute(select(TrustRegistration).where(TrustRegistration.participant_id == merged.id)).scalars():
        if reg.trust_id not in survivor_trusts:
            reg.participant_id = survivor.id
            moved["trust_registration"].append(reg.id)
    for hn in list(merged.hospital_numbers):
        hn.participant = survivor  # re-parented through the relationship, so it is not orphan-deleted
        moved["hospital_number"].append(hn.id)
    for ref in repository.referrals_of(session, merged.id):
        ref.participant_id = survivor.id
        moved["referral"].append(ref.id)
    for consent in session.execute(select(Consent).where(Consent.participant_id == merged.id)).scalars():
        consent.participant_id = survivor.id
        moved["consent"].append(consent.id)
    survivor_families = {f.id for f in repository.families_of(session, survivor.id)}
    for member in session.execute(select(FamilyMember).where(FamilyMember.participant_id == merged.id)).scalars():
        if member.family_id not in survivor_families:
            member.participant_id = survivor.id
            moved["family_member"].append(member.id)
    for follower in merging.followers():
        for kind, ids in follower.move(session, principal, survivor, merged).items():
            moved[f"{follower.name}:{kind}"] = ids
    before = {k: (str(getattr(survivor, k)) if getattr(survivor, k) is not None else None)
              for k in ("nhs_number", "postcode", "date_of_birth")}
    # The merged record stops being live first: a live NHS number is unique, and the survivor may take it.
    merged.merged_into_id = survivor.id
    session.flush()
    for key in ("nhs_number", "postcode", "date_of_birth"):
        if getattr(survivor, key) is None and getattr(merged, key) is not None:
            setattr(survivor, key, getattr(merged, key))
    survivor.updated_at = merged.updated_at = utcnow()
    row = MergeRecord(survivor_id=survivor.id, merged_id=merged.id, moved=moved, survivor_before=before,
                      merged_at=utcnow(), merged_by=principal.actor.name, reason=reason)
    session.add(row)
    dup = repository.duplicate_between(session, survivor.id, merged.id)
    if dup is not None:
        dup.status, dup.decided_by, dup.decided_at = "merged", principal.actor.name, utcnow()
    session.flush()
    for p, role in ((survivor, "survivor"), (merged, "merged")):
        record(session, actor=principal.actor, verb=AuditVerb.MERGE, entity_type="participant", entity_id=p.id,
               summary={"merge": row.id, "role": role, "survivor": survivor.participant_id,
                        "merged": merged.participant_id, "moved": {k: len(v) for k, v in moved.items()},
                        "reason": reason})
    return row


def unmerge(session: Session, *, principal: Principal, merge_id: int, reason: str) -> MergeRecord:
    """Undoes a merge: the moved rows go back and the survivor's earlier fields are restored."""
    from gmc.registry.models import Consent

    row = session.get(MergeRecord, merge_id)
    if row is None:
        raise NotFound(f"no merge {merge_id}", field="merge_id")
    if row.unmerged_at is not None:
        raise Conflict("this merge was already undone", field="merge_id")
    survivor = session.get(Participant, row.survivor_id)
    merged = session.get(Participant, row.merged_id)
    assert survivor is not None and merged is not None
    if not all(scope.sees_any(principal, holding_trusts(session, p)) for p in (survivor, merged)):
        raise NotFound(f"no merge {merge_id} of records at your trusts", field="merge_id")
    models = {"hospital_number": HospitalNumber, "referral": Referral, "consent": Consent, "family_member": FamilyMember,
              "trust_registration": TrustRegistration}
    for follower in merging.followers():
        prefix = f"{follower.name}:"
        follower.move_back(session, principal, survivor, merged,
                           {k.removeprefix(prefix): v for k, v in row.moved.items() if k.startswith(prefix)})
    for table, ids in row.moved.items():
        if table not in models:
            continue
        for pk in ids:
            obj = session.get(models[table], pk)
            if isinstance(obj, HospitalNumber):
                obj.participant = merged
            elif obj is not None:
                obj.participant_id = merged.id
    for key, value in row.survivor_before.items():
        if value is None:
            setattr(survivor, key, None)
    # The survivor gives back what it took before the merged record is live again (a live NHS number is unique).
    session.flush()
    merged.merged_into_id = None
    row.unmerged_at, row.unmerged_by = utcnow(), principal.actor.name
    dup = repository.duplicate_between(session, survivor.id, merged.id)
    if dup is not None:
        dup.status = "open"
    session.flush()
    for p in (survivor, merged):
        record(session, actor=principal.actor, verb=AuditVerb.UNMERGE, entity_type="participant", entity_id=p.id,
               summary={"merge": row.id, "reason": reason})
    return row


def view_duplicate(session: Session, *, principal: Principal, candidate_id: int) -> DuplicateCandidate:
    """An open duplicate candidate both of whose records the caller may see; else 404."""
    dup = session.get(DuplicateCandidate, candidate_id)
    pair = [session.get(Participant, pk) for pk in (dup.participant_a_id, dup.participant_b_id)] if dup else []
    if dup is None or dup.status != "open" or not all(
            p is not None and scope.sees_any(principal, holding_trusts(session, p)) for p in pair):
        raise NotFound(f"no open duplicate candidate {candidate_id} at your trusts", field="candidate_id")
    return dup


def duplicate_worklist(session: Session, *, principal: Principal, candidates: Sequence[DuplicateCandidate] | None = None,
                       ) -> list[tuple[DuplicateCandidate, Participant, Participant]]:
    """Open duplicate pairs both of whose records the caller may see (or those of `candidates`, e.g. one page),
    highest score first, with both records; the read is audited."""
    pairs = []
    for d in repository.open_duplicates(session, trust_scope=principal.trust_scope) if candidates is None else candidates:
        a, b = session.get(Participant, d.participant_a_id), session.get(Participant, d.participant_b_id)
        if a is not None and b is not None:
            pairs.append((d, a, b))
    record_list_read(session, principal, "duplicates", [p.participant_id for _, a, b in pairs for p in (a, b)])
    return pairs


def reject_duplicate(session: Session, *, principal: Principal, candidate_id: int, reason: str) -> DuplicateCandidate:
    """Records that a proposed pair are different people."""
    dup = view_duplicate(session, principal=principal, candidate_id=candidate_id)
    dup.status, dup.decided_by, dup.decided_at = "rejected", principal.actor.name, utcnow()
    for pk in (dup.participant_a_id, dup.participant_b_id):
        record(session, actor=principal.actor, verb=AuditVerb.REJECT, entity_type="participant", entity_id=pk,
               summary={"duplicate_candidate": dup.id, "reason": reason})
    return dup


# ----------------------------------------------------------------------------- read models


def participant_detail(session: Session, participant: Participant) -> dict[str, Any]:
    """Everything a participant view shows, as plain data (identifiers, referrals, families, consent)."""
    from gmc.organisations.models import Trust

    trust_codes = {t.id: t.code for t in session.query(Trust).all()}
    merged_into = session.get(Participant, participant.merged_into_id) if participant.merged_into_id else None
    referrals = []
    for r in repository.referrals_of(session, participant.id):
        referrals.append({
            "referral_id": r.referral_id, "trust_code": trust_codes.get(r.trust_id, "?"),
            "referring_clinician": r.referring_clinician, "referral_date": r.referral_date,
            "programme_arm": r.programme_arm, "clinical_indication": r.clinical_indication,
            "family_structure": r.family_structure, "status": r.status,
            "decisions": [{"eligible": d.eligible, "reasons": d.reasons, "rule_version": d.rule_version,
                           "decided_at": d.decided_at, "decided_by": d.decided_by} for d in r.decisions]})
    families = []
    for f in repository.families_of(session, participant.id):
        families.append({"family_id": f.family_id, "members": [
            {"participant_id": m.participant.participant_id, "name": f"{m.participant.given_name} "
             f"{m.participant.family_name}", "relation": m.relation, "affected": m.affected, "sex": m.participant.sex}
            for m in sorted(f.members, key=lambda m: RELATIONS.index(m.relation))]})
    consents = [{"id": c.id, "form": f"{c.form.code} v{c.form.version}", "form_title": c.form.title,
                 "consented_on": c.consented_on, "given_by": c.given_by, "given_by_name": c.given_by_name,
                 "choices": c.choices, "status": c.status, "withdrawal_level": c.withdrawal_level,
                 "withdrawn_at": c.withdrawn_at} for c in consent_service.consents_of(session, participant.id)]
    return {
        "participant_id": participant.participant_id, "family_name": participant.family_name,
        "given_name": participant.given_name, "date_of_birth": participant.date_of_birth, "sex": participant.sex,
        "nhs_number": participant.nhs_number, "nhs_number_missing": participant.nhs_number is None,
        "postcode": participant.postcode, "date_of_death": participant.date_of_death, "version": participant.version,
        "merged_into": merged_into.participant_id if merged_into else None,
        "consent_status": consent_service.consent_status(session, participant.id),
        "hospital_numbers": [{"trust_code": trust_codes.get(h.trust_id, "?"), "number": h.number}
                             for h in participant.hospital_numbers],
        "referrals": referrals, "families": families, "consents": consents,
        "cases": [case_summary(session, c) for c in repository.cases_of(session, participant.id)],
    }


def participant_summary(session: Session, participant: Participant) -> dict[str, Any]:
    """A participant as a search result row."""
    return {"participant_id": participant.participant_id, "family_name": participant.family_name,
            "given_name": participant.given_name, "date_of_birth": participant.date_of_birth, "sex": participant.sex,
            "nhs_number": participant.nhs_number,
            "consent_status": consent_service.consent_status(session, participant.id)}


def search_participants(session: Session, *, principal: Principal, text: str) -> list[Participant]:
    """Search by name, NHS number, hospital number or participant id within the caller's scope (audited)."""
    if len(text.strip()) < 2:
        raise ValidationFailed("type at least two characters", field="q")
    found = list(repository.search(session, text=text, trust_scope=principal.trust_scope))
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="participant",
           summary={"results": [p.participant_id for p in found[:50]]})
    return found


def timeline(session: Session, participant: Participant) -> list[dict[str, Any]]:
    """The participant's audit events, newest first, for the page's timeline."""
    from gmc.audit import repository as audit_repository

    events = audit_repository.history(session, entity_type="participant", entity_id=participant.id)
    return [{"when": e.occurred_at, "actor": e.actor, "verb": e.verb, "summary": e.summary}
            for e in reversed(events) if e.verb != "read"]


def reconsent_worklist(session: Session, *, principal: Principal, today: date | None = None) -> list[Participant]:
    """Participants in scope consented by a parent or guardian who have reached the re-consent age."""
    today = today or date.today()
    try:
        cutoff = today.replace(year=today.year - consent_service.RECONSENT_AGE)
    except ValueError:  # 29 February
        cutoff = date(today.year - consent_service.RECONSENT_AGE, 3, 1)
    out = []
    for p in repository.reconsent_candidates(session, born_on_or_before=cutoff, trust_scope=principal.trust_scope):
        if consent_service.reconsent_due(p, consent_service.current_consent(session, p.id), today):
            out.append(p)
    record_list_read(session, principal, "re-consent", [p.participant_id for p in out])
    return out
