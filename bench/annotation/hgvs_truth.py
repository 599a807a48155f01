"""Agreement of gmc's HGVS c. and p. with independent truth, and what is withheld and why.

Run from the repository root:  .venv/bin/python bench/annotation/hgvs_truth.py [--no-fasta]

Truth sources (none of them made by gmc):
- the 500 shared phenopackets: published, VariantValidator-checked HGVS c./p. beside each vcfRecord (GRCh38);
- biocommons/hgvs test data (bench/annotation/data/biocommons_hgvs_gcp, GRCh37 g. with c./p. computed by the
  hgvs package from UTA): lifted to GRCh38 with the shared chain, written as VCF alleles with the sparse FASTA;
- VEP's CSQ HGVSc/HGVSp in the shared Scout trio (GRCh37, no GRCh37 FASTA offline: substitutions only can be
  given, the rest is withheld), compared where VEP's transcript is gmc's MANE transcript.
A description counts as agreeing when equal after the publication's spelling variants (c.479dupT -> c.479dup,
"c.367C > T", parentheses around p.) are made canonical; a withheld one is counted apart, with its reason.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

from gmc.genomics.annotation.annotate import load_sources, transcript_consequences
from gmc.genomics.annotation.existing import annotation_fields, for_allele, parse_existing
from gmc.genomics.liftover import load_chain
from gmc.genomics.vcf import normalise_chrom, trim_alleles

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
GCP = Path(__file__).resolve().parent / "data" / "biocommons_hgvs_gcp"


def canonical_c(text: str) -> str:
    """c. as VariantValidator writes it: no spaces, no bases (or count) after del/dup/inv, delXins as delins."""
    text = re.sub(r"del[ACGT]+ins", "delins", text.replace(" ", ""))
    return re.sub(r"(del|dup|inv)([ACGT]+|\d+)$", r"\1", text)


def canonical_p(text: str) -> str:
    """p. without the prediction parentheses, * as Ter."""
    text = text.replace("(", "").replace(")", "")
    return re.sub(r"\*", "Ter", text) if "*" in text else text


class Tally:
    """Agreement counts of one truth source, split by substitution/indel and with the withheld reasons."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: collections.Counter = collections.Counter()
        self.reasons: collections.Counter = collections.Counter()
        self.differ: list[tuple] = []

    def c(self, expected: str, found, kind: str, where: tuple) -> None:
        if found.hgvs_c is None and not found.note:
            # upstream of the MANE model (the truth's transcript version starts further 5'): not numbered
            self.counts[f"c {kind} outside the transcript model"] += 1
        elif found.hgvs_c is None:
            self.counts[f"c {kind} withheld"] += 1
            self.reasons[(found.note or "").split(":")[0] + " (" + (found.note or "").rsplit("(", 1)[-1]] += 1
        elif found.hgvs_c == canonical_c(expected):
            self.counts[f"c {kind} agree"] += 1
        else:
            self.counts[f"c {kind} differ"] += 1
            self.differ.append(("c", *where, expected, found.hgvs_c))

    def p(self, expected: str, found, where: tuple) -> None:
        expected = canonical_p(expected)
        if found.hgvs_p is None:
            self.counts["p withheld"] += 1
        elif found.hgvs_p == expected or (expected.endswith("fs") and found.hgvs_p.startswith(expected + "Ter")):
            # the short frameshift form (p.Trp445Valfs) names the same change without the new stop's place
            self.counts["p agree"] += 1
        else:
            self.counts["p differ"] += 1
            self.differ.append(("p", *where, expected, found.hgvs_p))

    def report(self) -> None:
        print(f"\n## {self.name}")
        for key in sorted(self.counts):
            print(f"  {key}: {self.counts[key]}")
        for reason, n in self.reasons.most_common():
            print(f"  withheld because: {reason}: {n}")
        for item in self.differ[:40]:
            print("  differ:", item)


def _on(consequences, accession: str):
    return next((c for c in consequences if c.refseq and c.refseq.split(".")[0] == accession.split(".")[0]), None)


def phenopackets(sources) -> Tally:
    tally = Tally("phenopackets (published, VariantValidator-checked)")
    for path in sorted((SHARED / "benchmarks/rare/phenopackets").glob("*.json")):
        for interpretation in json.loads(path.read_text()).get("interpretations", []):
            for finding in interpretation["diagnosis"].get("genomicInterpretations", []):
                descriptor = finding.get("variantInterpretation", {}).get("variationDescriptor", {})
                vcf = descriptor.get("vcfRecord")
                hgvs = {e["syntax"]: e["value"] for e in descriptor.get("expressions", [])}
                if not vcf or "hgvs.c" not in hgvs:
                    continue
                chrom = normalise_chrom(vcf["chrom"])
                pos, ref, alt = trim_alleles(int(vcf["pos"]), vcf["ref"], vcf["alt"])
                accession, c = hgvs["hgvs.c"].split(":", 1)
                found = _on(transcript_consequences(chrom, pos, ref, alt, sources), accession)
                if found is None:
                    tally.counts["not on a MANE transcript"] += 1
                    continue
                kind = "substitution" if len(ref) == len(alt) == 1 else "other"
                tally.counts[f"strand {'+' if found.strand > 0 else '-'}"] += 1
                tally.c(c, found, kind, (path.name, chrom, pos, ref, alt))
                if "hgvs.p" in hgvs:
                    tally.p(hgvs["hgvs.p"].split(":", 1)[1], found, (path.name, chrom, pos, ref, alt))
    return tally


_G = re.compile(r"^NC_0000(\d\d)\.\d+:g\.(\d+)(?:_(\d+))?(.*)$")


def _allele(genome, chrom: str, start: int, end: int, change: str):
    """A VCF allele (pos, ref, alt) on GRCh38 for an HGVS g. change at start..end (GRCh38 positions)."""
    sub = re.fullmatch(r"([ACGT])>([ACGT])", change)
    if sub:
        return start, sub.group(1), sub.group(2)
    anchor = genome.fetch(chrom, start - 1, start - 1)
    if change.startswith("delins"):
        return start, genome.fetch(chrom, start, end), change[6:]
    if change.startswith("del"):
        return start - 1, anchor + genome.fetch(chrom, start, end), anchor
    if change.startswith("dup"):
        return start - 1, anchor, anchor + genome.fetch(chrom, start, end)
    if change.startswith("ins"):
        base = genome.fetch(chrom, start, start)
        return start, base, base + change[3:]
    return None


def biocommons(sources) -> Tally:
    tally = Tally("biocommons/hgvs test data (GRCh37 g. lifted to GRCh38; c./p. by hgvs from UTA)")
    chain = load_chain(SHARED / "refdata/liftover/hg19ToHg38.over.chain.gz")
    genome = sources.genome
    for path in sorted(GCP.glob("*.tsv")):
        for line in path.read_text().splitlines()[1:]:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 3 or ":" not in fields[2]:
                continue
            match = _G.match(fields[1])
            if not match or not fields[2].startswith("NM_"):
                continue
            chrom = str(int(match.group(1))).replace("23", "X")
            start, end, change = int(match.group(2)), int(match.group(3) or match.group(2)), match.group(4)
            change = re.sub(r"^del[ACGT]+ins", "delins", re.sub(r"^(del|dup)[ACGT]*$", r"\1", change))
            lifted = chain.lift_interval(chrom, start, end)
            if lifted is None or lifted[2] - lifted[1] != end - start:
                tally.counts["not lifted"] += 1
                continue
            chrom38, start38, end38 = normalise_chrom(lifted[0]), lifted[1], lifted[2]
            if chain.lift_position(chrom, start).strand == "-":
                tally.counts["strand changed in the lift"] += 1
                continue
            allele = _allele(genome, chrom38, start38, end38, change)
            if allele is None or "N" in allele[1] + allele[2]:
                tally.counts["no GRCh38 sequence to write the allele"] += 1
                continue
            pos, ref, alt = trim_alleles(*allele)
            accession, c = fields[2].split(":", 1)
            found = _on(transcript_consequences(chrom38, pos, ref, alt, sources), accession)
            if found is None:
                tally.counts["not on a MANE transcript"] += 1
                continue
            kind = "substitution" if len(ref) == len(alt) == 1 else "other"
            tally.counts[f"strand {'+' if found.strand > 0 else '-'}"] += 1
            tally.c(c, found, kind, (path.name, fields[0], chrom38, pos, ref, alt))
            if len(fields) > 3 and fields[3].startswith("NP_"):
                tally.p(fields[3].split(":", 1)[1], found, (path.name, fields[0], chrom38, pos, ref, alt))
    return tally


def vep_trio() -> Tally:
    tally = Tally("VEP CSQ HGVSc/HGVSp, Scout demo trio (GRCh37: no sequence offline)")
    from cyvcf2 import VCF

    sources = load_sources("GRCh37")
    path = SHARED / "benchmarks/annotated/scout_demo_643594_trio.clinical.GRCh37.vcf.gz"
    vcf = VCF(str(path))
    fields = annotation_fields(vcf.raw_header)["CSQ"]
    for record in vcf:
        chrom = normalise_chrom(record.CHROM)
        csq = record.INFO.get("CSQ")
        for alt in record.ALT:
            pos, ref, trimmed = trim_alleles(record.POS, record.REF, alt)
            ours = {c.transcript.split(".")[0]: c for c in transcript_consequences(chrom, pos, ref, trimmed, sources)}
            for entry in for_allele(parse_existing("CSQ", csq or "", fields), record.REF, alt):
                found = ours.get(entry.transcript.split(".")[0])
                if found is None or not entry.hgvs_c:
                    continue
                kind = "substitution" if len(ref) == len(trimmed) == 1 else "other"
                tally.counts[f"strand {'+' if found.strand > 0 else '-'}"] += 1
                tally.c(entry.hgvs_c, found, kind, (chrom, pos, ref, trimmed, entry.transcript))
                if entry.hgvs_p:
                    tally.p(entry.hgvs_p, found, (chrom, pos, ref, trimmed))
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-fasta", action="store_true", help="annotate without the reference-data FASTA")
    args = parser.parse_args()
    sources = load_sources("GRCh38", fasta=False if args.no_fasta else None)
    print(f"GRCh38 FASTA: {sources.genome.path if sources.genome else 'none'}", file=sys.stderr)
    for tally in (phenopackets(sources), biocommons(load_sources("GRCh38")), vep_trio()):
        tally.report()


if __name__ == "__main__":
    main()
