"""The ingest core's shortcuts give what the plain computation gives."""

from __future__ import annotations

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
