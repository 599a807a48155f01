"""Tests for PED reading, validation, relationships and SVG pedigree drawing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gmc.phenotype.pedigree import (
    AFFECTED,
    FEMALE,
    MALE,
    UNAFFECTED,
    UNKNOWN_PHENOTYPE,
    UNKNOWN_SEX,
    PedigreeError,
    consanguineous_couples,
    draw_pedigree_svg,
    founders,
    generations,
    read_ped,
    relationship,
    relationships,
    write_ped,
)

SVG = "{http://www.w3.org/2000/svg}"

# Three generations, a half-sibling, an uncle's family by marriage and a cousin marriage (C1 x S).
EXTENDED_FAMILY = """#family individual father mother sex phenotype
F1 GF1 0 0 1 1
F1 GM1 0 0 2 1
F1 GF2 0 0 1 1
F1 GM2 0 0 2 2
F1 D GF1 GM1 1 1
F1 M GF2 GM2 2 2
F1 U GF1 GM1 2 1
F1 UH 0 0 1 1
F1 C1 UH U 1 1
F1 P D M 1 2
F1 S D M 2 0
F1 H D M2 1 1
F1 M2 0 0 2 1
F1 W 0 0 2 1
F1 K P W 0 2
F1 K2 C1 S 1 2
"""


@pytest.fixture(scope="module")
def annotated_dir(benchmarks_dir: Path) -> Path:
    return benchmarks_dir / "annotated"


def test_scout_trio(annotated_dir: Path) -> None:
    pedigree = read_ped(annotated_dir / "scout_demo_643594_trio.ped")
    assert pedigree.ids == ["ADM1059A1", "ADM1059A2", "ADM1059A3"]
    son = pedigree.get("ADM1059A2")
    assert (son.father_id, son.mother_id, son.sex, son.phenotype) == (
        "ADM1059A1",
        "ADM1059A3",
        MALE,
        AFFECTED,
    )
    assert pedigree.get("ADM1059A3").sex == FEMALE
    assert pedigree.get("ADM1059A1").phenotype == UNAFFECTED
    assert founders(pedigree) == ["ADM1059A1", "ADM1059A3"]
    assert generations(pedigree) == {"ADM1059A1": 0, "ADM1059A3": 0, "ADM1059A2": 1}
    assert relationships(pedigree, "ADM1059A2") == {
        "ADM1059A1": "father",
        "ADM1059A2": "self",
        "ADM1059A3": "mother",
    }


def test_giab_trio_without_header(annotated_dir: Path) -> None:
    pedigree = read_ped(str(annotated_dir / "GIAB_AJ_trio.ped"))
    assert pedigree.get("HG002").phenotype == AFFECTED
    # Phenotype 0 in the file: parents of unknown affected status.
    assert pedigree.get("HG003").phenotype == UNKNOWN_PHENOTYPE
    assert relationship(pedigree, "HG003", "HG002") == "child"
    assert relationship(pedigree, "HG003", "HG004") == "partner"


@pytest.mark.parametrize("name", ["scout_demo_643594_trio.ped", "GIAB_AJ_trio.ped"])
def test_write_ped_round_trip(annotated_dir: Path, name: str) -> None:
    pedigree = read_ped(annotated_dir / name)
    text = write_ped(pedigree)
    assert read_ped(text) == pedigree
    for line in text.splitlines()[1:]:
        assert len(line.split("\t")) == 6


def test_extra_columns_header_and_spaces() -> None:
    text = (
        "FID IID PAT MAT SEX PHENO\nfam kid dad mum 2 -9 extra1 extra2\nfam dad 0 0 1 1 x\nfam mum 0 0 2 1\n"
    )
    pedigree = read_ped(text)
    assert pedigree.get("kid").sex == FEMALE and pedigree.get("kid").phenotype == UNKNOWN_PHENOTYPE
    assert pedigree.get("kid").line == 2


def test_loop_is_reported_with_line_and_individual() -> None:
    text = "f A B 0 1 1\nf B C 0 1 1\nf C A 0 1 1\n"
    with pytest.raises(PedigreeError, match="own ancestor") as caught:
        read_ped(text)
    assert {individual for _, individual, _ in caught.value.problems} <= {"A", "B", "C"}
    assert all(line in (1, 2, 3) for line, _, _ in caught.value.problems)


def test_sex_conflicts() -> None:
    text = "f kid mum dad 1 2\nf dad 0 0 1 1\nf mum 0 0 2 1\n"
    with pytest.raises(PedigreeError) as caught:
        read_ped(text)
    messages = [(line, individual, message) for line, individual, message in caught.value.problems]
    assert (1, "kid", "father 'mum' is recorded as female (sex conflict)") in messages
    assert (1, "kid", "mother 'dad' is recorded as male (sex conflict)") in messages
    assert "line 1 (individual kid)" in str(caught.value)


def test_unknown_sex_parent_is_allowed() -> None:
    pedigree = read_ped("f kid p1 p2 1 2\nf p1 0 0 0 1\nf p2 0 0 2 1\n")
    assert pedigree.get("p1").sex == UNKNOWN_SEX


def test_missing_parent_is_an_error_unless_created() -> None:
    text = "f kid dad mum 1 2\nf mum 0 0 2 1\n"
    with pytest.raises(
        PedigreeError, match=r"line 1 \(individual kid\): father 'dad' is not in the pedigree"
    ):
        read_ped(text)
    pedigree = read_ped(text, create_missing_parents=True)
    dad = pedigree.get("dad")
    assert dad.sex == MALE and dad.phenotype == UNKNOWN_PHENOTYPE and dad.is_founder and dad.line is None
    assert relationship(pedigree, "kid", "dad") == "father"


def test_duplicates_same_parents_and_bad_codes_reported_together() -> None:
    text = "f a 0 0 1 1\nf a 0 0 1 1\nf b x x 1 1\nf x 0 0 1 1\nf c 0 0 3 1\nf d 0 0 1 7\nf e 0 0\n"
    with pytest.raises(PedigreeError) as caught:
        read_ped(text)
    lines = {line for line, _, _ in caught.value.problems}
    # Column-level problems stop before the family checks, so lines 5-7 come first.
    assert lines == {5, 6, 7}
    with pytest.raises(PedigreeError) as caught:
        read_ped("f a 0 0 1 1\nf a 0 0 1 1\nf b x x 1 1\nf x 0 0 1 1\n")
    problems = caught.value.problems
    assert (2, "a", "duplicate individual id (first on line 1)") in problems
    assert any(line == 3 and "both 'x'" in message for line, _, message in problems)


def test_extended_family_relationships() -> None:
    pedigree = read_ped(EXTENDED_FAMILY)
    got = relationships(pedigree, "P")
    assert got == {
        "GF1": "grandparent",
        "GM1": "grandparent",
        "GF2": "grandparent",
        "GM2": "grandparent",
        "D": "father",
        "M": "mother",
        "U": "aunt_uncle",
        "UH": "other",
        "C1": "first_cousin",
        "P": "self",
        "S": "sibling",
        "H": "half_sibling",
        "M2": "other",
        "W": "partner",
        "K": "child",
        "K2": "niece_nephew",
    }
    assert relationship(pedigree, "K", "D") == "grandparent"
    assert relationship(pedigree, "GF1", "K") == "great_grandchild"


def test_generations_place_married_in_founders_beside_their_partner() -> None:
    pedigree = read_ped(EXTENDED_FAMILY)
    gen = generations(pedigree)
    assert gen["GF1"] == 0 and gen["D"] == 1 and gen["P"] == 2 and gen["K"] == 3
    assert gen["UH"] == gen["U"] == 1
    assert gen["W"] == gen["P"] == 2
    assert gen["M2"] == gen["D"]


def test_cousin_marriage_is_consanguineous() -> None:
    assert consanguineous_couples(read_ped(EXTENDED_FAMILY)) == [("C1", "S")]
    assert consanguineous_couples(read_ped("f kid dad mum 1 2\nf dad 0 0 1 1\nf mum 0 0 2 1\n")) == []


def _symbols(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return {g.get("data-id"): g for g in root.iter(f"{SVG}g") if "individual" in g.get("class", "")}


def _box(group: ET.Element) -> tuple[float, float, float, float]:
    shape = group[0]
    if shape.tag == f"{SVG}rect":
        x, y, w = float(shape.get("x")), float(shape.get("y")), float(shape.get("width"))
        return x, y, x + w, y + w
    if shape.tag == f"{SVG}circle":
        cx, cy, r = float(shape.get("cx")), float(shape.get("cy")), float(shape.get("r"))
        return cx - r, cy - r, cx + r, cy + r
    points = [tuple(map(float, p.split(","))) for p in shape.get("points").split()]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def test_svg_symbols_match_the_family() -> None:
    pedigree = read_ped(EXTENDED_FAMILY)
    svg = draw_pedigree_svg(pedigree, proband="P", deceased=["GF1"])
    root = ET.fromstring(svg)
    symbols = _symbols(svg)
    assert set(symbols) == set(pedigree.ids)
    shapes = {person_id: group[0].tag.removeprefix(SVG) for person_id, group in symbols.items()}
    for person in pedigree.individuals:
        expected = {MALE: "rect", FEMALE: "circle", UNKNOWN_SEX: "polygon"}[person.sex]
        assert shapes[person.individual_id] == expected, person.individual_id
        fill = symbols[person.individual_id][0].get("fill")
        assert fill == ("black" if person.phenotype == AFFECTED else "white"), person.individual_id
    assert len([e for e in root.iter(f"{SVG}line") if e.get("class") == "deceased-mark"]) == 1
    assert symbols["GF1"].find(f"{SVG}line[@class='deceased-mark']") is not None
    assert len([e for e in root.iter() if e.get("class") == "proband-arrow"]) == 1
    assert symbols["P"].find(f"{SVG}line[@class='proband-arrow']") is not None
    # S has unknown affected status: a question mark.
    assert any(t.text == "?" for t in symbols["S"].iter(f"{SVG}text"))
    # 7 couples; the cousin couple C1 x S gets a double line.
    marriage = [e for e in root.iter() if e.get("class") == "marriage"]
    assert len(marriage) == 7 + 1


def test_svg_generations_top_to_bottom_without_overlap() -> None:
    pedigree = read_ped(EXTENDED_FAMILY)
    boxes = {person_id: _box(group) for person_id, group in _symbols(draw_pedigree_svg(pedigree)).items()}
    gen = generations(pedigree)
    for person in pedigree.individuals:
        for parent in (person.father_id, person.mother_id):
            if parent is not None:
                assert boxes[parent][3] < boxes[person.individual_id][1]
    for a in pedigree.ids:
        for b in pedigree.ids:
            if a < b:
                ax1, ay1, ax2, ay2 = boxes[a]
                bx1, by1, bx2, by2 = boxes[b]
                assert ax2 <= bx1 or bx2 <= ax1 or ay2 <= by1 or by2 <= ay1, (a, b)
                if gen[a] == gen[b]:
                    assert ay1 == by1


def test_svg_lines_of_descent_cross_no_symbol() -> None:
    pedigree = read_ped(EXTENDED_FAMILY)
    root = ET.fromstring(draw_pedigree_svg(pedigree))
    boxes = {person_id: _box(group) for person_id, group in _symbols(draw_pedigree_svg(pedigree)).items()}
    descent = [e for e in root.iter(f"{SVG}line") if e.get("class") == "descent"]
    # One drop per sibship (7) plus one line to each of the 9 children.
    assert len(descent) == 7 + 9
    for line in descent:
        x1, y1, x2, y2 = (float(line.get(k)) for k in ("x1", "y1", "x2", "y2"))
        assert x1 == x2
        for person_id, (bx1, by1, bx2, by2) in boxes.items():
            crosses = bx1 < x1 < bx2 and max(min(y1, y2), by1) < min(max(y1, y2), by2)
            assert not crosses, person_id


def test_svg_multiple_spouses_and_four_generations() -> None:
    text = (
        "F A 0 0 1 1\nF B 0 0 2 1\nF C 0 0 2 2\nF D 0 0 1 1\n"
        "F k1 A B 1 2\nF k2 A C 2 1\nF k3 D C 0 1\nF k4 A B 2 1\n"
        "F s1 0 0 2 1\nF g1 k1 s1 1 1\nF s2 0 0 2 1\nF gg1 g1 s2 2 2\n"
    )
    pedigree = read_ped(text)
    assert max(generations(pedigree).values()) == 3
    svg = draw_pedigree_svg(pedigree, proband="gg1")
    boxes = [_box(group) for group in _symbols(svg).values()]
    assert len(boxes) == 12
    for i, (ax1, ay1, ax2, ay2) in enumerate(boxes):
        for bx1, by1, bx2, by2 in boxes[i + 1 :]:
            assert ax2 <= bx1 or bx2 <= ax1 or ay2 <= by1 or by2 <= ay1


def test_svg_rejects_unknown_proband(annotated_dir: Path) -> None:
    pedigree = read_ped(annotated_dir / "GIAB_AJ_trio.ped")
    with pytest.raises(KeyError, match="nobody"):
        draw_pedigree_svg(pedigree, proband="nobody")
