"""Case manifest validation: YAML and JSON, errors naming the field."""

from __future__ import annotations

import json

import pytest

from gmc.genomics.manifest import ManifestError, load_manifest, parse_manifest

GOOD = {
    "case_id": "C000001",
    "build": "hg19",
    "files": [{"path": "trio.vcf.gz", "kind": "germline", "samples": [
        {"vcf_sample": "HG002", "participant_id": "P000001", "sample_barcode": "DNA0001"},
        {"vcf_sample": "HG003", "participant_id": "P000002"}], "skip_samples": ["HG004"]}],
    "pedigree": [],
}


def test_yaml_and_json_give_the_same_manifest(tmp_path):
    import yaml

    (tmp_path / "m.yaml").write_text(yaml.safe_dump(GOOD))
    (tmp_path / "m.json").write_text(json.dumps(GOOD))
    a, b = load_manifest(tmp_path / "m.yaml"), load_manifest(tmp_path / "m.json")
    assert a == b
    assert a.build == "GRCh37"  # hg19 is an alias of GRCh37
    [(path, entry)] = a.resolve(tmp_path)
    assert path == tmp_path / "trio.vcf.gz" and entry.kind == "germline"


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda m: m["files"][0]["samples"][1].pop("participant_id"), "files[0].samples[1].participant_id",
     "required"),
    (lambda m: m["files"][0].update(kind="somatic"), "files[0].kind", "germline"),
    (lambda m: m.update(build="hg18"), "build", "unknown genome build"),
    (lambda m: m["files"][0]["samples"].append({"vcf_sample": "HG002", "participant_id": "P9"}), "files[0]",
     "HG002 mapped twice"),
    (lambda m: m["files"][0].update(skip_samples=["HG003"]), "files[0]", "both mapped and skipped"),
    (lambda m: m.update(pedigree=[{"child": "HG002", "father": "HG003", "mother": "HG009"}]), None,
     "pedigree[0].mother: HG009"),
    (lambda m: m.update(files=[]), "files", "at least 1"),
    (lambda m: m.update(colour="blue"), "colour", "Extra inputs"),
])
def test_errors_name_the_field(change, field, message):
    data = json.loads(json.dumps(GOOD))
    change(data)
    with pytest.raises(ManifestError) as err:
        parse_manifest(data, source="case.yaml")
    assert err.value.field == field
    assert message in str(err.value) and str(err.value).startswith("case.yaml")


def test_unparseable_yaml_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("case_id: C1\nfiles:\n  - path: [unclosed\n")
    with pytest.raises(ManifestError, match=r"bad.yaml: line \d+: not valid YAML"):
        load_manifest(bad)
