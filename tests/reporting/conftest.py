"""Reporting test helpers: a real interpreted rare-disease case (KBG syndrome, ANKRD11 frameshift spiked into the
real exome's chromosome 16) and principals of the demo users."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gmc.audit.service import Actor
from gmc.auth.models import User
from gmc.auth.principal import Principal
from gmc.auth.service import principal_for

#: A published KBG syndrome case (phenopacket-store, Gnazzo 2020 patient 16): heterozygous ANKRD11 frameshift.
KBG_CASE = "PMID_36446582_Gnazzo_2020_P16.json"


def kbg_packet(benchmarks_dir: Path) -> dict:
    """The phenopacket of the KBG case."""
    return json.loads((benchmarks_dir / "rare" / "phenopackets" / KBG_CASE).read_text())


@pytest.fixture(scope="session")
def kbg_vcf(benchmarks_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real exome's chromosome 16 with the case's ANKRD11 frameshift spiked in heterozygous (as the rare tests)."""
    from tests.interpretation.rare import test_rare_service as rare_helpers

    return rare_helpers.kbg_vcf.__wrapped__(benchmarks_dir, tmp_path_factory)


def system() -> Principal:
    """A national system principal for setting up data."""
    return Principal(user_id=0, username="system:test", full_name="test", roles=frozenset({"admin"}),
                     permissions=frozenset(), centre_id=None, trust_scope=None, auth_method="system")


def user(session, username: str) -> Principal:
    """The principal of a demo user."""
    found = session.execute(sa.select(User).where(User.username == username)).scalar_one()
    return principal_for(session, found, auth_method="session")


def make_case(session, benchmarks_dir: Path, *, trust: str = "RQ3", choices: dict | None = None,
              number: str = "T-KBG-1", referred_days_ago: int = 30) -> str:
    """A consented KBG proband with the published HPO terms, referred at a trust; returns the case id."""
    from gmc.phenotype import service as phenotype
    from gmc.registry import consent as consent_service
    from gmc.registry import service as registry

    who = system()
    registry.ensure_rule_sets(session, actor=who.actor)
    registry.ensure_consent_forms(session)
    from gmc.registry.nhs_number import generate_test_nhs_numbers

    nhs = generate_test_nhs_numbers(1, seed=sum(map(ord, number)))[0]
    person = registry.PersonInput("Kestrel", "Maya", date.today() - timedelta(days=20 * 365), "female", nhs,
                                  "B15 2TT", trust, number)
    participant = registry.register_person(session, principal=who, person=person, decision="new").participant
    referral = registry.create_referral(session, principal=who, participant=participant, data=registry.ReferralInput(
        trust, "Dr L. Chen", date.today() - timedelta(days=referred_days_ago), "rare_disease",
        "Intellectual disability", "singleton", prior_tests_completed=True))
    form = registry.require_form(session, "RD-ADULT", "3.0")
    consent_service.record_consent(session, actor=Actor.system("test"), participant=participant, form=form,
                                   consented_on=date.today() - timedelta(days=2), given_by="participant",
                                   choices=choices or {choice: True for choice in form.choices})
    caller = phenotype.Caller.system("test")
    for feature in kbg_packet(benchmarks_dir)["phenotypicFeatures"]:
        phenotype.add_observation(session, caller, participant.participant_id, phenotype.ObservationInput(
            feature["type"]["id"], excluded=bool(feature.get("excluded"))))
    return registry.open_case(session, actor=who.actor, referral=referral).case_id


def interpreted_case(session, benchmarks_dir: Path, vcf: Path, **kwargs) -> tuple[str, str]:
    """A KBG case with a finished rare-disease run by the scientist; returns (case id, run id)."""
    from gmc.interpretation.rare import service as rare

    case_id = make_case(session, benchmarks_dir, **kwargs)
    run = rare.run_rare(session, user(session, "scientist"), case_id, vcf_path=str(vcf))
    return case_id, run.run_id


def ankrd11_key(session, run_id: str) -> str:
    """The run's ANKRD11 variant id (the causal frameshift)."""
    from gmc.interpretation.models import InterpretationRun

    run = session.execute(sa.select(InterpretationRun).where(InterpretationRun.run_id == run_id)).scalar_one()
    gene = next(g for g in run.results["genes"] if g["gene"] == "ANKRD11")
    return gene["variants"][0]["variant"]


def draft_positive(session, case_id: str, run_id: str):
    """The scientist starts the review, selects the ANKRD11 frameshift and writes the report texts."""
    from gmc.reporting import service

    scientist = user(session, "scientist")
    service.start_review(session, scientist, case_id)
    finding = service.select_finding(session, scientist, case_id, run_id, ankrd11_key(session, run_id),
                                     comment="De novo status not confirmed: parents not sequenced.")
    service.update_report(session, scientist, case_id, outcome="positive",
                          summary="A change in the ANKRD11 gene explains your child's condition (KBG syndrome).",
                          interpretation="Heterozygous ANKRD11 frameshift, classified likely pathogenic.",
                          recommendations="Offer testing of both parents; refer to clinical genetics.")
    service.record_exit_questions(session, scientist, case_id, explains="full", actionable=True, confirmed=False,
                                  diagnosis_made=True)
    return finding


def released_report(session, benchmarks_dir: Path, vcf: Path, **kwargs):
    """A KBG case whose report the scientist wrote and the checker authorised (no MDT): the released report."""
    from gmc.reporting import service

    service.set_rule(session, user(session, "admin"), "rare_disease", turnaround_days=84, mdt_required=False)
    case_id, run_id = interpreted_case(session, benchmarks_dir, vcf, **kwargs)
    draft_positive(session, case_id, run_id)
    service.sign_as_author(session, user(session, "scientist"), case_id)
    return service.authorise(session, user(session, "checker"), case_id)
