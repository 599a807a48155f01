"""Runs the somatic interpretation on the real TCGA tumours in ../shared and prints tiers I-II and timings."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import psutil

from gmc.interpretation.cancer.files import interpret_somatic_files
from gmc.interpretation.cancer.knowledgebase import load_knowledgebase
from gmc.interpretation.cancer.somatic import SomaticSettings

SHARED = Path(os.environ.get("GMC_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
SOMATIC = SHARED / "benchmarks" / "cancer" / "somatic"
NO_FILTERS = SomaticSettings(min_tumour_vaf=0.0, min_tumour_depth=0)

#: (label, tumour type, keyword arguments for interpret_somatic_files)
CASES = [
    ("PCGR T001-BRCA GRCh38 VCF + CNA + fusions", "BRCA", {
        "vcf": SOMATIC / "pcgr_examples/T001-BRCA.grch38.vcf.gz",
        "cna": SOMATIC / "pcgr_examples/T001-BRCA.grch38.cna.tsv",
        "fusions": SOMATIC / "pcgr_examples/T001-BRCA.grch38.fusions.tsv"}),
    ("PCGR T001-BRCA GRCh37 VCF (lifted)", "BRCA", {
        "vcf": SOMATIC / "pcgr_examples/T001-BRCA.grch37.vcf.gz", "vcf_build": "GRCh37"}),
    ("PCGR T001-COAD GRCh38 VCF", "COAD", {"vcf": SOMATIC / "pcgr_examples/T001-COAD.grch38.vcf.gz"}),
    ("CPSR example TCGA-A6-2686 COAD (GRCh37, lifted)", "COAD", {
        "vcf": SOMATIC / "cpsr_example/cpsr_example_TCGA-A6-2686_COAD.vcf.gz", "vcf_build": "GRCh37"}),
    ("maftools TCGA-A8-A08B breast MAF (GRCh37, no VAF)", "BRCA", {
        "maf": SOMATIC / "maftools/brca.maf.gz", "maf_build": "GRCh37", "settings": NO_FILTERS}),
]


def summarise(result: dict) -> dict:
    """Tier I-II findings as short lines."""
    lines = []
    for finding in result["findings"] + result["structural_findings"]:
        if finding["tier"] not in {"I", "II"}:
            continue
        onc = finding["oncogenicity"]
        therapy = finding["therapies"]
        top = (f"{therapy[0]['therapy']} ({therapy[0]['direction']}, level {therapy[0]['best_level']}"
               f"{', this tumour type' if therapy[0]['in_tumour_type'] else ''}; {len(therapy)} lines)") if therapy else ""
        lines.append(
            f"{finding['tier']:<3}{finding['amp_level'] or '':<5}{finding['gene']:<14}"
            f"{finding['hgvs_p'] or finding['alteration'] or ','.join(finding['consequences']):<22}"
            f"{(onc['class'] + ' ' + str(onc['points'] if onc['points'] is not None else '')) if onc else '-':<22}{top}")
    return {"tier_I_II": lines, "counts": result["counts"], "tmb": result["tmb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--laml-samples", type=int, default=193, help="How many LAML MAF samples to run.")
    parser.add_argument("--json", type=Path, help="Also write every summary as JSON here.")
    args = parser.parse_args()
    refdata = SHARED / "refdata"
    process = psutil.Process()
    start = time.perf_counter()
    kb = load_knowledgebase(str(refdata))
    print(f"knowledge base: {len(kb.evidence)} evidence items, {len(kb.hotspots)} hotspot residues, "
          f"built in {time.perf_counter() - start:.2f} s")
    summaries = {}
    for label, tumour_type, kwargs in CASES:
        start = time.perf_counter()
        result = interpret_somatic_files(tumour_type=tumour_type, refdata=refdata, **kwargs)
        seconds = time.perf_counter() - start
        summary = summarise(result)
        summary["seconds"] = round(seconds, 3)
        summaries[label] = summary
        print(f"\n## {label} ({tumour_type}): {seconds:.2f} s, {result['counts']}, TMB {result['tmb']['per_mb']}/Mb")
        print("\n".join(summary["tier_I_II"]))
    # The LAML MAF: every sample as its own tumour (AML), no depth column so depth filter off.
    from gmc.interpretation.cancer.maf import read_maf

    samples = sorted(read_maf(SOMATIC / "maftools/tcga_laml.maf.gz", chain=kb_chain(refdata)))[: args.laml_samples]
    settings = SomaticSettings(min_tumour_vaf=0.0, min_tumour_depth=0)
    start = time.perf_counter()
    tier_one_genes: dict[str, int] = {}
    for sample in samples:
        result = interpret_somatic_files(tumour_type="AML", maf=SOMATIC / "maftools/tcga_laml.maf.gz",
                                         maf_sample=sample, settings=settings, refdata=refdata)
        for finding in result["findings"]:
            if finding["tier"] == "I":
                key = f"{finding['gene']} {finding['hgvs_p']}"
                tier_one_genes[key] = tier_one_genes.get(key, 0) + 1
    seconds = time.perf_counter() - start
    print(f"\n## TCGA LAML MAF: {len(samples)} tumours in {seconds:.2f} s ({seconds / len(samples) * 1000:.0f} ms each)")
    for key, count in sorted(tier_one_genes.items(), key=lambda item: -item[1])[:15]:
        print(f"tier I in {count:>3} tumours: {key}")
    summaries["laml"] = {"samples": len(samples), "seconds": round(seconds, 3), "tier_I": tier_one_genes}
    print(f"\npeak RSS {process.memory_info().rss / 2**20:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1))


def kb_chain(refdata: Path):
    """The GRCh37 -> GRCh38 chain."""
    from gmc.genomics.liftover import load_chain

    return load_chain(str(refdata / "liftover" / "hg19ToHg38.over.chain.gz"))


if __name__ == "__main__":
    main()
