"""QC gates that archiving cannot get around, cancer pairs that leave only when both passed QC, and samples that
follow their participant through merges and withdrawal, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gmc.common.errors import Conflict
from gmc.registry import service as registry
from gmc.registry.models import Participant
from gmc.samples import service
from gmc.samples.lifecycle import IllegalTransition
from gmc.samples.models import Sample, SampleEvent


def _dna(session, kit, who, case, code: str, *, qc: dict | None = None, sample_type: str = "blood_edta",
         **extra) -> None:
    kit.collect(session, who, case, f"{code}-S", sample_type=sample_type, **extra)
    service.receive(session, who, f"{code}-S")
    service.extract(session, who, f"{code}-S", new_barcode=code, method="column", kit_lot="K1")
    if qc is not None:
        service.record_qc(session, who, code, qc)


def test_archiving_is_no_way_around_qc(session, kit) -> None:
    lab = kit.principal(session, "lab")
    case = kit.make_case(session)
    _dna(session, kit, lab, case, "ARC-FAIL", qc={**kit.GOOD_GERMLINE_QC, "din": 3.0})
    assert service.get_sample(session, lab, "ARC-FAIL").state == "qc_failed"
    service.transition(session, lab, "ARC-FAIL", "archived")
    with pytest.raises(IllegalTransition, match="next states: qc_failed, destroyed"):
        service.transition(session, lab, "ARC-FAIL", "dispatched")
    with pytest.raises(IllegalTransition):
        service.transition(session, lab, "ARC-FAIL", "qc_passed")  # back only to the state it left
    assert service.transition(session, lab, "ARC-FAIL", "qc_failed").state == "qc_failed"
    # A raw blood tube, never extracted: archived and back, but never to sequencing.
    kit.collect(session, lab, case, "ARC-RAW")
    service.receive(session, lab, "ARC-RAW")
    service.transition(session, lab, "ARC-RAW", "archived")
    with pytest.raises(IllegalTransition):
        service.transition(session, lab, "ARC-RAW", "dispatched")
    service.transition(session, lab, "ARC-RAW", "received")
    service.record_qc(session, lab, "ARC-RAW", kit.GOOD_GERMLINE_QC)  # even a specimen "passing" QC
    shipment = service.create_shipment(session, lab, kind="to_sequencing", origin="lab", destination="provider")
    for code in ("ARC-RAW", "ARC-FAIL"):
        with pytest.raises(Conflict, match="sequencing takes extracted DNA|takes samples that are qc_passed"):
            service.add_to_shipment(session, lab, shipment.reference, code)
    with pytest.raises(Conflict, match="specimen"):
        service.transition(session, lab, "ARC-RAW", "dispatched")
    # Archived QC-passed DNA comes back to QC passed, and only then is dispatched.
    _dna(session, kit, lab, case, "ARC-OK", qc=kit.GOOD_GERMLINE_QC)
    service.transition(session, lab, "ARC-OK", "archived")
    sample = service.get_sample(session, lab, "ARC-OK")
    assert sample.archived_from == "qc_passed"
    service.transition(session, lab, "ARC-OK", "qc_passed")
    service.add_to_shipment(session, lab, shipment.reference, "ARC-OK")
    service.ship(session, lab, shipment.reference)
    assert service.get_sample(session, lab, "ARC-OK").state == "dispatched"


def test_a_cancer_pair_leaves_only_when_both_passed_qc(session, kit) -> None:
    lab = kit.principal(session, "lab")
    case = kit.make_case(session, arm="cancer")
    _dna(session, kit, lab, case, "PAIR-T", qc=kit.GOOD_TUMOUR_QC, sample_type="ff_tumour", tumour_site="colon",
         tumour_histology="adenocarcinoma", tumour_content_pct=60)
    _dna(session, kit, lab, case, "PAIR-G", qc={**kit.GOOD_GERMLINE_QC, "din": 2.0})
    assert service.get_sample(session, lab, "PAIR-G").state == "qc_failed"
    shipment = service.create_shipment(session, lab, kind="to_sequencing", origin="lab", destination="provider")
    service.add_to_shipment(session, lab, shipment.reference, "PAIR-T")
    with pytest.raises(Conflict):
        service.add_to_shipment(session, lab, shipment.reference, "PAIR-G")
    service.transition(session, lab, "PAIR-G", "archived")
    with pytest.raises(Conflict):
        service.add_to_shipment(session, lab, shipment.reference, "PAIR-G")
    with pytest.raises(Conflict, match="cancer pair rule"):
        service.ship(session, lab, shipment.reference)
    with pytest.raises(Conflict, match="cancer pair rule"):
        service.transition(session, lab, "PAIR-T", "dispatched")
    assert service.get_sample(session, lab, "PAIR-T").state == "qc_passed"


def test_samples_follow_their_participant_through_merge_unmerge_and_withdrawal(session, kit) -> None:
    lab, admin = kit.principal(session, "lab"), kit.principal(session, "admin")
    keep, drop = kit.make_case(session), kit.make_case(session)
    kit.collect(session, lab, keep, "MRG-KEEP")
    kit.collect(session, lab, drop, "MRG-DROP")
    merge = registry.merge(session, principal=admin, survivor=keep.participant, merged=drop.participant,
                           reason="same person")
    moved = session.execute(select(Sample).where(Sample.barcode == "MRG-DROP")).scalar_one()
    assert moved.participant_id == keep.participant.id
    events = session.execute(select(SampleEvent).where(SampleEvent.sample_id == moved.id)).scalars().all()
    assert events[-1].kind == "merge" and events[-1].detail["to"] == keep.participant.participant_id
    registry.unmerge(session, principal=admin, merge_id=merge.id, reason="different people")
    assert moved.participant_id == drop.participant.id
    assert session.execute(select(SampleEvent.kind).where(SampleEvent.sample_id == moved.id)
                           .order_by(SampleEvent.id.desc())).scalars().first() == "unmerge"

    registry.merge(session, principal=admin, survivor=keep.participant, merged=drop.participant, reason="again")
    # A sample later collected under the merged record's old id stays on it; withdrawal still reaches it.
    service.register_specimen(session, lab, service.NewSpecimen(
        barcode="MRG-LATE", sample_type="blood_edta", participant_id=drop.participant.participant_id,
        trust_id=drop.trust_id, collected_at=moved.collected_at, collected_by="Nurse"))
    late = session.execute(select(Sample).where(Sample.barcode == "MRG-LATE")).scalar_one()
    assert late.participant_id == drop.participant.id
    registry.withdraw_participant(session, principal=admin, participant=keep.participant, level="no_further_use",
                                  reason="withdrew")
    due = {d.sample.barcode for d in service.destruction_worklist(session, lab)}
    assert {"MRG-KEEP", "MRG-DROP", "MRG-LATE"} <= due
    survivor = session.get(Participant, keep.participant.id)
    assert survivor.merged_into_id is None
