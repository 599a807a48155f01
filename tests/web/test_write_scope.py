"""Every write route in the OpenAPI schema, tried as an admin of another trust and of another centre.

Each route has a case below: the request an owner of the record would send. The test sends it as an attacker
from another trust of the same centre and from another centre (both with every permission, so only scope can
stop them) and expects 403 or 404 with nothing changed in any table; then the owner sends it and must succeed,
which proves the request was valid and the refusal came from scope. A write route added later without a case
here fails `test_every_write_route_has_a_scope_case`; one added without a scope check fails its own case.
Runs on SQLite and PostgreSQL over the full demo centre plus the records built in `_build_world`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.conftest import copy_of_template

from gmc.audit.service import Actor
from gmc.auth.models import ApiToken, User
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.auth.service import create_token, create_user
from gmc.db.core import Base, Database
from gmc.settings import Settings

WRITE_METHODS = {"post", "put", "patch", "delete"}
VICTIM_TRUST = "RQ3"       # Birmingham Children's: the demo's KBG family and the records built here
OTHER_TRUST = "RRK"        # University Hospitals Birmingham: same centre, another trust
OTHER_CENTRE_TRUST = "RJ1"  # Guy's and St Thomas': South London
PASSWORD = "walker-password-2026"
#: The walker admins' authenticator key (admins pass a second factor to sign in to pages).
WALKER_TOTP = "GMCWALKERADMINSECRETKEYFORTESTS2"

#: Tables whose rows a refused request may add: the audit trail records refusals it chooses to.
IGNORED_TABLES = {"audit_event"}


def _national() -> Principal:
    return Principal(user_id=0, username="system:walker", full_name="scope walker", roles=frozenset({"admin"}),
                     permissions=frozenset(p.value for p in Permission), centre_id=None, trust_scope=None,
                     auth_method="system")


def _nhs_number(seed: int) -> str:
    base = f"{943000000 + seed:09d}"
    total = sum(int(d) * w for d, w in zip(base, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return _nhs_number(seed + 1)
    return base + str(check)


TINY_VCF = """##fileformat=VCFv4.2
##contig=<ID=chr16,length=90338345>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	S1
chr16	89282770	.	CTT	C	50	PASS	.	GT	0/1
"""


def trust_ids_of(session) -> dict[str, int]:
    """Trust ids by ODS code."""
    from gmc.organisations.models import Trust

    return {t.code: t.id for t in session.execute(sa.select(Trust)).scalars()}


def _build_world(url: str) -> dict[str, Any]:
    """Adds to the full demo the records every route case needs; returns their ids and the callers' tokens."""
    from gmc.interpretation.models import InterpretationRun
    from gmc.organisations.models import Centre, Trust
    from gmc.phenotype import service as phenotype
    from gmc.registry import consent as consent_service
    from gmc.registry import repository as registry_repo
    from gmc.registry import service as registry
    from gmc.registry.models import Case, Family, Participant
    from gmc.samples import service as samples

    db = Database(url)
    nat = _national()
    actor = Actor.system("walker")
    out: dict[str, Any] = {}
    try:
        with db.transaction() as s:
            forms = {f.code: f for f in registry.ensure_consent_forms(s)}

            def user(name: str, centre: str | None, trusts: list[str], centre_wide: bool = False) -> None:
                create_user(s, actor=actor, username=name, password=PASSWORD, roles=["admin"], centre_code=centre,
                            trust_codes=trusts, centre_wide=centre_wide)

            user("w-other-trust", "WMGMC", [OTHER_TRUST])
            user("w-other-centre", "SLGMC", [OTHER_CENTRE_TRUST])
            user("w-national", None, [], centre_wide=True)
            s.flush()
            for name in ("w-other-trust", "w-other-centre", "w-national"):  # admins sign in to pages with a code
                walker_admin = s.execute(sa.select(User).where(User.username == name)).scalar_one()
                walker_admin.totp_secret, walker_admin.totp_enabled_at = WALKER_TOTP, datetime.now(UTC)
            for name in ("admin", "w-other-trust", "w-other-centre", "w-national", "recruiter", "researcher"):
                u = s.execute(sa.select(User).where(User.username == name)).scalar_one()
                out[f"token:{name}"] = create_token(s, actor=actor, user=u, name="walker", days=30)[1]
            recruiter = s.execute(sa.select(User).where(User.username == "recruiter")).scalar_one()
            out["victim_user_id"] = recruiter.id
            # West Midlands staff whose accounts the lifecycle routes act on: a leaver and one with an authenticator.
            user("w-leaver", "WMGMC", [VICTIM_TRUST])
            user("w-phone", "WMGMC", [VICTIM_TRUST])
            s.flush()
            leaver = s.execute(sa.select(User).where(User.username == "w-leaver")).scalar_one()
            leaver.is_active = False
            phone = s.execute(sa.select(User).where(User.username == "w-phone")).scalar_one()
            phone.totp_secret, phone.totp_enabled_at = "JBSWY3DPEHPK3PXP", datetime.now(UTC)
            out["leaver_user_id"], out["phone_user_id"] = leaver.id, phone.id
            out["victim_token_id"] = s.execute(sa.select(ApiToken.id).where(ApiToken.user_id == recruiter.id)
                                               .order_by(ApiToken.id)).scalars().first()

            run = s.execute(sa.select(InterpretationRun).where(InterpretationRun.kind == "rare")).scalars().first()
            case = s.get(Case, run.case_id)
            proband = s.get(Participant, case.proband_id)
            registry.update_participant(s, principal=nat, participant=proband,
                                        changes={"nhs_number": _nhs_number(1)})
            out.update(rare_case=case.case_id, rare_run=run.run_id, participant=proband.participant_id,
                       participant_nhs=proband.nhs_number, family=s.get(Family, case.family_id).family_id,
                       variant=run.results["genes"][0]["variants"][0]["variant"])
            somatic = s.execute(sa.select(InterpretationRun).where(InterpretationRun.kind == "somatic")).scalars().first()
            out["cancer_case"] = s.get(Case, somatic.case_id).case_id
            out["cancer_run"] = somatic.run_id
            from gmc.genomics.models import GenomeDataset

            dataset = s.execute(sa.select(GenomeDataset)).scalars().first()
            out["genome_case"] = s.get(Case, dataset.case_id).case_id
            out["hospital_number"] = proband.hospital_numbers[0].number

            def person(family: str, given: str, trust: str, born: date, sex: str = "female", **extra: Any):
                data = registry.PersonInput(family, given, born, sex, extra.get("nhs"), "B15 2TT", trust,
                                            extra.get("hospital"))
                p = registry.register_person(s, principal=nat, person=data, decision="new").participant
                consented = date(2026, 1, 2)
                if born > consented.replace(year=consented.year - 16):  # a child: a parent consents on the child form
                    form, by = forms["RD-CHILD"], {"given_by": "parent_guardian", "given_by_name": f"Parent {family}",
                                                   "assent": "assented"}
                else:
                    form, by = forms["RD-ADULT"], {"given_by": "participant"}
                consent_service.record_consent(s, actor=actor, participant=p, form=form, consented_on=consented,
                                               choices={c: True for c in form.choices}, **by)
                return p

            for n, given in enumerate(("Alpha", "Beta", "Gamma")):
                a = person("Wdup", given, VICTIM_TRUST, date(1980, 1, 1 + n), "male")
                b = person("Wdup", given, VICTIM_TRUST, date(1980, 1, 1 + n), "male")
                dup = registry_repo.duplicate_between(s, a.id, b.id)
                out[f"dup:{given}"] = dup.id
                out[f"dup:{given}:a"] = a.participant_id
            gamma = registry_repo.duplicate_between(s, *[
                p.id for p in s.execute(sa.select(Participant).where(Participant.given_name == "Gamma")).scalars()])
            merge = registry.merge(s, principal=nat, survivor=s.get(Participant, gamma.participant_a_id),
                                   merged=s.get(Participant, gamma.participant_b_id), reason="walker")
            out["merge"] = merge.id
            out["relative"] = person("Wrel", "Delta", VICTIM_TRUST, date(2010, 5, 5)).participant_id
            # A West Midlands trust (RBK) asks whether the victim is its patient: the victim's centre decides.
            asked = registry.PersonInput("Kestrel", "Maia", proband.date_of_birth, "female", None, None, "RBK", "RBK-9")
            request = registry.request_link(s, actor=actor, person=asked, trust_id=trust_ids_of(s)["RBK"],
                                            matches=registry.find_matches(s, asked), exact=False, source="registration")
            out["link_request"] = request.id
            # HL7 feeds of the victim's trust and of each attacker's, bound to a service user's token.
            from gmc.registry.interop import register_interface

            for persona, trust, centre in (("owner", VICTIM_TRUST, "WMGMC"), ("other_trust", OTHER_TRUST, "WMGMC"),
                                           ("other_centre", OTHER_CENTRE_TRUST, "SLGMC")):
                create_user(s, actor=actor, username=f"w-pas-{trust.lower()}", password=PASSWORD,
                            roles=["recruiter"], centre_code=centre, trust_codes=[trust])
                s.flush()
                out[f"token:feed-{persona}"] = register_interface(
                    s, principal=nat, facility=trust, trust_code=trust, username=f"w-pas-{trust.lower()}")[1]
            create_user(s, actor=actor, username="w-pas-spare", password=PASSWORD, roles=["recruiter"],
                        centre_code="WMGMC", trust_codes=[VICTIM_TRUST])
            own = {"other_trust": person("Wown", "Trusty", OTHER_TRUST, date(1975, 2, 2)),
                   "other_centre": person("Wown", "Southy", OTHER_CENTRE_TRUST, date(1976, 3, 3))}
            for persona, p in own.items():
                out[f"own:{persona}"] = p.participant_id

            diagnosis = phenotype.add_diagnosis(s, phenotype.Caller.of(nat), proband.participant_id,
                                                code="OMIM:148050", label="KBG syndrome")
            out["diagnosis"] = diagnosis.id
            profile = phenotype.get_profile(s, phenotype.Caller.of(nat), proband.participant_id, audit=False)
            out["observation"] = profile.observations[0].id
            out["ped"] = phenotype.export_ped(s, phenotype.Caller.of(nat), out["family"])
            phenotype.import_ped(s, phenotype.Caller.of(nat), out["family"], out["ped"], source="walker.ped")
            pedigree = phenotype.get_pedigree(s, phenotype.Caller.of(nat), out["family"], audit=False)
            out["individual"] = pedigree.pedigree.individuals[0].individual_id
            from gmc.interpretation.rare import repository as rare_repo

            applied_rows = rare_repo.applied_panels(s, case.id)
            applied = {p.panel_key for _, p in applied_rows}
            out["applied_panel"] = applied_rows[0][0].id if applied_rows else None
            out["panel"] = next(p.panel_key for p in rare_repo.current_panels(s) if p.panel_key not in applied)
            trust_ids = {t.code: t.id for t in s.execute(sa.select(Trust)).scalars()}
            when = datetime.now(UTC) - timedelta(days=3)

            def specimen(barcode: str, owner: Participant, trust: str) -> Any:
                return samples.register_specimen(s, nat, samples.NewSpecimen(
                    barcode=barcode, sample_type="blood_edta", participant_id=owner.participant_id,
                    trust_id=trust_ids[trust], collected_at=when, collected_by="Nurse W"))

            good = {"concentration_ng_ul": 50, "volume_ul": 100, "a260_280": 1.85, "din": 8.2}

            def dna(code: str, owner: Participant, trust: str, qc: bool) -> None:
                specimen(f"{code}-B", owner, trust)
                samples.receive(s, nat, f"{code}-B")
                samples.extract(s, nat, f"{code}-B", new_barcode=code, method="column", kit_lot="K1")
                if qc:
                    samples.record_qc(s, nat, code, good)

            for code in ("W-COL-1", "W-COL-2"):
                specimen(code, proband, VICTIM_TRUST)
            for code in ("W-REC-1", "W-REC-2", "W-STO-1"):
                specimen(code, proband, VICTIM_TRUST)
                samples.receive(s, nat, code)
            dna("W-EXT-1", proband, VICTIM_TRUST, qc=False)
            dna("W-QCP-1", proband, VICTIM_TRUST, qc=True)
            dna("W-QCP-2", proband, VICTIM_TRUST, qc=True)
            for persona, trust in (("other_trust", OTHER_TRUST), ("other_centre", OTHER_CENTRE_TRUST)):
                dna(f"W-OWN-{persona.upper().replace('_', '')}", own[persona], trust, qc=True)
            wm_id = s.execute(sa.select(Centre.id).where(Centre.code == "WMGMC")).scalar_one()
            freezer = samples.create_freezer(s, nat, name="W-Freezer", centre_id=wm_id)
            unit = samples.create_unit(s, nat, freezer_id=freezer.id, name="W-Rack")
            samples.create_box(s, nat, unit_id=unit.id, barcode="W-BOX-1", name="W box", rows=9, cols=9)
            samples.put_away(s, nat, "W-STO-1", box_barcode="W-BOX-1", position="A1")
            draft = samples.create_shipment(s, nat, kind="to_sequencing", origin="WM lab", destination="Sequencer",
                                            reference="W-SHP-DRAFT")
            draft.centre_id = wm_id
            samples.add_to_shipment(s, nat, "W-SHP-DRAFT", "W-QCP-1")
            lab = samples.create_shipment(s, nat, kind="to_lab", origin="Ward", destination="WM lab",
                                          reference="W-SHP-LAB")
            lab.centre_id = wm_id
            samples.add_to_shipment(s, nat, "W-SHP-LAB", "W-COL-2")
            samples.ship(s, nat, "W-SHP-LAB")
            out.update(_reporting_world(s, nat, trust_ids[VICTIM_TRUST]))
            out.update(_research_world(s, nat, actor))
    finally:
        db.dispose()
    return out


def _reporting_world(s, nat: Principal, victim_trust_id: int) -> dict[str, Any]:
    """The demo's reviewed cases at the victim's trust, one in each state a reporting route starts from.

    The demo reports at RQ3 (KBG: released; CHARGE: awaiting its check) and at RRK, the other-trust attacker's own
    trust; the walker takes two RRK cases to the victim's trust so that every state has a victim case.
    """
    from gmc.registry.models import Case as RegistryCase
    from gmc.reporting import service as reporting
    from gmc.reporting.models import ClinicalReport, ReportedFinding

    def case_of(hospital_number: str) -> RegistryCase:
        from gmc.registry.models import HospitalNumber

        number = s.execute(sa.select(HospitalNumber).where(HospitalNumber.number == hospital_number)).scalar_one()
        return s.execute(sa.select(RegistryCase).where(RegistryCase.proband_id == number.participant_id)
                         .order_by(RegistryCase.id)).scalars().first()

    out: dict[str, Any] = {}
    released, check = case_of("DEMO-RARE-KBG1"), case_of("DEMO-REP-CHARGE")
    awaiting, amended = case_of("DEMO-REP-NOONAN"), case_of("DEMO-REP-KABUKI")
    awaiting.trust_id = amended.trust_id = victim_trust_id
    s.flush()
    # In review with a draft (the author signs it); awaiting review again after an amendment request (resumed).
    reporting.start_review(s, nat, awaiting.case_id, assignee="admin")
    reporting.update_report(s, nat, awaiting.case_id, summary="No cause found.", outcome="negative")
    reporting.request_amendment(s, nat, amended.case_id, "walker: new information")
    selected = {f.finding_key for f in s.execute(sa.select(ReportedFinding).where(
        ReportedFinding.case_id == awaiting.id)).scalars()}
    found = reporting.candidates(s, nat, awaiting.case_id)
    out["rep:candidate"] = next((c["run_id"], c["key"]) for c in found["candidates"]
                                if not c["selected"] and c["key"] not in selected and c.get("category") != "additional")
    out["rep:finding"] = s.execute(sa.select(ReportedFinding.id).where(ReportedFinding.case_id == check.id)
                                   .order_by(ReportedFinding.id)).scalars().first()
    out["rep:released_report"] = s.execute(sa.select(ClinicalReport.report_id).where(
        ClinicalReport.case_id == released.id, ClinicalReport.status == "released")).scalar_one()
    out.update({"rep:released": released.case_id, "rep:check": check.case_id, "rep:in_review": awaiting.case_id,
                "rep:resume": amended.case_id})
    return out


def _research_world(s, nat: Principal, actor: Actor) -> dict[str, Any]:
    """The demo researcher's (West Midlands, centre-wide) proposed project, requested and failed releases, and a
    participant of the built release who has since left research (on its recall list)."""
    from gmc.auth.service import principal_for
    from gmc.registry import consent as consent_service
    from gmc.registry.models import Participant
    from gmc.research import service as research
    from gmc.research.models import Cohort, DataRelease, ReleaseMember

    researcher = principal_for(s, s.execute(sa.select(User).where(User.username == "researcher")).scalar_one(),
                               auth_method="system")
    out: dict[str, Any] = {"res:proposed": research.propose_project(
        s, researcher, title="Walker study of developmental disorders",
        purpose="Which genes explain developmental delay in the region's children: a walker's study.").project_id}
    cohort = s.execute(sa.select(Cohort).order_by(Cohort.id)).scalars().first()
    out["res:project"], out["res:cohort"] = cohort.project.project_id, cohort.cohort_id
    purpose = "Re-analysis of the cohort's genes against the newest knowledge, for the walker."
    out["res:requested"] = research.request_release(s, researcher, cohort_id=cohort.cohort_id,
                                                    purpose=purpose).release_id
    failed = research.request_release(s, researcher, cohort_id=cohort.cohort_id, purpose=purpose)
    failed.status, failed.error = "failed", "walker: the build stopped"
    built = s.execute(sa.select(DataRelease).where(DataRelease.status == "built")).scalars().first()
    member = s.execute(sa.select(ReleaseMember).where(ReleaseMember.release_id == built.id)
                       .order_by(ReleaseMember.id)).scalars().first()
    consent_service.withdraw(s, actor=actor, participant=s.get(Participant, member.participant_id),
                             level="no_further_use", reason="walker")
    research.update_recall_list(s)
    out.update({"res:failed": failed.release_id, "res:built": built.release_id, "res:recalled": member.research_id})
    return out


# --------------------------------------------------------------------------------------------------- the cases


@dataclass
class Call:
    """One request: method, path (with ids filled in) and body."""

    method: str
    path: str
    json: Any = None
    content: str | bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Case:
    """How to call one write route: build(world, persona) -> Call; persona is owner, other_trust or other_centre."""

    build: Callable[[dict[str, Any], str], Call]
    #: Who sends the owner's request: "admin" (West Midlands, centre-wide) or "w-national".
    owner: str = "admin"
    #: Why a persona may legitimately succeed (no other scope is named or touched), when it may.
    allowed: dict[str, str] = field(default_factory=dict)
    #: Per persona, the world's token key to send with instead of the persona's user (e.g. an HL7 feed's token).
    tokens: dict[str, str] = field(default_factory=dict)


def _own(world: dict[str, Any], persona: str, victim_key: str) -> str:
    """The attacker's own record where a route takes a second record (the owner uses the victim's)."""
    return world[f"own:{persona}"] if persona != "owner" else world[victim_key]


def _own_sample(persona: str, victim: str) -> str:
    return f"W-OWN-{persona.upper().replace('_', '')}" if persona != "owner" else victim


def _consent_resource(world: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{world['participant']}"}, "dateTime": "2026-02-01T10:00:00+00:00",
            "performer": [{"reference": "RelatedPerson/parent_guardian"}],
            "policy": [{"uri": "https://gmc.nhs.uk/consent-form/RD-CHILD/3.0"}],
            "provision": {"type": "deny", "provision": [
                {"type": "permit", "code": [{"coding": [{"system": "https://gmc.nhs.uk/CodeSystem/consent-choice",
                                                         "code": c}]}]}
                for c in ("taking_part", "research_data", "research_samples", "additional_findings", "recontact")]}}


def _adt(world: dict[str, Any], facility: str) -> str:
    return "\r".join([
        f"MSH|^~\\&|PAS|{facility}|GMC|GMC|20260301120000||ADT^A08^ADT_A01|W{facility}{datetime.now():%H%M%S%f}|P|2.4",
        "EVN|A08|20260301120000",
        f"PID|1||{world['participant_nhs']}^^^NHS^NH~{world['hospital_number']}^^^{VICTIM_TRUST}^MR||Kestrel^Maya||"
        "20171209|F|||1 New Street^^Birmingham^^B1 1AA"]) + "\r"


P = "/api/participants/{participant}"
CASES: dict[tuple[str, str], Case] = {
    # registry
    ("POST", "/api/participants"): Case(lambda w, p: Call("POST", "/api/participants", json={
        "family_name": "Walker", "given_name": "New", "date_of_birth": "1999-09-09", "sex": "male",
        "trust_code": VICTIM_TRUST, "decision": "new"})),
    ("PATCH", "/api/participants/{participant_id}"): Case(lambda w, p: Call(
        "PATCH", P.format(**w), json={"version": w["participant_version"], "postcode": "B1 1AA"})),
    ("POST", "/api/participants/{participant_id}/referrals"): Case(lambda w, p: Call(
        "POST", P.format(**w) + "/referrals", json={
            "trust_code": VICTIM_TRUST, "referring_clinician": "Dr W", "referral_date": "2026-01-10",
            "programme_arm": "rare_disease", "clinical_indication": "Intellectual disability",
            "family_structure": "trio"})),
    ("POST", "/api/participants/{participant_id}/consents"): Case(lambda w, p: Call(
        "POST", P.format(**w) + "/consents", json={
            "form_code": "RD-CHILD", "form_version": "3.0", "consented_on": "2026-02-01",
            "given_by": "parent_guardian", "given_by_name": "Nadia Kestrel",
            "choices": {c: True for c in ("taking_part", "research_data", "research_samples", "additional_findings",
                                          "recontact")}})),
    ("POST", "/api/participants/{participant_id}/withdrawal"): Case(lambda w, p: Call(
        "POST", P.format(**w) + "/withdrawal", json={"level": "no_further_contact", "reason": "walker"})),
    ("POST", "/api/participants/import"): Case(lambda w, p: Call(
        "POST", "/api/participants/import", headers={"Content-Type": "text/csv"},
        content=f"family_name,given_name,date_of_birth,sex,trust_code\nImported,Walker,1990-01-01,female,"
                f"{VICTIM_TRUST}\n")),
    ("POST", "/api/families"): Case(lambda w, p: Call("POST", "/api/families",
                                                      json={"proband_participant_id": w["relative"]})),
    ("POST", "/api/families/{family_id}/members"): Case(lambda w, p: Call(
        "POST", f"/api/families/{w['family']}/members",
        json={"participant_id": _own(w, p, "relative"), "relation": "sibling", "affected": "unaffected"})),
    ("POST", "/api/duplicates/{candidate_id}/merge"): Case(lambda w, p: Call(
        "POST", f"/api/duplicates/{w['dup:Alpha']}/merge",
        json={"survivor_participant_id": w["dup:Alpha:a"], "reason": "same person"})),
    ("POST", "/api/duplicates/{candidate_id}/reject"): Case(lambda w, p: Call(
        "POST", f"/api/duplicates/{w['dup:Beta']}/reject", json={"reason": "different people"})),
    ("POST", "/api/merges/{merge_id}/unmerge"): Case(lambda w, p: Call(
        "POST", f"/api/merges/{w['merge']}/unmerge", json={"reason": "wrong merge"})),
    ("POST", "/api/eligibility/{arm}"): Case(lambda w, p: Call("POST", "/api/eligibility/cancer", json={
        "rules": {"cancer_types": ["breast"]}, "note": "walker"}), owner="w-national"),
    ("POST", "/api/hl7/adt"): Case(lambda w, p: Call(
        "POST", "/api/hl7/adt", content=_adt(w, {"owner": VICTIM_TRUST, "other_trust": OTHER_TRUST,
                                                  "other_centre": OTHER_CENTRE_TRUST}[p]),
        headers={"Content-Type": "x-application/hl7-v2+er7"}),
        tokens={p: f"token:feed-{p}" for p in ("owner", "other_trust", "other_centre")}),
    ("POST", "/api/hl7/batch"): Case(lambda w, p: Call(
        "POST", "/api/hl7/batch", content=_adt(w, {"owner": VICTIM_TRUST, "other_trust": OTHER_TRUST,
                                                    "other_centre": OTHER_CENTRE_TRUST}[p]),
        headers={"Content-Type": "x-application/hl7-v2+er7"}),
        tokens={p: f"token:feed-{p}" for p in ("owner", "other_trust", "other_centre")}),
    ("POST", "/api/hl7/interfaces"): Case(lambda w, p: Call("POST", "/api/hl7/interfaces", json={
        "facility": "RQ3-LAB", "trust_code": VICTIM_TRUST, "username": "w-pas-spare"})),
    ("POST", "/api/fhir"): Case(lambda w, p: Call("POST", "/api/fhir", json={
        "resourceType": "Bundle", "type": "collection", "entry": [{"resource": dict(
            _consent_resource(w), patient={"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number",
                                                          "value": w["participant_nhs"]}})}]})),
    ("POST", "/api/link-requests/{request_id}/approve"): Case(lambda w, p: Call(
        "POST", f"/api/link-requests/{w['link_request']}/approve", json={"participant_id": w["participant"]})),
    ("POST", "/api/link-requests/{request_id}/reject"): Case(lambda w, p: Call(
        "POST", f"/api/link-requests/{w['link_request']}/reject", json={"reason": "a different child"})),
    ("POST", "/api/link-requests/{request_id}/register-new"): Case(lambda w, p: Call(
        "POST", f"/api/link-requests/{w['link_request']}/register-new", json={"reason": "not the same child"})),
    ("POST", "/api/fhir/Patient"): Case(lambda w, p: Call(
        "POST", "/api/fhir/Patient", params={"trust_code": VICTIM_TRUST, "decision": "new"},
        json={"resourceType": "Patient", "name": [{"use": "official", "family": "Fhirwalker", "given": ["Ann"]}],
              "gender": "female", "birthDate": "1988-08-08"})),
    ("POST", "/api/fhir/Consent"): Case(lambda w, p: Call("POST", "/api/fhir/Consent", json=_consent_resource(w))),
    # samples
    ("POST", "/api/samples"): Case(lambda w, p: Call("POST", "/api/samples", json={
        "barcode": "W-NEW-1", "sample_type": "blood_edta", "participant_id": w["participant"],
        "trust_code": VICTIM_TRUST, "collected_at": "2026-03-01T09:00:00+00:00", "collected_by": "Nurse"})),
    ("POST", "/api/samples/import"): Case(lambda w, p: Call(
        "POST", "/api/samples/import", headers={"Content-Type": "text/csv"},
        content="barcode,participant_id,trust_code,sample_type,collected_at,collected_by\n"
                f"W-IMP-1,{w['participant']},{VICTIM_TRUST},blood_edta,2026-03-01T09:00:00+00:00,Nurse\n")),
    ("PUT", "/api/samples/config/targets"): Case(lambda w, p: Call("PUT", "/api/samples/config/targets", json={
        "state": "received", "max_days": 3, "centre_code": "WMGMC"})),
    ("PUT", "/api/samples/config/qc-rules"): Case(lambda w, p: Call("PUT", "/api/samples/config/qc-rules", json={
        "sample_type": "blood_edta", "metric": "din", "minimum": 6.5, "centre_code": "WMGMC"})),
    ("POST", "/api/samples/storage/freezers"): Case(lambda w, p: Call("POST", "/api/samples/storage/freezers", json={
        "name": "W-Freezer-2", "centre_code": "WMGMC"})),
    ("POST", "/api/samples/storage/units"): Case(lambda w, p: Call("POST", "/api/samples/storage/units", json={
        "freezer": "W-Freezer", "name": "W-Rack-2"})),
    ("POST", "/api/samples/storage/boxes"): Case(lambda w, p: Call("POST", "/api/samples/storage/boxes", json={
        "freezer": "W-Freezer", "unit": "W-Rack", "barcode": "W-BOX-2"})),
    ("POST", "/api/samples/shipments"): Case(lambda w, p: Call("POST", "/api/samples/shipments", json={
        "kind": "to_sequencing", "destination": "Sequencer", "reference": "W-SHP-NEW", "centre_code": "WMGMC"}),
        allowed={"other_trust": "any staff of a centre may open its shipment; each sample put on it is scoped"}),
    ("POST", "/api/samples/shipments/{reference}/items"): Case(lambda w, p: Call(
        "POST", "/api/samples/shipments/W-SHP-DRAFT/items", json={"barcode": _own_sample(p, "W-QCP-2")})),
    ("DELETE", "/api/samples/shipments/{reference}/items/{barcode}"): Case(lambda w, p: Call(
        "DELETE", "/api/samples/shipments/W-SHP-DRAFT/items/W-QCP-1")),
    ("POST", "/api/samples/shipments/{reference}/ship"): Case(lambda w, p: Call(
        "POST", "/api/samples/shipments/W-SHP-DRAFT/ship", json={"courier_tracking": "T1"})),
    ("POST", "/api/samples/shipments/{reference}/receive"): Case(lambda w, p: Call(
        "POST", "/api/samples/shipments/W-SHP-LAB/receive", json={"barcode": "W-COL-2"})),
    ("POST", "/api/samples/shipments/{reference}/close"): Case(lambda w, p: Call(
        "POST", "/api/samples/shipments/W-SHP-LAB/close")),
    ("POST", "/api/samples/{barcode}/transition"): Case(lambda w, p: Call(
        "POST", "/api/samples/W-COL-1/transition", json={"to_state": "in_transit"})),
    ("POST", "/api/samples/{barcode}/receive"): Case(lambda w, p: Call("POST", "/api/samples/W-COL-1/receive")),
    ("POST", "/api/samples/{barcode}/extract"): Case(lambda w, p: Call("POST", "/api/samples/W-REC-1/extract", json={
        "new_barcode": "W-DNA-NEW", "method": "column", "kit_lot": "K2"})),
    ("POST", "/api/samples/{barcode}/aliquots"): Case(lambda w, p: Call(
        "POST", "/api/samples/W-EXT-1/aliquots", json={"count": 2})),
    ("POST", "/api/samples/{barcode}/qc"): Case(lambda w, p: Call("POST", "/api/samples/W-EXT-1/qc", json={
        "concentration_ng_ul": 50, "volume_ul": 100, "a260_280": 1.85, "din": 8.2})),
    # Same-centre staff may use the centre's boxes: the other trust tries the victim's sample, the other centre
    # its own sample in the victim's box.
    ("POST", "/api/samples/{barcode}/store"): Case(lambda w, p: Call(
        "POST", f"/api/samples/{_own_sample(p, 'W-REC-2') if p == 'other_centre' else 'W-REC-2'}/store",
        json={"box": "W-BOX-1", "position": "B2"})),
    ("POST", "/api/samples/{barcode}/retrieve"): Case(lambda w, p: Call("POST", "/api/samples/W-STO-1/retrieve")),
    ("POST", "/api/samples/{barcode}/destroy"): Case(lambda w, p: Call("POST", "/api/samples/W-REC-2/destroy", json={
        "method": "incineration", "reason": "walker", "witness": "W"})),
    # phenotype
    ("POST", "/api/phenotype/participants/{participant_id}/observations"): Case(lambda w, p: Call(
        "POST", f"/api/phenotype/participants/{w['participant']}/observations", json={"hpo_id": "HP:0001250"})),
    ("DELETE", "/api/phenotype/participants/{participant_id}/observations/{observation_id}"): Case(lambda w, p: Call(
        "DELETE", f"/api/phenotype/participants/{w['participant']}/observations/{w['observation']}",
        params={"reason": "entered in error"})),
    ("POST", "/api/phenotype/participants/{participant_id}/diagnoses"): Case(lambda w, p: Call(
        "POST", f"/api/phenotype/participants/{w['participant']}/diagnoses", json={"code": "ORPHA:2332"})),
    ("PATCH", "/api/phenotype/participants/{participant_id}/diagnoses/{diagnosis_id}"): Case(lambda w, p: Call(
        "PATCH", f"/api/phenotype/participants/{w['participant']}/diagnoses/{w['diagnosis']}",
        json={"status": "confirmed"})),
    ("DELETE", "/api/phenotype/participants/{participant_id}/diagnoses/{diagnosis_id}"): Case(lambda w, p: Call(
        "DELETE", f"/api/phenotype/participants/{w['participant']}/diagnoses/{w['diagnosis']}")),
    ("POST", "/api/phenotype/phenopackets"): Case(lambda w, p: Call("POST", "/api/phenotype/phenopackets", json={
        "id": "walker-1", "subject": {"id": w["participant"], "sex": "FEMALE"},
        "phenotypicFeatures": [{"type": {"id": "HP:0000316", "label": "Hypertelorism"}}],
        "metaData": {"created": "2026-03-01T00:00:00Z", "createdBy": "walker", "phenopacketSchemaVersion": "2.0",
                     "resources": [{"id": "hp", "name": "human phenotype ontology", "url": "http://purl.obolibrary.org/obo/hp.owl",
                                    "version": "2025-01-16", "namespacePrefix": "HP",
                                    "iriPrefix": "http://purl.obolibrary.org/obo/HP_"}]}})),
    ("POST", "/api/phenotype/hpo-csv"): Case(lambda w, p: Call(
        "POST", "/api/phenotype/hpo-csv", headers={"Content-Type": "text/csv"},
        content=f"participant_id,term_id,status\n{w['participant']},HP:0000316,observed\n")),
    ("PUT", "/api/phenotype/families/{family_id}/pedigree.ped"): Case(lambda w, p: Call(
        "PUT", f"/api/phenotype/families/{w['family']}/pedigree.ped", content=w["ped"],
        headers={"Content-Type": "text/plain"})),
    ("PATCH", "/api/phenotype/families/{family_id}/members/{individual_id}"): Case(lambda w, p: Call(
        "PATCH", f"/api/phenotype/families/{w['family']}/members/{w['individual']}", json={"deceased": False})),
    ("PUT", "/api/phenotype/families/{family_id}/consanguinity"): Case(lambda w, p: Call(
        "PUT", f"/api/phenotype/families/{w['family']}/consanguinity", json={"consanguinity": "yes"})),
    # genome data and interpretation
    ("POST", "/api/genomes/ingest"): Case(lambda w, p: Call("POST", "/api/genomes/ingest", json={
        "case_id": w["rare_case"], "build": "GRCh38", "files": [{"path": "w_small.vcf", "samples": [
            {"vcf_sample": "S1", "participant_id": w["participant"]}]}]})),
    ("POST", "/api/rare/cases/{case_id}/panels"): Case(lambda w, p: Call(
        "POST", f"/api/rare/cases/{w['rare_case']}/panels", json={"panel": w["panel"]})),
    ("POST", "/api/rare/cases/{case_id}/custom-panels"): Case(lambda w, p: Call(
        "POST", f"/api/rare/cases/{w['rare_case']}/custom-panels", json={"name": "walker", "genes": ["ANKRD11"]})),
    ("POST", "/api/rare/cases/{case_id}/runs"): Case(lambda w, p: Call(
        "POST", f"/api/rare/cases/{w['rare_case']}/runs", json={"vcf": "incoming:w_small.vcf", "wait": True})),
    ("POST", "/api/rare/runs/{run_id}/acmg"): Case(lambda w, p: Call("POST", f"/api/rare/runs/{w['rare_run']}/acmg", json={
        "variant_id": w["variant"], "code": "PM2", "met": True, "reason": "absent from gnomAD"})),
    ("POST", "/api/rare/cases/{case_id}/notes"): Case(lambda w, p: Call(
        "POST", f"/api/rare/cases/{w['rare_case']}/notes", json={"text": "walker note"})),
    ("POST", "/api/rare/runs/{run_id}/diagnosis"): Case(lambda w, p: Call(
        "POST", f"/api/rare/runs/{w['rare_run']}/diagnosis", json={"gene": "ANKRD11"})),
    ("POST", "/api/cancer/cases/{case_id}/runs"): Case(lambda w, p: Call(
        "POST", f"/api/cancer/cases/{w['cancer_case']}/runs", json={
            "vcf": "benchmarks:cancer/somatic/pcgr_examples/T001-BRCA.grch38.vcf.gz", "tumour_type": "BRCA"})),
    ("POST", "/api/cancer/cases/{case_id}/notes"): Case(lambda w, p: Call(
        "POST", f"/api/cancer/cases/{w['cancer_case']}/notes", json={"text": "walker note"})),
    # users and tokens
    ("POST", "/api/users"): Case(lambda w, p: Call("POST", "/api/users", json={
        "username": "w-new-user", "password": PASSWORD, "roles": ["recruiter"], "centre_code": "WMGMC",
        "trust_codes": [VICTIM_TRUST]})),
    ("DELETE", "/api/tokens/{token_id}"): Case(lambda w, p: Call("DELETE", f"/api/tokens/{w['victim_token_id']}")),
    ("PUT", "/api/users/{user_id}/roles"): Case(lambda w, p: Call(
        "PUT", f"/api/users/{w['victim_user_id']}/roles", json={"roles": ["recruiter", "clinician"]})),
    ("POST", "/api/users/{user_id}/deactivate"): Case(lambda w, p: Call(
        "POST", f"/api/users/{w['victim_user_id']}/deactivate")),
    ("POST", "/api/users/{user_id}/reactivate"): Case(lambda w, p: Call(
        "POST", f"/api/users/{w['leaver_user_id']}/reactivate")),
    ("POST", "/api/users/{user_id}/password-reset"): Case(lambda w, p: Call(
        "POST", f"/api/users/{w['victim_user_id']}/password-reset")),
    ("POST", "/api/users/{user_id}/second-factor-reset"): Case(lambda w, p: Call(
        "POST", f"/api/users/{w['phone_user_id']}/second-factor-reset")),
    # review and reporting (the demo's reviewed cases at the victim's trust; see _reporting_world)
    ("POST", "/api/reports/cases/{case_id}/review"): Case(lambda w, p: Call(
        "POST", f"/api/reports/cases/{w['rep:resume']}/review", json={"assignee": "admin"})),
    ("POST", "/api/reports/cases/{case_id}/assign"): Case(lambda w, p: Call(
        "POST", f"/api/reports/cases/{w['rep:check']}/assign", json={"assignee": "scientist"})),
    ("POST", "/api/reports/cases/{case_id}/findings"): Case(lambda w, p: Call(
        "POST", f"/api/reports/cases/{w['rep:in_review']}/findings",
        json={"run_id": w["rep:candidate"][0], "finding_key": w["rep:candidate"][1]})),
    ("PATCH", "/api/reports/cases/{case_id}/findings/{finding_id}"): Case(lambda w, p: Call(
        "PATCH", f"/api/reports/cases/{w['rep:check']}/findings/{w['rep:finding']}", json={"comment": "walker"})),
    ("PUT", "/api/reports/cases/{case_id}/findings/{finding_id}/description"): Case(lambda w, p: Call(
        "PUT", f"/api/reports/cases/{w['rep:check']}/findings/{w['rep:finding']}/description",
        json={"source": "VariantValidator", "hgvs_c": "NM_017780.4:c.2501C>T"})),
    ("DELETE", "/api/reports/cases/{case_id}/findings/{finding_id}"): Case(lambda w, p: Call(
        "DELETE", f"/api/reports/cases/{w['rep:check']}/findings/{w['rep:finding']}")),
    ("PUT", "/api/reports/cases/{case_id}/draft"): Case(lambda w, p: Call(
        "PUT", f"/api/reports/cases/{w['rep:check']}/draft", json={"recommendations": "Cascade testing."})),
    ("PUT", "/api/reports/cases/{case_id}/exit-questions"): Case(lambda w, p: Call(
        "PUT", f"/api/reports/cases/{w['rep:check']}/exit-questions", json={"explains": "partial"})),
    ("POST", "/api/reports/cases/{case_id}/sign"): Case(lambda w, p: Call(
        "POST", f"/api/reports/cases/{w['rep:in_review']}/sign")),
    ("POST", "/api/reports/cases/{case_id}/authorise"): Case(lambda w, p: Call(
        "POST", f"/api/reports/cases/{w['rep:check']}/authorise")),
    ("POST", "/api/reports/cases/{case_id}/return"): Case(lambda w, p: Call(
        "POST", f"/api/reports/cases/{w['rep:check']}/return", json={"reason": "walker: recheck"})),
    ("POST", "/api/reports/cases/{case_id}/amend"): Case(lambda w, p: Call(
        "POST", f"/api/reports/cases/{w['rep:released']}/amend", json={"reason": "walker: new information"})),
    ("POST", "/api/reports/cases/{case_id}/close"): Case(lambda w, p: Call(
        "POST", f"/api/reports/cases/{w['rep:released']}/close", json={"reason": "walker"})),
    ("POST", "/api/reports/{report_id}/delivery"): Case(lambda w, p: Call(
        "POST", f"/api/reports/{w['rep:released_report']}/delivery", json={
            "given_on": date.today().isoformat(), "given_by": "Dr W", "method": "telephone"})),
    ("PUT", "/api/reports/rules/{arm}"): Case(lambda w, p: Call(
        "PUT", "/api/reports/rules/cancer", json={"turnaround_days": 42, "mdt_required": False},
        params={"centre": "WMGMC"})),
    ("POST", "/api/mdt/meetings/{meeting_id}/cases"): Case(lambda w, p: Call(
        "POST", "/api/mdt/meetings/MDT000002/cases", json={"case_id": w["rep:check"]})),
    ("POST", "/api/mdt/meetings/{meeting_id}/cases/{case_id}/outcome"): Case(lambda w, p: Call(
        "POST", f"/api/mdt/meetings/MDT000001/cases/{w['rep:released']}/outcome",
        json={"outcome": "further_tests", "minutes": "walker"})),
    # research (the demo researcher's project; see _research_world) and the programme's national plans
    ("POST", "/api/research/projects/{project_id}/decision"): Case(lambda w, p: Call(
        "POST", f"/api/research/projects/{w['res:proposed']}/decision", json={"approve": False, "note": "walker"})),
    ("POST", "/api/research/cohorts"): Case(lambda w, p: Call("POST", "/api/research/cohorts", json={
        "project_id": w["res:project"], "name": "walker cohort", "criteria": {"genes": ["SCN1A"]}}),
        owner="researcher"),
    ("POST", "/api/research/cohorts/{cohort_id}/versions"): Case(lambda w, p: Call(
        "POST", f"/api/research/cohorts/{w['res:cohort']}/versions", json={"criteria": {"genes": ["SCN2A"]},
                                                                           "note": "walker"}), owner="researcher"),
    ("POST", "/api/research/releases"): Case(lambda w, p: Call("POST", "/api/research/releases", json={
        "cohort_id": w["res:cohort"], "purpose": "Walker's re-analysis of the cohort's genes, for the study."}),
        owner="researcher"),
    ("POST", "/api/research/releases/{release_id}/decision"): Case(lambda w, p: Call(
        "POST", f"/api/research/releases/{w['res:requested']}/decision", json={"approve": False, "note": "walker"})),
    ("POST", "/api/research/releases/{release_id}/build"): Case(lambda w, p: Call(
        "POST", f"/api/research/releases/{w['res:failed']}/build")),
    ("POST", "/api/research/releases/{release_id}/cancel"): Case(lambda w, p: Call(
        "POST", f"/api/research/releases/{w['res:requested']}/cancel"), owner="researcher"),
    ("POST", "/api/research/releases/{release_id}/recalls/{research_id}/confirm"): Case(lambda w, p: Call(
        "POST", f"/api/research/releases/{w['res:built']}/recalls/{w['res:recalled']}/confirm"), owner="researcher"),
    ("PUT", "/api/programme/plans"): Case(lambda w, p: Call("PUT", "/api/programme/plans", json={
        "scope": "WMGMC", "measure": "genomes", "target": 2000, "starts_on": "2026-01-01", "ends_on": "2027-12-31"}),
        owner="w-national"),
}

#: Write routes that name no record of any scope: they act only on the caller or shared, non-patient knowledge.
SELF_SCOPED: dict[tuple[str, str], str] = {
    ("POST", "/api/auth/token"): "signs the caller in",
    ("POST", "/api/tokens"): "creates a token for the caller",
    ("POST", "/api/me/password"): "changes the caller's own password",
    ("POST", "/api/uploads"): "stores a file for the caller's own centre",
    ("POST", "/api/cancer/curation/proposals"): "proposes shared, non-patient knowledge (two curators decide)",
    ("POST", "/api/cancer/curation/proposals/{version_pk}/approve"): "reviews shared, non-patient knowledge",
    ("POST", "/api/cancer/curation/proposals/{version_pk}/reject"): "reviews shared, non-patient knowledge",
    ("POST", "/api/mdt/meetings"): "creates a meeting of the caller's own centre (its cases are scoped when added)",
    ("POST", "/api/research/projects"): "proposes a project led by the caller over the caller's own trusts",
    ("POST", "/api/research/cohorts/count"): "counts within the caller's trusts (or a project the caller may see)",
    ("POST", "/api/beacon/individuals"): "a Beacon query (POST carries the query): counts over consented records",
    ("POST", "/api/beacon/g_variants"): "a Beacon query (POST carries the query): counts over consented records",
}


def _schema_write_routes() -> list[tuple[str, str]]:
    from gmc.web.app import create_app

    app = create_app(Settings(database_url="sqlite://", environment="test"))
    return sorted((method.upper(), path) for path, ops in app.openapi()["paths"].items()
                  for method in ops if method in WRITE_METHODS)


ROUTES = _schema_write_routes()


def test_every_write_route_has_a_scope_case() -> None:
    missing = [r for r in ROUTES if r not in CASES and r not in SELF_SCOPED]
    assert not missing, ("write routes without a scope case in tests/web/test_write_scope.py CASES (say how an "
                         f"owner calls them; the test then tries them from another trust and centre): {missing}")
    stale = [r for r in [*CASES, *SELF_SCOPED] if r not in ROUTES]
    assert not stale, f"scope cases for routes that no longer exist: {stale}"


# ------------------------------------------------------------------------------------------------- the fixture


@pytest.fixture(scope="session")
def world_templates(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Per engine, a database with the full demo plus the walker's records (built once), and their ids."""
    built: dict[str, tuple[str, dict[str, Any]]] = {}

    def get(engine: str) -> tuple[str, dict[str, Any]]:
        if engine not in built:
            if engine == "sqlite":
                path = tmp_path_factory.mktemp("walker") / "world.db"
                shutil.copy(request.getfixturevalue("sqlite_full_demo"), path)
                url = f"sqlite:///{path}"
                world = _build_world(url)
                engine_ = sa.create_engine(url)
                with engine_.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                engine_.dispose()
                built[engine] = (str(path), world)
            else:
                server = request.getfixturevalue("postgres_server")
                template = request.getfixturevalue("postgres_full_demo")
                name = "gmc_template_walker"
                server.execute_autocommit(f"CREATE DATABASE {name} TEMPLATE {template}")
                built[engine] = (name, _build_world(server.url(name)))
        return built[engine]

    return get


@pytest.fixture(params=["sqlite", "postgresql"])
def walker(request: pytest.FixtureRequest, world_templates, tmp_path: Path, refdata_dir: Path):
    """A fresh copy of the walker's world, the app over it, and the world's ids."""
    from gmc.web.app import create_app

    source, world = world_templates(request.param)
    url = copy_of_template(request, request.param, source, tmp_path, "world.db")
    database = Database(url)
    settings = Settings(database_url=url, data_dir=tmp_path / "data", environment="test", refdata=refdata_dir)
    incoming = tmp_path / "data" / "incoming" / "WMGMC"
    incoming.mkdir(parents=True)
    (incoming / "w_small.vcf").write_text(TINY_VCF)
    world = dict(world)
    with database.transaction() as s:
        from gmc.registry.models import Participant

        world["participant_version"] = s.execute(sa.select(Participant.version).where(
            Participant.participant_id == world["participant"])).scalar_one()
    with TestClient(create_app(settings, database=database)) as client:
        yield client, database, world
    database.dispose()


def _digest(database: Database) -> dict[str, str]:
    """A hash of every row of every table (but the audit trail and token use times)."""
    out = {}
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            columns = [c for c in table.columns if not (table.name == "api_token" and c.name == "last_used_at")]
            rows = conn.execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
            out[table.name] = hashlib.sha256(json.dumps([list(r) for r in rows], default=str).encode()).hexdigest()
    return out


def _send(client: TestClient, world: dict[str, Any], token_key: str, call: Call):
    headers = {"Authorization": f"Bearer {world[token_key]}", **call.headers}
    return client.request(call.method, call.path, json=call.json, content=call.content, params=call.params,
                          headers=headers)


@pytest.mark.parametrize("route", [r for r in ROUTES if r not in SELF_SCOPED], ids=lambda r: f"{r[0]} {r[1]}")
def test_write_route_refuses_other_trusts_and_centres(route, walker) -> None:
    client, database, world = walker
    case = CASES.get(route)
    assert case is not None, f"no scope case for {route[0]} {route[1]}: add one to CASES"
    before = _digest(database)
    for persona, who in (("other_trust", "w-other-trust"), ("other_centre", "w-other-centre")):
        if persona in case.allowed:
            continue
        resp = _send(client, world, case.tokens.get(persona, f"token:{who}"), case.build(world, persona))
        assert resp.status_code in (403, 404), (f"{route[0]} {route[1]} as {persona}: expected 403/404, got "
                                                f"{resp.status_code}: {resp.text[:500]}")
        after = _digest(database)
        changed = sorted(t for t in before if before[t] != after[t])
        assert not changed, f"{route[0]} {route[1]} as {persona} was refused but changed {changed}"
    owner = _send(client, world, case.tokens.get("owner", f"token:{case.owner}"), case.build(world, "owner"))
    assert 200 <= owner.status_code < 300, (f"{route[0]} {route[1]}: the owner's request failed "
                                            f"({owner.status_code}: {owner.text[:500]}), so the case is not valid")


# --------------------------------------------------------------------------------- identifiable reads are audited

C = "/api/cases/{case}"
#: Every GET route that returns data about identifiable people, and how their owner reads it. Each read must leave
#: an audit event naming the reader.
READS: dict[str, Callable[[dict[str, Any]], Call]] = {
    "/api/audit/events": lambda w: Call("GET", "/api/audit/events"),
    "/api/cancer/cases": lambda w: Call("GET", "/api/cancer/cases"),
    "/api/cancer/cases/{case_id}/board": lambda w: Call("GET", f"/api/cancer/cases/{w['cancer_case']}/board"),
    "/api/cancer/cases/{case_id}/runs": lambda w: Call("GET", f"/api/cancer/cases/{w['cancer_case']}/runs"),
    "/api/cancer/runs/{run_id}": lambda w: Call("GET", f"/api/cancer/runs/{w['cancer_run']}"),
    "/api/cases": lambda w: Call("GET", "/api/cases"),
    "/api/cases/{case_id}": lambda w: Call("GET", f"/api/cases/{w['rare_case']}"),
    "/api/duplicates": lambda w: Call("GET", "/api/duplicates"),
    "/api/fhir/Consent": lambda w: Call("GET", "/api/fhir/Consent", params={"patient": w["participant"]}),
    "/api/fhir/Patient/{participant_id}": lambda w: Call("GET", f"/api/fhir/Patient/{w['participant']}"),
    "/api/genomes/cases/{case_id}/datasets": lambda w: Call("GET", f"/api/genomes/cases/{w['genome_case']}/datasets"),
    "/api/genomes/cases/{case_id}/qc": lambda w: Call("GET", f"/api/genomes/cases/{w['genome_case']}/qc"),
    "/api/genomes/cases/{case_id}/variants": lambda w: Call("GET", f"/api/genomes/cases/{w['genome_case']}/variants",
                                                             params={"limit": 5}),
    "/api/genomes/cases/{case_id}/variants/export": lambda w: Call(
        "GET", f"/api/genomes/cases/{w['genome_case']}/variants/export", params={"gene": "BRCA2"}),
    "/api/genomes/genes/{symbol}/carriers": lambda w: Call("GET", "/api/genomes/genes/BRCA2/carriers"),
    "/api/link-requests": lambda w: Call("GET", "/api/link-requests"),
    "/api/participants": lambda w: Call("GET", "/api/participants", params={"q": "Kestrel"}),
    "/api/participants/{participant_id}": lambda w: Call("GET", f"/api/participants/{w['participant']}"),
    "/api/participants/{participant_id}/consent-check": lambda w: Call(
        "GET", f"/api/participants/{w['participant']}/consent-check", params={"action": "research_data"}),
    "/api/participants/{participant_id}/timeline": lambda w: Call("GET", f"/api/participants/{w['participant']}/timeline"),
    "/api/phenotype/families/{family_id}/pedigree": lambda w: Call(
        "GET", f"/api/phenotype/families/{w['family']}/pedigree"),
    "/api/phenotype/families/{family_id}/pedigree.ped": lambda w: Call(
        "GET", f"/api/phenotype/families/{w['family']}/pedigree.ped"),
    "/api/phenotype/families/{family_id}/pedigree.svg": lambda w: Call(
        "GET", f"/api/phenotype/families/{w['family']}/pedigree.svg"),
    "/api/phenotype/participants/{participant_id}/phenopacket": lambda w: Call(
        "GET", f"/api/phenotype/participants/{w['participant']}/phenopacket"),
    "/api/phenotype/participants/{participant_id}/profile": lambda w: Call(
        "GET", f"/api/phenotype/participants/{w['participant']}/profile"),
    "/api/rare/cases": lambda w: Call("GET", "/api/rare/cases"),
    "/api/rare/cases/{case_id}/acmg-history": lambda w: Call("GET", f"/api/rare/cases/{w['rare_case']}/acmg-history"),
    "/api/rare/cases/{case_id}/panels": lambda w: Call("GET", f"/api/rare/cases/{w['rare_case']}/panels"),
    "/api/rare/cases/{case_id}/runs": lambda w: Call("GET", f"/api/rare/cases/{w['rare_case']}/runs"),
    "/api/rare/runs/{run_id}": lambda w: Call("GET", f"/api/rare/runs/{w['rare_run']}"),
    "/api/reconsent": lambda w: Call("GET", "/api/reconsent"),
    "/api/samples": lambda w: Call("GET", "/api/samples", params={"q": "W-"}),
    "/api/samples/export.csv": lambda w: Call("GET", "/api/samples/export.csv"),
    "/api/samples/labels.pdf": lambda w: Call("GET", "/api/samples/labels.pdf", params={"barcode": "W-COL-1"}),
    "/api/samples/shipments/{reference}": lambda w: Call("GET", "/api/samples/shipments/W-SHP-DRAFT"),
    "/api/samples/shipments/{reference}/manifest.csv": lambda w: Call(
        "GET", "/api/samples/shipments/W-SHP-DRAFT/manifest.csv"),
    "/api/samples/shipments/{reference}/manifest.pdf": lambda w: Call(
        "GET", "/api/samples/shipments/W-SHP-DRAFT/manifest.pdf"),
    "/api/samples/storage/boxes/{box_barcode}": lambda w: Call("GET", "/api/samples/storage/boxes/W-BOX-1"),
    "/api/samples/worklists/destruction": lambda w: Call("GET", "/api/samples/worklists/destruction"),
    "/api/samples/worklists/overdue": lambda w: Call("GET", "/api/samples/worklists/overdue"),
    "/api/samples/worklists/resample": lambda w: Call("GET", "/api/samples/worklists/resample"),
    "/api/samples/{barcode}": lambda w: Call("GET", "/api/samples/W-COL-1"),
    "/api/samples/{barcode}/custody": lambda w: Call("GET", "/api/samples/W-COL-1/custody"),
    "/api/uploads": lambda w: Call("GET", "/api/uploads"),
    "/api/users": lambda w: Call("GET", "/api/users"),
    "/api/users/{user_id}": lambda w: Call("GET", f"/api/users/{w['victim_user_id']}"),
    "/api/reports": lambda w: Call("GET", "/api/reports"),
    "/api/reports/worklists": lambda w: Call("GET", "/api/reports/worklists"),
    "/api/reports/new-results": lambda w: Call("GET", "/api/reports/new-results"),
    "/api/reports/turnaround": lambda w: Call("GET", "/api/reports/turnaround"),
    "/api/reports/cases/{case_id}": lambda w: Call("GET", f"/api/reports/cases/{w['rep:check']}"),
    "/api/reports/cases/{case_id}/candidates": lambda w: Call("GET", f"/api/reports/cases/{w['rep:in_review']}/candidates"),
    "/api/reports/{report_id}": lambda w: Call("GET", f"/api/reports/{w['rep:released_report']}",
                                               params={"format": "fhir"}),
    "/api/reports/{report_id}/versions": lambda w: Call("GET", f"/api/reports/{w['rep:released_report']}/versions"),
    "/api/mdt/meetings": lambda w: Call("GET", "/api/mdt/meetings"),
    "/api/mdt/meetings/{meeting_id}": lambda w: Call("GET", "/api/mdt/meetings/MDT000001"),
}

#: GET routes that return nothing about an identifiable person, and why.
NOT_IDENTIFIABLE: dict[str, str] = {
    "/health": "liveness only",
    "/api/me": "the caller's own account",
    "/api/tokens": "the caller's own tokens",
    "/api/import-folders": "folder names",
    "/api/centres": "organisations",
    "/api/consent-forms": "form definitions",
    "/api/eligibility/{arm}": "programme rules",
    "/api/audit/verify": "a hash-chain check: counts and an event number, no event contents",
    "/api/hl7/interfaces": "interface configuration",
    "/api/cancer/knowledge": "published knowledge",
    "/api/cancer/evidence-levels": "the evidence level table",
    "/api/cancer/curation/queue": "knowledge-base proposals",
    "/api/cancer/curation/items/{evidence_id}": "knowledge-base history",
    "/api/phenotype/hpo/search": "the ontology",
    "/api/phenotype/hpo/terms/{term_id}": "the ontology",
    "/api/rare/panels": "gene panels",
    "/api/rare/panels/{panel_key}": "gene panels",
    "/api/samples/config/qc-rules": "laboratory configuration",
    "/api/samples/turnaround": "medians per trust or sample type (no sample or person)",
    "/api/genomes/cohort-af": "allele counts over the cohort (no sample or person)",
    "/api/refdata": "reference data versions",
    "/api/jobs/{job_id}": "the caller's own import job: phase, row counts and line/field problems (404 for others)",
    "/api/reports/rules": "turnaround targets and MDT rules",
    "/api/programme/dashboard": "counts and medians per centre and trust (no person)",
    "/api/programme/charts/{key}.csv": "the dashboard's counts as CSV",
    "/api/programme/plans": "recruitment targets",
    "/api/beacon": "Beacon metadata",
    "/api/beacon/": "Beacon metadata",
    "/api/beacon/info": "Beacon metadata",
    "/api/beacon/configuration": "Beacon metadata",
    "/api/beacon/entry_types": "Beacon metadata",
    "/api/beacon/map": "Beacon metadata",
    "/api/beacon/individuals": "counts over consented, pseudonymised records (each query audited)",
    "/api/beacon/g_variants": "counts over consented, pseudonymised records (each query audited)",
    "/api/research/data-dictionary": "the release's data dictionary",
    "/api/research/hpo": "the ontology",
    "/api/research/projects": "project titles and decisions",
    "/api/research/projects/{project_id}": "a project's title and decisions",
    "/api/research/cohorts/{cohort_id}": "a cohort's criteria and counts",
    "/api/research/releases": "release requests and their status",
    "/api/research/releases/{release_id}": "a release's request, status and checksums",
    "/api/research/releases/{release_id}/files/{name}": "pseudonymised release files, only for the researcher who "
                                                        "holds the release; each download audited by research",
    "/api/research/recalls": "pseudonymised research ids to delete",
}


def _schema_read_routes() -> list[str]:
    from gmc.web.app import create_app

    app = create_app(Settings(database_url="sqlite://", environment="test"))
    return sorted(path for path, ops in app.openapi()["paths"].items() if "get" in ops)


READ_ROUTES = _schema_read_routes()


def test_every_read_route_is_classified() -> None:
    missing = [r for r in READ_ROUTES if r not in READS and r not in NOT_IDENTIFIABLE]
    assert not missing, ("GET routes neither listed as identifiable reads (audited) nor as returning nothing "
                         f"identifiable, in tests/web/test_write_scope.py: {missing}")
    stale = [r for r in [*READS, *NOT_IDENTIFIABLE] if r not in READ_ROUTES]
    assert not stale, f"read cases for routes that no longer exist: {stale}"


def test_every_identifiable_read_is_audited(walker) -> None:
    from gmc.audit.models import AuditEvent

    client, database, world = walker
    unaudited, failed = [], []
    for path, build in sorted(READS.items()):
        with database.session() as s:
            before = s.execute(sa.select(sa.func.max(AuditEvent.seq))).scalar_one() or 0
        resp = _send(client, world, "token:admin", build(world))
        if resp.status_code != 200:
            failed.append((path, resp.status_code, resp.text[:200]))
            continue
        with database.session() as s:
            readers = set(s.execute(sa.select(AuditEvent.actor).where(AuditEvent.seq > before)).scalars())
        if "admin" not in readers:
            unaudited.append(path)
    assert not failed, f"identifiable reads the owner could not make: {failed}"
    assert not unaudited, f"identifiable reads that left no audit event: {unaudited}"



def test_reporting_and_research_reads_refuse_other_trusts_and_centres(walker) -> None:
    """The victim trust's reports, reviews, MDT cases and research project, read by admins of another trust and of
    another centre: records named by id are not found; lists and meetings they may see name none of them."""
    client, database, world = walker
    named = [f"/api/reports/{world['rep:released_report']}", f"/api/reports/{world['rep:released_report']}/versions",
             f"/api/reports/cases/{world['rep:check']}", f"/api/reports/cases/{world['rep:in_review']}/candidates",
             f"/api/research/projects/{world['res:project']}", f"/api/research/cohorts/{world['res:cohort']}",
             f"/api/research/releases/{world['res:built']}"]
    lists = ["/api/reports", "/api/reports/worklists", "/api/reports/new-results", "/api/reports/turnaround",
             "/api/mdt/meetings", "/api/research/projects", "/api/research/releases", "/api/research/recalls"]
    victim = [world[k] for k in ("rep:released", "rep:check", "rep:in_review", "rep:resume", "rep:released_report",
                                 "res:project", "res:built", "res:recalled")]
    for persona, who in (("other_trust", "w-other-trust"), ("other_centre", "w-other-centre")):
        headers = {"Authorization": f"Bearer {world[f'token:{who}']}"}
        for path in named:
            resp = client.get(path, headers=headers)
            assert resp.status_code == 404, f"{path} as {persona}: {resp.status_code} {resp.text[:200]}"
        # The centre's meeting discusses the victim's case: the other trust sees the meeting, not that case.
        meeting = client.get("/api/mdt/meetings/MDT000001", headers=headers)
        assert meeting.status_code == (200 if persona == "other_trust" else 404), meeting.text[:200]
        for path in [*lists, *(["/api/mdt/meetings/MDT000001"] if persona == "other_trust" else [])]:
            resp = client.get(path, headers=headers)
            assert resp.status_code == 200, f"{path} as {persona}: {resp.status_code}"
            shown = [v for v in victim if v in resp.text]
            assert not shown, f"{path} as {persona} shows the victim trust's {shown}"
    owner = {"Authorization": f"Bearer {world['token:admin']}"}
    assert world["rep:released"] in client.get("/api/mdt/meetings/MDT000001", headers=owner).text

# ------------------------------------------------------------------------------------- the pages' form routes

#: Per form route of the pages (outside the OpenAPI schema), the form its owner submits. Tried as an admin of another
#: trust and of another centre, signed in through the login form: each must be refused (403/404, or a redirect back
#: saying nothing was done) and change nothing; then the owner's submission must succeed.
#: A participant's page (the form routes' base; P is the API's).
FP = "/participants/{participant}"
FORM_CASES: dict[str, Case] = {
    "/participants/new": Case(lambda w, p: Call("POST", "/participants/new", json={
        "family_name": "Walker", "given_name": "Form", "date_of_birth": "1999-09-10", "sex": "male",
        "trust_code": VICTIM_TRUST, "decision": "new"})),
    "/participants/{participant_id}/referrals": Case(lambda w, p: Call("POST", FP.format(**w) + "/referrals", json={
        "trust_code": VICTIM_TRUST, "referring_clinician": "Dr W", "referral_date": "2026-01-10",
        "programme_arm": "rare_disease", "clinical_indication": "Intellectual disability",
        "family_structure": "trio"})),
    "/participants/{participant_id}/consents": Case(lambda w, p: Call("POST", FP.format(**w) + "/consents", json={
        "form": "RD-CHILD|3.0", "consented_on": "2026-02-01", "given_by": "parent_guardian",
        "given_by_name": "Nadia Kestrel", "assent": "assented", **{f"choice_{c}": "yes" for c in (
            "taking_part", "research_data", "research_samples", "additional_findings", "recontact")}})),
    "/participants/{participant_id}/withdrawal": Case(lambda w, p: Call(
        "POST", FP.format(**w) + "/withdrawal", json={"level": "no_further_contact", "reason": "walker"})),
    "/participants/{participant_id}/family": Case(lambda w, p: Call("POST", FP.format(**w) + "/family", json={
        "relative_id": _own(w, p, "relative"), "relation": "sibling", "affected": "unaffected"})),
    "/duplicates/{candidate_id}": Case(lambda w, p: Call("POST", f"/duplicates/{w['dup:Alpha']}", json={
        "action": "merge", "survivor": w["dup:Alpha:a"], "reason": "same person"})),
    "/link-requests/{request_id}": Case(lambda w, p: Call("POST", f"/link-requests/{w['link_request']}", json={
        "action": "approve", "participant_id": w["participant"], "reason": "the same child"})),
    "/eligibility/rare_disease/conditions": Case(lambda w, p: Call("POST", "/eligibility/rare_disease/conditions",
                                                                   json={"name": "Walker syndrome", "structures": ["trio"]}),
                                                 owner="w-national"),
    "/samples/register": Case(lambda w, p: Call("POST", "/samples/register", json={
        "barcode": "W-FORM-1", "sample_type": "blood_edta", "participant_id": w["participant"],
        "trust_code": VICTIM_TRUST, "collected_at": "2026-03-01T09:00", "collected_by": "Nurse W"})),
    "/samples/import": Case(lambda w, p: Call("POST", "/samples/import", content=(
        "barcode,participant_id,trust_code,sample_type,collected_at,collected_by\n"
        f"W-IMP-2,{w['participant']},{VICTIM_TRUST},blood_edta,2026-03-01T09:00:00+00:00,Nurse\n"))),
    "/samples/scan": Case(lambda w, p: Call("POST", "/samples/scan", json={"barcode": "W-COL-1",
                                                                          "action": "receive"})),
    "/samples/{barcode}/action": Case(lambda w, p: Call("POST", "/samples/W-EXT-1/action", json={
        "what": "qc", "concentration_ng_ul": "50", "volume_ul": "100", "a260_280": "1.85", "din": "8.2"})),
    "/samples/storage": Case(lambda w, p: Call("POST", "/samples/storage", json={
        "what": "unit", "freezer": "W-Freezer", "name": "W-Rack-2"}),
        allowed={"other_trust": "a centre's staff share its freezers; each sample put away is scoped"}),
    "/samples/shipments": Case(lambda w, p: Call("POST", "/samples/shipments", json={
        "kind": "to_sequencing", "destination": "Sequencer"}),
        allowed={"other_trust": "any staff of a centre may open its shipment; each sample put on it is scoped",
                 "other_centre": "opens a shipment of the caller's own centre"}),
    "/samples/shipments/{reference}/{what}": Case(lambda w, p: Call(
        "POST", "/samples/shipments/W-SHP-DRAFT/add", json={"barcode": _own_sample(p, "W-QCP-2")})),
    "/phenotype/participants/{participant_id}/observations": Case(lambda w, p: Call(
        "POST", f"/phenotype/participants/{w['participant']}/observations", json={"hpo_id": "HP:0001250"})),
    "/phenotype/participants/{participant_id}/observations/{observation_id}/remove": Case(lambda w, p: Call(
        "POST", f"/phenotype/participants/{w['participant']}/observations/{w['observation']}/remove",
        json={"reason": "entered in error"})),
    "/phenotype/participants/{participant_id}/diagnoses": Case(lambda w, p: Call(
        "POST", f"/phenotype/participants/{w['participant']}/diagnoses", json={"code": "ORPHA:2332"})),
    "/phenotype/participants/{participant_id}/diagnoses/{diagnosis_id}": Case(lambda w, p: Call(
        "POST", f"/phenotype/participants/{w['participant']}/diagnoses/{w['diagnosis']}",
        json={"status": "confirmed"})),
    "/phenotype/families/{family_id}/ped": Case(lambda w, p: Call(
        "POST", f"/phenotype/families/{w['family']}/ped", json={"ped_text": w["ped"]})),
    "/phenotype/families/{family_id}/members": Case(lambda w, p: Call(
        "POST", f"/phenotype/families/{w['family']}/members", json={"individual_id": w["individual"],
                                                                     "twin_group": "", "twin_zygosity": ""})),
    "/phenotype/import": Case(lambda w, p: Call("POST", "/phenotype/import", json={"kind": "csv"}, content=(
        f"participant_id,term_id,status\n{w['participant']},HP:0000316,observed\n"))),
    "/cases/{case_id}/interpretation/runs": Case(lambda w, p: Call(
        "POST", f"/cases/{w['rare_case']}/interpretation/runs", json={"vcf": "incoming:w_small.vcf"})),
    "/cases/{case_id}/interpretation/panels": Case(lambda w, p: Call(
        "POST", f"/cases/{w['rare_case']}/interpretation/panels", json={"panel": w["panel"]})),
    "/cases/{case_id}/interpretation/panels/{applied_id}/remove": Case(lambda w, p: Call(
        "POST", f"/cases/{w['rare_case']}/interpretation/panels/{w['applied_panel']}/remove")),
    "/cases/{case_id}/interpretation/custom-panel": Case(lambda w, p: Call(
        "POST", f"/cases/{w['rare_case']}/interpretation/custom-panel", json={"name": "walker", "genes": "ANKRD11"})),
    "/cases/{case_id}/interpretation/acmg": Case(lambda w, p: Call(
        "POST", f"/cases/{w['rare_case']}/interpretation/acmg", json={
            "run_id": w["rare_run"], "variant_id": w["variant"], "code": "PM2", "met": "yes",
            "reason": "absent from gnomAD"})),
    "/cases/{case_id}/interpretation/notes": Case(lambda w, p: Call(
        "POST", f"/cases/{w['rare_case']}/interpretation/notes", json={"text": "walker note"})),
    "/cases/{case_id}/interpretation/diagnosis": Case(lambda w, p: Call(
        "POST", f"/cases/{w['rare_case']}/interpretation/diagnosis", json={"run_id": w["rare_run"],
                                                                            "gene": "ANKRD11"})),
    "/cancer/cases/{case_id}/runs": Case(lambda w, p: Call("POST", f"/cancer/cases/{w['cancer_case']}/runs", json={
        "vcf": "benchmarks:cancer/somatic/pcgr_examples/T001-BRCA.grch38.vcf.gz", "tumour_type": "BRCA"})),
    "/cancer/cases/{case_id}/notes": Case(lambda w, p: Call(
        "POST", f"/cancer/cases/{w['cancer_case']}/notes", json={"text": "walker note"})),
    "/admin/users": Case(lambda w, p: Call("POST", "/admin/users", json={
        "username": "w-form-user", "password": PASSWORD, "roles": "recruiter", "centre_code": "WMGMC",
        "trust_codes": VICTIM_TRUST})),
    "/admin/users/{user_id}/roles": Case(lambda w, p: Call(
        "POST", f"/admin/users/{w['victim_user_id']}/roles", json={"roles": ["recruiter", "clinician"]})),
    "/admin/users/{user_id}/password-reset": Case(lambda w, p: Call(
        "POST", f"/admin/users/{w['victim_user_id']}/password-reset")),
    "/admin/users/{user_id}/second-factor-reset": Case(lambda w, p: Call(
        "POST", f"/admin/users/{w['phone_user_id']}/second-factor-reset")),
    "/admin/users/{user_id}/deactivate": Case(lambda w, p: Call("POST", f"/admin/users/{w['victim_user_id']}/deactivate")),
    "/admin/users/{user_id}/reactivate": Case(lambda w, p: Call("POST", f"/admin/users/{w['leaver_user_id']}/reactivate")),
    # review and reporting
    "/reports/rules": Case(lambda w, p: Call("POST", "/reports/rules", json={
        "programme_arm": "cancer", "turnaround_days": "42", "mdt_required": "no"})),
    "/reports/cases/{case_id}/review": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:resume']}/review", json={"assignee": "admin"})),
    "/reports/cases/{case_id}/assign": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:check']}/assign", json={"assignee": "scientist"})),
    "/reports/cases/{case_id}/findings": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:in_review']}/findings",
        json={"run_id": w["rep:candidate"][0], "finding_key": w["rep:candidate"][1]})),
    "/reports/cases/{case_id}/findings/{finding_id}/remove": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:check']}/findings/{w['rep:finding']}/remove")),
    "/reports/cases/{case_id}/findings/{finding_id}/comment": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:check']}/findings/{w['rep:finding']}/comment", json={"comment": "walker"})),
    "/reports/cases/{case_id}/findings/{finding_id}/description": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:check']}/findings/{w['rep:finding']}/description",
        json={"source": "VariantValidator", "hgvs_c": "NM_017780.4:c.2501C>T"})),
    "/reports/cases/{case_id}/draft": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:check']}/draft", json={
            "summary": "A CHD7 variant explains the features.", "recommendations": "Cascade testing.",
            "outcome": "positive"})),
    "/reports/cases/{case_id}/exit-questions": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:check']}/exit-questions", json={"explains": "partial"})),
    "/reports/cases/{case_id}/move": Case(lambda w, p: Call(
        "POST", f"/reports/cases/{w['rep:released']}/move", json={"action": "amend", "reason": "walker",
                                                                   "kind": "amended"})),
    "/reports/{report_id}/delivery": Case(lambda w, p: Call(
        "POST", f"/reports/{w['rep:released_report']}/delivery", json={
            "given_on": date.today().isoformat(), "given_by": "Dr W", "method": "telephone"})),
    "/mdt/{meeting_id}/cases": Case(lambda w, p: Call("POST", "/mdt/MDT000002/cases", json={"case_id": w["rep:check"]})),
    "/mdt/{meeting_id}/cases/{case_id}/outcome": Case(lambda w, p: Call(
        "POST", f"/mdt/MDT000001/cases/{w['rep:released']}/outcome", json={"outcome": "further_tests",
                                                                            "minutes": "walker"})),
    # research
    "/research/projects/{project_id}/decision": Case(lambda w, p: Call(
        "POST", f"/research/projects/{w['res:proposed']}/decision", json={"decision": "reject", "note": "walker"})),
    "/research/cohorts": Case(lambda w, p: Call("POST", "/research/cohorts", json={
        "project_id": w["res:project"], "name": "walker cohort", "genes": "SCN1A"}), owner="researcher"),
    "/research/cohorts/{cohort_id}/releases": Case(lambda w, p: Call(
        "POST", f"/research/cohorts/{w['res:cohort']}/releases", json={
            "purpose": "Walker's re-analysis of the cohort's genes, for the study.", "parts": ["participants"]}),
        owner="researcher"),
    "/research/releases/{release_id}/decision": Case(lambda w, p: Call(
        "POST", f"/research/releases/{w['res:requested']}/decision", json={"decision": "reject", "note": "walker"})),
    "/research/releases/{release_id}/build": Case(lambda w, p: Call("POST", f"/research/releases/{w['res:failed']}/build")),
    "/research/releases/{release_id}/cancel": Case(lambda w, p: Call(
        "POST", f"/research/releases/{w['res:requested']}/cancel"), owner="researcher"),
    "/research/releases/{release_id}/recalls/{research_id}": Case(lambda w, p: Call(
        "POST", f"/research/releases/{w['res:built']}/recalls/{w['res:recalled']}"), owner="researcher"),
}

#: Form routes that name no record of any scope.
FORM_SELF_SCOPED: dict[str, str] = {
    "/login": "signs the caller in",
    "/logout": "signs the caller out",
    "/login/second-factor": "the caller's own sign-in",
    "/account/second-factor": "enrols the caller's own authenticator",
    "/account/second-factor/disable": "the caller's own authenticator",
    "/account/password": "changes the caller's own password",
    "/account/recovery-codes": "the caller's own recovery codes",
    "/mdt": "creates a meeting of the caller's own centre (its cases are scoped when added)",
    "/research/projects": "proposes a project led by the caller over the caller's own trusts",
    "/research/cohorts/count": "counts within the caller's trusts (or a project the caller may see)",
    "/account/tokens": "creates a token for the caller",
    "/account/tokens/{token_id}/revoke": "revokes one of the caller's own tokens (another's is refused by the service)",
    "/cancer/curation/propose": "proposes shared, non-patient knowledge",
    "/cancer/curation/{version_pk}/{decision}": "reviews shared, non-patient knowledge",
}


def _form_write_routes() -> list[str]:
    """Write routes of the pages: every POST/PUT/PATCH/DELETE route the OpenAPI schema leaves out."""
    from fastapi.routing import iter_route_contexts

    from gmc.web.app import create_app

    app = create_app(Settings(database_url="sqlite://", environment="test"))
    schema = app.openapi()["paths"]
    return sorted({ctx.path for ctx in iter_route_contexts(app.routes)
                   if {m.lower() for m in (ctx.methods or ())} & WRITE_METHODS and ctx.path not in schema})


FORM_ROUTES = _form_write_routes()


def test_every_form_route_has_a_scope_case() -> None:
    missing = [r for r in FORM_ROUTES if r not in FORM_CASES and r not in FORM_SELF_SCOPED]
    assert not missing, ("form routes of the pages without a scope case in tests/web/test_write_scope.py FORM_CASES "
                         f"(say how an owner submits them): {missing}")
    stale = [r for r in [*FORM_CASES, *FORM_SELF_SCOPED] if r not in FORM_ROUTES]
    assert not stale, f"form scope cases for routes that no longer exist: {stale}"


def _code(database: Database, username: str) -> str:
    """The next one-time code of the user's authenticator that gmc has not accepted yet (each step is taken once)."""
    import time

    import pyotp

    with database.session() as s:
        last = s.execute(sa.select(User.totp_last_step).where(User.username == username)).scalar_one()
    from tests.conftest import DEMO_TOTP

    totp = pyotp.TOTP(DEMO_TOTP.get(username, WALKER_TOTP))
    while True:
        now = totp.timecode(time.time())
        step = max(now, (last if last is not None else now - 1) + 1)
        if step <= now + 1:
            return totp.generate_otp(step)
        time.sleep(1)


#: Tables a sign-in itself changes (the session, the user's last sign-in and code step, the sign-in throttle).
SIGN_IN_TABLES = {"web_session", "app_user", "login_throttle"}


def _signed_in(app, database: Database, username: str, password: str) -> TestClient:
    """A browser-like client signed in through the login form (and the second-factor form, as admins must)."""
    client = TestClient(app)
    client.get("/login")
    token = client.cookies.get("gmc_csrf")
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"},
                       follow_redirects=False)
    if resp.status_code == 303 and resp.headers["location"].startswith("/login/second-factor"):
        resp = client.post("/login/second-factor", data={"code": _code(database, username), "csrf_token": token,
                                                         "next": "/"}, follow_redirects=False)
    assert resp.status_code == 303 and not resp.headers["location"].startswith(("/login", "/account/second")), (
        f"{username} could not sign in: {resp.status_code} {resp.headers.get('location')}")
    return client


def _submit(client: TestClient, call: Call):
    data = {**(call.json or {}), "csrf_token": client.cookies.get("gmc_csrf")}
    files = None
    if call.content is not None:
        files = {"file" if call.path == "/samples/import" else "upload": ("walker.csv", call.content, "text/csv")}
    return client.post(call.path, data=data, files=files, follow_redirects=False)


def _refused(resp) -> bool:
    """403/404, or the redirect back that says nothing was done."""
    if resp.status_code in (403, 404):
        return True
    if resp.status_code != 303:
        return False
    if "msg=Not%20" in resp.headers.get("location", ""):
        return True
    # Pages with post/redirect/get carry the outcome in the one-read flash cookie instead of the URL.
    flash = _flash(resp)
    return flash is not None and flash[1] == "error" and "Nothing was changed" in flash[0]


def _flash(resp) -> tuple[str, str] | None:
    """The (message, kind) a redirect leaves in the flash cookie, if any."""
    import base64
    import json

    from gmc.common.flash import FLASH_COOKIE

    raw = resp.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    data = json.loads(base64.urlsafe_b64decode(raw.strip('"').encode()))
    return str(data["m"]), str(data.get("k", "info"))


@pytest.mark.parametrize("walker", ["sqlite"], indirect=True)
@pytest.mark.parametrize("route", [r for r in FORM_ROUTES if r not in FORM_SELF_SCOPED], ids=str)
def test_form_route_refuses_other_trusts_and_centres(route, walker) -> None:
    from gmc.demo.service import DEMO_USERS

    client, database, world = walker
    case = FORM_CASES.get(route)
    assert case is not None, f"no scope case for the form route {route}: add one to FORM_CASES"
    before = _digest(database)
    for persona, who in (("other_trust", "w-other-trust"), ("other_centre", "w-other-centre")):
        if persona in case.allowed:
            continue
        resp = _submit(_signed_in(client.app, database, who, PASSWORD), case.build(world, persona))
        assert _refused(resp), (f"form {route} as {persona}: expected 403/404, got {resp.status_code} "
                                f"{resp.headers.get('location', '')}: {resp.text[:300]}")
        after = _digest(database)
        changed = sorted(t for t in before if before[t] != after[t] and t not in SIGN_IN_TABLES)
        assert not changed, f"form {route} as {persona} was refused but changed {changed}"
    password = {u.username: u.password for u in DEMO_USERS}.get(case.owner, PASSWORD)
    owner = _submit(_signed_in(client.app, database, case.owner, password), case.build(world, "owner"))
    assert owner.status_code < 400 and "msg=Not%20" not in owner.headers.get("location", ""), (
        f"form {route}: the owner's submission failed ({owner.status_code} {owner.headers.get('location', '')}: "
        f"{owner.text[:300]}), so the case is not valid")
