"""The variant table's page of one sample inside a many-sample store matches a plain reading of the trio VCF."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.genomics.repository import variant_page
from gmc.genomics.service import VariantQuery
from gmc.genomics.store.layout import variant_key

# C151 of the made-up cohort carries HG003's calls (151 % 3 == 1), in the middle sample block
SAMPLE, MEMBER = "C151", "HG003"


@pytest.fixture(scope="module")
def member_calls(trio_raw: list[dict]) -> list[dict]:
    """HG003's non-reference calls on the primary chromosomes, read with a plain loop."""
    return [r for r in trio_raw if r["sample"] == MEMBER]


def _site(row: dict) -> tuple:
    return row["chrom"], row["pos"], row["ref"], row["alt"]


def _key(row: dict) -> int:
    return variant_key(row["chrom"], row["pos"], row["ref"], row["alt"])


def test_het_calls_sorted_by_gq_page_by_page(cohort_root: Path, member_calls: list[dict]) -> None:
    het = [r for r in member_calls if r["gt"] == 1]
    # the table's order: GQ, then the variant key (chromosome, position, allele)
    expected = sorted(het, key=lambda r: (r["gq"], _key(r)))
    assert len(expected) > 200
    for offset in (0, 50, len(expected) - 20):
        page = variant_page(cohort_root, SAMPLE, query=VariantQuery(genotype="het"), spans=None, sort="gq",
                            limit=50, offset=offset)
        assert page["total"] == len(expected)
        want = expected[offset:offset + 50]
        assert [_site(r) for r in page["rows"]] == [_site(r) for r in want]
        assert [r["gq"] for r in page["rows"]] == [r["gq"] for r in want]
        assert {r["gt"] for r in page["rows"]} == {1}


def test_pass_and_gq_filter_descending_position_in_a_region(cohort_root: Path, member_calls: list[dict]) -> None:
    region = ("1", 1_000_000, 120_000_000)
    keep = [r for r in member_calls if r["chrom"] == "1" and region[1] <= r["pos"] <= region[2]
            and r["filter"] in ("PASS", ".") and r["gq"] >= 30]
    expected = sorted(keep, key=_key, reverse=True)
    page = variant_page(cohort_root, SAMPLE, query=VariantQuery(pass_only=True, min_gq=30), spans=[region],
                        sort="position", descending=True, limit=25, offset=10)
    assert page["total"] == len(expected) > 100
    assert [_site(r) for r in page["rows"]] == [_site(r) for r in expected[10:35]]


def test_whole_exome_and_past_the_last_page(cohort_root: Path, member_calls: list[dict]) -> None:
    expected = sorted(member_calls, key=_key)
    first = variant_page(cohort_root, SAMPLE, query=VariantQuery(), spans=None, limit=50, offset=0)
    assert first["total"] == len(expected)
    assert [_site(r) for r in first["rows"]] == [_site(r) for r in expected[:50]]
    # two chromosomes: the last page crosses no boundary it should not, and past the end is empty with the total
    last = variant_page(cohort_root, SAMPLE, query=VariantQuery(), spans=None, limit=50, offset=len(expected) - 3)
    assert [_site(r) for r in last["rows"]] == [_site(r) for r in expected[-3:]]
    beyond = variant_page(cohort_root, SAMPLE, query=VariantQuery(), spans=None, limit=50, offset=len(expected) + 5)
    assert beyond["rows"] == [] and beyond["total"] == len(expected)
    nothing = variant_page(cohort_root, SAMPLE, query=VariantQuery(genotype="hemi"), spans=None)
    assert nothing["total"] == 0 and nothing["rows"] == []
