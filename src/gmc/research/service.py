"""Research rules: cohort counts, projects and their approval, saved versioned cohorts, release requests with
a second person's approval, the recall list. Services never commit; every action is audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth import scope
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.common.time import as_utc, utcnow
from gmc.research import repository as repo
from gmc.research.cohort import Criteria, criteria_from_dict, refuse_identifiable
from gmc.research.eligibility import research_decisions
from gmc.research.models import Cohort, CohortVersion, DataRelease, RecallEntry, ResearchProject
from gmc.research.selection import Selection, check_criteria, count_view, select_members
from gmc.research.suppression import show

#: What a release may hold, and the default.
RELEASE_PARTS = ("phenopackets", "participants", "phenotypes", "diagnoses", "cancer", "genomes", "genotypes")
GENOTYPE_SCOPES = ("cohort_genes", "all", "none")
MIN_PURPOSE = 20


def _scope(trust_scope: list[int] | None) -> frozenset[int] | None:
    return None if trust_scope is None else frozenset(trust_scope)


def parse_criteria(raw: Mapping[str, Any] | Criteria) -> Criteria:
    """Criteria from JSON (refusing identifiable and unknown fields), checked against reference data."""
    return check_criteria(raw if isinstance(raw, Criteria) else criteria_from_dict(raw))


# ----------------------------------------------------------------------------- counts


def count_cohort(session: Session, principal: Principal, raw: Mapping[str, Any] | Criteria, *,
                 project_id: str | None = None, store_base: Path | None = None) -> dict[str, Any]:
    """The suppressed count of research-eligible participants meeting the criteria, split for a chart; audited."""
    principal.require(Permission.RESEARCH_EXPORT)
    criteria = parse_criteria(raw)
    project = get_project(session, principal, project_id) if project_id else None
    scope = _scope(project.trust_scope) if project else principal.trust_scope
    selection = select_members(session, criteria, trust_scope=scope, project_pk=project.id if project else None,
                               store_base=store_base)
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="research_cohort",
           entity_id=project.project_id if project else None,
           summary={"criteria": criteria.describe(), "count": show(len(selection.members))})
    return count_view(selection, criteria)


# ----------------------------------------------------------------------------- projects


def _may_see_project(principal: Principal, project: ResearchProject) -> bool:
    """Its lead, or a data-access approver whose scope covers every trust whose data the project reads (a national
    project only national approvers): an approver of one centre neither sees nor decides another centre's data."""
    if project.lead_id == principal.user_id:
        return True
    if not principal.has(Permission.RESEARCH_APPROVE):
        return False
    if project.trust_scope is None:
        return principal.trust_scope is None
    return scope.sees_all(principal, project.trust_scope)


def get_project(session: Session, principal: Principal, project_id: str) -> ResearchProject:
    """A project its lead or a data-access approver may see (others are told it does not exist)."""
    project = repo.get_project(session, project_id.strip().upper())
    if project is None or not _may_see_project(principal, project):
        raise NotFound(f"no research project {project_id}", field="project_id")
    return project


def visible_projects(session: Session, principal: Principal) -> list[ResearchProject]:
    """Projects the caller leads, or (for a data-access approver) every project within the approver's scope."""
    if principal.has(Permission.RESEARCH_APPROVE):
        return [p for p in repo.projects(session) if _may_see_project(principal, p)]
    return list(repo.projects(session, lead_id=principal.user_id))


def _new_id(session: Session, prefix: str, column: Any, lookup: Any) -> str:
    number = repo.next_number(session, column)
    while lookup(session, f"{prefix}{number:04d}") is not None:
        number += 1
    return f"{prefix}{number:04d}"


def _text(value: str, field: str, minimum: int, what: str) -> str:
    text = (value or "").strip()
    if len(text) < minimum:
        raise ValidationFailed(f"{what} (at least {minimum} characters)", field=field)
    return text


def propose_project(session: Session, principal: Principal, *, title: str, purpose: str) -> ResearchProject:
    """A researcher proposes a project; it needs a data-access approver's decision before any release."""
    principal.require(Permission.RESEARCH_EXPORT)
    project = ResearchProject(
        project_id=_new_id(session, "RP", ResearchProject.id, repo.get_project),
        title=_text(title, "title", 5, "give the project a title"),
        purpose=_text(purpose, "purpose", MIN_PURPOSE, "state the purpose of the research"),
        lead_id=principal.user_id, lead_name=principal.username,
        trust_scope=None if principal.trust_scope is None else sorted(principal.trust_scope),
        status="proposed", created_at=utcnow())
    session.add(project)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="research_project",
           entity_id=project.project_id, summary={"title": project.title})
    return project


def decide_project(session: Session, principal: Principal, project_id: str, *, approve: bool,
                   note: str) -> ResearchProject:
    """A data-access approver (never the project's lead) approves or rejects a proposed project."""
    principal.require(Permission.RESEARCH_APPROVE)
    project = get_project(session, principal, project_id)
    if project.lead_id == principal.user_id:
        raise PermissionDenied("a project is approved by a second person with the data-access role, not its lead")
    if project.status != "proposed":
        raise Conflict(f"project {project.project_id} is {project.status}, not awaiting a decision")
    _decide(session, principal, project, "research_project", project.project_id, approve=approve, note=note)
    return project


def _decide(session: Session, principal: Principal, item: ResearchProject | DataRelease, entity_type: str,
            entity_id: str, *, approve: bool, note: str) -> None:
    """Records a data-access decision on a project or release (a rejection needs a reason); audited."""
    if not approve and not (note or "").strip():
        raise ValidationFailed(f"give the reason for rejecting the {entity_type.removeprefix('research_')}",
                               field="note")
    item.status = "approved" if approve else "rejected"
    item.decided_by, item.decided_by_id, item.decided_at = principal.username, principal.user_id, utcnow()
    item.decision_note = (note or "").strip()
    record(session, actor=principal.actor, verb=AuditVerb.APPROVE if approve else AuditVerb.REJECT,
           entity_type=entity_type, entity_id=entity_id, summary={"note": item.decision_note})


# ----------------------------------------------------------------------------- cohorts


def get_cohort(session: Session, principal: Principal, cohort_id: str) -> Cohort:
    """A saved cohort of a project the caller may see."""
    cohort = repo.get_cohort(session, cohort_id.strip().upper())
    if cohort is None or not _may_see_project(principal, cohort.project):
        raise NotFound(f"no cohort {cohort_id}", field="cohort_id")
    return cohort


def _version(session: Session, principal: Principal, cohort: Cohort, criteria: Criteria, note: str,
             store_base: Path | None) -> CohortVersion:
    project = cohort.project
    selection = select_members(session, criteria, trust_scope=_scope(project.trust_scope), project_pk=project.id,
                               store_base=store_base)
    version = CohortVersion(cohort_id=cohort.id, version=len(cohort.versions) + 1, criteria=criteria.to_dict(),
                            count_shown=show(len(selection.members)), note=(note or "").strip(),
                            created_by=principal.username, created_by_id=principal.user_id, created_at=utcnow())
    session.add(version)
    session.flush()
    session.refresh(cohort)
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="research_cohort",
           entity_id=cohort.cohort_id, summary={"version": version.version, "criteria": criteria.describe(),
                                                "count": version.count_shown})
    return version


def save_cohort(session: Session, principal: Principal, *, project_id: str, name: str,
                criteria: Mapping[str, Any] | Criteria, note: str = "", store_base: Path | None = None) -> Cohort:
    """Saves a new cohort (version 1) in one of the caller's projects."""
    principal.require(Permission.RESEARCH_EXPORT)
    if not (project_id or "").strip():
        raise ValidationFailed("choose one of your projects to save the cohort in", field="project_id")
    project = get_project(session, principal, project_id)
    if project.lead_id != principal.user_id:
        raise PermissionDenied("only the project's lead saves cohorts in it")
    if project.status in ("rejected", "closed"):
        raise Conflict(f"project {project.project_id} is {project.status}")
    checked = parse_criteria(criteria)
    cohort = Cohort(cohort_id=_new_id(session, "RC", Cohort.id, repo.get_cohort), project_id=project.id,
                    name=_text(name, "name", 3, "name the cohort"), created_by=principal.username,
                    created_by_id=principal.user_id, created_at=utcnow())
    session.add(cohort)
    session.flush()
    _version(session, principal, cohort, checked, note, store_base)
    return cohort


def revise_cohort(session: Session, principal: Principal, cohort_id: str, *, criteria: Mapping[str, Any] | Criteria,
                  note: str = "", store_base: Path | None = None) -> CohortVersion:
    """Saves a new version of a cohort's definition (earlier versions stay as they were)."""
    cohort = get_cohort(session, principal, cohort_id)
    if cohort.project.lead_id != principal.user_id:
        raise PermissionDenied("only the project's lead changes its cohorts")
    return _version(session, principal, cohort, parse_criteria(criteria), note, store_base)


def version_criteria(version: CohortVersion) -> Criteria:
    """The saved criteria of a version (as they were saved)."""
    return criteria_from_dict(version.criteria)


# ----------------------------------------------------------------------------- releases


def get_release(session: Session, principal: Principal, release_id: str) -> DataRelease:
    """A release of a project the caller may see."""
    release = repo.get_release(session, release_id.strip().upper())
    if release is None or not _may_see_project(principal, release.project):
        raise NotFound(f"no release {release_id}", field="release_id")
    return release


def check_contents(raw: Mapping[str, Any] | None, criteria: Criteria) -> dict[str, Any]:
    """What a release will hold, checked: named parts only; identifiable fields are refused by name."""
    raw = dict(raw or {})
    for key in raw:
        refuse_identifiable(str(key), what="a release")
    unknown = set(raw) - {"parts", "genotypes"}
    if unknown:
        raise ValidationFailed(f"a release has no option {sorted(unknown)[0]!r}; give parts and genotypes",
                               field=sorted(unknown)[0])
    parts = raw.get("parts") or list(RELEASE_PARTS)
    if isinstance(parts, str):
        parts = [p for p in parts.replace(",", " ").split() if p]
    for part in parts:
        refuse_identifiable(str(part), what="a release")
        if part not in RELEASE_PARTS:
            raise ValidationFailed(f"parts: {part!r} is not one of {', '.join(RELEASE_PARTS)}", field="parts")
    genotypes = raw.get("genotypes") or ("cohort_genes" if criteria.genes or criteria.variants else "all")
    if genotypes not in GENOTYPE_SCOPES:
        raise ValidationFailed(f"genotypes must be one of {', '.join(GENOTYPE_SCOPES)}", field="genotypes")
    if genotypes == "cohort_genes" and not (criteria.genes or criteria.variants):
        raise ValidationFailed("genotypes=cohort_genes needs a cohort that selects on genes or variants",
                               field="genotypes")
    if "genotypes" not in parts:
        genotypes = "none"
    return {"parts": [p for p in RELEASE_PARTS if p in parts], "genotypes": genotypes}


def request_release(session: Session, principal: Principal, *, cohort_id: str, version: int | None = None,
                    purpose: str, contents: Mapping[str, Any] | None = None) -> DataRelease:
    """The project's lead asks for a release of a cohort version, stating its purpose; nothing is built yet."""
    principal.require(Permission.RESEARCH_EXPORT)
    cohort = get_cohort(session, principal, cohort_id)
    project = cohort.project
    if project.lead_id != principal.user_id:
        raise PermissionDenied("only the project's lead requests its releases")
    if project.status != "approved":
        raise Conflict(f"project {project.project_id} is {project.status}: a data-access approver must approve "
                       "the project before any release", field="project_id")
    chosen = cohort.versions[-1] if version is None else next(
        (v for v in cohort.versions if v.version == version), None)
    if chosen is None:
        raise NotFound(f"cohort {cohort.cohort_id} has no version {version}", field="version")
    checked = check_contents(contents, version_criteria(chosen))
    release = DataRelease(
        release_id=_new_id(session, "RR", DataRelease.id, repo.get_release), project_id=project.id,
        cohort_version_id=chosen.id, purpose=_text(purpose, "purpose", MIN_PURPOSE, "state the purpose of the release"),
        contents=checked, status="requested", requested_by=principal.username, requested_by_id=principal.user_id,
        requested_at=utcnow(), files=[], provenance={}, progress={})
    session.add(release)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="research_release",
           entity_id=release.release_id, summary={"cohort": cohort.cohort_id, "version": chosen.version,
                                                  "contents": checked})
    return release


def decide_release(session: Session, principal: Principal, release_id: str, *, approve: bool,
                   note: str) -> DataRelease:
    """A second person with the data-access role approves (or rejects, with a reason) a requested release."""
    principal.require(Permission.RESEARCH_APPROVE)
    release = get_release(session, principal, release_id)
    if principal.user_id in (release.requested_by_id, release.project.lead_id):
        raise PermissionDenied("a release is approved by a second person with the data-access role, not by the "
                               "researcher who asked for it")
    if release.status != "requested":
        raise Conflict(f"release {release.release_id} is {release.status}, not awaiting approval")
    if release.project.status != "approved":
        raise Conflict(f"project {release.project.project_id} is {release.project.status}")
    _decide(session, principal, release, "research_release", release.release_id, approve=approve, note=note)
    return release


def cancel_release(session: Session, principal: Principal, release_id: str) -> DataRelease:
    """The requester withdraws a release request that is not built yet."""
    release = get_release(session, principal, release_id)
    if release.requested_by_id != principal.user_id:
        raise PermissionDenied("only the researcher who asked for a release cancels it")
    if release.status not in ("requested", "approved", "failed"):
        raise Conflict(f"release {release.release_id} is {release.status} and cannot be cancelled")
    release.status = "cancelled"
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="research_release",
           entity_id=release.release_id, summary={"status": "cancelled"})
    return release


# ----------------------------------------------------------------------------- recall list


def update_recall_list(session: Session) -> list[RecallEntry]:
    """Puts every released participant whose consent no longer allows research on the recall list of each built
    release that included them (once); returns the entries added."""
    members = repo.released_members(session)
    if not members:
        return []
    listed = repo.recalled_pairs(session)
    decisions = research_decisions(session, {m.participant_id for m in members})
    added = []
    now = utcnow()
    for member in members:
        decision = decisions[member.participant_id]
        if decision.eligible or (member.release_pk, member.participant_id) in listed:
            continue
        entry = RecallEntry(release_id=member.release_pk, participant_id=member.participant_id,
                            research_id=member.research_id, reason=decision.reason, listed_at=now)
        session.add(entry)
        added.append(entry)
        record(session, actor=_system(), verb=AuditVerb.CREATE, entity_type="research_recall",
               entity_id=member.release_id, summary={"research_id": member.research_id, "reason": decision.reason})
    session.flush()
    return added


def _system():  # noqa: ANN202
    from gmc.audit.service import Actor

    return Actor.system("research-recall")


def recall_list(session: Session, principal: Principal, *, release_id: str | None = None) -> list[dict[str, Any]]:
    """The recall list of the caller's releases (or of every release, for a data-access approver)."""
    update_recall_list(session)
    if release_id:
        releases = [get_release(session, principal, release_id)]
    else:
        releases = [r for p in visible_projects(session, principal) for r in repo.releases(session, project_pk=p.id)]
    by_pk = {r.id: r for r in releases}
    entries = repo.recall_entries(session, release_pks=list(by_pk))
    return [{"release_id": by_pk[e.release_id].release_id, "project_id": by_pk[e.release_id].project.project_id,
             "research_id": e.research_id, "reason": e.reason, "listed_at": e.listed_at,
             "confirmed_by": e.confirmed_by, "confirmed_at": e.confirmed_at, "entry": e.id} for e in entries]


def confirm_recall(session: Session, principal: Principal, release_id: str, research_id: str) -> RecallEntry:
    """The release's requester confirms they deleted a recalled participant's data."""
    release = get_release(session, principal, release_id)
    if principal.user_id not in (release.requested_by_id, release.project.lead_id):
        raise PermissionDenied("the researcher who holds the release confirms the deletion")
    entry = next((e for e in repo.recall_entries(session, release_pks=[release.id])
                  if e.research_id == research_id.strip().upper()), None)
    if entry is None:
        raise NotFound(f"{research_id} is not on the recall list of {release.release_id}", field="research_id")
    if entry.confirmed_at is not None:
        raise Conflict(f"{entry.research_id} was already confirmed deleted on {entry.confirmed_at:%Y-%m-%d}")
    entry.confirmed_by, entry.confirmed_by_id, entry.confirmed_at = principal.username, principal.user_id, utcnow()
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="research_recall",
           entity_id=release.release_id, summary={"research_id": entry.research_id, "confirmed": "deleted"})
    return entry


def selection_for_release(session: Session, release: DataRelease, *, store_base: Path | None = None) -> Selection:
    """Who a release holds when it is built: the cohort version's criteria over the project's scope, now."""
    return select_members(session, version_criteria(release.cohort_version),
                          trust_scope=_scope(release.project.trust_scope), project_pk=release.project_id,
                          store_base=store_base)


# ----------------------------------------------------------------------------- downloads and views


def release_file(session: Session, principal: Principal, release_id: str, name: str, folder: Path) -> Path:
    """A file of a built release for its holder to download (audited); refused once any of its participants
    has left research, since their data may no longer leave."""
    release = get_release(session, principal, release_id)
    if principal.user_id not in (release.requested_by_id, release.project.lead_id):
        raise PermissionDenied("only the researcher who holds the release downloads its files")
    if release.status != "built":
        raise Conflict(f"release {release.release_id} is {release.status}: there is nothing to download yet")
    listed = {f["name"]: f for f in release.files}
    if name not in listed:
        raise NotFound(f"release {release.release_id} has no file {name!r}", field="name")
    update_recall_list(session)
    recalled = repo.recall_entries(session, release_pks=[release.id])
    if recalled:
        raise Conflict(f"release {release.release_id} includes {len(recalled)} participant(s) who have left research "
                       "since it was built (see its recall list): its files may no longer be downloaded; request a "
                       "new release of the cohort, which leaves them out")
    path = folder / name
    if not path.is_file():
        raise NotFound(f"the file {name} of release {release.release_id} is missing from the release folder")
    record(session, actor=principal.actor, verb=AuditVerb.DOWNLOAD, entity_type="research_release",
           entity_id=release.release_id, summary={"file": name, "sha256": listed[name]["sha256"]})
    return path


def project_dict(project: ResearchProject) -> dict[str, Any]:
    """A project as JSON."""
    return {"project_id": project.project_id, "title": project.title, "purpose": project.purpose,
            "lead": project.lead_name, "status": project.status, "created_at": project.created_at,
            "decided_by": project.decided_by, "decided_at": project.decided_at, "decision_note": project.decision_note,
            "cohorts": [c.cohort_id for c in project.cohorts]}


def cohort_dict(cohort: Cohort) -> dict[str, Any]:
    """A cohort and its versions as JSON."""
    return {"cohort_id": cohort.cohort_id, "project_id": cohort.project.project_id, "name": cohort.name,
            "created_by": cohort.created_by, "created_at": cohort.created_at,
            "versions": [{"version": v.version, "criteria": v.criteria,
                          "description": criteria_from_dict(v.criteria).describe(), "count": v.count_shown,
                          "note": v.note, "created_by": v.created_by, "created_at": v.created_at}
                         for v in cohort.versions]}


def release_dict(release: DataRelease) -> dict[str, Any]:
    """A release as JSON: request, decision, build and every file's checksum."""
    return {"release_id": release.release_id, "project_id": release.project.project_id,
            "cohort_id": release.cohort_version.cohort.cohort_id, "cohort_version": release.cohort_version.version,
            "purpose": release.purpose, "contents": release.contents, "status": release.status,
            "requested_by": release.requested_by, "requested_at": release.requested_at,
            "decided_by": release.decided_by, "decided_at": release.decided_at,
            "decision_note": release.decision_note, "built_at": release.built_at,
            "participants": release.n_participants, "files": release.files, "provenance": release.provenance,
            "progress": release.progress, "error": release.error}


def approval_queue(session: Session, principal: Principal) -> dict[str, list[Any]]:
    """What awaits a data-access decision: proposed projects and requested releases, oldest first."""
    principal.require(Permission.RESEARCH_APPROVE)
    return {"projects": [p for p in reversed(repo.projects(session, status="proposed"))
                         if _may_see_project(principal, p)],
            "releases": [r for r in reversed(repo.releases(session, status="requested"))
                         if _may_see_project(principal, r.project)]}


def visible_releases(session: Session, principal: Principal) -> list[DataRelease]:
    """Releases of the projects the caller may see, newest first."""
    return [r for p in visible_projects(session, principal) for r in repo.releases(session, project_pk=p.id)]


#: A build whose progress has not moved for this long is taken to have died with its process.
STALE_BUILD_MINUTES = 15


def retry_build(session: Session, principal: Principal, release_id: str) -> DataRelease:
    """A data-access approver sends a failed (or stalled) build of an approved release round again."""
    principal.require(Permission.RESEARCH_APPROVE)
    release = get_release(session, principal, release_id)
    at = release.progress.get("at") if release.progress else None
    stalled = release.status == "building" and (
        at is None or utcnow() - as_utc(datetime.fromisoformat(at)) > timedelta(minutes=STALE_BUILD_MINUTES))
    if release.status not in ("failed", "approved") and not stalled:
        raise Conflict(f"release {release.release_id} is {release.status}: only a failed or stalled build is retried")
    release.status = "approved"
    release.error = None
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="research_release",
           entity_id=release.release_id, summary={"status": "approved", "retry": True})
    return release
