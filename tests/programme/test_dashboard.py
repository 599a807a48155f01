"""The programme dashboard: its arithmetic, the national and centre views on the research world (both demo
centres), reports issued and diagnostic yield from reports released through the reporting workflow, each chart's
CSV, the plans, and `gmc programme report`, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from typer.testing import CliRunner

import gmc
from gmc.audit.service import Actor
from gmc.auth import service as auth_service
from gmc.cli import app as cli
from gmc.common.errors import PermissionDenied, ValidationFailed
from gmc.programme import dashboard as core
from gmc.programme import service
from gmc.programme.commands import report_csv
from gmc.registry.models import Case
from gmc.settings import reset_settings_cache


def test_months_counts_and_trajectory() -> None:
    months = core.months_between(date(2025, 11, 20), date(2026, 2, 1))
    assert months == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert core.per_month([date(2025, 11, 1), date(2026, 1, 31), date(2026, 1, 2), date(2024, 1, 1)], months) == [
        1, 0, 2, 0]
    assert core.cumulative([1, 0, 2, 0], before=5) == [6, 6, 8, 8]
    start, end = date(2025, 1, 1), date(2027, 1, 1)
    assert core.expected_by(18_000, start, end, date(2024, 6, 1)) == 0
    assert core.expected_by(18_000, start, end, date(2027, 6, 1)) == 18_000
    assert core.expected_by(18_000, start, end, date(2026, 1, 1)) == pytest.approx(18_000 * 365 / 730)
    assert core.trajectory(1200, date(2026, 1, 1), date(2027, 1, 1), ["2025-12", "2026-12"]) == [0.0, 1196.7]
    assert core.median_p90([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == (5.5, 9)
    assert core.median_p90([]) == (None, None)
    assert core.days_between(date(2026, 1, 1), date(2025, 1, 1)) is None


def test_national_and_centre_views(world_db, principal_of) -> None:
    with world_db.transaction() as s:
        programme = principal_of(s, "programme")
        national = service.dashboard(s, programme)
        charts = {c["key"]: c for c in national["charts"]}
        h = national["headline"]
        monthly = charts["recruitment-monthly"]["series"]
        assert sum(sum(v) for v in (x["values"] for x in monthly)) == h["recruited"]
        cumulative = charts["recruitment-cumulative"]
        assert cumulative["series"][0]["values"][-1] == h["recruited"]
        assert cumulative["series"][1]["values"][-1] == h["genomes"] == 17
        assert cumulative["series"][2]["label"].startswith("Planned (100,000 genomes")
        by_centre = dict(zip(charts["recruitment-by-centre"]["labels"],
                             (sum(v) for v in zip(*(x["values"] for x in charts["recruitment-by-centre"]["series"]),
                                                  strict=True)), strict=True))
        assert set(by_centre) == {"SLGMC", "WMGMC"} and sum(by_centre.values()) == h["recruited"]
        rows = {r["centre"]: r for r in national["national"]["centres"]}
        assert rows["WMGMC"]["target"] == 18_000 and rows["SLGMC"]["target"] == 7_000
        assert rows["WMGMC"]["genomes"] == 14 and rows["SLGMC"]["genomes"] == 3
        assert rows["SLGMC"]["recruited"] == by_centre["SLGMC"] > 40
        targets = {t["measure"]: t for t in national["national"]["targets"]}
        assert targets["genomes"]["target"] == 100_000 and targets["cancer_patients"]["target"] == 25_000
        assert sum(charts["samples-dispatched"]["series"][0]["values"]) == h["samples_dispatched"] > 0
        received, passing = charts["genomes-received"]["series"]
        assert sum(received["values"]) == 17 and sum(passing["values"]) == h["genomes_passing_qc"]
        # West Midlands: the trusts, against 18,000.
        west = service.dashboard(s, programme, centre="WMGMC")
        wm = {c["key"]: c for c in west["charts"]}
        assert west["headline"]["target"] == 18_000 and west["national"] is None
        assert "RQ3" in wm["recruitment-by-trust"]["labels"] and len(wm["recruitment-by-trust"]["labels"]) == 18
        planned = wm["recruitment-cumulative"]["series"][2]["values"]
        assert planned == sorted(planned) and 0 < planned[-1] < 18_000
        assert west["headline"]["recruited"] == rows["WMGMC"]["recruited"]
        per_trust = wm["recruitment-trust-month"]
        assert len(per_trust["series"]) == 18 and sum(sum(x["values"]) for x in per_trust["series"]) == \
            west["headline"]["recruited"]
        # Centre staff see their own centre only.
        auth_service.create_user(s, actor=Actor.system("test"), username="sl-programme", password="sl-programme-lantern-2026",
                                 roles=["programme"], centre_code="SLGMC", centre_wide=True)
        south = principal_of(s, "sl-programme")
        own = service.dashboard(s, south)
        assert own["scope"] == "SLGMC" and own["headline"]["recruited"] == rows["SLGMC"]["recruited"]
        assert own["headline"]["target"] == 7_000
        with pytest.raises(PermissionDenied, match="outside your scope"):
            service.dashboard(s, south, centre="WMGMC")
        with pytest.raises(PermissionDenied):
            service.set_plan(s, south, scope="SLGMC", measure="genomes", target=8000, starts_on=date(2026, 1, 1),
                             ends_on=date(2028, 1, 1))
        with pytest.raises(PermissionDenied):
            service.dashboard(s, principal_of(s, "researcher"))
        with pytest.raises(ValidationFailed, match="end after it starts"):
            service.set_plan(s, programme, scope="WMGMC", measure="genomes", target=18000,
                             starts_on=date(2026, 1, 1), ends_on=date(2025, 1, 1))
        with pytest.raises(ValidationFailed, match="measure"):
            service.set_plan(s, programme, scope="WMGMC", measure="hopes", target=1, starts_on=date(2026, 1, 1),
                             ends_on=date(2027, 1, 1))


def test_page_and_csv_downloads(world_client, login) -> None:
    login(world_client, "programme")
    page = world_client.get("/programme")
    assert page.status_code == 200
    assert "National programme" in page.text and "chart-recruitment-cumulative-data" in page.text
    page = world_client.get("/programme", params={"centre": "WMGMC"})
    assert "West Midlands Genomic Medicine Centre" in page.text and "18,000" in page.text
    assert page.text.count("Download CSV") == 11  # every chart carries its own
    assert "reports issued" in page.text and "no report released yet" in page.text
    response = world_client.get("/api/programme/charts/recruitment-by-trust.csv", params={"centre": "WMGMC"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Trust", "Rare disease", "Cancer"] and len(rows) == 19
    api = world_client.get("/api/programme/charts/recruitment-cumulative.csv").text.splitlines()
    assert api[0].startswith("Month,Recruited (cumulative),Genomes received (cumulative),\"Planned (100,000 genomes")
    assert world_client.get("/api/programme/charts/nothing.csv").status_code == 404


def test_report_command(world, tmp_path) -> None:
    runner = CliRunner()

    def invoke(*args: str):
        reset_settings_cache()
        try:
            return runner.invoke(cli, list(args), env={"GMC_DATABASE_URL": world.url, "GMC_ENVIRONMENT": "test"})
        finally:
            reset_settings_cache()

    out = tmp_path / "report.json"
    result = invoke("programme", "report", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["title"] == "National programme" and data["national"]["centres"]
    out = tmp_path / "wm.csv"
    result = invoke("programme", "report", "--out", str(out), "--centre", "WMGMC")
    assert result.exit_code == 0 and "target 18,000" in result.output, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["chart"] for r in rows} >= {"recruitment-cumulative", "recruitment-by-trust", "turnaround"}
    bad = invoke("programme", "report", "--out", str(tmp_path / "report.xlsx"))
    assert bad.exit_code == 1 and "must end in .json or .csv" in bad.output
    result = invoke("programme", "plan", "set", "--scope", "WMGMC", "--target", "18500", "--start", "2025-01-01",
                    "--end", "2028-12-31")
    assert result.exit_code == 0 and "18,500" in result.output
    assert "WMGMC      genomes" in invoke("programme", "plan", "list").output


@pytest.fixture(scope="module")
def kbg_vcf(benchmarks_dir, tmp_path_factory):
    """The real exome's chromosome 16 with the KBG case's ANKRD11 frameshift spiked in (as the reporting tests)."""
    from tests.interpretation.rare import test_rare_service as rare_helpers

    return rare_helpers.kbg_vcf.__wrapped__(benchmarks_dir, tmp_path_factory)


def test_reports_issued_and_diagnostic_yield(world, world_db, principal_of, benchmarks_dir, kbg_vcf) -> None:
    """Two real interpreted KBG cases taken through review, sign-off and release (one positive, then amended; one
    negative) and one left unsigned: the dashboard counts what was released, where and when."""
    from tests.reporting.conftest import interpreted_case, released_report, user

    from gmc.reporting import service as reporting

    with world_db.transaction() as s:
        programme = principal_of(s, "programme")
        before = service.dashboard(s, programme)
        assert before["headline"]["reports_issued"] == 0 and before["headline"]["diagnostic_yield"] is None
        positive = released_report(s, benchmarks_dir, kbg_vcf, number="T-DASH-1", referred_days_ago=40)
        scientist, checker = user(s, "scientist"), user(s, "checker")
        negative_case, _ = interpreted_case(s, benchmarks_dir, kbg_vcf, number="T-DASH-2", referred_days_ago=20)
        reporting.start_review(s, scientist, negative_case)
        reporting.update_report(s, scientist, negative_case, outcome="negative",
                                summary="No change explaining the condition was found.")
        reporting.sign_as_author(s, scientist, negative_case)
        reporting.authorise(s, checker, negative_case)
        unsigned, _ = interpreted_case(s, benchmarks_dir, kbg_vcf, number="T-DASH-3")
        reporting.start_review(s, scientist, unsigned)
        # The positive report amended: still one case reported, its first release date kept.
        case_id = s.get(Case, positive.case_id).case_id
        reporting.request_amendment(s, scientist, case_id, "parental testing result added")
        reporting.start_review(s, scientist, case_id)
        reporting.sign_as_author(s, scientist, case_id)
        reporting.authorise(s, checker, case_id)

        after = service.dashboard(s, programme)
        assert after["generated"]["gmc"] == gmc.__version__ and after["generated"]["as_of"] == date.today().isoformat()
        h = after["headline"]
        assert (h["reports_issued"], h["reports_positive"], h["diagnostic_yield"]) == (2, 1, 50.0)
        charts = {c["key"]: c for c in after["charts"]}
        issued = charts["reports-issued"]
        assert sum(issued["series"][0]["values"]) == 2 and sum(issued["series"][1]["values"]) == 0
        assert issued["series"][0]["values"][-1] == 2  # both released this month
        assert issued["notes"] == ["1 amended or corrected versions released besides"]
        yield_chart = charts["diagnostic-yield"]
        assert yield_chart["labels"] == ["Rare disease", "Cancer", "All"]
        assert yield_chart["series"][0]["values"] == [50.0, None, 50.0]
        assert yield_chart["notes"][0] == ("Rare disease: 2 cases reported: 1 positive, 1 negative, 0 inconclusive; "
                                           "diagnosis made (exit questions) 1")
        outcomes = {s_["label"]: s_["values"] for s_ in charts["report-outcomes"]["series"]}
        assert outcomes == {"Positive": [1, 0], "Negative": [1, 0], "Inconclusive": [0, 0]}
        turnaround = charts["turnaround"]
        step = turnaround["labels"].index("referral to report")
        assert turnaround["series"][0]["values"][step] == pytest.approx(30, abs=1)  # medians of 40 and 20 days
        assert "referral to report: 2 cases" in turnaround["notes"]
        rows = {r["centre"]: r for r in after["national"]["centres"]}
        assert (rows["WMGMC"]["reports_issued"], rows["WMGMC"]["diagnostic_yield"]) == (2, 50.0)
        assert (rows["SLGMC"]["reports_issued"], rows["SLGMC"]["diagnostic_yield"]) == (0, None)
        # The South London view has none of them.
        assert service.dashboard(s, programme, centre="SLGMC")["headline"]["reports_issued"] == 0
        west = service.dashboard(s, programme, centre="WMGMC")["headline"]
        assert west["reports_issued"] == 2
        rows = list(csv.DictReader(io.StringIO(report_csv(after))))
        assert {(r["category"], r["value"]) for r in rows if r["chart"] == "diagnostic-yield"} == {
            ("Rare disease", "50.0"), ("Cancer", ""), ("All", "50.0")}
