"""Reanalysis of reported cases: a new panel version is noticed; a reclassified finding flags the case for amendment."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select
from tests.reporting.conftest import ankrd11_key, draft_positive, make_case, released_report, user

from gmc.audit.service import Actor
from gmc.common.errors import Conflict
from gmc.interpretation.rare import service as rare
from gmc.registry.models import Case
from gmc.reporting import reanalysis, service


def test_a_reclassified_reported_finding_flags_the_case_for_amendment(demo_database, benchmarks_dir,
                                                                     kbg_vcf) -> None:
    with demo_database.transaction() as session:
        report = released_report(session, benchmarks_dir, kbg_vcf)
        case = session.get(Case, report.case_id)
        scientist = user(session, "scientist")
        # Nothing changed: the case returns to reported and says so.
        first = reanalysis.reanalyse_case(session, scientist, case.case_id, reason="annual review")
        assert not first.needs_amendment and first.changes["reclassified"] == []
        assert service.case_view(session, scientist, case.case_id)["state"] == "reported"
        # A scientist's new evidence (PVS1 not applicable) changes the class of the reported variant.
        run_id = first.changes["new_run"]
        rare.override_criterion(session, scientist, run_id, ankrd11_key(session, run_id), "PVS1", met=False,
                                reason="transcript shown not to undergo NMD in the tissue")
        second = reanalysis.reanalyse_case(session, scientist, case.case_id, reason="new functional evidence")
        assert second.needs_amendment
        moved = second.changes["reclassified"][0]
        assert moved["gene"] == "ANKRD11" and moved["class_before"] == "Likely pathogenic"
        assert moved["class_now"] != "Likely pathogenic"
        view = service.case_view(session, scientist, case.case_id)
        assert view["state"] == "amendment_requested" and "ANKRD11" in view["row"]["amendment_flag"]
        assert view["report"].version == 2 and view["report"].amendment_kind == "amended"
        assert case.case_id in [r["case_id"] for r in service.worklists(session, scientist)["flagged"]]
        with pytest.raises(Conflict, match="amendment requested: only a reported or closed case"):
            reanalysis.reanalyse_case(session, scientist, case.case_id)


def test_a_new_panel_version_makes_reported_cases_due_for_reanalysis(demo_database, benchmarks_dir, kbg_vcf,
                                                                    refdata_dir, tmp_path) -> None:
    with demo_database.transaction() as session:
        rare.import_panelapp(session, actor=Actor.system("test"))
        scientist = user(session, "scientist")
        service.set_rule(session, user(session, "admin"), "rare_disease", turnaround_days=84, mdt_required=False)
        case_id = make_case(session, benchmarks_dir, number="T-KBG-P")
        rare.apply_panel(session, scientist, case_id, "Intellectual disability")
        run = rare.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        draft_positive(session, case_id, run.run_id)
        service.sign_as_author(session, scientist, case_id)
        service.authorise(session, user(session, "checker"), case_id)
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        assert reanalysis.cases_due_for_reanalysis(session, scientist) == []
        # PanelApp publishes a new version of the panel (one gene fewer): the case is due for reanalysis.
        source = refdata_dir / "panelapp"
        changed = tmp_path / "panelapp"
        shutil.copytree(source, changed)
        core = changed / "PanelAppRex_PanelAppData_combined_core.tsv"
        core.chmod(0o644)
        lines = core.read_text(encoding="utf-8").splitlines(keepends=True)
        panel_id = next(line.split("\t")[0] for line in lines[1:] if line.split("\t")[4] == "Intellectual disability")
        dropped = next(i for i, line in enumerate(lines) if line.startswith(f"{panel_id}\t") and "ANKRD11" not in line)
        core.write_text("".join(lines[:dropped] + lines[dropped + 1:]), encoding="utf-8")
        counts = rare.import_panelapp(session, actor=Actor.system("test"), directory=changed)
        assert counts["new_versions"] >= 1
        due = reanalysis.cases_due_for_reanalysis(session, scientist)
        assert [d["case_id"] for d in due] == [case.case_id] and "panels" in due[0]["changes"]
        done = reanalysis.reanalyse_changed(session, scientist)
        assert [r.trigger for r in done] == ["reference_data"]
        assert "panels" in done[0].changes["reference"]
        assert reanalysis.cases_due_for_reanalysis(session, scientist) == []
        assert session.execute(select(Case.status).where(Case.id == case.id)).scalar_one() == "reported"
