"""Hypothesis property tests for every parser of user files: VCF lines, HL7 v2 ADT, participant/sample/HPO CSV,
phenopacket JSON and PED. Whatever the input, each gives a valid result or its own clear error (naming the line or
field), never a crash. Inputs are built near the valid form (real headers and separators, perturbed fields), so
the parsers get past their first check; examples are derandomised, so a failure reproduces."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmc.common.errors import DomainError
from gmc.genomics.vcf import VcfFormatError, VcfReader
from gmc.phenotype.hpo_csv import HpoCsvError, parse_hpo_csv_text
from gmc.phenotype.pedigree import PedigreeError, read_ped
from gmc.phenotype.phenopackets import PhenopacketError, read_phenopacket
from gmc.registry.hl7_adt import Hl7Error, parse_adt
from gmc.samples.csvio import IMPORT_COLUMNS, SampleCsvError, parse_import

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
#: Field text: printable characters, separators of the formats, and a few awkward ones (NUL, BOM, surrogates).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)) | st.sampled_from(
    ["\x00", "\ufeff", "|", "^", "~", "\\", "&", ",", "\t", ";", "=", ".", "-", "0", "1", "9", " "]), max_size=12)
_NUMBER = st.one_of(st.integers(-5, 10**12).map(str), st.sampled_from(["", ".", "1e20", "NaN", "-0", "3.5"]))


def _field(valid: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(valid), _TEXT, _NUMBER)


# -- VCF ---------------------------------------------------------------------------------------------------------

_VCF_HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=1,length=249250621>\n"
               '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
               '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
               '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")
_VCF_LINE = st.tuples(
    _field(["1", "chr1", "X", "MT"]), _field(["100", "1", "249250621", "0"]), _field([".", "rs1"]),
    _field(["A", "C", "ACGT", "N"]), _field(["G", "T,C", "<DEL>", ".", "*"]), _field([".", "50", "3.5"]),
    _field(["PASS", ".", "LowQual"]), _field([".", "END=200", "END=x"]), _field(["GT:DP", "GT"]),
    _field(["0/1:10", "1|1", "./.", "0/1", "2/3:5"]),
).map("\t".join)


@FUZZ
@given(st.lists(_VCF_LINE, min_size=1, max_size=4))
def test_vcf_records_read_or_name_their_line(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.vcf"
        path.write_text(_VCF_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
        try:
            with VcfReader(path, build="GRCh37") as reader:
                for batch in reader.batches(size=2):
                    batch.to_arrow()
        except VcfFormatError as exc:
            assert str(exc).startswith("fuzz.vcf line ") or "fuzz.vcf" in str(exc)


# -- HL7 v2 ADT --------------------------------------------------------------------------------------------------

_HL7 = st.tuples(
    _field(["ADT^A04", "ADT^A08", "ADT^A40", "ORU^R01", "ADT"]), _field(["20260101120000", "2026", "x"]),
    _field(["RRK", "RJ1", ""]), _field(["9434765919", "943 476 5919", "123"]),
    _field(["SMITH^ANN", "^", "SMITH"]), _field(["19800101", "1980", "x"]), _field(["F", "M", "U", "Q"]),
    _field(["MRG|1||PRIOR^^^RRK^MR", ""]),
).map(lambda f: "\r".join([
    f"MSH|^~\\&|PAS|{f[2]}|GMC|GMC|{f[1]}||{f[0]}|MSG1|P|2.4",
    f"EVN|{f[0][-3:]}|{f[1]}",
    f"PID|1||{f[3]}^^^NHS^NH~H123^^^{f[2]}^MR||{f[4]}||{f[5]}|{f[6]}|||1 ROAD^^TOWN^^B1 1AA",
    f[7],
]))


@FUZZ
@given(_HL7)
def test_hl7_adt_parses_or_names_segment_and_field(text: str) -> None:
    try:
        parse_adt(text)
    except Hl7Error as exc:
        assert str(exc)


# -- CSV imports -------------------------------------------------------------------------------------------------

_SAMPLE_ROW = st.tuples(
    _field(["BLD-1", "T-2"]), _field(["P000001"]), _field(["R000001", ""]), _field(["RRK", "RJ1"]),
    _field(["blood_edta", "saliva", "tumour_ffpe"]), _field(["2026-01-01T10:00:00", "2026-13-01", ""]),
    _field(["J Bloggs"]), _field(["", "breast"]), _field(["", "ductal"]), _field(["", "60", "101", "-1"]),
    _field(["", "500", "1e20"]),
).map(",".join)


@FUZZ
@given(st.lists(_SAMPLE_ROW, max_size=4), st.sampled_from([",".join(IMPORT_COLUMNS), "barcode,x", ""]))
def test_sample_csv_parses_or_names_its_rows(rows: list[str], header: str) -> None:
    try:
        parse_import("\n".join([header, *rows]) + "\n", source="fuzz.csv")
    except SampleCsvError as exc:
        assert "fuzz.csv" in str(exc) or exc.field


_HPO_ROW = st.tuples(_field(["P000001"]), _field(["HP:0001250", "HP:1", "seizure"]),
                     _field(["observed", "excluded", "maybe"]), _field(["", "HP:0003577"]), _TEXT).map(",".join)


@FUZZ
@given(st.lists(_HPO_ROW, max_size=4))
def test_hpo_csv_parses_or_names_its_rows(rows: list[str]) -> None:
    text = "\n".join(["participant_id,term_id,status,onset,notes", *rows]) + "\n"
    try:
        parse_hpo_csv_text(text, known_term=lambda t: t == "HP:0001250", source="fuzz-hpo.csv")
    except HpoCsvError as exc:
        assert "fuzz-hpo.csv" in str(exc)


# -- Phenopacket JSON --------------------------------------------------------------------------------------------

_JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3), max_leaves=8)


def _packet(overrides: dict) -> dict:
    base = {"id": "fuzz-1", "subject": {"id": "P1", "sex": "FEMALE", "timeAtLastEncounter": {"age": {
        "iso8601duration": "P3Y"}}},
            "phenotypicFeatures": [{"type": {"id": "HP:0001250", "label": "Seizure"}}],
            "metaData": {"created": "2026-01-01T00:00:00Z", "createdBy": "fuzz", "phenopacketSchemaVersion": "2.0",
                         "resources": [{"id": "hp", "name": "HPO", "url": "http://purl.obolibrary.org/obo/hp.owl",
                                        "version": "2025-01-16", "namespacePrefix": "HP",
                                        "iriPrefix": "http://purl.obolibrary.org/obo/HP_"}]}}
    return {**base, **overrides}


@FUZZ
@given(st.dictionaries(st.sampled_from(["id", "subject", "phenotypicFeatures", "diseases", "interpretations",
                                        "metaData", "measurements", "files", "extra"]), _JSON_VALUE, max_size=3))
def test_phenopacket_json_reads_or_says_what_is_wrong(overrides: dict) -> None:
    try:
        read_phenopacket(json.loads(json.dumps(_packet(overrides))))
    except PhenopacketError as exc:
        assert str(exc)


# -- PED ---------------------------------------------------------------------------------------------------------

_PED_LINE = st.tuples(_field(["F1"]), _field(["P1", "P2", "P3"]), _field(["0", "P2", "P1"]),
                      _field(["0", "P3", "P1"]), _field(["1", "2", "0", "3"]), _field(["2", "1", "0", "-9"])
                      ).map("\t".join)


@FUZZ
@given(st.lists(_PED_LINE, min_size=1, max_size=5))
def test_ped_reads_or_names_its_line(lines: list[str]) -> None:
    try:
        read_ped("\n".join(lines) + "\n")
    except (PedigreeError, DomainError) as exc:
        assert str(exc)
