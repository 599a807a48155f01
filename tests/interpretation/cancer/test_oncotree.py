"""The real OncoTree: parents from the release file, retired codes mapped, helpful errors for unknown codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gmc.interpretation.cancer.oncotree import (
    ROOT,
    OncoTreeFormatError,
    UnknownTumourTypeError,
    parse_oncotree,
)


def test_focus_cancers_and_cll_resolve_through_the_real_parents(kb):
    tree = kb.oncotree
    assert tree.ancestors("LUAD") == ["LUAD", "NSCLC", "LUNG", ROOT]
    assert tree.ancestors("NSCLC") == ["NSCLC", "LUNG", ROOT]
    assert tree.ancestors("IDC") == ["IDC", "BRCA", "BREAST", ROOT]
    assert tree.ancestors("COAD") == ["COAD", "COADREAD", "BOWEL", ROOT]
    assert tree.ancestors("HGSOC") == ["HGSOC", "SOC", "OVT", "OVARY", ROOT]
    assert tree.ancestors("PRAD") == ["PRAD", "PROSTATE", ROOT]
    assert tree.ancestors("CLLSLL") == ["CLLSLL", "MBN", "NHL", "LNM", "LYMPH", ROOT]
    assert tree.is_within("LUAD", "NSCLC") and not tree.is_within("NSCLC", "LUAD")


def test_every_node_of_the_release_reaches_the_root(kb, refdata_dir: Path):
    document = json.loads((refdata_dir / "cancer/genes/oncotree_2025_10_03.json").read_text())
    count, stack = 0, [document[ROOT]]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node["children"].values())
    tree = kb.oncotree
    assert len(tree.codes()) == count == 898
    assert all(tree.ancestors(code)[-1] == ROOT for code in tree.codes())
    assert all(tree.nodes[code].parent == node.code for node in tree.nodes.values() for code in node.children)


def test_retired_codes_map_to_their_successor_and_say_so(kb):
    node, note = kb.oncotree.resolve("GBM")
    assert node.code == "GB" and "retired" in note and "GB" in note
    assert kb.oncotree.get("MM").code == "PCM"  # OncoTree history: MM was renamed PCM
    assert kb.oncotree.get("CLL").code == "CLLSLL"  # merged with SLL
    with pytest.raises(UnknownTumourTypeError, match=r"split between BLL .*TLL"):
        kb.oncotree.get("ALL")


def test_unknown_code_names_the_nearest_types(kb):
    with pytest.raises(UnknownTumourTypeError, match=r"nearest: LUAD \(Lung Adenocarcinoma\)"):
        kb.oncotree.get("LUADD")
    with pytest.raises(UnknownTumourTypeError, match=r"LUAD \(Lung Adenocarcinoma\)"):
        kb.oncotree.get("lung adenocarcinoma")
    with pytest.raises(UnknownTumourTypeError, match=r"TISSUE.*oncotree"):
        kb.oncotree.get("NOT_A_TUMOUR")


@pytest.mark.parametrize(
    ("disease", "code"),
    [
        ("Colorectal Cancer", "COADREAD"),
        ("Lung Non-small Cell Carcinoma", "NSCLC"),
        ("Breast Cancer", "BREAST"),
        ("Ovarian Cancer", "OVARY"),
        ("OOVC", "OVARY"),  # MOAlmanac files general ovarian cancer under "Ovarian Cancer, Other"
        ("Melanoma", "MEL"),
        ("Chronic Lymphocytic Leukemia", "CLLSLL"),
        ("Any solid tumor", ROOT),
        ("Cancer", ROOT),
        ("Lung Adenocarcinoma", "LUAD"),
        ("Prostate Cancer", "PROSTATE"),
        ("TALL", "TLL"),
        ("Mesothelioma", None),  # pleural, peritoneal and testicular mesotheliomas share no node below TISSUE
    ],
)
def test_knowledge_base_disease_names_map_to_oncotree(kb, disease, code):
    assert kb.oncotree.resolve_disease(disease) == code


def test_a_malformed_release_is_refused_with_its_name(tmp_path: Path):
    path = tmp_path / "oncotree_bad.json"
    path.write_text(json.dumps({ROOT: {"code": ROOT, "name": "Tissue", "children": {
        "LUNG": {"code": "LUNG", "name": "Lung", "parent": "BREAST", "children": {}}}}}))
    with pytest.raises(OncoTreeFormatError, match=r"oncotree_bad.json: LUNG says its parent is BREAST"):
        parse_oncotree(path)
    path.write_text("[]")
    with pytest.raises(OncoTreeFormatError, match="oncotree_bad.json"):
        parse_oncotree(path)
