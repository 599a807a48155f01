"""Rare-disease interpretation rules: versioned panels, runs of a case with re-analysis, ACMG overrides, diagnosis."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gmc import __version__
from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict, NotFound, ValidationFailed
from gmc.common.paging import ListState, Page
from gmc.common.time import utcnow
from gmc.interpretation.models import InterpretationRun
from gmc.interpretation.rare import repository as repo
from gmc.interpretation.rare.acmg import (
    CRITERIA,
    AcmgInputError,
    AcmgResult,
    CriterionResult,
    Direction,
    Override,
    Strength,
    apply_overrides,
    combine,
)
from gmc.interpretation.rare.evidence import acmg_dict as evidence_acmg_dict
from gmc.interpretation.rare.evidence import criterion_dict as evidence_criterion_dict
from gmc.interpretation.rare.inheritance import Individual, Pedigree, Sex
from gmc.interpretation.rare.models import AcmgOverride, CaseDiagnosis, CaseNote, CasePanel, GenePanel
from gmc.interpretation.rare.panels import (
    PANELAPP_CORE,
    Confidence,
    ModeOfInheritance,
    Panel,
    PanelFileError,
    PanelGene,
    PanelNotFound,
    custom_panel,
    find_panels,
    read_panelapp,
)
from gmc.refdata.manifest import provenance_versions
from gmc.registry.consent import ConsentAction, is_allowed
from gmc.registry.models import Case, Participant
from gmc.registry.service import case_summary, record_case_read, record_list_read, view_case
from gmc.settings import get_settings

log = logging.getLogger(__name__)

#: Genes kept in a stored run (ranked best first) and genes whose variants get an automatic ACMG evaluation.
KEEP_GENES = 100
ACMG_GENES = 25
#: How far a gene must move in rank to be reported as moved between two runs.
RANK_MOVE = 1


# ----------------------------------------------------------------------------- panels


def _panel_genes(panel: Panel) -> list[dict[str, Any]]:
    return [{"symbol": g.symbol, "hgnc_id": g.hgnc_id, "confidence": int(g.confidence),
             "mode": g.mode_of_inheritance.value, "mode_text": g.mode_of_inheritance_text} for g in panel.genes]


def _checksum(genes: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(genes, sort_keys=True).encode()).hexdigest()


def import_panelapp(session: Session, *, actor: Any, directory: Path | None = None) -> dict[str, int]:
    """Imports the PanelApp panels in refdata as versioned rows: a panel whose genes changed gets a new version."""
    source = Path(directory or get_settings().refdata_path("panelapp")) / PANELAPP_CORE
    try:
        file_sha = hashlib.sha256(source.read_bytes()).hexdigest()
        panels = _read_panelapp(str(source.parent), file_sha)
    except (PanelFileError, OSError) as exc:
        raise ValidationFailed(str(exc), field="panelapp") from exc
    now = utcnow()
    counts = {"panels": len(panels), "new": 0, "new_versions": 0, "unchanged": 0}
    existing = repo.current_panel_heads(session, "panelapp")
    superseded: list[int] = []
    for key, panel in panels.items():
        genes = _panel_genes(panel)
        checksum = _checksum(genes)
        head = existing.get(key)
        if head is not None and head[2] == checksum:
            counts["unchanged"] += 1
            continue
        version = 1
        if head is not None:
            superseded.append(head[0])
            version = head[1] + 1
            counts["new_versions"] += 1
        else:
            counts["new"] += 1
        session.add(GenePanel(panel_key=key, name=panel.name, version=version, source_version=panel.version,
                              checksum=checksum, source="panelapp",
                              source_detail=f"{PANELAPP_CORE} sha256:{file_sha[:16]}",
                              disease_group=panel.disease_group, relevant_disorders=list(panel.relevant_disorders),
                              genes=genes, current=True, imported_at=now, imported_by=actor.name))
    repo.mark_not_current(session, superseded)
    session.flush()
    if counts["new"] or counts["new_versions"]:
        record(session, actor=actor, verb=AuditVerb.IMPORT, entity_type="gene_panel", entity_id="panelapp",
               summary={**counts, "source_sha256": file_sha[:16]})
    _panel_cache.clear()
    return counts


@lru_cache(maxsize=2)
def _read_panelapp(directory: str, file_sha: str) -> dict[str, Panel]:
    """The parsed PanelApp export, once per file content (file_sha is part of the cache key on purpose)."""
    return read_panelapp(Path(directory))


def core_panel(row: GenePanel) -> Panel:
    """A stored panel version as the pure core's Panel."""
    genes = tuple(PanelGene(g["symbol"], Confidence(int(g["confidence"])), ModeOfInheritance(g["mode"]),
                            g.get("mode_text") or "", g.get("hgnc_id")) for g in row.genes)
    return Panel(row.panel_key, row.name, genes, f"{row.version}", row.disease_group, "",
                 tuple(row.relevant_disorders), row.source)


_panel_cache: dict[tuple[int, int], dict[str, Panel]] = {}
_panel_lock = threading.Lock()


def _all_core_panels(session: Session) -> dict[str, Panel]:
    state = repo.panel_state(session)
    with _panel_lock:
        cached = _panel_cache.get(state)
    if cached is None:
        cached = {row.panel_key: core_panel(row) for row in repo.current_panels(session) if row.source == "panelapp"}
        with _panel_lock:
            _panel_cache.clear()
            _panel_cache[state] = cached
    return cached


def find_panel(session: Session, key: str, version: int | None = None) -> GenePanel:
    """A panel by id or exact name (the newest version unless one is named); NotFound when there is none."""
    key = (key or "").strip()
    if not key:
        raise NotFound("name a panel (PanelApp id or name)", field="panel")
    if version is not None:
        rows = [r for r in repo.panel_versions(session, key) if r.version == version]
        if not rows:
            raise NotFound(f"no version {version} of panel {key}", field="panel")
        return rows[0]
    row = repo.current_panel(session, key) or repo.panel_by_name(session, key)
    if row is None:
        raise NotFound(f"no panel with id or name {key!r} (import the PanelApp panels first?)", field="panel")
    return row


def suggest_panels(session: Session, case: Case, *, limit: int = 5) -> list[dict[str, Any]]:
    """Panels matching the case's clinical indication, best first (empty when none matches)."""
    panels = _all_core_panels(session)
    if not panels:
        return []
    try:
        matches = find_panels(panels, case.referral.clinical_indication, limit=limit)
    except PanelNotFound:
        return []
    return [{"panel_key": m.panel.panel_id, "name": m.panel.name, "score": round(m.score, 1),
             "matched_on": m.matched_on, "green_genes": len(m.panel.green_genes())} for m in matches]


def _require_rare_case(session: Session, principal: Principal, case_id: str, permission: Permission) -> Case:
    principal.require(permission)
    case = view_case(session, principal=principal, case_id=case_id)
    if case.programme_arm != "rare_disease":
        raise ValidationFailed(f"case {case.case_id} is a {case.programme_arm} case, not a rare-disease case",
                               field="case_id")
    return case


def apply_panel(session: Session, principal: Principal, case_id: str, panel: str, *, version: int | None = None,
                reason: str = "chosen") -> CasePanel:
    """Applies a panel version to a case (once); the next run tiers against it."""
    case = _require_rare_case(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    row = find_panel(session, panel, version)
    if any(p.id == row.id for _, p in repo.applied_panels(session, case.id)):
        raise Conflict(f"panel {row.name} v{row.version} is already applied to case {case.case_id}", field="panel")
    applied = CasePanel(case_id=case.id, panel_id=row.id, reason=(reason or "chosen").strip()[:300],
                        applied_by=principal.username, applied_at=utcnow())
    session.add(applied)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "panel_applied": row.panel_key,
                                            "panel_name": row.name, "version": row.version, "reason": applied.reason})
    return applied


def remove_panel(session: Session, principal: Principal, case_id: str, case_panel_pk: int) -> CasePanel:
    """Takes an applied panel off a case (the row stays, marked removed)."""
    case = _require_rare_case(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    applied = repo.case_panel(session, case.id, case_panel_pk)
    if applied is None or applied.removed_at is not None:
        raise NotFound(f"no applied panel {case_panel_pk} on case {case.case_id}", field="panel")
    applied.removed_at, applied.removed_by = utcnow(), principal.username
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "panel_removed": case_panel_pk})
    return applied


def add_custom_panel(session: Session, principal: Principal, case_id: str, name: str,
                     genes: Iterable[str]) -> CasePanel:
    """Creates a custom gene list (all genes green, mode unknown) and applies it to the case."""
    case = _require_rare_case(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("give the gene list a name", field="name")
    symbols = [g.strip() for g in genes if g and g.strip()]
    try:
        panel = custom_panel(name, symbols)
    except PanelFileError as exc:
        raise ValidationFailed(str(exc), field="genes") from exc
    gene_rows = _panel_genes(panel)
    key = f"custom:{repo.count_custom_panels(session) + 1}"
    row = GenePanel(panel_key=key, name=name[:300], version=1, source_version=None, checksum=_checksum(gene_rows),
                    source="custom", source_detail=f"case {case.case_id}", disease_group="", relevant_disorders=[],
                    genes=gene_rows, current=True, imported_at=utcnow(), imported_by=principal.username)
    session.add(row)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="gene_panel", entity_id=key,
           trust_id=case.trust_id, summary={"name": row.name, "genes": len(gene_rows), "case": case.case_id})
    return apply_panel(session, principal, case_id, key, reason="custom gene list")


def panel_dict(row: GenePanel, *, with_genes: bool = False) -> dict[str, Any]:
    """A panel version as plain data."""
    out = {"panel_key": row.panel_key, "name": row.name, "version": row.version, "source": row.source,
           "source_version": row.source_version, "checksum": row.checksum, "source_detail": row.source_detail,
           "genes": len(row.genes), "green_genes": sum(1 for g in row.genes if g["confidence"] == 3),
           "current": row.current, "imported_at": row.imported_at}
    if with_genes:
        out["gene_list"] = row.genes
    return out


# ----------------------------------------------------------------------------- run inputs


def _check_consent(session: Session, participant: Participant) -> None:
    decision = is_allowed(session, participant.id, ConsentAction.INTERPRET)
    if not decision.allowed:
        raise Conflict(f"consent of {participant.participant_id} does not allow interpretation: {decision.reason}",
                       field="case_id")


def _phenotype(session: Session, participant: Participant) -> tuple[list[str], list[str]]:
    rows = repo.active_observations(session, participant.id)
    observed = list(dict.fromkeys(o.hpo_id for o in rows if not o.excluded))
    excluded = list(dict.fromkeys(o.hpo_id for o in rows if o.excluded))
    return observed, excluded


def _sex(text: str | None) -> Sex:
    return {"male": Sex.MALE, "female": Sex.FEMALE}.get((text or "").lower(), Sex.UNKNOWN)


def _pedigree_rows(session: Session, case: Case, samples: dict[int, str]) -> list[dict[str, Any]]:
    """The sequenced family members as plain rows (VCF sample, sex, affected, parents), proband first."""
    proband = session.get(Participant, case.proband_id)
    assert proband is not None
    members = repo.family_members(session, case.family_id) if case.family_id else []
    relation = {m.participant_id: m for m in members}
    parents = {m.relation: m.participant_id for m in members if m.relation in ("mother", "father")}
    rows = [{"individual_id": samples[case.proband_id], "participant_id": proband.participant_id,
             "sex": _sex(proband.sex).value, "affected": True, "relation": "proband",
             "father_id": samples.get(parents.get("father", -1)), "mother_id": samples.get(parents.get("mother", -1))}]
    for pk, sample in samples.items():
        if pk == case.proband_id or pk not in relation:
            continue
        person = session.get(Participant, pk)
        member = relation[pk]
        affected = {"affected": True, "unaffected": False}.get(member.affected)
        is_sibling = member.relation == "sibling"
        rows.append({"individual_id": sample, "participant_id": person.participant_id if person else None,
                     "sex": _sex(person.sex if person else None).value, "affected": affected,
                     "relation": member.relation,
                     "father_id": samples.get(parents.get("father", -1)) if is_sibling else None,
                     "mother_id": samples.get(parents.get("mother", -1)) if is_sibling else None})
    return rows


def pedigree_of(rows: Sequence[dict[str, Any]]) -> Pedigree:
    """Builds the core's pedigree from stored run rows (the first row is the proband)."""
    people = tuple(Individual(r["individual_id"], Sex(r["sex"]), r["affected"], r.get("father_id"),
                              r.get("mother_id")) for r in rows)
    return Pedigree(rows[0]["individual_id"], people, rows[0]["individual_id"])


def gather_inputs(session: Session, case: Case, *, vcf_path: str | None = None,
                  build: str | None = None) -> dict[str, Any]:
    """Everything a run reads, as plain data: proband HPO profile, pedigree, VCF, build and applied panels.

    The VCF is the given path (its first sample is the proband, analysed alone), else the case's stored
    germline data sets (relatives sequenced in the proband's file join the pedigree), else the file of the
    case's last finished run.
    """
    from gmc.genomics.vcf import VcfFormatError, normalise_build, open_vcf
    from gmc.interpretation.rare.files import RareInputError, check_terms

    proband = session.get(Participant, case.proband_id)
    assert proband is not None
    _check_consent(session, proband)
    observed, excluded = _phenotype(session, proband)
    if not observed:
        raise ValidationFailed(f"participant {proband.participant_id} has no observed HPO term to rank genes by; "
                               "capture the phenotype first", field="phenotype")
    try:
        observed, newer_observed = check_terms(observed, f"participant {proband.participant_id}")
        excluded, newer_excluded = check_terms(excluded, f"participant {proband.participant_id} (excluded)")
    except RareInputError as exc:
        raise ValidationFailed(str(exc), field="phenotype") from exc
    datasets = [] if vcf_path else list(repo.germline_datasets(session, case.id))
    samples: dict[int, str] = {}
    if vcf_path:
        path, source = str(vcf_path).strip(), "given path"
    else:
        own = [d for d in datasets if d.participant_id == case.proband_id]
        previous = repo.latest_done_run(session, case.id)
        if own:
            path, source = own[0].source_path, f"genome data set {own[0].dataset_id}"
            build = build or own[0].build
            samples = {d.participant_id: d.vcf_sample for d in datasets if d.source_path == path}
        elif previous is not None:
            # Re-analysis of a case without stored genome data reads the file its last run read.
            path, source = previous.inputs["vcf"], f"as run {previous.run_id}"
            build = build or previous.inputs["build"]
            vcf_path = path
        else:
            raise ValidationFailed(f"case {case.case_id} has no germline genome data set of the proband; "
                                   "give a VCF path", field="vcf")
    try:
        build = normalise_build(build or "GRCh38")
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="build") from exc
    if not Path(path).is_file():
        raise ValidationFailed(f"no VCF at {path}", field="vcf")
    try:
        reader = open_vcf(path, build=build)
        vcf_samples = list(reader.samples)
        reader.close()
    except (VcfFormatError, OSError) as exc:
        raise ValidationFailed(f"{path}: {exc}", field="vcf") from exc
    if not vcf_samples:
        raise ValidationFailed(f"{path}: the VCF has no sample columns", field="vcf")
    if vcf_path:
        samples = {case.proband_id: vcf_samples[0]}
    samples = {pk: s for pk, s in samples.items() if s in vcf_samples}
    if case.proband_id not in samples:
        raise ValidationFailed(f"{path}: the proband's sample is not in the VCF", field="vcf")
    panels = [{"panel_key": p.panel_key, "name": p.name, "version": p.version, "checksum": p.checksum,
               "source": p.source, "panel_pk": p.id} for _, p in repo.applied_panels(session, case.id)]
    return {"vcf": path, "vcf_source": source, "build": build, "observed_terms": observed,
            "excluded_terms": excluded, "terms_newer_than_release": newer_observed + newer_excluded,
            "pedigree": _pedigree_rows(session, case, samples), "panels": panels,
            "clinical_indication": case.referral.clinical_indication}


# ----------------------------------------------------------------------------- analysis


# One shape for stored ACMG results: the core's (RESULT.json and stored runs alike).
acmg_dict = evidence_acmg_dict
criterion_dict = evidence_criterion_dict


def _criteria_from(stored: dict[str, Any]) -> list[CriterionResult]:
    return [CriterionResult(c["code"], bool(c["met"]), Strength(c["strength"]), Direction(c["direction"]),
                            c["reason"]) for c in stored["criteria"] if c.get("source", "automatic") == "automatic"]


def analyse(inputs: dict[str, Any], *, limit: int = KEEP_GENES) -> dict[str, Any]:
    """Runs the rare-disease analysis on gathered inputs (no database): ranked genes, tiers, ACMG, provenance."""
    import time

    from gmc.interpretation.rare import files as rare_files
    from gmc.interpretation.rare.ranking import RANKING_METHOD
    from gmc.phenotype.ontology import get_ontology

    started = time.perf_counter()
    build = inputs["build"]
    pedigree = pedigree_of(inputs["pedigree"])
    members = frozenset(p.individual_id for p in pedigree.individuals)
    sources = rare_files.annotation_sources(build, True)
    try:
        candidates, _, annotation = rare_files.read_candidates(Path(inputs["vcf"]), sources, build=build,
                                                               members=members)
    except rare_files.RareInputError as exc:
        raise ValidationFailed(str(exc), field="vcf") from exc
    candidates = [replace(c, calls={k: v for k, v in c.calls.items() if k in members}) for c in candidates]
    panels = [core_panel_from_inputs(p) for p in inputs.get("panel_rows", [])]
    try:
        interpreted = rare_files.interpret_candidates(
            candidates, annotation, pedigree, inputs["observed_terms"], inputs["excluded_terms"], panels, sources,
            build=build, limit=limit,
        )
    except rare_files.RareInputError as exc:
        raise ValidationFailed(str(exc), field="settings") from exc
    entries = interpreted["genes"]
    ontology = get_ontology()
    tiers = {"1": 0, "2": 0, "3": 0, "none": 0}
    for entry in entries:
        tiers[str(entry["tier"]) if entry["tier"] else "none"] += 1
    provenance = {**sources.provenance(), "gmc_version": __version__,
                  "reference_data": provenance_versions(["transcripts", "clinvar", "constraint", "clingen", "genome",
                                                     "gene-names"], build=sources.build),
                  "hpo": getattr(ontology, "release", None) or getattr(ontology, "data_version", None),
                  "ranking": RANKING_METHOD, "acmg": interpreted["acmg"],
                  "panels": [f"{p['name']} v{p['version']} ({p['checksum'][:12]})" for p in inputs["panels"]],
                  "seconds": round(time.perf_counter() - started, 3)}
    return {"genes": entries, "tiers": tiers, "variants_weighed": len(candidates),
            "proband": pedigree.proband.individual_id, "provenance": provenance}


def core_panel_from_inputs(row: dict[str, Any]) -> Panel:
    """A panel snapshot carried in a run's inputs as the core's Panel."""
    genes = tuple(PanelGene(g["symbol"], Confidence(int(g["confidence"])), ModeOfInheritance(g["mode"]),
                            g.get("mode_text") or "", g.get("hgnc_id")) for g in row["genes"])
    return Panel(row["panel_key"], row["name"], genes, str(row["version"]), source=row["source"])


def compare_rankings(previous: Sequence[dict[str, Any]], current: Sequence[dict[str, Any]], *,
                     top: int = 20) -> dict[str, Any]:
    """What moved between two runs' ranked genes: rank or tier changes, new and dropped candidates (top genes)."""
    def key(g: dict[str, Any]) -> str:
        return g.get("hgnc_id") or g["gene"]

    before = {key(g): g for g in previous}
    after = {key(g): g for g in current}
    moved, new, dropped = [], [], []
    for g in current[:top]:
        old = before.get(key(g))
        if old is None or old["rank"] > top:
            new.append({"gene": g["gene"], "rank": g["rank"], "previous_rank": old["rank"] if old else None,
                        "tier": g["tier"]})
        elif abs(old["rank"] - g["rank"]) >= RANK_MOVE or old["tier"] != g["tier"]:
            moved.append({"gene": g["gene"], "rank": g["rank"], "previous_rank": old["rank"], "tier": g["tier"],
                          "previous_tier": old["tier"], "score": g["score"], "previous_score": old["score"]})
    for g in previous[:top]:
        now = after.get(key(g))
        if now is None or now["rank"] > top:
            dropped.append({"gene": g["gene"], "previous_rank": g["rank"], "rank": now["rank"] if now else None})
    return {"moved": moved, "new": new, "dropped": dropped}


def _input_changes(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """What changed in the inputs between two runs: HPO terms, panels and reference data versions."""
    changes: dict[str, Any] = {}
    for field in ("observed_terms", "excluded_terms"):
        old, new = set(previous.get(field, [])), set(current.get(field, []))
        if old != new:
            changes[field] = {"added": sorted(new - old), "removed": sorted(old - new)}
    old_panels = {f"{p['name']} v{p['version']}" for p in previous.get("panels", [])}
    new_panels = {f"{p['name']} v{p['version']}" for p in current.get("panels", [])}
    if old_panels != new_panels:
        changes["panels"] = {"added": sorted(new_panels - old_panels), "removed": sorted(old_panels - new_panels)}
    if previous.get("vcf") != current.get("vcf"):
        changes["vcf"] = {"previous": previous.get("vcf"), "current": current.get("vcf")}
    return changes


# ----------------------------------------------------------------------------- runs


def _new_run_id(session: Session) -> str:
    number = repo.next_run_number(session)
    while repo.get_run(session, f"IR{number:06d}") is not None:
        number += 1
    return f"IR{number:06d}"


def queue_rare_run(session: Session, principal: Principal, case_id: str, *, vcf_path: str | None = None,
                   build: str | None = None) -> InterpretationRun:
    """Checks and gathers a run's inputs and stores it queued (bad input raises, nothing stored); audited."""
    case = _require_rare_case(session, principal, case_id, Permission.INTERPRETATION_WRITE)
    inputs = gather_inputs(session, case, vcf_path=vcf_path, build=build)
    run = InterpretationRun(run_id=_new_run_id(session), case_id=case.id, kind="rare", status="queued",
                            inputs=inputs, results=None, provenance={"gmc_version": __version__},
                            created_by=principal.username, created_by_id=principal.user_id or None,
                            created_at=utcnow())
    session.add(run)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.INTERPRET, entity_type="interpretation_run",
           entity_id=run.run_id, trust_id=case.trust_id,
           summary={"case": case.case_id, "kind": "rare", "status": "queued", "vcf_source": inputs["vcf_source"],
                    "terms": len(inputs["observed_terms"]), "panels": [p["panel_key"] for p in inputs["panels"]]})
    return run


def execute_run(session: Session, run: InterpretationRun) -> InterpretationRun:
    """Computes a queued run and stores its results, provenance and the comparison with the case's previous run."""
    inputs = dict(run.inputs)
    panel_rows = []
    for p in inputs["panels"]:
        row = session.get(GenePanel, p["panel_pk"])
        if row is not None:
            panel_rows.append({**p, "genes": row.genes})
    run.status = "running"
    session.flush()
    result = analyse({**inputs, "panel_rows": panel_rows})
    previous = repo.latest_done_run(session, run.case_id, before_pk=run.id)
    if previous is not None and previous.results:
        changed = _input_changes(previous.inputs, inputs)
        reference = {key: {"previous": previous.provenance.get(key), "current": value}
                     for key, value in result["provenance"].items()
                     if key not in ("seconds", "panels") and previous.provenance.get(key) != value}
        if reference:
            # New HPO, ClinVar, transcript or software versions: the other reason a ranking moves.
            changed["reference_data"] = reference
        result["comparison"] = {"previous_run": previous.run_id, "inputs": changed,
                                **compare_rankings(previous.results["genes"], result["genes"])}
    run.results = result
    run.provenance = result["provenance"]
    run.status = "done"
    run.finished_at = utcnow()
    run.error = None
    session.flush()
    return run


def run_rare(session: Session, principal: Principal, case_id: str, *, vcf_path: str | None = None,
             build: str | None = None) -> InterpretationRun:
    """Runs the rare-disease analysis of a case now and stores it (bad input raises; nothing is stored)."""
    run = queue_rare_run(session, principal, case_id, vcf_path=vcf_path, build=build)
    return execute_run(session, run)


def execute_in_background(database: Any, run_pk: int) -> None:
    """Computes a queued run in its own session (for a background thread); a failure is stored on the run."""
    with database.session() as session:
        run = session.get(InterpretationRun, run_pk)
        if run is None or run.status != "queued":
            return
        try:
            execute_run(session, run)
            session.commit()
            return
        except Exception as exc:  # noqa: BLE001 - any failure must end the job as failed, with the reason
            session.rollback()
            log.warning("rare run %s failed: %s", run_pk, type(exc).__name__)
            message = getattr(exc, "message", None) or str(exc)
    with database.session() as session:
        run = session.get(InterpretationRun, run_pk)
        if run is not None:
            run.status, run.error, run.finished_at = "failed", message[:2000], utcnow()
            session.commit()


def get_run(session: Session, principal: Principal, run_id: str) -> InterpretationRun:
    """A rare run whose case is in the caller's scope."""
    principal.require(Permission.INTERPRETATION_READ)
    run = repo.get_run(session, run_id)
    case = session.get(Case, run.case_id) if run else None
    if run is None or case is None or run.kind != "rare" or not principal.can_see_trust(case.trust_id):
        raise NotFound(f"no rare-disease run {run_id} at your trusts", field="run_id")
    return run


def read_run(session: Session, principal: Principal, run_id: str) -> InterpretationRun:
    """A run shown to the caller (its results are a person's genome findings): audited under its case."""
    run = get_run(session, principal, run_id)
    record_case_read(session, principal, session.get(Case, run.case_id), f"run {run.run_id}")
    return run


def run_dict(run: InterpretationRun, *, with_results: bool = True) -> dict[str, Any]:
    """A run as plain data for the API."""
    out = {"run_id": run.run_id, "kind": run.kind, "status": run.status, "inputs": run.inputs,
           "created_by": run.created_by, "created_at": run.created_at, "finished_at": run.finished_at,
           "error": run.error, "provenance": run.provenance}
    if with_results:
        out["results"] = run.results
    return out


# ----------------------------------------------------------------------------- ACMG


def _find_variant(run: InterpretationRun, variant_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for gene in (run.results or {}).get("genes", []):
        for variant in gene["variants"]:
            if variant["variant"] == variant_id:
                return gene, variant
    raise NotFound(f"variant {variant_id} is not among run {run.run_id}'s ranked variants", field="variant_id")


def current_acmg(session: Session, case: Case, variant: dict[str, Any],
                 active: Sequence[AcmgOverride] | None = None) -> AcmgResult | None:
    """A variant's ACMG result now: the run's automatic criteria with the case's active overrides applied."""
    if "acmg" not in variant:
        return None
    if active is None:
        active = repo.overrides_of(session, case.id, variant["variant"], active_only=True)
    overrides = [Override(o.code, o.met, o.reason, Strength(o.strength) if o.strength else None, o.created_by)
                 for o in active if o.variant_id == variant["variant"]]
    return combine(apply_overrides(_criteria_from(variant["acmg"]), overrides))


def override_criterion(session: Session, principal: Principal, run_id: str, variant_id: str, code: str, *,
                       met: bool, reason: str, strength: str | None = None) -> AcmgResult:
    """A scientist sets one ACMG criterion of a variant (met or not, strength) with a reason; class recomputed."""
    principal.require(Permission.INTERPRETATION_WRITE)
    run = get_run(session, principal, run_id)
    case = session.get(Case, run.case_id)
    assert case is not None
    principal.require_trust(case.trust_id)
    gene, variant = _find_variant(run, variant_id)
    code = (code or "").strip().upper()
    if code not in CRITERIA:
        raise ValidationFailed(f"{code!r} is not an ACMG/AMP criterion", field="code")
    if not (reason or "").strip():
        raise ValidationFailed("say why: an override needs a reason", field="reason")
    try:
        chosen = Strength(strength) if strength else None
    except ValueError as exc:
        raise ValidationFailed(f"strength must be one of {', '.join(s.value for s in Strength)}",
                               field="strength") from exc
    before = current_acmg(session, case, variant)
    if before is None:
        raise ValidationFailed(f"variant {variant_id} has no ACMG evaluation in run {run.run_id}", field="variant_id")
    now = utcnow()
    for old in repo.overrides_of(session, case.id, variant_id, active_only=True):
        if old.code == code:
            old.superseded_at = now
    try:
        after = combine(apply_overrides(before.criteria, [Override(code, met, reason.strip(), chosen,
                                                                    principal.username)]))
    except AcmgInputError as exc:
        raise ValidationFailed(str(exc), field="code") from exc
    row = AcmgOverride(case_id=case.id, variant_id=variant_id, gene=gene["gene"], code=code, met=met,
                       strength=chosen.value if chosen else None, reason=reason.strip(),
                       class_before=before.classification.value, class_after=after.classification.value,
                       created_by=principal.username, created_by_id=principal.user_id or None, created_at=now)
    session.add(row)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.OVERRIDE, entity_type="acmg_criterion",
           entity_id=f"{case.case_id}:{variant_id}:{code}", trust_id=case.trust_id,
           summary={"case": case.case_id, "run": run.run_id, "gene": gene["gene"], "variant": variant_id,
                    "code": code, "met": met, "strength": row.strength, "reason": row.reason,
                    "class_before": row.class_before, "class_after": row.class_after,
                    "points_before": before.points, "points_after": after.points})
    if row.class_before != row.class_after:
        record(session, actor=principal.actor, verb=AuditVerb.CLASSIFY, entity_type="variant",
               entity_id=f"{case.case_id}:{variant_id}", trust_id=case.trust_id,
               summary={"case": case.case_id, "gene": gene["gene"], "from": row.class_before,
                        "to": row.class_after, "points": after.points})
    return after


def override_history(session: Session, principal: Principal, case_id: str,
                     variant_id: str | None = None) -> list[dict[str, Any]]:
    """Every override of a case (of one variant), oldest first, with who, when, why and the classes."""
    case = _require_rare_case(session, principal, case_id, Permission.INTERPRETATION_READ)
    record_case_read(session, principal, case, "ACMG overrides")
    return [{"variant": o.variant_id, "gene": o.gene, "code": o.code, "met": o.met, "strength": o.strength,
             "reason": o.reason, "class_before": o.class_before, "class_after": o.class_after,
             "by": o.created_by, "at": o.created_at, "active": o.superseded_at is None}
            for o in repo.overrides_of(session, case.id, variant_id)]


# ----------------------------------------------------------------------------- notes and diagnosis


def add_note(session: Session, principal: Principal, case_id: str, text: str, *, tags: Iterable[str] = (),
             gene: str | None = None, variant_id: str | None = None) -> CaseNote:
    """Adds a note (with tags) to a case, a gene or a variant; audited."""
    case = _require_rare_case(session, principal, case_id, Permission.INTERPRETATION_READ)
    body = (text or "").strip()
    if not body:
        raise ValidationFailed("the note is empty", field="text")
    clean_tags = sorted({t.strip().lower()[:40] for t in tags if t and t.strip()})
    note = CaseNote(case_id=case.id, gene=(gene or "").strip() or None, variant_id=(variant_id or "").strip() or None,
                    text=body, tags=clean_tags, author=principal.username, author_id=principal.user_id or None,
                    created_at=utcnow())
    session.add(note)
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CREATE, entity_type="rare_case_note", entity_id=note.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "gene": note.gene, "variant": note.variant_id,
                                            "tags": clean_tags, "length": len(body)})
    return note


def choose_diagnosis(session: Session, principal: Principal, run_id: str, gene: str, *,
                     variant_ids: Sequence[str] = (), note: str = "") -> CaseDiagnosis:
    """Records the diagnosis (gene, variants, disease) from a run on the case and moves the case to review."""
    principal.require(Permission.INTERPRETATION_WRITE)
    run = get_run(session, principal, run_id)
    case = session.get(Case, run.case_id)
    assert case is not None
    principal.require_trust(case.trust_id)
    entry = next((g for g in (run.results or {}).get("genes", []) if g["gene"] == gene or g["hgnc_id"] == gene), None)
    if entry is None:
        raise NotFound(f"gene {gene} is not ranked in run {run.run_id}", field="gene")
    chosen = list(variant_ids) or [v["variant"] for v in entry["variants"]]
    variants = []
    for vid in chosen:
        match = next((v for v in entry["variants"] if v["variant"] == vid), None)
        if match is None:
            raise ValidationFailed(f"variant {vid} is not one of {entry['gene']}'s ranked variants", field="variant_ids")
        acmg = current_acmg(session, case, match)
        variants.append({"variant": vid, "hgvs_c": match.get("hgvs_c"), "hgvs_p": match.get("hgvs_p"),
                         "genotype": match.get("genotype"),
                         "classification": acmg.classification.value if acmg else None})
    now = utcnow()
    for old in repo.diagnoses_of(session, case.id):
        if old.superseded_at is None:
            old.superseded_at = now
    phenotype = entry.get("explanation", {}).get("phenotype", {})
    diagnosis = CaseDiagnosis(case_id=case.id, run_id=run.id, gene=entry["gene"], hgnc_id=entry["hgnc_id"],
                              variants=variants, disease_id=phenotype.get("disease_id"),
                              disease_name=phenotype.get("disease"), mode=entry.get("mode"), note=(note or "").strip(),
                              chosen_by=principal.username, chosen_by_id=principal.user_id or None, chosen_at=now)
    session.add(diagnosis)
    previous_status = case.status
    case.status = "review"
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.CLASSIFY, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "run": run.run_id, "diagnosis_gene": entry["gene"],
                                            "disease": diagnosis.disease_id, "variants": chosen,
                                            "classes": [v["classification"] for v in variants]})
    if previous_status != "review":
        record(session, actor=principal.actor, verb=AuditVerb.TRANSITION, entity_type="case", entity_id=case.id,
               trust_id=case.trust_id, summary={"case": case.case_id, "from": previous_status, "to": "review"})
    return diagnosis


def diagnosis_dict(d: CaseDiagnosis) -> dict[str, Any]:
    """A chosen diagnosis as plain data."""
    return {"gene": d.gene, "hgnc_id": d.hgnc_id, "variants": d.variants, "disease_id": d.disease_id,
            "disease_name": d.disease_name, "mode": d.mode, "note": d.note, "chosen_by": d.chosen_by,
            "chosen_at": d.chosen_at, "current": d.superseded_at is None}


# ----------------------------------------------------------------------------- pages


def _filtered(genes: list[dict[str, Any]], tier: str, gene: str, mode: str) -> list[dict[str, Any]]:
    out = genes
    if tier:
        out = [g for g in out if (str(g["tier"]) if g["tier"] else "none") == tier]
    if gene:
        wanted = gene.strip().upper()
        out = [g for g in out if wanted in g["gene"].upper() or wanted == (g["hgnc_id"] or "").upper()]
    if mode:
        out = [g for g in out if g["mode"] == mode]
    return out


def _term_labels(terms: Sequence[str]) -> dict[str, str]:
    """HPO term names for display ('' for a term the installed release does not know)."""
    from gmc.phenotype.ontology import get_ontology

    ontology = get_ontology()
    labels = {}
    for term in terms:
        try:
            labels[term] = ontology.get(term).name
        except (KeyError, ValueError):
            labels[term] = ""
    return labels


def interpretation_view(session: Session, principal: Principal, case_id: str, *, run_id: str | None = None,
                        tier: str = "", gene: str = "", mode: str = "", show: int | None = 30) -> dict[str, Any]:
    """Everything the case interpretation page shows, the first `show` matching genes (the read is audited)."""
    case = _require_rare_case(session, principal, case_id, Permission.INTERPRETATION_READ)
    runs = list(repo.runs_of_case(session, case.id))
    shown = None
    if run_id:
        shown = next((r for r in runs if r.run_id == run_id), None)
        if shown is None:
            raise NotFound(f"no run {run_id} of case {case.case_id}", field="run_id")
    else:
        shown = next((r for r in runs if r.status == "done"), None)
    # A copy: the page adds the current ACMG state to each variant without touching the stored results.
    genes = copy.deepcopy(list((shown.results or {}).get("genes", []))) if shown else []
    active = repo.overrides_of(session, case.id, active_only=True)
    matching = _filtered(genes, tier, gene, mode)
    for entry in matching[:show] if show else matching:
        for variant in entry["variants"]:
            current = current_acmg(session, case, variant, active)
            variant["acmg_now"] = acmg_dict(current) if current else None
    proband = session.get(Participant, case.proband_id)
    assert proband is not None
    observed, excluded = _phenotype(session, proband)
    labels = _term_labels(observed + excluded)
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"view": "rare_interpretation", "run": shown.run_id if shown else None})
    diagnoses = [diagnosis_dict(d) for d in repo.diagnoses_of(session, case.id)]
    return {
        "case": case_summary(session, case),
        "runs": runs, "run": shown, "pending": [r for r in runs if r.status in ("queued", "running")],
        "genes": matching[:show] if show else matching, "matching": len(matching), "all_genes": len(genes),
        "tiers": (shown.results or {}).get("tiers") if shown else None,
        "comparison": (shown.results or {}).get("comparison") if shown else None,
        "filters": {"tier": tier, "gene": gene, "mode": mode},
        "modes": sorted({g["mode"] for g in genes}),
        "panels": [(a, panel_dict(p)) for a, p in repo.applied_panels(session, case.id)],
        "suggested": [s for s in suggest_panels(session, case)
                      if s["panel_key"] not in {p.panel_key for _, p in repo.applied_panels(session, case.id)}],
        "phenotype": {"observed": [(t, labels.get(t, "")) for t in observed],
                      "excluded": [(t, labels.get(t, "")) for t in excluded]},
        "overrides": override_history(session, principal, case_id),
        "notes": list(repo.notes_of(session, case.id)),
        "diagnosis": next((d for d in diagnoses if d["current"]), None), "diagnoses": diagnoses,
        "consent": is_allowed(session, proband.id, ConsentAction.INTERPRET),
        "can_write": principal.has(Permission.INTERPRETATION_WRITE),
    }


def run_status(session: Session, principal: Principal, case_id: str) -> dict[str, Any]:
    """A case's runs and those still queued or running (what the polled status box shows; not audited)."""
    case = _require_rare_case(session, principal, case_id, Permission.INTERPRETATION_READ)
    runs = list(repo.runs_of_case(session, case.id))
    return {"case": {"case_id": case.case_id}, "runs": runs,
            "pending": [r for r in runs if r.status in ("queued", "running")]}


#: Case statuses after which a case is no longer the interpretation's to review (reporting sets them).
_REVIEWED_STATUSES = ("reported", "closed")


def awaits_review(status: str, has_results: bool, has_diagnosis: bool) -> bool:
    """A case to review: a finished run's results, no diagnosis chosen yet, and not reported or closed."""
    return has_results and not has_diagnosis and status not in _REVIEWED_STATUSES


def cases_to_review(session: Session, principal: Principal) -> list[Case]:
    """Rare-disease cases in scope that await review (see awaits_review), most recently finished first."""
    principal.require(Permission.INTERPRETATION_READ)
    return [c for c in repo.cases_with_finished_runs(session, principal.trust_scope, "rare_disease", "rare")
            if awaits_review(c.status, True, any(d.superseded_at is None for d in repo.diagnoses_of(session, c.id)))]


#: Sort keys of the rare-disease case list (see repository.rare_case_page).
CASE_SORTS = ("case", "opened", "indication", "status", "run")


def rare_case_page(session: Session, principal: Principal, state: ListState) -> Page:
    """One page of the rare-disease cases in scope with status, last run, top candidate and whether each awaits
    review; filtered, sorted and paged in SQL, with no cap on how many cases there are."""
    principal.require(Permission.INTERPRETATION_READ)
    page = repo.rare_case_page(session, principal.trust_scope, state, _REVIEWED_STATUSES)
    facts = repo.rare_run_facts(session, [c.id for c in page.items])
    rows = []
    for case in page.items:
        fact = facts[case.id]
        rows.append({**case_summary(session, case), **{k: v for k, v in fact.items() if k != "has_results"},
                     "to_review": awaits_review(case.status, fact["has_results"], fact["diagnosis"] is not None)})
    record_list_read(session, principal, "rare-disease cases", [r["case_id"] for r in rows])
    page.items = rows
    return page


def rare_case_list(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every rare-disease case in scope (the API's list), newest first, as rare_case_page rows."""
    state = ListState("/rare", CASE_SORTS, "opened", descending=True, per_page=2**31 - 1)
    return rare_case_page(session, principal, state).items
