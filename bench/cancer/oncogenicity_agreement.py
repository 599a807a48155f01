"""Five-class oncogenicity agreement with independent implementations of the ClinGen/CGC/VICC SOP.

Truth is what each implementation published for its own example variants (their outputs, not their code):

- SVOC (Sang et al., Fudan; github.com/leqingsang/SVOC, example/example1.hg19_svocoutput.txt): 117 variants,
  hg19, with points, class and the criteria met (free for non-commercial use; read in place, never copied here);
- OncoVI (Carta & Ferrazzi; github.com/MGCarta/oncovi, MIT, exampleoutput/SOP_table_union_OncoVI_prediction.xlsx):
  93 variants of the SOP's validation set (Horak et al. 2022), GRCh38, with points, class and criteria.

Fetch both repositories with the session's `fetch` tool (they land in /work/.mirror/<owner>+<name>/repo) or clone
them, then:

    .venv/bin/python bench/cancer/oncogenicity_agreement.py [--svoc DIR] [--oncovi DIR] [--json OUT]

Inputs gmc takes from their tables: the protein change and consequence they annotated, and the population frequency
they looked up (OncoVI: gnomAD exome/genome AF columns, empty = absent; SVOC: its OP4/SBS1/SBVS1 calls, which
state absent, >1% or >5%; otherwise present below 1%), and REVEL where SVOC's basis column prints it (OncoVI's
table has none, so its variants take the REVEL SVOC prints for the same allele). A variant counts as "inputs present" when it has a protein
effect (or is non-coding, where none applies) and a population frequency. Variants found in ../shared/benchmarks
(the development tumours) are left out. Classes are compared exactly (five classes; "Not classified" never agrees).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path

from gmc.genomics.liftover import load_chain
from gmc.interpretation.cancer.knowledgebase import load_knowledgebase
from gmc.interpretation.cancer.matching import match_variant
from gmc.interpretation.cancer.model import SomaticVariant
from gmc.interpretation.cancer.oncogenicity import assess_oncogenicity
from gmc.interpretation.cancer.protein import parse_protein_change

SHARED = Path(os.environ.get("GMC_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
MIRROR = Path("/work/.mirror")
CLASSES = ("Oncogenic", "Likely Oncogenic", "VUS", "Likely Benign", "Benign")
_XLSX = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _git_show(repo: Path, path: str) -> bytes:
    """A file of a fetched snapshot (a bare git directory) or of a checkout."""
    if (repo / path).is_file():
        return (repo / path).read_bytes()
    return subprocess.run(["git", "--git-dir", str(repo if (repo / "HEAD").exists() else repo / ".git"), "show",
                           f"HEAD:{path}"], check=True, capture_output=True).stdout


def _consequence(protein: str | None, cdna: str) -> str:
    """A Sequence Ontology term from the HGVS the implementation published (SVOC gives no consequence column)."""
    change = parse_protein_change(protein) if protein else None
    if change is not None:
        return {"missense": "missense_variant", "nonsense": "stop_gained", "frameshift": "frameshift_variant",
                "inframe_deletion": "inframe_deletion", "inframe_insertion": "inframe_insertion",
                "delins": "protein_altering_variant", "synonymous": "synonymous_variant",
                "stop_lost": "stop_lost", "start_lost": "start_lost"}.get(change.kind, "protein_altering_variant")
    if re.search(r"[+-][12][ACGT]>", cdna):
        return "splice_donor_variant" if "+" in cdna else "splice_acceptor_variant"
    if re.search(r"[+-]\d+", cdna):
        return "splice_region_variant" if re.search(r"[+-][3-8][ACGT]>", cdna) else "intron_variant"
    return "upstream_gene_variant"  # TERT promoter (no transcript change given)


def read_svoc(repo: Path, chain) -> list[dict]:  # noqa: ANN001
    """SVOC's published example output, lifted to GRCh38."""
    text = _git_show(repo, "example/example1.hg19_svocoutput.txt").decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    header = rows[0]
    out = []
    for row in rows:
        if not row or not row[0].isdigit():
            continue
        record = dict(zip(header, row, strict=False))
        info = record["Variant_Information"]
        g = re.match(r"chr(\w+):g\.(\d+)(?:_(\d+))?(.*?)/", info)
        cdna = info.split("/")[1] if "/" in info else ""
        protein = info.split("/")[2] if info.count("/") >= 2 and info.split("/")[2].startswith("p.") else None
        codes = [c for c in record["Evidence_Codes"].strip(";").split(";") if c]
        revel = re.search(r"REVEL_pred:(\d[0-9.]*)", record.get("OP1_Basis", "") + record.get("SBP1_Basis", ""))
        af = 0.0 if "OP4" in codes else 0.06 if "SBVS1" in codes else 0.02 if "SBS1" in codes else 0.001
        out.append({"source": "SVOC", "id": f"SVOC:{record['Variant_ID']}", "gene": record["Gene"],
                    "hg19": info.split("/")[0], "chrom37": g.group(1) if g else None, "pos37": int(g.group(2)) if g else None,
                    "protein": protein, "cdna": cdna, "consequence": _consequence(protein, cdna),
                    "population_af": af, "revel": float(revel.group(1)) if revel else None,
                    "points": int(record["Point"]), "class": record["Classification"],
                    "criteria": codes})
    vcf = _git_show(repo, "example/example1.vcf").decode("utf-8").splitlines()
    inputs = [line.split("\t")[:5] for line in vcf if line and not line.startswith("#")]
    for record in out:
        record["grch38"] = _svoc_allele(record, inputs, chain)
    return out


def _svoc_allele(record: dict, inputs: list[list[str]], chain) -> tuple | None:  # noqa: ANN001
    """The GRCh38 allele of an SVOC output row: an SNV from its g. notation, else the nearest input VCF record of the
    same length change (SVOC's output is right-normalised and leaves some inputs out, so rows do not line up)."""
    if record["chrom37"] is None:
        return None
    snv = re.search(r"g\.(\d+)([ACGT])>([ACGT])", record["hg19"])
    if snv:
        chrom, pos, ref, alt = record["chrom37"], int(snv.group(1)), snv.group(2), snv.group(3)
    else:
        candidates = []
        for chrom, pos, _id, ref, alt in inputs:
            ref, alt = ref.replace("-", ""), alt.replace("-", "")
            if chrom != record["chrom37"] or abs(int(pos) - record["pos37"]) > 20 or len(ref) == len(alt) == 1:
                continue
            kind = "del" if len(ref) > len(alt) else "ins" if len(alt) > len(ref) else "delins"
            if kind in record["hg19"] or (kind == "delins" and "delins" in record["hg19"]):
                candidates.append((abs(int(pos) - record["pos37"]), chrom, int(pos), ref, alt))
        if not candidates:
            return None
        _, chrom, pos, ref, alt = min(candidates)
    lifted = chain.lift_allele(chrom, pos, ref or "N", alt or "N") if ref and alt else None
    if lifted is None:
        position = chain.lift_position(chrom, pos)
        return (position.chrom, position.pos, ref, alt) if position else None
    return lifted


def _xlsx_rows(data: bytes) -> list[list[str]]:
    sheet = ET.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(_XLSX + "row"):
        cells = []
        for cell in row.findall(_XLSX + "c"):
            if cell.get("t") == "inlineStr":
                cells.append("".join(t.text or "" for t in cell.iter(_XLSX + "t")))
            else:
                value = cell.find(_XLSX + "v")
                cells.append(value.text if value is not None and value.text else "")
        rows.append(cells)
    return rows


def read_oncovi(repo: Path) -> list[dict]:
    """OncoVI's published predictions for the SOP validation variants (GRCh38)."""
    rows = _xlsx_rows(_git_show(repo, "exampleoutput/SOP_table_union_OncoVI_prediction.xlsx"))
    header = rows[0]
    out = []
    for row in rows[1:]:
        record = dict(zip(header, row, strict=False))
        afs = [float(v) for v in (record.get("gnomADe_AF", ""), record.get("gnomADg_AF", "")) if v not in ("", "-")]
        protein = record["HGVSp"].split(":")[-1] if record.get("HGVSp") and "p." in record["HGVSp"] else None
        terms = record["Consequence"].split("&")
        out.append({"source": "OncoVI", "id": f"OncoVI:{record['new_identifier']}", "gene": record["SYMBOL"] or ".",
                    "grch38": (record["CHROM"], int(record["POS"]), record["REF"], record["ALT"]),
                    "protein": protein, "cdna": record["HGVSc"].split(":")[-1], "consequence": terms[0],
                    "consequences": terms, "population_af": max(afs) if afs else 0.0,
                    "points": int(record["Points"]), "class": record["Classification"],
                    "criteria": [c for c in record["Criteria"].split(",") if c]})
    return out


def shared_alleles() -> set[tuple[str, int, str, str]]:
    """GRCh38 alleles of the development tumours in ../shared/benchmarks/cancer (VCFs; GRCh37 files lifted)."""
    alleles: set[tuple[str, int, str, str]] = set()
    for path in (SHARED / "benchmarks" / "cancer").rglob("*.vcf.gz"):
        with gzip.open(path, "rt") as handle:
            for line in handle:
                if not line.startswith("#"):
                    chrom, pos, _, ref, alt = line.split("\t")[:5]
                    for allele in alt.split(","):
                        alleles.add((chrom.removeprefix("chr"), int(pos), ref, allele))
    return alleles


def classify(kb, record: dict) -> tuple[str, int | None, list[str], list[str]]:  # noqa: ANN001
    """gmc's class, points, criteria and missing inputs for one published variant."""
    chrom, pos, ref, alt = record["grch38"]
    variant = SomaticVariant(str(chrom).removeprefix("chr"), pos, ref, alt,
                             gene=None if record["gene"] == "." else record["gene"],
                             consequences=tuple(record.get("consequences") or [record["consequence"]]),
                             hgvs_p=record["protein"], hgvs_c=record["cdna"], population_af=record["population_af"],
                             revel=record.get("revel"))
    result = assess_oncogenicity(kb, variant, match_variant(kb, variant))
    return result.label, result.points, result.criteria, result.missing_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--svoc", type=Path, default=MIRROR / "leqingsang+SVOC" / "repo")
    parser.add_argument("--oncovi", type=Path, default=MIRROR / "MGCarta+oncovi" / "repo")
    parser.add_argument("--json", type=Path, help="Write every comparison here.")
    args = parser.parse_args()
    refdata = SHARED / "refdata"
    kb = load_knowledgebase(str(refdata))
    chain = load_chain(str(refdata / "liftover" / "hg19ToHg38.over.chain.gz"))
    in_shared = shared_alleles()
    report = {}
    svoc, oncovi = read_svoc(args.svoc, chain), read_oncovi(args.oncovi)
    # REVEL is a property of the allele, not of a classifier: OncoVI's table prints none, so its variants take the
    # score SVOC's output prints for the same GRCh38 allele (where SVOC has it).
    revel = {tuple(r["grch38"]): r["revel"] for r in svoc if r.get("grch38") and r.get("revel") is not None}
    for record in oncovi:
        record["revel"] = revel.get(tuple(record["grch38"]))
    for name, records in (("SVOC", svoc), ("OncoVI", oncovi)):
        rows = []
        for record in records:
            if record["grch38"] is None:
                record["excluded"] = "no GRCh38 position"
            elif tuple(record["grch38"]) in in_shared:
                record["excluded"] = "in ../shared/benchmarks"
            else:
                label, points, criteria, missing = classify(kb, record)
                record.update(gmc_class=label, gmc_points=points, gmc_criteria=criteria, missing=missing)
            rows.append(record)
        measured = [r for r in rows if "gmc_class" in r and not r["missing"]]
        agree = sum(r["gmc_class"] == r["class"] for r in measured)
        confusion = Counter((r["class"], r["gmc_class"]) for r in measured)
        criteria_gap = Counter()
        for r in measured:
            if r["gmc_class"] != r["class"]:
                for code in set(r["criteria"]) ^ set(r["gmc_criteria"]):
                    criteria_gap[("theirs only" if code in r["criteria"] else "gmc only", code)] += 1
        excluded = Counter(r.get("excluded") for r in rows if r.get("excluded"))
        not_classified = sum(1 for r in rows if r.get("missing"))
        print(f"\n## {name}: {len(rows)} published variants, {sum(excluded.values())} left out {dict(excluded)}, "
              f"{not_classified} with an input missing, {len(measured)} compared")
        print(f"exact five-class agreement: {agree}/{len(measured)} = {agree / max(len(measured), 1):.1%}")
        within_one = sum(abs(CLASSES.index(r["gmc_class"]) - CLASSES.index(r["class"])) <= 1 for r in measured
                         if r["gmc_class"] in CLASSES and r["class"] in CLASSES)
        print(f"within one class: {within_one}/{len(measured)}")
        print("their class -> gmc class (count):")
        for (theirs, ours), count in sorted(confusion.items(), key=lambda item: -item[1]):
            print(f"  {theirs:17} -> {ours:17} {count}")
        print("criteria behind the disagreements:", dict(criteria_gap.most_common(12)))
        report[name] = {"published": len(rows), "excluded": dict(excluded), "compared": len(measured),
                        "agree": agree, "within_one": within_one,
                        "confusion": {f"{a} -> {b}": c for (a, b), c in confusion.items()},
                        "criteria_gap": {f"{a}: {b}": c for (a, b), c in criteria_gap.items()}, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
