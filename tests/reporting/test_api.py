"""The reporting API, as users call it: the whole journey from a ranked case to a released, amended report."""

from __future__ import annotations

import getpass
import io
import json
from datetime import date

import pypdf
import sqlalchemy as sa
from tests.reporting.conftest import ankrd11_key, interpreted_case

from gmc.audit.service import Actor
from gmc.auth import service as auth_service
from gmc.registry.models import Case
from gmc.reporting import fhir


def test_journey_from_ranked_case_to_released_amended_report(demo_database, demo_client, bearer, benchmarks_dir,
                                                            kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf, trust="RQ3")
        variant = ankrd11_key(session, run_id)
        auth_service.create_user(session, actor=Actor.system("test"), username="other-clinician",
                                 password="heron lantern quarry 41", roles=["clinician"], full_name="Olu Other",
                                 centre_code="WMGMC", trust_codes=["RKB"])
    scientist, checker, clinician = (bearer(demo_client, u) for u in ("scientist", "checker", "clinician"))
    api = demo_client
    assert case_id in [r["case_id"] for r in api.get("/api/reports/worklists", headers=scientist).json()["awaiting_review"]]
    assert api.post(f"/api/reports/cases/{case_id}/review", json={}, headers=scientist).json()["state"] == "in_review"
    candidates = api.get(f"/api/reports/cases/{case_id}/candidates", headers=scientist).json()
    assert candidates["candidates"][0]["gene"] == "ANKRD11"
    # The scientist classifies: PS2 is not automatic without parents; a confirmed de novo would add it.
    override = api.post(f"/api/rare/runs/{run_id}/acmg", headers=scientist, json={
        "variant_id": variant, "code": "PM2", "met": True, "strength": "supporting",
        "reason": "absent from gnomAD v4.1 (checked by hand)"})
    assert override.status_code == 201, override.text
    picked = api.post(f"/api/reports/cases/{case_id}/findings", headers=scientist, json={
        "run_id": run_id, "finding_key": variant, "comment": "Frameshift in a haploinsufficient gene."})
    assert picked.status_code == 201, picked.text
    # The override is kept in the reported class and criteria.
    assert "PM2_Supporting" in picked.json()["details"]["criteria"]
    assert any(c["code"] == "PM2" and c["source"] != "automatic" for c in picked.json()["details"]["criteria_detail"])
    # The withheld c. is confirmed through the API; a description of another transcript is refused by field.
    path = f"/api/reports/cases/{case_id}/findings/{picked.json()['id']}/description"
    wrong = api.put(path, headers=scientist, json={"hgvs_c": "NM_000000.1:c.3770_3771del", "source": "Alamut"})
    assert wrong.status_code == 422 and "NM_013275.6" in wrong.text
    described = api.put(path, headers=scientist, json={"hgvs_c": "c.3770_3771del", "source": "Alamut"})
    assert described.status_code == 200 and described.json()["details"]["hgvs_c"] == "c.3770_3771del"
    assert api.put(f"/api/reports/cases/{case_id}/draft", headers=scientist, json={
        "summary": "A change in ANKRD11 explains the condition (KBG syndrome).", "outcome": "positive",
        "interpretation": "Likely pathogenic frameshift.", "recommendations": "Parental testing."}).status_code == 200
    assert api.put(f"/api/reports/cases/{case_id}/exit-questions", headers=scientist, json={
        "explains": "full", "actionable": True, "confirmed": False, "diagnosis_made": True}).status_code == 200
    signed = api.post(f"/api/reports/cases/{case_id}/sign", headers=scientist)
    assert signed.json()["status"] == "awaiting_check"
    report_id = signed.json()["report_id"]
    self_check = api.post(f"/api/reports/cases/{case_id}/authorise", headers=scientist)
    assert self_check.status_code == 403 and "four eyes" in self_check.json()["detail"]
    # A clinician cannot see the draft; nothing is released yet.
    assert api.get(f"/api/reports/{report_id}?format=fhir", headers=clinician).status_code == 404
    assert api.post(f"/api/reports/cases/{case_id}/authorise", headers=checker).json()["status"] == "authorised"
    meeting = api.post("/api/mdt/meetings", headers=scientist, json={
        "title": "Rare disease MDT", "held_on": date.today().isoformat(),
        "attendees": [{"name": "Dr L. Chen", "role": "clinical geneticist"}, {"name": "Sam Scientist", "role": "scientist"}]})
    assert meeting.status_code == 201, meeting.text
    meeting_id = meeting.json()["meeting_id"]
    assert api.post(f"/api/mdt/meetings/{meeting_id}/cases", headers=scientist, json={"case_id": case_id}).status_code == 201
    outcome = api.post(f"/api/mdt/meetings/{meeting_id}/cases/{case_id}/outcome", headers=clinician, json={
        "outcome": "agreed", "minutes": "Agreed.", "actions": ["cascade testing of parents"]})
    assert outcome.status_code == 200, outcome.text
    new = api.get("/api/reports/new-results", headers=clinician).json()["new"]
    assert [r["report_id"] for r in new] == [report_id] and not new[0]["opened"]
    pdf = api.get(f"/api/reports/{report_id}?format=pdf", headers=clinician)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "ANKRD11" in text and "Chris Checker" in text
    assert api.get("/api/reports/new-results", headers=clinician).json()["new"][0]["opened"]
    told = api.post(f"/api/reports/{report_id}/delivery", headers=clinician, json={
        "given_on": date.today().isoformat(), "given_by": "Dr L. Chen", "method": "clinic"})
    assert told.status_code == 201, told.text
    assert api.get("/api/reports/new-results", headers=clinician).json()["new"] == []
    # Another trust's clinician gets 404 for the report and its case.
    other = _token(demo_client, "other-clinician", "heron lantern quarry 41")
    assert api.get(f"/api/reports/{report_id}?format=pdf", headers=other).status_code == 404
    assert api.get(f"/api/reports/cases/{case_id}", headers=other).status_code == 404
    bundle = api.get(f"/api/reports/{report_id}?format=fhir", headers=clinician)
    assert bundle.headers["content-type"].startswith("application/fhir+json")
    assert fhir.validate(bundle.json())["entry"][0]["resource"]["status"] == "final"
    # An amendment keeps both versions; FHIR says amended; the clinician sees which is current.
    assert api.post(f"/api/reports/cases/{case_id}/amend", headers=scientist,
                    json={"reason": "Parental testing confirmed de novo"}).status_code == 201
    assert api.post(f"/api/reports/cases/{case_id}/review", json={}, headers=scientist).status_code == 200
    assert api.put(f"/api/reports/cases/{case_id}/draft", headers=scientist, json={
        "interpretation": "De novo frameshift: pathogenic."}).status_code == 200
    api.post(f"/api/reports/cases/{case_id}/sign", headers=scientist)
    api.post(f"/api/reports/cases/{case_id}/authorise", headers=checker)
    api.post(f"/api/mdt/meetings/{meeting_id}/cases/{case_id}/outcome", headers=clinician,
             json={"outcome": "agreed", "minutes": "Amendment agreed."})
    versions = api.get(f"/api/reports/{report_id}/versions", headers=clinician).json()
    assert [(v["version"], v["status"], v["current"]) for v in versions] == [(2, "released", True),
                                                                          (1, "superseded", False)]
    v2 = api.get(f"/api/reports/{report_id}?format=fhir", headers=clinician).json()
    v1 = api.get(f"/api/reports/{report_id}?format=fhir&version=1", headers=clinician).json()
    assert v2["entry"][0]["resource"]["status"] == "amended" and v1["entry"][0]["resource"]["status"] == "final"
    listed = api.get("/api/reports?status=released&status=superseded", headers=clinician).json()
    assert {(r["report_id"], r["version"]) for r in listed} == {(report_id, 1), (report_id, 2)}
    bad = api.get("/api/reports?status=sent", headers=scientist)
    assert bad.status_code == 422 and bad.json()["field"] == "status"


def _token(client, username: str, password: str) -> dict[str, str]:
    resp = client.post("/api/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_cli_renders_and_lists_reports(demo_database, benchmarks_dir, kbg_vcf, tmp_path, monkeypatch) -> None:
    from tests.reporting.conftest import released_report
    from typer.testing import CliRunner

    from gmc.cli import app

    with demo_database.transaction() as session:
        report = released_report(session, benchmarks_dir, kbg_vcf)
        case_id = session.get(Case, report.case_id).case_id
    monkeypatch.setenv("GMC_DATABASE_URL", demo_database.url)
    monkeypatch.setenv("GMC_REFDATA", str(benchmarks_dir.parent / "refdata"))
    from gmc.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    for fmt in ("html", "pdf", "fhir"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(app, ["reports", "render", case_id, "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    assert json.loads((tmp_path / "report.fhir").read_text())["entry"][0]["resource"]["status"] == "final"
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    listed = runner.invoke(app, ["reports", "list", "--status", "released"])
    assert listed.exit_code == 0 and report.report_id in listed.output and "1 report version" in listed.output
    bad = runner.invoke(app, ["reports", "render", case_id, "--format", "docx", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "html, pdf, fhir" in bad.output and not (tmp_path / "x").exists()
    check = runner.invoke(app, ["reports", "reanalyse", "--check"])
    assert check.exit_code == 0 and "0 reported case(s) due for reanalysis" in check.output
    again = runner.invoke(app, ["reports", "reanalyse", case_id, "--reason", "annual review"])
    assert again.exit_code == 0 and f"case {case_id}: on request; 0 reported finding(s) moved" in again.output
    rules = runner.invoke(app, ["reports", "rules", "cancer", "--turnaround-days", "42", "--no-mdt"])
    assert rules.exit_code == 0 and "cancer" in rules.output and "42 days  MDT not required" in rules.output
    with demo_database.session() as session:  # the command line acts as its operator, named in the audit trail
        from gmc.audit.models import AuditEvent

        changed_by = session.execute(sa.select(AuditEvent.actor).where(AuditEvent.entity_type == "review_rule")
                                     .order_by(AuditEvent.seq.desc())).scalars().first()
    assert changed_by == f"os:{getpass.getuser()}"
    unknown = runner.invoke(app, ["reports", "render", "C00000000", "--out", str(tmp_path / "y.pdf")])
    assert unknown.exit_code == 1 and "no case C00000000" in unknown.output
    get_settings.cache_clear()


def test_review_rules_of_a_named_centre_from_the_command_line_and_the_api(demo_database, demo_client, tmp_path,
                                                                         monkeypatch) -> None:
    """`gmc reports rules --centre CODE` (and `?centre=` on the API) shows and sets one centre's rules with the
    web's scope: national operators any centre's and the default, a centre's centre-wide admin only its own
    centre's; another centre is not found and nothing changes; an unknown code is named in the error."""
    from typer.testing import CliRunner

    from gmc.audit.models import AuditEvent
    from gmc.auth.models import User
    from gmc.cli import app
    from gmc.reporting.models import ReviewRule
    from gmc.settings import get_settings

    with demo_database.transaction() as session:
        sl_admin = auth_service.create_user(session, actor=Actor.system("test"), username="t-sl-admin",
                                            password="heron lantern quarry 41", roles=["admin"], full_name="Sol Admin",
                                            centre_code="SLGMC", centre_wide=True)
        wm_admin = session.execute(sa.select(User).where(User.username == "admin")
                                   ).scalar_one()
        tokens = {u.username: {"Authorization": "Bearer " + auth_service.create_token(
            session, actor=Actor.system("test"), user=u, name="rules", days=1)[1]} for u in (sl_admin, wm_admin)}
    monkeypatch.setenv("GMC_DATABASE_URL", demo_database.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def rules_table() -> list[tuple]:
        with demo_database.session() as session:
            return sorted(session.execute(sa.select(ReviewRule.centre_id, ReviewRule.programme_arm,
                                                    ReviewRule.turnaround_days, ReviewRule.mdt_required)).all(),
                          key=str)

    default = runner.invoke(app, ["reports", "rules"])
    assert default.exit_code == 0 and "at the programme's default" in default.output, default.output
    national = runner.invoke(app, ["reports", "rules", "rare_disease", "--centre", "slgmc", "--turnaround-days", "60"])
    assert national.exit_code == 0, national.output
    assert "review rules at centre SLGMC" in national.output
    assert "rare_disease    60 days  MDT required  (centre rule)" in national.output
    assert "(programme default)" in national.output  # the cancer arm still follows the default
    assert runner.invoke(app, ["reports", "rules"]).output == default.output  # the default is untouched
    with demo_database.session() as session:
        event = session.execute(sa.select(AuditEvent).where(AuditEvent.entity_type == "review_rule")
                                .order_by(AuditEvent.seq.desc())).scalars().first()
        assert event.actor == f"os:{getpass.getuser()}" and event.summary["centre_id"] == sl_admin.centre_id
    before = rules_table()
    for argv in (["--as", "admin", "reports", "rules", "--centre", "SLGMC"],
                 ["--as", "admin", "reports", "rules", "rare_disease", "--centre", "SLGMC", "--turnaround-days", "7"],
                 ["--as", "t-sl-admin", "reports", "rules", "cancer", "--centre", "WMGMC", "--no-mdt"]):
        refused = runner.invoke(app, argv)
        assert refused.exit_code == 1 and "among yours" in refused.output, (argv, refused.output)
    unknown = runner.invoke(app, ["reports", "rules", "--centre", "NOPE"])
    assert unknown.exit_code == 1 and "no centre NOPE" in unknown.output
    assert rules_table() == before
    own = runner.invoke(app, ["--as", "t-sl-admin", "reports", "rules", "cancer", "--no-mdt"])
    assert own.exit_code == 0 and "review rules at centre SLGMC" in own.output
    assert "MDT not required  (centre rule)" in own.output
    # The API takes the same centre and the same scope.
    api = demo_client
    sl_rules = api.get("/api/reports/rules?centre=SLGMC", headers=tokens["t-sl-admin"])
    assert sl_rules.status_code == 200 and {(r["programme_arm"], r["turnaround_days"], r["centre_rule"])
                                            for r in sl_rules.json()} >= {("rare_disease", 60, True)}
    before = rules_table()
    assert api.get("/api/reports/rules?centre=SLGMC", headers=tokens["admin"]).status_code == 404
    put = api.put("/api/reports/rules/rare_disease?centre=SLGMC", headers=tokens["admin"],
                  json={"turnaround_days": 5, "mdt_required": False})
    assert put.status_code == 404 and put.json()["field"] == "centre", put.text
    assert rules_table() == before
    mine = api.put("/api/reports/rules/rare_disease?centre=WMGMC", headers=tokens["admin"],
                   json={"turnaround_days": 35, "mdt_required": True})
    assert mine.status_code == 200 and mine.json()["centre_rule"] is True
    get_settings.cache_clear()
