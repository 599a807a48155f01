"""Store queries answer what a plain reading of the trio VCF says."""

from __future__ import annotations

from collections import Counter

import pytest

from gmc.genomics.store.layout import StoreError
from gmc.genomics.store.queries import VariantFilter, VariantStore


def test_sample_variants_in_region_with_filters(trio_store: VariantStore, trio_raw: list[dict]) -> None:
    region = ("1", 1_000_000, 20_000_000)
    expected = sorted(
        (r["pos"], r["ref"], r["alt"])
        for r in trio_raw
        if r["sample"] == "HG002" and r["chrom"] == "1" and region[1] <= r["pos"] <= region[2]
        and r["filter"] in ("PASS", ".") and r["gq"] >= 30
    )
    got = trio_store.sample_variants("HG002", region=region, filters=VariantFilter(pass_only=True, min_gq=30))
    assert got.column("pos").to_pylist() == sorted(got.column("pos").to_pylist())
    assert sorted(zip(*(got.column(c).to_pylist() for c in ("pos", "ref", "alt")), strict=True)) == expected
    assert len(expected) > 50


def test_panel_query_covers_each_gene_span(trio_store: VariantStore, trio_raw: list[dict]) -> None:
    panel = {"A": ("1", 11_000_000, 12_000_000), "B": ("2", 47_000_000, 48_000_000)}
    expected = Counter(
        r["chrom"] for r in trio_raw if r["sample"] == "HG003" and r["gt"] == 2
        and any(r["chrom"] == c and s <= r["pos"] <= e for c, s, e in panel.values())
    )
    got = trio_store.sample_variants("HG003", genes=panel, filters=VariantFilter(genotypes=(2,)))
    assert Counter(got.column("chrom").to_pylist()) == expected
    assert set(got.column("gt").to_pylist()) <= {2}


def test_variant_carriers_match_the_raw_genotypes(trio_store: VariantStore, trio_raw: list[dict]) -> None:
    # A site where exactly two of the three carry the allele, chosen from the raw text.
    by_site: dict[tuple, dict[str, int]] = {}
    for r in trio_raw:
        by_site.setdefault((r["chrom"], r["pos"], r["ref"], r["alt"]), {})[r["sample"]] = r["gt"]
    site, carriers = next((s, c) for s, c in sorted(by_site.items()) if s[0] == "2" and len(c) == 2)
    got = trio_store.variant_carriers(*site)
    assert dict(zip(got.column("sample").to_pylist(), got.column("gt").to_pylist(), strict=True)) == carriers


def test_gene_carriers_of_rare_qualifying_variants(trio_store: VariantStore, trio_raw: list[dict]) -> None:
    span = ("1", 150_000_000, 160_000_000)
    in_span = [r for r in trio_raw if r["chrom"] == "1" and span[1] <= r["pos"] <= span[2]]
    alleles: Counter = Counter()
    for r in in_span:
        alleles[(r["pos"], r["ref"], r["alt"])] += r["gt"]
    # Cohort of 3 diploid samples: AF <= 1/6 means the allele was seen once.
    singletons = {k for k, n in alleles.items() if n == 1}
    expected = sorted({(r["sample"], r["pos"]) for r in in_span if (r["pos"], r["ref"], r["alt"]) in singletons})
    got = trio_store.gene_carriers(span, qualifying=VariantFilter(max_cohort_af=1 / 6))
    assert sorted(zip(got.column("sample").to_pylist(), got.column("pos").to_pylist(), strict=True)) == expected
    assert got.column("sample").to_pylist() == sorted(got.column("sample").to_pylist())


def test_cohort_af_hand_counted(trio_store: VariantStore, trio_raw: list[dict]) -> None:
    region = ("2", 1, 30_000_000)
    counts: Counter = Counter()
    for r in trio_raw:
        if r["chrom"] == "2" and r["pos"] <= region[2]:
            counts[(r["pos"], r["ref"], r["alt"])] += r["gt"]
    af = trio_store.cohort_af(region=region)
    got = {(r["pos"], r["ref"], r["alt"]): (r["ac"], r["an"], r["af"]) for r in af.to_pylist()}
    assert got == {k: (n, 6, n / 6) for k, n in counts.items()}


def test_annotation_column_filter(trio_store: VariantStore) -> None:
    region = ("1", 1, 5_000_000)
    sites = {r["key"]: r["BCSQ"] for r in trio_store.sites(region=region).to_pylist()}
    mine = trio_store.sample_variants("HG002", region=region).column("key").to_pylist()
    value = next(sites[k] for k in mine if sites[k])
    got = trio_store.sample_variants("HG002", region=region, filters=VariantFilter(site_in={"BCSQ": (value,)}))
    assert sorted(got.column("key").to_pylist()) == sorted(k for k in mine if sites[k] == value)


def test_bad_queries_are_named(trio_store: VariantStore) -> None:
    with pytest.raises(StoreError, match="NOBODY"):
        trio_store.sample_variants("NOBODY", region=("1", 1, 10))
    with pytest.raises(StoreError, match="consequence"):
        trio_store.sample_variants("HG002", region=("1", 1, 10), filters=VariantFilter(site_in={"consequence": ("x",)}))
    with pytest.raises(StoreError, match="region"):
        trio_store.sample_variants("HG002", region=("1", 10, 5))
    with pytest.raises(StoreError, match="quote"):
        trio_store.sample_variants("HG002", region=("1", 1, 10), filters=VariantFilter(site_in={"BCSQ": ("a'b",)}))


def test_chromosome_without_data_gives_empty_typed_answer(trio_store: VariantStore) -> None:
    calls = trio_store.gene_carriers(("Y", 1, 10_000_000))
    assert calls.num_rows == 0 and calls.schema.names[:5] == ["sample", "chrom", "pos", "ref", "alt"]
    assert trio_store.cohort_af(region=("X", 1, 1_000_000)).num_rows == 0


def test_engine_comes_from_settings(monkeypatch: pytest.MonkeyPatch, trio_store_root) -> None:
    from gmc.settings import reset_settings_cache

    monkeypatch.setenv("GMC_VARIANT_ENGINE", "duckdb")
    reset_settings_cache()
    try:
        store = VariantStore(trio_store_root)
        assert store.engine.name == "duckdb"
        assert store.variant_carriers("1", 65797, "T", "C").column("sample").to_pylist() == ["HG002"]
        monkeypatch.setenv("GMC_VARIANT_ENGINE", "oracle")
        reset_settings_cache()
        with pytest.raises(StoreError, match="GMC_VARIANT_ENGINE"):
            VariantStore(trio_store_root)
    finally:
        monkeypatch.delenv("GMC_VARIANT_ENGINE")
        reset_settings_cache()
