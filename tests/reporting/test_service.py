"""Case review on a real interpreted case: states, findings, four-eyes sign-off, MDT, release, amendments, scope."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from tests.reporting.conftest import ankrd11_key, draft_positive, interpreted_case, user

from gmc.audit.models import AuditEvent
from gmc.audit.repository import history
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.registry import consent as consent_service
from gmc.registry import service as registry
from gmc.registry.models import Case, Participant
from gmc.reporting import service
from gmc.reporting.models import ClinicalReport, ReportedFinding


def test_a_case_moves_through_review_check_mdt_and_release(demo_database, benchmarks_dir, kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf)
        scientist, checker = user(session, "scientist"), user(session, "checker")
        lists = service.worklists(session, scientist)
        assert case_id in [r["case_id"] for r in lists["awaiting_review"]]
        finding = draft_positive(session, case_id, run_id)
        # The finding carries what the report prints: class and criteria (ACMG), zygosity, HGVS, evidence.
        details = finding.details
        assert (finding.gene, details["zygosity"]) == ("ANKRD11", "heterozygous")
        # The frameshift's c. needs its 3' position, and the reference FASTA has N there: withheld with the reason
        # annotation gave, never guessed from where the VCF wrote it.
        assert details["hgvs_c"] is None and "3'" in details["withheld"]["hgvs_c"]
        assert details["classification"] == "Likely pathogenic" and "PVS1" in details["criteria"]
        assert details["mane_select"]["refseq"].startswith("NM_") and details["transcript"].startswith("ENST")
        assert details["evidence"]["clinvar"]["accession"] == "VCV000265324"
        assert {t["id"] for t in details["evidence"]["hpo_terms"]} and details["evidence"]["disease"]["id"] == "OMIM:148050"
        # A frameshift's g. needs 3' shifting against the sequence: withheld with the reason, not guessed.
        assert details["hgvs_g"] is None and "3'" in details["withheld"]["hgvs_g"]
        assert [r["case_id"] for r in service.worklists(session, scientist)["my_cases"]] == [case_id]
        report = service.sign_as_author(session, scientist, case_id)
        assert report.status == "awaiting_check"
        assert case_id in [r["case_id"] for r in service.worklists(session, checker)["awaiting_my_check"]]
        assert case_id not in [r["case_id"] for r in service.worklists(session, scientist)["awaiting_my_check"]]
        with pytest.raises(PermissionDenied, match="four eyes"):
            service.authorise(session, scientist, case_id)
        service.authorise(session, checker, case_id)
        assert service.case_view(session, checker, case_id)["state"] == "awaiting_mdt"
        meeting = service.create_meeting(session, scientist, title="Rare disease MDT", held_on=date.today(),
                                         attendees=["Dr L. Chen (clinical geneticist)", "Sam Scientist (scientist)"])
        service.add_case_to_meeting(session, scientist, meeting.meeting_id, case_id)
        service.record_outcome(session, scientist, meeting.meeting_id, case_id, outcome="agreed",
                               minutes="Agreed likely pathogenic; parental testing.",
                               actions=["cascade testing of parents"],
                               agreed_classes={str(finding.id): "Likely pathogenic"})
        released = session.get(ClinicalReport, report.id)
        assert released.status == "released" and released.content_sha256
        doc = released.content
        assert doc["fhir_status"] == "final" and doc["findings"][0]["gene"] == "ANKRD11"
        assert doc["signatures"]["author"]["username"] == "scientist"
        assert doc["signatures"]["checker"]["username"] == "checker"
        assert doc["mdt"][0]["outcome"] == "agreed"
        assert doc["provenance"][0]["run_id"] == run_id and doc["provenance"][0]["versions"]["hpo"]
        assert any("not detected" in line for line in doc["limitations"])
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        assert case.status == "reported"
        moves = [(e.summary["from"], e.summary["to"]) for e in history(session, entity_type="case", entity_id=case.id)
                 if e.verb == "transition" and "action" in e.summary]
        assert moves == [("awaiting_review", "in_review"), ("in_review", "awaiting_check"),
                         ("awaiting_check", "awaiting_mdt"), ("awaiting_mdt", "reported")]


def test_illegal_moves_and_edits_of_a_released_report_change_nothing(demo_database, benchmarks_dir,
                                                                    kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf)
        scientist, checker = user(session, "scientist"), user(session, "checker")
        service.set_rule(session, user(session, "admin"), "rare_disease", turnaround_days=84, mdt_required=False)
        with pytest.raises(Conflict, match="awaiting review"):
            service.sign_as_author(session, scientist, case_id)
        draft_positive(session, case_id, run_id)
        with pytest.raises(Conflict, match="in review: there is no signed report"):
            service.authorise(session, checker, case_id)
        service.sign_as_author(session, scientist, case_id)
        service.authorise(session, checker, case_id)  # no MDT needed now: released at once
        report = service._latest_report(session, session.execute(select(Case).where(Case.case_id == case_id)).scalar_one())
        assert report.status == "released"
        frozen, events = dict(report.content), session.execute(select(func.count(AuditEvent.id))).scalar_one()
        for attempt in (lambda: service.update_report(session, scientist, case_id, summary="changed"),
                        lambda: service.select_finding(session, scientist, case_id, run_id, "16:1:A:G"),
                        lambda: service.record_exit_questions(session, scientist, case_id, explains="none",
                                                              actionable=False, confirmed=False, diagnosis_made=False)):
            with pytest.raises(Conflict, match="never changes"):
                with session.begin_nested():
                    attempt()
        assert session.get(ClinicalReport, report.id).content == frozen
        assert session.execute(select(func.count(AuditEvent.id))).scalar_one() == events
        service.close_case(session, scientist, case_id)
        with pytest.raises(Conflict, match="the case is closed: it cannot close"):
            service.close_case(session, scientist, case_id)


def test_an_edit_after_the_first_signature_voids_it(demo_database, benchmarks_dir, kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf)
        scientist, checker = user(session, "scientist"), user(session, "checker")
        draft_positive(session, case_id, run_id)
        report = service.sign_as_author(session, scientist, case_id)
        service.update_report(session, checker, case_id, recommendations="Refer to clinical genetics.")
        assert (report.status, report.author_signed_at) == ("draft", None)
        assert service.case_view(session, scientist, case_id)["state"] == "in_review"
        assert [e.verb for e in history(session, entity_type="clinical_report",
                                        entity_id=f"{report.report_id}v1")].count("void_signature") == 1
        with pytest.raises(Conflict, match="in review: there is no signed report"):
            service.authorise(session, checker, case_id)


def test_additional_findings_need_consent_and_withdrawal_stops_new_reports(demo_database, benchmarks_dir,
                                                                           kbg_vcf) -> None:
    with demo_database.transaction() as session:
        choices = {"taking_part": True, "research_data": True, "research_samples": True,
                   "additional_findings": False, "recontact": True}
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf, choices=choices)
        scientist = user(session, "scientist")
        service.start_review(session, scientist, case_id)
        with pytest.raises(Conflict, match="did not consent to additional findings"):
            with session.begin_nested():
                service.select_finding(session, scientist, case_id, run_id, ankrd11_key(session, run_id),
                                       category="additional")
        assert session.execute(select(func.count(ReportedFinding.id))).scalar_one() == 0
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        service.update_report(session, scientist, case_id, summary="No cause found.", outcome="negative")
        consent_service.withdraw(session, actor=scientist.actor, participant=session.get(Participant, case.proband_id),
                                 level="no_further_use", reason="participant request")
        with pytest.raises(Conflict, match="withdrew"):
            service.sign_as_author(session, scientist, case_id)


def test_an_additional_finding_is_not_signed_once_its_consent_is_gone(demo_database, benchmarks_dir,
                                                                       kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf)
        scientist = user(session, "scientist")
        service.start_review(session, scientist, case_id)
        finding = service.select_finding(session, scientist, case_id, run_id, ankrd11_key(session, run_id),
                                         category="additional")
        service.update_report(session, scientist, case_id, summary="An additional finding was reported.",
                              outcome="negative")
        service.record_exit_questions(session, scientist, case_id, explains="none", actionable=True,
                                      confirmed=False, diagnosis_made=False)
        # The participant re-consents, now declining additional findings.
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        participant = session.get(Participant, case.proband_id)
        form = registry.require_form(session, "RD-ADULT", "3.0")
        consent_service.record_consent(session, actor=scientist.actor, participant=participant, form=form,
                                       consented_on=date.today(), given_by="participant",
                                       choices={c: c != "additional_findings" for c in form.choices})
        with pytest.raises(Conflict, match="additional finding in ANKRD11 cannot be reported") as refused:
            with session.begin_nested():
                service.sign_as_author(session, scientist, case_id)
        assert refused.value.field == "findings"
        assert service.case_view(session, scientist, case_id)["report"].author_signed_at is None  # nothing changed
        service.remove_finding(session, scientist, case_id, finding.id)
        assert service.sign_as_author(session, scientist, case_id).status == "awaiting_check"


def test_another_trusts_staff_get_404_and_assignment_needs_a_scientist_of_the_trust(
        demo_database, benchmarks_dir, kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, _ = interpreted_case(session, benchmarks_dir, kbg_vcf, trust="RQ3")
        for outsider in ("sl-recruiter",):
            with pytest.raises((NotFound, PermissionDenied)):
                service.case_view(session, user(session, outsider), case_id)
        with pytest.raises(ValidationFailed, match="cannot review"):
            service.start_review(session, user(session, "scientist"), case_id, assignee="clinician")
        review = service.start_review(session, user(session, "scientist"), case_id, assignee="checker")
        assert review.assigned_to == "checker" and review.due_on == date.today() - timedelta(days=30) + timedelta(days=84)


def test_amendment_keeps_every_version_readable_and_marks_fhir_status(demo_database, benchmarks_dir,
                                                                     kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf)
        scientist, checker = user(session, "scientist"), user(session, "checker")
        service.set_rule(session, user(session, "admin"), "rare_disease", turnaround_days=84, mdt_required=False)
        draft_positive(session, case_id, run_id)
        service.sign_as_author(session, scientist, case_id)
        first = service.authorise(session, checker, case_id)
        with pytest.raises(ValidationFailed, match="say why"):
            service.request_amendment(session, scientist, case_id, " ")
        second = service.request_amendment(session, scientist, case_id, "Parental testing: de novo confirmed",
                                           kind="amended")
        assert (second.version, second.status, second.report_id) == (2, "draft", first.report_id)
        service.start_review(session, scientist, case_id)
        service.update_report(session, scientist, case_id,
                              interpretation="De novo ANKRD11 frameshift (parents tested): pathogenic.")
        service.sign_as_author(session, scientist, case_id)
        service.authorise(session, checker, case_id)
        assert (first.status, second.status) == ("superseded", "released")
        assert second.content["fhir_status"] == "amended" and second.content["amendment"]["amends_version"] == 1
        doc1, overlay = service.open_report(session, user(session, "clinician"), first.report_id, version=1)
        assert doc1["fhir_status"] == "final" and overlay["current_version"] == 2
        assert [v["version"] for v in overlay["versions"]] == [2, 1]


def test_review_rules_belong_to_a_centre_and_only_its_admins_change_them(demo_database, benchmarks_dir) -> None:
    """A West Midlands admin's target applies to West Midlands cases only; the programme's default (national staff
    only) stays for every other centre; a trust-confined admin of another centre changes nothing."""
    from tests.reporting.conftest import make_case

    from gmc.auth.permissions import Permission
    from gmc.auth.principal import Principal
    from gmc.auth.service import create_user

    with demo_database.transaction() as session:
        cases = {trust: session.execute(select(Case).where(Case.case_id == make_case(
            session, benchmarks_dir, trust=trust, number=f"T-RULE-{trust}"))).scalar_one() for trust in ("RQ3", "RJ1")}

        def due_days(trust: str) -> int:
            case = cases[trust]
            return (service.due_date(session, case) - case.referral.referral_date).days

        default = service.rules(session)["rare_disease"].turnaround_days
        service.set_rule(session, user(session, "admin"), "rare_disease", turnaround_days=42, mdt_required=False)
        assert (due_days("RQ3"), due_days("RJ1")) == (42, default)
        assert service.rules(session)["rare_disease"].turnaround_days == default
        create_user(session, actor=user(session, "admin").actor, username="t-sl-admin", password="sl-admin-pass-2026",
                    roles=["admin"], centre_code="SLGMC", trust_codes=["RJ1"])
        events = session.execute(select(func.count(AuditEvent.id))).scalar_one()
        with pytest.raises(PermissionDenied, match="centre-wide"):
            service.set_rule(session, user(session, "t-sl-admin"), "rare_disease", turnaround_days=7,
                             mdt_required=False)
        assert session.execute(select(func.count(AuditEvent.id))).scalar_one() == events
        national = Principal(user_id=0, username="system:test", full_name="test", roles=frozenset({"admin"}),
                             permissions=frozenset(p.value for p in Permission), centre_id=None, trust_scope=None,
                             auth_method="system")
        service.set_rule(session, national, "rare_disease", turnaround_days=90, mdt_required=True)
        assert (due_days("RQ3"), due_days("RJ1")) == (42, 90)
        assert service.rules(session, service.centre_of_case(session, cases["RQ3"]))["rare_disease"].centre_id
