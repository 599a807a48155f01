"""Demo samples: every lifecycle state, a biobank with boxes, a cancer pair, shipments in transit and draft."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor
from gmc.auth import service as auth_service
from gmc.auth.models import User
from gmc.common.time import utcnow
from gmc.organisations.models import Centre, Trust
from gmc.registry.consent import ConsentAction, WithdrawalLevel, is_allowed, withdraw
from gmc.registry.models import Participant, Referral
from gmc.samples import service
from gmc.samples.models import Sample

PREFIX = "DEMO-"
GERMLINE_QC = {"concentration_ng_ul": 48.0, "volume_ul": 100.0, "a260_280": 1.86, "din": 8.1}
FAILED_QC = {"concentration_ng_ul": 6.0, "volume_ul": 60.0, "a260_280": 1.62, "din": 5.4}
TUMOUR_QC = {"concentration_ng_ul": 35.0, "volume_ul": 60.0, "a260_280": 1.9, "din": 6.8, "tumour_purity": 55.0}

#: The path each demo germline sample walks, and how many days ago it was collected.
JOURNEYS: list[tuple[str, int]] = [
    ("collected", 1), ("collected", 6), ("received", 3), ("received", 12), ("extracted", 4), ("qc_passed", 8),
    ("qc_passed", 20), ("qc_failed", 9), ("sequenced", 30), ("data_received", 45), ("data_received", 60),
    ("archived", 70), ("dispatched", 15), ("returned_to_sender", 5), ("destroyed", 40), ("in_transit", 2), ("in_transit", 3),
]
_WALK = ["collected", "received", "extracted", "qc", "dispatched", "sequenced", "data_received", "archived"]


def load_demo(session: Session, actor: Actor, summary) -> None:  # noqa: ANN001
    """Creates the demo samples once (a second run finds them and stops); none if there are no participants."""
    if session.execute(select(Sample.id).where(Sample.barcode.like(f"{PREFIX}%")).limit(1)).first():
        return
    lab_user = session.execute(select(User).where(User.username == "lab")).scalar_one_or_none()
    if lab_user is None:
        return
    lab = auth_service.principal_for(session, lab_user, auth_method="session")
    wm = session.execute(select(Centre).where(Centre.code == "WMGMC")).scalar_one_or_none()
    if wm is None:
        return
    wm_trusts = {t.id: t for t in session.execute(select(Trust).where(Trust.centre_id == wm.id)).scalars()}
    referrals = [r for r in session.execute(select(Referral).order_by(Referral.id)).scalars()
                 if r.trust_id in wm_trusts
                 and is_allowed(session, r.participant_id, ConsentAction.COLLECT_SAMPLE).allowed
                 and is_allowed(session, r.participant_id, ConsentAction.DISPATCH_SAMPLE).allowed]
    rare = [r for r in referrals if r.programme_arm == "rare_disease"]
    cancer = [r for r in referrals if r.programme_arm == "cancer"]
    if not rare:
        return
    now = utcnow()
    freezer = service.create_freezer(session, lab, name="Biobank F-80-01", location="GMC laboratory, room 2.14")
    rack = service.create_unit(session, lab, freezer_id=freezer.id, name="Rack A")
    shelf = service.create_unit(session, lab, freezer_id=freezer.id, name="Shelf 1", kind="shelf")
    boxes = [service.create_box(session, lab, unit_id=rack.id, barcode="DEMO-BOX-01", name="Germline DNA 1", rows=9,
                                cols=9),
             service.create_box(session, lab, unit_id=shelf.id, barcode="DEMO-BOX-02", name="Tumour DNA 1", rows=8,
                                cols=12)]
    free = iter(["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "B1", "B2", "B3"])
    to_lab = service.create_shipment(session, lab, kind="to_lab", origin="Walsall Manor Hospital",
                                     destination="GMC laboratory", reference="DEMO-SHP-LAB-1")
    to_seq = service.create_shipment(session, lab, kind="to_sequencing", origin="GMC laboratory",
                                     destination="Sequencing provider", reference="DEMO-SHP-SEQ-1")
    made = 0

    def specimen(referral: Referral, code: str, stype: str, days: int, **tumour: object) -> Sample:
        nonlocal made
        pid = session.get(Participant, referral.participant_id).participant_id  # type: ignore[union-attr]
        made += 1
        return service.register_specimen(session, lab, service.NewSpecimen(
            barcode=code, sample_type=stype, participant_id=pid, trust_id=referral.trust_id,
            collected_at=now - timedelta(days=days, hours=3), collected_by="Phlebotomy team",
            referral_id=referral.referral_id, **tumour))  # type: ignore[arg-type]

    for i, (goal, days) in enumerate(JOURNEYS):
        referral = rare[i % len(rare)]
        code = f"{PREFIX}B{i + 1:03d}"
        specimen(referral, code, "blood_edta", days)
        if goal == "collected":
            continue
        if goal == "in_transit":
            service.add_to_shipment(session, lab, to_lab.reference, code)
            continue
        step = max(days / 8, 0.3)
        start = now - timedelta(days=days)

        def at(k: int, start=start, step=step):  # noqa: ANN001, ANN202
            return start + timedelta(days=step * k)

        service.transition(session, lab, code, "received", kind="receive", when=at(1))
        if goal == "returned_to_sender":
            service.transition(session, lab, code, "returned_to_sender", note="haemolysed tube", when=at(2))
            continue
        if goal == "received":
            continue
        dna = f"{PREFIX}D{i + 1:03d}"
        service.extract(session, lab, code, new_barcode=dna, method="QIAsymphony DSP DNA Midi", kit_lot="LOT-2026-07",
                        extracted_at=at(2), volume_ul=100)
        made += 1
        if goal == "extracted":
            continue
        qc = FAILED_QC if goal == "qc_failed" else GERMLINE_QC
        service.record_qc(session, lab, dna, qc, when=at(3))
        if goal in ("qc_passed", "qc_failed"):
            service.put_away(session, lab, dna, box_barcode=boxes[0].barcode, position=next(free))
            continue
        if goal == "destroyed":
            service.destroy(session, lab, code, method="incineration", reason="surplus after extraction")
            continue
        for k, state in enumerate(_WALK[4:], start=4):
            service.transition(session, lab, dna, state, when=at(k))
            if state == goal:
                break
    service.ship(session, lab, to_lab.reference, courier_tracking="DEMO-TRACK-0001")

    if cancer:
        referral = cancer[0]
        specimen(referral, f"{PREFIX}T001", "ff_tumour", 10, tumour_site="colon", tumour_histology="adenocarcinoma",
                 tumour_content_pct=60.0)
        specimen(referral, f"{PREFIX}B900", "blood_edta", 10)
        for code, dna, qc in ((f"{PREFIX}T001", f"{PREFIX}DT001", TUMOUR_QC), (f"{PREFIX}B900", f"{PREFIX}D900",
                                                                               GERMLINE_QC)):
            service.transition(session, lab, code, "received", kind="receive", when=now - timedelta(days=9))
            service.extract(session, lab, code, new_barcode=dna, method="QIAamp DNA Mini", kit_lot="LOT-2026-09",
                            extracted_at=now - timedelta(days=8), volume_ul=60)
            service.record_qc(session, lab, dna, qc, when=now - timedelta(days=7))
            service.add_to_shipment(session, lab, to_seq.reference, dna)
            made += 1
        service.put_away(session, lab, f"{PREFIX}T001", box_barcode=boxes[1].barcode, position="A1")
    if len(rare) > len(JOURNEYS):
        # A participant who later withdrew from all further use: their sample waits on the destruction list.
        referral = rare[len(JOURNEYS)]
        specimen(referral, f"{PREFIX}B950", "blood_edta", 14)
        service.transition(session, lab, f"{PREFIX}B950", "received", kind="receive", when=now - timedelta(days=13))
        withdraw(session, actor=actor, participant=session.get(Participant, referral.participant_id),
                 level=WithdrawalLevel.NO_FURTHER_USE, reason="demo: participant asked to withdraw",
                 trust_id=referral.trust_id)
    session.flush()
    summary.add("samples", made)
    summary.add("shipments", 2)
    summary.add("storage boxes", len(boxes))
