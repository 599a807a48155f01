"""The evidence-level table: every source level mapped once, and the documentation shows exactly that table."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.interpretation.cancer.levels import EVIDENCE_LEVELS, EvidenceLevelError, level_mapping


def test_levels_map_as_amp_defines_them():
    assert level_mapping("CIViC", "C").amp_level == "D"  # a case study: "a few case reports without consensus"
    assert level_mapping("cgi", "late trials").amp_level == "B"
    assert level_mapping("MOAlmanac", "Inferential").amp_level == "E"
    indications = {(row.source, row.source_level) for row in EVIDENCE_LEVELS if row.states_indication}
    assert ("MOAlmanac", "FDA-Approved") in indications and ("CIViC", "A") not in indications
    with pytest.raises(EvidenceLevelError, match=r"CGI evidence level 'Phase II' is not in the level table"):
        level_mapping("CGI", "Phase II")


def test_the_documented_table_is_the_code_table():
    text = (Path(__file__).parents[3] / "docs/bench/cancer.md").read_text()
    table = text.split("<!-- evidence-levels:start -->")[1].split("<!-- evidence-levels:end -->")[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.strip().splitlines()[2:]]
    assert [(r[0], r[1], r[2], r[3] == "yes", r[4]) for r in rows] == [
        (m.source, m.source_level, m.amp_level, m.states_indication, m.meaning) for m in EVIDENCE_LEVELS]
