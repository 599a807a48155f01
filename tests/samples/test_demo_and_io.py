"""The demo biobank, CSV import (all-or-nothing) and export, turnaround figures computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gmc.samples import service
from gmc.samples.csvio import SampleCsvError, parse_import
from gmc.samples.lifecycle import SampleState
from gmc.samples.models import Sample, Shipment
from gmc.samples.turnaround import SampleClock, overdue, turnaround, turnaround_charts


def test_demo_has_every_state_boxes_and_a_shipment_in_transit(full_demo_db_url: str) -> None:
    from gmc.db.core import Database

    db = Database(full_demo_db_url)
    with db.session() as session:
        _check_demo(session)
    db.dispose()


def kit_principal(session, username: str):  # noqa: ANN001, ANN201
    from gmc.auth import service as auth_service
    from gmc.auth.models import User

    user = session.execute(select(User).where(User.username == username)).scalar_one()
    return auth_service.principal_for(session, user, auth_method="session")


def _check_demo(session) -> None:  # noqa: ANN001
    states = set(session.execute(select(Sample.state)).scalars())
    assert states == {s.value for s in SampleState}
    shipments = {s.reference: s for s in session.execute(select(Shipment)).scalars()}
    assert shipments["DEMO-SHP-LAB-1"].status == "shipped"
    assert all(i.sample.state == "in_transit" for i in shipments["DEMO-SHP-LAB-1"].items)
    assert session.execute(select(Sample).where(Sample.box_id.is_not(None))).first() is not None
    lab = kit_principal(session, "lab")
    assert "DEMO-B950" in {d.sample.barcode for d in service.destruction_worklist(session, lab)}


def test_csv_import_is_all_or_nothing_with_row_errors(session, kit) -> None:
    lab = kit.principal(session, "lab")
    case = kit.make_case(session, trust="RRK")
    pid, ref = case.participant.participant_id, case.referral.referral_id
    header = "barcode,participant_id,referral_id,trust_code,sample_type,collected_at,collected_by\n"
    good = f"CSV-0001,{pid},{ref},RRK,blood_edta,2026-11-01T09:30:00,Nurse A\n"
    bad = (good + f"CSV-0002,{pid},{ref},RRK,plasma,2026-11-01T09:30:00,Nurse A\n"
           f"CSV-0003,{pid},{ref},XXX,blood_edta,not-a-date,Nurse A\n")
    with pytest.raises(SampleCsvError) as err:
        parse_import(header + bad, source="batch.csv")
    assert [str(p) for p in err.value.problems] == ["line 4, collected_at: 'not-a-date' is not an ISO date-time"]
    with pytest.raises(SampleCsvError) as err:
        service.import_specimens(session, lab, header + bad.replace("not-a-date", "2026-11-01T10:00:00"),
                                 source="batch.csv")
    assert [(p.line, p.column) for p in err.value.problems] == [(3, "sample_type"), (4, "trust_code")]
    assert str(err.value).startswith("batch.csv: line 3, sample_type: unknown sample type 'plasma'")
    session.rollback()
    assert session.execute(select(Sample).where(Sample.barcode.like("CSV-%"))).first() is None
    case = kit.make_case(session, trust="RRK")
    made = service.import_specimens(session, lab, header + good.replace(pid, case.participant.participant_id)
                                    .replace(ref, case.referral.referral_id))
    assert [s.barcode for s in made] == ["CSV-0001"] and made[0].state == "collected"
    rows = service.export_rows(session, lab)
    row = next(r for r in rows if r["barcode"] == "CSV-0001")
    assert row["trust_code"] == "RRK" and row["participant_id"] == case.participant.participant_id


def test_turnaround_medians_and_overdue_by_hand() -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    clocks = [SampleClock("A", "RRK", "blood_edta", {"collected": t0, "received": t0 + timedelta(days=d)})
              for d in (1, 2, 6)]
    stats = turnaround(clocks)
    assert [(s.group, s.step, s.n, s.median_days, s.p90_days) for s in stats] == [
        ("RRK", "collection to receipt", 3, 2.0, 6.0)]
    now = t0 + timedelta(days=5)
    late = overdue([("X", "collected", "blood_edta", t0), ("Y", "collected", "ffpe_block", t0 + timedelta(days=4)),
                    ("Z", "received", "ff_tumour", t0)],
                   {("collected", None): 2.0, ("received", "ff_tumour"): 7.0, ("received", None): 3.0}, now)
    assert [(o.barcode, o.days_in_state) for o in late] == [("X", 5.0)]
    stats += turnaround([SampleClock("R", "RQ3", "blood_edta", {"collected": t0, "received": t0 + timedelta(days=4)})])
    [chart] = turnaround_charts(stats, {("collected", None): 3.0})
    assert chart.title == "collection to receipt: median days" and chart.target == 3.0
    assert chart.rows() == [("RRK", [2.0]), ("RQ3", [4.0])] and chart.category == "Trust"
    assert "1 above the target of 3" in chart.summary()  # RQ3
