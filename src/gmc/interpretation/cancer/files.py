"""Somatic interpretation straight from files: VCF or MAF (+ CNA segments, fusions) in, RESULT dict out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gmc.genomics.liftover import load_chain
from gmc.interpretation.cancer.annotate import (
    annotate_from_knowledgebase,
    infer_hotspot_codon_changes,
    transcript_annotator,
)
from gmc.interpretation.cancer.inputs import read_copy_number, read_fusions, read_somatic_vcf
from gmc.interpretation.cancer.knowledgebase import KnowledgeBase, load_knowledgebase
from gmc.interpretation.cancer.maf import MafFormatError, read_maf
from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.somatic import SomaticSettings, file_checksum, gene_spans, interpret_somatic
from gmc.interpretation.cancer.tmb import assay_size, read_callable_bed
from gmc.refdata.manifest import provenance_versions, require


class SomaticRunError(ValueError):
    """The somatic command was given an impossible combination of inputs."""


def interpret_somatic_files(
    *,
    tumour_type: str,
    vcf: Path | None = None,
    maf: Path | None = None,
    maf_sample: str | None = None,
    maf_build: str | None = None,
    cna: Path | None = None,
    fusions: Path | None = None,
    settings: SomaticSettings | None = None,
    tumour_sample: str | None = None,
    normal_sample: str | None = None,
    tumour_af_tag: str | None = None,
    tumour_dp_tag: str | None = None,
    normal_af_tag: str | None = None,
    normal_dp_tag: str | None = None,
    include_non_pass: bool = False,
    vcf_build: str | None = None,
    refdata: Path | None = None,
    kb: KnowledgeBase | None = None,
    callable_bed: Path | None = None,
) -> dict[str, object]:
    """Reads the inputs, annotates what is unannotated, and interprets them; nothing is stored."""
    if (vcf is None) == (maf is None):
        raise SomaticRunError("give exactly one of a VCF (--vcf) or a MAF (--maf)")
    settings = resolve_tmb_assay(settings or SomaticSettings())
    if callable_bed is not None and settings.tmb_territory_mb is not None:
        raise SomaticRunError("give the TMB territory one way: a callable BED (--callable), an assay (--assay) or a "
                              "size (--tmb-territory-mb), not several")
    if refdata is None:
        refdata = require("cancer", "liftover", "transcripts")  # a missing set is named, with its fetch command
    # A caller with curated evidence passes its live knowledge base; otherwise the files alone.
    kb = kb or load_knowledgebase(str(refdata))
    kb.oncotree.get(tumour_type)  # an unknown tumour type fails before any file is read
    inputs: dict[str, object] = {}
    if vcf is not None:
        variants, report = read_somatic_vcf(
            vcf, tumour_sample=tumour_sample, normal_sample=normal_sample, tumour_af_tag=tumour_af_tag,
            tumour_dp_tag=tumour_dp_tag, normal_af_tag=normal_af_tag, normal_dp_tag=normal_dp_tag,
            pass_only=not include_non_pass, require_vaf=settings.min_tumour_vaf > 0,
            require_depth=settings.min_tumour_depth > 0, build=vcf_build,
            chain=load_chain(str(refdata / "liftover" / "hg19ToHg38.over.chain.gz")))
        inputs["vcf"] = {"path": str(vcf), "sha256": file_checksum(vcf), "records": report.records,
                         "non_pass_skipped": report.non_pass, "tumour_sample": report.tumour_sample,
                         "normal_sample": report.normal_sample, "vaf_depth_keys": report.keys_used,
                         "somatic_markers": report.somatic_markers, "build": report.build,
                         "unlifted_grch37_alleles": report.unlifted}
    else:
        assert maf is not None
        chain = load_chain(str(refdata / "liftover" / "hg19ToHg38.over.chain.gz"))
        by_sample = read_maf(maf, build=maf_build, chain=chain)
        if maf_sample is None and len(by_sample) > 1:
            raise MafFormatError(
                f"{Path(maf).name} holds {len(by_sample)} tumour samples; choose one with --maf-sample "
                f"(e.g. {', '.join(sorted(by_sample)[:3])})")
        sample = maf_sample or next(iter(by_sample))
        if sample not in by_sample:
            raise MafFormatError(f"{Path(maf).name}: no rows for Tumor_Sample_Barcode {sample!r}")
        variants = by_sample[sample]
        missing_vaf = [v for v in variants if v.tumour_vaf is None]
        if settings.min_tumour_vaf > 0 and missing_vaf:
            raise MafFormatError(
                f"{Path(maf).name} line {missing_vaf[0].source_line}: no tumour VAF; looked for t_alt_count + "
                "t_ref_count, i_TumorVAF_WU and tumor_f. Turn the VAF/depth filters off (--min-tumour-vaf 0 "
                "--min-tumour-depth 0) to interpret without them")
        if settings.min_tumour_depth > 0 and any(v.tumour_depth is None for v in variants):
            first = next(v for v in variants if v.tumour_depth is None)
            raise MafFormatError(
                f"{Path(maf).name} line {first.source_line}: no tumour depth; looked for t_depth and "
                "t_alt_count + t_ref_count. Turn the depth filter off (--min-tumour-depth 0)")
        inputs["maf"] = {"path": str(maf), "sha256": file_checksum(maf), "sample": sample, "rows": len(variants)}
    annotation = annotate(variants, kb, refdata)
    segments = read_copy_number(cna) if cna else None
    fusion_list = read_fusions(fusions) if fusions else None
    if cna:
        inputs["cna"] = {"path": str(cna), "sha256": file_checksum(cna), "segments": len(segments or [])}
    if fusions:
        inputs["fusions"] = {"path": str(fusions), "sha256": file_checksum(fusions), "fusions": len(fusion_list or [])}
    spans = gene_spans(str(refdata / "grch38" / "mane_select.genepred.tsv.gz")) if segments else None
    regions = None
    if callable_bed is not None:
        lifted = any(variant.input_pos for variant in variants)
        build = str(inputs["vcf"]["build"]) if vcf is not None else ("GRCh37" if lifted else "GRCh38")  # type: ignore[index]
        regions = read_callable_bed(callable_bed, expected_build=build, refdata=refdata)
        inputs["callable_bed"] = {"path": str(callable_bed), "sha256": regions.sha256, "build": regions.build,
                                  "bases": regions.bases, "build_evidence": regions.build_evidence}
    result = interpret_somatic(kb, variants, tumour_type, settings=settings, segments=segments, fusions=fusion_list,
                               gene_span_index=spans, inputs=inputs, annotation=annotation, callable_regions=regions)
    result["provenance"]["reference_data"] = provenance_versions(  # type: ignore[index]
        ["cancer", "liftover", "transcripts", "genome"], root=refdata)
    return result


def resolve_tmb_assay(settings: SomaticSettings) -> SomaticSettings:
    """Settings with the named assay's TMB territory filled in from GMC_TMB_ASSAYS (TmbConfigError if unknown)."""
    if not settings.tmb_assay:
        return settings
    if settings.tmb_territory_mb is not None:
        raise SomaticRunError("give the TMB territory one way: an assay (--assay) or a size (--tmb-territory-mb)")
    from gmc.settings import get_settings

    return replace(settings, tmb_territory_mb=assay_size(settings.tmb_assay, get_settings().tmb_assays))


def annotate(variants: list[SomaticVariant], kb: object, refdata: Path) -> str:
    """Annotates unannotated variants with MANE transcripts, then fills protein changes from exact KB alleles."""
    notes = []
    if any(not variant.consequences for variant in variants):
        notes.append(transcript_annotator(refdata)(variants))
    filled = annotate_from_knowledgebase(kb, variants)  # type: ignore[arg-type]
    notes.append(f"{filled} protein changes filled from exact knowledge-base/hotspot alleles")
    inferred = infer_hotspot_codon_changes(kb, variants)  # type: ignore[arg-type]
    notes.append(f"{inferred} computed from cancerhotspots reference codons")
    if not notes[:-1]:
        notes.insert(0, "gene, consequence and HGVS as given in the input")
    return "; ".join(notes)
