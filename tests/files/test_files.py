"""File inputs: uploads streamed under generated names, named import folders, and every server path refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gmc.audit.models import AuditEvent
from gmc.auth.models import User
from gmc.auth.service import principal_for
from gmc.common.errors import NotFound, PermissionDenied, ValidationFailed
from gmc.files import service
from gmc.files.folders import check_import_folders
from gmc.settings import ConfigurationError


def _principal(session, username: str):
    user = session.execute(select(User).where(User.username == username)).scalar_one()
    return principal_for(session, user, auth_method="session")


@pytest.fixture
def settings(demo_app):
    return demo_app.state.settings


def test_upload_is_streamed_under_a_generated_name_and_owned_by_the_centre(
        demo_client, demo_database, bearer, settings, benchmarks_dir) -> None:
    vcf = benchmarks_dir / "cancer/somatic/pcgr_examples/T001-BRCA.grch38.vcf.gz"
    headers = bearer(demo_client, "scientist")
    resp = demo_client.post("/api/uploads", params={"filename": "../../Kestrel Maya.vcf.gz"},
                            content=vcf.read_bytes(), headers=headers)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["reference"] == f"upload:{body['upload_id']}" and body["size"] == vcf.stat().st_size
    stored = list((Path(settings.data_dir) / "uploads" / "WMGMC").iterdir())
    # The name on disk is generated (only the type suffix is kept); the user's name is never a path.
    assert [p.name for p in stored] == [f"{body['upload_id']}.vcf.gz"]
    assert stored[0].read_bytes() == vcf.read_bytes()
    assert body["filename"] == "Kestrel Maya.vcf.gz"
    listed = demo_client.get("/api/uploads", headers=headers).json()
    assert [u["upload_id"] for u in listed] == [body["upload_id"]]
    # Another centre's staff neither see nor use it.
    sl = bearer(demo_client, "sl-recruiter")
    assert demo_client.get("/api/uploads", headers=sl).json() == []
    with demo_database.transaction() as session:
        wm, south = _principal(session, "scientist"), _principal(session, "sl-recruiter")
        assert service.resolve_path(session, wm, body["reference"], field="vcf", settings=settings) == stored[0]
        with pytest.raises(NotFound):
            service.resolve_path(session, south, body["reference"], field="vcf", settings=settings)
        assert session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity_type == "upload", AuditEvent.verb == "create")).scalar_one() == 1
    empty = demo_client.post("/api/uploads", params={"filename": "x.vcf"}, content=b"", headers=headers)
    assert empty.status_code == 422
    assert sorted(p.name for p in (Path(settings.data_dir) / "uploads" / "WMGMC").iterdir()) == [stored[0].name]


def test_server_paths_and_the_database_are_refused_however_named(demo_database, settings, tmp_path) -> None:
    data = Path(settings.data_dir).resolve()
    own = data / "incoming" / "WMGMC"
    other = data / "incoming" / "SLGMC"
    own.mkdir(parents=True)
    other.mkdir(parents=True)
    (own / "case.vcf").write_text("##fileformat=VCFv4.2\n")
    (other / "theirs.vcf").write_text("##fileformat=VCFv4.2\n")
    (own / "link_to_theirs.vcf").symlink_to(other / "theirs.vcf")
    store = data / "variant_store"
    store.mkdir()
    (store / "manifest.json").write_text("{}")
    (own / "store.json").symlink_to(store / "manifest.json")
    db_file = tmp_path / "fake.db"
    db_file.write_bytes(b"SQLite format 3\x00")
    settings_db = settings.model_copy(update={"database_url": f"sqlite:///{db_file}"})
    (own / "db_symlink.vcf").symlink_to(db_file)
    os.link(db_file, own / "db_hardlink.vcf")
    with demo_database.transaction() as session:
        wm = _principal(session, "scientist")
        south = _principal(session, "sl-recruiter")

        def resolve(value, who=wm):
            return service.resolve_path(session, who, value, field="vcf", settings=settings_db)

        assert resolve("incoming:case.vcf") == own / "case.vcf"
        assert resolve("") is None
        for path in (str(own / "case.vcf"), "/etc/passwd", str(db_file), "C:\\data\\case.vcf"):
            with pytest.raises(ValidationFailed, match="server paths are not accepted"):
                resolve(path)
        for escape in ("incoming:../SLGMC/theirs.vcf", "incoming:/etc/passwd", "incoming:a/../../x"):
            with pytest.raises(ValidationFailed):
                resolve(escape)
        for protected in ("incoming:db_symlink.vcf", "incoming:db_hardlink.vcf", "incoming:link_to_theirs.vcf",
                          "incoming:store.json"):
            with pytest.raises(PermissionDenied):
                resolve(protected)
        with pytest.raises(ValidationFailed, match="no such file"):
            resolve("incoming:missing.vcf")
        for nul in ("incoming:case\x00.vcf", "/tmp/a\x00b.vcf"):  # fuzzing found this as a server error
            with pytest.raises(ValidationFailed, match="NUL"):
                resolve(nul)
        (own / "subdir").mkdir()
        with pytest.raises(ValidationFailed, match="not a regular file"):
            resolve("incoming:subdir")
        with pytest.raises(NotFound):
            resolve("elsewhere:case.vcf")
        with pytest.raises(NotFound):
            resolve("upload:U0123456789abcdef01234567")
        # The other centre's incoming folder is its own: the same name reaches a different folder.
        assert resolve("incoming:theirs.vcf", south) == other / "theirs.vcf"
        with pytest.raises(ValidationFailed):
            resolve("incoming:case.vcf", south)


def test_named_folders_are_bound_to_a_centre_and_may_not_expose_the_data_directory(
        demo_database, make_settings, tmp_path) -> None:
    wm_dir, shared_dir = tmp_path / "wm-seq", tmp_path / "shared"
    wm_dir.mkdir()
    shared_dir.mkdir()
    (wm_dir / "t.vcf").write_text("x")
    (shared_dir / "s.vcf").write_text("x")
    settings = make_settings(demo_database.url, import_folders=f"wm-seq={wm_dir}@WMGMC, shared={shared_dir}")
    with demo_database.transaction() as session:
        wm, south = _principal(session, "scientist"), _principal(session, "sl-recruiter")
        assert service.resolve_path(session, wm, "wm-seq:t.vcf", field="vcf", settings=settings) == wm_dir / "t.vcf"
        with pytest.raises(NotFound):
            service.resolve_path(session, south, "wm-seq:t.vcf", field="vcf", settings=settings)
        assert service.resolve_path(session, south, "shared:s.vcf", field="vcf", settings=settings)
        names = {f.name for f in service.usable_folders(south, "SLGMC", settings)}
        assert "wm-seq" not in names and {"shared", "incoming"} <= names
    data = Path(settings.data_dir).resolve()
    for bad in (f"store={data}", f"inside={data / 'variant_store'}", f"parent={data.parent}", "rel=relative/dir",
                f"upload={wm_dir}", f"Bad Name={wm_dir}", f"wm={wm_dir},wm={shared_dir}", "nopath"):
        with pytest.raises(ConfigurationError, match="GMC_IMPORT_FOLDERS"):
            check_import_folders(make_settings(demo_database.url, import_folders=bad))
    db_dir = tmp_path / "dbhome"
    db_dir.mkdir()
    holding_db = make_settings(f"sqlite:///{db_dir / 'gmc.db'}", import_folders=f"dbhome={db_dir}")
    with pytest.raises(ConfigurationError, match="holds the database"):
        check_import_folders(holding_db)

