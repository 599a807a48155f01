"""Cancer interpretation rules: two-curator evidence curation, the live knowledge base, runs and tumour boards."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gmc import __version__
from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.common.paging import ListState, Page
from gmc.common.time import utcnow
from gmc.interpretation.cancer import repository as repo
from gmc.interpretation.cancer.knowledgebase import (
    EVIDENCE_TYPES,
    CuratedEvidenceError,
    EvidenceItem,
    KnowledgeBase,
    evidence_from_dict,
    evidence_to_dict,
    load_knowledgebase,
)
from gmc.interpretation.cancer.models import CuratedEvidence, CuratedEvidenceVersion, TumourBoardNote
from gmc.interpretation.cancer.somatic import SomaticSettings
from gmc.interpretation.cancer.tmb import TmbConfigError
from gmc.interpretation.models import InterpretationRun
from gmc.refdata.manifest import require
from gmc.registry.consent import ConsentAction, is_allowed
from gmc.registry.models import Case, Participant
from gmc.registry.service import case_summary, record_case_read, record_list_read, view_case
from gmc.settings import get_settings

#: The programme's cancer types -> the OncoTree code a run uses unless told otherwise.
DEFAULT_TUMOUR_TYPES = {
    "breast": "BRCA", "colorectal": "COADREAD", "bowel": "COADREAD", "lung": "NSCLC", "ovarian": "OVARY",
    "prostate": "PRAD", "chronic lymphocytic leukaemia": "CLLSLL",
}
#: Prefix of the ids of evidence items added by gmc curators.
CURATED_PREFIX = "GMC:CUR"
_FIELD_RE = re.compile(r"field '(\w+)'")

_kb_lock = threading.Lock()
#: Live knowledge bases by (refdata, curation state); cleared when an approval changes what is live.
_kb_cache: dict[tuple[str, tuple[tuple[str, int], ...]], KnowledgeBase] = {}


# ----------------------------------------------------------------------------- the live knowledge base


def base_knowledgebase() -> KnowledgeBase:
    """The knowledge base built from the files in GMC_REFDATA (loaded once per process); a missing set is named."""
    return load_knowledgebase(str(require("cancer", "liftover")))


def invalidate_live_knowledgebase() -> None:
    """Forgets cached live knowledge bases (called when an approval changes the curated overlay)."""
    with _kb_lock:
        _kb_cache.clear()


def live_knowledgebase(session: Session) -> KnowledgeBase:
    """Files in GMC_REFDATA overlaid with every approved curated item (cached per curation state)."""
    base = base_knowledgebase()
    rows = repo.live_versions(session)
    # The state key also guards against approvals made by another process since this one cached.
    key = (str(get_settings().refdata_dir()), tuple((evidence_id, number) for evidence_id, _, number, _ in rows))
    with _kb_lock:
        cached = _kb_cache.get(key)
    if cached is not None:
        return cached
    live: list[EvidenceItem] = []
    retired: list[str] = []
    for evidence_id, status, _number, stored in rows:
        if status == "retired":
            retired.append(evidence_id)
        else:
            live.append(evidence_from_dict(stored, base.oncotree, stored=True))
    kb = base.with_curation(live=live, retired_ids=retired) if rows else base
    with _kb_lock:
        if len(_kb_cache) >= 4:  # several databases (tests, tools) in one process: keep memory bounded
            _kb_cache.clear()
        _kb_cache[key] = kb
    return kb


def search_knowledgebase(session: Session, *, gene: str = "", alteration: str = "", tumour_type: str = "",
                         level: str = "", evidence_type: str = "", limit: int = 200) -> dict[str, Any]:
    """Live evidence by gene, alteration, tumour type (incl. parent types) and level; curated items flagged."""
    kb = live_knowledgebase(session)
    if tumour_type:
        try:
            kb.oncotree.get(tumour_type)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="tumour_type") from exc
    levels = {part.strip().upper() for part in level.split(",") if part.strip()}
    if levels - set("ABCDE"):
        raise ValidationFailed("level must be A-E (AMP/ASCO/CAP), e.g. A or A,B", field="level")
    if evidence_type and evidence_type.lower() not in EVIDENCE_TYPES:
        raise ValidationFailed(f"evidence_type must be one of {', '.join(EVIDENCE_TYPES)}", field="evidence_type")
    items = kb.search(gene=gene.strip() or None, alteration=alteration.strip() or None,
                      tumour_type=tumour_type.strip() or None)
    if levels:
        items = [item for item in items if item.level in levels]
    if evidence_type:
        items = [item for item in items if item.evidence_type == evidence_type.lower()]
    items.sort(key=lambda item: (item.level, item.biomarker.gene, item.id))
    curated = {evidence_id for evidence_id, *_ in repo.live_versions(session)}
    rows = [{**evidence_to_dict(item), "curated": item.id in curated} for item in items[:limit]]
    return {"total": len(items), "shown": len(rows), "items": rows}


def _find_evidence(kb: KnowledgeBase, evidence_id: str) -> EvidenceItem | None:
    for item in kb.evidence:
        if item.id == evidence_id:
            return item
    return None


def current_record(session: Session, evidence_id: str) -> dict[str, Any]:
    """The live record of an evidence id (plain data), NotFound when it is not live."""
    item = _find_evidence(live_knowledgebase(session), evidence_id)
    if item is None:
        raise NotFound(f"no live evidence item {evidence_id}", field="evidence_id")
    return evidence_to_dict(item)


# ----------------------------------------------------------------------------- curation


def _validated(record_in: dict[str, Any], evidence_id: str) -> dict[str, Any]:
    """Checks a proposed record with the knowledge base's own rules; returns its stored form."""
    data = {key: value for key, value in record_in.items() if key not in {"id", "reason"}}
    data["id"] = evidence_id
    data.setdefault("source", "gmc-curated")
    try:
        item = evidence_from_dict(data, base_knowledgebase().oncotree)
    except CuratedEvidenceError as exc:
        match = _FIELD_RE.search(str(exc))
        raise ValidationFailed(str(exc), field=match.group(1) if match else None) from exc
    except ValueError as exc:  # an unknown OncoTree code
        raise ValidationFailed(str(exc), field="tumour_type") from exc
    return evidence_to_dict(item)


def _require_curator(principal: Principal) -> None:
    principal.require(Permission.KNOWLEDGE_CURATE)


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(f"say why: a {what} needs a reason", field="reason")
    return text


def _propose(session: Session, principal: Principal, item: CuratedEvidence, action: str, stored: dict[str, Any],
             reason: str) -> CuratedEvidenceVersion:
    if item.id is not None and repo.open_proposal(session, item.id) is not None:
        raise Conflict(f"{item.evidence_id} already has a proposal awaiting review; approve or reject it first",
                       field="evidence_id")
    number = max((v.version for v in item.versions), default=0) + 1
    version = CuratedEvidenceVersion(version=number, action=action, record=stored, reason=reason, status="proposed",
                                     proposed_by=principal.username, proposed_by_id=principal.user_id or None,
                                     proposed_at=utcnow())
    item.versions.append(version)
    item.gene = str(stored.get("gene") or item.gene)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="curated_evidence",
           entity_id=item.evidence_id, summary={"action": action, "version": number, "gene": item.gene,
                                                "alteration": stored.get("alteration"), "reason": reason})
    return version


def propose_add(session: Session, principal: Principal, record_in: dict[str, Any], reason: str) -> CuratedEvidenceVersion:
    """Proposes a new evidence item; it is not live until a second curator approves it."""
    _require_curator(principal)
    reason = _reason(reason, "proposal")
    number = repo.next_number(session, CuratedEvidence.id)
    evidence_id = f"{CURATED_PREFIX}{number:06d}"
    while repo.curated_item(session, evidence_id) is not None:
        number += 1
        evidence_id = f"{CURATED_PREFIX}{number:06d}"
    stored = _validated(record_in, evidence_id)
    item = CuratedEvidence(evidence_id=evidence_id, gene=str(stored["gene"]), status="pending", created_at=utcnow())
    session.add(item)
    return _propose(session, principal, item, "add", stored, reason)


def _item_for_change(session: Session, evidence_id: str) -> tuple[CuratedEvidence, EvidenceItem | None]:
    """The curation record of a live evidence id (made on first change of a file-based item)."""
    current = _find_evidence(live_knowledgebase(session), evidence_id)
    item = repo.curated_item(session, evidence_id)
    if item is None:
        if current is None:
            raise NotFound(f"no evidence item {evidence_id} in the knowledge base", field="evidence_id")
        item = CuratedEvidence(evidence_id=evidence_id, gene=current.biomarker.gene, status="pending",
                               created_at=utcnow())
        session.add(item)
    elif item.status == "retired":
        raise Conflict(f"{evidence_id} is retired; propose a new item instead", field="evidence_id")
    return item, current


def propose_edit(session: Session, principal: Principal, evidence_id: str, record_in: dict[str, Any],
                 reason: str) -> CuratedEvidenceVersion:
    """Proposes a changed version of an evidence item (file-based or curated); live after a second approval."""
    _require_curator(principal)
    reason = _reason(reason, "change")
    item, current = _item_for_change(session, evidence_id)
    base = evidence_to_dict(current) if current is not None else dict(item.versions[-1].record)
    stored = _validated({**base, **record_in}, evidence_id)
    return _propose(session, principal, item, "edit", stored, reason)


def propose_retire(session: Session, principal: Principal, evidence_id: str, reason: str) -> CuratedEvidenceVersion:
    """Proposes retiring an evidence item; it stays live until a second curator approves."""
    _require_curator(principal)
    reason = _reason(reason, "retirement")
    item, current = _item_for_change(session, evidence_id)
    if current is None:
        raise Conflict(f"{evidence_id} is not live yet; reject its proposal instead of retiring it",
                       field="evidence_id")
    return _propose(session, principal, item, "retire", evidence_to_dict(current), reason)


def _reviewable(session: Session, principal: Principal, version_pk: int) -> CuratedEvidenceVersion:
    _require_curator(principal)
    version = repo.version(session, version_pk)
    if version is None:
        raise NotFound(f"no curation proposal {version_pk}", field="version")
    if version.status != "proposed":
        raise Conflict(f"proposal {version_pk} was already {version.status}", field="version")
    same_user = version.proposed_by_id is not None and version.proposed_by_id == principal.user_id
    if same_user or version.proposed_by == principal.username:
        raise PermissionDenied("a second curator must review this: you proposed it", field="version")
    return version


def approve(session: Session, principal: Principal, version_pk: int, reason: str = "") -> CuratedEvidenceVersion:
    """A second curator approves a proposal: the change goes live (the proposer cannot approve their own)."""
    version = _reviewable(session, principal, version_pk)
    item = version.item
    version.status, version.reviewed_by, version.reviewed_by_id = "approved", principal.username, principal.user_id or None
    version.reviewed_at, version.review_reason = utcnow(), (reason or "").strip() or None
    item.live_version = version.version
    item.status = "retired" if version.action == "retire" else "live"
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.APPROVE, entity_type="curated_evidence",
           entity_id=item.evidence_id, summary={"action": version.action, "version": version.version,
                                                "proposed_by": version.proposed_by})
    invalidate_live_knowledgebase()
    return version


def reject(session: Session, principal: Principal, version_pk: int, reason: str) -> CuratedEvidenceVersion:
    """A second curator rejects a proposal with a reason; the proposal is kept, nothing changes."""
    reason = _reason(reason, "rejection")
    version = _reviewable(session, principal, version_pk)
    version.status, version.reviewed_by, version.reviewed_by_id = "rejected", principal.username, principal.user_id or None
    version.reviewed_at, version.review_reason = utcnow(), reason
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.REJECT, entity_type="curated_evidence",
           entity_id=version.item.evidence_id, summary={"action": version.action, "version": version.version,
                                                        "reason": reason})
    return version


def curation_history(session: Session, evidence_id: str) -> CuratedEvidence:
    """An item's curation record with every version (proposed, approved, rejected)."""
    item = repo.curated_item(session, evidence_id)
    if item is None:
        raise NotFound(f"evidence {evidence_id} has no curation history", field="evidence_id")
    return item


def version_dict(version: CuratedEvidenceVersion) -> dict[str, Any]:
    """A proposed version as plain data."""
    return {"version_pk": version.id, "evidence_id": version.item.evidence_id, "version": version.version,
            "action": version.action, "status": version.status, "record": version.record, "reason": version.reason,
            "proposed_by": version.proposed_by, "proposed_at": version.proposed_at,
            "reviewed_by": version.reviewed_by, "reviewed_at": version.reviewed_at,
            "review_reason": version.review_reason}


# ----------------------------------------------------------------------------- runs


def default_tumour_type(case: Case) -> str | None:
    """The OncoTree code for the case's referral cancer type (None when it has no default)."""
    return DEFAULT_TUMOUR_TYPES.get(case.referral.clinical_indication.strip().lower())


def _check_case_for_run(session: Session, principal: Principal, case: Case) -> Participant:
    principal.require(Permission.INTERPRETATION_WRITE)
    principal.require_trust(case.trust_id)
    if case.programme_arm != "cancer":
        raise ValidationFailed(f"case {case.case_id} is a {case.programme_arm} case, not a cancer case",
                               field="case_id")
    participant = session.get(Participant, case.proband_id)
    assert participant is not None
    decision = is_allowed(session, participant.id, ConsentAction.INTERPRET)
    if not decision.allowed:
        raise Conflict(f"consent of {participant.participant_id} does not allow interpretation: {decision.reason}",
                       field="case_id")
    return participant


def _new_run_id(session: Session) -> str:
    number = repo.next_number(session, InterpretationRun.id)
    while repo.get_run(session, f"IR{number:06d}") is not None:
        number += 1
    return f"IR{number:06d}"


def run_somatic(session: Session, principal: Principal, case: Case, *, tumour_type: str | None = None,
                vcf_path: str | Path | None = None, cna_path: str | Path | None = None,
                fusions_path: str | Path | None = None, germline_vcf: str | Path | None = None,
                germline_build: str | None = None, vcf_build: str | None = None,
                settings: SomaticSettings | None = None, tumour_sample: str | None = None,
                normal_sample: str | None = None, tumour_af_tag: str | None = None,
                tumour_dp_tag: str | None = None, callable_bed: str | Path | None = None) -> InterpretationRun:
    """Interprets a cancer case's tumour-normal VCF with the live knowledge base and stores the run.

    The VCF is the given path or else the case's stored tumour data set (genome feature). Consent must allow
    interpretation; germline additional findings are reported only when the participant consented to them.
    Bad input raises ValidationFailed naming the field, and nothing is stored.
    """
    from gmc.interpretation.cancer.files import SomaticRunError, interpret_somatic_files
    from gmc.interpretation.cancer.germline import interpret_germline_vcf

    participant = _check_case_for_run(session, principal, case)
    source = "upload"
    if vcf_path is None:
        dataset = repo.case_dataset(session, case.id, "tumour")
        if dataset is None:
            raise ValidationFailed(f"case {case.case_id} has no tumour data set; give a tumour-normal VCF path",
                                   field="vcf")
        vcf_path, source = dataset.source_path, f"genome data set {dataset.dataset_id}"
        vcf_build = vcf_build or dataset.build
    if germline_vcf is None and (dataset := repo.case_dataset(session, case.id, "germline")) is not None:
        germline_vcf, germline_build = dataset.source_path, germline_build or dataset.build
    code = (tumour_type or default_tumour_type(case) or "").strip()
    if not code:
        raise ValidationFailed("give a tumour type (an OncoTree code, or TISSUE for a tumour-agnostic reading)",
                               field="tumour_type")
    kb = live_knowledgebase(session)
    try:
        code = kb.oncotree.get(code).code
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="tumour_type") from exc
    for name, path in (("vcf", vcf_path), ("cna", cna_path), ("fusions", fusions_path), ("germline_vcf", germline_vcf),
                       ("callable", callable_bed)):
        if path is not None and not Path(path).is_file():
            raise ValidationFailed(f"{name}: no file at {path}", field=name)
    settings = settings or SomaticSettings()
    try:
        result = interpret_somatic_files(
            tumour_type=code, vcf=Path(vcf_path), cna=Path(cna_path) if cna_path else None,
            fusions=Path(fusions_path) if fusions_path else None, settings=settings, vcf_build=vcf_build,
            tumour_sample=tumour_sample, normal_sample=normal_sample, tumour_af_tag=tumour_af_tag,
            tumour_dp_tag=tumour_dp_tag, refdata=get_settings().refdata_dir(), kb=kb,
            callable_bed=Path(callable_bed) if callable_bed else None)
    except TmbConfigError as exc:
        raise ValidationFailed(str(exc), field="assay" if "GMC_TMB_ASSAYS" in str(exc) else "callable") from exc
    except SomaticRunError as exc:
        raise ValidationFailed(str(exc), field="callable" if "TMB" in str(exc) else "vcf") from exc
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="vcf") from exc
    additional = is_allowed(session, participant.id, ConsentAction.ADDITIONAL_FINDINGS)
    if germline_vcf is not None:
        try:
            result["germline"] = interpret_germline_vcf(Path(germline_vcf), additional_findings=additional.allowed,
                                                        build=germline_build)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="germline_vcf") from exc
        result["germline"]["additional_findings_consent"] = additional.reason
    curated = repo.live_versions(session)
    provenance = dict(result.get("provenance", {}))  # type: ignore[arg-type]
    provenance.update(gmc_version=__version__, curation={
        "live_items": [f"{evidence_id} v{number} ({status})" for evidence_id, status, number, _ in curated]})
    if "germline" in result:
        provenance["germline_reference_files"] = result["germline"]["reference_files"]
        provenance["germline_annotation"] = result["germline"]["input"]["annotation"]
    result["provenance"] = provenance
    now = utcnow()
    run = InterpretationRun(
        run_id=_new_run_id(session), case_id=case.id, kind="somatic", status="done",
        inputs={"vcf": str(vcf_path), "vcf_source": source, "tumour_type": code,
                "cna": str(cna_path) if cna_path else None, "fusions": str(fusions_path) if fusions_path else None,
                "germline_vcf": str(germline_vcf) if germline_vcf else None,
                "callable": str(callable_bed) if callable_bed else None, "settings": asdict(settings)},
        results=result, provenance=provenance, created_by=principal.username,
        created_by_id=principal.user_id or None, created_at=now, finished_at=utcnow())
    session.add(run)
    session.flush()
    counts = result["counts"]["by_tier"]  # type: ignore[index]
    record(session, actor=principal.actor, verb=AuditVerb.INTERPRET, entity_type="interpretation_run",
           entity_id=run.run_id, trust_id=case.trust_id,
           summary={"case": case.case_id, "kind": "somatic", "tumour_type": code, "tiers": counts,
                    "germline": germline_vcf is not None, "additional_findings": additional.allowed})
    return run


def run_dict(run: InterpretationRun, *, with_results: bool = True) -> dict[str, Any]:
    """A run as plain data for the API."""
    out = {"run_id": run.run_id, "kind": run.kind, "status": run.status, "inputs": run.inputs,
           "created_by": run.created_by, "created_at": run.created_at, "finished_at": run.finished_at,
           "error": run.error, "provenance": run.provenance}
    if with_results:
        out["results"] = run.results
    return out


def case_runs(session: Session, principal: Principal, case_id: str) -> tuple[Case, list[InterpretationRun]]:
    """A case in the caller's scope and its runs, newest first."""
    case = view_case(session, principal=principal, case_id=case_id)
    runs = list(repo.runs_of_case(session, case.id))
    record_case_read(session, principal, case, "cancer runs")
    return case, runs


def get_run(session: Session, principal: Principal, run_id: str) -> InterpretationRun:
    """A run whose case is in the caller's scope."""
    run = repo.get_run(session, run_id)
    case = session.get(Case, run.case_id) if run else None
    if run is None or case is None or not principal.can_see_trust(case.trust_id):
        raise NotFound(f"no interpretation run {run_id} at your trusts", field="run_id")
    return run


# ----------------------------------------------------------------------------- tumour board


def _germline_view(session: Session, participant_pk: int, germline: dict[str, Any] | None) -> dict[str, Any] | None:
    """Germline results as shown now: additional findings hidden unless consent allows them today."""
    if not germline:
        return None
    decision = is_allowed(session, participant_pk, ConsentAction.ADDITIONAL_FINDINGS)
    view = dict(germline)
    if not decision.allowed:
        view["additional_findings"] = []
    view["additional_findings_allowed"] = decision.allowed
    view["additional_findings_reason"] = decision.reason
    return view


def read_run(session: Session, principal: Principal, run_id: str) -> InterpretationRun:
    """A run shown to the caller (its results are a person's genome findings): audited under its case."""
    run = get_run(session, principal, run_id)
    record_case_read(session, principal, session.get(Case, run.case_id), f"run {run.run_id}")
    return run


def tumour_board(session: Session, principal: Principal, case_id: str) -> dict[str, Any]:
    """Everything a tumour board needs for a case: latest somatic run, germline findings and notes (audited read)."""
    case = view_case(session, principal=principal, case_id=case_id)
    runs = list(repo.runs_of_case(session, case.id, kind="somatic"))
    latest = next((run for run in runs if run.status == "done"), None)
    results = latest.results if latest else None
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"view": "tumour_board", "run": latest.run_id if latest else None})
    return {
        "case": case_summary(session, case), "case_pk": case.id, "run": latest, "runs": runs, "results": results,
        "germline": _germline_view(session, case.proband_id, (results or {}).get("germline")),
        "notes": list(repo.notes_of_case(session, case.id)), "default_tumour_type": default_tumour_type(case),
        "interpret_allowed": is_allowed(session, case.proband_id, ConsentAction.INTERPRET),
    }


def add_note(session: Session, principal: Principal, case_id: str, text: str, run_id: str | None = None) -> TumourBoardNote:
    """Adds an audited tumour board note to a case."""
    principal.require(Permission.INTERPRETATION_READ)
    case = view_case(session, principal=principal, case_id=case_id)
    body = (text or "").strip()
    if not body:
        raise ValidationFailed("a note needs some text", field="text")
    if len(body) > 10_000:
        raise ValidationFailed("a note is at most 10,000 characters", field="text")
    run = get_run(session, principal, run_id) if run_id else None
    if run is not None and run.case_id != case.id:
        raise ValidationFailed(f"run {run_id} belongs to another case", field="run_id")
    note = TumourBoardNote(case_id=case.id, run_id=run.id if run else None, text=body, author=principal.username,
                           author_id=principal.user_id or None, created_at=utcnow())
    session.add(note)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="tumour_board_note", entity_id=note.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "run": run_id, "length": len(body)})
    return note


_BOARD_CLOSED = ("reported", "closed")
#: Sort keys of the cancer case list (see repository.cancer_case_page).
CASE_SORTS = ("case", "opened", "cancer", "interpreted")


def awaits_board(status: str, interpreted: bool) -> bool:
    """A case ready for its tumour board: a finished somatic run, and not yet reported or closed."""
    return interpreted and status not in _BOARD_CLOSED


def cases_for_board(session: Session, principal: Principal) -> list[Case]:
    """Cancer cases in scope that await their tumour board (see awaits_board), newest first, with no cap."""
    principal.require(Permission.INTERPRETATION_READ)
    return list(repo.cases_for_board(session, trust_scope=principal.trust_scope, closed_statuses=_BOARD_CLOSED))


def _indications_of(word: str) -> list[str]:
    """The referral cancer types whose default OncoTree code contains the word (case-insensitively)."""
    return [name for name, code in DEFAULT_TUMOUR_TYPES.items() if word.lower() in code.lower()]


def cancer_case_page(session: Session, principal: Principal, state: ListState) -> Page:
    """One page of the cancer cases in scope with whether each has a finished somatic run and awaits its board;
    filtered, sorted and paged in SQL, with no cap on how many cases there are."""
    principal.require(Permission.INTERPRETATION_READ)
    page = repo.cancer_case_page(session, trust_scope=principal.trust_scope, state=state,
                                 closed_statuses=_BOARD_CLOSED, indications_of=_indications_of)
    done = repo.interpreted_case_ids(session, [case.id for case in page.items])
    rows = [{**case_summary(session, case), "interpreted": case.id in done,
             "to_board": awaits_board(case.status, case.id in done),
             "tumour_type": default_tumour_type(case)} for case in page.items]
    record_list_read(session, principal, "cancer cases", [r["case_id"] for r in rows])
    page.items = rows
    return page


def cancer_case_list(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every cancer case in scope (the API's list), newest first, as cancer_case_page rows."""
    state = ListState("/cancer", CASE_SORTS, "opened", descending=True, per_page=2**31 - 1)
    return cancer_case_page(session, principal, state).items
