"""Reanalysis of reported cases: when the reference data a released result rests on changes, or on request.

The case is re-run with the deployment's current data, and what moved is kept with the case: reported findings
reclassified or gone, new candidates in the top ranks, the reference versions that changed. A reported case whose
finding changed class is flagged and opened for amendment; one where nothing reported moved returns to reported.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict
from gmc.common.time import utcnow
from gmc.interpretation.models import InterpretationRun
from gmc.registry.models import Case
from gmc.reporting import adapter, service
from gmc.reporting import repository as repo
from gmc.reporting.models import Reanalysis
from gmc.reporting.workflow import Action, State

#: Rank below which a new candidate is worth a look.
TOP_RANKS = 10


def current_reference_versions(session: Session, run: InterpretationRun) -> dict[str, str]:
    """The versions a new run of this kind would rest on now (same keys as the run's own provenance)."""
    if run.kind == "rare":
        from gmc.interpretation.rare import repository as rare_repo
        from gmc.interpretation.rare.files import annotation_sources
        from gmc.interpretation.rare.ranking import RANKING_METHOD
        from gmc.phenotype.ontology import get_ontology

        build = (run.inputs or {}).get("build") or "GRCh38"
        sources = annotation_sources(build, True).provenance()
        ontology = get_ontology()
        now = {"clinvar": sources.get("clinvar"), "transcripts": sources.get("transcripts"),
               "frequencies": sources.get("frequencies"), "ranking": RANKING_METHOD,
               "hpo": getattr(ontology, "release", None) or getattr(ontology, "data_version", None)}
        panels = []
        for panel in (run.inputs or {}).get("panels") or []:
            current = rare_repo.current_panel(session, panel["panel_key"])
            row = current if current is not None else None
            panels.append(f"{panel['name']} v{row.version if row else panel['version']} "
                          f"({(row.checksum if row else panel['checksum'])[:12]})")
        if panels:
            now["panels"] = "; ".join(panels)
        return {k: str(v) for k, v in now.items() if v is not None}
    from gmc.interpretation.cancer import repository as cancer_repo
    from gmc.interpretation.cancer.service import base_knowledgebase

    out = {str(item["path"]): str(item.get("sha256", ""))[:16] for item in base_knowledgebase().provenance()}
    live = [f"{evidence_id} v{number} ({status})" for evidence_id, status, number, _ in
            cancer_repo.live_versions(session)]
    out["curation"] = "; ".join(live) or "none"
    return out


def _run_versions(run: InterpretationRun) -> dict[str, str]:
    provenance = dict(run.provenance or {})
    if run.kind == "rare":
        return adapter.rare_reference_versions(provenance)
    return adapter.cancer_reference_versions(provenance)


def reference_changes(session: Session, run: InterpretationRun) -> dict[str, dict[str, str | None]]:
    """What changed in the reference data since a run: {name: {previous, current}} (software version aside)."""
    before, now = _run_versions(run), current_reference_versions(session, run)
    return {key: {"previous": before.get(key), "current": value} for key, value in now.items()
            if key not in ("gmc_version", "version") and before.get(key) != value}


def _released_run(session: Session, case: Case) -> InterpretationRun | None:
    """The run the case's reported result rests on: the newest reanalysis run that confirmed it unchanged, else
    the run its findings were selected from (or the latest done run of a case reported with no finding)."""
    confirmed = next((r for r in repo.reanalyses_of(session, case.id)
                      if r.status == "done" and r.new_run_id and not r.needs_amendment), None)
    findings = repo.findings_of(session, case.id)
    if confirmed is not None and (not findings or confirmed.new_run_id > findings[0].run_id):
        return session.get(InterpretationRun, confirmed.new_run_id)
    if findings:
        return session.get(InterpretationRun, findings[0].run_id)
    return repo.latest_done_run(session, case.id, service.RUN_KINDS[case.programme_arm])


def cases_due_for_reanalysis(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Reported or closed cases in scope whose released result rests on reference data that has since changed."""
    principal.require(Permission.INTERPRETATION_READ)
    out = []
    for case, review in repo.interpreted_cases(session, principal.trust_scope):
        if service.state_of(review) not in (State.REPORTED, State.CLOSED):
            continue
        run = _released_run(session, case)
        if run is None:
            continue
        changes = reference_changes(session, run)
        if changes:
            out.append({"case_id": case.case_id, "run_id": run.run_id, "changes": changes})
    return out


def _new_run(session: Session, principal: Principal, case: Case, previous: InterpretationRun) -> InterpretationRun:
    """Runs the case again with today's reference data, from the same inputs as the released result."""
    if previous.kind == "rare":
        from gmc.interpretation.rare import repository as rare_repo
        from gmc.interpretation.rare import service as rare

        # A panel with a newer version is re-applied at that version: the new run tiers against today's panel.
        for applied, panel in rare_repo.applied_panels(session, case.id):
            current = rare_repo.current_panel(session, panel.panel_key)
            if current is not None and current.id != panel.id:
                rare.remove_panel(session, principal, case.case_id, applied.id)
                rare.apply_panel(session, principal, case.case_id, panel.panel_key,
                                 reason=f"reanalysis: {panel.name} v{panel.version} -> v{current.version}")
        return rare.run_rare(session, principal, case.case_id)
    from gmc.interpretation.cancer import service as cancer

    inputs = previous.inputs or {}
    return cancer.run_somatic(session, principal, case, tumour_type=inputs.get("tumour_type"),
                              vcf_path=inputs.get("vcf"), cna_path=inputs.get("cna"),
                              fusions_path=inputs.get("fusions"), germline_vcf=inputs.get("germline_vcf"))


def compare(session: Session, case: Case, previous: InterpretationRun, new: InterpretationRun) -> dict[str, Any]:
    """What moved for the case: reported findings reclassified or gone, new top candidates, reference changes."""
    before = {c.key: c for c in service.candidates_of_run(session, case, previous)}
    after = {c.key: c for c in service.candidates_of_run(session, case, new)}
    reclassified, gone = [], []
    for finding in repo.findings_of(session, case.id):
        now = after.get(finding.finding_key)
        if now is None:
            gone.append({"gene": finding.gene, "finding": finding.finding_key, "class": finding.classification})
        elif (now.classification or None) != (finding.classification or None) or (now.tier or None) != (finding.tier or None):
            reclassified.append({"gene": finding.gene, "finding": finding.finding_key,
                                 "class_before": finding.classification, "class_now": now.classification,
                                 "tier_before": finding.tier, "tier_now": now.tier})
    new_candidates = [{"gene": c.gene, "finding": c.key, "rank": c.rank, "class": c.classification, "tier": c.tier}
                      for key, c in after.items() if key not in before and (c.rank or 0) <= TOP_RANKS]
    ranking = (new.results or {}).get("comparison") or {}
    return {"previous_run": previous.run_id, "new_run": new.run_id, "reclassified": reclassified, "gone": gone,
            "new_candidates": new_candidates,
            "moved_genes": (ranking.get("moved") or [])[:TOP_RANKS], "new_genes": (ranking.get("new") or [])[:TOP_RANKS],
            "reference": (ranking.get("inputs") or {}).get("reference_data") or {}}


def reanalyse_case(session: Session, principal: Principal, case_id: str, *, reason: str = "",
                   trigger: str = "on_request") -> Reanalysis:
    """Re-runs a reported case now and records what moved; a reclassified finding opens an amendment. Audited."""
    case = service.case_in_scope(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    review = repo.review_of(session, case.id)
    if review is None or service.state_of(review) not in (State.REPORTED, State.CLOSED):
        raise Conflict(f"case {case.case_id} is {service.LABELS[service.state_of(review)]}: only a reported or "
                       "closed case is reanalysed", field="state")
    previous = _released_run(session, case)
    if previous is None:
        raise Conflict(f"case {case.case_id} has no run to reanalyse", field="case_id")
    reason = (reason or "").strip() or "reanalysis on request"
    service._move(session, principal, case, review, Action.REQUEST_REANALYSIS, reason=reason)
    row = Reanalysis(case_id=case.id, trigger=trigger, reason=reason, previous_run_id=previous.id,
                     changes={"reference": reference_changes(session, previous)}, requested_by=principal.username,
                     requested_at=utcnow(), status="requested")
    session.add(row)
    session.flush()
    new = _new_run(session, principal, case, previous)
    changes = compare(session, case, previous, new)
    changes["reference"] = changes["reference"] or row.changes["reference"]
    row.new_run_id, row.changes, row.status, row.finished_at = new.id, changes, "done", utcnow()
    row.needs_amendment = bool(changes["reclassified"] or changes["gone"])
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.REANALYSE, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "trigger": trigger, "previous_run": previous.run_id,
                                            "new_run": new.run_id, "reclassified": len(changes["reclassified"]),
                                            "gone": len(changes["gone"]), "new_candidates": len(changes["new_candidates"]),
                                            "needs_amendment": row.needs_amendment})
    if row.needs_amendment:
        moved = [f"{c['gene']} {c['class_before']} → {c['class_now']}" for c in changes["reclassified"]]
        moved += [f"{c['gene']} no longer found" for c in changes["gone"]]
        review.amendment_flag = f"reanalysis {new.run_id}: " + "; ".join(moved)
        service._move(session, principal, case, review, Action.REQUEST_AMENDMENT, reason=review.amendment_flag)
        service._ensure_draft(session, principal, case, amendment_kind="amended", amendment_reason=review.amendment_flag)
    else:
        service._move(session, principal, case, review, Action.REANALYSIS_UNCHANGED,
                      reason=f"reanalysis {new.run_id}: no reported finding changed")
    return row


def reanalyse_changed(session: Session, principal: Principal) -> list[Reanalysis]:
    """Reanalyses every reported case in scope whose reference data changed since its released result."""
    done = []
    for due in cases_due_for_reanalysis(session, principal):
        changed = ", ".join(due["changes"])
        done.append(reanalyse_case(session, principal, due["case_id"], trigger="reference_data",
                                   reason=f"reference data changed: {changed}"))
    return done


def reanalysis_dict(row: Reanalysis) -> dict[str, Any]:
    """A reanalysis as plain data."""
    return {"trigger": row.trigger, "reason": row.reason, "status": row.status, "changes": row.changes,
            "needs_amendment": row.needs_amendment, "requested_by": row.requested_by,
            "requested_at": row.requested_at, "finished_at": row.finished_at}
