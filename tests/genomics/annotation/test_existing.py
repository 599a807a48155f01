"""Tests for reading VEP CSQ, SnpEff ANN and bcftools BCSQ from the real annotated VCFs."""

from __future__ import annotations

from pathlib import Path

from cyvcf2 import VCF

from gmc.genomics.annotation.existing import annotation_fields, for_allele, most_severe, parse_existing


def _values(path: Path, key: str) -> tuple[dict[str, list[str]], list[tuple[str, str, str]]]:
    vcf = VCF(str(path))
    fields = annotation_fields(vcf.raw_header)
    values = [(v.REF, v.ALT[0], v.INFO.get(key)) for v in vcf if v.INFO.get(key)]
    vcf.close()
    return fields, values


def test_bcsq_from_giab(benchmarks_dir: Path):
    fields, values = _values(
        benchmarks_dir / "annotated/GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz", "BCSQ"
    )
    assert "BCSQ" in fields and len(values) == 9_801
    first = parse_existing("BCSQ", values[0][2], fields["BCSQ"])
    # 1:69511 A>G in OR4F5 is missense T141A
    assert first[0].terms == ("missense_variant",) and first[0].gene == "OR4F5"
    assert first[0].hgvs_p == "141T>141A"
    terms = {t for _, _, v in values for e in parse_existing("BCSQ", v, fields["BCSQ"]) for t in e.terms}
    assert {"missense_variant", "synonymous_variant", "frameshift_variant", "intron_variant"} <= terms


def test_vep_and_snpeff_from_scout_demo(benchmarks_dir: Path):
    path = benchmarks_dir / "annotated/scout_demo_643594_trio.clinical.GRCh37.vcf.gz"
    fields, csq = _values(path, "CSQ")
    assert fields["CSQ"][:3] == ["Allele", "Consequence", "IMPACT"] and "HGVSc" in fields["CSQ"]
    assert fields["ANN"][:2] == ["Allele", "Annotation"]
    ref, alt, value = csq[0]  # 1:7847367 T>TC, an intronic insertion in PER3
    entries = for_allele(parse_existing("CSQ", value, fields["CSQ"]), ref, alt)
    best = most_severe(entries, "PER3")
    assert best.gene == "PER3" and best.terms == ("intron_variant",)
    assert best.hgvs_c == "c.390+471_390+472insC"
    _, ann = _values(path, "ANN")
    snpeff = most_severe(for_allele(parse_existing("ANN", ann[0][2], fields["ANN"]), *ann[0][:2]), "PER3")
    assert snpeff.hgvs_c == "c.390+471_390+472insC"


def test_old_vep_csq_without_allele(benchmarks_dir: Path):
    fields, values = _values(benchmarks_dir / "annotated/cyvcf2_test_189samples_CSQ_ANN.GRCh37.vcf.gz", "CSQ")
    assert fields["CSQ"][0] == "Consequence" and len(values) > 100
    entries = for_allele(parse_existing("CSQ", values[0][2], fields["CSQ"]), values[0][0], values[0][1])
    assert entries and all(e.allele == "" for e in entries)
