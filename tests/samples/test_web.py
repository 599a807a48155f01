"""A lab user's day through the real app: scan in, extract, QC, store, ship a cancer pair, print, receive data."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from gmc.samples import service


def test_lab_journey_from_receipt_to_sequencing_data(demo_client, demo_database, login, kit) -> None:
    with demo_database.transaction() as s:
        case = kit.make_case(s, trust="RRK", arm="cancer")
        late = kit.make_case(s, trust="RQ3")
        lab = kit.principal(s, "lab")
        kit.collect(s, lab, case, "BLD-1001", days_ago=3)
        kit.collect(s, lab, case, "TUM-1001", sample_type="ff_tumour", days_ago=3, tumour_site="colon",
                    tumour_histology="adenocarcinoma", tumour_content_pct=60)
        kit.collect(s, lab, late, "BLD-LATE", days_ago=9)  # still not received: over the 2-day target
    login(demo_client, "lab")
    h = {"X-CSRF-Token": demo_client.cookies.get("gmc_csrf")}

    # Scanning station: the wedge scanner types the barcode and Enter; htmx posts and gets a fragment.
    page = demo_client.get("/samples/scan")
    assert page.status_code == 200 and 'name="barcode"' in page.text and "autofocus" in page.text
    for code in ("BLD-1001", "TUM-1001"):
        r = demo_client.post("/samples/scan", data={"barcode": code, "action": "receive"}, headers={**h, "HX-Request": "true"})
        assert r.status_code == 200 and "received" in r.text and "<html" not in r.text
    # Without JavaScript the station posts and is redirected back (post/redirect/get) with the refusal shown once.
    bad = demo_client.post("/samples/scan", data={"barcode": "NOPE-999", "action": "receive", "box": "BOX-9"},
                           headers=h, follow_redirects=False)
    assert bad.status_code == 303 and bad.headers["location"] == "/samples/scan?action=receive&box=BOX-9"
    shown = demo_client.get(bad.headers["location"])
    assert "unknown barcode NOPE-999" in shown.text and "Nothing was changed" in shown.text
    assert 'value="BOX-9"' in shown.text
    assert "NOPE-999" not in demo_client.get(bad.headers["location"]).text  # shown once: a refresh repeats nothing
    # Through the station's script the refusal comes back as a fragment with the real status in a header.
    bad = demo_client.post("/samples/scan", data={"barcode": "NOPE-999", "action": "receive"},
                           headers={**h, "HX-Request": "true"})
    assert bad.status_code == 200 and bad.headers["x-scan-status"] == "404" and 'data-ok="false"' in bad.text
    again = demo_client.post("/samples/scan", data={"barcode": "BLD-1001", "action": "receive"},
                             headers={**h, "HX-Request": "true"})
    assert again.headers["x-scan-status"] == "409" and "is already received" in again.text

    # Extract DNA from both and record QC.
    for src, dna in (("BLD-1001", "DNA-B1001"), ("TUM-1001", "DNA-T1001")):
        r = demo_client.post(f"/api/samples/{src}/extract", json={"new_barcode": dna, "method": "QIAsymphony",
                                                                   "kit_lot": "LOT-7", "volume_ul": 100}, headers=h)
        assert r.status_code == 201 and r.json()["parent_barcode"] == src and r.json()["tissue"] in {"germline", "tumour"}
    r = demo_client.post("/api/samples/DNA-B1001/qc", json=kit.GOOD_GERMLINE_QC, headers=h)
    assert r.json() == {"passed": True, "reasons": [], "total_yield_ng": 5000.0, "state": "qc_passed"}
    r = demo_client.post("/api/samples/DNA-T1001/qc", json={**kit.GOOD_TUMOUR_QC, "a260_280": 9}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "a260_280"
    r = demo_client.post("/api/samples/DNA-T1001/qc", json=kit.GOOD_TUMOUR_QC, headers=h)
    assert r.json()["passed"] is True

    # Put the germline DNA in a box by scanning; the next free position is offered.
    demo_client.post("/api/samples/storage/freezers", json={"name": "F-LAB-1"}, headers=h)
    demo_client.post("/api/samples/storage/units", json={"freezer": "F-LAB-1", "name": "R1"}, headers=h)
    r = demo_client.post("/api/samples/storage/boxes", json={"freezer": "F-LAB-1", "unit": "R1", "barcode": "BOX-L1",
                                                             "name": "DNA 1", "rows": 8, "cols": 12}, headers=h)
    assert r.status_code == 201
    r = demo_client.post("/samples/scan", data={"barcode": "DNA-B1001", "action": "store", "box": "BOX-L1",
                                                "position": "A1"}, headers={**h, "HX-Request": "true"})
    assert r.status_code == 200 and "A1" in r.text and 'data-position="A2"' in r.text
    r = demo_client.post("/api/samples/DNA-T1001/store", json={"box": "BOX-L1", "position": "A1"}, headers=h)
    assert r.status_code == 409 and "occupied by sample DNA-B1001" in r.json()["detail"]
    box = demo_client.get("/samples/storage/boxes/BOX-L1")
    assert box.status_code == 200 and "DNA-B1001" in box.text and "H12" in box.text

    # Shipment to sequencing: the germline alone is refused by the pair rule; with the tumour it ships.
    r = demo_client.post("/api/samples/shipments", json={"kind": "to_sequencing", "destination": "Sequencing provider"},
                         headers=h)
    ref = r.json()["reference"]
    demo_client.post(f"/api/samples/shipments/{ref}/items", json={"barcode": "DNA-B1001"}, headers=h)
    r = demo_client.post(f"/api/samples/shipments/{ref}/ship", json={}, headers=h)
    assert r.status_code == 409 and "cancer pair rule" in r.json()["detail"] and "DNA-T1001" in r.json()["detail"]
    demo_client.post(f"/api/samples/shipments/{ref}/items", json={"barcode": "DNA-T1001"}, headers=h)
    manifest = demo_client.get(f"/api/samples/shipments/{ref}/manifest.csv")
    rows = list(csv.DictReader(io.StringIO(manifest.text)))
    assert [r["barcode"] for r in rows] == ["DNA-B1001", "DNA-T1001"] and rows[0]["participant_id"] == case.participant.participant_id
    pdf = demo_client.get(f"/api/samples/shipments/{ref}/manifest.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    labels = demo_client.get("/api/samples/labels.pdf", params={"barcode": ["DNA-B1001", "DNA-T1001"]})
    assert labels.content.startswith(b"%PDF") and b"DNA-T1001" in labels.content
    assert "DNA-T1001" in demo_client.get(f"/samples/shipments/{ref}/manifest").text
    r = demo_client.post(f"/api/samples/shipments/{ref}/ship", json={"courier_tracking": "TRK1"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "shipped"
    shipped = demo_client.get("/api/samples/DNA-B1001").json()
    assert shipped["state"] == "dispatched" and shipped["location"] is None  # it left the box

    # Sequencing confirmation and data arrive.
    for state in ("sequenced", "data_received"):
        r = demo_client.post("/api/samples/DNA-B1001/transition", json={"to_state": state}, headers=h)
        assert r.status_code == 200 and r.json()["state"] == state

    # The whole chain of custody, on the page and through the API.
    custody = demo_client.get("/api/samples/DNA-B1001/custody").json()
    assert [e["kind"] for e in custody] == ["extract", "qc", "store", "ship", "transition", "transition"]
    page = demo_client.get("/samples/DNA-B1001")
    assert page.status_code == 200 and "BLD-1001" in page.text and "Chain of custody" in page.text and "<svg" in page.text
    # Each look at the sample (API, custody, page) is in the audit trail, committed with the request.
    from gmc.audit.repository import history
    from gmc.samples.models import Sample

    with demo_database.session() as s:
        sample_id = s.execute(select(Sample.id).where(Sample.barcode == "DNA-B1001")).scalar_one()
        reads = [e for e in history(s, entity_type="sample", entity_id=sample_id) if e.verb == "read"]
        assert len(reads) == 3 and {e.actor for e in reads} == {"lab"}

    # Late samples show on the overdue list and on the turnaround chart page.
    overdue = demo_client.get("/api/samples/worklists/overdue").json()
    assert [o["barcode"] for o in overdue] == ["BLD-LATE"] and overdue[0]["state"] == "collected"
    tat = demo_client.get("/samples/turnaround")
    assert tat.status_code == 200 and 'data-chart="chart-turnaround-collection-to-receipt-data"' in tat.text
    assert "RRK" in tat.text
    for path in ("/samples", "/samples/storage?find=DNA-T1001", "/samples/shipments", f"/samples/shipments/{ref}",
                 "/samples/worklists", "/samples/turnaround?by=sample_type"):
        assert demo_client.get(path).status_code == 200, path


def test_recruiter_cannot_write_and_other_centre_cannot_see(demo_client, demo_database, login, kit) -> None:
    with demo_database.transaction() as s:
        case = kit.make_case(s, trust="RRK")
        kit.collect(s, kit.principal(s, "lab"), case, "BLD-2001")
    login(demo_client, "sl-recruiter")
    h = {"X-CSRF-Token": demo_client.cookies.get("gmc_csrf")}
    assert demo_client.get("/api/samples/BLD-2001").status_code == 404
    assert demo_client.post("/api/samples/BLD-2001/receive", headers=h).status_code == 403
    assert demo_client.get("/api/samples").json() == []
    # A West Midlands shipment does not exist for South London staff.
    with demo_database.transaction() as s:
        lab = kit.principal(s, "lab")
        ref = service.create_shipment(s, lab, kind="to_lab", origin="UHB", destination="GMC lab").reference
        service.add_to_shipment(s, lab, ref, "BLD-2001")
    assert demo_client.get(f"/api/samples/shipments/{ref}").status_code == 404
    assert demo_client.get(f"/api/samples/shipments/{ref}/manifest.csv").status_code == 404
    assert ref not in demo_client.get("/samples/shipments").text


def test_register_form_creates_specimen_and_refuses_duplicates(demo_client, demo_database, login, kit) -> None:
    with demo_database.transaction() as s:
        case = kit.make_case(s, trust="RRK", arm="cancer")
    login(demo_client, "lab")
    form = {"csrf_token": demo_client.cookies.get("gmc_csrf"), "barcode": "FFPE-3001", "sample_type": "ffpe_block",
            "participant_id": case.participant.participant_id, "referral_id": case.referral.referral_id,
            "trust_code": "RRK", "collected_at": "2026-11-20T10:15", "collected_by": "Histopathology",
            "tumour_site": "breast", "tumour_histology": "invasive ductal carcinoma", "tumour_content_pct": "40"}
    assert "Register a collected specimen" in demo_client.get("/samples").text
    r = demo_client.post("/samples/register", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/samples/FFPE-3001"
    page = demo_client.get("/samples/FFPE-3001")
    assert "invasive ductal carcinoma" in page.text and "tumour content 40.0%" in page.text
    again = demo_client.post("/samples/register", data=form)
    assert again.status_code == 409 and "duplicate barcode FFPE-3001" in again.text


def test_storage_forms_build_a_freezer_with_a_box(demo_client, login) -> None:
    login(demo_client, "lab")
    token = demo_client.cookies.get("gmc_csrf")
    post = lambda **f: demo_client.post("/samples/storage", data={"csrf_token": token, **f})  # noqa: E731
    assert post(what="freezer", name="F-20-A", location="Lab 3", temperature_c="-20").status_code == 201
    assert post(what="unit", freezer="F-20-A", name="Shelf 2", kind="shelf", capacity="1").status_code == 201
    assert post(what="box", freezer="F-20-A", unit="Shelf 2", barcode="BOX-W001", name="Saliva 1",
                layout="10x10").status_code == 201
    full = post(what="box", freezer="F-20-A", unit="Shelf 2", barcode="BOX-W002", name="Saliva 2", layout="9x9")
    assert full.status_code == 409 and "is full (1 boxes)" in full.text
    assert post(what="freezer", name="F-20-A").status_code == 409
    grid = demo_client.get("/samples/storage/boxes/BOX-W001")
    assert grid.status_code == 200 and "J10" in grid.text and "100 free" in grid.text


def test_shipments_list_filters_sorts_and_pages_in_the_url(demo_client, demo_database, login, kit) -> None:
    with demo_database.transaction() as s:
        lab = kit.principal(s, "lab")
        for n in range(30):
            destination = "Sequencing provider" if n % 3 else f"Trust lab {n:02d}"
            service.create_shipment(s, lab, kind="to_sequencing" if n % 3 else "to_lab", origin="",
                                    destination=destination, reference=f"SHP-T-{n:03d}")
        case = kit.make_case(s, trust="RRK")
        kit.collect(s, lab, case, "BLD-3001")
        kit.collect(s, lab, case, "BLD-3002")
        service.add_to_shipment(s, lab, "SHP-T-009", "BLD-3001")
        service.add_to_shipment(s, lab, "SHP-T-009", "BLD-3002")
    login(demo_client, "lab")

    def references(text: str) -> list[str]:
        return re.findall(r'<a href="/samples/shipments/(SHP-T-\d+)">', text)

    first = demo_client.get("/samples/shipments", params={"per_page": 25})
    assert first.status_code == 200 and "1–25 of 30 shipments" in first.text
    assert references(first.text) == [f"SHP-T-{n:03d}" for n in range(29, 4, -1)]  # newest first
    second = demo_client.get("/samples/shipments", params={"per_page": 25, "page": 2})
    assert references(second.text) == [f"SHP-T-{n:03d}" for n in range(4, -1, -1)]
    by_ref = demo_client.get("/samples/shipments", params={"sort": "reference", "dir": "asc"})
    assert references(by_ref.text) == sorted(references(by_ref.text)) and len(references(by_ref.text)) == 30
    most = demo_client.get("/samples/shipments", params={"sort": "samples", "dir": "desc"})
    assert references(most.text)[0] == "SHP-T-009"
    to_lab = demo_client.get("/samples/shipments", params={"kind": "to_lab", "q": "trust lab"})
    assert references(to_lab.text) == [f"SHP-T-{n:03d}" for n in range(27, -1, -3)]
    # The filters stay in the pager's and the sort headers' links (shareable, bookmarkable).
    links = re.findall(r'href="(/samples/shipments\?[^"]*)"', to_lab.text)
    assert any("sort=reference" in h and "kind=to_lab" in h and "q=trust+lab" in h for h in links), links
    none = demo_client.get("/samples/shipments", params={"status": "received"})
    assert references(none.text) == [] and "No shipments match." in none.text
