"""Generates an exome-scale synthetic cohort into a variant store through the real ingest path.

Sites sit on real GRCh38 MANE Select coding exons; allele frequencies follow a rare-heavy spectrum
(most sites rare, a minority common) tuned so that one exome carries about 28,000 non-reference
alleles, near the real Pfeiffer exome (36,787). Genomes are ingested in batches of 1,000 samples, as
a joint-called batch VCF would be.

    .venv/bin/python bench/store/generate_cohort.py --genomes 1000 --out /tmp/gmc_bench/store_1k
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from gmc.genomics.store.layout import CHROMOSOMES
from gmc.genomics.store.writer import ingest_tables
from gmc.settings import get_settings

BASES = np.array(list("ACGT"))


def coding_exons() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[str, str, int, int]]]:
    """MANE Select coding exon intervals (chrom, 1-based start, end) and gene spans."""
    path = get_settings().refdata_path("grch38", "mane_select.genepred.tsv.gz")
    chroms, starts, ends, genes = [], [], [], []
    with gzip.open(path, "rt") as fh:
        next(fh)
        for line in fh:
            f = line.rstrip("\n").split("\t")
            chrom = f[1].removeprefix("chr").replace("M", "MT") if f[1] != "chrM" else "MT"
            if chrom not in CHROMOSOMES:
                continue
            cds_start, cds_end = int(f[5]), int(f[6])
            genes.append((f[10], chrom, int(f[3]) + 1, int(f[4])))
            for s, e in zip(f[8].rstrip(",").split(","), f[9].rstrip(",").split(","), strict=True):
                s, e = max(int(s), cds_start), min(int(e), cds_end)
                if e > s:
                    chroms.append(chrom)
                    starts.append(s + 1)
                    ends.append(e)
    return np.array(chroms, dtype=object), np.array(starts), np.array(ends), genes


def make_sites(n_sites: int, rng: np.random.Generator, only: set[str] | None = None) -> tuple[pa.Table, np.ndarray]:
    """Unique SNV/indel sites on coding exons (of some chromosomes only) with a rare-heavy allele-frequency
    spectrum."""
    chroms, starts, ends, _ = coding_exons()
    if only is not None:
        keep = np.isin(chroms, list(only))
        chroms, starts, ends = chroms[keep], starts[keep], ends[keep]
    lengths = ends - starts + 1
    pick = rng.choice(len(starts), size=int(n_sites * 1.1), p=lengths / lengths.sum())
    pos = starts[pick] + (rng.random(len(pick)) * lengths[pick]).astype(np.int64)
    chrom = chroms[pick]
    kind = rng.random(len(pick))
    ref = BASES[rng.integers(0, 4, len(pick))]
    alt = BASES[(np.searchsorted(BASES, ref) + rng.integers(1, 4, len(pick))) % 4]
    ref, alt = ref.astype(object), alt.astype(object)
    # About 8% small indels (deletions and insertions of 1-3 bases), the rest SNVs.
    ins = kind < 0.04
    dele = (kind >= 0.04) & (kind < 0.08)
    extra = ["".join(rng.choice(list("ACGT"), k)) for k in rng.integers(1, 4, int(ins.sum() + dele.sum()))]
    ins_i, del_i = np.flatnonzero(ins), np.flatnonzero(dele)
    for j, i in enumerate(ins_i):
        alt[i] = ref[i] + extra[j]
    for j, i in enumerate(del_i):
        ref[i] = alt[i] + extra[len(ins_i) + j]
        alt[i] = alt[i][0]
    sites = pa.table({"chrom": chrom.tolist(), "pos": pa.array(pos, pa.int32()), "ref": ref.tolist(),
                      "alt": alt.tolist()})
    # Duplicate (chrom, pos, ref, alt) draws are dropped.
    keyed = sites.group_by(["chrom", "pos", "ref", "alt"]).aggregate([]).slice(0, n_sites)
    rare = rng.random(len(keyed)) < 0.85
    af = np.where(
        rare,
        np.exp(rng.uniform(np.log(5e-5), np.log(1e-3), len(keyed))),
        np.exp(rng.uniform(np.log(1e-3), np.log(0.5), len(keyed))),
    )
    qual = rng.gamma(2.0, 300.0, len(keyed)).astype(np.float32)
    filt = np.where(rng.random(len(keyed)) < 0.95, "PASS", "LowQual")
    keyed = keyed.append_column("qual", pa.array(qual)).append_column("filter", pa.array(filt.tolist()))
    return keyed, af


def make_batch_calls(af: np.ndarray, n_samples: int, rng: np.random.Generator) -> pa.Table:
    """Non-reference calls of one batch of samples under Hardy-Weinberg at each site's frequency."""
    carrier_p = 1 - (1 - af) ** 2
    counts = rng.binomial(n_samples, carrier_p)
    site = np.repeat(np.arange(len(af), dtype=np.int64), counts)
    sample = rng.integers(0, n_samples, len(site))
    code = np.unique(site * n_samples + sample)
    site, sample = code // n_samples, code % n_samples
    p = af[site]
    hom = rng.random(len(site)) < (p * p) / carrier_p[site]
    gt = np.where(hom, 2, 1).astype(np.int8)
    dp = rng.poisson(38, len(site)).astype(np.int32) + 4
    alt_frac = np.where(hom, 0.99, rng.beta(20, 20, len(site)))
    ad_alt = rng.binomial(dp, alt_frac).astype(np.int32)
    gq = np.minimum(99, rng.gamma(3.0, 25.0, len(site))).astype(np.int16)
    return pa.table({
        "row": pa.array(site),
        "sample": pa.array(sample, pa.int32()),
        "gt": pa.array(gt),
        "ploidy": pa.array(np.full(len(site), 2, np.int8)),
        "gq": pa.array(gq),
        "dp": pa.array(dp),
        "ad_ref": pa.array(dp - ad_alt),
        "ad_alt": pa.array(ad_alt),
    })


def main() -> None:
    """Builds the cohort and writes a JSON summary next to the store."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--genomes", type=int, required=True)
    parser.add_argument("--sites", type=int, default=1_200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    sites, af = make_sites(args.sites, rng)
    print(f"{len(sites)} sites in {time.time() - t0:.1f}s", flush=True)
    total_calls = 0
    for b in range(args.genomes // args.batch):
        t = time.time()
        calls = make_batch_calls(af, args.batch, rng)
        names = [f"G{b * args.batch + i:06d}" for i in range(args.batch)]
        result = ingest_tables(args.out, sites=sites, genotypes=calls, samples=names,
                               dataset_id=f"synthetic-{args.seed}-{b:04d}", source=f"batch {b}", build="GRCh38")
        total_calls += result.entry.n_genotypes
        print(f"batch {b}: {result.entry.n_genotypes} calls, {result.entry.n_new_sites} new sites, "
              f"{time.time() - t:.1f}s", flush=True)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    summary = {
        "genomes": args.genomes,
        "sites_generated": len(sites),
        "calls": total_calls,
        "calls_per_genome": total_calls / args.genomes,
        "bytes": size,
        "bytes_per_genome": size / args.genomes,
        "bytes_per_call": size / total_calls,
        "seconds": time.time() - t0,
    }
    (args.out / "bench_summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
