"""Ingest of a case manifest on both database engines: real GIAB trio, QC, consent, idempotence, bad input."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gmc.audit.models import AuditEvent
from gmc.common.errors import Conflict, NotFound, ValidationFailed
from gmc.genomics import service
from gmc.genomics.manifest import parse_manifest
from gmc.genomics.models import GenomeDataset
from gmc.genomics.store.layout import StoreLayout
from gmc.registry.models import Case


@pytest.fixture
def session(demo_database):
    """A session on a demo database (each test commits or rolls back itself)."""
    with demo_database.session() as s:
        yield s


def _ingest(session, principal, manifest: dict, store: Path, **kw):
    return service.ingest_manifest(session, principal=principal, manifest=parse_manifest(manifest),
                                   base_dir=Path("."), store_base=store, **kw)


def _store_datasets(store: Path) -> list:
    path = store / "GRCh37" / "manifest.json"
    return json.loads(path.read_text())["datasets"] if path.exists() else []


def _nothing_stored(session, store: Path, case_id: str) -> None:
    assert session.execute(select(func.count()).select_from(GenomeDataset)).scalar_one() == 0
    assert session.execute(select(Case.status).where(Case.case_id == case_id)).scalar_one() == "open"
    assert _store_datasets(store) == []
    staging = store / "GRCh37" / "_staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_trio_ingest_qc_status_and_queries(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session)
    session.commit()
    scientist = gkit.principal(session, "scientist")
    report = _ingest(session, scientist, gkit.trio_manifest(case, giab_trio), tmp_path)
    session.commit()
    assert report.created == 1 and report.case_status == "interpretation"
    rows = session.execute(select(GenomeDataset).order_by(GenomeDataset.vcf_sample)).scalars().all()
    assert [r.vcf_sample for r in rows] == ["HG002", "HG003", "HG004"]
    assert all(r.build == "GRCh37" for r in rows)
    # HG002's non-reference genotypes counted independently from the raw text (GT field, primary contigs).
    expected = 0
    with gzip.open(giab_trio, "rt") as fh:
        columns = []
        for line in fh:
            if line.startswith("#CHROM"):
                columns = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            gt = f[columns.index("HG002")].split(":")[0].replace("|", "/").split("/")
            n_alt = len(f[4].split(","))
            expected += sum(1 for a in range(1, n_alt + 1) if str(a) in gt and f[4].split(",")[a - 1] != "*")
    assert rows[0].n_variants == expected
    # A real trio: low Mendelian error rate and both parents consistent, so no trio flag.
    trio = rows[0].qc["trios"][0]
    assert trio["mendelian_error_rate"] < 0.05
    assert all(p["consistent"] for p in trio["parents"])
    assert 2.0 < rows[0].qc["titv"] < 3.5  # an exome's Ti/Tv
    events = session.execute(select(AuditEvent.verb).where(AuditEvent.entity_type == "genome_dataset")).scalars().all()
    assert events.count("ingest") == 3

    # The page query: filtered by region, gene and genotype; totals agree with the unfiltered count.
    page = service.case_variants(session, principal=scientist, case_id=case.case_id, query=service.VariantQuery(),
                                 store_base=tmp_path, limit=10)
    assert page["total"] == rows[0].n_variants and len(page["rows"]) == 10
    positions = [(r["chrom"], r["pos"]) for r in page["rows"]]
    assert positions == sorted(positions, key=lambda p: (int(p[0]), p[1]))
    het = service.case_variants(session, principal=scientist, case_id=case.case_id,
                                query=service.VariantQuery(genotype="het"), store_base=tmp_path, limit=1)
    hom = service.case_variants(session, principal=scientist, case_id=case.case_id,
                                query=service.VariantQuery(genotype="hom"), store_base=tmp_path, limit=1)
    assert het["total"] + hom["total"] == page["total"]
    region = service.case_variants(session, principal=scientist, case_id=case.case_id,
                                   query=service.VariantQuery(region="chr1:1-1000000"), store_base=tmp_path,
                                   limit=1000)
    assert region["rows"] and all(r["chrom"] == "1" and r["pos"] <= 1_000_000 for r in region["rows"])
    # GRCh37 MANE: every call in the MTHFR span (chr1:11,845,780-11,866,160 in GRCh37) is annotated MTHFR
    # or a neighbour, and at least one is MTHFR itself.
    mthfr = service.case_variants(session, principal=scientist, case_id=case.case_id,
                                  query=service.VariantQuery(genes=("MTHFR",)), store_base=tmp_path, limit=1000)
    assert mthfr["rows"] and any(r["gene"] == "MTHFR" for r in mthfr["rows"])
    assert all(r["chrom"] == "1" and 11_800_000 < r["pos"] < 11_900_000 for r in mthfr["rows"])
    carriers = service.gene_carriers(session, principal=scientist, gene="MTHFR", build="GRCh37", store_base=tmp_path)
    assert {c["participant_id"] for c in carriers} <= {case.proband, case.father, case.mother}
    session.commit()


def test_same_file_twice_stores_nothing_new(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session)
    session.commit()
    scientist = gkit.principal(session, "scientist")
    _ingest(session, scientist, gkit.trio_manifest(case, giab_trio), tmp_path, annotate=False)
    session.commit()
    before = sorted(p.name for p in (tmp_path / "GRCh37").rglob("*.parquet"))
    again = _ingest(session, scientist, gkit.trio_manifest(case, giab_trio), tmp_path, annotate=False)
    session.commit()
    assert again.created == 0
    assert session.execute(select(func.count()).select_from(GenomeDataset)).scalar_one() == 3
    assert len(_store_datasets(tmp_path)) == 1
    assert sorted(p.name for p in (tmp_path / "GRCh37").rglob("*.parquet")) == before


def test_wrong_parentage_is_flagged(session, gkit, giab_trio, tmp_path):
    # HG003 and HG004 are the parents of HG002 and unrelated to each other: calling HG003 the child of
    # HG004 must fail the mother check.
    case = gkit.make_trio_case(session)
    session.commit()
    manifest = gkit.trio_manifest(case, giab_trio, pedigree=[{"child": "HG003", "father": "HG002",
                                                              "mother": "HG004"}])
    report = _ingest(session, gkit.principal(session, "scientist"), manifest, tmp_path, annotate=False)
    metrics = {f["metric"] for f in report.files[0].flags}
    assert "trio:mother_opposite_homozygotes" in metrics
    assert "trio:father_opposite_homozygotes" not in metrics


def test_consent_refused(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session, withdrawn="no_further_use")
    session.commit()
    with pytest.raises(Conflict, match="does not allow sequencing"):
        _ingest(session, gkit.principal(session, "scientist"), gkit.trio_manifest(case, giab_trio), tmp_path)
    session.rollback()
    _nothing_stored(session, tmp_path, case.case_id)


def test_case_outside_scope_is_not_found(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session, trust="RRK")
    session.commit()
    with pytest.raises(NotFound):
        _ingest(session, gkit.principal(session, "recruiter"), gkit.trio_manifest(case, giab_trio), tmp_path)


def test_participant_outside_family_refused(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session)
    session.commit()
    other = gkit.make_trio_case(session)
    manifest = gkit.trio_manifest(case, giab_trio)
    manifest["files"][0]["samples"][2]["participant_id"] = other.mother
    with pytest.raises(ValidationFailed) as err:
        _ingest(session, gkit.principal(session, "scientist"), manifest, tmp_path)
    assert err.value.field == "files[0].samples[2].participant_id"


# ----------------------------------------------------------------------------- bad input: nothing stored


def _lines(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return fh.readlines()


def test_truncated_gzip(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session)
    session.commit()
    data = giab_trio.read_bytes()
    broken = tmp_path / "truncated.vcf.gz"
    broken.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ValidationFailed, match=r"truncated\.vcf\.gz line \d+") as err:
        _ingest(session, gkit.principal(session, "scientist"), gkit.trio_manifest(case, broken), tmp_path / "s")
    assert err.value.line is not None and err.value.line > 100
    session.rollback()
    _nothing_stored(session, tmp_path / "s", case.case_id)


def test_malformed_line(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session)
    session.commit()
    lines = _lines(giab_trio)
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    bad = first + 50
    fields = lines[bad].split("\t")
    fields[1] = "not-a-position"
    lines[bad] = "\t".join(fields)
    broken = tmp_path / "malformed.vcf"
    broken.write_text("".join(lines))
    with pytest.raises(ValidationFailed, match=f"malformed.vcf line {bad + 1}"):
        _ingest(session, gkit.principal(session, "scientist"), gkit.trio_manifest(case, broken), tmp_path / "s")
    session.rollback()
    _nothing_stored(session, tmp_path / "s", case.case_id)


@pytest.mark.parametrize(("change", "message"), [
    (lambda fields: fields.__setitem__(3, "QZ"), "REF 'QZ' is not nucleotides"),
    (lambda fields: fields.append("0/1:10,10:20:99"), "13 columns where the #CHROM line names 12"),
    (lambda fields: (fields.__setitem__(4, "<DEL>"), fields.__setitem__(7, "SVTYPE=DEL")),
     "symbolic allele <DEL> has no INFO/END"),
])
def test_bad_records_store_nothing(session, gkit, giab_trio, tmp_path, change, message):
    """A record that breaks the format deep in a real file: named by line, nothing stored (both read paths: the
    file is gzipped like a user's, and the workers parse its text blocks)."""
    case = gkit.make_trio_case(session)
    session.commit()
    lines = _lines(giab_trio)
    bad = next(i for i, line in enumerate(lines) if not line.startswith("#")) + 5_000
    fields = lines[bad].rstrip("\n").split("\t")
    change(fields)
    lines[bad] = "\t".join(fields) + "\n"
    broken = tmp_path / "broken.vcf.gz"
    with gzip.open(broken, "wt") as out:
        out.writelines(lines)
    with pytest.raises(ValidationFailed, match=f"broken.vcf.gz line {bad + 1}: {re.escape(message)}"):
        _ingest(session, gkit.principal(session, "scientist"), gkit.trio_manifest(case, broken), tmp_path / "s")
    session.rollback()
    _nothing_stored(session, tmp_path / "s", case.case_id)


def test_wrong_build(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session)
    session.commit()
    with pytest.raises(ValidationFailed, match="GRCh37 but GRCh38 was expected"):
        _ingest(session, gkit.principal(session, "scientist"), gkit.trio_manifest(case, giab_trio, build="GRCh38"),
                tmp_path)
    session.rollback()
    _nothing_stored(session, tmp_path, case.case_id)


def test_sample_missing_from_manifest(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session)
    session.commit()
    manifest = gkit.trio_manifest(case, giab_trio)
    del manifest["files"][0]["samples"][2]
    with pytest.raises(ValidationFailed, match="HG004 are missing from the manifest") as err:
        _ingest(session, gkit.principal(session, "scientist"), manifest, tmp_path)
    assert "GIAB_AJ_trio" in err.value.message
    session.rollback()
    _nothing_stored(session, tmp_path, case.case_id)
    # Listed under skip_samples, the same file goes in with two samples.
    manifest["files"][0]["skip_samples"] = ["HG004"]
    report = _ingest(session, gkit.principal(session, "scientist"), manifest, tmp_path, annotate=False)
    assert report.files[0].samples == ["HG002", "HG003"]


def test_manifest_sample_not_in_vcf(session, gkit, giab_trio, tmp_path):
    case = gkit.make_trio_case(session)
    session.commit()
    manifest = gkit.trio_manifest(case, giab_trio)
    manifest["files"][0]["samples"][0]["vcf_sample"] = "NA12878"
    with pytest.raises(ValidationFailed, match="NA12878 are not in the VCF header"):
        _ingest(session, gkit.principal(session, "scientist"), manifest, tmp_path)


def test_sex_check_against_the_registry(session, gkit, pfeiffer_exome, tmp_path):
    # Independent reading of the raw file: the share of heterozygous calls on chrX outside the GRCh38
    # pseudoautosomal regions; a female-range share on a proband recorded as male must raise the sex flag.
    het = calls = 0
    with gzip.open(pfeiffer_exome, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.split("\t", 10)
            if f[0] not in ("chrX", "X"):
                continue
            pos = int(f[1])
            if 10_001 <= pos <= 2_781_479 or 155_701_383 <= pos <= 156_030_895:
                continue
            gt = f[9].split(":")[0].replace("|", "/").split("/")
            if any(a not in ("0", ".") for a in gt):
                calls += 1
                het += len(set(gt)) > 1
    assert calls >= 20 and het / calls >= 0.35
    case = gkit.make_trio_case(session, proband_sex="male")
    session.commit()
    manifest = {"case_id": case.case_id, "build": "GRCh38", "files": [{"path": str(pfeiffer_exome), "samples": [
        {"vcf_sample": "manuel", "participant_id": case.proband}]}]}
    report = _ingest(session, gkit.principal(session, "scientist"), manifest, tmp_path, annotate=False)
    flags = {f["metric"]: f for f in report.files[0].flags}
    assert flags["sex"]["value"] == "female" and "recorded male" in flags["sex"]["limit"]
    row = session.execute(select(GenomeDataset)).scalar_one()
    assert row.status == "qc_flagged" and row.qc["inferred_sex"] == "female"
    assert row.qc["trios"] == []  # parents not sequenced: no Mendelian check


def test_store_failure_at_commit_leaves_no_rows(session, gkit, giab_trio, tmp_path):
    # Another dataset already holds HG002's store name: the store refuses at its commit, after the
    # dataset rows were flushed; the caller's rollback must then leave neither rows nor new store files.
    import pyarrow as pa

    from gmc.genomics.ingest import file_digest, store_sample_name
    from gmc.genomics.store.writer import ingest_tables

    name = store_sample_name(file_digest(giab_trio)[0], "HG002")
    sites = pa.table({"chrom": ["1"], "pos": pa.array([1_000_000], pa.int32()), "ref": ["A"], "alt": ["G"]})
    calls = pa.table({"row": pa.array([0], pa.int64()), "sample": [name], "gt": pa.array([1], pa.int8())})
    ingest_tables(tmp_path / "GRCh37", sites=sites, genotypes=calls, samples=[name], build="GRCh37")
    before = _store_datasets(tmp_path)
    case = gkit.make_trio_case(session)
    session.commit()
    with pytest.raises(ValidationFailed, match="already in the store"):
        _ingest(session, gkit.principal(session, "scientist"), gkit.trio_manifest(case, giab_trio), tmp_path,
                annotate=False)
    session.rollback()
    assert session.execute(select(func.count()).select_from(GenomeDataset)).scalar_one() == 0
    assert session.execute(select(Case.status).where(Case.case_id == case.case_id)).scalar_one() == "open"
    assert _store_datasets(tmp_path) == before


def test_queries_follow_the_store_compaction(session, gkit, giab_trio, tmp_path):
    # Compaction moves a dataset's files into a segment: the case's page must give the same answer.
    from gmc.genomics.store.compaction import compact

    case = gkit.make_trio_case(session)
    session.commit()
    scientist = gkit.principal(session, "scientist")
    _ingest(session, scientist, gkit.trio_manifest(case, giab_trio), tmp_path, annotate=False)
    query = service.VariantQuery(region="chr2:1-243199373", genotype="het")
    before = service.case_variants(session, principal=scientist, case_id=case.case_id, query=query,
                                   store_base=tmp_path, limit=1000)
    assert compact(tmp_path / "GRCh37", min_datasets=1) is not None
    # the dataset's own directory is retired (kept for readers of the previous manifest), no longer read
    layout = StoreLayout(tmp_path / "GRCh37")
    files = layout.files(layout.read_manifest(), "genotypes")
    assert files and all("/segments/" in f for f in files)
    assert [r.path.split("/")[0] for r in layout.read_manifest().retired] == ["datasets"]
    after = service.case_variants(session, principal=scientist, case_id=case.case_id, query=query,
                                  store_base=tmp_path, limit=1000)
    assert after["total"] == before["total"] > 0 and after["rows"] == before["rows"]
