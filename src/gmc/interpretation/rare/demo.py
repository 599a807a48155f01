"""Rare-disease demo: a KBG syndrome family whose real ANKRD11 frameshift is spiked into the real exome, interpreted."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.interpretation.rare import service
from gmc.organisations.models import Trust
from gmc.refdata.manifest import require
from gmc.registry import consent as consent_service
from gmc.registry import repository as registry_repo
from gmc.registry import service as registry
from gmc.settings import get_settings

#: The published case shown (phenopacket-store, Gnazzo et al. 2020, patient 16): KBG syndrome from a
#: heterozygous ANKRD11 frameshift. On the full background exome gmc ranks ANKRD11 first for it.
PHENOPACKET = ("benchmarks", "rare", "phenopackets", "PMID_36446582_Gnazzo_2020_P16.json")
BACKGROUND = ("benchmarks", "rare", "background", "Pfeiffer_exome_GRCh38.liftover.vcf.gz")
#: Hospital number of the demo proband (how a second load recognises the family).
HOSPITAL_NUMBER = "DEMO-RARE-KBG1"
TRUST = "RQ3"


def _shared(parts: tuple[str, ...]) -> Path | None:
    """A file of the demo data (GMC_DEMO_DATA), or None when it is not there."""
    path = get_settings().demo_file(*parts)
    return path if path.is_file() else None


def _principal() -> Principal:
    """The national system principal the demo acts as (events say system:demo)."""
    return Principal(user_id=0, username="system:demo", full_name="demo loader", roles=frozenset({"admin"}),
                     permissions=frozenset(p.value for p in Permission), centre_id=None, trust_scope=None,
                     auth_method="system")


def _spiked_vcf(packet: dict[str, Any], background: Path) -> Path:
    """Writes (once) the background exome with the case's causal variant spiked in, under the data directory."""
    from gmc.interpretation.rare.spike import CausalVariant, spike_vcf

    out = Path(get_settings().data_dir) / "demo" / "rare" / "KBG_ANKRD11_exome.vcf.gz"
    if out.is_file():
        return out
    variants = []
    for interpretation in packet["interpretations"]:
        for item in interpretation["diagnosis"]["genomicInterpretations"]:
            descriptor = item["variantInterpretation"]["variationDescriptor"]
            record = descriptor["vcfRecord"]
            variants.append(CausalVariant(record["chrom"], int(record["pos"]), record["ref"], record["alt"],
                                          descriptor["allelicState"]["label"]))
    spike_vcf(background, variants, out, seed=2020)
    return out


def load_demo(session: Session, actor: Actor, summary: Any) -> None:
    """Imports the PanelApp panels and creates the interpreted KBG family once; notes what it could not load."""
    packet_path, background = _shared(PHENOPACKET), _shared(BACKGROUND)
    require("panelapp")  # else the demo notes the set and its fetch command
    counts = service.import_panelapp(session, actor=actor)
    summary.add("gene panels", counts["new"] + counts["new_versions"])
    trust = session.execute(select(Trust).where(Trust.code == TRUST)).scalar_one_or_none()
    if packet_path is None or background is None:
        missing = get_settings().demo_file(*(PHENOPACKET if packet_path is None else BACKGROUND))
        summary.skip("interpretation.rare", f"demo case file {missing} not found (GMC_DEMO_DATA names a folder "
                                            "holding benchmarks/, such as ../shared)")
        return
    if trust is None:
        return
    if registry_repo.get_by_hospital_number(session, trust.id, HOSPITAL_NUMBER) is not None:
        return
    packet = json.loads(packet_path.read_text(encoding="utf-8"))
    principal = _principal()
    registry.ensure_rule_sets(session, actor=actor)
    forms = registry.ensure_consent_forms(session)
    today = date.today()
    born = today - timedelta(days=9 * 365)

    def person(given: str, sex: str, birth: date, number: str | None) -> Any:
        data = registry.PersonInput("Kestrel", given, birth, sex, None, "B15 2TT", TRUST, number)
        return registry.register_person(session, principal=principal, person=data, decision="new").participant

    child = person("Maya", "female", born, HOSPITAL_NUMBER)
    mother = person("Nadia", "female", born - timedelta(days=31 * 365), "DEMO-RARE-KBG2")
    father = person("Omar", "male", born - timedelta(days=34 * 365), "DEMO-RARE-KBG3")
    family = registry.create_family(session, principal=principal, proband=child)
    registry.add_family_member(session, principal=principal, family=family, participant=mother, relation="mother",
                               affected="unaffected")
    registry.add_family_member(session, principal=principal, family=family, participant=father, relation="father",
                               affected="unaffected")
    referral = registry.create_referral(session, principal=principal, participant=child, data=registry.ReferralInput(
        TRUST, "Dr L. Chen", today - timedelta(days=60), "rare_disease", "Intellectual disability", "trio",
        prior_tests_completed=True, family_id=family.family_id))
    by_code = {f.code: f for f in forms}
    for participant, form, given_by in ((child, "RD-CHILD", "parent_guardian"), (mother, "RD-ADULT", "participant"),
                                        (father, "RD-ADULT", "participant")):
        consent_service.record_consent(session, actor=actor, participant=participant, form=by_code[form],
                                       consented_on=today - timedelta(days=50), given_by=given_by,
                                       given_by_name="Nadia Kestrel" if given_by == "parent_guardian" else None,
                                       choices={choice: True for choice in by_code[form].choices})
    from gmc.phenotype import service as phenotype

    caller = phenotype.Caller.system("demo")
    for feature in packet.get("phenotypicFeatures", []):
        phenotype.add_observation(session, caller, child.participant_id, phenotype.ObservationInput(
            feature["type"]["id"], excluded=bool(feature.get("excluded"))), source="demo")
    case = registry.open_case(session, actor=actor, referral=referral)
    suggested = service.suggest_panels(session, case)
    if suggested:
        service.apply_panel(session, principal, case.case_id, suggested[0]["panel_key"],
                            reason=f"suggested (match {suggested[0]['score']})")
    vcf = _spiked_vcf(packet, background)
    run = service.run_rare(session, principal, case.case_id, vcf_path=str(vcf))
    case.status = "interpretation"
    session.flush()
    summary.add("rare-disease families")
    summary.add("rare-disease runs", 1 if run.status == "done" else 0)
