"""The RESULT document has exactly the fields result.py documents (the schema and the code cannot drift)."""

from __future__ import annotations

from typing import get_type_hints

from gmc.interpretation.cancer import result as schema
from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.somatic import interpret_somatic


def _keys(typed: type) -> set[str]:
    return {"class" if key == "class_" else key for key in get_type_hints(typed)}


def test_a_real_result_has_the_documented_fields(kb):
    variants = [
        SomaticVariant("7", 140753336, "A", "T", gene="BRAF", consequences=("missense_variant",), hgvs_p="p.V600E",
                       tumour_vaf=0.3, tumour_depth=80),
        SomaticVariant("17", 7675088, "C", "A", gene="TP53", consequences=("coding_sequence_variant",),
                       tumour_vaf=0.3, tumour_depth=80),
    ]
    result = interpret_somatic(kb, variants, "COADREAD")
    assert result["schema_version"] == schema.RESULT_SCHEMA_VERSION == 2
    assert set(result) == _keys(schema.SomaticResult)
    assert set(result["tumour_type"]) == _keys(schema.TumourType)
    assert set(result["tmb"]) == _keys(schema.TumourMutationalBurden)
    braf = next(f for f in result["findings"] if f["gene"] == "BRAF")
    assert set(braf) == _keys(schema.Finding)
    assert set(braf["oncogenicity"]) == _keys(schema.OncogenicityResult)
    assert set(braf["therapies"][0]) == _keys(schema.TherapyLine)
    assert set(braf["therapies"][0]["support"][0]) == _keys(schema.SupportRow)
    assert set(braf["evidence"][0]) == _keys(schema.EvidenceRow)
    assert braf["prognostic"] and set(braf["prognostic"][0]) == _keys(schema.StatementLine)
