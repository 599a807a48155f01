"""Reading tumour VCFs, MAFs, copy number and fusions; germline and missing-VAF inputs are refused clearly."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from gmc.genomics.liftover import load_chain
from gmc.interpretation.cancer.inputs import (
    GermlineVcfError,
    SomaticInputError,
    read_copy_number,
    read_fusions,
    read_somatic_vcf,
)
from gmc.interpretation.cancer.maf import MafFormatError, read_maf


def test_pcgr_brca_vcf_reads_every_pass_call_with_info_vaf_and_depth(somatic_dir: Path):
    variants, report = read_somatic_vcf(somatic_dir / "pcgr_examples/T001-BRCA.grch38.vcf.gz")
    assert report.records == 196  # MANIFEST: 196 PASS SNV/indel
    assert report.keys_used == {"tumour_vaf": "INFO/TVAF", "tumour_depth": "INFO/TDP"}
    first = variants[0]
    # First record: 1:1968826 C>T TVAF=0.222222222222 TDP=144.
    assert (first.chrom, first.pos, first.ref, first.alt) == ("1", 1968826, "C", "T")
    assert first.tumour_vaf == pytest.approx(0.2222, abs=1e-4)
    assert first.tumour_depth == 144


def test_format_tags_can_be_named(somatic_dir: Path):
    variants, report = read_somatic_vcf(somatic_dir / "pcgr_examples/T001-BRCA.grch38.vcf.gz",
                                        tumour_af_tag="FORMAT/ADT", tumour_dp_tag="FORMAT/DPT")
    # ADT=112,32 -> 32/144; DPT=144.
    assert variants[0].tumour_vaf == pytest.approx(32 / 144)
    assert variants[0].tumour_depth == 144
    assert report.keys_used["tumour_vaf"] == "FORMAT/ADT"


def test_missing_vaf_key_names_the_keys_looked_for(somatic_dir: Path):
    with pytest.raises(SomaticInputError, match=r"line \d+: no tumour VAF.*INFO/NOPE"):
        read_somatic_vcf(somatic_dir / "pcgr_examples/T001-BRCA.grch38.vcf.gz", tumour_af_tag="INFO/NOPE")


def test_germline_exome_is_refused(benchmarks_dir: Path):
    with pytest.raises(GermlineVcfError, match="germline VCF"):
        read_somatic_vcf(benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz")


def test_single_sample_with_many_hom_alt_calls_is_refused_even_with_vaf_tags(tmp_path: Path):
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=1,length=248956422>",
             '##INFO=<ID=TVAF,Number=1,Type=Float,Description="tumour VAF">',
             '##INFO=<ID=TDP,Number=1,Type=Integer,Description="tumour depth">',
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1"]
    for i in range(40):
        gt, vaf = ("1/1", 1.0) if i % 3 == 0 else ("0/1", 0.5)
        lines.append(f"1\t{1000 + i * 10}\t.\tA\tG\t50\tPASS\tTVAF={vaf};TDP=30\tGT\t{gt}")
    path = tmp_path / "germline_like.vcf"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(GermlineVcfError, match="14 of the first 40 calls are homozygous-alt"):
        read_somatic_vcf(path)


def test_grch37_maf_is_lifted_and_keeps_its_protein_change(somatic_dir: Path, refdata_dir: Path):
    chain = load_chain(str(refdata_dir / "liftover/hg19ToHg38.over.chain.gz"))
    samples = read_maf(somatic_dir / "maftools/tcga_laml.maf.gz", chain=chain)
    assert len(samples) == 193  # MANIFEST: 193 samples
    idh1 = [v for v in samples["TCGA-AB-2802"] if v.gene == "IDH1"]
    # IDH1 R132H: GRCh37 2:209113112 -> GRCh38 2:208248388.
    assert [(v.chrom, v.pos, v.protein.short, v.input_pos) for v in idh1] == [
        ("2", 208248388, "R132H", "GRCh37:2:209113112")]
    assert idh1[0].tumour_vaf == pytest.approx(0.4105)


def test_maf_without_build_asks_for_it(somatic_dir: Path):
    with pytest.raises(MafFormatError, match="no NCBI_Build column"):
        read_maf(somatic_dir / "maftools/brca.maf.gz")


def test_copy_number_and_fusion_files(somatic_dir: Path):
    segments = read_copy_number(somatic_dir / "pcgr_examples/T001-BRCA.grch38.cna.tsv")
    assert len(segments) == 260  # MANIFEST: 252/260 segments (GRCh37/GRCh38)
    assert segments[0].chrom == "1" and segments[0].total_copies == 1
    cbs = read_copy_number(somatic_dir / "maftools/TCGA.AB.3009.hg19.seg.txt")
    assert cbs[0].log2_ratio == pytest.approx(-0.683)
    fusions = read_fusions(somatic_dir / "pcgr_examples/T001-BRCA.grch38.fusions.tsv")
    assert ("EML4", "ALK") in {(f.gene5, f.gene3) for f in fusions}
    with gzip.open(somatic_dir / "maftools/brca.maf.gz", "rt") as handle:
        assert handle.readline().startswith("Hugo_Symbol")


def test_existing_vep_csq_is_used_for_gene_and_protein_change(tmp_path: Path, refdata_dir: Path, monkeypatch):
    from gmc.interpretation.cancer.annotate import transcript_annotator

    monkeypatch.setenv("GMC_REFDATA", str(refdata_dir))
    header = [
        "##fileformat=VCFv4.2", "##contig=<ID=17,length=83257441>",
        '##INFO=<ID=TVAF,Number=1,Type=Float,Description="tumour VAF">',
        '##INFO=<ID=TDP,Number=1,Type=Integer,Description="tumour depth">',
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
        'Format: Allele|Consequence|SYMBOL|Feature|HGVSc|HGVSp">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOUR",
    ]
    # TP53 c.818G>A p.Arg273His at GRCh38 17:7673802 (minus-strand gene: C>T on the plus strand).
    record = ("17\t7673802\t.\tC\tT\t.\tPASS\tTVAF=0.41;TDP=88;"
              "CSQ=T|missense_variant|TP53|ENST00000269305.9|ENST00000269305.9:c.818G>A|"
              "ENSP00000269305.4:p.Arg273His\tGT\t0/1")
    path = tmp_path / "tumour.vcf"
    path.write_text("\n".join(header + [record]) + "\n")
    variants, _ = read_somatic_vcf(path)
    note = transcript_annotator(refdata_dir)(variants)
    assert "existing CSQ/ANN/BCSQ used for 1" in note
    variant = variants[0]
    assert (variant.gene, variant.consequences, variant.protein.short) == ("TP53", ("missense_variant",), "R273H")
    assert variant.hgvs_c == "c.818G>A"


def test_multi_sample_vcf_without_a_tumour_is_refused(benchmarks_dir: Path):
    trio = benchmarks_dir / "annotated/GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"
    with pytest.raises(SomaticInputError, match="3 samples"):
        read_somatic_vcf(trio)


def test_grch37_vcf_is_lifted_to_the_same_calls_as_the_grch38_file(somatic_dir: Path, refdata_dir: Path):
    chain = load_chain(str(refdata_dir / "liftover/hg19ToHg38.over.chain.gz"))
    lifted, report = read_somatic_vcf(somatic_dir / "pcgr_examples/T001-BRCA.grch37.vcf.gz", build="GRCh37",
                                      chain=chain)
    native, _ = read_somatic_vcf(somatic_dir / "pcgr_examples/T001-BRCA.grch38.vcf.gz")
    # PCGR made its GRCh38 example by lifting the GRCh37 calls (CrossMap): the two must agree.
    assert report.build == "GRCh37"
    assert {v.key for v in lifted} == {v.key for v in native}


def test_mutect2_style_tumour_normal_vcf(tmp_path: Path):
    header = [
        "##fileformat=VCFv4.2", "##contig=<ID=7,length=159345973>", "##tumor_sample=TUMOUR_X",
        "##normal_sample=NORMAL_X",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL_X\tTUMOUR_X",
        "7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT:AD:AF:DP\t0/0:40,0:0.0:40\t0/1:30,20:0.4:50",
        "7\t140753400\t.\tC\tG\t.\tweak_evidence\t.\tGT:AD:AF:DP\t0/0:40,0:0.0:40\t0/1:30,2:0.06:32",
    ]
    path = tmp_path / "mutect2.vcf"
    path.write_text("\n".join(header) + "\n")
    variants, report = read_somatic_vcf(path)
    assert (report.tumour_sample, report.normal_sample) == ("TUMOUR_X", "NORMAL_X")
    assert report.non_pass == 1
    assert len(variants) == 1
    variant = variants[0]
    assert (variant.tumour_vaf, variant.tumour_depth, variant.normal_vaf, variant.normal_depth) == (
        pytest.approx(0.4), 50, 0.0, 40)


def test_sites_only_variant_list_is_accepted_without_vaf_filters(tmp_path: Path, refdata_dir: Path):
    from gmc.interpretation.cancer.files import interpret_somatic_files
    from gmc.interpretation.cancer.somatic import SomaticSettings

    path = tmp_path / "sites.vcf"
    path.write_text("##fileformat=VCFv4.2\n##contig=<ID=3,length=198295559>\n"
                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                    "3\t179234297\t.\tA\tG\t.\tPASS\t.\n")
    with pytest.raises(SomaticInputError, match="no tumour VAF"):
        read_somatic_vcf(path)
    result = interpret_somatic_files(tumour_type="BRCA", vcf=path, refdata=refdata_dir,
                                     settings=SomaticSettings(min_tumour_vaf=0, min_tumour_depth=0))
    assert [(f["gene"], f["protein_change"], f["tier"]) for f in result["findings"]] == [("PIK3CA", "H1047R", "I")]


def test_multi_allelic_record_gets_each_alts_own_vaf(tmp_path: Path):
    header = [
        "##fileformat=VCFv4.2", "##contig=<ID=7,length=159345973>", "##tumor_sample=T", "##normal_sample=N",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tN\tT",
        "7\t140753336\t.\tA\tT,G,*\t.\tPASS\t.\tGT:AD\t0/0:30,0,0,0\t1/2:10,5,15,0",
    ]
    path = tmp_path / "multi.vcf"
    path.write_text("\n".join(header) + "\n")
    variants, _ = read_somatic_vcf(path)
    # AD 10,5,15,0 over 30 reads: T 5/30, G 15/30; the spanning deletion '*' is not a small variant.
    assert [(v.alt, v.tumour_vaf, v.tumour_depth) for v in variants] == [
        ("T", pytest.approx(5 / 30), 30), ("G", pytest.approx(15 / 30), 30)]


def test_protein_change_computed_from_hotspot_reference_codon(kb, refdata_dir: Path, monkeypatch):
    from gmc.interpretation.cancer.annotate import infer_hotspot_codon_changes, transcript_annotator
    from gmc.interpretation.cancer.model import SomaticVariant

    monkeypatch.setenv("GMC_REFDATA", str(refdata_dir))
    # PIK3CA c.3141T>G: codon 1047 CAT -> CAG, His -> Gln. The shared FASTA lacks PIK3CA's sequence and the
    # hotspot allele table lists only the T>A route to H1047Q, so this must come from the codon.
    variant = SomaticVariant("3", 179234298, "T", "G")
    transcript_annotator(refdata_dir)([variant])
    assert (variant.gene, variant.hgvs_c, variant.consequences) == ("PIK3CA", "c.3141T>G",
                                                                  ("coding_sequence_variant",))
    assert infer_hotspot_codon_changes(kb, [variant]) == 1
    assert (variant.hgvs_p, variant.consequences) == ("p.H1047Q", ("missense_variant",))
