"""Shipments to the lab received by scanning and reconciled; configurable QC and turnaround rules; the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gmc.common.errors import Conflict, NotFound
from gmc.samples import service
from gmc.samples.commands import app as samples_cli
from gmc.settings import reset_settings_cache


def test_receive_by_scanning_and_reconcile_missing_and_unexpected(session, kit) -> None:
    lab = kit.principal(session, "lab")
    case = kit.make_case(session, trust="RQ3")
    for code in ("TRN-0001", "TRN-0002", "TRN-0003", "TRN-0004"):
        kit.collect(session, lab, case, code)
    shipment = service.create_shipment(session, lab, kind="to_lab", origin="Sandwell", destination="GMC lab")
    for code in ("TRN-0001", "TRN-0002", "TRN-0003"):
        service.add_to_shipment(session, lab, shipment.reference, code)
    with pytest.raises(Conflict, match="has not been shipped yet"):
        service.receive_scan(session, lab, shipment.reference, "TRN-0001")
    service.ship(session, lab, shipment.reference, courier_tracking="CX1")
    assert service.get_sample(session, lab, "TRN-0002").state == "in_transit"
    with pytest.raises(Conflict, match="manifest is closed"):
        service.add_to_shipment(session, lab, shipment.reference, "TRN-0004")
    assert service.receive_scan(session, lab, shipment.reference, "TRN-0001").expected
    extra = service.receive_scan(session, lab, shipment.reference, "TRN-0004")
    assert not extra.expected and "NOT on manifest" in extra.message
    with pytest.raises(NotFound, match="unknown barcode ZZZ-0009"):
        service.receive_scan(session, lab, shipment.reference, "ZZZ-0009")
    with pytest.raises(Conflict, match="already scanned in"):
        service.receive_scan(session, lab, shipment.reference, "TRN-0001")
    rec = service.close_receipt(session, lab, shipment.reference)
    assert (rec.expected, rec.received, rec.missing, rec.unexpected) == (
        ["TRN-0001", "TRN-0002", "TRN-0003"], ["TRN-0001"], ["TRN-0002", "TRN-0003"], ["TRN-0004"])
    assert service.get_sample(session, lab, "TRN-0001").state == "received"
    assert service.get_sample(session, lab, "TRN-0002").state == "in_transit"  # still lost in transit


def test_qc_thresholds_and_targets_are_configurable(session, kit) -> None:
    from dataclasses import replace

    from gmc.common.errors import PermissionDenied

    lab, admin = kit.principal(session, "lab"), kit.principal(session, "admin")
    kit.collect(session, lab, kit.make_case(session), "CFG-0001", days_ago=1.5)
    assert "CFG-0001" not in [o.barcode for o in service.overdue_worklist(session, lab)]  # 1.5 < 2 days
    with pytest.raises(PermissionDenied):  # lab staff use the configuration; admins change it
        service.set_target(session, lab, state="collected", max_days=1)
    # Another centre's admin changes its own centre's target, which leaves West Midlands' samples alone.
    south = replace(admin, centre_id=kit.centre_id(session, "SLGMC"), trust_scope=frozenset({kit.trust_id(session,
                                                                                                      "RJ1")}))
    service.set_target(session, south, state="collected", max_days=1)
    assert "CFG-0001" not in [o.barcode for o in service.overdue_worklist(session, lab)]
    with pytest.raises(PermissionDenied):
        service.set_target(session, south, state="collected", max_days=1, centre_code="WMGMC")
    service.set_target(session, admin, state="collected", max_days=1)
    assert "CFG-0001" in [o.barcode for o in service.overdue_worklist(session, lab)]
    service.receive(session, lab, "CFG-0001")
    service.extract(session, lab, "CFG-0001", new_barcode="CFG-D001", method="m", kit_lot="k")
    # DIN 6.5 fails the default germline minimum of 7; West Midlands lowering it to 6 makes the same sample pass.
    values = {**kit.GOOD_GERMLINE_QC, "din": 6.5}
    service.set_qc_rule(session, south, sample_type="blood_edta", metric="din", minimum=6.0, maximum=None)
    assert not service.record_qc(session, lab, "CFG-D001", values).passed
    service.set_qc_rule(session, admin, sample_type="blood_edta", metric="din", minimum=6.0, maximum=None)
    assert service.record_qc(session, lab, "CFG-D001", values).passed


def test_cli_import_reports_bad_rows_and_exports(demo_db_url, monkeypatch, tmp_path, demo_database, kit) -> None:
    with demo_database.transaction() as s:
        case = kit.make_case(s, trust="RRK")
        pid, ref = case.participant.participant_id, case.referral.referral_id
    monkeypatch.setenv("GMC_DATABASE_URL", demo_db_url)
    reset_settings_cache()
    header = "barcode,participant_id,referral_id,trust_code,sample_type,collected_at,collected_by\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + f"CLI-0001,{pid},{ref},RRK,blood_edta,2026-11-01T09:00:00,N\n"
                            f"CLI-0002,{pid},{ref},RRK,blood_edta,yesterday,N\n")
    runner = CliRunner()
    result = runner.invoke(samples_cli, ["import", str(bad), "--as", "lab"])
    assert result.exit_code == 1 and "line 3, collected_at" in result.output
    good = tmp_path / "good.csv"
    good.write_text(header + f"CLI-0001,{pid},{ref},RRK,blood_edta,2026-11-01T09:00:00,N\n")
    assert runner.invoke(samples_cli, ["import", str(good), "--as", "lab"]).exit_code == 0
    out = tmp_path / "out.csv"
    result = runner.invoke(samples_cli, ["export", "--out", str(out), "--as", "lab"])
    assert result.exit_code == 0 and "CLI-0001" in out.read_text()
    result = runner.invoke(samples_cli, ["overdue", "--as", "lab"])
    assert result.exit_code == 0 and "CLI-0001\tcollected" in result.output
    reset_settings_cache()


def test_shipments_are_seen_only_within_their_centre_and_reads_are_audited(session, kit) -> None:
    from gmc.audit.repository import history

    lab = kit.principal(session, "lab")  # West Midlands, centre-wide
    recruiter = kit.principal(session, "recruiter")  # two West Midlands trusts only
    outsider = kit.principal(session, "sl-recruiter")  # South London
    mine = kit.make_case(session, trust="RQ3")  # Birmingham Children's: in the recruiter's trusts
    other = kit.make_case(session, trust="RRK")  # University Hospitals Birmingham: not
    kit.collect(session, lab, mine, "SCP-0001")
    kit.collect(session, lab, other, "SCP-0002")
    shipment = service.create_shipment(session, lab, kind="to_lab", origin="Trusts", destination="GMC lab")
    assert shipment.centre_id == lab.centre_id
    for code in ("SCP-0001", "SCP-0002"):
        service.add_to_shipment(session, lab, shipment.reference, code)
    # Another centre's staff learn nothing of it, not even that it exists.
    with pytest.raises(NotFound, match=f"unknown shipment {shipment.reference}"):
        service.get_shipment(session, outsider, shipment.reference)
    assert shipment.reference not in [s.reference for s in service.shipments_for(session, outsider)]
    with pytest.raises(NotFound):
        service.add_to_shipment(session, outsider, shipment.reference, "SCP-0001")
    # Staff of the centre see it, but only the samples of their own trusts.
    assert shipment.reference in [s.reference for s in service.shipments_for(session, recruiter)]
    assert service.reconcile(service.get_shipment(session, recruiter, shipment.reference), recruiter).expected == [
        "SCP-0001"]
    assert service.reconcile(shipment, lab).expected == ["SCP-0001", "SCP-0002"]
    _, lines = service.export_manifest(session, recruiter, shipment.reference, fmt="csv")
    assert [line.barcode for line in lines] == ["SCP-0001"]
    exports = [e for e in history(session, entity_type="shipment", entity_id=shipment.id) if e.verb == "export"]
    assert [(e.actor, e.summary["rows"], e.summary["format"]) for e in exports] == [("recruiter", 1, "csv")]
    # Looking a sample up is a read of participant-linked data: audited with the sample's trust.
    seen = service.get_sample(session, recruiter, "SCP-0001")
    service.record_sample_read(session, recruiter, seen)
    reads = [e for e in history(session, entity_type="sample", entity_id=seen.id) if e.verb == "read"]
    assert [(e.actor, e.trust_id) for e in reads] == [("recruiter", mine.trust_id)]
    with pytest.raises(NotFound):
        service.get_sample(session, recruiter, "SCP-0002")
    found = service.search_samples(session, recruiter, text="SCP-")
    assert [s.barcode for s in found] == ["SCP-0001"]
