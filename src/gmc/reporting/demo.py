"""Reporting demo: real interpreted cases at the demo clinician's trusts taken through review, check, MDT and release.

- KBG syndrome (the rare demo family, ANKRD11): solved, released, the result given to the patient.
- Kabuki syndrome (KMT2D, a published case spiked into the real exome): released, then amended.
- CHARGE syndrome (CHD7, likewise): signed by its author and awaiting its second check.
- Noonan syndrome (PTPN11, likewise): interpreted and awaiting review (the walk-through starts there).
- Breast cancer (PCGR's real TCGA tumour): PIK3CA tier I finding released after the MDT.
Quietly does less when shared data is missing; a second load finds the released KBG report and stops.
"""

from __future__ import annotations

import json
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
from gmc.common.errors import DomainError, ValidationFailed
from gmc.organisations.models import Trust
from gmc.registry import consent as consent_service
from gmc.registry import repository as registry_repo
from gmc.registry import service as registry
from gmc.registry.models import Case
from gmc.reporting import repository as repo
from gmc.reporting import service
from gmc.settings import get_settings

#: The rare demo family (gmc.interpretation.rare.demo) and the two published cases added here:
#: (phenopacket, surname, given name, sex, trust, hospital number, indication).
RARE_CASES = [
    ("PMID_31949313_F5_II_1.json", "Heron", "Isla", "female", "RRK", "DEMO-REP-KABUKI", "Intellectual disability"),
    ("PMID_17661815_Patient_A_II_2.json", "Lapwing", "Noah", "male", "RQ3", "DEMO-REP-CHARGE",
     "Intellectual disability"),
    ("PMID_28074573_ST1.json", "Curlew", "Oliver", "male", "RRK", "DEMO-REP-NOONAN", "Intellectual disability"),
]
KBG_NUMBER, KBG_TRUST = "DEMO-RARE-KBG1", "RQ3"
CANCER_NUMBER, CANCER_TRUST = "DEMO-REP-BRCA", "RRK"
BACKGROUND = ("benchmarks", "rare", "background", "Pfeiffer_exome_GRCh38.liftover.vcf.gz")


def _shared(*parts: str) -> Path | None:
    try:
        path = Path(get_settings().refdata_dir()).parent.joinpath(*parts)
    except Exception:  # noqa: BLE001 - no shared data configured: the demo quietly does less
        return None
    return path if path.exists() else None


def _user(session: Session, username: str) -> Principal | None:
    user = auth_repository.get_user_by_username(session, username)
    return principal_for(session, user, auth_method="system") if user else None


def _system() -> Principal:
    return Principal(user_id=0, username="system:demo", full_name="demo loader", roles=frozenset({"admin"}),
                     permissions=frozenset(p.value for p in Permission), centre_id=None, trust_scope=None,
                     auth_method="system")


def _case_of(session: Session, trust_code: str, number: str) -> Case | None:
    trust = session.execute(select(Trust).where(Trust.code == trust_code)).scalar_one_or_none()
    participant = registry_repo.get_by_hospital_number(session, trust.id, number) if trust else None
    if participant is None:
        return None
    return next(iter(registry_repo.cases_of(session, participant.id)), None)


def _causal(packet: dict[str, Any]) -> dict[str, Any]:
    descriptor = packet["interpretations"][0]["diagnosis"]["genomicInterpretations"][0]["variantInterpretation"][
        "variationDescriptor"]
    return {**descriptor["vcfRecord"], "zygosity": descriptor["allelicState"]["label"]}


def _rare_case(session: Session, actor: Actor, packet_path: Path, surname: str, given: str, sex: str, trust: str,
               number: str, indication: str) -> Case | None:
    """Registers a published case's proband at a trust, spikes its variant into the real exome and runs it."""
    from dataclasses import replace

    from gmc.interpretation.rare import service as rare
    from gmc.interpretation.rare.spike import CausalVariant, load_background, spike_vcf
    from gmc.phenotype import service as phenotype

    background = _shared(*BACKGROUND)
    if background is None:
        return None
    packet = json.loads(packet_path.read_text(encoding="utf-8"))
    system = _system()
    today = date.today()
    person = registry.register_person(session, principal=system, person=registry.PersonInput(
        surname, given, today - timedelta(days=7 * 365), sex, None, "B15 2TT", trust, number), decision="new").participant
    # A rare-disease case is a family's, even when only the affected proband is sequenced.
    family = registry.create_family(session, principal=system, proband=person)
    referral = registry.create_referral(session, principal=system, participant=person, data=registry.ReferralInput(
        trust, "Dr L. Chen", today - timedelta(days=75), "rare_disease", indication, "singleton",
        prior_tests_completed=True, family_id=family.family_id))
    form = next(f for f in registry.ensure_consent_forms(session) if f.code == "RD-CHILD")
    consent_service.record_consent(session, actor=actor, participant=person, form=form,
                                   consented_on=today - timedelta(days=70), given_by="parent_guardian",
                                   given_by_name=f"Parent {surname}", choices={c: True for c in form.choices})
    caller = phenotype.Caller.system("demo")
    for feature in packet.get("phenotypicFeatures", []):
        phenotype.add_observation(session, caller, person.participant_id, phenotype.ObservationInput(
            feature["type"]["id"], excluded=bool(feature.get("excluded"))), source="demo")
    case = registry.open_case(session, actor=actor, referral=referral)
    suggested = rare.suggest_panels(session, case)
    if suggested:
        rare.apply_panel(session, system, case.case_id, suggested[0]["panel_key"],
                         reason=f"suggested (match {suggested[0]['score']})")
    causal = _causal(packet)
    chrom = str(causal["chrom"]).removeprefix("chr")
    # The causal variant's chromosome of the real exome (the whole exome is the KBG family's): a demo load stays quick.
    out = Path(get_settings().data_dir) / "demo" / "reporting" / f"{number}_exome_chr{chrom}.vcf.gz"
    if not out.is_file():
        exome = load_background(background)
        exome = replace(exome, records=tuple(r for r in exome.records if r[0].removeprefix("chr") == chrom))
        spike_vcf(exome, [CausalVariant(causal["chrom"], int(causal["pos"]), causal["ref"], causal["alt"],
                                        causal["zygosity"])], out, seed=2021)
    rare.run_rare(session, system, case.case_id, vcf_path=str(out))
    case.status = "interpretation"
    session.flush()
    return case


def _causal_key(session: Session, case: Case, packet_path: Path | None, *,
                gene: str | None = None) -> tuple[str, str] | None:
    """(run id, key) of the case's published causal variant (or the named gene's finding) among its candidates."""
    run = repo.latest_done_run(session, case.id, service.RUN_KINDS[case.programme_arm])
    if run is None:
        return None
    if packet_path is not None:
        causal = _causal(json.loads(packet_path.read_text(encoding="utf-8")))
        chrom, pos = str(causal["chrom"]).removeprefix("chr"), int(causal["pos"])
    for candidate in service.candidates_of_run(session, case, run):
        if (gene is not None and candidate.gene == gene) or (
                packet_path is not None and candidate.chrom == chrom and candidate.pos == pos):
            return run.run_id, candidate.key
    return None


def _published(packet: dict[str, Any]) -> dict[str, str]:
    """The causal variant's HGVS expressions as the paper gave them: {"hgvs_c": "NM_...:c...", ...}."""
    descriptor = packet["interpretations"][0]["diagnosis"]["genomicInterpretations"][0]["variantInterpretation"][
        "variationDescriptor"]
    return {f"hgvs_{e['syntax'].split('.')[-1]}": e["value"] for e in descriptor.get("expressions") or []
            if e.get("syntax") in ("hgvs.c", "hgvs.p", "hgvs.g") and e.get("value")}


def _write(session: Session, scientist: Principal, case: Case, key: tuple[str, str], *, summary: str,
           interpretation: str, recommendations: str, comment: str, packet_path: Path | None = None) -> None:
    service.start_review(session, scientist, case.case_id)
    finding = service.select_finding(session, scientist, case.case_id, key[0], key[1], comment=comment)
    if packet_path is not None:
        # What annotation withheld (an indel's 3' position where the FASTA has N), the scientist confirms from the
        # publication; gmc checks it against the transcript and the allele, and a description that does not fit
        # is left withheld.
        withheld = finding.details.get("withheld") or {}
        published = {k: v for k, v in _published(json.loads(packet_path.read_text(encoding="utf-8"))).items()
                     if k in withheld}
        if published:
            try:
                service.describe_finding(session, scientist, case.case_id, finding.id, **published,
                                         source=f"the published description (PMID:{packet_path.stem.split('_')[1]})")
            except ValidationFailed:
                pass
    service.update_report(session, scientist, case.case_id, outcome="positive", summary=summary,
                          interpretation=interpretation, recommendations=recommendations)
    service.record_exit_questions(session, scientist, case.case_id, explains="full", actionable=True,
                                  confirmed=False, diagnosis_made=True)
    service.sign_as_author(session, scientist, case.case_id)


def _cancer_case(session: Session, actor: Actor) -> Case | None:
    """A breast cancer patient at the clinician's trust with PCGR's real TCGA breast tumour interpreted."""
    from gmc.interpretation.cancer import service as cancer

    folder = _shared("benchmarks", "cancer", "somatic", "pcgr_examples")
    if folder is None:
        return None
    system = _system()
    today = date.today()
    person = registry.register_person(session, principal=system, person=registry.PersonInput(
        "Plover", "Grace", today - timedelta(days=52 * 365), "female", None, "B15 2TT", CANCER_TRUST, CANCER_NUMBER),
        decision="new").participant
    referral = registry.create_referral(session, principal=system, participant=person, data=registry.ReferralInput(
        CANCER_TRUST, "Dr A. Patel", today - timedelta(days=40), "cancer", "breast", None, False,
        tumour_sample_expected=True, germline_sample_expected=True))
    form = next(f for f in registry.ensure_consent_forms(session) if f.code == "CANCER-ADULT")
    consent_service.record_consent(session, actor=actor, participant=person, form=form,
                                   consented_on=today - timedelta(days=38), given_by="participant",
                                   choices={c: True for c in form.choices})
    case = registry.open_case(session, actor=actor, referral=referral)
    cancer.run_somatic(session, system, case, tumour_type="BRCA", vcf_path=folder / "T001-BRCA.grch38.vcf.gz",
                       cna_path=folder / "T001-BRCA.grch38.cna.tsv",
                       fusions_path=folder / "T001-BRCA.grch38.fusions.tsv")
    case.status = "interpretation"
    session.flush()
    return case


def load_demo(session: Session, actor: Actor, summary: Any) -> None:
    """Takes the demo cases through review, check, MDT, release, an amendment and delivery (once)."""
    scientist, checker, clinician = (_user(session, u) for u in ("scientist", "checker", "clinician"))
    kbg = _case_of(session, KBG_TRUST, KBG_NUMBER)
    if None in (scientist, checker, clinician) or kbg is None or repo.reports_of(session, kbg.id):
        return
    assert scientist is not None and checker is not None and clinician is not None
    try:
        from gmc.interpretation.rare.demo import PHENOPACKET as KBG_PACKET
    except ImportError:  # pragma: no cover - the rare demo is part of gmc
        return
    mdt_cases: list[Case] = []
    kbg_key = _causal_key(session, kbg, _shared(*KBG_PACKET))
    if kbg_key:
        _write(session, scientist, kbg, kbg_key,
               summary="A disease-causing change was found in the ANKRD11 gene. It explains Maya's developmental "
                       "delay and features: the diagnosis is KBG syndrome.",
               interpretation="Heterozygous ANKRD11 frameshift (loss of function in a haploinsufficient gene), "
                              "classified likely pathogenic under ACMG/AMP; ANKRD11 loss of function causes KBG "
                              "syndrome (OMIM:148050), which matches the recorded phenotype.",
               recommendations="Offer targeted testing of both parents to establish whether the change arose de "
                               "novo. Refer to clinical genetics for KBG syndrome management and surveillance.",
               comment="Only the proband was sequenced: de novo status is not confirmed.",
               packet_path=_shared(*KBG_PACKET))
        service.authorise(session, checker, kbg.case_id)
        mdt_cases.append(kbg)
    packets = {number: _shared("benchmarks", "rare", "phenopackets", name)
               for name, _, _, _, _, number, _ in RARE_CASES}
    made = {}
    for _name, surname, given, sex, trust, number, indication in RARE_CASES:
        path = packets[number]
        if path is None or _case_of(session, trust, number) is not None:
            continue
        made[number] = _rare_case(session, actor, path, surname, given, sex, trust, number, indication)
        summary.add("reporting demo cases")
    kabuki, charge = made.get("DEMO-REP-KABUKI"), made.get("DEMO-REP-CHARGE")
    if kabuki is not None and (key := _causal_key(session, kabuki, packets["DEMO-REP-KABUKI"])):
        _write(session, scientist, kabuki, key,
               summary="A disease-causing change was found in the KMT2D gene: the diagnosis is Kabuki syndrome.",
               interpretation="Heterozygous KMT2D variant in a gene whose loss causes Kabuki syndrome type 1.",
               recommendations="Refer to clinical genetics; cardiac, renal and hearing assessment as for Kabuki "
                               "syndrome.", comment="Matches the facial and skeletal features recorded.",
               packet_path=packets["DEMO-REP-KABUKI"])
        service.authorise(session, checker, kabuki.case_id)
        mdt_cases.append(kabuki)
    if charge is not None and (key := _causal_key(session, charge, packets["DEMO-REP-CHARGE"])):
        _write(session, scientist, charge, key,
               summary="A change was found in the CHD7 gene, which causes CHARGE syndrome.",
               interpretation="Heterozygous CHD7 variant; CHARGE syndrome matches the recorded features.",
               recommendations="Refer to clinical genetics.", comment="Awaiting the second scientist's check.",
               packet_path=packets["DEMO-REP-CHARGE"])
    try:
        cancer = _cancer_case(session, actor)
    except DomainError:
        cancer = None
    if cancer is not None and (key := _causal_key(session, cancer, None, gene="PIK3CA")):
        _write(session, scientist, cancer, key,
               summary="The tumour carries an activating PIK3CA change (H1047R) with approved targeted therapies "
                       "in this cancer type.",
               interpretation="Tier I (level A) PIK3CA hotspot in HR-positive breast cancer; tumour mutational "
                              "burden is low. No germline data set was interpreted.",
               recommendations="Discuss PI3K-pathway targeted therapy at the tumour board; germline testing if "
                               "clinically indicated.", comment="Oncogenic hotspot.")
        service.authorise(session, checker, cancer.case_id)
        mdt_cases.append(cancer)
    if not mdt_cases:
        return
    meeting = service.create_meeting(session, scientist, title="West Midlands genomic MDT",
                                     held_on=date.today() - timedelta(days=1), attendees=[
                                         "Dr L. Chen (clinical geneticist)", "Sam Scientist (clinical scientist)",
                                         "Chris Checker (clinical scientist)", "Dr A. Patel (oncologist)"])
    for case in mdt_cases:
        service.add_case_to_meeting(session, scientist, meeting.meeting_id, case.case_id)
        service.record_outcome(session, clinician, meeting.meeting_id, case.case_id, outcome="agreed",
                               minutes="Classification agreed; report to be released to the referring clinician.",
                               actions=["cascade testing of parents"] if case.programme_arm == "rare_disease" else [])
    summary.add("MDT meetings")
    summary.add("released reports", len(mdt_cases))
    if kbg_key:
        latest = service._current_released(session, kbg)
        if latest is not None:
            service.record_delivery(session, clinician, latest.report_id, given_on=date.today(),
                                    given_by="Dr L. Chen", method="clinic", note="Family seen with the report.")
    if kabuki is not None and service._current_released(session, kabuki) is not None:
        service.request_amendment(session, scientist, kabuki.case_id,
                                  "Parental testing: the KMT2D variant arose de novo", kind="amended")
        service.start_review(session, scientist, kabuki.case_id)
        service.update_report(session, scientist, kabuki.case_id,
                              interpretation="Heterozygous KMT2D variant, shown de novo by parental testing; "
                                             "Kabuki syndrome type 1.")
        service.sign_as_author(session, scientist, kabuki.case_id)
        service.authorise(session, checker, kabuki.case_id)
        follow_up = service.create_meeting(session, scientist, title="West Midlands genomic MDT (follow-up)",
                                           held_on=date.today(), attendees=["Dr L. Chen (clinical geneticist)",
                                                                            "Sam Scientist (clinical scientist)"])
        service.add_case_to_meeting(session, scientist, follow_up.meeting_id, kabuki.case_id)
        service.record_outcome(session, clinician, follow_up.meeting_id, kabuki.case_id, outcome="agreed",
                               minutes="Amendment agreed: de novo status confirmed.")
        summary.add("amended reports")
