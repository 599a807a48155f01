"""Prepares a whole generated genome for `gmc genomes ingest`: the VCF, a fresh SQLite demo centre and a manifest.

Usage: .venv/bin/python bench/genomics-web/genome_cli.py [--records 5000000] [--workdir /tmp/gmc_genome_cli]
Writes under the work directory (never in the repo): a one-sample GRCh38 VCF of random SNVs and about 10 %
indels spread over chr1-22 and X in proportion to their lengths (the Pfeiffer exome's header), a fresh SQLite
database with the registry demo, and case.yaml mapping the VCF's sample onto the first demo rare-disease proband
who consents to sequencing. Then prints the command that ingests it through the real CLI under /usr/bin/time -v.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import yaml
from ingest_core import LENGTHS, vcf_header_lines  # this folder (the script is run directly)

SAMPLE = "manuel"  # the Pfeiffer header's sample column


def write_vcf(path: Path, records: int, seed: int = 11, indel_fraction: float = 0.1) -> None:
    """A one-sample VCF: SNVs (Ti/Tv 2) and 1-12 base insertions/deletions (anchored), 60 % het, sorted."""
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    total = sum(LENGTHS.values())
    with gzip.open(path, "wt", compresslevel=1) as out:
        out.writelines(vcf_header_lines())
        for chrom, length in LENGTHS.items():
            n = int(records * length / total)
            pos = np.sort(rng.choice(length - 100, n, replace=False) + 10)
            ref_base = bases[rng.integers(0, 4, n)]
            # a transition (offset 2 in ACGT) two times in three: Ti/Tv about 2, as in a real genome
            offset = rng.choice(np.array([1, 2, 3]), n, p=[1 / 6, 2 / 3, 1 / 6])
            alt_base = bases[(np.searchsorted(bases, ref_base) + offset) % 4]
            indel = rng.random(n) < indel_fraction
            # geometric-like indel lengths: most 1-2 bases, a few up to 12
            size = np.minimum(rng.geometric(0.45, n), 12)
            deletion = rng.random(n) < 0.5
            extra = ["".join(bases[rng.integers(0, 4, s)]) for s in size[indel].tolist()]
            ref = ref_base.astype(object)
            alt = alt_base.astype(object)
            idx = np.nonzero(indel)[0]
            for i, seq, is_del in zip(idx.tolist(), extra, deletion[indel].tolist(), strict=True):
                if is_del:
                    ref[i], alt[i] = ref_base[i] + seq, ref_base[i]
                else:
                    ref[i], alt[i] = ref_base[i], ref_base[i] + seq
            het = rng.random(n) < 0.6
            gq, dp = rng.integers(5, 99, n), rng.integers(5, 60, n)
            out.writelines(
                f"{chrom}\t{p}\t.\t{r}\t{a}\t50\tPASS\tDP={d}\tGT:AD:DP:GQ:PL\t"
                + (f"0/1:{d // 2},{d - d // 2}" if h else f"1/1:0,{d}") + f":{d}:{q}:0,0,0\n"
                for p, r, a, h, q, d in zip(pos.tolist(), ref.tolist(), alt.tolist(), het.tolist(), gq.tolist(),
                                            dp.tolist(), strict=True)
            )


def prepare_database(workdir: Path) -> tuple[str, str]:
    """A fresh SQLite centre with the registry demo; returns its URL and a consenting proband's case."""
    from gmc.audit.service import Actor
    from gmc.bootstrap import load_models
    from gmc.db.core import Database
    from gmc.db.migrate import upgrade
    from gmc.demo.service import DEMO_LOADERS, DemoSummary
    from gmc.genomics.demo import _singleton_case
    from gmc.registry import demo as registry_demo
    from gmc.registry.models import Participant

    db_path = workdir / "demo.db"
    if db_path.exists():
        db_path.unlink()
    url = f"sqlite:///{db_path}"
    upgrade(url)
    load_models()
    db = Database(url)
    actor = Actor.system("bench")
    with db.transaction() as session:
        for loader in [*DEMO_LOADERS, registry_demo.load_demo]:
            loader(session, actor, DemoSummary())
    with db.transaction() as session:
        case = _singleton_case(session, set())
        if case is None:
            raise SystemExit("the registry demo has no consenting rare-disease proband")
        proband = session.get(Participant, case.proband_id)
        result = case.case_id, proband.participant_id
    db.dispose()
    return url, *result


def main() -> None:
    """Writes the VCF, database and manifest, then prints the ingest command."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gmc_genome_cli"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    vcf = args.workdir / f"genome_{args.records}.vcf.gz"
    if not vcf.exists():
        write_vcf(vcf, args.records)
    data_dir = args.workdir / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)  # a fresh store: every site is new and annotated
    os.environ["GMC_DATA_DIR"] = str(data_dir)
    url, case_id, participant = prepare_database(args.workdir)
    manifest = args.workdir / "case.yaml"
    manifest.write_text(yaml.safe_dump({"case_id": case_id, "build": "GRCh38", "files": [
        {"path": str(vcf), "kind": "germline", "samples": [{"vcf_sample": SAMPLE, "participant_id": participant}]}]}))
    print(f"GMC_DATABASE_URL={url} GMC_DATA_DIR={data_dir} /usr/bin/time -v .venv/bin/gmc genomes ingest {manifest}")


if __name__ == "__main__":
    main()
