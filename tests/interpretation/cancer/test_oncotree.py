"""OncoTree hierarchy: children inherit their parents' evidence; unknown codes get a helpful error."""

from __future__ import annotations

import pytest

from gmc.interpretation.cancer.oncotree import ROOT, UnknownTumourTypeError


def test_focus_cancers_sit_under_their_oncotree_parents(kb):
    tree = kb.oncotree
    assert tree.ancestors("IDC") == ["IDC", "BRCA", "BREAST", ROOT]
    assert tree.ancestors("COAD") == ["COAD", "COADREAD", "BOWEL", ROOT]
    assert tree.ancestors("LUAD")[:3] == ["LUAD", "NSCLC", "LUNG"]
    assert tree.is_within("HGSOC", "OVARY")
    assert tree.is_within("PRAD", "PROSTATE")
    assert tree.is_within("CLLSLL", "LYMPH")
    assert tree.ancestors(ROOT) == [ROOT]


def test_every_code_reaches_the_root(kb):
    tree = kb.oncotree
    codes = tree.codes()
    assert len(codes) == 885  # 885 OncoTree rows in oncotree.2023-03-09.txt, TISSUE included
    assert all(tree.ancestors(code)[-1] == ROOT for code in codes)


def test_unknown_tumour_type_explains_where_valid_codes_are(kb):
    with pytest.raises(UnknownTumourTypeError, match=r"TISSUE.*oncotree"):
        kb.oncotree.get("NOT_A_TUMOUR")


@pytest.mark.parametrize(
    ("disease", "code"),
    [
        ("Colorectal Cancer", "COADREAD"),
        ("Lung Non-small Cell Carcinoma", "NSCLC"),
        ("Breast Cancer", "BRCA"),
        ("Melanoma", "MEL"),
        ("Chronic Lymphocytic Leukemia", "CLLSLL"),
        ("Any solid tumor", ROOT),
        ("Lung Adenocarcinoma", "LUAD"),
    ],
)
def test_knowledge_base_disease_names_map_to_oncotree(kb, disease, code):
    assert kb.oncotree.resolve_disease(disease) == code
