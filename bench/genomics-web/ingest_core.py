"""Ingest core on a generated genome-wide VCF (no database): read, QC, annotate new sites, counts, store commit.

Usage: .venv/bin/python bench/genomics-web/ingest_core.py [--records 1000000] [--workdir /tmp/gmc_ingest_core]
Writes a synthetic one-sample GRCh38 VCF (random SNVs spread over chr1-22 and X, the Pfeiffer exome's header)
and a fresh store under the work directory, never in the repo. The annotation sources are loaded before the clock
starts. Prints the CPU seconds of each stage of gmc.genomics.ingest as the service runs them (the main process's,
then the annotation workers' together), and the rate.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import time
from pathlib import Path

import numpy as np

from gmc.genomics import ingest as core
from gmc.genomics.store.writer import ingest_tables
from gmc.settings import get_settings

LENGTHS = {  # GRCh38 chromosome lengths
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555, "chr5": 181538259,
    "chr6": 170805979, "chr7": 159345973, "chr8": 145138636, "chr9": 138394717, "chr10": 133797422,
    "chr11": 135086622, "chr12": 133275309, "chr13": 114364328, "chr14": 107043718, "chr15": 101991189,
    "chr16": 90338345, "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895,
}
HEADER = ("benchmarks", "rare", "background", "Pfeiffer_exome_GRCh38.liftover.vcf.gz")


def vcf_header_lines() -> list[str]:
    """The Pfeiffer exome's VCF header (GRCh38 contigs, one sample), for generated genomes."""
    source = get_settings().refdata_dir().parent / Path(*HEADER)
    with gzip.open(source, "rt") as fh:
        return [line for line in fh if line.startswith("#")]


def write_vcf(path: Path, records: int, seed: int = 7) -> None:
    """A one-sample VCF of random SNVs (60% het) with GT:AD:DP:GQ:PL, positions sorted per chromosome."""
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    total = sum(LENGTHS.values())
    with gzip.open(path, "wt", compresslevel=1) as out:
        out.writelines(vcf_header_lines())
        for chrom, length in LENGTHS.items():
            n = int(records * length / total)
            pos = np.sort(rng.choice(length - 100, n, replace=False) + 10)
            ref = rng.integers(0, 4, n)
            alt = (ref + rng.integers(1, 4, n)) % 4
            het = rng.random(n) < 0.6
            gq, dp = rng.integers(5, 99, n), rng.integers(5, 60, n)
            out.writelines(
                f"{chrom}\t{p}\t.\t{bases[r]}\t{bases[a]}\t50\tPASS\tDP={d}\tGT:AD:DP:GQ:PL\t"
                + (f"0/1:{d // 2},{d - d // 2}" if h else f"1/1:0,{d}") + f":{d}:{q}:0,0,0\n"
                for p, r, a, h, q, d in zip(pos.tolist(), ref.tolist(), alt.tolist(), het.tolist(), gq.tolist(),
                                            dp.tolist(), strict=True)
            )


def main() -> None:
    """Prints the CPU seconds per stage and the rows per CPU-second."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gmc_ingest_core"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    vcf = args.workdir / f"synthetic_{args.records}.vcf.gz"
    if not vcf.exists():
        write_vcf(vcf, args.records)
    samples, build = core.check_header(vcf, mapped=["manuel"], skipped=[], build=None, field_prefix="files[0]")
    annotate = core.annotator(build)
    root = args.workdir / f"store_{time.time_ns()}"
    stages: dict[str, float] = {}

    def timed(name: str, fn, *a, **k):  # noqa: ANN001, ANN202 - a bench helper
        start = time.process_time()
        result = fn(*a, **k)
        stages[name] = time.process_time() - start
        return result

    # as the service runs them: new sites are annotated (and, for a large file, the text parsed) by the
    # worker processes while the file is read and QC'd; "annotate" is the wait for the last of them
    wall = time.perf_counter()
    annotation = core.NewSiteAnnotation(root, annotate)
    parsed = timed("read", core.read_vcf, vcf, samples, build, annotation=annotation)
    timed("qc", core.run_qc, parsed, recorded_sex={"manuel": "male"}, trios=[])
    sites = timed("annotate", annotation.result, parsed)
    timed("counts", core.variant_counts, parsed)
    names = [core.store_sample_name(parsed.sha256, s) for s in samples]
    timed("store", ingest_tables, root, sites=sites, genotypes=parsed.calls, samples=names, dataset_id="bench",
          source=vcf.name, build=build, keys=parsed.keys)
    wall = time.perf_counter() - wall
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = children.ru_utime + children.ru_stime
    total = sum(stages.values()) + workers
    print(", ".join(f"{k} {v:.2f} s" for k, v in stages.items()) + f", workers {workers:.2f} s")
    print(f"{parsed.records:,} allele rows: {total:.2f} s CPU ({parsed.records / total:,.0f} rows per CPU-second), "
          f"{wall:.2f} s wall")


if __name__ == "__main__":
    main()
