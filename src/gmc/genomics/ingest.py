"""Parse and build for a case's VCF: read every record first, then QC and annotate, ready for the store."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gmc.genomics.qc import QcThresholds, sample_qc, trio_qc
from gmc.genomics.store.layout import CHROMOSOMES, variant_keys
from gmc.genomics.store.writer import filter_new_sites
from gmc.genomics.vcf import VcfFormatError, open_vcf

#: Annotation columns kept in the store's sites table (the rest of the annotation table is recomputable).
STORED_ANNOTATION = (
    "gene", "hgnc_id", "transcript", "consequence", "impact", "hgvs_c", "hgvs_p", "clinvar",
    "clinvar_significance", "clinvar_stars", "pli", "loeuf", "gnomad_af",
)

#: Called as progress(stage, done, total) while a file is read and built.
Progress = Callable[[str, int, int | None], None]


class IngestInputError(ValueError):
    """A VCF does not fit its manifest entry (missing or unmapped sample, wrong build); names file and field."""


@dataclass
class ParsedVcf:
    """Every allele row of one VCF for the mapped samples, in memory and not yet stored."""

    path: Path
    sha256: str
    size: int
    build: str
    #: Mapped VCF sample names, in VCF column order.
    samples: list[str]
    #: Sites table (chrom, pos, ref, alt, qual, filter, line) of every allele row.
    sites: pa.Table
    #: Long calls table (row, sample index into samples, gt, ploidy, gq, dp, ad_ref, ad_alt).
    calls: pa.Table
    #: Dense per-row genotype matrix (rows x samples) for QC.
    gt: np.ndarray
    ploidy: np.ndarray
    gq: np.ndarray
    records: int = 0
    qc: dict[str, dict[str, Any]] = field(default_factory=dict)
    trios: list[dict[str, Any]] = field(default_factory=list)


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def store_sample_name(sha256: str, vcf_sample: str) -> str:
    """The pseudonymous name of a VCF column in the variant store: file hash and column, no identifiers."""
    return f"{sha256[:16]}:{vcf_sample}"


def store_dataset_key(sha256: str, samples: Sequence[str]) -> str:
    """The store dataset id of a file's mapped samples (the same file and samples always get the same id)."""
    return hashlib.sha256(f"{sha256}\t{','.join(samples)}".encode()).hexdigest()[:20]


def check_header(
    path: Path, *, mapped: Sequence[str], skipped: Sequence[str], build: str | None, field_prefix: str
) -> tuple[list[str], str]:
    """Checks a VCF header against its manifest entry; returns the mapped samples in VCF order and the build."""
    with open_vcf(path, samples=[], build=build) as reader:
        detected = reader.build
    with open_vcf(path, build=detected) as reader:
        columns = list(reader.samples)
    missing = [s for s in mapped if s not in columns]
    if missing:
        raise IngestInputError(
            f"{path.name}: {field_prefix}.samples: sample(s) {', '.join(missing)} are not in the VCF header "
            f"(its samples are {', '.join(columns) or 'none'})"
        )
    unmapped = [s for s in columns if s not in mapped and s not in skipped]
    if unmapped:
        raise IngestInputError(
            f"{path.name}: VCF sample(s) {', '.join(unmapped)} are missing from the manifest ({field_prefix}): "
            "map each to a participant or list it under skip_samples"
        )
    return [s for s in columns if s in mapped], detected


def read_vcf(
    path: Path, samples: Sequence[str], build: str, *, progress: Progress | None = None, batch_size: int = 100_000
) -> ParsedVcf:
    """Reads every record of a VCF for the given samples; any bad line raises before anything is stored."""
    sha, size = file_digest(path)
    site_parts: list[pa.Table] = []
    call_parts: list[pa.Table] = []
    gts: list[np.ndarray] = []
    ploidies: list[np.ndarray] = []
    gqs: list[np.ndarray] = []
    offset = 0
    with open_vcf(path, samples=list(samples), build=build) as reader:
        order = list(reader.samples)
        for batch in reader.batches(batch_size):
            sites, calls = batch.to_arrow()
            rows = pc.add(pc.cast(calls.column("row"), pa.int64()), offset)
            calls = calls.set_column(calls.schema.get_field_index("row"), "row", rows)
            # Integer sample indexes: the store then never sees the VCF's own names.
            local = pc.index_in(calls.column("sample"), value_set=pa.array(order, pa.string()))
            calls = calls.set_column(calls.schema.get_field_index("sample"), "sample", pc.cast(local, pa.int32()))
            site_parts.append(sites)
            call_parts.append(calls)
            gts.append(batch.gt)
            ploidies.append(batch.ploidy)
            gqs.append(batch.gq)
            offset += len(sites)
            if progress is not None:
                progress("read", int(batch.line[-1]) if len(batch) else 0, None)
    if not site_parts:
        raise VcfFormatError(path, None, "no variant records")
    return ParsedVcf(
        path=path, sha256=sha, size=size, build=build, samples=order,
        sites=pa.concat_tables(site_parts, promote_options="default"),
        calls=pa.concat_tables(call_parts, promote_options="default"),
        gt=np.concatenate(gts), ploidy=np.concatenate(ploidies), gq=np.concatenate(gqs), records=offset,
    )


def run_qc(
    parsed: ParsedVcf,
    *,
    recorded_sex: Mapping[str, str],
    trios: Sequence[tuple[str, str, str]],
    thresholds: QcThresholds | None = None,
) -> None:
    """Fills parsed.qc (per sample) and parsed.trios from the genotypes read."""
    chrom = np.asarray(parsed.sites.column("chrom").to_pylist(), dtype=object)
    pos = parsed.sites.column("pos").to_numpy(zero_copy_only=False)
    ref = parsed.sites.column("ref").to_pylist()
    alt = parsed.sites.column("alt").to_pylist()
    for j, sample in enumerate(parsed.samples):
        result = sample_qc(sample, chrom=chrom, pos=pos, ref=ref, alt=alt, gt=parsed.gt[:, j],
                           ploidy=parsed.ploidy[:, j], build=parsed.build, recorded_sex=recorded_sex.get(sample),
                           thresholds=thresholds)
        parsed.qc[sample] = result.to_dict()
    column = {s: j for j, s in enumerate(parsed.samples)}
    for child, father, mother in trios:
        members = (child, father, mother)
        if not all(m in column for m in members):
            continue  # members in different files: no joint calls to compare
        result = trio_qc(child=child, father=father, mother=mother, chrom=chrom,
                         gt={s: parsed.gt[:, column[s]] for s in members},
                         gq={s: parsed.gq[:, column[s]] for s in members}, thresholds=thresholds)
        parsed.trios.append(result.to_dict())


def variant_counts(parsed: ParsedVcf) -> dict[str, int]:
    """Non-reference calls of each sample on the chromosomes the store keeps."""
    chrom = np.asarray(parsed.sites.column("chrom").to_pylist(), dtype=object)
    primary = np.isin(chrom, np.asarray(CHROMOSOMES, dtype=object))
    return {s: int(np.sum((parsed.gt[:, j] > 0) & primary)) for j, s in enumerate(parsed.samples)}


def annotate_new_sites(
    store_root: Path, parsed: ParsedVcf, *, annotate: Callable[[pa.Table], pa.Table] | None = None
) -> pa.Table:
    """The sites table with annotation columns filled for sites new to the store (known ones stay null)."""
    new = filter_new_sites(store_root, parsed.sites.select(["chrom", "pos", "ref", "alt"]))
    sites = parsed.sites
    if annotate is None:
        return sites
    annotated = annotate(new) if len(new) else None
    if annotated is None:
        return sites
    chrom = sites.column("chrom").to_pylist()
    primary = np.isin(np.asarray(chrom, dtype=object), np.asarray(CHROMOSOMES, dtype=object))
    all_keys = np.full(len(sites), -1, dtype=np.int64)
    prim = sites.filter(pa.array(primary))
    all_keys[primary] = variant_keys(prim.column("chrom").to_pylist(), prim.column("pos").to_numpy(),
                                     prim.column("ref").to_pylist(), prim.column("alt").to_pylist())
    new_keys = variant_keys(new.column("chrom").to_pylist(), new.column("pos").to_numpy(),
                            new.column("ref").to_pylist(), new.column("alt").to_pylist())
    order = np.argsort(new_keys, kind="stable")
    found = np.searchsorted(new_keys[order], all_keys)
    found = np.clip(found, 0, max(len(new_keys) - 1, 0))
    hit = (all_keys >= 0) & (new_keys[order][found] == all_keys)
    index = pa.array(np.where(hit, order[found], 0), pa.int64(), mask=~hit)
    for name in STORED_ANNOTATION:
        if name in annotated.column_names:
            sites = sites.append_column(name, annotated.column(name).take(index))
    return sites


def annotator(build: str, *, fasta: Path | None = None) -> Callable[[pa.Table], pa.Table]:
    """An annotate(sites) function over the reference data of a build (loaded once per process)."""
    from gmc.genomics.annotation.annotate import annotate_alleles, load_sources

    sources = load_sources(build, fasta=fasta if build == "GRCh38" else None)

    def run(sites: pa.Table) -> pa.Table:
        return annotate_alleles(
            np.asarray(sites.column("chrom").to_pylist(), dtype=object),
            sites.column("pos").to_numpy(zero_copy_only=False).astype(np.int64),
            np.asarray(sites.column("ref").to_pylist(), dtype=object),
            np.asarray(sites.column("alt").to_pylist(), dtype=object),
            sources,
        )

    return run
