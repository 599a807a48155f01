"""Exported VCF and TSV read back to the same calls."""

from __future__ import annotations

import csv
from pathlib import Path

from gmc.genomics.store.export import export_tsv, export_vcf
from gmc.genomics.store.queries import VariantStore
from gmc.genomics.vcf import open_vcf


def test_vcf_round_trip(trio_store: VariantStore, tmp_path: Path) -> None:
    calls = trio_store.gene_carriers(("2", 1, 40_000_000))
    out = tmp_path / "region.vcf"
    n = export_vcf(calls, out, samples=["HG002", "HG003", "HG004"], build="GRCh37")
    back = set()
    with open_vcf(out, build="GRCh37") as reader:
        assert reader.samples == ["HG002", "HG003", "HG004"]
        rows = 0
        for batch in reader.batches():
            rows += len(batch)
            for i in range(len(batch)):
                for j, sample in enumerate(reader.samples):
                    if batch.gt[i, j] > 0:
                        back.add((sample, str(batch.chrom[i]), int(batch.pos[i]), batch.ref[i], batch.alt[i],
                                  int(batch.gt[i, j]), int(batch.gq[i, j]), int(batch.dp[i, j])))
    assert rows == n
    expected = {(r["sample"], r["chrom"], r["pos"], r["ref"], r["alt"], r["gt"], r["gq"], r["dp"])
                for r in calls.to_pylist()}
    assert back == expected


def test_tsv_has_header_and_rows(trio_store: VariantStore, tmp_path: Path) -> None:
    calls = trio_store.sample_variants("HG004", region=("1", 1, 3_000_000))
    out = tmp_path / "calls.tsv"
    assert export_tsv(calls, out) == calls.num_rows
    with open(out) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == calls.num_rows
    assert [int(r["pos"]) for r in rows] == calls.column("pos").to_pylist()
