"""Benchmark case preparation: spike a case's causal variants into a background exome, fairly.

Fairness rules (issue 7): the ID column and every INFO field are removed from every record, background
and spiked alike (the header keeps everything but its INFO definitions), and each spiked record takes
QUAL, FILTER, FORMAT and the sample's FORMAT values from a background record of the same genotype, so
only the allele and the genotype mark it. Heterozygous and compound heterozygous variants become
heterozygous records (one per variant), homozygous ones hom-alt records, and hemizygous ones are
written the way the background writes its own hemizygous calls (chrX outside PAR with no reference
allele: "1/1" in a diploid-called exome, "1" in a haploid-called one). A background record at the same
position as a spiked variant is dropped. Donor records are drawn with ``random.Random(seed)``, from
PASS records when the background has any of that genotype.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from gmc.interpretation.rare.inheritance import PAR_GRCH38

_ALLELE = re.compile(r"^[ACGTNacgtn]+$")
_HET = "het"
_HOM = "hom"
_HEMI = "hemi"

#: Phenopacket allelicState labels (GENO) -> genotype class.
ZYGOSITY = {
    "heterozygous": _HET,
    "het": _HET,
    "compound heterozygous": _HET,
    "compound_heterozygous": _HET,
    "simple heterozygous": _HET,
    "homozygous": _HOM,
    "hom": _HOM,
    "homozygous alternate": _HOM,
    "hemizygous": _HEMI,
    "hemi": _HEMI,
    "hemizygous x-linked": _HEMI,
}


class SpikeError(ValueError):
    """A background VCF or a causal variant cannot be spiked; the message names the file, line or variant."""


@dataclass(frozen=True)
class CausalVariant:
    """A variant to spike: VCF coordinates and the stated zygosity (a phenopacket allelicState label)."""

    chrom: str
    pos: int
    ref: str
    alt: str
    zygosity: str


@dataclass(frozen=True)
class SpikeReport:
    """What spiking did: records written, variants spiked and background records replaced."""

    records: int
    spiked: int
    replaced: int
    out_path: Path


def _open_text(path: Path, mode: str) -> IO[str]:
    if str(path).endswith((".gz", ".bgz")):
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def _genotype_class(gt: str) -> str | None:
    alleles = re.split(r"[/|]", gt)
    if any(a in (".", "") for a in alleles):
        return None
    if len(alleles) == 1:
        return _HEMI if alleles[0] != "0" else None
    if set(alleles) == {"0", "1"}:
        return _HET
    if set(alleles) == {"1"}:
        return _HOM
    return None


def _natural_key(chrom: str) -> tuple[int, str]:
    name = chrom.removeprefix("chr")
    if name.isdigit():
        return int(name), ""
    return {"X": 23, "Y": 24, "M": 25, "MT": 25}.get(name, 26), name


def _is_x_non_par(chrom: str, pos: int) -> bool:
    return chrom.removeprefix("chr") == "X" and not any(lo <= pos <= hi for lo, hi in PAR_GRCH38)


class VcfAllele(Protocol):
    """Anything with VCF coordinates and a zygosity label (our CausalVariant, the phenopacket reader's)."""

    chrom: str
    pos: int
    ref: str
    alt: str
    zygosity: str


@dataclass(frozen=True)
class Background:
    """A parsed single-sample background VCF with IDs and INFO already removed, ready to spike many times."""

    path: Path
    header: tuple[str, ...]
    contigs: tuple[str, ...]
    records: tuple[tuple[str, ...], ...]
    donors: dict[str, list[tuple[str, ...]]]
    uses_chr: bool


def load_background(background_path: Path) -> Background:
    """Reads a single-sample background VCF (gzip or plain), dropping IDs, INFO and INFO definitions."""
    background_path = Path(background_path)
    header: list[str] = []
    contigs: list[str] = []
    records: list[tuple[str, ...]] = []
    with _open_text(background_path, "r") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("##"):
                if line.startswith("##INFO="):
                    continue
                if line.startswith("##contig="):
                    match = re.search(r"ID=([^,>]+)", line)
                    if match:
                        contigs.append(match.group(1))
                header.append(line)
                continue
            if line.startswith("#CHROM"):
                columns = line.split("\t")
                if len(columns) != 10:
                    raise SpikeError(
                        f"{background_path}:{line_no}: a single-sample VCF is needed, found "
                        f"{max(len(columns) - 9, 0)} samples"
                    )
                header.append(line)
                continue
            fields = line.split("\t")
            if len(fields) != 10:
                raise SpikeError(f"{background_path}:{line_no}: expected 10 columns, found {len(fields)}")
            try:
                int(fields[1])
            except ValueError as exc:
                raise SpikeError(f"{background_path}:{line_no}: POS {fields[1]!r} is not a number") from exc
            fields[2] = "."
            fields[7] = "."
            records.append(tuple(fields))
    if not header or not header[-1].startswith("#CHROM"):
        raise SpikeError(f"{background_path}: no #CHROM header line")
    uses_chr = any(r[0].startswith("chr") for r in records[:100]) or any(c.startswith("chr") for c in contigs)
    return Background(
        background_path, tuple(header), tuple(contigs), tuple(records), _donor_pools(records), uses_chr
    )


def spike_vcf(
    background_path: Path | Background,
    causal_variants: Iterable[VcfAllele],
    out_path: Path,
    *,
    seed: int,
) -> SpikeReport:
    """Writes a gzipped, sorted copy of a single-sample background VCF with the causal variants spiked in."""
    background = (
        background_path if isinstance(background_path, Background) else load_background(background_path)
    )
    out_path = Path(out_path)
    order = {name: i for i, name in enumerate(background.contigs)}
    wanted: dict[tuple[str, int, str, str], str] = {}
    for variant in causal_variants:
        chrom = _named_like_background(variant.chrom, background.uses_chr)
        label = f"causal variant {variant.chrom}:{variant.pos} {variant.ref}>{variant.alt}"
        zygosity = ZYGOSITY.get(variant.zygosity.strip().lower())
        if zygosity is None:
            raise SpikeError(f"{label}: zygosity {variant.zygosity!r} is not one of {sorted(ZYGOSITY)}")
        if variant.pos < 1 or not _ALLELE.match(variant.ref) or not _ALLELE.match(variant.alt):
            raise SpikeError(f"{label}: position must be >= 1 and alleles plain bases")
        if order and chrom not in order:
            raise SpikeError(f"{label}: contig {chrom} is not in the background's header")
        key = (chrom, variant.pos, variant.ref.upper(), variant.alt.upper())
        # The same allele listed twice keeps the larger genotype class (hom over het).
        if wanted.get(key) != _HOM:
            wanted[key] = zygosity
    rng = random.Random(seed)
    positions = {(chrom, pos) for chrom, pos, _, _ in wanted}
    kept = [r for r in background.records if (r[0], int(r[1])) not in positions]
    replaced = len(background.records) - len(kept)
    donors = background.donors
    for (chrom, pos, ref, alt), zygosity in sorted(wanted.items()):
        # A background without hemizygous calls of its own gets hom-alt ones, as diploid callers write them.
        pool = donors.get(zygosity) or (donors.get(_HOM) if zygosity == _HEMI else None) or []
        if not pool:
            raise SpikeError(
                f"{background.path}: no background record with a {zygosity} genotype to copy from"
            )
        donor = rng.choice(pool)
        kept.append((chrom, str(pos), ".", ref, alt, donor[5], donor[6], ".", donor[8], donor[9]))
    kept.sort(key=lambda r: (order.get(r[0], len(order)), _natural_key(r[0]), int(r[1]), r[3], r[4]))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out_path, "wt", encoding="utf-8", compresslevel=5) as out:
        out.write("\n".join(background.header) + "\n")
        out.writelines("\t".join(fields) + "\n" for fields in kept)
    return SpikeReport(len(kept), len(wanted), replaced, out_path)


def _named_like_background(chrom: str, uses_chr: bool) -> str:
    bare = chrom.removeprefix("chr")
    bare = "M" if bare == "MT" and uses_chr else bare
    return f"chr{bare}" if uses_chr else bare


def _donor_pools(records: Sequence[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    """Groups single-ALT background records by genotype class, PASS records first when present."""
    pools: dict[str, list[tuple[str, ...]]] = {_HET: [], _HOM: [], _HEMI: []}
    passing: dict[str, list[tuple[str, ...]]] = {_HET: [], _HOM: [], _HEMI: []}
    for fields in records:
        if "," in fields[4]:
            continue
        keys = fields[8].split(":")
        if not keys or keys[0] != "GT":
            continue
        klass = _genotype_class(fields[9].split(":")[0])
        if klass is None:
            continue
        if klass == _HOM and _is_x_non_par(fields[0], int(fields[1])):
            # The background's own hemizygous calls: chrX outside PAR with no reference allele.
            targets = (_HOM, _HEMI)
        else:
            targets = (klass,)
        for target in targets:
            pools[target].append(fields)
            if fields[6] in ("PASS", "."):
                passing[target].append(fields)
    return {k: passing[k] or pools[k] for k in pools}


@dataclass(frozen=True)
class PreparedCase:
    """One benchmark case: the spiked VCF, the blinded phenopacket and the answer kept apart."""

    case_id: str
    vcf_path: Path
    #: Copy of the phenopacket with only subject and phenotypic features.
    phenopacket_path: Path
    #: The causal variants (the phenopacket reader's records): the answer, never given to the analysis.
    causal: tuple[Any, ...]


#: Assembly names accepted for the GRCh38 background.
GRCH38_NAMES = frozenset({"hg38", "grch38", "grch38.p13", "grch38.p14"})


def prepare_case(phenopacket_path: Path, background: Background, out_dir: Path, *, seed: int) -> PreparedCase:
    """Spikes one phenopacket's causal variants into the background and writes the blinded phenopacket beside it."""
    from gmc.phenotype.phenopackets import (
        causal_variants,
        read_phenopacket,
        subject_and_features_only,
        write_phenopacket,
    )

    phenopacket_path, out_dir = Path(phenopacket_path), Path(out_dir)
    data = read_phenopacket(phenopacket_path)
    causal = causal_variants(data)
    if not causal:
        raise SpikeError(f"{phenopacket_path}: no causal variant with a VCF record")
    for variant in causal:
        if variant.genome_assembly.lower() not in GRCH38_NAMES:
            raise SpikeError(
                f"{phenopacket_path}: causal variant {variant.chrom}:{variant.pos} is on "
                f"{variant.genome_assembly!r}, the background is GRCh38"
            )
    case_id = phenopacket_path.name.removesuffix(".json")
    # Each case draws its donors from its own stream, so adding cases never changes earlier ones.
    case_seed = seed ^ zlib.crc32(case_id.encode())
    vcf_path = out_dir / f"{case_id}.vcf.gz"
    spike_vcf(background, causal, vcf_path, seed=case_seed)
    blinded_path = out_dir / f"{case_id}.phenopacket.json"
    blinded = write_phenopacket(subject_and_features_only(data), created="2000-01-01T00:00:00Z")
    blinded_path.write_text(json.dumps(blinded, indent=1, sort_keys=True), encoding="utf-8")
    return PreparedCase(case_id, vcf_path, blinded_path, tuple(causal))


TRUTH_COLUMNS = ("case_id", "gene_symbol", "hgnc_id", "chrom", "pos", "ref", "alt", "zygosity", "disease_id")


def prepare_cases(
    directory: Path, background_path: Path, out_dir: Path, *, seed: int, limit: int | None = None
) -> tuple[list[PreparedCase], list[tuple[Path, str]]]:
    """Prepares every phenopacket in a directory; returns the cases and the skipped files with the reason.

    Writes ``truth.tsv`` (one row per causal variant) in out_dir for scoring, apart from the blinded inputs.
    """
    background = load_background(background_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared: list[PreparedCase] = []
    skipped: list[tuple[Path, str]] = []
    paths = sorted(Path(directory).glob("*.json"))
    for path in paths[:limit] if limit is not None else paths:
        try:
            prepared.append(prepare_case(path, background, out_dir, seed=seed))
        except ValueError as exc:
            # A case the benchmark cannot use is reported, not silently dropped.
            skipped.append((path, str(exc)))
    with open(out_dir / "truth.tsv", "w", encoding="utf-8") as truth:
        truth.write("\t".join(TRUTH_COLUMNS) + "\n")
        for case in prepared:
            for v in case.causal:
                values = (
                    case.case_id,
                    v.gene_symbol,
                    v.hgnc_id,
                    v.chrom,
                    v.pos,
                    v.ref,
                    v.alt,
                    v.zygosity,
                    v.disease_id,
                )
                truth.write("\t".join(str(x) for x in values) + "\n")
    return prepared, skipped
