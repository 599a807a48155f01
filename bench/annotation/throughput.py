"""Throughput of VCF reading and annotation on the shared VCFs (one run each; 2-core machine).

Run from the repository root:  .venv/bin/python bench/annotation/throughput.py
"""

from __future__ import annotations

import gzip
import resource
import time
from pathlib import Path

import pyarrow as pa

from gmc.genomics.annotation.annotate import annotate_alleles, annotate_vcf, load_sources
from gmc.genomics.annotation.writers import write_parquet
from gmc.genomics.vcf import open_vcf

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FILES = (
    (
        "Platinum NA12878 chr21 (genome-like)",
        "benchmarks/rare/background/PlatinumGenomes_NA12878_GRCh38_chr21.vcf.gz",
    ),
    ("Pfeiffer exome (GRCh38)", "benchmarks/rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz"),
)


class _Clock:
    """Wall and CPU seconds since creation (CPU time is steadier on a shared machine)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rate(self, n: int) -> str:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return f"{n:,} in {wall:.2f} s wall = {n / wall:,.0f}/s; {cpu:.2f} s CPU = {n / cpu:,.0f}/s per core"


def synthetic_genome(path: Path, records_per_chrom: int = 45_000) -> int:
    """Writes a genome-wide VCF by spreading the Platinum chr21 records over chr1-22 and X (positions scaled).

    The REF bases no longer match the genome (no FASTA is used with it); the mix of intergenic, intronic and
    exonic positions and of SNVs and indels stays that of a real genome.
    """
    from gmc.genomics.vcf import BUILD_CONTIG_LENGTHS

    source = SHARED / FILES[0][1]
    with gzip.open(source, "rt") as handle:
        body = [line.split("\t", 8)[:8] for line in handle if not line.startswith("#")][:records_per_chrom]
    lengths = BUILD_CONTIG_LENGTHS["GRCh38"]
    first, last = int(body[0][1]), int(body[-1][1])
    written = 0
    with gzip.open(path, "wt", compresslevel=1) as out:
        out.write("##fileformat=VCFv4.2\n")
        for chrom in [*map(str, range(1, 23)), "X"]:
            out.write(f"##contig=<ID=chr{chrom},length={lengths[chrom]}>\n")
        out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for chrom in [*map(str, range(1, 23)), "X"]:
            scale = (lengths[chrom] - 20_000) / (last - first + 1)
            for fields in body:
                pos = 10_000 + int((int(fields[1]) - first) * scale)
                out.write(f"chr{chrom}\t{pos}\t.\t{fields[3]}\t{fields[4]}\t{fields[5]}\t{fields[6]}\t.\n")
                written += 1
    return written


def main() -> None:
    """Prints reading, annotation and end-to-end rates per file."""
    started = time.perf_counter()
    sources = load_sources("GRCh38")
    _ = sources.arrays
    print(
        "load reference data (MANE, ClinVar, constraint, ClinGen, arrays): "
        f"{time.perf_counter() - started:.2f} s"
    )
    fasta = SHARED / "refdata/grch38/sequence/GRCh38_sparse_Nmasked.fa.gz"
    with_fasta = load_sources("GRCh38", fasta=fasta)
    with_fasta.__dict__["arrays"] = sources.arrays
    for label, relative in FILES:
        path = SHARED / relative
        print(f"\n## {label}")
        t = _Clock()
        batches = list(open_vcf(path).batches())
        n = sum(len(b) for b in batches)
        print("read with genotypes:         ", t.rate(n))
        t = _Clock()
        batches = list(open_vcf(path, samples=[]).batches())
        print("read sites only (Arrow CSV): ", t.rate(n))
        t = _Clock()
        for b in batches:
            annotate_alleles(b.chrom, b.pos, b.ref, b.alt, sources)
        print("annotate (no FASTA):         ", t.rate(n))
        t = _Clock()
        for b in batches:
            annotate_alleles(b.chrom, b.pos, b.ref, b.alt, with_fasta)
        print("annotate (sparse FASTA):     ", t.rate(n))
        t = _Clock()
        out = Path("/tmp") / f"gmc-bench-{path.stem}.parquet"
        rows = write_parquet((table for _, table in annotate_vcf(path, sources)), out, sources.provenance())
        print("end to end to Parquet:       ", t.rate(rows))
        out.unlink()
    synthetic = Path("/tmp/gmc-bench-synthetic-genome.vcf.gz")
    n = synthetic_genome(synthetic)
    print(f"\n## synthetic genome-wide VCF ({n:,} records: Platinum chr21 spread over chr1-22, X)")
    t = _Clock()
    out = Path("/tmp/gmc-bench-synthetic.parquet")
    rows = write_parquet((table for _, table in annotate_vcf(synthetic, sources)), out, sources.provenance())
    print("end to end to Parquet:       ", t.rate(rows))
    out.unlink()
    synthetic.unlink()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak:,.0f} MiB; pyarrow {pa.__version__}")


if __name__ == "__main__":
    main()
