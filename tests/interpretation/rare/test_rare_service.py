"""Rare-disease interpretation in the database: runs with provenance, re-analysis, ACMG overrides, diagnosis, scope."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gmc.audit.repository import history
from gmc.audit.service import Actor
from gmc.auth import repository as auth_repository
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.auth.service import principal_for
from gmc.common.errors import Conflict, NotFound, ValidationFailed
from gmc.common.paging import ListState
from gmc.interpretation.models import InterpretationRun
from gmc.interpretation.rare import service
from gmc.interpretation.rare.models import AcmgOverride
from gmc.interpretation.rare.spike import load_background, spike_vcf
from gmc.organisations.models import Trust
from gmc.phenotype import service as phenotype
from gmc.registry import consent as consent_service
from gmc.registry import service as registry
from gmc.registry.models import Case

#: A published KBG syndrome case (ANKRD11 frameshift, heterozygous), from the shared phenopackets.
KBG_CASE = "PMID_36446582_Gnazzo_2020_P16.json"


def kbg_terms(benchmarks_dir: Path) -> tuple[list[str], list[str], dict]:
    packet = json.loads((benchmarks_dir / "rare" / "phenopackets" / KBG_CASE).read_text())
    observed = [f["type"]["id"] for f in packet["phenotypicFeatures"] if not f.get("excluded")]
    excluded = [f["type"]["id"] for f in packet["phenotypicFeatures"] if f.get("excluded")]
    vcf = packet["interpretations"][0]["diagnosis"]["genomicInterpretations"][0]["variantInterpretation"][
        "variationDescriptor"]["vcfRecord"]
    return observed, excluded, vcf


@pytest.fixture(scope="module")
def kbg_vcf(benchmarks_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real exome's chromosome 16 with the case's ANKRD11 frameshift spiked in heterozygous."""
    background = load_background(benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz")
    chr16 = replace(background, records=tuple(r for r in background.records if r[0] in ("chr16", "16")))
    _, _, record = kbg_terms(benchmarks_dir)

    class Causal:
        chrom, pos, ref, alt, zygosity = record["chrom"], record["pos"], record["ref"], record["alt"], "heterozygous"

    out = tmp_path_factory.mktemp("rare") / "kbg_chr16.vcf.gz"
    spike_vcf(chr16, [Causal()], out, seed=1)
    return out


def system_principal() -> Principal:
    return Principal(user_id=0, username="system:test", full_name="test", roles=frozenset({"admin"}),
                     permissions=frozenset(), centre_id=None, trust_scope=None, auth_method="system")


def user(session, username: str) -> Principal:
    return principal_for(session, auth_repository.get_user_by_username(session, username), auth_method="session")


def make_rare_case(session, observed: list[str], excluded: list[str] = (), *, trust: str = "RQ3") -> str:
    """A consented adult rare-disease participant with an HPO profile and the case the registry opens."""
    system = system_principal()
    registry.ensure_rule_sets(session, actor=system.actor)
    registry.ensure_consent_forms(session)
    person = registry.PersonInput("Testcase", "Kay", date.today() - timedelta(days=20 * 365), "female", None,
                                  "B15 2TT", trust, f"T{id(observed)}")
    participant = registry.register_person(session, principal=system, person=person, decision="new").participant
    referral = registry.create_referral(session, principal=system, participant=participant, data=registry.ReferralInput(
        trust, "Dr Test", date.today() - timedelta(days=5), "rare_disease", "Intellectual disability", "singleton",
        prior_tests_completed=True))
    form = registry.require_form(session, "RD-ADULT", "3.0")
    consent_service.record_consent(session, actor=Actor.system("test"), participant=participant, form=form,
                                   consented_on=date.today() - timedelta(days=2), given_by="participant",
                                   choices={choice: True for choice in form.choices})
    caller = phenotype.Caller.system("test")
    for term in observed:
        phenotype.add_observation(session, caller, participant.participant_id, phenotype.ObservationInput(term))
    for term in excluded:
        phenotype.add_observation(session, caller, participant.participant_id,
                                  phenotype.ObservationInput(term, excluded=True))
    return registry.open_case(session, actor=system.actor, referral=referral).case_id


def run_count(session) -> int:
    return session.execute(select(func.count(InterpretationRun.id))).scalar_one()


def test_run_stores_ranked_tiered_results_with_provenance(demo_database, benchmarks_dir, kbg_vcf):
    observed, excluded, _ = kbg_terms(benchmarks_dir)
    with demo_database.transaction() as session:
        case_id = make_rare_case(session, observed, excluded)
        scientist = user(session, "scientist")
        service.import_panelapp(session, actor=Actor.system("test"))
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        suggested = service.suggest_panels(session, case)
        assert suggested and "intellectual disability" in suggested[0]["name"].lower()
        service.apply_panel(session, scientist, case_id, suggested[0]["panel_key"], reason="suggested")
        run = service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        assert run.status == "done" and run.kind == "rare"
        top = run.results["genes"][0]
        # KBG syndrome: ANKRD11 (HGNC:21316), a frameshift in a green gene of the intellectual disability panel.
        assert (top["gene"], top["hgnc_id"], top["rank"]) == ("ANKRD11", "HGNC:21316", 1)
        assert top["tier"] == 1
        variant = top["variants"][0]
        assert variant["genotype"] == "het" and "frameshift_variant" in variant["consequence"]
        assert top["explanation"]["phenotype"]["disease_id"] == "OMIM:148050"
        assert {m["patient_term"] for m in top["explanation"]["phenotype"]["matched_terms"]} <= set(observed)
        acmg = {c["code"]: c for c in variant["acmg"]["criteria"]}
        # ANKRD11 is haploinsufficient (ClinGen HI 3); the frameshift in exon 9 of 13 is predicted to undergo NMD;
        # one of five Ensembl isoforms skips the exon, which the MANE transcript keeps: PVS1 very strong.
        pvs1 = acmg["PVS1"]
        assert pvs1["met"] and pvs1["strength"] == "very_strong", pvs1["reason"]
        assert "ClinGen HI score 3" in pvs1["reason"] and "nonsense-mediated decay" in pvs1["reason"]
        assert "exon 9 of 13" in pvs1["reason"] and "strength kept" in pvs1["reason"]
        ranks = [g["rank"] for g in run.results["genes"]]
        assert ranks == list(range(1, len(ranks) + 1))
        provenance = run.provenance
        assert provenance["gmc_version"] and provenance["hpo"] and provenance["ranking"]
        assert any("ntellectual" in p for p in provenance["panels"])
        assert run.inputs["observed_terms"] == observed and run.inputs["pedigree"][0]["sex"] == "female"
        events = history(session, entity_type="interpretation_run", entity_id=run.run_id)
        assert [e.verb for e in events] == ["interpret"]


def test_override_changes_class_is_audited_and_kept_in_history(demo_database, benchmarks_dir, kbg_vcf):
    observed, excluded, _ = kbg_terms(benchmarks_dir)
    with demo_database.transaction() as session:
        case_id = make_rare_case(session, observed, excluded)
        scientist = user(session, "scientist")
        run = service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        variant = run.results["genes"][0]["variants"][0]
        before = variant["acmg"]
        assert before["points"] >= 8  # PVS1 alone is 8 points
        result = service.override_criterion(session, scientist, run.run_id, variant["variant"], "PVS1", met=False,
                                            reason="transcript not expressed in the tissue")
        # Without PVS1's 8 points the Tavtigian total falls by 8.
        assert result.points == before["points"] - 8
        assert result.classification.value != before["classification"]
        again = service.override_criterion(session, scientist, run.run_id, variant["variant"], "PVS1", met=True,
                                           strength="strong", reason="NMD escape reviewed: strong")
        assert again.points == before["points"] - 4
        rows = session.execute(select(AcmgOverride).order_by(AcmgOverride.id)).scalars().all()
        assert [r.superseded_at is None for r in rows] == [False, True]
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        events = history(session, entity_type="acmg_criterion", entity_id=f"{case_id}:{variant['variant']}:PVS1")
        assert [e.verb for e in events] == ["override", "override"]
        assert events[0].summary["reason"] == "transcript not expressed in the tissue"
        assert [e.verb for e in history(session, entity_type="variant", entity_id=f"{case_id}:{variant['variant']}")][0] \
            == "classify"
        with pytest.raises(ValidationFailed):
            service.override_criterion(session, scientist, run.run_id, variant["variant"], "PM2", met=True, reason=" ")
        with pytest.raises(ValidationFailed):
            service.override_criterion(session, scientist, run.run_id, variant["variant"], "XX9", met=True, reason="x")
        assert case.status != "review"


def test_diagnosis_is_recorded_and_moves_the_case_to_review(demo_database, benchmarks_dir, kbg_vcf):
    observed, excluded, _ = kbg_terms(benchmarks_dir)
    with demo_database.transaction() as session:
        case_id = make_rare_case(session, observed, excluded)
        scientist = user(session, "scientist")
        run = service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        diagnosis = service.choose_diagnosis(session, scientist, run.run_id, "ANKRD11", note="KBG confirmed")
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        assert case.status == "review"
        assert (diagnosis.gene, diagnosis.disease_id) == ("ANKRD11", "OMIM:148050")
        assert diagnosis.variants[0]["classification"] in ("Pathogenic", "Likely pathogenic")
        verbs = [e.verb for e in history(session, entity_type="case", entity_id=str(case.id))]
        assert "classify" in verbs and "transition" in verbs
        with pytest.raises(NotFound):
            service.choose_diagnosis(session, scientist, run.run_id, "NOTAGENE")


def test_reanalysis_after_new_hpo_terms_shows_what_moved(demo_database, benchmarks_dir, kbg_vcf):
    observed, excluded, _ = kbg_terms(benchmarks_dir)
    with demo_database.transaction() as session:
        # First only splenomegaly, a sign unrelated to KBG syndrome; then the published profile is captured.
        case_id = make_rare_case(session, ["HP:0001744"])
        scientist = user(session, "scientist")
        first = service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        first_rank = next(g["rank"] for g in first.results["genes"] if g["gene"] == "ANKRD11")
        assert first_rank > 1
        participant = first.inputs["pedigree"][0]["participant_id"]
        for term in observed:
            phenotype.add_observation(session, phenotype.Caller.system("test"), participant,
                                      phenotype.ObservationInput(term))
        # As if the first run had been made with an older HPO release: the comparison names that change too.
        first.provenance = {**first.provenance, "hpo": "2024-04-26"}
        session.flush()
        second = service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        comparison = second.results["comparison"]
        assert comparison["inputs"]["reference_data"] == {
            "hpo": {"previous": "2024-04-26", "current": second.provenance["hpo"]}}
        assert comparison["previous_run"] == first.run_id
        assert comparison["inputs"]["observed_terms"]["added"] == sorted(observed)
        changed = {g["gene"]: g for g in comparison["moved"] + comparison["new"]}
        assert changed["ANKRD11"]["rank"] == 1
        assert changed["ANKRD11"]["previous_rank"] == (first_rank if first_rank <= 20 else changed["ANKRD11"][
            "previous_rank"])


def test_consent_refusal_bad_input_and_scope_store_nothing(demo_database, benchmarks_dir, kbg_vcf):
    observed, excluded, _ = kbg_terms(benchmarks_dir)
    with demo_database.transaction() as session:
        case_id = make_rare_case(session, observed, excluded)
        scientist = user(session, "scientist")
        before = run_count(session)
        with pytest.raises(ValidationFailed):
            service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf) + ".missing")
        grch37 = benchmarks_dir / "annotated" / "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"
        with pytest.raises(ValidationFailed):  # a GRCh37 file handed in as GRCh38
            service.run_rare(session, scientist, case_id, vcf_path=str(grch37), build="GRCh38")
        with pytest.raises(NotFound):
            service.apply_panel(session, scientist, case_id, "No such panel at all")
        # Another centre's scientist does not see the case at all.
        south = session.execute(select(Trust).where(Trust.code == "RJ1")).scalar_one()
        outsider = Principal(user_id=0, username="outsider", full_name="", roles=frozenset({"scientist"}),
                             permissions=frozenset({Permission.INTERPRETATION_READ, Permission.INTERPRETATION_WRITE}),
                             centre_id=None, trust_scope=frozenset({south.id}), auth_method="session")
        with pytest.raises(NotFound):
            service.run_rare(session, outsider, case_id, vcf_path=str(kbg_vcf))
        with pytest.raises(NotFound):
            service.interpretation_view(session, outsider, case_id)
        participant = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one().proband_id
        from gmc.registry.models import Participant
        consent_service.withdraw(session, actor=Actor.system("test"), participant=session.get(Participant, participant),
                                 level="no_further_use", reason="participant request")
        with pytest.raises(Conflict):
            service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        assert run_count(session) == before


def test_panel_import_keeps_versions(database, tmp_path):
    header = "id\tmode_of_inheritance\tGene\tconfidence_level\tname\tdisease_group\tdisease_sub_group\tstatus\n"
    first = header + ("9001\tBIALLELIC, autosomal or pseudoautosomal\tPAH\t3\tTest phenylketonuria\tMetabolic\t\tpublic\n"
                      "9002\tMONOALLELIC, autosomal or pseudoautosomal, not imprinted\tFBN1\t3\tTest Marfan\tCTD\t\tpublic\n")
    (tmp_path / "PanelAppRex_PanelAppData_combined_core.tsv").write_text(first)
    with database.transaction() as session:
        assert service.import_panelapp(session, actor=Actor.system("test"), directory=tmp_path)["new"] == 2
        # Unchanged panels are not versioned again.
        assert service.import_panelapp(session, actor=Actor.system("test"), directory=tmp_path)["unchanged"] == 2
        changed = first.replace("FBN1\t3", "FBN1\t2")  # FBN1 downgraded from green to amber
        (tmp_path / "PanelAppRex_PanelAppData_combined_core.tsv").write_text(changed)
        counts = service.import_panelapp(session, actor=Actor.system("test"), directory=tmp_path)
        assert (counts["new"], counts["new_versions"], counts["unchanged"]) == (0, 1, 1)
        newest = service.find_panel(session, "Test Marfan")
        oldest = service.find_panel(session, "9002", version=1)
        assert (newest.version, newest.genes[0]["confidence"]) == (2, 2)
        assert (oldest.current, oldest.genes[0]["confidence"], oldest.genes[0]["mode"]) == (False, 3, "AD")
        assert service.find_panel(session, "9001").genes[0]["mode"] == "AR"
        with pytest.raises(NotFound):
            service.find_panel(session, "9002", version=7)


def test_background_run_that_fails_is_marked_failed_with_the_reason(demo_database, benchmarks_dir, kbg_vcf, tmp_path):
    observed, excluded, _ = kbg_terms(benchmarks_dir)
    vanishing = tmp_path / "copy.vcf.gz"
    vanishing.write_bytes(kbg_vcf.read_bytes())
    with demo_database.transaction() as session:
        case_id = make_rare_case(session, observed, excluded)
        run = service.queue_rare_run(session, user(session, "scientist"), case_id, vcf_path=str(vanishing))
        assert run.status == "queued"
        run_pk = run.id
    vanishing.unlink()  # the file goes away before the job starts
    service.execute_in_background(demo_database, run_pk)
    with demo_database.transaction() as session:
        run = session.get(InterpretationRun, run_pk)
        assert run.status == "failed" and "copy.vcf.gz" in run.error and run.results is None


def test_database_run_evaluates_ps1_pm5_when_the_deployment_has_a_fasta(demo_database, benchmarks_dir, refdata_dir,
                                                                         tmp_path, monkeypatch):
    from gmc.settings import reset_settings_cache

    # CFTR R117C (chr7:117530974 C>T), a different amino-acid change at the residue of ClinVar's pathogenic R117H,
    # in the real exome's chromosome 7; the sparse real FASTA covers CFTR, so the missense and p. are known.
    background = load_background(benchmarks_dir / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz")
    chr7 = replace(background, records=tuple(r for r in background.records if r[0] in ("chr7", "7")))

    class Causal:
        chrom, pos, ref, alt, zygosity = "chr7", 117530974, "C", "T", "heterozygous"

    vcf = tmp_path / "cftr_chr7.vcf.gz"
    spike_vcf(chr7, [Causal()], vcf, seed=1)
    # Bronchiectasis, exocrine pancreatic insufficiency, meconium ileus, elevated sweat chloride.
    observed = ["HP:0002110", "HP:0001738", "HP:0004401", "HP:0012236"]
    with demo_database.transaction() as session:
        case_id = make_rare_case(session, observed)
        scientist = user(session, "scientist")
        # Sequence turned off (the reference-data FASTA is used by default): the change is coding of unknown
        # effect, and PS1/PM5 cannot apply.
        monkeypatch.setenv("GMC_REFERENCE_FASTA", "none")
        reset_settings_cache()
        try:
            without = service.run_rare(session, scientist, case_id, vcf_path=str(vcf))
        finally:
            monkeypatch.delenv("GMC_REFERENCE_FASTA")
            reset_settings_cache()
        cftr = next(g for g in without.results["genes"] if g["gene"] == "CFTR")
        assert "missense_variant" not in cftr["variants"][0]["consequence"]
        monkeypatch.setenv("GMC_REFERENCE_FASTA",
                           str(refdata_dir / "grch38" / "sequence" / "GRCh38_sparse_Nmasked.fa.gz"))
        reset_settings_cache()
        try:
            run = service.run_rare(session, scientist, case_id, vcf_path=str(vcf))
        finally:
            monkeypatch.delenv("GMC_REFERENCE_FASTA")
            reset_settings_cache()
        cftr = next(g for g in run.results["genes"] if g["gene"] == "CFTR")
        variant = cftr["variants"][0]
        assert "missense_variant" in variant["consequence"] and "Arg117Cys" in (variant["hgvs_p"] or "")
        criteria = {c["code"]: c for c in variant["acmg"]["criteria"]}
        assert criteria["PM5"]["met"] and "117530975" in criteria["PM5"]["reason"]
        assert not criteria["PS1"]["met"]
        assert run.provenance["fasta"].endswith("GRCh38_sparse_Nmasked.fa.gz")


def _all_pages(session, principal, **filters) -> tuple[int, list[dict]]:
    """Walks the /rare list one small page at a time (per_page=1): its total and every row, in order."""
    rows, page_no = [], 1
    while True:
        state = ListState("/rare", service.CASE_SORTS, "opened", descending=True, page=page_no, per_page=1,
                          filters=filters)
        page = service.rare_case_page(session, principal, state)
        rows += page.items
        if page_no >= page.pages:
            return page.total, rows
        page_no += 1


def test_cases_to_review_are_exactly_the_list_filtered_to_review(demo_database, benchmarks_dir, kbg_vcf):
    """The home worklist's count is the /rare?todo=review total, paged in SQL beyond one page: results, no
    diagnosis, not reported or closed; the top gene and diagnosis come without loading the runs' results."""
    observed, excluded, _ = kbg_terms(benchmarks_dir)
    with demo_database.transaction() as session:
        scientist = user(session, "scientist")
        # Each case its own person (make_rare_case keys the hospital number on the term list it is given).
        terms = [list(observed) for _ in range(5)]
        waiting, waiting_too, reported, diagnosed, not_run = (make_rare_case(session, t, excluded) for t in terms)
        for case_id in (waiting, waiting_too, reported, diagnosed):
            run = service.run_rare(session, scientist, case_id, vcf_path=str(kbg_vcf))
        service.choose_diagnosis(session, scientist, run.run_id, "ANKRD11")
        # Reporting marks a case reported when its report is released (the interpretation no longer awaits review).
        session.execute(select(Case).where(Case.case_id == reported)).scalar_one().status = "reported"
        session.flush()
        to_review = [c.case_id for c in service.cases_to_review(session, scientist)]
        assert {waiting, waiting_too} <= set(to_review) and {reported, diagnosed, not_run}.isdisjoint(to_review)
        total, rows = _all_pages(session, scientist, todo="review")
        assert total == len(to_review) == len(rows) > 1  # more than one page, every page read in SQL
        assert sorted(r["case_id"] for r in rows) == sorted(to_review) and all(r["to_review"] for r in rows)
        everything_total, everything = _all_pages(session, scientist)
        counted = select(func.count(Case.id)).where(Case.programme_arm == "rare_disease")
        if scientist.trust_scope is not None:
            counted = counted.where(Case.trust_id.in_(list(scientist.trust_scope)))
        in_scope = session.execute(counted).scalar_one()
        assert everything_total == len(everything) == in_scope
        assert sorted(case_id for case_id, flag in ((r["case_id"], r["to_review"]) for r in everything) if flag) \
            == sorted(to_review)
        by_id = {r["case_id"]: r for r in everything}
        assert by_id[waiting]["top_gene"] == "ANKRD11" and by_id[waiting]["last_run_status"] == "done"
        assert by_id[diagnosed]["diagnosis"] == "ANKRD11" and by_id[not_run]["last_run"] is None
        # The text filter finds cases by their top gene (read inside the database) and by the chosen diagnosis.
        found_total, found = _all_pages(session, scientist, q="ankrd11")
        assert {waiting, waiting_too, reported, diagnosed} <= {r["case_id"] for r in found}
        assert found_total == len(found) and not_run not in {r["case_id"] for r in found}
        none_total, none_rows = _all_pages(session, scientist, run="none")
        assert not_run in {r["case_id"] for r in none_rows} and none_total == len(none_rows)
        assert all(r["last_run"] is None for r in none_rows)
