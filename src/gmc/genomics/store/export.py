"""Export of store answers to TSV and to VCF (one column per sample)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from gmc.genomics.store.layout import CHROMOSOMES, StoreError

_GT_TEXT = {(1, 2): "0/1", (2, 2): "1/1", (2, 1): "1", (1, 1): "1"}


def export_tsv(table: pa.Table, path: Path | str) -> int:
    """Writes any answer table as tab-separated text with a header; returns the number of rows."""
    with open(path, "w") as fh:
        fh.write("\t".join(table.column_names) + "\n")
        for row in table.to_pylist():
            fh.write("\t".join(_tsv_value(row[c]) for c in table.column_names) + "\n")
    return table.num_rows


def _tsv_value(value: object) -> str:
    """Empty for null, plain text otherwise (tabs and newlines would break the format)."""
    if value is None:
        return ""
    text = str(value)
    if "\t" in text or "\n" in text:
        raise StoreError(f"value {text!r} contains a tab or newline and cannot go into TSV")
    return text


def _gt_text(gt: int, ploidy: int) -> str:
    """VCF GT text of a stored call (ploidy unknown counts as diploid)."""
    return _GT_TEXT[(gt, 1 if ploidy == 1 else 2)]


def _num(value: int | None) -> str:
    """VCF text of a stored integer, '.' for the missing marker -1."""
    return "." if value is None or value < 0 else str(value)


def export_vcf(
    calls: pa.Table, path: Path | str, *, samples: Sequence[str] | None = None, build: str = ""
) -> int:
    """Writes calls (a sample_variants/gene_carriers answer) as a VCF with GT:GQ:DP:AD; returns records written.

    A sample without a stored call at a site is written as ./. : the store keeps no reference
    blocks, so it cannot tell hom-ref from not covered.
    """
    missing = [c for c in ("sample", "chrom", "pos", "ref", "alt", "gt") if c not in calls.column_names]
    if missing:
        raise StoreError(f"calls table lacks column(s) {', '.join(missing)} for VCF export")
    names = list(samples) if samples is not None else sorted(set(calls.column("sample").to_pylist()))
    column = {s: i for i, s in enumerate(names)}
    records: dict[tuple[int, int, str, str], dict] = {}
    for row in calls.to_pylist():
        if row["sample"] not in column:
            continue
        site = (CHROMOSOMES.index(row["chrom"]), row["pos"], row["ref"], row["alt"])
        record = records.setdefault(site, {"qual": row.get("qual"), "filter": row.get("filter"), "calls": {}})
        record["calls"][row["sample"]] = row
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        fh.write("##source=gmc variant store\n")
        if build:
            fh.write(f"##reference={build}\n")
        for chrom in sorted({CHROMOSOMES[s[0]] for s in records}, key=CHROMOSOMES.index):
            fh.write(f"##contig=<ID={chrom}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write('##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n')
        fh.write('##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n')
        fh.write('##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths (ref, alt)">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names) + "\n")
        for site in sorted(records):
            rec = records[site]
            chrom, pos, ref, alt = CHROMOSOMES[site[0]], site[1], site[2], site[3]
            qual = rec["qual"]
            qual_text = "." if qual is None or math.isnan(qual) else f"{qual:.2f}"
            fields = [chrom, str(pos), ".", ref, alt, qual_text, rec["filter"] or ".", ".", "GT:GQ:DP:AD"]
            for name in names:
                call = rec["calls"].get(name)
                if call is None:
                    fields.append("./.:.:.:.")
                    continue
                ad_ref = call.get("ad_ref")
                ad = "." if ad_ref is None or ad_ref < 0 else f"{ad_ref},{_num(call.get('ad_alt'))}"
                fields.append(
                    f"{_gt_text(call['gt'], call.get('ploidy', 2))}:{_num(call.get('gq', -1))}:"
                    f"{_num(call.get('dp', -1))}:{ad}"
                )
            fh.write("\t".join(fields) + "\n")
    return len(records)

