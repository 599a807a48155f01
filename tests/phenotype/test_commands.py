"""`gmc phenotype` commands run as a user would: all 500 shared phenopackets in one import, export, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gmc.phenotype import phenopackets as pp
from gmc.phenotype.commands import app
from gmc.settings import reset_settings_cache

runner = CliRunner()


def invoke(url: str, *args: str):
    """Runs `gmc phenotype ARGS` against a database URL."""
    reset_settings_cache()
    try:
        return runner.invoke(app, list(args), env={"GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test"})
    finally:
        reset_settings_cache()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_all_shared_phenopackets_import_in_one_command(db_url: str, benchmarks_dir: Path, tmp_path: Path) -> None:
    folder = benchmarks_dir / "rare" / "phenopackets"
    files = sorted(folder.glob("*.json"))
    assert len(files) == 500
    result = invoke(db_url, "phenopackets", "import", str(folder))
    assert result.exit_code == 0, result.output
    assert "500 phenopackets imported" in result.output and "500 participants created" in result.output
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        imports = conn.execute(sa.text("SELECT count(*) FROM phenopacket_import")).scalar_one()
        features = conn.execute(sa.text("SELECT count(*), sum(CASE WHEN excluded THEN 1 ELSE 0 END) "
                                        "FROM phenotype_observation")).one()
        mapped = conn.execute(sa.text(
            "SELECT p.participant_id FROM phenopacket_import i JOIN participant p ON p.id = i.participant_id "
            "WHERE i.phenopacket_id = 'PMID_10851256_family_815'")).scalar_one()
    engine.dispose()
    # Independent count straight from the files: every feature of every packet is stored once.
    packets = [pp.read_phenopacket(f) for f in files]
    expected = sum(len({(f.type.id, f.excluded) for f in p.phenotypic_features}) for p in packets)
    expected_excluded = sum(len({f.type.id for f in p.phenotypic_features if f.excluded}) for p in packets)
    assert imports == 500 and (features[0], features[1]) == (expected, expected_excluded)
    out = tmp_path / "export.json"
    exported = invoke(db_url, "phenopackets", "export", mapped, "--out", str(out))
    assert exported.exit_code == 0, exported.output
    document = pp.read_phenopacket(json.loads(out.read_text()))
    source = next(p for p in packets if p.id == "PMID_10851256_family_815")
    assert document.subject.id == mapped
    assert sorted(pp.observed_term_ids(document)) == sorted(pp.observed_term_ids(source))
    assert sorted(pp.excluded_term_ids(document)) == sorted(pp.excluded_term_ids(source))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_one_bad_file_imports_nothing_and_names_it(db_url: str, benchmarks_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "packets"
    folder.mkdir()
    for name in ("PMID_10851256_family_815.json", "PMID_11179005_Family_6.json"):
        shutil.copy(benchmarks_dir / "rare" / "phenopackets" / name, folder / name)
    broken = json.loads((folder / "PMID_11179005_Family_6.json").read_text())
    broken["phenotypicFeatures"][1]["type"]["id"] = "HP:12"
    (folder / "broken.json").write_text(json.dumps(broken))
    result = invoke(db_url, "phenopackets", "import", str(folder))
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert "broken.json phenotypicFeatures[1].type.id: 'HP:12' is not a valid HPO id" in result.output
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM participant")).scalar_one() == 0
    engine.dispose()
    missing = invoke(db_url, "phenopackets", "export", "P00000000")
    assert missing.exit_code == 1 and "no participant P00000000" in missing.output
