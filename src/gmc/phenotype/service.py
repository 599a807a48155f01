"""Phenotype rules: HPO capture with guidance, diagnoses, pedigrees, phenopacket and CSV import/export.

Who sees what: a participant's phenotype is visible to national staff and to users of a trust where the
participant is referred (or registered). Every read of a profile or pedigree is audited; services never commit.

Phenopacket subjects are matched to participants by one rule, in order: (1) the subject id is a programme
participant id -> that participant (it must be in the caller's scope); (2) a phenopacket with the same id was
imported before -> the participant it went to; (3) otherwise a new participant is created (national users
only), without names or referral, with the subject id kept on the import record as a note and the
import's `created_participant` flag marking it referral-less until the registry adds a referral.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.common.time import utcnow
from gmc.phenotype import pedigree as ped
from gmc.phenotype import phenopackets as pp
from gmc.phenotype import repository
from gmc.phenotype.hpo_csv import HpoCsvError, parse_hpo_csv_text
from gmc.phenotype.models import (
    Diagnosis,
    PedigreeFamily,
    PedigreeMember,
    PhenopacketImport,
    PhenotypeObservation,
)
from gmc.phenotype.ontology import (
    LATERALITY_ID,
    ONSET_ID,
    PHENOTYPIC_ABNORMALITY_ID,
    SEVERITY_ID,
    Ontology,
    Term,
    UnknownTermError,
    get_ontology,
    normalise_id,
)
from gmc.registry.consent import ConsentAction, is_allowed
from gmc.registry.models import Family, FamilyMember, Participant

#: Clinical modifier subtree: severity, laterality, progression, temporal pattern and the rest.
CLINICAL_MODIFIER_ID = "HP:0012823"
DIAGNOSIS_STATUSES = ("suspected", "confirmed", "excluded")
CONSANGUINITY = ("yes", "no", "unknown")
TWIN_ZYGOSITY = ("monozygotic", "dizygotic", "unknown")
#: Disease code formats accepted for diagnoses.
DISEASE_CODE = {
    "OMIM": re.compile(r"^OMIM:\d{6}$"),
    "ORPHA": re.compile(r"^ORPHA:\d{1,7}$"),
    "MONDO": re.compile(r"^MONDO:\d{7}$"),
}
_GESTATIONAL = re.compile(r"^GA:(\d{1,2})w([0-6])d$")
_SEX_FROM_PHENOPACKET = {"MALE": "male", "FEMALE": "female", "OTHER_SEX": "other", "UNKNOWN_SEX": "unknown"}
SEX_TO_PHENOPACKET = {"male": "MALE", "female": "FEMALE", "other": "OTHER_SEX"}


class PhenotypeImportError(ValidationFailed):
    """An import (phenopackets, HPO CSV, PED) was refused; `problems` lists (where, field, message) for each."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str, str]], *, outside_scope: bool = False) -> None:
        self.source = source
        self.problems = list(problems)
        shown = "; ".join(f"{where}{f' {name}' if name else ''}: {message}"
                          for where, name, message in self.problems[:20])
        more = f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
        first_field = self.problems[0][1] if self.problems else None
        super().__init__(f"{source}: {len(self.problems)} problem(s), nothing was imported: {shown}{more}",
                         field=first_field or None)
        if outside_scope:
            # A file naming a record the caller may not see is refused as a whole, as the record itself would be.
            self.status_code = 404

    def to_dict(self) -> dict[str, object]:
        """The JSON error with every problem listed."""
        return {**super().to_dict(), "problems": [{"where": w, "field": f, "message": m} for w, f, m in self.problems]}


@dataclass(frozen=True)
class Caller:
    """Who acts and what they may see: a signed-in user, or the system (CLI, demo) with national scope."""

    actor: Actor
    #: Trust ids in scope; None is national.
    trust_scope: frozenset[int] | None
    #: May create participants for phenopacket subjects not yet in the registry.
    may_create_participants: bool = False

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        """The caller behind a web or API request."""
        return cls(principal.actor, principal.trust_scope,
                   principal.trust_scope is None and principal.has(Permission.PARTICIPANT_WRITE))

    @classmethod
    def system(cls, what: str) -> Caller:
        """gmc itself (a CLI command or the demo): national scope."""
        return cls(Actor.system(what), None, True)


# -- terms ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedTerm:
    """A validated phenotype term, with a sentence when the given id was replaced."""

    term: Term
    warning: str | None = None


def resolve_phenotype_term(term_id: str, *, field: str = "hpo_id", ontology: Ontology | None = None) -> ResolvedTerm:
    """The current phenotypic-abnormality term for an id; malformed, unknown or non-phenotype ids are refused."""
    ontology = ontology or get_ontology()
    try:
        resolution = ontology.resolve(term_id)
        current = ontology.current_id(resolution.term.id)
    except UnknownTermError as exc:
        raise ValidationFailed(f"{exc} (HPO {ontology.release})", field=field) from exc
    term = ontology.terms[current]
    if not ontology.is_a(current, PHENOTYPIC_ABNORMALITY_ID):
        raise ValidationFailed(f"{current} ({term.name}) is not a phenotypic abnormality; record onset and modifiers "
                               "in their own fields", field=field)
    warning = str(resolution.warning) if resolution.warning else None
    return ResolvedTerm(term, warning)


def _term_under(term_id: str, root: str, what: str, field: str, ontology: Ontology) -> str:
    """The current id of a term that must lie under a root (an onset, severity or modifier)."""
    try:
        current = ontology.current_id(term_id)
    except UnknownTermError as exc:
        raise ValidationFailed(str(exc), field=field) from exc
    if not ontology.is_a(current, root):
        raise ValidationFailed(f"{current} ({ontology.terms[current].name}) is not {what}", field=field)
    return current


def check_onset(onset: str | None, ontology: Ontology | None = None, *, field: str = "onset") -> str | None:
    """An onset as stored: an HPO onset term id, an ISO 8601 age or GA:<weeks>w<days>d; bad values are refused."""
    if onset is None or not onset.strip():
        return None
    value = onset.strip()
    if value.upper().startswith("HP:") or value.upper().startswith("HP_"):
        return _term_under(value, ONSET_ID, "an age-of-onset term (under HP:0003674)", field, ontology or get_ontology())
    if pp.ISO8601_DURATION.match(value) or _GESTATIONAL.match(value):
        return value
    raise ValidationFailed(f"onset {value!r} is neither an HPO onset term, an ISO 8601 age such as P3Y6M, "
                           "nor a gestational age such as GA:32w4d", field=field)


def onset_label(onset: str | None, ontology: Ontology | None = None) -> str:
    """A readable onset: the term's label, the ISO age, or the gestational age."""
    if not onset:
        return ""
    if onset.startswith("HP:"):
        ontology = ontology or get_ontology()
        return ontology.terms[onset].name if onset in ontology.terms else onset
    match = _GESTATIONAL.match(onset)
    if match:
        return f"gestational age {match.group(1)} weeks {match.group(2)} days"
    return f"age {onset}"


# -- profiles ------------------------------------------------------------------------------------------------


@dataclass
class Guidance:
    """Advice shown with every profile: redundant terms, contradictions and whether it carries enough information."""

    #: (term, ancestor) pairs both in the observed profile, with labels.
    redundant_pairs: list[dict[str, str]] = field(default_factory=list)
    #: Observed terms below an excluded term (the exclusion contradicts them).
    contradictions: list[dict[str, str]] = field(default_factory=list)
    total_information: float = 0.0
    is_informative: bool = False
    advice: str = ""
    #: Terms left out of the guidance (not in the HPO release in use).
    not_in_release: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """Sentences for the capture page."""
        out = []
        if not self.is_informative:
            out.append(self.advice)
        for pair in self.redundant_pairs:
            out.append(f"{pair['term']} {pair['term_label']} already implies {pair['ancestor']} "
                       f"{pair['ancestor_label']}: remove the broader term")
        for item in self.contradictions:
            out.append(f"{item['observed']} {item['observed_label']} is observed but {item['excluded']} "
                       f"{item['excluded_label']} is excluded")
        for term_id in self.not_in_release:
            out.append(f"{term_id} is not in HPO {get_ontology().release}: kept as recorded, left out of scoring")
        return out


def guidance_for(observed: Iterable[str], excluded: Iterable[str] = (), ontology: Ontology | None = None) -> Guidance:
    """Guidance on a profile of current HPO ids (terms outside the release are listed, not scored)."""
    from gmc.phenotype.profile import profile_information_content

    ontology = ontology or get_ontology()
    known_observed, unknown = [], []
    for term_id in dict.fromkeys(observed):
        (known_observed if term_id in ontology.terms else unknown).append(term_id)
    known_excluded = [t for t in dict.fromkeys(excluded) if t in ontology.terms]
    info = profile_information_content(known_observed, ontology=ontology)
    name = ontology.terms

    def label(term_id: str) -> str:
        return name[term_id].name if term_id in name else term_id

    contradictions = [
        {"observed": o, "observed_label": label(o), "excluded": e, "excluded_label": label(e)}
        for o in known_observed for e in known_excluded if ontology.is_a(o, e)
    ]
    return Guidance(
        redundant_pairs=[{"term": t, "term_label": label(t), "ancestor": a, "ancestor_label": label(a)}
                         for t, a in info.redundant_pairs],
        contradictions=contradictions,
        total_information=info.total_information,
        is_informative=info.is_informative,
        advice=info.advice,
        not_in_release=unknown,
    )


@dataclass
class Profile:
    """A participant's phenotype as a page or the API shows it."""

    participant: Participant
    observations: list[PhenotypeObservation]
    diagnoses: list[Diagnosis]
    guidance: Guidance
    hpo_release: str
    consent: str
    #: Removed observations (history), newest removal last; filled when asked.
    removed: list[PhenotypeObservation] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    imports: list[PhenopacketImport] = field(default_factory=list)


def _audit_trust(session: Session, participant: Participant, caller: Caller) -> int | None:
    """The trust an event about this participant is filed under: one in the caller's scope when possible."""
    trusts = repository.participant_trust_ids(session, participant.id)
    if caller.trust_scope is not None:
        trusts &= caller.trust_scope
    return min(trusts) if trusts else None


def find_participant(session: Session, caller: Caller, participant_id: str) -> Participant:
    """The visible participant with this programme id (a merged record leads to its survivor)."""
    participant = repository.get_participant(session, participant_id, caller.trust_scope)
    if participant is None:
        raise NotFound(f"no participant {participant_id} within your trusts", field="participant_id")
    seen = {participant.id}
    while participant.merged_into_id is not None and participant.merged_into_id not in seen:
        seen.add(participant.merged_into_id)
        participant = session.get(Participant, participant.merged_into_id)  # type: ignore[assignment]
    return participant


def _consent_label(session: Session, participant: Participant) -> str:
    decision = is_allowed(session, participant.id, ConsentAction.INTERPRET)
    return "consented" if decision.allowed else decision.reason


def ensure_use_allowed(session: Session, participant: Participant) -> None:
    """Refuses new phenotype data or exports when the participant's recorded consent forbids their use.

    Phenotype is often captured before the consent form is filed, so "no consent recorded" is shown, not refused;
    a withdrawal from further use or a refusal to take part stops it.
    """
    decision = is_allowed(session, participant.id, ConsentAction.INTERPRET)
    if not decision.allowed and decision.consent_id is not None:
        raise PermissionDenied(f"participant {participant.participant_id}: {decision.reason}", field="participant_id")


def get_profile(session: Session, caller: Caller, participant_id: str, *, include_removed: bool = False,
                audit: bool = True) -> Profile:
    """A participant's observations, diagnoses and guidance; the read is audited."""
    participant = find_participant(session, caller, participant_id)
    rows = list(repository.observations(session, participant.id, include_removed=include_removed))
    active = [o for o in rows if o.removed_at is None]
    guidance = guidance_for([o.hpo_id for o in active if not o.excluded], [o.hpo_id for o in active if o.excluded])
    if audit:
        record(session, actor=caller.actor, verb=AuditVerb.READ, entity_type="phenotype_profile",
               entity_id=participant.participant_id, trust_id=_audit_trust(session, participant, caller),
               summary={"observations": len(active)})
    return Profile(
        participant=participant, observations=active, diagnoses=list(repository.diagnoses(session, participant.id)),
        guidance=guidance, hpo_release=get_ontology().release, consent=_consent_label(session, participant),
        removed=[o for o in rows if o.removed_at is not None], families=list(repository.families_of(session, participant.id)),
        imports=list(repository.imports_of(session, participant.id)),
    )


@dataclass(frozen=True)
class ObservationInput:
    """One term to capture, as a form or the API sends it."""

    hpo_id: str
    excluded: bool = False
    onset: str | None = None
    severity: str | None = None
    laterality: str | None = None
    modifiers: tuple[str, ...] = ()
    note: str = ""


@dataclass
class CaptureResult:
    """The stored observation and what the user should be told about it."""

    observation: PhenotypeObservation
    warnings: list[str]
    guidance: Guidance


def _build_observation(participant: Participant, data: ObservationInput, *, actor: Actor, source: str,
                       ontology: Ontology, field_prefix: str = "") -> tuple[PhenotypeObservation, list[str]]:
    """Validates one input term and builds its row (not yet added)."""
    resolved = resolve_phenotype_term(data.hpo_id, field=f"{field_prefix}hpo_id", ontology=ontology)
    if data.excluded and data.onset:
        raise ValidationFailed("an excluded term has no onset", field=f"{field_prefix}onset")
    onset = check_onset(data.onset, ontology, field=f"{field_prefix}onset")
    severity = (_term_under(data.severity, SEVERITY_ID, "a severity (under HP:0012824)", f"{field_prefix}severity",
                            ontology) if data.severity else None)
    laterality = (_term_under(data.laterality, LATERALITY_ID, "a laterality (under HP:0012831)",
                              f"{field_prefix}laterality", ontology) if data.laterality else None)
    modifiers = [_term_under(m, CLINICAL_MODIFIER_ID, "a clinical modifier (under HP:0012823)",
                             f"{field_prefix}modifiers", ontology) for m in data.modifiers if m]
    row = PhenotypeObservation(
        participant_id=participant.id, hpo_id=resolved.term.id, label=resolved.term.name,
        requested_id=normalise_id(data.hpo_id) if resolved.warning else None, in_release=True, excluded=data.excluded, onset=onset,
        severity=severity, laterality=laterality, modifiers=list(dict.fromkeys(modifiers)), note=data.note.strip(),
        source=source, hpo_release=ontology.release, recorded_by=actor.name, recorded_at=utcnow(),
    )
    return row, [resolved.warning] if resolved.warning else []


@dataclass(frozen=True)
class _Clash:
    """Why a term cannot join a profile: a duplicate (same status) or the opposite status."""

    duplicate: bool
    message: str


def _clash(active: Iterable[PhenotypeObservation], hpo_id: str, excluded: bool) -> _Clash | None:
    """Whether the term is already in the profile, with the same or the opposite status."""
    for existing in active:
        if existing.hpo_id == hpo_id:
            if existing.excluded == excluded:
                return _Clash(True, f"{hpo_id} {existing.label} is already in the profile as "
                                    f"{'excluded' if excluded else 'observed'}")
            return _Clash(False, f"{hpo_id} {existing.label} is already recorded as "
                                 f"{'excluded' if existing.excluded else 'observed'}; remove it first")
    return None


def add_observation(session: Session, caller: Caller, participant_id: str, data: ObservationInput, *,
                    source: str = "capture") -> CaptureResult:
    """Captures one observed or excluded term (an obsolete id is stored as its replacement, with a warning)."""
    participant = find_participant(session, caller, participant_id)
    ensure_use_allowed(session, participant)
    ontology = get_ontology()
    row, warnings = _build_observation(participant, data, actor=caller.actor, source=source, ontology=ontology)
    active = list(repository.observations(session, participant.id))
    clash = _clash(active, row.hpo_id, row.excluded)
    if clash:
        raise Conflict(clash.message, field="hpo_id")
    session.add(row)
    session.flush()
    record(session, actor=caller.actor, verb=AuditVerb.CREATE, entity_type="phenotype_observation", entity_id=row.id,
           trust_id=_audit_trust(session, participant, caller),
           summary={"participant": participant.participant_id, "hpo_id": row.hpo_id, "excluded": row.excluded,
                    "requested_id": row.requested_id, "source": source})
    active.append(row)
    guidance = guidance_for([o.hpo_id for o in active if not o.excluded], [o.hpo_id for o in active if o.excluded])
    return CaptureResult(row, warnings, guidance)


def remove_observation(session: Session, caller: Caller, participant_id: str, observation_id: int,
                       reason: str = "") -> PhenotypeObservation:
    """Removes a term from the profile; the row stays as history and the removal is audited."""
    participant = find_participant(session, caller, participant_id)
    row = repository.get_observation(session, participant.id, observation_id)
    if row is None:
        raise NotFound(f"participant {participant_id} has no observation {observation_id}", field="observation_id")
    if row.removed_at is not None:
        raise Conflict(f"{row.hpo_id} {row.label} was already removed", field="observation_id")
    row.removed_at = utcnow()
    row.removed_by = caller.actor.name
    row.removal_reason = reason.strip() or None
    record(session, actor=caller.actor, verb=AuditVerb.DELETE, entity_type="phenotype_observation", entity_id=row.id,
           trust_id=_audit_trust(session, participant, caller),
           summary={"participant": participant.participant_id, "hpo_id": row.hpo_id, "reason": reason.strip()})
    return row


# -- diagnoses -----------------------------------------------------------------------------------------------


def check_disease_code(code: str, *, field: str = "code") -> str:
    """A disease code normalised (OMIM:nnnnnn, ORPHA:n, MONDO:nnnnnnn); anything else is refused naming it."""
    value = code.strip()
    prefix, _, local = value.partition(":")
    canonical = f"{prefix.upper()}:{local.strip()}" if local else value
    if prefix.upper() == "ORPHANET":
        canonical = f"ORPHA:{local.strip()}"
    pattern = DISEASE_CODE.get(canonical.split(":", 1)[0])
    if pattern is None or not pattern.match(canonical):
        raise ValidationFailed(f"{code!r} is not a disease code such as OMIM:154700, ORPHA:558 or MONDO:0007947",
                               field=field)
    return canonical


def add_diagnosis(session: Session, caller: Caller, participant_id: str, *, code: str, label: str = "",
                  status: str = "suspected", note: str = "") -> Diagnosis:
    """Records a suspected, confirmed or excluded diagnosis (one active entry per disease code)."""
    participant = find_participant(session, caller, participant_id)
    ensure_use_allowed(session, participant)
    canonical = check_disease_code(code)
    if status not in DIAGNOSIS_STATUSES:
        raise ValidationFailed(f"status {status!r} is not one of {', '.join(DIAGNOSIS_STATUSES)}", field="status")
    for existing in repository.diagnoses(session, participant.id):
        if existing.code == canonical:
            raise Conflict(f"{canonical} is already recorded as {existing.status}; change its status instead",
                           field="code")
    row = Diagnosis(participant_id=participant.id, code=canonical, label=label.strip(), status=status,
                    note=note.strip(), recorded_by=caller.actor.name, recorded_at=utcnow())
    session.add(row)
    session.flush()
    record(session, actor=caller.actor, verb=AuditVerb.CREATE, entity_type="phenotype_diagnosis", entity_id=row.id,
           trust_id=_audit_trust(session, participant, caller),
           summary={"participant": participant.participant_id, "code": canonical, "status": status})
    return row


def update_diagnosis(session: Session, caller: Caller, participant_id: str, diagnosis_id: int, *,
                     status: str | None = None, remove: bool = False) -> Diagnosis:
    """Changes a diagnosis's status, or removes it (kept as history); audited with before and after."""
    participant = find_participant(session, caller, participant_id)
    row = repository.get_diagnosis(session, participant.id, diagnosis_id)
    if row is None or row.removed_at is not None:
        raise NotFound(f"participant {participant_id} has no diagnosis {diagnosis_id}", field="diagnosis_id")
    before = row.status
    if remove:
        row.removed_at, row.removed_by = utcnow(), caller.actor.name
        verb = AuditVerb.DELETE
    else:
        if status not in DIAGNOSIS_STATUSES:
            raise ValidationFailed(f"status {status!r} is not one of {', '.join(DIAGNOSIS_STATUSES)}", field="status")
        ensure_use_allowed(session, participant)
        row.status = status
        verb = AuditVerb.UPDATE
    record(session, actor=caller.actor, verb=verb, entity_type="phenotype_diagnosis", entity_id=row.id,
           trust_id=_audit_trust(session, participant, caller),
           summary={"participant": participant.participant_id, "code": row.code,
                    "status": [before, "removed" if remove else row.status]})
    return row


# -- phenopackets --------------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import did."""

    files: int = 0
    participants_matched: int = 0
    participants_created: int = 0
    observations: int = 0
    excluded: int = 0
    skipped_duplicates: int = 0
    diagnoses: int = 0
    warnings: list[str] = field(default_factory=list)
    #: Phenopacket id -> programme participant id it went to.
    mapping: dict[str, str] = field(default_factory=dict)


def _feature_input(feature: pp.PhenotypicFeature, path: str, ontology: Ontology,
                   problems: list[tuple[str, str, str]], source: str) -> tuple[dict[str, Any], list[str]] | None:
    """The columns of one imported feature, or None after recording its problems."""
    warnings: list[str] = []
    term_id = feature.type.id
    values: dict[str, Any] = {"excluded": feature.excluded, "note": feature.description, "in_release": True,
                              "requested_id": None}
    if term_id in ontology:
        try:
            resolved = resolve_phenotype_term(term_id, ontology=ontology)
        except ValidationFailed as exc:
            problems.append((source, f"{path}.type.id", exc.message))
            return None
        values.update(hpo_id=resolved.term.id, label=resolved.term.name)
        if resolved.warning:
            values["requested_id"] = term_id
            warnings.append(f"{source}: {resolved.warning}")
    else:
        # A well-formed id from a newer release: keep the clinician's term, flagged and left out of scoring.
        values.update(hpo_id=term_id, label=feature.type.label or term_id, in_release=False)
        warnings.append(f"{source}: {term_id} is not in HPO {ontology.release}; kept as recorded")
    onset = feature.onset
    values["onset"] = None
    if onset is not None:
        try:
            if onset.ontology_class is not None:
                values["onset"] = check_onset(onset.ontology_class.id, ontology, field=f"{path}.onset")
            elif onset.age:
                values["onset"] = check_onset(onset.age, ontology, field=f"{path}.onset")
            elif onset.gestational_age:
                values["onset"] = f"GA:{onset.gestational_age[0]}w{onset.gestational_age[1]}d"
            else:
                warnings.append(f"{source}: {path}.onset is a range or timestamp; not stored")
        except ValidationFailed as exc:
            problems.append((source, f"{path}.onset", exc.message))
            return None
    values["severity"] = None
    values["laterality"] = None
    modifiers: list[str] = []
    try:
        if feature.severity is not None:
            values["severity"] = _term_under(feature.severity.id, SEVERITY_ID, "a severity", f"{path}.severity",
                                             ontology)
        for index, modifier in enumerate(feature.modifiers):
            current = _term_under(modifier.id, CLINICAL_MODIFIER_ID, "a clinical modifier",
                                  f"{path}.modifiers[{index}]", ontology)
            if ontology.is_a(current, LATERALITY_ID) and values["laterality"] is None:
                values["laterality"] = current
            else:
                modifiers.append(current)
    except ValidationFailed as exc:
        problems.append((source, exc.field or path, exc.message))
        return None
    values["modifiers"] = modifiers
    return values, warnings


def _new_programme_ids(session: Session, count: int) -> list[str]:
    """Fresh programme participant ids in the registry's format (P and 8 digits)."""
    found: list[str] = []
    while len(found) < count:
        batch = {f"P{secrets.randbelow(10**8):08d}" for _ in range(count - len(found))} - set(found)
        found.extend(sorted(batch - repository.programme_ids_taken(session, batch)))
    return found


def import_phenopackets(session: Session, caller: Caller, packets: Sequence[tuple[str, pp.PhenopacketData]], *,
                        progress: Callable[[int], None] | None = None, source_kind: str = "phenopacket") -> ImportSummary:
    """Imports parsed phenopackets all-or-nothing: every problem of every packet is listed and nothing is written."""
    ontology = get_ontology()
    problems: list[tuple[str, str, str]] = []
    summary = ImportSummary(files=len(packets))
    subject_ids = [data.subject.id for _, data in packets if data.subject is not None]
    by_programme_id = repository.participants_by_programme_ids(session, subject_ids, caller.trust_scope)
    hidden = set(subject_ids) - set(by_programme_id)
    # A programme id outside the caller's scope must not be silently duplicated as a new person.
    outside = {pid for pid in hidden if repository.get_participant_any_scope(session, pid) is not None}
    previous = repository.participants_of_imports(session, [data.id for _, data in packets])
    prior_pks = set(previous.values())
    prior = repository.participants_by_pk(session, prior_pks)
    plans: list[dict[str, Any]] = []
    seen_packets: dict[str, str] = {}
    outside_scope = False
    for source, data in packets:
        if data.id in seen_packets:
            problems.append((source, "id", f"phenopacket {data.id!r} is also in {seen_packets[data.id]}"))
            continue
        seen_packets[data.id] = source
        if data.subject is None or not data.subject.id:
            problems.append((source, "subject.id", "the phenopacket has no subject to attach the phenotype to"))
            continue
        subject_id = data.subject.id
        participant: Participant | None = None
        if subject_id in outside:
            problems.append((source, "subject.id", f"no participant {subject_id} at your trusts"))
            outside_scope = True
            continue
        if subject_id in by_programme_id:
            participant = by_programme_id[subject_id]
        elif data.id in previous:
            participant = prior.get(previous[data.id])
            if participant is None or (caller.trust_scope is not None and participant.participant_id
                                       not in repository.participants_by_programme_ids(
                                           session, [participant.participant_id], caller.trust_scope)):
                problems.append((source, "id", f"phenopacket {data.id!r} went to a participant outside your trusts"))
                outside_scope = True
                continue
        elif not caller.may_create_participants:
            problems.append((source, "subject.id", f"{subject_id!r} is not a programme participant id, and only "
                             "national users with participant:write may create participants from phenopackets"))
            continue
        if participant is not None:
            try:
                ensure_use_allowed(session, participant)
            except PermissionDenied as exc:
                problems.append((source, "subject.id", exc.message))
                continue
        features, warnings = [], []
        for index, feature in enumerate(data.phenotypic_features):
            built = _feature_input(feature, f"phenotypicFeatures[{index}]", ontology, problems, source)
            if built is not None:
                features.append(built[0])
                warnings.extend(built[1])
        diseases = []
        solved = {i.diagnosis_disease.id for i in data.interpretations
                  if i.diagnosis_disease is not None and i.progress_status == "SOLVED"}
        for index, disease in enumerate(data.diseases):
            try:
                code = check_disease_code(disease.term.id, field=f"diseases[{index}].term.id")
            except ValidationFailed as exc:
                problems.append((source, exc.field or "", exc.message))
                continue
            status = "excluded" if disease.excluded else ("confirmed" if disease.term.id in solved else "suspected")
            diseases.append((code, disease.term.label, status))
        hpo_versions = [r.version for r in (data.meta_data.resources if data.meta_data else ()) if r.id == "hp"]
        plans.append({"source": source, "data": data, "participant": participant, "features": features,
                      "diseases": diseases, "warnings": warnings, "hpo_version": hpo_versions[0] if hpo_versions else ""})
    if problems:
        raise PhenotypeImportError(f"{len(packets)} phenopacket(s)", problems, outside_scope=outside_scope)
    # Existing profiles, for duplicate and contradiction checks against what is already stored.
    known_pks = [p["participant"].id for p in plans if p["participant"] is not None]
    active = repository.active_observations_of(session, known_pks)
    active_dx = repository.active_diagnosis_codes(session, set(known_pks))
    for plan in plans:
        pk = plan["participant"].id if plan["participant"] is not None else None
        existing = active.get(pk, []) if pk is not None else []
        kept = []
        for index, values in enumerate(plan["features"]):
            clash = _clash(existing, values["hpo_id"], values["excluded"])
            same_in_packet = [v for v in kept if v["hpo_id"] == values["hpo_id"]]
            if (clash and clash.duplicate) or any(v["excluded"] == values["excluded"] for v in same_in_packet):
                summary.skipped_duplicates += 1
                continue
            if clash or same_in_packet:
                problems.append((plan["source"], f"phenotypicFeatures[{index}]",
                                 clash.message if clash else f"{values['hpo_id']} is both observed and excluded"))
                continue
            kept.append(values)
        plan["features"] = kept
        plan["diseases"] = [d for d in plan["diseases"] if d[0] not in active_dx.get(pk, set())]
    if problems:
        raise PhenotypeImportError(f"{len(packets)} phenopacket(s)", problems)

    now = utcnow()
    to_create = [p for p in plans if p["participant"] is None]
    new_ids = iter(_new_programme_ids(session, len(to_create)))
    for plan in to_create:
        subject = plan["data"].subject
        participant = Participant(participant_id=next(new_ids), family_name="", given_name="",
                                  sex=_SEX_FROM_PHENOPACKET.get(subject.sex, "unknown"),
                                  date_of_birth=_date_or_none(subject.date_of_birth), created_at=now, updated_at=now)
        session.add(participant)
        plan["participant"] = participant
        plan["created"] = True
    if to_create:
        session.flush()
    # Thousands of terms: one executemany insert instead of an ORM object each.
    observation_rows: list[dict[str, Any]] = []
    for plan in plans:
        participant, data = plan["participant"], plan["data"]
        created = plan.get("created", False)
        if created:
            summary.participants_created += 1
            record(session, actor=caller.actor, verb=AuditVerb.CREATE, entity_type="participant",
                   entity_id=participant.id, summary={"source": "phenopacket", "phenopacket_id": data.id,
                                                      "referral": None})
        else:
            summary.participants_matched += 1
        for values in plan["features"]:
            observation_rows.append({"participant_id": participant.id, "source": source_kind,
                                     "hpo_release": ontology.release, "recorded_by": caller.actor.name,
                                     "recorded_at": now, **values})
            summary.observations += 1
            summary.excluded += values["excluded"]
        for code, label, status in plan["diseases"]:
            session.add(Diagnosis(participant_id=participant.id, code=code, label=label, status=status, note="",
                                  recorded_by=caller.actor.name, recorded_at=now))
            summary.diagnoses += 1
        interpretations = []
        if data.interpretations:
            interpretations = pp.write_phenopacket(pp.PhenopacketData(
                id=data.id, interpretations=data.interpretations, meta_data=data.meta_data))["interpretations"]
        counts = {"observations": len(plan["features"]), "diagnoses": len(plan["diseases"]),
                  "warnings": len(plan["warnings"])}
        session.add(PhenopacketImport(
            phenopacket_id=data.id, participant_id=participant.id, subject_id=data.subject.id,
            created_participant=created, source=plan["source"][-500:], source_hpo_version=plan["hpo_version"],
            interpretations=interpretations, summary={**counts, "warning_list": plan["warnings"][:50]},
            imported_by=caller.actor.name, imported_at=now))
        record(session, actor=caller.actor, verb=AuditVerb.IMPORT, entity_type="phenotype_profile",
               entity_id=participant.participant_id,
               trust_id=None if created else _audit_trust(session, participant, caller),
               summary={"phenopacket_id": data.id, "created_participant": created, **counts})
        summary.warnings.extend(plan["warnings"])
        summary.mapping[data.id] = participant.participant_id
        if progress is not None:
            progress(1)
    if observation_rows:
        session.execute(insert(PhenotypeObservation), observation_rows)
    session.flush()
    return summary


def _date_or_none(value: str | None) -> date | None:
    """The date part of an RFC 3339 timestamp, or None."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def import_phenopacket_json(session: Session, caller: Caller, document: dict[str, Any] | str,
                            source: str = "api") -> ImportSummary:
    """Reads, validates and imports one phenopacket document (errors name the JSON element)."""
    try:
        data = pp.read_phenopacket(document)
    except pp.PhenopacketError as exc:
        raise PhenotypeImportError(source, [(source, path, message) for path, message in exc.problems]) from exc
    return import_phenopackets(session, caller, [(source, data)])


def onset_time_element(onset: str | None, ontology: Ontology) -> pp.TimeElement | None:
    """A stored onset (HPO onset term, GA:NNwNd or ISO 8601 age) as a phenopacket time element."""
    if not onset:
        return None
    if onset.startswith("HP:"):
        return pp.TimeElement(ontology_class=pp.OntologyTerm(onset, onset_label(onset, ontology)))
    match = _GESTATIONAL.match(onset)
    if match:
        return pp.TimeElement(gestational_age=(int(match.group(1)), int(match.group(2))))
    return pp.TimeElement(age=onset)


def _renamed_subject(value: Any, old: str, new: str) -> Any:
    """Stored interpretation JSON with the imported subject id replaced by the programme id the export uses."""
    if isinstance(value, dict):
        return {k: (new if k == "subjectOrBiosampleId" and v == old else _renamed_subject(v, old, new))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed_subject(v, old, new) for v in value]
    return value


def export_phenopacket(session: Session, caller: Caller, participant_id: str) -> dict[str, Any]:
    """The participant as a v2 phenopacket: subject, features (excluded too), diseases, interpretations, metaData."""
    participant = find_participant(session, caller, participant_id)
    ensure_use_allowed(session, participant)
    ontology = get_ontology()

    def term(term_id: str) -> pp.OntologyTerm:
        return pp.OntologyTerm(term_id, ontology.terms[term_id].name if term_id in ontology.terms else term_id)

    features = tuple(
        pp.PhenotypicFeature(
            type=pp.OntologyTerm(o.hpo_id, o.label), excluded=o.excluded, description=o.note,
            severity=term(o.severity) if o.severity else None,
            modifiers=tuple(term(m) for m in ([o.laterality] if o.laterality else []) + list(o.modifiers)),
            onset=onset_time_element(o.onset, ontology),
        )
        for o in repository.observations(session, participant.id)
    )
    diseases = tuple(pp.Disease(term=pp.OntologyTerm(d.code, d.label), excluded=d.status == "excluded")
                     for d in repository.diagnoses(session, participant.id))
    imports = repository.imports_of(session, participant.id)
    interpretations = [_renamed_subject(i, imp.subject_id, participant.participant_id)
                       for imp in imports for i in imp.interpretations]
    vital = pp.VitalStatus(status="DECEASED") if participant.date_of_death else None
    subject = pp.Subject(id=participant.participant_id, sex=SEX_TO_PHENOPACKET.get(participant.sex, "UNKNOWN_SEX"),
                         vital_status=vital, taxonomy=pp.OntologyTerm("NCBITaxon:9606", "homo sapiens"))
    meta = pp.MetaData(created=utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), created_by=f"gmc ({caller.actor.name})")
    data = pp.PhenopacketData(id=participant.participant_id, subject=subject, phenotypic_features=features,
                              diseases=diseases, meta_data=meta)
    document = pp.write_phenopacket(data, resources=[pp.hpo_resource(ontology.release)])
    if interpretations:
        document["interpretations"] = interpretations
        # The stored interpretations were valid when imported; check the assembled document all the same.
        pp.read_phenopacket(document)
    record(session, actor=caller.actor, verb=AuditVerb.EXPORT, entity_type="phenotype_profile",
           entity_id=participant.participant_id, trust_id=_audit_trust(session, participant, caller),
           summary={"format": "phenopacket", "features": len(features), "diseases": len(diseases)})
    return document


# -- bulk HPO CSV --------------------------------------------------------------------------------------------


def import_hpo_csv(session: Session, caller: Caller, text: str, *, source: str = "upload.csv") -> ImportSummary:
    """Adds every row of an HPO CSV, or nothing: each bad row is reported with its line and column."""
    ontology = get_ontology()
    try:
        rows = parse_hpo_csv_text(text, known_term=lambda t: t in ontology, source=source)
    except HpoCsvError as exc:
        raise PhenotypeImportError(source, [(f"line {line}", name, message) for line, name, message in exc.problems]) \
            from exc
    participants = repository.participants_by_programme_ids(session, [r.participant_id for r in rows],
                                                            caller.trust_scope)
    active = repository.active_observations_of(session, [p.id for p in participants.values()])
    problems: list[tuple[str, str, str]] = []
    outside_scope = False
    built: list[tuple[Participant, PhenotypeObservation]] = []
    summary = ImportSummary(files=1)
    for row in rows:
        where = f"line {row.line}"
        participant = participants.get(row.participant_id)
        if participant is None:
            problems.append((where, "participant_id", f"no participant {row.participant_id} within your trusts"))
            outside_scope = True
            continue
        try:
            ensure_use_allowed(session, participant)
            observation, warnings = _build_observation(
                participant, ObservationInput(row.term_id, row.excluded, row.onset, note=row.notes),
                actor=caller.actor, source="csv", ontology=ontology)
        except (ValidationFailed, PermissionDenied) as exc:
            problems.append((where, "term_id" if exc.field == "hpo_id" else (exc.field or ""), exc.message))
            continue
        clash = _clash(active[participant.id], observation.hpo_id, observation.excluded)
        if clash and clash.duplicate:
            summary.skipped_duplicates += 1
            continue
        if clash:
            problems.append((where, "term_id", clash.message))
            continue
        summary.warnings.extend(f"{where}: {w}" for w in warnings)
        built.append((participant, observation))
    if problems:
        raise PhenotypeImportError(source, problems, outside_scope=outside_scope)
    per_participant: dict[str, int] = {}
    for participant, observation in built:
        session.add(observation)
        per_participant[participant.participant_id] = per_participant.get(participant.participant_id, 0) + 1
        summary.observations += 1
        summary.excluded += observation.excluded
    session.flush()
    for participant_id, count in sorted(per_participant.items()):
        participant = participants[participant_id]
        record(session, actor=caller.actor, verb=AuditVerb.IMPORT, entity_type="phenotype_profile",
               entity_id=participant_id, trust_id=_audit_trust(session, participant, caller),
               summary={"format": "hpo_csv", "source": source, "observations": count})
        summary.mapping[participant_id] = participant_id
    summary.participants_matched = len(per_participant)
    return summary


# -- pedigrees -----------------------------------------------------------------------------------------------


@dataclass
class PedigreeView:
    """A family's pedigree as the family page shows it."""

    family: Family
    #: The validated pedigree (None when nothing can be drawn yet).
    pedigree: ped.Pedigree | None
    svg: str
    #: True when drawn from the registry's family members because no PED was imported.
    derived: bool
    consanguinity: str
    #: Couples the pedigree shows to share an ancestor.
    consanguineous_couples: list[tuple[str, str]]
    members: list[PedigreeMember]
    #: Pedigree label -> relationship to the proband.
    relationships: dict[str, str]
    #: Pedigree label -> programme participant id (participants only).
    participants: dict[str, str]
    proband: str | None
    #: Pedigree labels of individuals known to have died.
    deceased: set[str] = field(default_factory=set)
    problem: str = ""


def find_family(session: Session, caller: Caller, family_id: str) -> Family:
    """The visible family with this programme family id."""
    family = repository.get_family(session, family_id)
    if family is None or not repository.family_visible(session, family, caller.trust_scope):
        raise NotFound(f"no family {family_id} within your trusts", field="family_id")
    return family


def _registry_pedigree(session: Session, family: Family) -> tuple[list[ped.Individual], dict[str, str]]:
    """Individuals derived from the registry's family members: the proband's parents, siblings and children."""
    people = repository.participants_by_pk(session, [m.participant_id for m in family.members])
    label = {m.participant_id: people[m.participant_id].participant_id for m in family.members}
    by_relation: dict[str, list[FamilyMember]] = {}
    for member in family.members:
        by_relation.setdefault(member.relation, []).append(member)
    father = by_relation.get("father", [None])[0]
    mother = by_relation.get("mother", [None])[0]
    proband = (by_relation.get("proband") or [None])[0]
    individuals = []
    for member in family.members:
        person = people[member.participant_id]
        sex = person.sex if person.sex in (ped.MALE, ped.FEMALE) else ped.UNKNOWN_SEX
        father_id = mother_id = None
        if member.relation in ("proband", "sibling"):
            father_id = label[father.participant_id] if father else None
            mother_id = label[mother.participant_id] if mother else None
        elif member.relation == "child" and proband is not None:
            proband_sex = people[proband.participant_id].sex
            if proband_sex == ped.MALE:
                father_id = label[proband.participant_id]
            elif proband_sex == ped.FEMALE:
                mother_id = label[proband.participant_id]
        individuals.append(ped.Individual(family.family_id, label[member.participant_id], father_id, mother_id, sex,
                                          member.affected if member.affected in (ped.AFFECTED, ped.UNAFFECTED)
                                          else ped.UNKNOWN_PHENOTYPE))
    return individuals, {v: v for v in label.values()}


def get_pedigree(session: Session, caller: Caller, family_id: str, *, audit: bool = True) -> PedigreeView:
    """The family's pedigree (imported PED, else derived from the registry), drawn as SVG; the read is audited."""
    family = find_family(session, caller, family_id)
    members = list(repository.pedigree_members(session, family.id))
    details = repository.pedigree_family(session, family.id)
    participants = repository.participants_by_pk(
        session, [m.participant_id for m in members if m.participant_id is not None] + [m.participant_id for m in
                                                                                      family.members])
    proband_label = participants[family.proband_id].participant_id if family.proband_id in participants else None
    if members:
        individuals = [ped.Individual(family.family_id, m.individual_id, m.father_individual_id,
                                      m.mother_individual_id, m.sex, m.affected) for m in members]
        linked = {m.individual_id: participants[m.participant_id].participant_id for m in members
                  if m.participant_id is not None}
        dead = {m.individual_id for m in members
                if m.deceased or (m.participant_id is not None and participants[m.participant_id].date_of_death)}
        derived = False
    else:
        individuals, linked = _registry_pedigree(session, family) if family.members else ([], {})
        dead = {label for label in linked if any(p.participant_id == label and p.date_of_death
                                                 for p in participants.values())}
        derived = True
    pedigree, svg, problem = None, "", ""
    couples: list[tuple[str, str]] = []
    relations: dict[str, str] = {}
    if individuals:
        try:
            pedigree = ped.validate_pedigree(individuals, source_name=f"family {family.family_id}")
        except ped.PedigreeError as exc:
            problem = str(exc)
    if pedigree is not None:
        ids = set(pedigree.ids)
        proband = proband_label if proband_label in ids else None
        svg = ped.draw_pedigree_svg(pedigree, proband=proband, deceased=dead & ids)
        couples = ped.consanguineous_couples(pedigree)
        relations = ped.relationships(pedigree, proband) if proband else {}
    if audit:
        record(session, actor=caller.actor, verb=AuditVerb.READ, entity_type="pedigree", entity_id=family.family_id,
               trust_id=None, summary={"individuals": len(individuals), "derived": derived})
    return PedigreeView(family=family, pedigree=pedigree, svg=svg, derived=derived,
                        consanguinity=details.consanguinity if details else "unknown",
                        consanguineous_couples=couples, members=members, relationships=relations,
                        participants=linked, proband=proband_label, deceased=dead, problem=problem)


def import_ped(session: Session, caller: Caller, family_id: str, ped_text: str, *, source: str = "upload.ped",
               consanguinity: str | None = None) -> PedigreeView:
    """Replaces a family's pedigree from PED text; loops, sex conflicts or unknown families refuse it, writing nothing."""
    family = find_family(session, caller, family_id)
    try:
        pedigree = ped.read_ped(ped_text if "\n" in ped_text else ped_text + "\n")
    except ped.PedigreeError as exc:
        raise PhenotypeImportError(source, [(f"line {line}" if line else "pedigree", individual, message)
                                            for line, individual, message in exc.problems]) from exc
    problems: list[tuple[str, str, str]] = []
    for person in pedigree.individuals:
        if person.family_id != family.family_id:
            problems.append((f"line {person.line}", person.individual_id,
                             f"family {person.family_id!r} is not this family ({family.family_id})"))
    participants = repository.participants_by_programme_ids(session, pedigree.ids, caller.trust_scope)
    for person in pedigree.individuals:
        participant = participants.get(person.individual_id)
        if participant is not None and participant.sex in (ped.MALE, ped.FEMALE) and person.sex != ped.UNKNOWN_SEX \
                and person.sex != participant.sex:
            problems.append((f"line {person.line}", person.individual_id,
                             f"sex {person.sex} conflicts with the registry ({participant.sex})"))
    if consanguinity is not None and consanguinity not in CONSANGUINITY:
        problems.append(("form", "consanguinity", f"{consanguinity!r} is not one of {', '.join(CONSANGUINITY)}"))
    if problems:
        raise PhenotypeImportError(source, problems)
    previous = {m.individual_id: m for m in repository.pedigree_members(session, family.id)}
    for member in previous.values():
        session.delete(member)
    session.flush()
    for position, person in enumerate(pedigree.individuals):
        kept = previous.get(person.individual_id)
        participant = participants.get(person.individual_id)
        session.add(PedigreeMember(
            family_id=family.id, individual_id=person.individual_id,
            participant_id=participant.id if participant else None, father_individual_id=person.father_id,
            mother_individual_id=person.mother_id, sex=person.sex, affected=person.phenotype,
            deceased=kept.deceased if kept else False, twin_group=kept.twin_group if kept else None,
            twin_zygosity=kept.twin_zygosity if kept else None, position=position))
    if consanguinity is not None:
        _set_consanguinity(session, caller, family, consanguinity)
    session.flush()
    record(session, actor=caller.actor, verb=AuditVerb.IMPORT, entity_type="pedigree", entity_id=family.family_id,
           summary={"format": "ped", "individuals": len(pedigree.individuals), "replaced": len(previous),
                    "participants": len(participants)})
    return get_pedigree(session, caller, family_id, audit=False)


def _set_consanguinity(session: Session, caller: Caller, family: Family, consanguinity: str) -> None:
    details = repository.pedigree_family(session, family.id)
    if details is None:
        details = PedigreeFamily(family_id=family.id, consanguinity=consanguinity, note="",
                                 updated_by=caller.actor.name, updated_at=utcnow())
        session.add(details)
    else:
        details.consanguinity, details.updated_by, details.updated_at = consanguinity, caller.actor.name, utcnow()


def update_member(session: Session, caller: Caller, family_id: str, individual_id: str, *,
                  deceased: bool | None = None, twin_group: str | None = None,
                  twin_zygosity: str | None = None) -> PedigreeMember:
    """Records what PED cannot hold for one individual: deceased, twins (group label and zygosity)."""
    family = find_family(session, caller, family_id)
    member = next((m for m in repository.pedigree_members(session, family.id) if m.individual_id == individual_id),
                  None)
    if member is None:
        raise NotFound(f"family {family_id} has no individual {individual_id} (import the PED first)",
                       field="individual_id")
    before = {"deceased": member.deceased, "twin_group": member.twin_group, "twin_zygosity": member.twin_zygosity}
    if deceased is not None:
        member.deceased = deceased
    if twin_group is not None:
        member.twin_group = twin_group.strip() or None
    if twin_zygosity is not None:
        if twin_zygosity and twin_zygosity not in TWIN_ZYGOSITY:
            raise ValidationFailed(f"{twin_zygosity!r} is not one of {', '.join(TWIN_ZYGOSITY)}", field="twin_zygosity")
        member.twin_zygosity = twin_zygosity or None
    if member.twin_zygosity and not member.twin_group:
        raise ValidationFailed("give the twin group the zygosity belongs to", field="twin_group")
    if member.twin_group:
        siblings = [m for m in repository.pedigree_members(session, family.id)
                    if m.twin_group == member.twin_group and m.id != member.id]
        for twin in siblings:
            if (twin.father_individual_id, twin.mother_individual_id) != (member.father_individual_id,
                                                                          member.mother_individual_id):
                raise ValidationFailed(f"{individual_id} and {twin.individual_id} cannot be twins: their parents "
                                       "differ", field="twin_group")
            if member.twin_zygosity == "monozygotic" and twin.sex != member.sex and ped.UNKNOWN_SEX not in (
                    twin.sex, member.sex):
                raise ValidationFailed(f"monozygotic twins {individual_id} and {twin.individual_id} differ in sex",
                                       field="twin_zygosity")
    after = {"deceased": member.deceased, "twin_group": member.twin_group, "twin_zygosity": member.twin_zygosity}
    record(session, actor=caller.actor, verb=AuditVerb.UPDATE, entity_type="pedigree", entity_id=family.family_id,
           summary={"individual": individual_id, "changed": {k: [before[k], after[k]] for k in after
                                                              if before[k] != after[k]}})
    return member


def set_consanguinity(session: Session, caller: Caller, family_id: str, consanguinity: str) -> None:
    """Records whether the proband's parents are reported to be related."""
    family = find_family(session, caller, family_id)
    if consanguinity not in CONSANGUINITY:
        raise ValidationFailed(f"{consanguinity!r} is not one of {', '.join(CONSANGUINITY)}", field="consanguinity")
    _set_consanguinity(session, caller, family, consanguinity)
    record(session, actor=caller.actor, verb=AuditVerb.UPDATE, entity_type="pedigree", entity_id=family.family_id,
           summary={"consanguinity": consanguinity})


def export_ped(session: Session, caller: Caller, family_id: str) -> str:
    """The family's pedigree as PED text (audited as an export)."""
    view = get_pedigree(session, caller, family_id, audit=False)
    if view.pedigree is None:
        raise Conflict(view.problem or f"family {family_id} has no pedigree yet", field="family_id")
    record(session, actor=caller.actor, verb=AuditVerb.EXPORT, entity_type="pedigree", entity_id=family_id,
           summary={"format": "ped", "individuals": len(view.pedigree.individuals)})
    return ped.write_ped(view.pedigree)
