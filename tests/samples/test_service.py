"""Sample rules on a real database (SQLite and PostgreSQL): lifecycle, lineage, QC, storage, consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gmc.audit.models import AuditEvent
from gmc.audit.repository import history
from gmc.audit.service import Actor
from gmc.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gmc.registry.consent import withdraw
from gmc.samples import repository as repo
from gmc.samples import service
from gmc.samples.lifecycle import IllegalTransition, is_legal_path
from gmc.samples.models import ResampleRequest, Sample


def test_receive_extract_qc_store_and_history(session, kit) -> None:
    lab = kit.principal(session, "lab")
    case = kit.make_case(session)
    kit.collect(session, lab, case, "BLD-0001")
    service.receive(session, lab, "BLD-0001")
    dna = service.extract(session, lab, "BLD-0001", new_barcode="DNA-0001", method="QIAsymphony", kit_lot="L123")
    assert dna.parent_id is not None and dna.state == "extracted" and dna.tissue == "germline"
    result = service.record_qc(session, lab, "DNA-0001", kit.GOOD_GERMLINE_QC)
    assert result.passed and result.total_yield_ng == 5000  # 50 ng/ul x 100 ul
    freezer = service.create_freezer(session, lab, name="F-80-1")
    rack = service.create_unit(session, lab, freezer_id=freezer.id, name="Rack A")
    box = service.create_box(session, lab, unit_id=rack.id, barcode="BOX-0001", name="DNA box 1", rows=9, cols=9)
    service.put_away(session, lab, "DNA-0001", box_barcode="BOX-0001", position="b3")
    assert service.location_of(dna) == "F-80-1 / Rack A / DNA box 1 (BOX-0001) / B3"
    session.commit()
    events = history(session, entity_type="sample", entity_id=dna.id)
    assert [e.verb for e in events] == ["create", "transition", "store"]
    steps = [e.to_state for e in repo.events_of(session, dna.id) if e.to_state]
    assert steps == ["extracted", "qc_passed"] and is_legal_path(steps)
    parent = repo.sample_by_barcode(session, "BLD-0001", None)
    assert [e.to_state for e in repo.events_of(session, parent.id) if e.to_state] == [
        "collected", "received", "extracted"]
    assert box.id in repo.box_fill(session)


def test_illegal_transition_changes_nothing(session, kit) -> None:
    lab = kit.principal(session, "lab")
    kit.collect(session, lab, kit.make_case(session), "BLD-0002")
    session.commit()
    before = session.execute(select(AuditEvent.id)).all()
    with pytest.raises(IllegalTransition, match="BLD-0002 is collected: it cannot go to sequenced"):
        service.transition(session, lab, "BLD-0002", "sequenced")
    session.rollback()
    assert session.execute(select(AuditEvent.id)).all() == before
    assert repo.sample_by_barcode(session, "BLD-0002", None).state == "collected"


def test_stale_version_is_a_conflict(session, kit) -> None:
    lab = kit.principal(session, "lab")
    s = kit.collect(session, lab, kit.make_case(session), "BLD-0003")
    version = s.version
    service.receive(session, lab, "BLD-0003")
    with pytest.raises(Conflict, match="changed since you loaded it") as err:
        service.transition(session, lab, "BLD-0003", "extracted", expected_version=version)
    assert err.value.status_code == 409 and err.value.field == "version"


def test_duplicate_unknown_barcode_and_scope(session, kit) -> None:
    lab = kit.principal(session, "lab")
    case = kit.make_case(session, trust="RRK")
    kit.collect(session, lab, case, "BLD-0004")
    with pytest.raises(Conflict, match="duplicate barcode BLD-0004"):
        kit.collect(session, lab, case, "BLD-0004")
    with pytest.raises(NotFound, match="unknown barcode NOPE-1"):
        service.receive(session, lab, "NOPE-1")
    # The South London recruiter's trusts do not include RRK: the sample is invisible to them.
    sl = kit.principal(session, "sl-recruiter")
    with pytest.raises(NotFound):
        service.get_sample(session, sl, "BLD-0004")
    with pytest.raises(PermissionDenied):
        kit.collect(session, sl, case, "BLD-0005")


def test_qc_failure_opens_resample_request_and_values_out_of_range_change_nothing(session, kit) -> None:
    lab = kit.principal(session, "lab")
    kit.collect(session, lab, kit.make_case(session), "BLD-0006")
    service.receive(session, lab, "BLD-0006")
    service.extract(session, lab, "BLD-0006", new_barcode="DNA-0006", method="manual", kit_lot="K1")
    with pytest.raises(ValidationFailed) as err:
        service.record_qc(session, lab, "DNA-0006", {"a260_280": 12})
    assert err.value.field == "a260_280"
    assert repo.sample_by_barcode(session, "DNA-0006", None).state == "extracted"
    result = service.record_qc(session, lab, "DNA-0006", {"concentration_ng_ul": 5, "volume_ul": 50,
                                                          "a260_280": 1.8, "din": 8})
    assert not result.passed and "Total yield 250 ng is below the minimum 1000" in result.reasons
    requests = session.execute(select(ResampleRequest)).scalars().all()
    assert len(requests) == 1 and requests[0].status == "open" and "Concentration 5" in requests[0].reason


def test_one_sample_per_position(session, kit) -> None:
    lab = kit.principal(session, "lab")
    case = kit.make_case(session)
    kit.collect(session, lab, case, "BLD-0007")
    kit.collect(session, lab, case, "BLD-0008")
    freezer = service.create_freezer(session, lab, name="F-80-2")
    rack = service.create_unit(session, lab, freezer_id=freezer.id, name="R1")
    service.create_box(session, lab, unit_id=rack.id, barcode="BOX-0002", name="Box 2", rows=2, cols=2)
    service.put_away(session, lab, "BLD-0007", box_barcode="BOX-0002", position="A1")
    with pytest.raises(Conflict, match="A1 of box Box 2 is occupied by sample BLD-0007"):
        service.put_away(session, lab, "BLD-0008", box_barcode="BOX-0002", position="A1")
    with pytest.raises(ValidationFailed, match="outside the box \\(A1 to B2\\)"):
        service.put_away(session, lab, "BLD-0008", box_barcode="BOX-0002", position="C1")
    moved = service.put_away(session, lab, "BLD-0007", box_barcode="BOX-0002", position="B2")
    assert (moved.box_row, moved.box_col) == (2, 2)
    service.put_away(session, lab, "BLD-0008", box_barcode="BOX-0002", position="A1")
    service.retrieve(session, lab, "BLD-0008")
    assert [e.kind for e in repo.events_of(session, moved.id)] == ["collect", "store", "move"]


def test_withdrawal_blocks_dispatch_and_lists_samples_for_destruction(session, kit) -> None:
    lab = kit.principal(session, "lab")
    case = kit.make_case(session)
    kit.collect(session, lab, case, "BLD-0009")
    service.receive(session, lab, "BLD-0009")
    service.extract(session, lab, "BLD-0009", new_barcode="DNA-0009", method="manual", kit_lot="K1")
    service.record_qc(session, lab, "DNA-0009", kit.GOOD_GERMLINE_QC)
    withdraw(session, actor=Actor.system("test"), participant=case.participant, level="no_further_use")
    with pytest.raises(Conflict, match="may not be dispatched: the participant withdrew \\(no further use\\)"):
        service.transition(session, lab, "DNA-0009", "dispatched")
    due = {d.sample.barcode for d in service.destruction_worklist(session, lab)}
    assert due == {"BLD-0009", "DNA-0009"}
    service.destroy(session, lab, "DNA-0009", method="incineration", reason="consent withdrawn", witness="A. N. Other")
    assert {d.sample.barcode for d in service.destruction_worklist(session, lab)} == {"BLD-0009"}
    destroyed = repo.sample_by_barcode(session, "DNA-0009", None)
    last = repo.events_of(session, destroyed.id)[-1]
    assert last.kind == "destroy" and last.detail["method"] == "incineration"


def test_aliquots_inherit_state_and_lineage(session, kit) -> None:
    lab = kit.principal(session, "lab")
    kit.collect(session, lab, kit.make_case(session), "BLD-0010")
    service.receive(session, lab, "BLD-0010")
    service.extract(session, lab, "BLD-0010", new_barcode="DNA-0010", method="manual", kit_lot="K1")
    made = service.aliquot(session, lab, "DNA-0010", count=2, volume_ul=20)
    assert [m.barcode for m in made] == ["DNA-0010-A1", "DNA-0010-A2"]
    root = repo.sample_by_barcode(session, "BLD-0010", None)
    tree = repo.descendants_by_parent(session, root.id)
    assert [s.barcode for s in tree[root.id]] == ["DNA-0010"]
    dna_id = tree[root.id][0].id
    assert {s.barcode for s in tree[dna_id]} == {"DNA-0010-A1", "DNA-0010-A2"}
    assert all(isinstance(s, Sample) and s.state == "extracted" for s in tree[dna_id])


def test_qc_verdicts_come_only_from_measurements(session, kit) -> None:
    lab = kit.principal(session, "lab")
    kit.collect(session, lab, kit.make_case(session), "BLD-0011")
    service.receive(session, lab, "BLD-0011")
    with pytest.raises(IllegalTransition, match="BLD-0011 is received: record QC measurements"):
        service.transition(session, lab, "BLD-0011", "qc_passed")


def test_extracted_specimen_is_not_overdue_but_its_waiting_dna_is(session, kit) -> None:
    lab = kit.principal(session, "lab")
    kit.collect(session, lab, kit.make_case(session), "BLD-0012", days_ago=20)
    service.transition(session, lab, "BLD-0012", "received", when=datetime.now(UTC) - timedelta(days=19))
    service.extract(session, lab, "BLD-0012", new_barcode="DNA-0012", method="m", kit_lot="k",
                    extracted_at=datetime.now(UTC) - timedelta(days=18))
    late = {o.barcode: o for o in service.overdue_worklist(session, lab)}
    assert "BLD-0012" not in late and late["DNA-0012"].state == "extracted" and late["DNA-0012"].days_in_state > 17.9
