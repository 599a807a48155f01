"""Tier I/II findings per tumour, as a JSON snapshot, and the changes between two snapshots.

    # a snapshot of the code on the path (run once per commit to compare):
    .venv/bin/python bench/cancer/tier_snapshot.py snapshot --out /tmp/after.json
    PYTHONPATH=/tmp/base/src .venv/bin/python bench/cancer/tier_snapshot.py snapshot --out /tmp/before.json
    # the counts per tumour and every finding whose tier changed, with the reason given by each:
    .venv/bin/python bench/cancer/tier_snapshot.py compare /tmp/before.json /tmp/after.json

The tumours are the real TCGA files in ../shared (PCGR BRCA with its CNA/fusion files, PCGR COAD, the CPSR copy of
the COAD calls, the maftools breast MAF, the 193 TCGA LAML tumours) and, for the six focus cancers and CLL, the
well-known alterations of each tumour type interpreted one by one (PROBES). Only public entry points are used, so the
script runs unchanged against older commits.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

SHARED = Path(os.environ.get("GMC_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
SOMATIC = SHARED / "benchmarks" / "cancer" / "somatic"

#: (tumour type, gene, chrom, GRCh38 pos, ref, alt, consequence, protein change, exon, intron): the findings a
#: clinician expects for each focus cancer (and melanoma as a control for lung/bowel-only evidence). Evidence matches
#: them by protein change; the GRCh38 alleles of the missense probes are the cancerhotspots ones, those of the
#: frameshift and BTK probes only place them in the gene.
PROBES = [
    ("BRCA", "PIK3CA", "3", 179234297, "A", "G", "missense_variant", "p.H1047R", 21, None),
    ("BRCA", "PIK3CA", "3", 179218303, "G", "A", "missense_variant", "p.E545K", 10, None),
    ("BRCA", "AKT1", "14", 104780214, "C", "T", "missense_variant", "p.E17K", 3, None),
    ("BRCA", "ESR1", "6", 152098791, "A", "G", "missense_variant", "p.D538G", 10, None),
    ("BRCA", "BRCA2", "13", 32340301, "GT", "G", "frameshift_variant", "p.V1283fs", 11, None),
    ("COADREAD", "BRAF", "7", 140753336, "A", "T", "missense_variant", "p.V600E", 15, None),
    ("COADREAD", "KRAS", "12", 25245350, "C", "T", "missense_variant", "p.G12D", 2, None),
    ("COADREAD", "KRAS", "12", 25245351, "C", "A", "missense_variant", "p.G12C", 2, None),
    ("COADREAD", "NRAS", "1", 114713909, "G", "T", "missense_variant", "p.Q61K", 3, None),
    ("COADREAD", "POLE", "12", 132676598, "G", "C", "missense_variant", "p.P286R", 9, None),
    ("COADREAD", "POLE", "12", 132661127, "AG", "A", "frameshift_variant", "p.T1086fs", 28, None),
    ("LUAD", "KRAS", "12", 25245351, "C", "A", "missense_variant", "p.G12C", 2, None),
    ("LUAD", "EGFR", "7", 55191822, "T", "G", "missense_variant", "p.L858R", 21, None),
    ("LUAD", "EGFR", "7", 55174772, "GGAATTAAGAGAAGCA", "G", "inframe_deletion", "p.E746_A750del", 19, None),
    ("LUAD", "EGFR", "7", 55181378, "C", "T", "missense_variant", "p.T790M", 20, None),
    ("LUAD", "BRAF", "7", 140753336, "A", "T", "missense_variant", "p.V600E", 15, None),
    ("NSCLC", "MET", "7", 116771990, "G", "A", "splice_donor_variant", None, None, 14),
    ("NSCLC", "KRAS", "12", 25245351, "C", "A", "missense_variant", "p.G12C", 2, None),
    ("HGSOC", "BRCA1", "17", 43094464, "CT", "C", "frameshift_variant", "p.E1134fs", 10, None),
    ("HGSOC", "TP53", "17", 7673802, "C", "T", "missense_variant", "p.R273H", 8, None),
    ("PRAD", "BRCA2", "13", 32340301, "GT", "G", "frameshift_variant", "p.V1283fs", 11, None),
    ("PRAD", "AR", "X", 67723710, "A", "G", "missense_variant", "p.T878A", 8, None),
    ("PRAD", "SPOP", "17", 49619064, "A", "C", "missense_variant", "p.F133V", 5, None),
    ("CLLSLL", "TP53", "17", 7675088, "C", "T", "missense_variant", "p.R175H", 5, None),
    ("CLLSLL", "SF3B1", "2", 197402110, "T", "C", "missense_variant", "p.K700E", 15, None),
    ("CLLSLL", "BTK", "X", 101354134, "C", "G", "missense_variant", "p.C481S", 15, None),
    ("CLLSLL", "MYD88", "3", 38141150, "T", "C", "missense_variant", "p.L265P", 5, None),
    ("MEL", "KRAS", "12", 25245351, "C", "A", "missense_variant", "p.G12C", 2, None),
    ("MEL", "BRAF", "7", 140753336, "A", "T", "missense_variant", "p.V600E", 15, None),
    ("MEL", "NRAS", "1", 114713909, "G", "T", "missense_variant", "p.Q61K", 3, None),
    ("TISSUE", "KRAS", "12", 25245351, "C", "A", "missense_variant", "p.G12C", 2, None),
]


def _row(finding: dict) -> dict:
    """The fields of a finding that both the old and the new RESULT shapes carry."""
    therapies = finding.get("therapies")
    if isinstance(therapies, dict):  # before therapies were grouped: label lists per tumour-type scope
        top = (therapies.get("in_tumour_type") or therapies.get("other_tumour_types") or [""])[0]
        lines = len(therapies.get("in_tumour_type") or []) + len(therapies.get("other_tumour_types") or [])
    else:
        top = therapies[0]["therapy"] if therapies else ""
        lines = len(therapies or [])
    return {"gene": finding.get("gene"), "change": finding.get("hgvs_p") or finding.get("alteration")
            or ",".join(finding.get("consequences") or []), "tier": finding.get("tier"),
            "amp_level": finding.get("amp_level"), "reason": finding.get("tier_reason"),
            "evidence_ids": finding.get("evidence_ids", []), "top_therapy": top, "therapy_lines": lines,
            "not_counted": {row["id"]: row.get("not_counted_reason", "") for row in finding.get("evidence", [])
                            if not row.get("counted_for_tier")}}


def _tier_one_two(result: dict) -> list[dict]:
    return [_row(f) for f in result["findings"] + result.get("structural_findings", []) if f["tier"] in {"I", "II"}]


def snapshot(out: Path) -> None:
    """Interprets every tumour and probe and writes their tier I/II findings."""
    from gmc.interpretation.cancer.files import interpret_somatic_files
    from gmc.interpretation.cancer.knowledgebase import load_knowledgebase
    from gmc.interpretation.cancer.maf import read_maf
    from gmc.interpretation.cancer.model import SomaticVariant
    from gmc.interpretation.cancer.somatic import SomaticSettings, interpret_variant

    refdata = SHARED / "refdata"
    kb = load_knowledgebase(str(refdata))
    no_filters = SomaticSettings(min_tumour_vaf=0.0, min_tumour_depth=0)
    tumours = {
        "PCGR T001-BRCA (BRCA, + CNA/fusions)": ("BRCA", {
            "vcf": SOMATIC / "pcgr_examples/T001-BRCA.grch38.vcf.gz",
            "cna": SOMATIC / "pcgr_examples/T001-BRCA.grch38.cna.tsv",
            "fusions": SOMATIC / "pcgr_examples/T001-BRCA.grch38.fusions.tsv"}),
        "PCGR T001-COAD (COAD)": ("COAD", {"vcf": SOMATIC / "pcgr_examples/T001-COAD.grch38.vcf.gz"}),
        "CPSR TCGA-A6-2686 (COAD, GRCh37)": ("COAD", {
            "vcf": SOMATIC / "cpsr_example/cpsr_example_TCGA-A6-2686_COAD.vcf.gz", "vcf_build": "GRCh37"}),
        "maftools TCGA-A8-A08B (BRCA)": ("BRCA", {"maf": SOMATIC / "maftools/brca.maf.gz", "maf_build": "GRCh37",
                                                  "settings": no_filters}),
    }
    snap: dict[str, dict] = {"tumours": {}, "probes": {}, "laml": {}}
    snap["all"] = {}
    for label, (code, kwargs) in tumours.items():
        result = interpret_somatic_files(tumour_type=code, refdata=refdata, **kwargs)
        snap["tumours"][label] = _tier_one_two(result)
        snap["all"][label] = {f"{row['gene']} {row['change']}": row for row in map(
            _row, result["findings"] + result.get("structural_findings", []))}
    laml = SOMATIC / "maftools/tcga_laml.maf.gz"
    from gmc.genomics.liftover import load_chain

    samples = sorted(read_maf(laml, chain=load_chain(str(refdata / "liftover" / "hg19ToHg38.over.chain.gz"))))
    for sample in samples:
        result = interpret_somatic_files(tumour_type="AML", maf=laml, maf_sample=sample, settings=no_filters,
                                         refdata=refdata)
        snap["laml"][sample] = _tier_one_two(result)
    for code, gene, chrom, pos, ref, alt, consequence, protein, exon, intron in PROBES:
        variant = SomaticVariant(chrom, pos, ref, alt, gene=gene, consequences=(consequence,), hgvs_p=protein,
                                 exon=exon, intron=intron)
        finding = interpret_variant(kb, variant, code)
        data = finding if isinstance(finding, dict) else vars(finding)
        snap["probes"][f"{code} {gene} {protein or consequence}"] = _row(data)
    out.write_text(json.dumps(snap, indent=1) + "\n")
    print(f"wrote {out}")


def _counts(rows: list[dict]) -> str:
    tiers = Counter(row["tier"] for row in rows)
    return f"{tiers.get('I', 0)} / {tiers.get('II', 0)}"


def after_rows(after: dict, label: str, key: tuple) -> dict | None:
    """The after-snapshot's row for a finding whether or not it is still tier I/II (from the full evidence rows)."""
    return after.get("all", {}).get(label, {}).get(f"{key[0]} {key[1]}")


def _dropped(before: dict | None, after: dict | None) -> str:
    """The items that counted before and do not now, with the reason the new code gives."""
    if not before or not after:
        return "-"
    reasons = [f"{item} ({after['not_counted'][item]})" for item in before["evidence_ids"]
               if item in after.get("not_counted", {})]
    return "; ".join(reasons[:4]) + (f"; and {len(reasons) - 4} more" if len(reasons) > 4 else "") or "-"


def compare(before_path: Path, after_path: Path) -> None:
    """Prints tier I/II counts per tumour before and after, and each finding whose tier changed."""
    before, after = json.loads(before_path.read_text()), json.loads(after_path.read_text())
    print("| tumour | tier I / II before | tier I / II after |\n|---|---|---|")
    for label in before["tumours"]:
        print(f"| {label} | {_counts(before['tumours'][label])} | {_counts(after['tumours'].get(label, []))} |")
    laml_before = [row for rows in before["laml"].values() for row in rows]
    laml_after = [row for rows in after["laml"].values() for row in rows]
    print(f"| TCGA LAML, {len(before['laml'])} tumours (AML), summed | {_counts(laml_before)} | {_counts(laml_after)} |")
    print("\nFindings whose tier or AMP level changed (tumours):\n")
    for label in before["tumours"]:
        old = {(r["gene"], r["change"]): r for r in before["tumours"][label]}
        new = {(r["gene"], r["change"]): r for r in after["tumours"].get(label, [])}
        for key in sorted(set(old) | set(new), key=str):
            a, b = old.get(key), new.get(key)
            if a and b and (a["tier"], a["amp_level"]) == (b["tier"], b["amp_level"]):
                continue
            print(f"- {label}: {key[0]} {key[1]}: {a['amp_level'] if a else 'III/IV'} -> "
                  f"{b['amp_level'] if b else 'III/IV (no tier I/II evidence left)'}"
                  f"{'; now: ' + b['reason'] if b else ''}{'; was: ' + a['reason'] if a else ''}")
            print(f"  - no longer counted: {_dropped(a, after_rows(after, label, key))}")
    changed = Counter()
    for sample, rows in before["laml"].items():
        old = {(r["gene"], r["change"]): r["amp_level"] for r in rows}
        new = {(r["gene"], r["change"]): r["amp_level"] for r in after["laml"].get(sample, [])}
        for key in set(old) | set(new):
            if old.get(key) != new.get(key):
                changed[(key[0], key[1], old.get(key) or "III/IV", new.get(key) or "III/IV")] += 1
    if changed:
        print("\nTCGA LAML findings whose level changed (how many tumours):\n")
        for (gene, change, a, b), count in sorted(changed.items(), key=lambda item: -item[1]):
            print(f"- {gene} {change}: {a} -> {b} in {count} tumours")
    print("\nProbes (focus cancers):\n\n| probe | before | after | top therapy after | therapy lines before / after |"
          "\n|---|---|---|---|---|")
    for label, a in before["probes"].items():
        b = after["probes"].get(label, {})
        print(f"| {label} | {a['amp_level'] or a['tier']} | {b.get('amp_level') or b.get('tier')} | "
              f"{b.get('top_therapy', '')} | {a['therapy_lines']} / {b.get('therapy_lines', '')} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("snapshot")
    one.add_argument("--out", type=Path, required=True)
    two = sub.add_parser("compare")
    two.add_argument("before", type=Path)
    two.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out)
    else:
        compare(args.before, args.after)


if __name__ == "__main__":
    main()
