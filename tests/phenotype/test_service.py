"""Phenotype service on a real database (SQLite and PostgreSQL): capture, guidance, scope, audit, imports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gmc.audit import repository as audit_repository
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.phenotype import phenopackets as pp
from gmc.phenotype import service
from gmc.phenotype.models import PedigreeMember, PhenopacketImport, PhenotypeObservation
from gmc.phenotype.ontology import get_ontology
from gmc.phenotype.service import Caller, ObservationInput, PhenotypeImportError
from gmc.registry.consent import record_consent, withdraw
from gmc.registry.models import Participant

NATIONAL = Caller.system("test")


def _caller(factory, *codes: str) -> Caller:
    """A user scoped to these trusts."""
    return Caller(NATIONAL.actor, frozenset(factory.trust(c).id for c in codes))


def test_capture_resolves_replaced_ids_and_refuses_bad_ones(session, factory) -> None:
    person = factory.participant(trust="RQ3")
    pid = person.participant_id
    # HP:0000516 is an alternative id of HP:0000505 Visual impairment; HP:0000487 is obsolete -> HP:0000486.
    alt = service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0000516"))
    assert alt.observation.hpo_id == "HP:0000505" and alt.observation.requested_id == "HP:0000516"
    assert alt.warnings == ["HP:0000516 is an alternative id of HP:0000505"]
    obsolete = service.add_observation(session, NATIONAL, pid, ObservationInput(
        "HP:0000487", onset="HP:0003577", severity="HP:0012828", laterality="HP:0012832"))
    row = obsolete.observation
    assert (row.hpo_id, row.label, row.onset, row.severity, row.laterality) == (
        "HP:0000486", "Strabismus", "HP:0003577", "HP:0012828", "HP:0012832")
    assert "obsolete and replaced by HP:0000486" in obsolete.warnings[0]
    for bad, expected in (("HP:12", "not an HPO id"), ("HP:9999999", "not in HPO release"),
                          ("HP:0003577", "not a phenotypic abnormality"),
                          ("HP:0000489", "obsolete with no replacement")):
        with pytest.raises(ValidationFailed, match=expected) as caught:
            service.add_observation(session, NATIONAL, pid, ObservationInput(bad))
        assert caught.value.field == "hpo_id"
    with pytest.raises(ValidationFailed, match="not an age-of-onset term") as caught:
        service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0001250", onset="HP:0012828"))
    assert caught.value.field == "onset"
    with pytest.raises(ValidationFailed, match="ISO 8601"):
        service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0001250", onset="three years"))
    with pytest.raises(Conflict, match="already in the profile"):
        service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0000505"))
    with pytest.raises(Conflict, match="already recorded as observed"):
        service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0000505", excluded=True))
    stored = session.execute(select(func.count()).select_from(PhenotypeObservation)).scalar_one()
    assert stored == 2


def test_guidance_flags_redundant_ancestor_contradiction_and_low_information(session, factory) -> None:
    pid = factory.participant().participant_id
    service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0001250"))  # Seizure
    result = service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0007359"))  # Focal-onset seizure
    guidance = result.guidance
    assert guidance.redundant_pairs == [{"term": "HP:0007359", "term_label": "Focal-onset seizure",
                                         "ancestor": "HP:0001250", "ancestor_label": "Seizure"}]
    assert not guidance.is_informative and any("remove the broader term" in w for w in guidance.warnings)
    # Excluding Abnormal nervous system physiology contradicts the seizures below it.
    service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0012638", excluded=True))
    profile = service.get_profile(session, NATIONAL, pid)
    assert {c["observed"] for c in profile.guidance.contradictions} == {"HP:0001250", "HP:0007359"}
    # Two specific, unrelated features carry enough information (hand check: each IC is well above ln(10)).
    for term in ("HP:0001166", "HP:0001083"):  # Arachnodactyly, Ectopia lentis
        service.add_observation(session, NATIONAL, pid, ObservationInput(term))
    assert service.get_profile(session, NATIONAL, pid).guidance.is_informative


def test_removal_is_soft_and_every_step_is_audited(session, factory) -> None:
    pid = factory.participant().participant_id
    row = service.add_observation(session, NATIONAL, pid, ObservationInput("HP:0001250", note="since age 2")).observation
    service.remove_observation(session, NATIONAL, pid, row.id, reason="entered on the wrong record")
    with pytest.raises(Conflict, match="already removed"):
        service.remove_observation(session, NATIONAL, pid, row.id)
    profile = service.get_profile(session, NATIONAL, pid, include_removed=True)
    assert profile.observations == [] and [r.hpo_id for r in profile.removed] == ["HP:0001250"]
    assert profile.removed[0].removal_reason == "entered on the wrong record"
    verbs = [e.verb for e in audit_repository.history(session, entity_type="phenotype_observation", entity_id=row.id)]
    assert verbs == ["create", "delete"]
    reads = audit_repository.history(session, entity_type="phenotype_profile", entity_id=pid)
    assert [e.verb for e in reads] == ["read"]


def test_trust_scope_hides_other_trusts_participants(session, factory) -> None:
    west = factory.participant(trust="RQ3")
    service.add_observation(session, NATIONAL, west.participant_id, ObservationInput("HP:0001250"))
    recruiter = _caller(factory, "RQ3", "RLU")
    assert len(service.get_profile(session, recruiter, west.participant_id).observations) == 1
    south = _caller(factory, "RJ1", "RJZ")
    with pytest.raises(NotFound, match="within your trusts"):
        service.get_profile(session, south, west.participant_id)
    with pytest.raises(NotFound):
        service.add_observation(session, south, west.participant_id, ObservationInput("HP:0001250"))
    # A participant with no referral at all is visible to national staff only.
    unreferred = factory.participant(trust=None)
    with pytest.raises(NotFound):
        service.get_profile(session, recruiter, unreferred.participant_id)
    assert service.get_profile(session, NATIONAL, unreferred.participant_id).observations == []


def test_withdrawal_from_further_use_stops_capture(session, factory) -> None:
    person = factory.participant()
    form = factory.consent_form()
    record_consent(session, actor=NATIONAL.actor, participant=person, form=form, consented_on=date(2026, 2, 1),
                   given_by="participant", choices={"taking_part": True, "research_data": True})
    service.add_observation(session, NATIONAL, person.participant_id, ObservationInput("HP:0001250"))
    withdraw(session, actor=NATIONAL.actor, participant=person, level="no_further_use")
    with pytest.raises(PermissionDenied, match="withdrew"):
        service.add_observation(session, NATIONAL, person.participant_id, ObservationInput("HP:0001263"))
    with pytest.raises(PermissionDenied):
        service.export_phenopacket(session, NATIONAL, person.participant_id)


def test_diagnoses_validate_codes_and_keep_history(session, factory) -> None:
    pid = factory.participant().participant_id
    for bad in ("OMIM:12", "DECIPHER:1", "marfan", "MONDO:123"):
        with pytest.raises(ValidationFailed, match="not a disease code") as caught:
            service.add_diagnosis(session, NATIONAL, pid, code=bad)
        assert caught.value.field == "code"
    dx = service.add_diagnosis(session, NATIONAL, pid, code="omim:154700", label="Marfan syndrome")
    assert (dx.code, dx.status) == ("OMIM:154700", "suspected")
    assert service.add_diagnosis(session, NATIONAL, pid, code="Orphanet:558").code == "ORPHA:558"
    with pytest.raises(Conflict):
        service.add_diagnosis(session, NATIONAL, pid, code="OMIM:154700")
    with pytest.raises(ValidationFailed, match="status"):
        service.update_diagnosis(session, NATIONAL, pid, dx.id, status="likely")
    service.update_diagnosis(session, NATIONAL, pid, dx.id, status="confirmed")
    service.update_diagnosis(session, NATIONAL, pid, dx.id, remove=True)
    assert [d.code for d in service.get_profile(session, NATIONAL, pid).diagnoses] == ["ORPHA:558"]
    history = audit_repository.history(session, entity_type="phenotype_diagnosis", entity_id=dx.id)
    assert [e.verb for e in history] == ["create", "update", "delete"]
    assert history[1].summary["status"] == ["suspected", "confirmed"]


def _packet(benchmarks_dir: Path, name: str) -> pp.PhenopacketData:
    return pp.read_phenopacket(benchmarks_dir / "rare" / "phenopackets" / name)


def test_phenopacket_import_export_round_trip(session, factory, benchmarks_dir) -> None:
    source = benchmarks_dir / "rare" / "phenopackets" / "PMID_10851256_family_815.json"
    data = pp.read_phenopacket(source)
    summary = service.import_phenopackets(session, NATIONAL, [(str(source), data)])
    assert summary.participants_created == 1 and summary.participants_matched == 0
    pid = summary.mapping[data.id]
    created = session.execute(select(Participant).where(Participant.participant_id == pid)).scalar_one()
    assert created.referrals == [] and created.family_name == ""
    record = session.execute(select(PhenopacketImport)).scalar_one()
    assert record.subject_id == "family 815" and record.created_participant
    document = service.export_phenopacket(session, NATIONAL, pid)
    again = pp.read_phenopacket(json.dumps(document))
    assert again.subject.id == pid
    # The file has 6 observed and 2 excluded features (Heterochromia iridis, Nystagmus).
    assert pp.observed_term_ids(again) == pp.observed_term_ids(data)
    assert pp.excluded_term_ids(again) == ["HP:0001100", "HP:0000639"]
    onset = next(f.onset for f in again.phenotypic_features if f.type.id == "HP:0000407")
    assert onset.ontology_class.id == "HP:0003577"
    assert [d.term.id for d in again.diseases] == ["OMIM:103500"]
    assert again.interpretations[0].diagnosis_disease.id == "OMIM:103500"
    causal = pp.causal_variants(again)[0]
    assert (causal.gene_symbol, causal.subject_or_biosample_id) == ("MITF", pid)
    hp = next(r for r in again.meta_data.resources if r.id == "hp")
    assert hp.version == get_ontology().release
    dx = service.get_profile(session, NATIONAL, pid).diagnoses
    assert [(d.code, d.status) for d in dx] == [("OMIM:103500", "confirmed")]  # the interpretation is SOLVED
    # Importing the same phenopacket again maps to the same participant and adds nothing twice.
    again_summary = service.import_phenopackets(session, NATIONAL, [(str(source), data)])
    assert again_summary.mapping[data.id] == pid and again_summary.participants_created == 0
    assert again_summary.observations == 0 and again_summary.skipped_duplicates == 8


def test_phenopacket_subject_matches_programme_id_and_scope(session, factory, benchmarks_dir) -> None:
    data = _packet(benchmarks_dir, "PMID_10851256_family_815.json")
    person = factory.participant(trust="RQ3")
    mine = pp.PhenopacketData(id="gmc-test-1", subject=pp.Subject(id=person.participant_id),
                              phenotypic_features=data.phenotypic_features, meta_data=data.meta_data)
    recruiter = _caller(factory, "RQ3")
    summary = service.import_phenopackets(session, recruiter, [("mine.json", mine)])
    assert summary.mapping == {"gmc-test-1": person.participant_id} and summary.participants_matched == 1
    south = _caller(factory, "RJ1")
    # Another trust learns nothing of the record: the subject is "not at your trusts", as if it did not exist.
    with pytest.raises(PhenotypeImportError, match="no participant .* at your trusts"):
        service.import_phenopackets(session, south, [("mine2.json", pp.PhenopacketData(
            id="gmc-test-2", subject=pp.Subject(id=person.participant_id), meta_data=data.meta_data))])
    with pytest.raises(PhenotypeImportError, match="only national users"):
        service.import_phenopackets(session, recruiter, [("other.json", data)])


def test_phenopacket_import_is_all_or_nothing(session, factory, benchmarks_dir) -> None:
    good = _packet(benchmarks_dir, "PMID_10851256_family_815.json")
    bad_feature = pp.PhenotypicFeature(type=pp.OntologyTerm("HP:0001250", "Seizure"),
                                       onset=pp.TimeElement(ontology_class=pp.OntologyTerm("HP:0012828", "Severe")))
    bad = pp.PhenopacketData(id="bad-1", subject=pp.Subject(id="x"), phenotypic_features=(bad_feature,),
                             diseases=(pp.Disease(term=pp.OntologyTerm("NCIT:C3058", "Glioblastoma")),),
                             meta_data=good.meta_data)
    before = session.execute(select(func.count()).select_from(Participant)).scalar_one()
    with pytest.raises(PhenotypeImportError) as caught:
        service.import_phenopackets(session, NATIONAL, [("good.json", good), ("bad.json", bad)])
    where = {(source, path) for source, path, _ in caught.value.problems}
    assert where == {("bad.json", "phenotypicFeatures[0].onset"), ("bad.json", "diseases[0].term.id")}
    assert session.execute(select(func.count()).select_from(Participant)).scalar_one() == before
    assert session.execute(select(func.count()).select_from(PhenotypeObservation)).scalar_one() == 0


def test_hpo_csv_upload_all_or_nothing(session, factory) -> None:
    a, b = factory.participant(trust="RQ3"), factory.participant(trust="RJ1")
    recruiter = _caller(factory, "RQ3")
    good = f"participant_id,term_id,status,onset,notes\n{a.participant_id},HP:0001250,observed,P2Y,\n" \
           f"{a.participant_id},HP:0000487,observed,,typo id kept\n{a.participant_id},HP:0001263,excluded,,\n"
    summary = service.import_hpo_csv(session, recruiter, good, source="good.csv")
    assert (summary.observations, summary.excluded) == (3, 1)
    assert any("HP:0000487 is obsolete" in w for w in summary.warnings)
    # Format problems are found by the parser first; then every row is checked against the registry and profile.
    with pytest.raises(PhenotypeImportError) as caught:
        service.import_hpo_csv(session, recruiter, f"participant_id,term_id,status\n{a.participant_id},HP:1,maybe\n")
    assert [(w, f) for w, f, _ in caught.value.problems] == [("line 2", "term_id"), ("line 2", "status")]
    bad = f"participant_id,term_id,status\n{a.participant_id},HP:0001251,observed\n" \
          f"{b.participant_id},HP:0001250,observed\n{a.participant_id},HP:0001263,observed\n"
    with pytest.raises(PhenotypeImportError) as caught:
        service.import_hpo_csv(session, recruiter, bad, source="bad.csv")
    assert [(w, f) for w, f, _ in caught.value.problems] == [("line 3", "participant_id"), ("line 4", "term_id")]
    assert "already recorded as excluded" in caught.value.problems[1][2]
    profile = service.get_profile(session, recruiter, a.participant_id)
    assert sorted(o.hpo_id for o in profile.observations) == ["HP:0000486", "HP:0001250", "HP:0001263"]


def test_pedigree_from_registry_then_ped_import_with_checks(session, factory) -> None:
    proband = factory.participant(sex="female")
    family = factory.family(proband)
    mother, father = factory.participant(sex="female"), factory.participant(sex="male", died=date(2025, 3, 1))
    factory.member(family, mother, "mother", "unaffected")
    factory.member(family, father, "father", "unaffected")
    derived = service.get_pedigree(session, NATIONAL, family.family_id)
    assert derived.derived and derived.pedigree is not None
    assert derived.relationships[mother.participant_id] == "mother"
    assert derived.svg.count("<circle") == 2 and derived.svg.count("<rect") == 1
    assert "deceased" in derived.svg and "proband" in derived.svg
    f, p, m, fam = father.participant_id, proband.participant_id, mother.participant_id, family.family_id
    loop = f"{fam}\t{f}\t{p}\t0\t1\t1\n{fam}\t{p}\t{f}\t{m}\t2\t2\n{fam}\t{m}\t0\t0\t2\t1\n"
    with pytest.raises(PhenotypeImportError, match="own ancestor|loop"):
        service.import_ped(session, NATIONAL, fam, loop)
    conflict = f"{fam}\t{p}\t{f}\t{m}\t1\t2\n{fam}\t{f}\t0\t0\t1\t1\n{fam}\t{m}\t0\t0\t2\t1\n"
    with pytest.raises(PhenotypeImportError) as caught:
        service.import_ped(session, NATIONAL, fam, conflict)
    assert caught.value.problems == [("line 1", p, "sex male conflicts with the registry (female)")]
    assert session.execute(select(func.count()).select_from(PedigreeMember)).scalar_one() == 0
    good = (f"{fam}\t{p}\t{f}\t{m}\t2\t2\n{fam}\t{f}\tGF\t0\t1\t1\n{fam}\t{m}\t0\t0\t2\t1\n"
            f"{fam}\tGF\t0\t0\t1\t0\n{fam}\tSIB\t{f}\t{m}\t2\t2\n")
    view = service.import_ped(session, NATIONAL, fam, good, consanguinity="no")
    assert not view.derived and view.consanguinity == "no"
    assert view.relationships["GF"] == "grandparent" and view.relationships["SIB"] == "sibling"
    assert view.participants == {p: p, f: f, m: m}
    service.update_member(session, NATIONAL, fam, "SIB", twin_group="T1", twin_zygosity="monozygotic")
    service.update_member(session, NATIONAL, fam, p, twin_group="T1")
    with pytest.raises(ValidationFailed, match="parents differ"):
        service.update_member(session, NATIONAL, fam, "GF", twin_group="T1")
    ped_text = service.export_ped(session, NATIONAL, fam)
    assert f"{fam}\tSIB\t{f}\t{m}\t2\t2" in ped_text
    history = [e.verb for e in audit_repository.history(session, entity_type="pedigree", entity_id=fam)]
    assert history[0] == "read" and "import" in history and history[-1] == "export"
