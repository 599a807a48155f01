"""The annotation pipeline: alleles in, one annotated row per allele out (Arrow columns)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gmc import __version__
from gmc.genomics.annotation.bulk import PER_TRANSCRIPT, TranscriptArrays, annotate_bulk
from gmc.genomics.annotation.clinvar import ClinVarAssertion, ClinVarIndex, load_clinvar
from gmc.genomics.annotation.consequence import (
    TranscriptConsequence,
    annotate_transcript,
    mitochondrial_hgvs,
    structural_consequence,
)
from gmc.genomics.annotation.existing import (
    EXISTING_KEYS,
    annotation_fields,
    for_allele,
    most_severe,
    parse_existing,
)
from gmc.genomics.annotation.frequencies import (
    DEFAULT_AF_KEYS,
    SitesFrequencies,
    first_frequency,
)
from gmc.genomics.annotation.genes import GeneKnowledge, load_gene_knowledge
from gmc.genomics.annotation.sequence import ReferenceGenome, left_align, load_reference
from gmc.genomics.annotation.transcripts import TranscriptSet, load_transcripts
from gmc.genomics.vcf import VariantBatch, normalise_build, open_vcf
from gmc.settings import get_settings

CLINVAR_FILES = {"GRCh38": ("grch38", "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz")}

#: How far right of a ClinVar position an input indel may sit and still left-align onto it.
LEFT_ALIGN_WINDOW = 100

#: Output columns, in order, with their Arrow types.
COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("chrom", pa.string()),
    ("pos", pa.int32()),
    ("ref", pa.string()),
    ("alt", pa.string()),
    ("gene", pa.string()),
    ("hgnc_id", pa.string()),
    ("transcript", pa.string()),
    ("refseq", pa.string()),
    ("consequence", pa.string()),
    ("impact", pa.string()),
    ("hgvs_c", pa.string()),
    ("hgvs_p", pa.string()),
    ("exon", pa.string()),
    ("intron", pa.string()),
    ("protein_position", pa.int32()),
    ("distance", pa.int32()),
    ("nmd_escape", pa.bool_()),
    ("clinvar", pa.string()),
    ("clinvar_significance", pa.string()),
    ("clinvar_review", pa.string()),
    ("clinvar_stars", pa.int8()),
    ("clinvar_id", pa.string()),
    ("pli", pa.float64()),
    ("loeuf", pa.float64()),
    ("clingen_hi", pa.string()),
    ("clingen_ts", pa.string()),
    ("gnomad_af", pa.float64()),
    ("af_source", pa.string()),
    ("cohort_af", pa.float64()),
    ("other_transcripts", pa.string()),
    ("existing_source", pa.string()),
    ("existing_consequence", pa.string()),
    ("existing_hgvs_c", pa.string()),
    ("existing_hgvs_p", pa.string()),
    # added after the columns above so that readers by position keep working: what was withheld and why
    ("hgvs_note", pa.string()),
    # structural variants and copy number: where the event ends, its length, type and copy number (as read)
    ("sv_end", pa.int64()),
    ("sv_length", pa.int64()),
    ("sv_type", pa.string()),
    ("copy_number", pa.float64()),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


@dataclass
class AnnotationSources:
    """Everything annotation reads: transcripts, optional reference, ClinVar, gene knowledge, frequencies."""

    transcripts: TranscriptSet
    genes: GeneKnowledge
    genome: ReferenceGenome | None = None
    clinvar: ClinVarIndex | None = None
    frequency_files: list[SitesFrequencies] = field(default_factory=list)
    af_keys: tuple[str, ...] = DEFAULT_AF_KEYS

    @cached_property
    def arrays(self) -> TranscriptArrays:
        """Flat arrays of the transcripts for the vectorised path, built on first use."""
        return TranscriptArrays(self.transcripts, self.genes)

    @property
    def build(self) -> str:
        """The genome build of the transcript models."""
        return self.transcripts.build

    def provenance(self) -> dict[str, str]:
        """Software and reference-data versions used, for output headers and interpretation runs."""
        return {
            "gmc_version": __version__,
            "build": self.build,
            "transcripts": self.transcripts.source,
            "clinvar": f"{self.clinvar.path.name} ({self.clinvar.release})" if self.clinvar else "none",
            "fasta": str(self.genome.path) if self.genome else "none (HGVS that needs sequence is withheld)",
            "frequencies": ",".join(f.path.name for f in self.frequency_files) or "none",
            "af_keys": ",".join(self.af_keys),
        }


def load_sources(
    build: str = "GRCh38",
    *,
    fasta: str | Path | None | bool = None,
    frequency_files: Iterable[str | Path] = (),
    af_keys: tuple[str, ...] = DEFAULT_AF_KEYS,
    frequency_af_key: str = "AF",
    transcript_source: str = "mane",
    clinvar: bool = True,
) -> AnnotationSources:
    """Loads (once per process) the reference data annotation needs for a build.

    `fasta`: the genome FASTA; by default (None) the build's FASTA from the settings (GMC_REFERENCE_FASTA, else
    the one in GMC_REFDATA/<build>/sequence); False for none (descriptions that need sequence are withheld).
    A FASTA whose contigs do not fit the build is refused (ReferenceSequenceError).
    """
    build = normalise_build(build)
    settings = get_settings()
    if fasta is not None and not isinstance(fasta, bool) and str(fasta).lower() == "none":
        fasta = False  # the setting's spelling of "no sequence", passed through as a path by some callers
    if fasta is None:
        fasta = settings.genome_fasta(build)
    elif fasta is False or fasta is True:
        fasta = settings.genome_fasta(build) if fasta else None
    clinvar_index = None
    if clinvar and build in CLINVAR_FILES:
        clinvar_index = load_clinvar(str(settings.refdata_path(*CLINVAR_FILES[build])))
    return AnnotationSources(
        transcripts=load_transcripts(build, transcript_source),
        genes=load_gene_knowledge(),
        genome=load_reference(str(fasta), build) if fasta else None,
        clinvar=clinvar_index,
        frequency_files=[SitesFrequencies(p, af_key=frequency_af_key, build=build) for p in frequency_files],
        af_keys=tuple(af_keys),
    )


def transcript_consequences(
    chrom: str, pos: int, ref: str, alt: str, sources: AnnotationSources
) -> list[TranscriptConsequence]:
    """Returns the consequences on every transcript near the allele, most severe first."""
    end = pos + max(len(ref), 1)
    results = []
    for transcript in sources.transcripts.overlapping(chrom, pos, end):
        consequence = annotate_transcript(transcript, pos, ref, alt, sources.genome)
        if consequence is not None and consequence.terms:
            results.append(consequence)
    # most severe first; among equals prefer protein-coding transcripts and genes with an HGNC id
    results.sort(key=lambda c: (c.rank, not c.hgvs_c or c.hgvs_c.startswith("n."), not c.hgnc_id))
    return results


def structural_consequences(
    chrom: str, pos: int, alt: str, structural: tuple[int | None, int | None, str | None, float | None] | None,
    sources: AnnotationSources,
) -> list[TranscriptConsequence]:
    """The consequences of a symbolic or breakend allele on every transcript it reaches, most severe first."""
    end, _, svtype, copy_number = structural or (None, None, None, None)
    svtype = svtype or ("BND" if "[" in alt or "]" in alt else alt.strip("<>").split(":")[0])
    point = "[" in alt or "]" in alt or svtype.upper().startswith("INS")
    # POS is the base before a symbolic event (VCF's padding base); a point event happens at POS
    start, stop = (pos, pos) if point else (pos + 1, max(int(end or pos), pos + 1))
    results = []
    for transcript in sources.transcripts.overlapping(chrom, start, stop):
        consequence = structural_consequence(transcript, start, stop, svtype, copy_number)
        if consequence is not None and consequence.terms:
            results.append(consequence)
    results.sort(key=lambda c: (c.rank, not c.hgnc_id, c.transcript))
    return results


def annotate_allele(
    chrom: str,
    pos: int,
    ref: str,
    alt: str,
    sources: AnnotationSources,
    *,
    info: dict[str, Any] | None = None,
    cohort_af: float | None = None,
    near_transcript: bool = True,
    lookups: bool = True,
    structural: tuple[int | None, int | None, str | None, float | None] | None = None,
) -> dict[str, Any]:
    """Annotates one trimmed allele; returns a row with the COLUMNS keys.

    `structural`: (end, SVLEN, SVTYPE, CN) as the reader gives them for a structural allele; a symbolic or
    breakend allele is annotated by the interval it spans (it carries no sequence to describe in HGVS).
    """
    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    row.update(chrom=chrom, pos=pos, ref=ref, alt=alt, cohort_af=cohort_af)
    if structural is not None:
        row.update(sv_end=structural[0], sv_length=structural[1], sv_type=structural[2], copy_number=structural[3])
    if alt.startswith("<") or "[" in alt or "]" in alt:
        if (structural is None or structural[0] is None) and alt.startswith("<") and not alt.startswith("<INS"):
            return row  # where the event ends is unknown: its consequence is not guessed (the reader needs END)
        consequences = structural_consequences(chrom, pos, alt, structural, sources) if near_transcript else []
    else:
        consequences = transcript_consequences(chrom, pos, ref, alt, sources) if near_transcript else []
    if consequences:
        top = consequences[0]
        row.update(
            gene=top.gene,
            hgnc_id=top.hgnc_id or None,
            transcript=top.transcript,
            refseq=top.refseq or None,
            consequence=top.consequence,
            impact=top.impact,
            hgvs_c=top.hgvs_c,
            hgvs_p=top.hgvs_p,
            exon=top.exon,
            intron=top.intron,
            protein_position=top.protein_position,
            distance=top.distance,
            nmd_escape=top.nmd_escape,
            hgvs_note=top.note,
        )
        transcript = sources.transcripts.by_name.get(top.transcript)
        constraint = sources.genes.constraint_of(transcript.gene_id) if transcript else None
        if constraint:
            row.update(pli=constraint.pli, loeuf=constraint.loeuf)
        dosage = sources.genes.dosage_of(top.gene)
        if dosage:
            row.update(clingen_hi=dosage.haploinsufficiency, clingen_ts=dosage.triplosensitivity)
        if len(consequences) > 1:
            row["other_transcripts"] = ",".join(
                f"{c.gene}:{c.transcript}:{c.consequence}:{c.hgvs_c or ''}:{c.hgvs_p or ''}"
                for c in consequences[1:]
            )
    else:
        row.update(consequence="intergenic_variant", impact="MODIFIER")
    if chrom == "MT":
        # the mitochondrial genome is described in m. (rCRS) numbering whatever gene the allele is in
        row["hgvs_c"], note = mitochondrial_hgvs(pos, ref, alt, sources.genome)
        notes = [n for n in (note, row["hgvs_note"]) if n and not n.startswith("c. withheld")]
        row["hgvs_note"] = "; ".join(notes) or None
    if not lookups:
        return row
    if sources.clinvar is not None:
        assertion = _clinvar_for(sources, (chrom, pos, ref, alt))
        if assertion:
            row.update(
                clinvar=assertion.summary,
                clinvar_significance=assertion.significance,
                clinvar_review=assertion.review_status,
                clinvar_stars=assertion.stars,
                clinvar_id=assertion.variation_id,
            )
    af, source = first_frequency((chrom, pos, ref, alt), info or {}, sources.af_keys, sources.frequency_files)
    row.update(gnomad_af=af, af_source=source or None)
    return row


def _existing(
    row: dict[str, Any], info: dict[str, Any], fields: dict[str, list[str]], raw: tuple[str, str]
) -> None:
    """Fills the existing_* columns from the first annotator present in the record."""
    for key in EXISTING_KEYS:
        value = info.get(key)
        if not value or key not in fields:
            continue
        entries = for_allele(parse_existing(key, str(value), fields[key]), *raw)
        best = most_severe(entries, row.get("gene"))
        if best is not None:
            row.update(
                existing_source=key,
                existing_consequence="&".join(best.terms),
                existing_hgvs_c=best.hgvs_c or None,
                existing_hgvs_p=best.hgvs_p or None,
            )
            return


def _clinvar_for(sources: AnnotationSources, key: tuple[str, int, str, str]) -> ClinVarAssertion | None:
    """ClinVar's assertion for an allele; with a reference, an indel is left-aligned as ClinVar's VCF is."""
    if sources.clinvar is None:
        return None
    assertion = sources.clinvar.lookup(*key)
    if assertion is None and sources.genome is not None and len(key[2]) != len(key[3]):
        assertion = sources.clinvar.lookup(key[0], *left_align(sources.genome, *key))
    return assertion


class WithheldCount:
    """Counts, over annotated tables, the descriptions withheld for want of sequence, by what and why."""

    def __init__(self) -> None:
        self.by_note: dict[str, int] = {}

    def add(self, table: pa.Table) -> pa.Table:
        """Counts one table's notes; returns the table unchanged (to wrap a stream of tables)."""
        if "hgvs_note" in table.column_names:
            counts = pc.value_counts(table.column("hgvs_note").drop_null())
            for item in counts.to_pylist():
                for note in item["values"].split("; "):
                    self.by_note[note] = self.by_note.get(note, 0) + item["counts"]
        return table

    @property
    def total(self) -> int:
        """Alleles with at least one description withheld (a note may name two)."""
        return sum(self.by_note.values())

    def summary(self) -> str:
        """One line: how many of each description were withheld and why ("" when none)."""
        merged: dict[str, int] = {}
        for note, n in self.by_note.items():
            what = note.split(":", 1)[0]
            why = note[note.rfind("(") + 1 : -1] if note.endswith(")") else ""
            key = f"{what} ({why})" if why else what
            merged[key] = merged.get(key, 0) + n
        return "; ".join(f"{n:,} {key}" for key, n in sorted(merged.items()))


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Builds an Arrow table with the COLUMNS schema from annotated rows."""
    schema = pa.schema([pa.field(name, kind) for name, kind in COLUMNS])
    return pa.Table.from_pylist(rows, schema=schema)


def annotate_alleles(
    chrom: np.ndarray,
    pos: np.ndarray,
    ref: np.ndarray,
    alt: np.ndarray,
    sources: AnnotationSources,
    *,
    info: dict[str, np.ndarray] | None = None,
    cohort: dict[tuple[str, int, str, str], float] | None = None,
    columns: Sequence[str] | None = None,
    sv: dict[str, np.ndarray | pa.Array] | None = None,
) -> pa.Table:
    """Annotates trimmed alleles (numpy columns); alleles away from exons are settled in bulk.

    `columns` limits the output to those COLUMNS (in COLUMNS order) and skips the work only the others
    need (ClinVar and frequency lookups, the other-transcripts list); by default every column.
    """
    wanted = set(COLUMN_NAMES if columns is None else columns)
    unknown = sorted(wanted - set(COLUMN_NAMES))
    if unknown:
        raise ValueError(f"annotate_alleles: unknown column(s) {', '.join(unknown)}")
    n = len(pos)
    chrom, ref, alt = (_object_array(v) for v in (chrom, ref, alt))
    pos = np.asarray(pos)
    out: dict[str, np.ndarray] = {}
    bulk = annotate_bulk(sources.arrays, chrom, pos, ref, alt, indels=True,
                         columns=wanted, genome=sources.genome)
    out.update(bulk.columns)
    info = info or {}
    pending = np.nonzero(~bulk.done)[0].tolist()
    kept = [name for name in _CONSEQUENCE_COLUMNS if name in wanted and name not in PER_TRANSCRIPT]
    kept_top = [name for name in _CONSEQUENCE_COLUMNS if name in wanted and name in PER_TRANSCRIPT]
    pending_top: dict[str, list[Any]] = {name: [] for name in kept_top}
    if pending:
        for name in kept:
            if name not in out:
                out[name] = np.full(n, None, dtype=object)
    sv_values = {name: _object_array(pa.array(values).to_pylist() if not isinstance(values, np.ndarray) else values)
                 for name, values in (sv or {}).items()}
    for i in pending:
        structural = tuple(sv_values[name][i] for name in _SV_COLUMNS) if sv_values else None
        if structural is not None and all(v is None for v in structural):
            structural = None
        row = annotate_allele(chrom[i], int(pos[i]), ref[i], alt[i], sources, lookups=False, structural=structural)
        for name in kept:
            out[name][i] = row[name]
        for name in kept_top:
            pending_top[name].append(row[name])

    def key(i: int) -> tuple[str, int, str, str]:
        return chrom[i], int(pos[i]), ref[i], alt[i]

    if sources.clinvar is not None and wanted & set(_CLINVAR_COLUMNS):
        for name in _CLINVAR_COLUMNS:
            out[name] = np.full(n, None, dtype=object)
        # only rows at (or, for indels with a reference to left-align them, just after) a ClinVar
        # position need the dictionary lookup
        window = LEFT_ALIGN_WINDOW if sources.genome is not None else 0
        for i in np.nonzero(sources.clinvar.at_positions(chrom, pos, within=window))[0].tolist():
            assertion = _clinvar_for(sources, key(i))
            if assertion is not None:
                out["clinvar"][i] = assertion.summary
                out["clinvar_significance"][i] = assertion.significance
                out["clinvar_review"][i] = assertion.review_status
                out["clinvar_stars"][i] = assertion.stars
                out["clinvar_id"][i] = assertion.variation_id
    if (wanted & {"gnomad_af", "af_source"}) and (any(k in info for k in sources.af_keys) or sources.frequency_files):
        out["gnomad_af"], out["af_source"] = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
        for i in range(n):
            row_info = {k: info[k][i] for k in sources.af_keys if k in info}
            af, source = first_frequency(key(i), row_info, sources.af_keys, sources.frequency_files)
            out["gnomad_af"][i], out["af_source"][i] = af, source or None
    if cohort and "cohort_af" in wanted:
        out["cohort_af"] = _object_array([cohort.get(key(i)) for i in range(n)])
    fields = [(name, kind) for name, kind in COLUMNS if name in wanted]
    arrays = []
    for name, kind in fields:
        if name in ("chrom", "ref", "alt"):
            arrays.append(pa.array({"chrom": chrom, "ref": ref, "alt": alt}[name], kind))
        elif name == "pos":
            arrays.append(pa.array(pos, kind))
        elif name in sv_values:
            arrays.append(pa.array(sv_values[name], kind, from_pandas=True))
        elif name in pending_top:
            arrays.append(_top_transcript_column(sources.arrays, name, kind, bulk.top, pending, pending_top[name]))
        elif name in out:
            arrays.append(pa.array(out[name], kind))
        else:
            arrays.append(pa.nulls(n, kind))
    return pa.Table.from_arrays(arrays, schema=pa.schema([pa.field(name, kind) for name, kind in fields]))


def _top_transcript_column(
    arrays: TranscriptArrays, name: str, kind: pa.DataType, top: np.ndarray, pending: list[int], values: list[Any]
) -> pa.Array:
    """A PER_TRANSCRIPT column: the bulk alleles' top-transcript values, the per-allele path's at `pending`."""
    table = arrays.arrow_column(name, kind)
    index = top
    if pending:
        index = top.copy()
        index[pending] = len(table) + np.arange(len(pending))
        table = pa.concat_arrays([table, pa.array(values, kind)])
    return table.take(pa.array(index, mask=index < 0))


def _object_array(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """The values as a numpy object array (no copy when they already are one)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    array = np.empty(len(values), dtype=object)
    array[:] = [v.item() if isinstance(v, np.generic) else v for v in values]
    return array


def annotate_batch(
    batch: VariantBatch,
    sources: AnnotationSources,
    *,
    existing_fields: dict[str, list[str]] | None = None,
    cohort: dict[tuple[str, int, str, str], float] | None = None,
) -> pa.Table:
    """Annotates every allele row of a VCF batch, adding the VCF's own CSQ/ANN/BCSQ call when present."""
    table = annotate_alleles(
        batch.chrom, batch.pos, batch.ref, batch.alt, sources, info=batch.info, cohort=cohort, sv=batch.sv
    )
    if not existing_fields or not any(k in batch.info for k in existing_fields):
        return table
    genes = table["gene"].to_pylist()
    extra: dict[str, list[Any]] = {name: [None] * len(batch) for name in _EXISTING_COLUMNS}
    for i in range(len(batch)):
        row: dict[str, Any] = {"gene": genes[i]}
        info = {k: batch.info[k][i] for k in existing_fields if k in batch.info}
        _existing(row, info, existing_fields, (batch.ref[i], batch.alt[i]))
        for name in _EXISTING_COLUMNS:
            extra[name][i] = row.get(name)
    for name in _EXISTING_COLUMNS:
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(extra[name], pa.string()))
    return table


_SV_COLUMNS = ("sv_end", "sv_length", "sv_type", "copy_number")
_CLINVAR_COLUMNS = ("clinvar", "clinvar_significance", "clinvar_review", "clinvar_stars", "clinvar_id")
_EXISTING_COLUMNS = ("existing_source", "existing_consequence", "existing_hgvs_c", "existing_hgvs_p")
_CONSEQUENCE_COLUMNS = (
    "gene",
    "hgnc_id",
    "transcript",
    "refseq",
    "consequence",
    "impact",
    "hgvs_c",
    "hgvs_p",
    "exon",
    "intron",
    "protein_position",
    "distance",
    "nmd_escape",
    "hgvs_note",
    "pli",
    "loeuf",
    "clingen_hi",
    "clingen_ts",
    "other_transcripts",
)


def annotate_vcf(
    path: str | Path,
    sources: AnnotationSources,
    *,
    batch_size: int = 50_000,
    cohort: dict[tuple[str, int, str, str], float] | None = None,
) -> Iterator[tuple[VariantBatch, pa.Table]]:
    """Reads a VCF/BCF and yields each batch with its annotation table (same row order)."""
    probe = open_vcf(path, samples=[], build=sources.build)
    fields = annotation_fields(probe.header)
    present = {chunk.split(",", 1)[0] for chunk in probe.header.split("##INFO=<ID=")[1:]}
    probe.close()
    info_keys = tuple(k for k in (*sources.af_keys, *fields) if k in present)
    reader = open_vcf(path, samples=[], info_keys=info_keys, build=sources.build)
    for batch in reader.batches(batch_size):
        yield batch, annotate_batch(batch, sources, existing_fields=fields, cohort=cohort)
