"""Data releases on the research world: purpose, a second person's approval, checksums, consent at build time,
the recall list, downloads, and the identifier-leak scan of every file and API response."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import cyvcf2
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from gmc.audit.models import AuditEvent
from gmc.audit.service import Actor
from gmc.common.errors import Conflict, PermissionDenied, ValidationFailed
from gmc.phenotype import phenopackets as pp
from gmc.phenotype import service as phenotype
from gmc.phenotype.models import PhenotypeObservation
from gmc.registry import consent as consent_service
from gmc.registry.models import HospitalNumber, Participant
from gmc.research import release as builder
from gmc.research import repository as repo
from gmc.research import service
from gmc.research.demo import PREFIX, SEIZURE

SCN1A_SEIZURES = {"hpo_terms": [SEIZURE], "genes": ["SCN1A"]}


def _approved_project(s, principal_of, title: str = "Release test"):
    researcher, approver = principal_of(s, "researcher"), principal_of(s, "dataaccess")
    project = service.propose_project(s, researcher, title=title, purpose="Testing releases of pseudonymised data")
    return researcher, approver, project


def read_texts(folder: Path) -> dict[str, str]:
    """Every file of a release folder as text, decoded (Parquet rows, zip members, gzip streams)."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if path.suffix == ".parquet":
            out[name] = json.dumps(pq.read_table(path).to_pylist(), default=str)
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    out[f"{name}/{member}"] = archive.read(member).decode()
        elif path.name.endswith(".gz"):
            out[name] = gzip.decompress(path.read_bytes()).decode()
        else:
            out[name] = path.read_text()
    return out


def test_release_flow_checksums_consent_and_recall(world, world_db, principal_of) -> None:
    with world_db.transaction() as s:
        researcher, approver, project = _approved_project(s, principal_of)
        cohort = service.save_cohort(s, researcher, project_id=project.project_id, name="SCN1A seizures",
                                     criteria=SCN1A_SEIZURES, store_base=world.store_base)
        purpose = "Describe seizure onset in SCN1A carriers"
        with pytest.raises(Conflict, match="must approve the project"):
            service.request_release(s, researcher, cohort_id=cohort.cohort_id, purpose=purpose)
        service.decide_project(s, approver, project.project_id, approve=True, note="approved")
        with pytest.raises(ValidationFailed, match="purpose"):
            service.request_release(s, researcher, cohort_id=cohort.cohort_id, purpose="because")
        for contents, message in (({"parts": ["phenotypes", "date_of_birth"]}, "date_of_birth is an identifiable"),
                                  ({"postcode": True}, "postcode is an identifiable"),
                                  ({"parts": ["photos"]}, "not one of"),
                                  ({"genotypes": "everything"}, "genotypes must be one of")):
            with pytest.raises(ValidationFailed, match=message):
                service.request_release(s, researcher, cohort_id=cohort.cohort_id, purpose=purpose, contents=contents)
        release = service.request_release(s, researcher, cohort_id=cohort.cohort_id, purpose=purpose)
        assert release.status == "requested" and release.contents["genotypes"] == "cohort_genes"
        with pytest.raises(PermissionDenied):
            service.decide_release(s, researcher, release.release_id, approve=True, note="")
        with pytest.raises(Conflict, match="only an approved release"):
            builder.build_in_session(s, release, actor=approver.actor, store_base=world.store_base,
                                     out_base=world.releases)
        service.decide_release(s, approver, release.release_id, approve=True, note="matches the project")
        builder.build_in_session(s, release, actor=approver.actor, store_base=world.store_base,
                                 out_base=world.releases)
        assert release.status == "built" and release.n_participants == 13
        folder = world.releases / release.release_id
        files = {f["name"]: f for f in release.files}
        for name, entry in files.items():
            data = (folder / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
        manifest = json.loads((folder / "manifest.json").read_text())
        assert {f["name"] for f in manifest["files"]} == set(files) - {"manifest.json"}
        assert manifest["purpose"] == purpose and manifest["approved_by"] == "dataaccess"
        assert manifest["requested_by"] == "researcher" and manifest["participants"] == 13
        assert manifest["provenance"]["research_key_fingerprint"]
        # Software and reference-data versions, as the installation reports them.
        from gmc.refdata.manifest import provenance_versions

        assert manifest["provenance"]["gmc"] and manifest["provenance"]["hpo_release"]
        assert provenance_versions(["hpo", "gene-names", "transcripts", "clinvar", "cancer"], build="GRCh38").items() \
            <= manifest["provenance"]["reference_data"].items()
        assert {"hpo", "transcripts/GRCh38", "clinvar/GRCh38"} <= set(manifest["provenance"]["reference_data"])
        participants = list(csv.DictReader(io.StringIO((folder / "participants.csv").read_text())))
        ids = {row["research_id"] for row in participants}
        assert len(ids) == 13 and all(re.fullmatch(r"R[A-Z2-7]{12}", r) for r in ids)
        members = {m.research_id: m.participant_id for m in repo.members_of(s, release.id)}
        assert set(members) == ids
        withdrawn = s.execute(sa.select(Participant.id).join(HospitalNumber).where(
            HospitalNumber.number == f"{PREFIX}13")).scalar_one()
        assert withdrawn not in members.values()
        # Phenopackets are valid v2 documents keyed by research id.
        with zipfile.ZipFile(folder / "phenopackets.zip") as archive:
            names = archive.namelist()
            assert {n.removesuffix(".json") for n in names} == ids
            packet = pp.read_phenopacket(json.loads(archive.read(names[0])))
            assert packet.subject.id in ids and packet.subject.date_of_birth is None
        # Genotypes: only SCN1A's region, every sample pseudonymous, the same calls in Parquet and VCF.
        genomes = {r["sample_id"]: r["research_id"] for r in pq.read_table(folder / "genomes.parquet").to_pylist()}
        calls = pq.read_table(folder / "genotypes.parquet")
        assert set(calls.column("sample_id").to_pylist()) == set(genomes)
        assert set(calls.column("chrom").to_pylist()) == {"2"} and set(calls.column("gene").to_pylist()) >= {"SCN1A"}
        vcfs = [n for n in files if n.startswith("vcf/")]
        assert len(vcfs) == 13
        total = 0
        for name in vcfs:
            reader = cyvcf2.VCF(str(folder / name))
            assert reader.samples[0] in genomes and name.startswith(f"vcf/{reader.samples[0]}.")
            total += sum(1 for _ in reader)
        assert total == calls.num_rows == sum(files[n]["rows"] for n in vcfs)
        verbs = {(e.verb, e.entity_type) for e in s.execute(sa.select(AuditEvent).where(
            AuditEvent.entity_id == release.release_id)).scalars()}
        assert {("create", "research_release"), ("approve", "research_release"), ("export", "research_release")} <= verbs

        # The release's holder downloads; others may not.
        path = service.release_file(s, researcher, release.release_id, "participants.csv", folder)
        assert path.read_text().startswith('"research_id"')
        with pytest.raises(PermissionDenied):
            service.release_file(s, approver, release.release_id, "participants.csv", folder)
        # A participant withdraws: they go on the recall list, downloads stop, a new release leaves them out.
        leaver = s.get(Participant, members[sorted(members)[0]])
        consent_service.withdraw(s, actor=Actor.system("test"), participant=leaver, level="no_further_use",
                                 reason="changed their mind")
        recalls = service.recall_list(s, researcher, release_id=release.release_id)
        assert [(r["research_id"], r["reason"]) for r in recalls] == [
            (sorted(members)[0], "the participant withdrew (no further use)")]
        other = service.recall_list(s, researcher)
        assert sorted(members)[0] in {r["research_id"] for r in other}
        with pytest.raises(Conflict, match="left research"):
            service.release_file(s, researcher, release.release_id, "participants.csv", folder)
        service.confirm_recall(s, researcher, release.release_id, sorted(members)[0])
        with pytest.raises(Conflict, match="already confirmed"):
            service.confirm_recall(s, researcher, release.release_id, sorted(members)[0])
        again = service.request_release(s, researcher, cohort_id=cohort.cohort_id, purpose=purpose + " again")
        service.decide_release(s, approver, again.release_id, approve=True, note="ok")
        builder.build_in_session(s, again, actor=approver.actor, store_base=world.store_base, out_base=world.releases)
        again_ids = {m.research_id for m in repo.members_of(s, again.id)}
        assert again.n_participants == 12 and sorted(members)[0] not in again_ids and again_ids < ids


#: Shapes identifiers take in text; each hit is then looked up among the participants' own values.
_SHAPES = {kind: re.compile(f"(?=({pattern}))") for kind, pattern in {  # lookahead: overlapping hits too
    "name": r"\b[A-Z][A-Za-z'-]+ [A-Z][A-Za-z'-]+\b",
    "reversed name": r"\b[A-Z][A-Za-z'-]+, [A-Z][A-Za-z'-]+\b",
    "NHS number": r"(?<!\d)\d{10}(?!\d)|(?<!\d)\d{3} \d{3} \d{4}(?!\d)",
    "postcode": r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b",
    "date": r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|(?<!\d)\d{8}(?!\d)",
    "hospital number": r"\b[A-Z][A-Z0-9-]{3,}\b",
}.items()}


def _identifiers(s) -> dict[str, set[str]]:
    """Every participant's identifiers, by the shape they are written in."""
    found: dict[str, set[str]] = {kind: set() for kind in _SHAPES}
    for p in s.execute(sa.select(Participant)).scalars():
        found["name"].add(f"{p.given_name} {p.family_name}")
        found["reversed name"].add(f"{p.family_name}, {p.given_name}")
        if p.nhs_number:
            n = p.nhs_number
            found["NHS number"] |= {n, f"{n[:3]} {n[3:6]} {n[6:]}"}
        if p.postcode:
            found["postcode"] |= {p.postcode, p.postcode.replace(" ", "")}
        if p.date_of_birth:
            d = p.date_of_birth
            found["date"] |= {d.isoformat(), f"{d:%d/%m/%Y}", f"{d:%Y%m%d}"}
        found["hospital number"] |= {h.number for h in p.hospital_numbers}
    return found


def scan(texts: dict[str, str], identifiers: dict[str, set[str]]) -> list[str]:
    """Where any identifier occurs: 'file: kind value' for each hit (one pass per shape over each text)."""
    hits = []
    for name, text in texts.items():
        for kind, shape in _SHAPES.items():
            hits += [f"{name}: {kind} {m}" for m in {m.group(1) for m in shape.finditer(text)} & identifiers[kind]]
    return hits


def test_no_identifier_leaves_in_any_release_file_or_api_response(world, world_db, world_client, principal_of,
                                                                  bearer) -> None:
    """Every demo participant's names, NHS and hospital numbers, postcodes and dates of birth, planted too in the
    free text of those released, appear in no release file and no research or Beacon API response."""
    with world_db.transaction() as s:
        researcher, approver, project = _approved_project(s, principal_of, "Leak test")
        service.decide_project(s, approver, project.project_id, approve=True, note="ok")
        cohort = service.save_cohort(s, researcher, project_id=project.project_id, name="Everyone consented",
                                     criteria={}, store_base=world.store_base)
        planted = 0
        observed = sa.select(PhenotypeObservation.participant_id)
        for p in s.execute(sa.select(Participant).where(Participant.id.in_(observed))).scalars():
            numbers = " ".join(h.number for h in p.hospital_numbers)
            text = (f"Seen with {p.given_name} {p.family_name} ({p.family_name}, {p.given_name}), NHS {p.nhs_number}, "
                    f"{numbers}, {p.postcode}, born {p.date_of_birth}")
            for o in phenotype.repository.observations(s, p.id):
                o.note = o.label = text[:300]
            for d in phenotype.repository.diagnoses(s, p.id):
                d.note = d.label = text
            planted += 1
        assert planted >= 50
        release = service.request_release(s, researcher, cohort_id=cohort.cohort_id,
                                          purpose="Scan every file of a full release for identifiers")
        service.decide_release(s, approver, release.release_id, approve=True, note="ok")
        builder.build_in_session(s, release, actor=approver.actor, store_base=world.store_base,
                                 out_base=world.releases)
        assert release.n_participants > 200 and release.contents["genotypes"] == "all"
        identifiers = _identifiers(s)
        assert len(identifiers["name"]) > 400 and len(identifiers["hospital number"]) > 400
    texts = read_texts(world.releases / release.release_id)
    texts |= read_texts(world.releases / "RR0001")  # the demo's release
    assert any(n.startswith("vcf/") for n in texts) and "genotypes.parquet" in texts
    headers = bearer(world_client, "researcher")
    for path in ("/api/research/projects", f"/api/research/releases/{release.release_id}", "/api/research/recalls",
                 "/api/research/data-dictionary", f"/api/research/cohorts/{cohort.cohort_id}",
                 f"/api/research/releases/{release.release_id}/files/participants.csv"):
        response = world_client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        texts[f"GET {path}"] = response.text
    response = world_client.post("/api/research/cohorts/count", headers=headers,
                                 json={"criteria": {"hpo_terms": [SEIZURE], "genes": ["SCN1A"]}})
    texts["POST count"] = response.text
    assert response.json()["count"] == "13"
    beacon = {"/api/beacon/individuals": {"filters": SEIZURE}, "/api/beacon/g_variants": {"geneId": "SCN1A"},
              "/api/beacon/info": {}, "/api/beacon/configuration": {}}
    for path, params in beacon.items():
        response = world_client.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, response.text)
        texts[f"GET {path}"] = response.text
    assert scan(texts, identifiers) == []
    # The scan finds what it looks for.
    with world_db.transaction() as s:
        someone = s.execute(sa.select(Participant).limit(1)).scalar_one()
        probe = f"Dr {someone.given_name} {someone.family_name}, born {someone.date_of_birth:%d/%m/%Y}"
    assert len(scan({"probe": probe}, identifiers)) == 2 and len(scan({"p": f"x{probe}x"}, identifiers)) == 2
