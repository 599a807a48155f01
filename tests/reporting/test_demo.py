"""The demo centre's reporting content: released, amended, awaiting-check and cancer reports at the clinician's trusts."""

from __future__ import annotations

import json

from tests.reporting.conftest import user

from gmc.db.core import Database
from gmc.reporting import fhir, render, service


def test_demo_has_every_report_state_inside_the_demo_clinicians_trusts(full_demo_db_url: str) -> None:
    database = Database(full_demo_db_url)
    try:
        with database.transaction() as session:
            clinician, scientist = user(session, "clinician"), user(session, "scientist")
            reports = service.report_list(session, scientist)
            states = {(r["programme_arm"], r["status"], r["amendment_kind"]) for r in reports}
            assert ("rare_disease", "released", None) in states  # KBG, solved
            assert ("rare_disease", "released", "amended") in states and ("rare_disease", "superseded", None) in states
            assert ("rare_disease", "awaiting_check", None) in states
            assert ("cancer", "released", None) in states
            lists = service.worklists(session, scientist)
            assert lists["awaiting_review"], "an interpreted case waits for review (the walk-through starts there)"
            assert [r["state"] for r in lists["all"] if r["report"] and "awaiting_check" in r["report"]] == [
                "awaiting_check"]
            # Every released report is on the clinician's worklist: the cases sit at the clinician's trusts.
            seen = service.clinician_worklist(session, clinician)
            released = {(r["report_id"], r["version"]) for r in reports if r["status"] == "released"}
            assert {(r["report_id"], r["version"]) for r in seen["new"] + seen["done"]} == released
            assert len(seen["done"]) == 1  # the KBG family was told
            # The frameshift's c. that annotation withheld was confirmed from the publication, and the report says so.
            kbg, _ = service.open_report(session, clinician, seen["done"][0]["report_id"], fmt="html")
            (ankrd11,) = kbg["findings"]
            assert (ankrd11["gene"], ankrd11["hgvs_c"]) == ("ANKRD11", "c.3770_3771del")
            assert ankrd11["described"]["source"] == "the published description (PMID:36446582)"
            assert any("confirmed by" in line for line in kbg["limitations"])
            meetings = service.meeting_list(session, scientist)
            assert meetings and all(e.outcome == "agreed" for m in meetings for e in m.cases)
            cancer = next(r for r in reports if r["programme_arm"] == "cancer")
            document, _ = service.open_report(session, clinician, cancer["report_id"], fmt="fhir")
            bundle = fhir.validate(json.loads(render.render(document, "fhir")))
            profiles = [e["resource"].get("meta", {}).get("profile", [""])[0].rsplit("/", 1)[-1] for e in bundle["entry"]]
            assert "therapeutic-implication" in profiles and "molecular-biomarker" in profiles
            assert document["findings"][0]["gene"] == "PIK3CA" and document["findings"][0]["tier"] == "I"
    finally:
        database.dispose()


def test_home_worklists_give_each_role_its_counts_first_items_and_links(full_demo_db_url: str) -> None:
    database = Database(full_demo_db_url)
    try:
        with database.transaction() as session:
            scientist, clinician = user(session, "scientist"), user(session, "clinician")
            lists = service.worklists(session, scientist)
            home = {w["key"]: w for w in service.home_worklists(session, scientist, shown=2)}
            assert {"reporting.my_cases", "reporting.awaiting_my_check", "reporting.overdue",
                    "reporting.awaiting_mdt"} <= set(home)
            for key in ("my_cases", "awaiting_my_check", "overdue", "awaiting_mdt"):
                entry = home[f"reporting.{key}"]
                assert entry["count"] == len(lists[key])
                assert [i["label"] for i in entry["items"]] == [r["case_id"] for r in lists[key][:2]]
                assert all(i["href"] == f"/reports/cases/{i['label']}" for i in entry["items"])
            assert "reporting.new_results" not in home  # a scientist does not receive reports
            new = service.clinician_worklist(session, clinician)["new"]
            results = next(w for w in service.home_worklists(session, clinician) if w["key"] == "reporting.new_results")
            assert results["count"] == len(new) > 0 and results["href"] == "/reports/new"
            assert results["items"][0]["href"] == f"/reports/{new[0]['report_id']}"
    finally:
        database.dispose()
