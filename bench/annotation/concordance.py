"""Concordance of gmc consequences with ClinVar's MC field and with VEP / SnpEff / bcftools csq calls.

Run from the repository root:  .venv/bin/python bench/annotation/concordance.py
"""

from __future__ import annotations

import collections
import gzip
import sys
import time
from pathlib import Path

from cyvcf2 import VCF

from gmc.genomics.annotation.annotate import load_sources, transcript_consequences
from gmc.genomics.annotation.consequence import annotate_transcript
from gmc.genomics.annotation.existing import annotation_fields, for_allele, parse_existing
from gmc.genomics.vcf import normalise_chrom, trim_alleles

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CLINVAR_MC = {
    "nonsense": "stop_gained",
    "initiator_codon_variant": "start_lost",
    "inframe_indel": "inframe_deletion",
    "non-coding_transcript_variant": "non_coding_transcript_variant",
}
#: Terms that need the codon (reference sequence); without a FASTA gmc says coding_sequence_variant.
CODON_TERMS = {
    "missense_variant",
    "synonymous_variant",
    "stop_retained_variant",
    "start_retained_variant",
    "coding_sequence_variant",
    "protein_altering_variant",
    "incomplete_terminal_codon_variant",
}


def clinvar_concordance() -> None:
    """ClinVar P/LP alleles in the genes the sparse FASTA covers: does gmc give an MC term?"""
    fasta = SHARED / "refdata/grch38/sequence/GRCh38_sparse_Nmasked.fa.gz"
    sources = load_sources("GRCh38", fasta=fasta)
    covered = {
        line.split("\t")[2]
        for line in (SHARED / "refdata/grch38/sequence/mane_select_covered.tsv").read_text().splitlines()[1:]
    }
    any_agree = top_agree = total = 0
    misses: collections.Counter = collections.Counter()
    path = SHARED / "refdata/grch38/clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz"
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            info = dict(kv.split("=", 1) for kv in fields[7].strip().split(";") if "=" in kv)
            if "MC" not in info:
                continue
            chrom, pos = normalise_chrom(fields[0]), int(fields[1])
            near = [
                t
                for t in sources.transcripts.overlapping(chrom, pos, pos + len(fields[3]))
                if t.name in covered
            ]
            if not near:
                continue
            expected = {CLINVAR_MC.get(m.split("|")[1], m.split("|")[1]) for m in info["MC"].split(",")}
            result = annotate_transcript(near[0], *trim_alleles(pos, fields[3], fields[4]), sources.genome)
            terms = result.terms if result else []
            total += 1
            any_agree += bool(set(terms) & expected)
            top_agree += bool(terms and terms[0] in expected)
            if not set(terms) & expected:
                misses[(terms[0] if terms else "none", "&".join(sorted(expected)))] += 1
    print("## ClinVar MC (GRCh38, sparse FASTA, MANE transcripts of the 67 covered genes)")
    print(f"alleles compared: {total}")
    print(f"gmc term among ClinVar's MC terms: {any_agree} ({100 * any_agree / total:.2f} %)")
    print(f"gmc most severe term among ClinVar's MC terms: {top_agree} ({100 * top_agree / total:.2f} %)")
    print("top disagreements (gmc most severe, ClinVar MC):")
    for (ours, theirs), count in misses.most_common(8):
        print(f"  {count:5d}  {ours}  vs  {theirs}")


def existing_concordance(path: Path, key: str) -> None:
    """Compares gmc's consequence with an annotator's, on the same (MANE) transcript."""
    sources = load_sources("GRCh37")
    vcf = VCF(str(path))
    fields = annotation_fields(vcf.raw_header)[key]
    exact = by_class = total = no_transcript = 0
    misses: collections.Counter = collections.Counter()
    for record in vcf:
        value = record.INFO.get(key)
        if not value:
            continue
        entries = parse_existing(key, value, fields)
        chrom = normalise_chrom(record.CHROM)
        for alt in record.ALT:
            pos, ref, trimmed = trim_alleles(record.POS, record.REF, alt)
            ours = {
                c.transcript.split(".")[0]: c
                for c in transcript_consequences(chrom, pos, ref, trimmed, sources)
            }
            matched = False
            for entry in for_allele(entries, record.REF, alt):
                mine = ours.get(entry.transcript.split(".")[0])
                if mine is None or not entry.terms:
                    continue
                matched = True
                theirs_top = min(entry.terms, key=lambda t: _rank(t))
                mine_top = mine.terms[0]
                total += 1
                exact += mine_top == theirs_top
                mine_classes = {_class(t, ref, trimmed) for t in mine.terms}
                theirs_classes = {_class(t, ref, trimmed) for t in entry.terms}
                # VEP lists splice_region with the coding term; bcftools csq names only one of them
                same_class = (
                    _class(mine_top, ref, trimmed) in theirs_classes
                    or _class(theirs_top, ref, trimmed) in mine_classes
                )
                by_class += same_class
                if not same_class:
                    misses[(mine_top, theirs_top)] += 1
            no_transcript += not matched
    vcf.close()
    print(f"## {key} in {path.name} (GRCh37, no FASTA, same transcript)")
    print(
        f"allele-transcript pairs compared: {total}; "
        f"alleles without a shared MANE transcript: {no_transcript}"
    )
    print(f"same most severe term: {exact} ({100 * exact / max(total, 1):.2f} %)")
    print(
        "same term class (codon-level terms grouped; either most severe term in the other's list): "
        f"{by_class} ({100 * by_class / max(total, 1):.2f} %)"
    )
    print("top disagreements (gmc, theirs):")
    for (ours, theirs), count in misses.most_common(8):
        print(f"  {count:5d}  {ours}  vs  {theirs}")


def _rank(term: str) -> int:
    from gmc.genomics.annotation.consequence import SO_RANK

    return SO_RANK.get(term, len(SO_RANK))


def _class(term: str, ref: str, alt: str) -> str:
    substitution = len(ref) == len(alt)
    if term in CODON_TERMS or (substitution and term in {"stop_gained", "stop_lost"}):
        return "coding_substitution"
    return term


def main() -> None:
    """Prints every concordance figure with the time it took."""
    started = time.time()
    clinvar_concordance()
    annotated = SHARED / "benchmarks/annotated"
    for name, key in (
        ("scout_demo_643594_trio.clinical.GRCh37.vcf.gz", "CSQ"),
        ("scout_demo_643594_trio.clinical.GRCh37.vcf.gz", "ANN"),
        ("GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz", "BCSQ"),
        ("cyvcf2_test_189samples_CSQ_ANN.GRCh37.vcf.gz", "CSQ"),
    ):
        print()
        existing_concordance(annotated / name, key)
    print(f"\n(total {time.time() - started:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
