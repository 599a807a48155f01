"""A somatic run requested over the web may only read files inside the allowed import folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.common.errors import PermissionDenied, ValidationFailed
from gmc.common.files import allowed_input_file
from gmc.settings import Settings, input_dirs


def test_paths_outside_the_import_folders_are_refused(tmp_path: Path, refdata_dir: Path) -> None:
    allowed = input_dirs(Settings(data_dir=tmp_path, refdata=refdata_dir, _env_file=None))
    inside = tmp_path / "incoming" / "t.vcf"
    inside.parent.mkdir()
    inside.write_text("##fileformat=VCFv4.2\n")
    assert allowed_input_file(str(inside), allowed=allowed, field="vcf") == inside.resolve()
    shared = refdata_dir.parent / "benchmarks" / "rare" / "background" / "Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    assert allowed_input_file(shared, allowed=allowed, field="vcf") == shared.resolve()
    with pytest.raises(PermissionDenied):
        allowed_input_file("/etc/passwd", allowed=allowed, field="vcf")
    with pytest.raises(PermissionDenied):
        allowed_input_file(str(tmp_path / ".." / "elsewhere.vcf"), allowed=allowed, field="vcf")
    with pytest.raises(ValidationFailed):
        allowed_input_file(str(tmp_path / "missing.vcf"), allowed=allowed, field="vcf")
    production = input_dirs(Settings(data_dir=tmp_path, refdata=refdata_dir, environment="production",
                                     secret_key="x" * 40, _env_file=None))
    with pytest.raises(PermissionDenied):
        allowed_input_file(shared, allowed=production, field="vcf")


@pytest.mark.parametrize("demo_db_url", ["sqlite"], indirect=True)
def test_api_run_refuses_a_system_file(demo_client, bearer) -> None:
    admin = bearer(demo_client, "admin")
    reg = demo_client.post("/api/participants", headers=admin, json={
        "family_name": "Hill", "given_name": "Ann", "date_of_birth": "1960-01-01", "sex": "female",
        "trust_code": "RRK"}).json()
    pid = reg["participant"]["participant_id"]
    demo_client.post(f"/api/participants/{pid}/referrals", headers=admin, json={
        "trust_code": "RRK", "referring_clinician": "Dr A", "referral_date": "2024-01-01", "programme_arm": "cancer",
        "clinical_indication": "breast", "tumour_sample_expected": True, "germline_sample_expected": True})
    assert demo_client.get(f"/api/participants/{pid}", headers=admin).json()["cases"] == []  # no consent yet
    choices = dict.fromkeys(("taking_part", "research_data", "research_samples", "additional_findings", "recontact"),
                            True)
    consented = demo_client.post(f"/api/participants/{pid}/consents", headers=admin, json={
        "form_code": "CANCER-ADULT", "form_version": "2.1", "consented_on": "2024-01-02", "choices": choices})
    assert consented.status_code == 201, consented.text
    case_id = demo_client.get(f"/api/participants/{pid}", headers=admin).json()["cases"][0]["case_id"]
    scientist = bearer(demo_client, "scientist")
    resp = demo_client.post(f"/api/cancer/cases/{case_id}/runs", headers=scientist, json={"vcf": "/etc/passwd"})
    assert resp.status_code == 403 and "import folders" in resp.json()["detail"]
