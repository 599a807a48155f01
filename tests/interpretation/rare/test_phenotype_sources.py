"""Tests for PanelApp and ClinVar phenotype evidence of genes without HPO annotations, on the real refdata."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.interpretation.rare import files
from gmc.interpretation.rare.phenotype_sources import (
    clinvar_profiles,
    disease_name_index,
    gene_profiles,
    name_profile,
    text_terms,
)
from gmc.phenotype.annotations import get_annotations
from gmc.phenotype.ontology import get_ontology


@pytest.fixture(scope="module")
def diseases() -> dict:
    return disease_name_index(get_annotations())


def test_panel_names_read_as_hpo_terms() -> None:
    ontology = get_ontology()
    assert text_terms(ontology, "Intellectual disability") == ("HP:0001249",)
    assert text_terms(ontology, "Hypertrophic cardiomyopathy") == ("HP:0001639",)
    # Parts split at "or"/"and", qualifiers and trailing "disorders" dropped; ancestors of a found term left out.
    assert set(text_terms(ontology, "Cataracts or glaucoma")) == {"HP:0000518", "HP:0000501"}
    assert text_terms(ontology, "Thoracic aortic aneurysm or dissection") == ("HP:0012727",)
    assert text_terms(ontology, "Severe microcephaly") == ("HP:0000252",)
    assert text_terms(ontology, "COVID-19 research") == ()


def test_a_name_that_is_a_disease_takes_its_profile(diseases: dict) -> None:
    ontology = get_ontology()
    terms, disease_id = name_profile(ontology, diseases, "Stickler syndrome")
    assert disease_id and len(terms) > 10
    assert get_annotations().disease(disease_id).name.lower().startswith("stickler syndrome")
    # Subtype numbers and "type" do not stop the match (ClinVar writes "Congenital myasthenic syndrome 8").
    assert name_profile(ontology, diseases, "Stickler syndrome type 1")[1] is not None


def test_clinvar_conditions_link_genes_to_phenotypes(refdata_dir: Path, diseases: dict) -> None:
    profiles = clinvar_profiles(
        refdata_dir / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz", get_ontology(), diseases
    )
    assert len(profiles) > 2000
    # AGRN's P/LP variants name "Congenital myasthenic syndrome 8", an OMIM disease HPO annotates.
    agrn = [p for p in profiles["AGRN"] if "myasthenic" in p.label.lower()]
    assert agrn and all(p.source == "ClinVar" and p.terms for p in agrn)
    assert any(p.disease_id for p in agrn)


def test_unannotated_genes_get_panel_or_clinvar_evidence_with_the_source_named() -> None:
    profiles = gene_profiles()
    annotated = {g.symbol for g in get_annotations().genes.values()}
    unannotated = [g for g in profiles if g not in annotated]
    assert len(unannotated) > 400  # 475 with hpo3 1.5 (HPO 2025-11-24), PanelApp and ClinVar 20241215
    observed = ["HP:0001250", "HP:0001249", "HP:0001263"]  # seizure, intellectual disability, developmental delay
    matches, scores = files.gene_phenotype_scores(observed, [])
    extra = {g: m for g, m in matches.items() if getattr(m, "source", None)}
    assert extra and set(extra) <= set(unannotated)
    gene, match = max(extra.items(), key=lambda item: scores[item[0]])
    assert match.source in ("PanelApp", "ClinVar") and match.label and match.matched_pairs
    assert 0 < scores[gene] <= files.PROFILE_EVIDENCE_WEIGHT
    # Off, only HPO-annotated genes have phenotype evidence.
    _, hpo_only = files.gene_phenotype_scores(observed, [], other_sources=False)
    assert gene not in hpo_only
