"""Ingest outputs of two source trees, compared row for row: sites table, QC results, every store Parquet table.

Usage:
  PYTHONPATH=<tree>/src .venv/bin/python bench/genomics-web/compare_outputs.py dump OUT [--genome VCF]
  .venv/bin/python bench/genomics-web/compare_outputs.py diff OUT_A OUT_B [--store-a DIR --store-b DIR]

`dump` runs the ingest core as the service runs it (read, QC, annotate new sites, store commit into a fresh store)
on the Pfeiffer exome, the GIAB trio and, with --genome, a generated genome (genome_cli.py's VCF), and writes under
OUT (never in the repo): each file's annotated sites table, calls table and QC results, and its store. `diff`
compares two dumps (and, with --store-a/--store-b, two variant stores such as two `gmc genomes ingest` runs'
data/variant_store/GRCh38): the same files, each Parquet table equal row for row, the QC JSON equal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

from gmc.settings import get_settings

FILES = (  # (path under the shared benchmarks, mapped samples, trio (child, father, mother) or None)
    (("rare", "background", "Pfeiffer_exome_GRCh38.liftover.vcf.gz"), ["manuel"], None),
    (("annotated", "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz"), ["HG002", "HG003", "HG004"],
     ("HG002", "HG003", "HG004")),
)


def build(path: Path, samples: list[str], trio: tuple[str, str, str] | None, root: Path) -> tuple:
    """The service's steps for one file: (parsed, annotated sites); newer trees annotate while reading."""
    from gmc.genomics import ingest as core

    _, detected = core.check_header(path, mapped=samples, skipped=[], build=None, field_prefix="files[0]")
    annotate = core.annotator(detected)
    sexes = dict.fromkeys(samples, "male")
    trios = [trio] if trio else []
    if hasattr(core, "NewSiteAnnotation"):
        pending = core.NewSiteAnnotation(root, annotate)
        parsed = core.read_vcf(path, samples, detected, annotation=pending)
        core.run_qc(parsed, recorded_sex=sexes, trios=trios)
        return parsed, pending.result(parsed)
    parsed = core.read_vcf(path, samples, detected)
    core.run_qc(parsed, recorded_sex=sexes, trios=trios)
    return parsed, core.annotate_new_sites(root, parsed, annotate=annotate)


def dump(out: Path, genome: Path | None) -> None:
    """Writes each file's sites, calls, QC and store under out."""
    from gmc.genomics import ingest as core
    from gmc.genomics.store.writer import ingest_tables

    bench = get_settings().refdata_dir().parent / "benchmarks"
    todo = [(bench / Path(*parts), samples, trio) for parts, samples, trio in FILES]
    if genome is not None:
        todo.append((genome, ["manuel"], None))
    for path, samples, trio in todo:
        where = out / path.name
        where.mkdir(parents=True, exist_ok=True)
        root = where / "store"
        parsed, sites = build(path, samples, trio, root)
        pq.write_table(sites, where / "sites.parquet")
        pq.write_table(parsed.calls, where / "calls.parquet")
        (where / "qc.json").write_text(json.dumps({"qc": parsed.qc, "trios": parsed.trios}, sort_keys=True,
                                                  default=str))
        names = [core.store_sample_name(parsed.sha256, s) for s in parsed.samples]
        ingest_tables(root, sites=sites, genotypes=parsed.calls, samples=names, dataset_id="compare",
                      source=path.name, build=parsed.build, keys=getattr(parsed, "keys", None))
        print(f"{path.name}: {parsed.records:,} rows, {sites.num_columns} site columns")


def _tables(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*.parquet"))}


def diff_trees(a: Path, b: Path) -> list[str]:
    """Differences between two directories of Parquet (and QC JSON) files, as messages."""
    problems = []
    ta, tb = _tables(a), _tables(b)
    if set(ta) != set(tb):
        problems.append(f"{a} vs {b}: files differ: {sorted(set(ta) ^ set(tb))[:10]}")
    for name in sorted(set(ta) & set(tb)):
        x, y = pq.read_table(ta[name]), pq.read_table(tb[name])
        if x.schema != y.schema or not x.equals(y):
            problems.append(f"{name}: tables differ ({x.num_rows} vs {y.num_rows} rows)")
    for qa in sorted(a.rglob("qc.json")):
        qb = b / qa.relative_to(a)
        if not qb.exists() or json.loads(qa.read_text()) != json.loads(qb.read_text()):
            problems.append(f"{qa.relative_to(a)}: QC differs")
    return problems


def _store_tree(root: Path) -> Path:
    """A store root's one dataset directory (its id differs between runs that hash different inputs)."""
    datasets = sorted((root / "datasets").iterdir())
    if len(datasets) != 1:
        raise SystemExit(f"{root}: expected one dataset, found {len(datasets)}")
    return datasets[0]


def main() -> None:
    """Dumps or diffs."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--genome", type=Path)
    c = sub.add_parser("diff")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--store-a", type=Path)
    c.add_argument("--store-b", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.genome)
        return
    problems = diff_trees(args.a, args.b)
    if args.store_a and args.store_b:
        problems += diff_trees(_store_tree(args.store_a), _store_tree(args.store_b))
    checked = len(_tables(args.a))
    for p in problems:
        print(p)
    print(f"{checked} Parquet tables under {args.a} compared: {'identical' if not problems else 'DIFFERENT'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
