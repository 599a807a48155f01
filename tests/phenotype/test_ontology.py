"""Tests for the HPO ontology service: parsing, id resolution, hierarchy, search and the on-disk cache."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from gmc.phenotype.ontology import (
    HpoFormatError,
    Ontology,
    UnknownTermError,
    cached,
    get_ontology,
    load_ontology,
    normalise_id,
    parse_obo,
)

TINY_OBO = """format-version: 1.2
data-version: hp/releases/2099-01-01

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0000002
name: Abnormal limb
synonym: "Limb anomaly" EXACT []
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0000003
name: Short finger
alt_id: HP:0000009
def: "A finger that is \\"short\\"." [PMID:1]
is_a: HP:0000002

[Term]
id: HP:0000004
name: Long finger
is_a: HP:0000002
is_a: HP:0000118

[Term]
id: HP:0000005
name: obsolete Finger length
is_obsolete: true
replaced_by: HP:0000003

[Typedef]
id: part_of
name: part of
"""


@pytest.fixture(scope="module")
def tiny() -> Ontology:
    terms, version = parse_obo(TINY_OBO.splitlines(keepends=True), source="tiny.obo")
    return Ontology(terms=terms, data_version=version)


@pytest.fixture(scope="module")
def hpo() -> Ontology:
    return get_ontology()


def test_tiny_obo_parses_terms_parents_definitions_and_release(tiny: Ontology) -> None:
    assert tiny.release == "2099-01-01"
    assert len(tiny) == 6
    short = tiny.get("HP:0000003")
    assert short.definition == 'A finger that is "short".'
    assert tiny.get("HP:0000002").synonyms == ("Limb anomaly",)
    assert tiny.get("HP:0000004").parents == ("HP:0000002", "HP:0000118")


def test_tiny_hierarchy(tiny: Ontology) -> None:
    assert tiny.ancestors("HP:0000003") == {"HP:0000002", "HP:0000118", "HP:0000001"}
    assert tiny.descendants("HP:0000118") == {"HP:0000002", "HP:0000003", "HP:0000004"}
    assert tiny.is_a("HP:0000004", "HP:0000002")
    assert not tiny.is_a("HP:0000002", "HP:0000004")
    assert [t.id for t in tiny.children("HP:0000002")] == ["HP:0000003", "HP:0000004"]


def test_tiny_alt_and_obsolete_ids_resolve_with_a_warning(tiny: Ontology) -> None:
    alt = tiny.resolve("HP:0000009")
    assert alt.term.id == "HP:0000003" and alt.warning is not None and alt.warning.reason == "alt_id"
    obsolete = tiny.resolve("HP:0000005")
    assert obsolete.term.id == "HP:0000003" and obsolete.warning is not None
    assert obsolete.warning.reason == "obsolete" and "obsolete" in str(obsolete.warning)
    assert tiny.resolve("HP:0000003").warning is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: HP:12\nname: Bad\n", "tiny.obo:4: malformed term id 'HP:12'"),
        ("id: HP:0000007\nname: Orphan\nis_a: HP:0000099\n", "unknown parent HP:0000099"),
        ("id: HP:0000007\nname: Bad synonym\nsynonym: no quotes EXACT []\n", "malformed synonym"),
    ],
)
def test_malformed_obo_names_the_file_and_line(text: str, message: str) -> None:
    obo = "format-version: 1.2\ndata-version: hp/releases/x\n[Term]\n" + text
    with pytest.raises(HpoFormatError, match=message.replace("(", r"\(")):
        parse_obo(obo.splitlines(keepends=True), source="tiny.obo")


def test_obo_without_data_version_is_rejected() -> None:
    with pytest.raises(HpoFormatError, match="data-version"):
        parse_obo(["format-version: 1.2\n", "[Term]\n", "id: HP:0000001\n", "name: All\n"], source="x.obo")


def test_release_and_counts_of_the_hpo3_release(hpo: Ontology) -> None:
    # hpo3 1.5 ships HPO 2025-11-24: 19,903 terms (510 obsolete); synonyms and definitions come from the newest
    # OBO in refdata (2026-02-16), which hpo3 does not carry.
    assert hpo.release == "2025-11-24"
    assert len(hpo) == 19903
    assert sum(t.is_obsolete for t in hpo.terms.values()) == 510
    seizure = hpo.get("HP:0001250")
    assert "Epileptic seizure" in seizure.synonyms and seizure.definition


def test_seizure_ancestors_include_phenotypic_abnormality(hpo: Ontology) -> None:
    seizure = hpo.get("HP:0001250")
    assert seizure.name == "Seizure"
    ancestors = hpo.ancestors("HP:0001250")
    assert "HP:0000118" in ancestors and "HP:0000707" in ancestors  # Abnormality of the nervous system
    assert "HP:0001250" in hpo.descendants("HP:0000707")
    assert hpo.is_a("HP:0002069", "HP:0001250")  # Bilateral tonic-clonic seizure is a seizure


def test_obsolete_and_alt_ids_map_to_their_replacement(hpo: Ontology, refdata_dir: Path) -> None:
    # Read the obsolete stanza of Clitoromegaly straight from the release file.
    with gzip.open(refdata_dir / "hpo" / "hpo_2025-01-16_hp.obo.gz", "rt") as handle:
        text = handle.read()
    stanza = text.split("id: HP:0000057\n", 1)[1].split("\n\n", 1)[0]
    assert "is_obsolete: true" in stanza and "replaced_by: HP:0008665" in stanza
    resolution = hpo.resolve("HP:0000057")
    assert resolution.term.id == "HP:0008665" and resolution.warning is not None
    assert resolution.warning.reason == "obsolete"
    # HP:0001275 is an alt_id of Seizure.
    assert hpo.resolve("HP:0001275").term.id == "HP:0001250"
    assert hpo.resolve("hp_0001275").warning.reason == "alt_id"


@pytest.mark.parametrize("bad", ["HP:12", "HP:9999999", "Seizure", "", "OMIM:101600"])
def test_unknown_or_malformed_ids_raise_naming_the_id(hpo: Ontology, bad: str) -> None:
    with pytest.raises(UnknownTermError) as error:
        hpo.get(bad)
    assert repr(bad) in str(error.value)
    assert isinstance(error.value, ValueError)


def test_normalise_id_accepts_common_spellings() -> None:
    assert normalise_id("hp:0001250") == normalise_id("HP_0001250") == normalise_id(" 0001250 ") == "HP:0001250"


def test_lookup_by_label_and_synonym(hpo: Ontology) -> None:
    assert [t.id for t in hpo.by_label("seizure")] == ["HP:0001250"]
    assert [t.id for t in hpo.by_label("Epileptic seizure")] == ["HP:0001250"]  # an exact synonym
    assert hpo.by_label("no such phenotype") == []


def test_search_seiz_returns_seizure_first(hpo: Ontology) -> None:
    hits = hpo.search("seiz")
    assert hits[0].term.id == "HP:0001250"
    assert len(hits) == 20
    assert all(not h.term.is_obsolete for h in hits)
    assert [h.tier for h in hits] == sorted(h.tier for h in hits)


def test_search_ranks_ids_labels_words_then_synonyms(hpo: Ontology) -> None:
    assert [(h.term.id, h.tier) for h in hpo.search("HP:0001250", limit=3)][0] == ("HP:0001250", 0)
    assert hpo.search("0001275")[0].term.id == "HP:0001250"  # an alt id finds the current term
    assert hpo.search("Short stature")[0].term.id == "HP:0004322"
    words = hpo.search("stat short")  # word prefixes in any order
    assert words[0].tier == 4 and all("short" in h.term.name.lower() for h in words[:5])
    # "Epileptic seizure" is only a synonym of Seizure.
    synonym = hpo.search("epileptic seizure")[0]
    assert synonym.term.id == "HP:0001250" and synonym.matched_text == "Epileptic seizure"
    assert hpo.search("zzzzqx") == [] and hpo.search("  ") == []


def test_onset_and_modifier_terms_for_capture(hpo: Ontology) -> None:
    onset = {t.id: t.name for t in hpo.onset_terms()}
    assert onset["HP:0003577"] == "Congenital onset"
    assert all(hpo.is_a(t, "HP:0003674") for t in onset)
    modifiers = hpo.modifier_terms()
    assert {"HP:0012825", "HP:0012828"} <= {t.id for t in modifiers["severity"]}  # Mild, Severe
    assert {"HP:0012832", "HP:0012833"} <= {t.id for t in modifiers["laterality"]}  # Bilateral, Unilateral


def test_cache_round_trip_and_rebuild_on_change(tmp_path: Path) -> None:
    obo = tmp_path / "tiny.obo"
    obo.write_text(TINY_OBO)
    first = cached(tmp_path / "cache", "tiny", [obo], lambda: load_ontology(obo))
    again = cached(tmp_path / "cache", "tiny", [obo], lambda: pytest.fail("cache was not used"))
    assert again.get("HP:0000003") == first.get("HP:0000003")
    obo.write_text(TINY_OBO.replace("Long finger", "Long fingers"))
    rebuilt = cached(tmp_path / "cache", "tiny", [obo], lambda: load_ontology(obo))
    assert rebuilt.get("HP:0000004").name == "Long fingers"
    assert len(list((tmp_path / "cache").glob("tiny-*.pickle"))) == 1  # the stale cache was removed
    newer_format = cached(tmp_path / "cache", "tiny", [obo], lambda: "rebuilt", version=2)
    assert newer_format == "rebuilt"
    # Keyed by the content's checksum: a same-size edit that keeps the modification time still rebuilds in the
    # next process (within one process a file's checksum is computed once; the memo is cleared as a new one would).
    from gmc.phenotype import ontology as ontology_module

    stat = obo.stat()
    obo.write_text(TINY_OBO.replace("Long finger", "Long fingerz"))
    os.utime(obo, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert obo.stat().st_size == stat.st_size
    ontology_module._CHECKSUMS.clear()
    edited = cached(tmp_path / "cache", "tiny", [obo], lambda: load_ontology(obo), version=2)
    assert edited.get("HP:0000004").name == "Long fingerz"


def test_the_2026_release_parses_with_its_own_version(refdata_dir: Path) -> None:
    # MANIFEST.md: HPO release 2026-02-16, 19,944 terms (555 obsolete); it has no annotation files.
    newer = load_ontology(refdata_dir / "hpo" / "hp_2026-02-16.obo.gz")
    assert newer.release == "2026-02-16"
    assert len(newer) == 19944
    assert sum(t.is_obsolete for t in newer.terms.values()) == 555
    assert newer.search("seiz")[0].term.id == "HP:0001250"


def test_hpo_release_is_a_setting_with_clear_errors(monkeypatch, tmp_path, refdata_dir) -> None:
    from gmc.phenotype.ontology import hpo_source_paths
    from gmc.settings import ConfigurationError, reset_settings_cache

    try:
        # The default is the release hpo3 ships; a dated release reads its files from GMC_REFDATA/hpo.
        with pytest.raises(ConfigurationError, match="package"):
            hpo_source_paths()
        monkeypatch.setenv("GMC_HPO_RELEASE", "2025-01-16")
        reset_settings_cache()
        paths = hpo_source_paths()
        assert paths["genes_to_phenotype"].name == "hpo_2025-01-16_genes_to_phenotype.txt.gz"
        # A deployment mounting another release names it; plain (not gzipped) files are taken too.
        (tmp_path / "hpo").mkdir()
        for name in ("hp.obo", "phenotype.hpoa", "genes_to_phenotype.txt"):
            (tmp_path / "hpo" / f"hpo_2026-03-01_{name}").write_text("")
        monkeypatch.setenv("GMC_REFDATA", str(tmp_path))
        monkeypatch.setenv("GMC_HPO_RELEASE", "2026-03-01")
        reset_settings_cache()
        assert hpo_source_paths()["hpoa"] == tmp_path / "hpo" / "hpo_2026-03-01_phenotype.hpoa"
        monkeypatch.setenv("GMC_HPO_RELEASE", "2024-12-31")
        reset_settings_cache()
        with pytest.raises(ConfigurationError, match="hpo_2024-12-31_hp.obo.gz"):
            hpo_source_paths()
        monkeypatch.setenv("GMC_HPO_RELEASE", "latest")
        reset_settings_cache()
        with pytest.raises(ConfigurationError, match="neither 'package' nor a release date"):
            hpo_source_paths()
    finally:
        monkeypatch.undo()
        reset_settings_cache()
