"""Research demo: an epilepsy cohort (published seizure phenotypes; the real background exome with a real ClinVar
pathogenic SCN1A variant spiked in, one per family), recruitment at South London too, and a researcher's
approved project with two saved cohorts and one built release. Idempotent; quietly skips without shared data."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor
from gmc.auth import repository as auth_repository
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.auth.service import principal_for
from gmc.organisations.models import Trust
from gmc.phenotype import phenopackets as pp
from gmc.phenotype.ontology import get_ontology
from gmc.registry import consent as consent_service
from gmc.registry import repository as registry_repo
from gmc.registry import service as registry
from gmc.research import repository as repo
from gmc.research import service
from gmc.settings import get_settings

#: Hospital numbers of the demo's epilepsy probands start with this (how a second load recognises them).
PREFIX = "DEMO-EPI"
SEIZURE = "HP:0001250"
BACKGROUND = ("benchmarks", "rare", "background", "Pfeiffer_exome_GRCh38.liftover.vcf.gz")
PHENOPACKETS = ("benchmarks", "rare", "phenopackets")
CLINVAR = ("grch38", "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz")
#: (trust, sex, age in years, months since referral, withdraws before any release)
FAMILIES: list[tuple[str, str, int, int, bool]] = [
    ("RQ3", "female", 3, 20, False), ("RQ3", "male", 6, 18, False), ("RQ3", "female", 2, 17, False),
    ("RLU", "male", 3, 15, False), ("RRK", "female", 24, 14, False), ("RQ3", "male", 9, 13, False),
    ("RKB", "female", 4, 11, False), ("RJE", "male", 7, 10, False), ("RQ3", "female", 12, 9, False),
    ("RL4", "male", 5, 7, False), ("RQ3", "female", 2, 6, False), ("RXK", "male", 16, 5, False),
    ("RQ3", "male", 8, 4, False), ("RQ3", "female", 5, 8, True),
    ("RJ1", "female", 3, 12, False), ("RJZ", "male", 10, 8, False), ("RJ1", "male", 6, 3, False),
]
#: South London recruitment (trust, arm, indication, months ago), so both centres' dashboards have data.
SOUTH_LONDON: list[tuple[str, str, str, int]] = [
    (trust, arm, indication, months)
    for months in range(1, 19)
    for trust, arm, indication in (("RJ1", "cancer", "breast"), ("RJZ", "cancer", "colorectal"),
                                   ("RJ7", "rare_disease", "Hereditary ataxia"), ("RJ7", "cancer", "prostate"))
    if (months + len(trust)) % 3 != 0
]
GIVEN = ["Aoife", "Bilal", "Carys", "Dmitri", "Efua", "Farah", "Gethin", "Hana", "Idris", "Jun", "Kemi", "Lorcan",
         "Maud", "Nnamdi", "Orla", "Pavel", "Qadira", "Ravi", "Saoirse", "Tobenna"]
FAMILY_NAMES = ["Achterberg", "Bellweather", "Castellanos", "Dunmore", "Eskildsen", "Fairbrother", "Gallacher",
                "Holloway", "Iwobi", "Jablonski", "Kerrigan", "Lindqvist", "Marchetti", "Novotny", "Okonkwo",
                "Pemberton", "Quennell", "Rosenthal"]
POSTCODES = ["B4 6NH", "B16 8QY", "CV1 5FB", "WV1 1RQ", "ST5 5BG", "SE1 7EH", "SE5 9RS", "SW17 0QT"]
RESEARCHER, APPROVER = "researcher", "dataaccess"
PROJECT_TITLE = "Genotype-phenotype study of SCN1A-related epilepsies"


@dataclass(frozen=True)
class _Variant:
    chrom: str
    pos: int
    ref: str
    alt: str


def _shared(*parts: str) -> Path | None:
    """A file or folder of the demo data (GMC_DEMO_DATA), or None when this installation has none."""
    path = get_settings().demo_file(*parts)
    return path if path.exists() else None


def _principal() -> Principal:
    return Principal(user_id=0, username="system:demo", full_name="demo loader", roles=frozenset({"admin"}),
                     permissions=frozenset(p.value for p in Permission), centre_id=None, trust_scope=None,
                     auth_method="system")


def _scn1a_variants(limit: int) -> list[_Variant]:
    """Real ClinVar pathogenic/likely pathogenic SCN1A SNVs (multi-submitter, GRCh38), in file order."""
    path = get_settings().refdata_path(*CLINVAR)
    out = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith("#") or "SCN1A" not in line:
                continue
            chrom, pos, _, ref, alt, _, _, info = line.rstrip("\n").split("\t")[:8]
            fields = dict(item.partition("=")[::2] for item in info.split(";"))
            if "SCN1A" not in [g.split(":")[0] for g in fields.get("GENEINFO", "").split("|")]:
                continue
            if len(ref) == 1 and len(alt) == 1:
                out.append(_Variant(chrom, int(pos), ref, alt))
            if len(out) == limit:
                break
    return out


def _seizure_profiles(limit: int) -> list[pp.PhenopacketData]:
    """Published cases (phenopacket-store) with a seizure term observed, every term in the HPO release in use."""
    folder = _shared(*PHENOPACKETS)
    ontology = get_ontology()
    seizures = ontology.descendants(SEIZURE, include_self=True)
    found = []
    for path in sorted(folder.glob("*.json")) if folder else []:
        data = pp.read_phenopacket(path)
        terms = [f.type.id for f in data.phenotypic_features]
        if set(pp.observed_term_ids(data)) & seizures and all(t in ontology.terms for t in terms):
            found.append(data)
        if len(found) == limit:
            break
    return found


def _spiked(background: Path, variant: _Variant, index: int) -> Path:
    """The background exome with one SCN1A variant (heterozygous), written once under the data directory."""
    from gmc.interpretation.rare.spike import CausalVariant, spike_vcf

    out = (Path(get_settings().data_dir) / "demo" / "research" / f"epilepsy_{index:02d}_SCN1A.vcf.gz").resolve()
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        spike_vcf(background, [CausalVariant(variant.chrom, variant.pos, variant.ref, variant.alt, "heterozygous")],
                  out, seed=100 + index)
    return out


def _epilepsy_families(session: Session, actor: Actor, summary: Any) -> None:
    """The epilepsy families: trio referrals, consents, seizure profiles and a spiked exome for each proband."""
    from gmc.genomics import service as genomics
    from gmc.genomics.manifest import parse_manifest
    from gmc.phenotype import service as phenotype

    background = _shared(*BACKGROUND)
    profiles = _seizure_profiles(len(FAMILIES))
    if background is None or not profiles:
        missing = get_settings().demo_file(*(BACKGROUND if background is None else PHENOPACKETS))
        summary.skip("research", f"demo epilepsy families: {missing} not found (GMC_DEMO_DATA names a folder "
                                 "holding benchmarks/, such as ../shared)")
        return
    variants = _scn1a_variants(len(FAMILIES))
    principal = _principal()
    forms = {f.code: f for f in registry.ensure_consent_forms(session)}
    caller = phenotype.Caller(actor, None, True)
    today = date.today()
    for i, (trust, sex, age, months, withdraws) in enumerate(FAMILIES):
        surname = FAMILY_NAMES[i % len(FAMILY_NAMES)]
        born = today - timedelta(days=age * 365 + 40 + 11 * i)
        referred = today - timedelta(days=30 * months)
        postcode = POSTCODES[(i + (4 if trust.startswith("RJ") else 0)) % len(POSTCODES)]

        def person(given: str, person_sex: str, birth: date, number: str, surname: str = surname,
                   trust: str = trust, postcode: str = postcode) -> Any:
            data = registry.PersonInput(surname, given, birth, person_sex, None, postcode, trust, number)
            return registry.register_person(session, principal=principal, person=data, decision="new").participant

        child = person(GIVEN[i % len(GIVEN)], sex, born, f"{PREFIX}{i:02d}")
        mother = person(GIVEN[(i + 7) % len(GIVEN)], "female", born - timedelta(days=(29 + i % 6) * 365),
                        f"{PREFIX}{i:02d}M")
        father = person(GIVEN[(i + 3) % len(GIVEN)], "male", born - timedelta(days=(32 + i % 5) * 365),
                        f"{PREFIX}{i:02d}F")
        family = registry.create_family(session, principal=principal, proband=child)
        for parent, relation in ((mother, "mother"), (father, "father")):
            registry.add_family_member(session, principal=principal, family=family, participant=parent,
                                       relation=relation, affected="unaffected")
        referral = registry.create_referral(session, principal=principal, participant=child, data=registry.ReferralInput(
            trust, "Dr E. Hughes", referred, "rare_disease", "Epileptic encephalopathy", "trio",
            prior_tests_completed=True, family_id=family.family_id))
        consented = referred + timedelta(days=10)
        for who, code, given_by in ((child, "RD-CHILD" if age < 16 else "RD-ADULT",
                                     "parent_guardian" if age < 16 else "participant"),
                                    (mother, "RD-ADULT", "participant"), (father, "RD-ADULT", "participant")):
            form = forms[code]
            consent_service.record_consent(
                session, actor=actor, participant=who, form=form, consented_on=consented, given_by=given_by,
                given_by_name=f"{mother.given_name} {surname}" if given_by == "parent_guardian" else None,
                choices={c: True for c in form.choices})
        profile = profiles[i % len(profiles)]
        for feature in profile.phenotypic_features:
            phenotype.add_observation(session, caller, child.participant_id, phenotype.ObservationInput(
                feature.type.id, excluded=feature.excluded), source="demo")
        if i % 3 == 0:
            phenotype.add_diagnosis(session, caller, child.participant_id, code="OMIM:607208",
                                    label="Dravet syndrome", status="suspected")
        case = registry.open_case(session, actor=actor, referral=referral)
        vcf = _spiked(background, variants[i % len(variants)], i)
        manifest = parse_manifest({"case_id": case.case_id, "build": "GRCh38", "files": [{
            "path": str(vcf), "kind": "germline",
            "samples": [{"vcf_sample": "manuel", "participant_id": child.participant_id}]}]}, source="demo epilepsy")
        genomics.ingest_manifest(session, principal=principal, manifest=manifest, base_dir=vcf.parent, workers=0)
        if withdraws:
            consent_service.withdraw(session, actor=actor, participant=child, level="no_further_use",
                                     reason="family request")
        summary.add("epilepsy families")
        summary.add("genome datasets")


def _south_london(session: Session, actor: Actor, summary: Any) -> None:
    """Recruitment at South London trusts over the last eighteen months."""
    principal = _principal()
    forms = {f.code: f for f in registry.ensure_consent_forms(session)}
    today = date.today()
    for i, (trust, arm, indication, months) in enumerate(SOUTH_LONDON):
        sex = "female" if indication == "breast" else "male" if indication == "prostate" else ("female", "male")[i % 2]
        born = today - timedelta(days=(30 + (i * 7) % 45) * 365 + i)
        data = registry.PersonInput(FAMILY_NAMES[(i + 5) % len(FAMILY_NAMES)], GIVEN[(i + 11) % len(GIVEN)], born,
                                    sex, None, POSTCODES[4 + i % 4], trust, f"{PREFIX}SL{i:03d}")
        person = registry.register_person(session, principal=principal, person=data, decision="new").participant
        referred = today - timedelta(days=30 * months + i % 20)
        registry.create_referral(session, principal=principal, participant=person, data=registry.ReferralInput(
            trust, "Dr S. Okafor", referred, arm, indication, None if arm == "cancer" else "singleton", True,
            tumour_sample_expected=arm == "cancer", germline_sample_expected=arm == "cancer"))
        form = forms["CANCER-ADULT" if arm == "cancer" else "RD-ADULT"]
        consent_service.record_consent(session, actor=actor, participant=person, form=form,
                                       consented_on=min(today, referred + timedelta(days=5)), given_by="participant",
                                       choices={c: c != "research_samples" or i % 4 != 0 for c in form.choices})
        summary.add("south london participants")


def _project(session: Session, summary: Any) -> None:
    """The researcher's approved project, two saved cohorts and one built release."""
    from gmc.research import release as builder

    def principal(username: str) -> Principal | None:
        user = auth_repository.get_user_by_username(session, username)
        return principal_for(session, user, auth_method="system") if user else None

    researcher, approver = principal(RESEARCHER), principal(APPROVER)
    if researcher is None or approver is None:
        return
    if any(p.title == PROJECT_TITLE for p in repo.projects(session)):
        return
    project = service.propose_project(session, researcher, title=PROJECT_TITLE, purpose=(
        "To describe the seizure types, comorbidities and ages at onset of children carrying a pathogenic SCN1A "
        "variant, and compare them with breast cancer patients' germline findings as a control cohort."))
    service.decide_project(session, approver, project.project_id, approve=True,
                           note="approved by the data access committee; outputs reviewed before publication")
    seizures = service.save_cohort(session, researcher, project_id=project.project_id,
                                   name="Seizures with a qualifying SCN1A variant",
                                   criteria={"hpo_terms": [SEIZURE], "genes": ["SCN1A"]},
                                   note="seizure or any descendant term; SCN1A HIGH/MODERATE, population AF <= 1%")
    service.save_cohort(session, researcher, project_id=project.project_id, name="Breast cancer",
                        criteria={"programme_arms": ["cancer"], "cancer_types": ["BRCA"]},
                        note="OncoTree BRCA and every type below it")
    release = service.request_release(session, researcher, cohort_id=seizures.cohort_id,
                                      purpose="Seizure phenotypes and SCN1A genotypes for the first descriptive "
                                              "analysis of the project")
    service.decide_release(session, approver, release.release_id, approve=True,
                           note="cohort and purpose match the approved project")
    builder.build_in_session(session, release, actor=approver.actor)
    summary.add("research projects")
    summary.add("saved cohorts", 2)
    summary.add("research releases")


def load_demo(session: Session, actor: Actor, summary: Any) -> None:
    """Loads the research demo once (a second run finds the epilepsy probands and the project and stops)."""
    trust = session.execute(select(Trust).where(Trust.code == "RQ3")).scalar_one_or_none()
    if trust is None:
        return
    if registry_repo.get_by_hospital_number(session, trust.id, f"{PREFIX}00") is None:
        _epilepsy_families(session, actor, summary)
        _south_london(session, actor, summary)
    _project(session, summary)
