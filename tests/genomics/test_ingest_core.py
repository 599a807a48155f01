"""The ingest core's shortcuts give what the plain computation gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from gmc.genomics import ingest as core
from gmc.genomics.vcf import string_objects


def test_string_objects_share_one_str_per_value_and_keep_values():
    column = pa.chunked_array([["A", "C", "A"], ["PASS", "A"]])
    values = string_objects(column)
    assert values.dtype == object and values.tolist() == ["A", "C", "A", "PASS", "A"]
    assert values[0] is values[2] is values[4]
    with_null = pa.array(["A", None, "T"])
    assert string_objects(with_null).tolist() == ["A", None, "T"]
    assert string_objects(pa.array([], pa.string())).tolist() == []


def test_annotation_in_slices_equals_one_pass(benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch):
    path = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    parsed = core.read_vcf(path, ["manuel"], "GRCh38")
    sites = parsed.sites.select(["chrom", "pos", "ref", "alt"])
    annotate = core.annotator("GRCh38")
    whole = annotate(sites)
    monkeypatch.setattr(core, "ANNOTATION_SLICE", 5_000)
    sliced = annotate(sites)
    assert sliced.num_rows == whole.num_rows == 36_793
    assert sliced.equals(whole)
    assert whole.column_names == list(core.STORED_ANNOTATION)
    # the exome's known ClinVar carriers keep their assertion through the slices
    assert sliced.column("clinvar").null_count < sliced.num_rows


@pytest.mark.parametrize(("workers", "spool_on_disk"), [(0, False), (2, False), (2, True)])
def test_annotation_while_reading_equals_annotation_after(
    benchmarks_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, spool_on_disk: bool
):
    path = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    annotate = core.annotator("GRCh38")
    after = core.annotate_new_sites(tmp_path, core.read_vcf(path, ["manuel"], "GRCh38"), annotate=annotate)
    # small slices and batches: several slices go to the forked workers, the last one is left over; with
    # workers the text blocks are parsed (and their keys hashed) by the workers too
    monkeypatch.setattr(core, "ANNOTATION_SLICE", 7_000)
    monkeypatch.setattr(core, "PARALLEL_READ_BYTES", 0)
    monkeypatch.setattr(core, "TEXT_BLOCK_BYTES", 1 << 16)  # many blocks: the shared ring's slots wrap round
    if spool_on_disk:  # as when tmpfs is too small for the file (a container's 64 MB /dev/shm)
        monkeypatch.setattr(core, "SPOOL_PER_INPUT_BYTE", 1 << 40)
    pending = core.NewSiteAnnotation(tmp_path, annotate, workers=workers)
    parsed = core.read_vcf(path, ["manuel"], "GRCh38", batch_size=5_000, annotation=pending)
    if workers:
        assert pending.spool is not None and (pending.spool.parent == Path("/dev/shm")) is not spool_on_disk
    during = pending.result(parsed)
    # the line numbers too: each block's lines are numbered once the blocks before it are back
    assert during.equals(after) and during.column("line").to_pylist() == after.column("line").to_pylist()
    # with workers every block came back from them (no fall-back to htslib), through more blocks than slots
    assert (pending.parsed_blocks > 2 * (core.READ_AHEAD + 1)) if workers else pending.parsed_blocks == 0
    assert parsed.keys is not None and len(parsed.keys) == parsed.records and (parsed.keys >= 0).all()


def test_a_bad_line_stops_the_annotation_workers(tmp_path: Path, benchmarks_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    import gzip

    from gmc.genomics.vcf import VcfFormatError

    source = benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"
    with gzip.open(source, "rt") as fh:
        lines = fh.readlines()
    bad = tmp_path / "bad.vcf"
    records = [i for i, line in enumerate(lines) if not line.startswith("#")]
    lines[records[30_000]] = "chr1\tnot-a-position\n"
    bad.write_text("".join(lines))
    monkeypatch.setattr(core, "ANNOTATION_SLICE", 5_000)
    monkeypatch.setattr(core, "PARALLEL_READ_BYTES", 0)
    pending = core.NewSiteAnnotation(tmp_path / "store", core.annotator("GRCh38"), workers=2)
    with pytest.raises(VcfFormatError, match=f"bad.vcf line {records[30_000] + 1}"):
        core.read_vcf(bad, ["manuel"], "GRCh38", batch_size=5_000, annotation=pending)
    assert pending._pool is None and pending.spool is None


def test_the_spool_goes_to_tmpfs_only_when_it_has_room(tmp_path: Path):
    """A file whose blocks and results would not fit the tmpfs spools in the temp directory instead."""
    free = shutil.disk_usage(tmp_path).free
    assert core.spool_parent(1 << 20, shm=tmp_path) == tmp_path
    assert core.spool_parent(free // core.SPOOL_PER_INPUT_BYTE + 1, shm=tmp_path) is None
    assert core.spool_parent(1, shm=tmp_path / "missing") is None
