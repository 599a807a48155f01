"""The programme dashboard: recruitment per trust, arm and month against the planned trajectory; samples
dispatched; genomes received and passing QC; cases interpreted; reports and diagnostic yield; turnaround; and
the national view across centres. Programme staff see every centre, centre staff their own."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from gmc import __version__
from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.charts import Chart, Series
from gmc.common.errors import NotFound, PermissionDenied, ValidationFailed
from gmc.common.time import utcnow
from gmc.programme import dashboard as core
from gmc.programme import repository as repo
from gmc.programme.models import MEASURES, NATIONAL, ProgrammePlan
from gmc.reporting.service import IssuedReport, issued_reports

ARMS = ("rare_disease", "cancer")
ARM_LABELS = {"rare_disease": "Rare disease", "cancer": "Cancer"}
#: The national targets of the programme (100,000 genomes; cancer: 50,000 genomes from 25,000 patients).
NATIONAL_TARGETS = {"genomes": 100_000, "cancer_genomes": 50_000, "cancer_patients": 25_000}
MEASURE_LABELS = {"genomes": "genomes", "cancer_genomes": "cancer genomes", "cancer_patients": "cancer patients"}
TURNAROUND_STEPS = (("referral to sample", "referred_on", "collected_at"),
                    ("sample to genome", "collected_at", "genome_at"),
                    ("genome to interpretation", "genome_at", "interpreted_at"),
                    ("interpretation to report", "interpreted_at", "reported_at"),
                    ("referral to interpretation", "referred_on", "interpreted_at"),
                    ("referral to report", "referred_on", "reported_at"))
OUTCOMES = (("positive", "Positive"), ("negative", "Negative"), ("inconclusive", "Inconclusive"))


def chart(key: str, title: str, labels: list[str], series: list[tuple[str, list[float | None]]], *,
          kind: str = "bar", unit: str = "", category: str = "", stacked: bool = False, horizontal: bool = False,
          notes: list[str] | None = None) -> dict[str, Any]:
    """A chart as plain data: categories, named series of values, and how to draw them."""
    return {"key": key, "title": title, "labels": labels, "kind": kind, "unit": unit, "category": category,
            "stacked": stacked, "horizontal": horizontal, "notes": notes or [],
            "series": [{"label": label, "values": values} for label, values in series]}


def as_chart(data: dict[str, Any]) -> Chart:
    """A dashboard chart's plain data as the chart the pages draw (with its table and CSV)."""
    return Chart(key=data["key"], title=data["title"], labels=data["labels"],
                 series=[Series(s["label"], s["values"]) for s in data["series"]], kind=data["kind"],
                 horizontal=data["horizontal"], stacked=data["stacked"], unit=data["unit"],
                 category=data["category"], notes=data["notes"])


@dataclass(frozen=True)
class View:
    """Which trusts a dashboard covers and what it is called."""

    title: str
    #: NATIONAL or the centre code whose plan applies.
    scope: str
    trust_ids: frozenset[int]
    #: Group trusts (centre view) or centres (national view) in by-place charts.
    by: str


def _view(session: Session, principal: Principal, centre: str | None) -> View:
    """The dashboard a caller may see: national staff any centre or all; centre staff only their own."""
    principal.require(Permission.PROGRAMME_VIEW)
    places = repo.places(session)
    visible = {tid for tid in places if principal.can_see_trust(tid)}
    centres = {c.code: c for c in repo.centres(session)}
    if centre:
        code = centre.strip().upper()
        if code not in centres:
            raise NotFound(f"no centre {centre}", field="centre")
        trusts = {tid for tid in visible if places[tid].centre == code}
        if not trusts:
            raise PermissionDenied(f"centre {code} is outside your scope")
        return View(centres[code].name, code, frozenset(trusts), "trust")
    if principal.trust_scope is None:
        return View("National programme", NATIONAL, frozenset(visible), "centre")
    own = {places[tid].centre for tid in visible}
    if len(own) == 1:
        code = own.pop()
        return View(centres[code].name, code, frozenset(visible), "trust")
    return View("Your trusts", NATIONAL, frozenset(visible), "trust")


def _target(session: Session, view: View, measure: str) -> dict[str, Any] | None:
    """The plan that applies (a centre without its own genomes plan falls back on its contracted target)."""
    found = repo.plan(session, view.scope, measure)
    if found is not None:
        return {"target": found.target, "starts_on": found.starts_on, "ends_on": found.ends_on, "planned": True}
    return None


def dashboard(session: Session, principal: Principal, *, centre: str | None = None,
              today: date | None = None) -> dict[str, Any]:
    """Every chart and table of the dashboard for the caller's view (audited as a read of aggregates)."""
    today = today or date.today()
    view = _view(session, principal, centre)
    places = repo.places(session)

    def group(trust_id: int) -> str:
        return places[trust_id].trust if view.by == "trust" else places[trust_id].centre

    recruits = [r for r in repo.recruits(session) if r.trust_id in view.trust_ids]
    genomes = [g for g in repo.genomes(session) if g.trust_id in view.trust_ids]
    dispatches = [at for at, trust in repo.dispatches(session) if trust in view.trust_ids]
    reports = [r for r in issued_reports(session) if r.trust_id in view.trust_ids]
    reported = {r.case_pk: r.first_released_at for r in reports}
    clocks = [replace(c, reported_at=reported.get(c.case_pk)) for c in repo.case_clocks(session)
              if c.trust_id in view.trust_ids]
    plan = _target(session, view, "genomes")
    starts = [r.consented_on for r in recruits] + ([plan["starts_on"]] if plan else [])
    first = min(starts) if starts else today
    months = core.months_between(first, today)

    # Recruitment: per month by arm, cumulative against the trajectory, and by trust (or centre) and arm.
    by_arm = {arm: core.per_month([r.consented_on for r in recruits if r.arm == arm], months) for arm in ARMS}
    recruited = core.cumulative([sum(v) for v in zip(*by_arm.values(), strict=True)])
    received = core.cumulative(core.per_month([g.received_at for g in genomes], months))
    series: list[tuple[str, list[float | None]]] = [("Recruited (cumulative)", list(recruited)),
                                                    ("Genomes received (cumulative)", list(received))]
    notes = []
    if plan:
        series.append((f"Planned ({plan['target']:,} genomes by {plan['ends_on']:%b %Y})",
                       list(core.trajectory(plan["target"], plan["starts_on"], plan["ends_on"], months))))
    else:
        notes.append("No plan is set for this view: `gmc programme plan set` draws the target trajectory.")
    groups = sorted({group(r.trust_id) for r in recruits} | ({places[t].trust for t in view.trust_ids}
                                                               if view.by == "trust" else set()))
    per_group = {arm: Counter(group(r.trust_id) for r in recruits if r.arm == arm) for arm in ARMS}
    charts = [
        chart("recruitment-cumulative", f"Recruitment against the target: {view.title}", months, series,
              kind="line", unit="participants / genomes", category="Month", notes=notes),
        chart("recruitment-monthly", "Participants recruited per month, by arm", months,
              [(ARM_LABELS[a], list(by_arm[a])) for a in ARMS], unit="participants", category="Month", stacked=True),
        chart(f"recruitment-by-{view.by}", f"Participants recruited by {view.by} and arm", groups,
              [(ARM_LABELS[a], [per_group[a].get(g, 0) for g in groups]) for a in ARMS], unit="participants",
              category=view.by.title(), stacked=True, horizontal=True),
        chart(f"recruitment-{view.by}-month", f"Participants recruited per month, by {view.by}", months,
              [(g, list(core.per_month([r.consented_on for r in recruits if group(r.trust_id) == g], months)))
               for g in groups], unit="participants", category="Month", stacked=True),
        chart("samples-dispatched", "Samples dispatched for sequencing per month", months,
              [("Dispatched", list(core.per_month(dispatches, months)))], unit="samples", category="Month"),
        chart("genomes-received", "Genomes received and passing QC per month", months,
              [("Received", list(core.per_month([g.received_at for g in genomes], months))),
               ("Passing QC", list(core.per_month([g.received_at for g in genomes if g.qc_passed], months)))],
              unit="genomes", category="Month"),
        chart("cases-interpreted", "Cases interpreted per month (first finished interpretation)", months,
              [(ARM_LABELS[a], list(core.per_month([c.interpreted_at for c in clocks
                                                     if c.interpreted_at and c.arm == a], months))) for a in ARMS],
              unit="cases", category="Month", stacked=True),
    ]
    charts += _report_charts(reports, months)
    turnaround_groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c in clocks:
        for step, start, end in TURNAROUND_STEPS:
            days = core.days_between(getattr(c, start), getattr(c, end))
            if days is not None:
                turnaround_groups[step]["all"].append(days)
    steps = [s for s, _, _ in TURNAROUND_STEPS]
    stats = {s: core.median_p90(turnaround_groups[s]["all"]) for s in steps}
    charts.append(chart("turnaround", "Turnaround (days)", steps,
                        [("Median", [stats[s][0] for s in steps]), ("90th percentile", [stats[s][1] for s in steps])],
                        unit="days", category="Step", horizontal=True,
                        notes=[f"{s}: {len(turnaround_groups[s]['all'])} cases" for s in steps]))
    headline = {
        "recruited": len(recruits), "genomes": len(genomes),
        "genomes_passing_qc": sum(1 for g in genomes if g.qc_passed),
        "samples_dispatched": len(dispatches),
        "cases_interpreted": sum(1 for c in clocks if c.interpreted_at),
        "reports_issued": len(reports),
        "reports_positive": sum(1 for r in reports if r.outcome == "positive"),
        "diagnostic_yield": _percent(sum(1 for r in reports if r.outcome == "positive"), len(reports)),
        "target": plan["target"] if plan else None,
        "expected_now": round(core.expected_by(plan["target"], plan["starts_on"], plan["ends_on"], today))
        if plan else None,
    }
    result = {"title": view.title, "scope": view.scope, "months": months, "headline": headline, "charts": charts,
              # Provenance of a report written from it: the software and when its numbers were read.
              "generated": {"gmc": __version__, "at": utcnow().isoformat(timespec="seconds"), "as_of": today.isoformat()},
              "national": _national(session, principal, today) if view.scope == NATIONAL and
              principal.trust_scope is None else None}
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="programme_dashboard",
           entity_id=view.scope, summary={"charts": len(charts)})
    return result


def _percent(part: int, whole: int) -> float | None:
    """part of whole in per cent, one decimal (None of nothing)."""
    return round(100 * part / whole, 1) if whole else None


def _report_charts(reports: list[IssuedReport], months: list[str]) -> list[dict[str, Any]]:
    """Reports issued per month by arm, and the diagnostic yield and outcomes of the cases reported, by arm."""
    groups = [(ARM_LABELS[a], [r for r in reports if r.programme_arm == a]) for a in ARMS] + [("All", reports)]
    yield_notes = [
        f"{label}: {len(rs):,} cases reported: " + ", ".join(
            f"{sum(1 for r in rs if r.outcome == key):,} {key}" for key, _ in OUTCOMES)
        + f"; diagnosis made (exit questions) {sum(1 for r in rs if r.diagnosis_made):,}"
        for label, rs in groups]
    return [
        chart("reports-issued", "Reports issued per month, by arm (first report of each case)", months,
              [(ARM_LABELS[a], list(core.per_month([r.first_released_at for r in reports if r.programme_arm == a],
                                                   months))) for a in ARMS],
              unit="reports", category="Month", stacked=True,
              notes=[f"{sum(r.amendments for r in reports):,} amended or corrected versions released besides"]),
        chart("diagnostic-yield", "Diagnostic yield: cases whose current released report is positive",
              [label for label, _ in groups],
              [("Diagnostic yield (%)", [_percent(sum(1 for r in rs if r.outcome == "positive"), len(rs))
                                         for _, rs in groups])],
              unit="% of cases reported", category="Arm", horizontal=True, notes=yield_notes),
        chart("report-outcomes", "Outcomes of the cases reported, by arm", [ARM_LABELS[a] for a in ARMS],
              [(name, [sum(1 for r in rs if r.outcome == key) for _, rs in groups[:-1]]) for key, name in OUTCOMES],
              unit="cases", category="Arm", stacked=True, horizontal=True),
    ]


def _national(session: Session, principal: Principal, today: date) -> dict[str, Any]:
    """Per centre: recruited, genomes, QC, target and what the plan expects now; and the national targets."""
    places = repo.places(session)
    recruits = Counter(places[r.trust_id].centre for r in repo.recruits(session))
    all_genomes = repo.genomes(session)
    genomes = Counter(places[g.trust_id].centre for g in all_genomes)
    passing = Counter(places[g.trust_id].centre for g in all_genomes if g.qc_passed)
    reports = issued_reports(session)
    issued = Counter(places[r.trust_id].centre for r in reports)
    positive = Counter(places[r.trust_id].centre for r in reports if r.outcome == "positive")
    rows = []
    for centre in repo.centres(session):
        plan = repo.plan(session, centre.code, "genomes")
        target = plan.target if plan else centre.genome_target
        expected = round(core.expected_by(plan.target, plan.starts_on, plan.ends_on, today)) if plan else None
        rows.append({"centre": centre.code, "name": centre.name, "recruited": recruits.get(centre.code, 0),
                     "genomes": genomes.get(centre.code, 0), "passing_qc": passing.get(centre.code, 0),
                     "reports_issued": issued.get(centre.code, 0),
                     "diagnostic_yield": _percent(positive.get(centre.code, 0), issued.get(centre.code, 0)),
                     "target": target, "expected_now": expected,
                     "percent_of_target": round(100 * genomes.get(centre.code, 0) / target, 2) if target else None})
    cancer = [g for g in all_genomes if g.arm == "cancer"]
    measures = {"genomes": len(all_genomes), "cancer_genomes": len(cancer),
                "cancer_patients": len({g.participant_pk for g in cancer})}
    targets = []
    for measure, value in measures.items():
        plan = repo.plan(session, NATIONAL, measure)
        target = plan.target if plan else NATIONAL_TARGETS[measure]
        targets.append({"measure": measure, "label": MEASURE_LABELS[measure], "value": value, "target": target,
                        "expected_now": round(core.expected_by(plan.target, plan.starts_on, plan.ends_on, today))
                        if plan else None, "percent_of_target": round(100 * value / target, 3)})
    codes = [r["centre"] for r in rows]
    centre_chart = chart("centres", "Genomes by centre against each centre's target", codes,
                         [("Genomes received", [r["genomes"] for r in rows]),
                          ("Expected by now", [r["expected_now"] for r in rows]),
                          ("Target", [r["target"] for r in rows])], unit="genomes", category="Centre")
    return {"centres": rows, "targets": targets, "chart": centre_chart}


def chart_by_key(data: dict[str, Any], key: str) -> dict[str, Any]:
    """One chart of a dashboard by its key."""
    every = list(data["charts"]) + ([data["national"]["chart"]] if data.get("national") else [])
    for item in every:
        if item["key"] == key:
            return item
    raise NotFound(f"the dashboard has no chart {key!r}", field="chart")


def set_plan(session: Session, principal: Principal, *, scope: str, measure: str, target: int, starts_on: date,
             ends_on: date) -> ProgrammePlan:
    """Sets a target and its period for NATIONAL or a centre (programme staff and administrators)."""
    principal.require(Permission.PROGRAMME_VIEW)
    if principal.trust_scope is not None:
        raise PermissionDenied("plans are set by national programme staff")
    scope = scope.strip().upper()
    if scope != NATIONAL and scope not in {c.code for c in repo.centres(session)}:
        raise ValidationFailed(f"scope must be {NATIONAL} or a centre code", field="scope")
    if measure not in MEASURES:
        raise ValidationFailed(f"measure must be one of {', '.join(MEASURES)}", field="measure")
    if target <= 0:
        raise ValidationFailed("the target must be a positive number", field="target")
    if ends_on <= starts_on:
        raise ValidationFailed("the plan must end after it starts", field="ends_on")
    plan = repo.plan(session, scope, measure)
    before = None if plan is None else {"target": plan.target, "starts_on": str(plan.starts_on),
                                        "ends_on": str(plan.ends_on)}
    if plan is None:
        plan = ProgrammePlan(scope=scope, measure=measure, target=target, starts_on=starts_on, ends_on=ends_on,
                             updated_by=principal.username, updated_at=utcnow())
        session.add(plan)
    else:
        plan.target, plan.starts_on, plan.ends_on = target, starts_on, ends_on
        plan.updated_by, plan.updated_at = principal.username, utcnow()
    session.flush()
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE if before else AuditVerb.CREATE,
           entity_type="programme_plan", entity_id=f"{scope}:{measure}",
           summary={"before": before, "after": {"target": target, "starts_on": str(starts_on),
                                                "ends_on": str(ends_on)}})
    return plan


def plans(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every plan, for programme staff."""
    principal.require(Permission.PROGRAMME_VIEW)
    return [{"scope": p.scope, "measure": p.measure, "target": p.target, "starts_on": p.starts_on,
             "ends_on": p.ends_on, "updated_by": p.updated_by, "updated_at": p.updated_at} for p in repo.plans(session)]
