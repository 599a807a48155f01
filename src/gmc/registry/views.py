"""Registry web pages: search, registration with duplicate check, participant page, worklists, rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from gmc.auth import scope
from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import DomainError, NotFound, ValidationFailed
from gmc.common.labels import label
from gmc.common.nav import NavItem, register_nav
from gmc.common.paging import ListState, paginate, paginate_list
from gmc.common.requests import FormFields
from gmc.common.templating import render
from gmc.common.worklists import WorkItem, Worklist, WorklistSource, register_worklist, worklist
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.organisations.models import Trust
from gmc.registry import consent as consent_service
from gmc.registry import consent_fit, eligibility, repository, service
from gmc.registry.models import Participant

router = APIRouter(include_in_schema=False)

register_nav(NavItem("Participants", "/participants", Permission.PARTICIPANT_READ, order=100, roles=frozenset({"recruiter", "clinician"})))
register_nav(NavItem("Duplicates", "/duplicates", Permission.PARTICIPANT_WRITE, order=110, roles=frozenset({"recruiter", "admin"})))
register_nav(NavItem("Link requests", "/link-requests", Permission.PARTICIPANT_WRITE, order=115, roles=frozenset({"recruiter", "admin"})))
register_nav(NavItem("Re-consent", "/reconsent", Permission.CONSENT_WRITE, order=120, roles=frozenset({"recruiter"})))
register_nav(NavItem("Eligibility rules", "/eligibility", Permission.PARTICIPANT_READ, order=130, roles=frozenset({"recruiter"})))

READ = Depends(require(Permission.PARTICIPANT_READ))
WRITE = Depends(require(Permission.PARTICIPANT_WRITE))
CONSENT = Depends(require(Permission.CONSENT_WRITE))


# Home-page worklists --------------------------------------------------------------------------------

def _awaiting_consent(db: GmcSession, principal: Principal) -> Worklist:
    total, referrals = repository.referrals_awaiting_consent(db, trust_scope=principal.trust_scope)
    items = [WorkItem(f"{r.participant.participant_id} · {label(r.programme_arm)}",
                      f"/participants/{r.participant.participant_id}#consent",
                      f"referral {r.referral_id} of {r.referral_date:%d %b %Y}, {label(r.status).lower()}")
             for r in referrals]
    return worklist("Referrals awaiting consent", items, count=total, href="/participants?consent=none")


def _duplicates(db: GmcSession, principal: Principal) -> Worklist:
    pairs = repository.open_duplicates(db, trust_scope=principal.trust_scope)
    items = []
    for c in pairs:
        a, b = db.get(Participant, c.participant_a_id), db.get(Participant, c.participant_b_id)
        items.append(WorkItem(f"{a.participant_id} and {b.participant_id}", f"/duplicates#candidate-{c.id}",
                              f"{c.band} match, score {c.score:.2f}"))
    return worklist("Possible duplicates to review", items, href="/duplicates")


def _reconsent(db: GmcSession, principal: Principal) -> Worklist:
    due = service.reconsent_worklist(db, principal=principal)
    items = [WorkItem(p.participant_id, f"/participants/{p.participant_id}#consent",
                      f"consented by a parent; now {consent_service.RECONSENT_AGE} or older") for p in due]
    return worklist("Young people due to consent for themselves", items, href="/reconsent")


register_worklist(WorklistSource("registry.awaiting_consent", frozenset({"recruiter", "clinician"}), _awaiting_consent,
                                 order=10))
register_worklist(WorklistSource("registry.duplicates", frozenset({"recruiter", "admin"}), _duplicates, order=20))
register_worklist(WorklistSource("registry.reconsent", frozenset({"recruiter"}), _reconsent, order=30))


def _trusts_in_scope(db: GmcSession, principal: Principal) -> list[Trust]:
    query = db.query(Trust).order_by(Trust.name)
    if principal.trust_scope is not None:
        query = query.filter(Trust.id.in_(principal.trust_scope))
    return query.all()


def _attempt(db: GmcSession, action: Callable[[], Any]) -> tuple[Any, DomainError | None]:
    """Runs a change in a savepoint: on a refused change nothing of it stays, and the page says why."""
    try:
        with db.begin_nested():
            return action(), None
    except DomainError as exc:
        return None, exc


def _date(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from exc


def _back(pid: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"/participants/{pid}?msg={quote(message)}", status_code=303)


@router.get("/participants")
def participants_page(request: Request, q: str = "", principal: Principal = READ, db: GmcSession = DB) -> Response:
    """Search (best matches first), or every participant in scope a page at a time, filtered and sorted."""
    state = ListState.from_query("/participants", request.query_params, sorts=list(repository.PARTICIPANT_ORDER),
                                 default_sort="registered", default_descending=True, filters=("consent", "arm"))
    results, error, page = None, None, None
    if q.strip():
        results, error = _attempt(db, lambda: service.search_participants(db, principal=principal, text=q))
    if results is None:
        page = paginate(db, repository.participants_query(
            trust_scope=principal.trust_scope, consent=state.filters.get("consent"), arm=state.filters.get("arm")),
            state, repository.PARTICIPANT_ORDER)
    rows = [service.participant_summary(db, p) for p in (results if results is not None else page.items)]
    context = {"rows": rows, "q": q, "searched": results is not None, "page": page, "filters": state.filters,
               "arms": eligibility.ARMS,
               "total": repository.count_participants(db, trust_scope=principal.trust_scope)}
    if error:
        context.update(message=error.message, message_kind="error")
    template = "registry/_results.html" if request.headers.get("hx-request") else "registry/participants.html"
    return render(request, template, context)


@router.get("/participants/new")
def register_page(request: Request, principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """The registration form."""
    return render(request, "registry/register.html", {"trusts": _trusts_in_scope(db, principal), "form": {}})


@router.post("/participants/new")
def register_submit(request: Request, form_fields: FormFields, principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Registers a person; likely matches are shown for the user to choose."""
    form = {k: str(v) for k, v in form_fields.items()}
    decision = form.get("decision", "check")

    def _do() -> service.Registration:
        person = service.PersonInput(
            family_name=form.get("family_name", ""), given_name=form.get("given_name", ""),
            date_of_birth=_date(form.get("date_of_birth", ""), "date_of_birth"), sex=form.get("sex", "unknown"),
            nhs_number=form.get("nhs_number") or None, postcode=form.get("postcode") or None,
            trust_code=form.get("trust_code") or None, hospital_number=form.get("hospital_number") or None)
        return service.register_person(db, principal=principal, person=person, decision=decision)

    reg, error = _attempt(db, _do)
    if error is not None:
        candidates = getattr(error, "candidates", [])
        elsewhere = getattr(error, "elsewhere", [])
        return render(request, "registry/register.html", {
            "trusts": _trusts_in_scope(db, principal), "form": form, "candidates": candidates,
            "elsewhere": elsewhere, "nhs_held_elsewhere": getattr(error, "exact", False),
            "message": error.message, "message_kind": "error" if not (candidates or elsewhere) else "info",
            "error_field": error.field}, status_code=error.status_code)
    if reg.link_request is not None:
        return RedirectResponse(f"/link-requests?msg={quote(f'Link request {reg.link_request.id} sent.')}",
                                status_code=303)
    verb = "Registered" if reg.created else f"Linked to the existing record ({reg.linked_reason})"
    return _back(reg.participant.participant_id, f"{verb}.")


def _consent_guide(db: GmcSession, participant: Participant) -> dict[str, Any]:
    """What the consent form offers first for this person today: the fitting forms, and whether to ask for
    assent (7 to 15) or capacity (16 and over)."""
    forms = service.ensure_consent_forms(db)
    facts = [consent_fit.FormFacts(f.code, f.version, f.audience, f.programme_arm) for f in forms]
    arms = {r.programme_arm for r in repository.referrals_of(db, participant.id)}
    age = consent_fit.age_on(participant.date_of_birth, date.today())
    fitting = consent_fit.suitable_forms(facts, arms=arms, age=age)
    capacity = age is not None and age >= consent_fit.ADULT_AGE
    if capacity:  # an adult lacking capacity: the consultee declaration fits too
        fitting += [f for f in consent_fit.suitable_forms(facts, arms=arms, age=age, lacks_capacity=True)
                    if f not in fitting]
    return {"age": age, "arms": sorted(arms), "fitting": {f"{f.code}|{f.version}" for f in fitting},
            "first": f"{fitting[0].code}|{fitting[0].version}" if fitting else None,
            "ask_assent": age is None or consent_fit.ASSENT_FROM_AGE <= age < consent_fit.ADULT_AGE,
            "ask_capacity": age is None or capacity,
            "giver": consent_fit.GIVER_FOR_AUDIENCE.get(
                next((f.audience for f in fitting), "adult"), "participant"),
            "assent_values": consent_fit.ASSENT}


def _participant_context(db: GmcSession, principal: Principal, participant: Participant) -> dict[str, Any]:
    detail = service.participant_detail(db, participant)
    return {
        "p": detail, "timeline": service.timeline(db, participant),
        "forms": service.ensure_consent_forms(db), "choices": consent_service.CHOICES,
        "consent_guide": _consent_guide(db, participant),
        "trusts": _trusts_in_scope(db, principal), "arms": eligibility.ARMS,
        "structures": eligibility.FAMILY_STRUCTURES, "relations": [r for r in service.RELATIONS if r != "proband"],
        "affected_values": service.AFFECTED, "levels": [level.value for level in consent_service.WithdrawalLevel],
        "given_by": consent_service.GIVEN_BY, "principal": principal,
        "reconsent_due": consent_service.reconsent_due(participant, consent_service.current_consent(db, participant.id),
                                                       date.today()),
    }


@router.get("/participants/{participant_id}")
def participant_page(request: Request, participant_id: str, msg: str = "", principal: Principal = READ,
                     db: GmcSession = DB) -> Response:
    """A participant: identifiers, consent, referrals and eligibility, family, timeline."""
    participant = service.view_participant(db, principal=principal, participant_id=participant_id)
    context = _participant_context(db, principal, participant)
    if msg:
        context.update(message=msg, message_kind="ok")
    return render(request, "registry/participant.html", context)


def _participant_action(request: Request, db: GmcSession, principal: Principal, participant_id: str,
                        action: Callable[[Participant], Any], done: str) -> Response:
    participant = service.view_participant(db, principal=principal, participant_id=participant_id, audit=False)
    _, error = _attempt(db, lambda: action(participant))
    if error is not None:
        context = _participant_context(db, principal, participant)
        context.update(message=error.message, message_kind="error")
        return render(request, "registry/participant.html", context, status_code=error.status_code)
    return _back(participant.participant_id, done)


@router.post("/participants/{participant_id}/referrals")
def referral_submit(request: Request, form_fields: FormFields, participant_id: str, principal: Principal = WRITE,
                          db: GmcSession = DB) -> Response:
    """Adds a referral and shows its eligibility decision."""
    form = {k: str(v) for k, v in form_fields.items()}

    def _do(p: Participant) -> None:
        referral_date = _date(form.get("referral_date", ""), "referral_date")
        if referral_date is None:
            raise ValidationFailed("give the referral date", field="referral_date")
        service.create_referral(db, principal=principal, participant=p, data=service.ReferralInput(
            trust_code=form.get("trust_code", ""), referring_clinician=form.get("referring_clinician", ""),
            referral_date=referral_date, programme_arm=form.get("programme_arm", ""),
            clinical_indication=form.get("clinical_indication", ""),
            family_structure=form.get("family_structure") or None,
            prior_tests_completed=form.get("prior_tests_completed") == "true",
            tumour_sample_expected=form.get("tumour_sample_expected") == "true",
            germline_sample_expected=form.get("germline_sample_expected") == "true",
            family_id=form.get("family_id") or None))

    return _participant_action(request, db, principal, participant_id, _do, "Referral recorded.")


@router.post("/participants/{participant_id}/consents")
def consent_submit(request: Request, form_fields: FormFields, participant_id: str, principal: Principal = CONSENT,
                         db: GmcSession = DB) -> Response:
    """Records a consent with every choice answered."""
    form = form_fields

    def _do(p: Participant) -> None:
        code, _, version = str(form.get("form", "")).partition("|")
        consented_on = _date(str(form.get("consented_on", "")), "consented_on")
        if consented_on is None:
            raise ValidationFailed("give the date of consent", field="consented_on")
        choices = {}
        for choice in consent_service.CHOICES:
            answer = str(form.get(f"choice_{choice}", ""))
            if answer not in {"yes", "no"}:
                raise ValidationFailed(f"answer yes or no to {choice.replace('_', ' ')}", field=choice)
            choices[choice] = answer == "yes"
        age = consent_fit.age_on(p.date_of_birth, consented_on)
        assent = str(form.get("assent", "")) or None
        if age is not None and consent_fit.ASSENT_FROM_AGE <= age < consent_fit.ADULT_AGE and assent is None:
            raise ValidationFailed(f"the participant is {age}: record whether they assent (or cannot say)",
                                   field="assent")
        capacity = str(form.get("capacity", ""))
        service.record_participant_consent(db, principal=principal, participant=p,
                                           form=service.require_form(db, code, version), consented_on=consented_on,
                                           given_by=str(form.get("given_by", "participant")),
                                           given_by_name=str(form.get("given_by_name", "")) or None, choices=choices,
                                           assent=assent if age is None or age < consent_fit.ADULT_AGE else None,
                                           lacks_capacity={"yes": False, "no": True}.get(capacity),
                                           fit_reason=str(form.get("fit_reason", "")) or None)

    return _participant_action(request, db, principal, participant_id, _do, "Consent recorded.")


@router.post("/participants/{participant_id}/withdrawal")
def withdrawal_submit(request: Request, participant_id: str, level: str = Form(...), reason: str = Form(""),
                      principal: Principal = CONSENT, db: GmcSession = DB) -> Response:
    """Withdraws the participant at a level."""
    return _participant_action(
        request, db, principal, participant_id,
        lambda p: service.withdraw_participant(db, principal=principal, participant=p, level=level, reason=reason),
        "Withdrawal recorded: it applies everywhere from now.")


@router.post("/participants/{participant_id}/family")
def family_submit(request: Request, participant_id: str, relative_id: str = Form(""), relation: str = Form(""),
                  affected: str = Form("unknown"), principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Starts this participant's family, or adds a relative to it."""

    def _do(p: Participant) -> None:
        families = repository.families_of(db, p.id)
        family = families[0] if families else service.create_family(db, principal=principal, proband=p)
        if relative_id.strip():
            relative = service.view_participant(db, principal=principal, participant_id=relative_id.strip().upper(),
                                                audit=False)
            service.add_family_member(db, principal=principal, family=family, participant=relative,
                                      relation=relation, affected=affected)

    return _participant_action(request, db, principal, participant_id, _do, "Family updated.")


@router.get("/duplicates")
def duplicates_page(request: Request, msg: str = "", principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Likely duplicate pairs side by side, with merge and reject: filtered by band, sorted and paged."""
    state = ListState.from_query("/duplicates", request.query_params, sorts=list(_DUPLICATE_SORTS),
                                 default_sort="score", default_descending=True, filters=("band",))
    band = state.filters.get("band")
    candidates = [d for d in repository.open_duplicates(db, trust_scope=principal.trust_scope, limit=None)
                  if not band or d.band == band]
    page = paginate_list(candidates, state, _DUPLICATE_SORTS)
    pairs = []
    for d, a, b in service.duplicate_worklist(db, principal=principal, candidates=page.items):
        pairs.append({"id": d.id, "score": d.score, "band": d.band, "reasons": [r["reason"] for r in d.reasons],
                      "a": service.participant_detail(db, a), "b": service.participant_detail(db, b)})
    context: dict[str, Any] = {"pairs": pairs, "page": page, "filters": state.filters}
    if msg:
        context.update(message=msg, message_kind="ok")
    return render(request, "registry/duplicates.html", context)


_DUPLICATE_SORTS = {"score": lambda d: (d.score, -d.id), "found": lambda d: (d.created_at, d.id)}


@router.post("/duplicates/{candidate_id}")
def duplicate_decide(request: Request, candidate_id: int, action: str = Form(...), survivor: str = Form(""),
                     reason: str = Form(""), principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Merges a pair into the chosen survivor, or records that they are different people."""

    def _do() -> str:
        if not reason.strip():
            raise ValidationFailed("give a reason", field="reason")
        if action == "reject":
            service.reject_duplicate(db, principal=principal, candidate_id=candidate_id, reason=reason)
            return "Recorded as different people."
        dup = service.view_duplicate(db, principal=principal, candidate_id=candidate_id)
        a, b = db.get(Participant, dup.participant_a_id), db.get(Participant, dup.participant_b_id)
        keep, drop = (a, b) if a.participant_id == survivor else (b, a)
        service.merge(db, principal=principal, survivor=keep, merged=drop, reason=reason)
        return f"Merged {drop.participant_id} into {keep.participant_id}."

    done, error = _attempt(db, _do)
    if error is not None:
        return RedirectResponse(f"/duplicates?msg={quote('Not done: ' + error.message)}", status_code=303)
    return RedirectResponse(f"/duplicates?msg={quote(done)}", status_code=303)


@router.get("/link-requests")
def link_requests_page(request: Request, msg: str = "", status: str = "pending", principal: Principal = WRITE,
                       db: GmcSession = DB) -> Response:
    """Requests to link a registration to a record of another scope: yours to decide, and yours to follow."""
    shown = status if status in ("pending", "linked", "rejected", "registered_new") else "pending"
    rows = [service.link_request_view(db, principal, r)
            for r in service.link_requests_for(db, principal=principal, status=shown)]
    context: dict[str, Any] = {"rows": rows, "status": shown}
    if msg:
        context.update(message=msg, message_kind="ok")
    return render(request, "registry/link_requests.html", context)


@router.post("/link-requests/{request_id}")
def link_request_decide(request_id: int, action: str = Form(...), participant_id: str = Form(""),
                        reason: str = Form(""), principal: Principal = WRITE, db: GmcSession = DB) -> Response:
    """Approves (link to one of your records), rejects, or registers the person as new."""

    def _do() -> str:
        if action == "approve":
            service.approve_link_request(db, principal=principal, request_id=request_id,
                                         participant_id=participant_id, reason=reason)
            return f"Linked: {participant_id} is now registered at the requesting trust too."
        if action == "reject":
            service.reject_link_request(db, principal=principal, request_id=request_id, reason=reason)
            return "Recorded: none of your records is this person."
        if action == "register_new":
            row = service.register_new_from_request(db, principal=principal, request_id=request_id, reason=reason)
            return f"Registered as a new participant ({row.id})."
        raise ValidationFailed("choose approve, reject or register_new", field="action")

    done, error = _attempt(db, _do)
    text = done if error is None else f"Not done: {error.message}"
    return RedirectResponse(f"/link-requests?msg={quote(text)}", status_code=303)


@router.get("/reconsent")
def reconsent_page(request: Request, principal: Principal = CONSENT, db: GmcSession = DB) -> Response:
    """Children consented by a parent who have turned 16."""
    rows = [service.participant_summary(db, p) for p in service.reconsent_worklist(db, principal=principal)]
    return render(request, "registry/reconsent.html", {"rows": rows})


@router.get("/eligibility")
def eligibility_page(request: Request, msg: str = "", principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The active eligibility rules of each arm, their versions, and (for admins) editing."""
    _attempt(db, lambda: service.ensure_rule_sets(db, actor=principal.actor))
    context: dict[str, Any] = {"arms": {arm: repository.rule_sets(db, arm) for arm in eligibility.ARMS},
                               "structures": eligibility.FAMILY_STRUCTURES,
                               "can_edit": principal.has(Permission.USERS_MANAGE) and scope.is_national(principal)}
    if msg:
        context.update(message=msg, message_kind="ok")
    return render(request, "registry/eligibility.html", context)


@router.post("/eligibility/rare_disease/conditions")
def eligibility_condition_submit(request: Request, form_fields: FormFields, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                                       db: GmcSession = DB) -> Response:
    """Adds or removes an approved rare condition, publishing a new rules version."""
    form = form_fields
    name = str(form.get("name", "")).strip()
    action = str(form.get("action", "add"))
    structures = [str(s) for s in form.getlist("structures")]

    def _do() -> str:
        if not name:
            raise ValidationFailed("name the condition", field="name")
        current = repository.active_rule_set(db, "rare_disease")
        rules = dict(current.rules) if current else dict(eligibility.DEFAULT_RARE_RULES)
        conditions = dict(rules.get("conditions", {}))
        if action == "remove":
            if name not in conditions:
                raise NotFound(f"{name!r} is not on the list", field="name")
            del conditions[name]
        else:
            conditions[name] = structures
        service.publish_rules(db, actor=principal.actor, arm="rare_disease", rules={**rules, "conditions": conditions},
                              note=f"{action} {name}", principal=principal)
        return f"{'Removed' if action == 'remove' else 'Added'} {name}: new rules version published."

    done, error = _attempt(db, _do)
    text = done if error is None else f"Not changed: {error.message}"
    return RedirectResponse(f"/eligibility?msg={quote(text)}", status_code=303)
