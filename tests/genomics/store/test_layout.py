"""Variant keys order by position and a region is one key range."""

from __future__ import annotations

import numpy as np
import pytest

from gmc.genomics.store.layout import StoreError, key_range, variant_key, variant_keys


def test_keys_sort_by_chromosome_then_position() -> None:
    ordered = [("1", 100, "A", "G"), ("1", 101, "C", "T"), ("2", 5, "G", "GA"), ("X", 1, "T", "C"), ("MT", 7, "A", "C")]
    keys = [variant_key(*v) for v in ordered]
    assert keys == sorted(keys)
    assert all(k > 0 for k in keys)


def test_region_range_contains_exactly_its_positions() -> None:
    lo, hi = key_range("17", 1000, 2000)
    assert lo <= variant_key("17", 1000, "A", "T") <= hi
    assert lo <= variant_key("17", 2000, "ACGT", "A") <= hi
    assert not lo <= variant_key("17", 999, "A", "T") <= hi
    assert not lo <= variant_key("17", 2001, "A", "T") <= hi
    assert not lo <= variant_key("18", 1500, "A", "T") <= hi


def test_vectorised_keys_match_scalar_and_differ_by_allele() -> None:
    chrom, pos, ref, alt = ["3", "3"], np.array([42, 42]), ["A", "A"], ["C", "G"]
    keys = variant_keys(chrom, pos, ref, alt)
    assert keys.tolist() == [variant_key("3", 42, "A", "C"), variant_key("3", 42, "A", "G")]
    assert keys[0] != keys[1]


def test_bad_chromosome_and_position_are_named() -> None:
    with pytest.raises(StoreError, match="GL000225.1"):
        variant_key("GL000225.1", 10, "A", "C")
    with pytest.raises(StoreError, match="position 0"):
        variant_key("1", 0, "A", "C")
