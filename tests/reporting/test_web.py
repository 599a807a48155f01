"""The reporting pages through real forms: review, findings, four eyes, MDT, the clinician's new results, turnaround."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date

from fastapi.testclient import TestClient
from tests.conftest import web_login
from tests.reporting.conftest import ankrd11_key, interpreted_case

from gmc.audit.service import Actor
from gmc.auth import service as auth_service


def _form(client: TestClient, path: str, data: dict) -> object:
    return client.post(path, data={**data, "csrf_token": client.cookies.get("gmc_csrf")}, follow_redirects=False)


def _client(app, username: str, password: str | None = None) -> TestClient:
    client = TestClient(app)
    assert web_login(client, username, password).status_code == 303
    return client


def test_the_review_journey_through_the_pages(demo_app, demo_database, benchmarks_dir, kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf)
        variant = ankrd11_key(session, run_id)
        auth_service.create_user(session, actor=Actor.system("test"), username="other-clinician",
                                 password="heron lantern quarry 41", roles=["clinician"], full_name="Olu Other",
                                 centre_code="WMGMC", trust_codes=["RKB"])
    scientist, checker = _client(demo_app, "scientist"), _client(demo_app, "checker")
    clinician = _client(demo_app, "clinician")
    page = scientist.get("/reports")
    assert page.status_code == 200 and case_id in page.text
    assert _form(scientist, f"/reports/cases/{case_id}/review", {"assignee": ""}).status_code == 303
    page = scientist.get(f"/reports/cases/{case_id}")
    assert "in review" in page.text and "ANKRD11" in page.text and 'class="select-finding"' in page.text
    assert _form(scientist, f"/reports/cases/{case_id}/findings", {
        "run_id": run_id, "finding_key": variant, "category": "primary"}).status_code == 303
    # Annotation withheld the frameshift's c.: the page offers to confirm it, and checks what is entered.
    page = scientist.get(f"/reports/cases/{case_id}")
    assert "c. withheld" in page.text and "Confirm the description" in page.text
    finding_id = re.search(r'/findings/(\d+)/description', page.text).group(1)
    bad = _form(scientist, f"/reports/cases/{case_id}/findings/{finding_id}/description",
                {"hgvs_c": "c.3770del", "source": "VariantValidator"})
    assert bad.status_code == 422 and "deletes 2" in bad.text
    assert "c.3770del" not in scientist.get(f"/reports/cases/{case_id}").text.split('id="findings"')[1]
    assert _form(scientist, f"/reports/cases/{case_id}/findings/{finding_id}/description",
                 {"hgvs_c": "NM_013275.6:c.3770_3771del", "hgvs_p": "", "hgvs_g": "",
                  "source": "VariantValidator"}).status_code == 303
    assert "confirmed by Sam Scientist against VariantValidator" in scientist.get(f"/reports/cases/{case_id}").text
    assert _form(scientist, f"/reports/cases/{case_id}/draft", {
        "outcome": "positive", "summary": "A change in ANKRD11 explains the condition.",
        "interpretation": "Likely pathogenic frameshift.", "recommendations": "Parental testing."}).status_code == 303
    assert _form(scientist, f"/reports/cases/{case_id}/exit-questions", {
        "explains": "full", "actionable": "yes", "confirmed": "no", "diagnosis_made": "yes"}).status_code == 303
    assert _form(scientist, f"/reports/cases/{case_id}/move", {"action": "sign"}).status_code == 303
    refused = _form(scientist, f"/reports/cases/{case_id}/move", {"action": "authorise"})
    assert refused.status_code == 403 and "four eyes" in refused.text
    assert case_id in checker.get("/reports?list=awaiting_my_check").text.split('id="cases-table"')[1].split("</table>")[0]
    assert _form(checker, f"/reports/cases/{case_id}/move", {"action": "authorise"}).status_code == 303
    assert "awaiting MDT" in checker.get(f"/reports/cases/{case_id}").text
    created = _form(scientist, "/mdt", {"title": "Rare disease MDT", "held_on": date.today().isoformat(),
                                        "attendees": "Dr L. Chen (clinical geneticist)\nSam Scientist (scientist)"})
    assert created.status_code == 303
    meeting_path = created.headers["location"]
    assert _form(scientist, f"{meeting_path}/cases", {"case_id": case_id}).status_code == 303
    assert _form(clinician, f"{meeting_path}/cases/{case_id}/outcome", {
        "outcome": "agreed", "minutes": "Agreed.", "actions": "cascade testing of parents"}).status_code == 303
    new = clinician.get("/reports/new")
    report_id = re.search(r"/reports/(R\d{6})", new.text).group(1)
    report = clinician.get(f"/reports/{report_id}")
    assert report.status_code == 200 and "ANKRD11" in report.text and "Chris Checker" in report.text
    pdf = clinician.get(f"/reports/{report_id}/download?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    html = clinician.get(f"/reports/{report_id}/download?format=html")
    style = re.search(r"<style>(.*?)</style>", html.text, flags=re.S).group(1)
    pinned = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode()
    assert f"style-src 'sha256-{pinned}'" in html.headers["content-security-policy"]
    assert "script-src" not in html.headers["content-security-policy"]  # default-src 'none' covers scripts
    bad_date = _form(clinician, f"/reports/{report_id}/delivery", {"given_on": "yesterday", "given_by": "Dr Chen",
                                                                   "method": "clinic"})
    assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.text
    told = _form(clinician, f"/reports/{report_id}/delivery", {"given_on": date.today().isoformat(),
                                                               "given_by": "Dr L. Chen", "method": "clinic"})
    assert told.status_code == 303
    assert "Not recorded yet" not in clinician.get(f"/reports/{report_id}").text
    # The result moves from the new results to those given to the patient (each a list filtered on the server).
    assert f'href="/reports/{report_id}"' not in clinician.get("/reports/new").text
    assert f'href="/reports/{report_id}"' in clinician.get(f"/reports/new?told=yes&q={report_id}").text
    assert f'href="/reports/{report_id}"' not in clinician.get("/reports/new?told=yes&q=no-such-report").text
    other = _client(demo_app, "other-clinician", "heron lantern quarry 41")
    assert other.get(f"/reports/{report_id}").status_code == 404
    assert other.get(f"/reports/{report_id}/download?format=pdf").status_code == 404
    turnaround = scientist.get("/samples/turnaround")
    assert turnaround.status_code == 200 and "Referral to report" in turnaround.text
    assert re.search(r"RQ3</td><td>rare disease</td><td>1</td>", turnaround.text)


def test_an_admin_changes_the_review_rules_on_the_page_and_bad_input_changes_nothing(demo_app) -> None:
    admin, scientist = _client(demo_app, "admin"), _client(demo_app, "scientist")
    assert 'id="rules"' in admin.get("/reports").text and 'id="rules"' not in scientist.get("/reports").text
    bad = _form(admin, "/reports/rules", {"programme_arm": "cancer", "turnaround_days": "soon", "mdt_required": "yes"})
    assert bad.status_code == 422 and "whole number of days" in bad.text
    assert _form(admin, "/reports/rules", {"programme_arm": "cancer", "turnaround_days": "42",
                                           "mdt_required": "no"}).status_code == 303
    assert "cancer 42 days from referral" in admin.get("/reports").text
    assert _form(scientist, "/reports/rules", {"programme_arm": "cancer", "turnaround_days": "7",
                                               "mdt_required": "no"}).status_code == 403
