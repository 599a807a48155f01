"""Tests for PanelApp panels, mode-of-inheritance mapping and panel look-up by indication."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.interpretation.rare.panels import (
    MODE_OF_INHERITANCE_MAPPING,
    Confidence,
    ModeOfInheritance,
    PanelFileError,
    PanelNotFound,
    custom_panel,
    find_panels,
    get_panel,
    normalise_mode_of_inheritance,
    read_panelapp,
)


@pytest.fixture(scope="module")
def panels(refdata_dir: Path):
    return read_panelapp(refdata_dir / "panelapp")


def test_reads_every_panel_of_the_export(panels, refdata_dir: Path) -> None:
    names = (
        (refdata_dir / "panelapp" / "PanelAppRex_PanelAppData_combined_meta_names.tsv")
        .read_text()
        .splitlines()
    )
    assert len(panels) == len(names) - 1 == 447
    assert panels["1"].name == "Thoracic aortic aneurysm or dissection"


def test_known_genes_carry_rating_and_mode(panels) -> None:
    intellectual_disability = panels["285"]
    assert intellectual_disability.gene("ARX").confidence == Confidence.GREEN
    assert intellectual_disability.gene("mecp2").mode_of_inheritance == ModeOfInheritance.XL
    assert intellectual_disability.gene("SCN2A").mode_of_inheritance == ModeOfInheritance.AD
    assert panels["126"].gene("GJB2").mode_of_inheritance == ModeOfInheritance.AD_AR
    assert intellectual_disability.gene("NOT_A_GENE") is None


def test_repeated_gene_rows_keep_the_highest_rating(panels) -> None:
    # The export lists AASS twice on panel 1220, rated 3 and 2.
    assert panels["1220"].gene("AASS").confidence == Confidence.GREEN
    symbols = [g.symbol for g in panels["1220"].genes]
    assert len(symbols) == len(set(symbols))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MONOALLELIC, autosomal or pseudoautosomal, NOT imprinted", ModeOfInheritance.AD),
        ("MONOALLELIC, autosomal or pseudoautosomal, imprinted status unknown", ModeOfInheritance.AD),
        (
            "MONOALLELIC, autosomal or pseudoautosomal, maternally imprinted (paternal allele expressed)",
            ModeOfInheritance.IMPRINTING,
        ),
        ("BIALLELIC, autosomal or pseudoautosomal", ModeOfInheritance.AR),
        ("BOTH monoallelic and biallelic, autosomal or pseudoautosomal", ModeOfInheritance.AD_AR),
        (
            "X-LINKED: hemizygous mutation in males, biallelic mutations in females",
            ModeOfInheritance.XLR,
        ),
        (
            "X-LINKED: hemizygous mutation in males, monoallelic mutations in females may cause disease "
            "(may be less severe, later onset than males)",
            ModeOfInheritance.XLD,
        ),
        ("MITOCHONDRIAL", ModeOfInheritance.MT),
        ("AD/AR", ModeOfInheritance.AD_AR),
        ("XL", ModeOfInheritance.XL),
        ("NA", ModeOfInheritance.UNKNOWN),
        ("Other - please specifiy in evaluation comments", ModeOfInheritance.UNKNOWN),
        (None, ModeOfInheritance.UNKNOWN),
        ("autosomal recessive", ModeOfInheritance.AR),
    ],
)
def test_mode_of_inheritance_mapping(text: str | None, expected: ModeOfInheritance) -> None:
    assert normalise_mode_of_inheritance(text) == expected


def test_mapping_table_is_exposed_for_documentation() -> None:
    assert MODE_OF_INHERITANCE_MAPPING["ad"] == ModeOfInheritance.AD
    assert set(MODE_OF_INHERITANCE_MAPPING.values()) == set(ModeOfInheritance)


def test_find_panels_for_an_indication(panels) -> None:
    top = find_panels(panels, "Intellectual disability")[0]
    assert top.panel.panel_id == "285"
    assert top.score == 100
    hearing = find_panels(panels, "hearing loss")
    assert hearing[0].panel.name == "Monogenic hearing loss"
    # The disease sub-group ("Non-syndromic hearing loss") brings in panels whose name does not say so.
    assert any("hearing" not in m.panel.name.lower() for m in hearing)


def test_unknown_indication_and_panel_raise(panels) -> None:
    with pytest.raises(PanelNotFound, match="qwertyuiop"):
        find_panels(panels, "qwertyuiop zxcvbnm")
    with pytest.raises(PanelNotFound):
        get_panel(panels, "no such panel")
    assert get_panel(panels, "monogenic hearing loss").panel_id == "126"
    assert get_panel(panels, "126").name == "Monogenic hearing loss"


def test_custom_gene_list() -> None:
    panel = custom_panel("Family request", ["BRCA1", ("CFTR", "AR"), "brca1"])
    assert [g.symbol for g in panel.genes] == ["BRCA1", "CFTR"]
    assert panel.gene("CFTR").mode_of_inheritance == ModeOfInheritance.AR
    assert all(g.is_green for g in panel.genes)
    assert panel.source == "custom"
    with pytest.raises(PanelFileError, match="invalid gene symbol"):
        custom_panel("bad", ["BRCA1", "not a gene;"])
    with pytest.raises(PanelFileError, match="no genes"):
        custom_panel("empty", [])


def test_malformed_file_names_the_line(tmp_path: Path) -> None:
    core = tmp_path / "PanelAppRex_PanelAppData_combined_core.tsv"
    core.write_text(
        "id\tmode_of_inheritance\tGene\tconfidence_level\tname\n1\tAD\tACTA2\t3\tAorta\n1\tAD\tMYH11\tgreen\tAorta\n"
    )
    with pytest.raises(PanelFileError, match=r":3: confidence_level 'green'"):
        read_panelapp(tmp_path)
    with pytest.raises(PanelFileError, match="not found"):
        read_panelapp(tmp_path / "missing")


def test_hgnc_ids_from_the_gene_id_map(refdata_dir: Path) -> None:
    from gmc.phenotype.gene_ids import load_gene_id_map

    genes = load_gene_id_map(refdata_dir / "grch38" / "MANE.GRCh38.v1.5.summary.txt.gz")
    panels = read_panelapp(refdata_dir / "panelapp", hgnc_for_symbol=genes.hgnc_for_symbol)
    # MECP2 is HGNC:6990 at genenames.org.
    assert panels["285"].gene("MECP2").hgnc_id == "HGNC:6990"
    assert panels["285"].gene("HGNC:6990").symbol == "MECP2"
