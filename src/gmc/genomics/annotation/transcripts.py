"""Transcript models (MANE Select, Ensembl) with coordinate mapping and fast overlap lookup."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from gmc.genomics.annotation.grouping import groups_of
from gmc.genomics.annotation.hgvs import CODON_TABLE, MITOCHONDRIAL_CODON_TABLE
from gmc.genomics.vcf import normalise_build, normalise_chrom
from gmc.settings import get_settings

#: The 37 mitochondrial genes on NC_012920.1 (provenance and licences in data/README.md).
MITOCHONDRIAL_GENES = Path(__file__).parent / "data" / "mitochondrial_genes.tsv"

#: Distance from a transcript end within which a variant is up- or downstream (VEP's default).
FLANK = 5000

_MODEL_FILES = {
    ("GRCh38", "mane"): ("grch38", "mane_select.genepred.tsv.gz"),
    ("GRCh37", "mane"): ("grch37", "mane_select.genepred.tsv.gz"),
    ("GRCh38", "ensembl"): ("grch38", "ensembl110_protein_coding.genepred.tsv.gz"),
}


class TranscriptModelError(ValueError):
    """A transcript model file has a malformed line."""


@dataclass(eq=False)
class Transcript:
    """One transcript: genomic exons (0-based starts, 1-based ends) and its coding region."""

    name: str
    chrom: str
    #: +1 or -1
    strand: int
    tx_start: int
    tx_end: int
    #: CDS bounds in genomic order; cdsEnd includes the stop codon; equal when non-coding.
    cds_start: int
    cds_end: int
    exon_starts: tuple[int, ...]
    exon_ends: tuple[int, ...]
    gene: str
    gene_id: str = ""
    hgnc_id: str = ""
    refseq_nm: str = ""
    refseq_np: str = ""
    protein_id: str = ""
    #: exons in transcript order as (genomic start0, end, first cDNA position)
    exons: list[tuple[int, int, int]] = field(default_factory=list, repr=False)
    #: cDNA (n.) positions of the first and last CDS bases
    cds_first: int = 0
    cds_last: int = 0
    length: int = 0

    def __post_init__(self) -> None:
        order = range(len(self.exon_starts))
        if self.strand < 0:
            order = reversed(order)
        cumulative = 1
        for i in order:
            s, e = self.exon_starts[i], self.exon_ends[i]
            self.exons.append((s, e, cumulative))
            cumulative += e - s
        self.length = cumulative - 1
        if self.coding:
            first, last = (
                (self.cds_start + 1, self.cds_end) if self.strand > 0 else (self.cds_end, self.cds_start + 1)
            )
            self.cds_first = self.cdna_position(first) or 0
            self.cds_last = self.cdna_position(last) or 0

    @property
    def coding(self) -> bool:
        """True when the transcript has a CDS."""
        return self.cds_end > self.cds_start

    @property
    def codon_table(self) -> dict[str, str]:
        """The genetic code of the transcript: vertebrate mitochondrial on chrM, else the standard code."""
        return MITOCHONDRIAL_CODON_TABLE if self.chrom == "MT" else CODON_TABLE

    @property
    def cds_length(self) -> int:
        """Length of the CDS including the stop codon."""
        return self.cds_last - self.cds_first + 1 if self.coding else 0

    def exon_index(self, pos: int) -> int | None:
        """Returns the transcript-order exon index holding the 1-based position, or None."""
        for i, (s, e, _) in enumerate(self.exons):
            if s < pos <= e:
                return i
        return None

    def cdna_position(self, pos: int) -> int | None:
        """Returns the cDNA (n.) position of an exonic 1-based genomic position, else None."""
        for s, e, first in self.exons:
            if s < pos <= e:
                return first + (pos - s - 1 if self.strand > 0 else e - pos)
        return None

    def intron_anchor(self, pos: int) -> tuple[int, int, int] | None:
        """For an intronic position: (intron index, cDNA anchor, signed offset), nearest exon first."""
        for i in range(len(self.exons) - 1):
            s1, e1, f1 = self.exons[i]
            s2, e2, f2 = self.exons[i + 1]
            if self.strand > 0 and e1 < pos <= s2:
                after, before = pos - e1, s2 + 1 - pos
            elif self.strand < 0 and e2 < pos <= s1:
                after, before = s1 + 1 - pos, pos - e2
            else:
                continue
            last_of_upstream = f1 + (e1 - s1) - 1
            # the middle base of an odd intron counts from the upstream exon (+)
            if after <= before:
                return i, last_of_upstream, after
            return i, f2, -before
        return None

    def genomic_position(self, cdna: int) -> int:
        """Returns the 1-based genomic position of a cDNA (n.) position within the exons."""
        for s, e, first in self.exons:
            if first <= cdna < first + (e - s):
                offset = cdna - first
                return s + 1 + offset if self.strand > 0 else e - offset
        raise ValueError(f"{self.name}: cDNA position {cdna} outside the transcript")

    def c_notation(self, cdna: int) -> str:
        """Returns the HGVS c. coordinate (e.g. 76, -12, *40) of a cDNA position."""
        if not self.coding:
            return str(cdna)
        if cdna < self.cds_first:
            return f"-{self.cds_first - cdna}"
        if cdna > self.cds_last:
            return f"*{cdna - self.cds_last}"
        return str(cdna - self.cds_first + 1)

    def c_coordinate(self, pos: int) -> str | None:
        """Returns the HGVS c. coordinate of any 1-based genomic position in the transcript span."""
        cdna = self.cdna_position(pos)
        if cdna is not None:
            return self.c_notation(cdna)
        anchor = self.intron_anchor(pos)
        if anchor is None:
            return None
        _, base, offset = anchor
        return f"{self.c_notation(base)}{'+' if offset > 0 else '-'}{abs(offset)}"


class TranscriptSet:
    """All transcripts of a build, indexed per chromosome for interval overlap."""

    def __init__(self, transcripts: list[Transcript], *, build: str, source: str) -> None:
        self.build = build
        self.source = source
        self.transcripts = transcripts
        self.by_name = {t.name: t for t in transcripts}
        self._index: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        by_chrom: dict[str, list[int]] = {}
        for i, t in enumerate(transcripts):
            by_chrom.setdefault(t.chrom, []).append(i)
        for chrom, ids in by_chrom.items():
            ids_arr = np.asarray(ids, dtype=np.int64)
            starts = np.asarray([transcripts[i].tx_start for i in ids], dtype=np.int64) - FLANK
            ends = np.asarray([transcripts[i].tx_end for i in ids], dtype=np.int64) + FLANK
            order = np.argsort(starts, kind="stable")
            starts, ends, ids_arr = starts[order], ends[order], ids_arr[order]
            self._index[chrom] = (starts, ends, np.maximum.accumulate(ends), ids_arr)

    def __len__(self) -> int:
        return len(self.transcripts)

    def overlapping(self, chrom: str, start: int, end: int) -> list[Transcript]:
        """Returns transcripts whose span plus the up/downstream flank overlaps start-end (1-based)."""
        index = self._index.get(chrom)
        if index is None:
            return []
        starts, ends, cummax, ids = index
        lo = int(np.searchsorted(cummax, start, side="left"))
        hi = int(np.searchsorted(starts, end, side="left"))
        return [self.transcripts[ids[k]] for k in range(lo, hi) if ends[k] >= start]

    def near_any(self, chrom: np.ndarray, pos: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Vectorised: True where a variant lies within a transcript or its flank."""
        result = np.zeros(len(pos), dtype=bool)
        for name, rows in groups_of(chrom):
            index = self._index.get(name)
            if index is None:
                continue
            starts, ends, cummax, _ = index
            lo = np.searchsorted(cummax, pos[rows], side="left")
            hi = np.searchsorted(starts, end[rows], side="left")
            result[rows] = hi > lo
        return result


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.strip(",").split(",") if x)


def read_genepred(path: Path, *, hgnc: dict[str, str] | None = None) -> list[Transcript]:
    """Reads a genePred-like TSV with a #name header (0-based starts; cdsEnd includes the stop codon)."""
    hgnc = hgnc or {}
    transcripts = []
    with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as handle:
        line, skipped = handle.readline(), 0
        while line.startswith("# "):  # comment lines (provenance) before the #name header
            line, skipped = handle.readline(), skipped + 1
        header = line.lstrip("#").rstrip("\n").split("\t")
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=2 + skipped):
            record = dict(zip(header, row, strict=False))
            try:
                gene = record["gene"]
                name = record["name"]
                transcripts.append(
                    Transcript(
                        name=name,
                        chrom=normalise_chrom(record["chrom"]),
                        strand=1 if record["strand"] == "+" else -1,
                        tx_start=int(record["txStart"]),
                        tx_end=int(record["txEnd"]),
                        cds_start=int(record["cdsStart"]),
                        cds_end=int(record["cdsEnd"]),
                        exon_starts=_int_list(record["exonStarts"]),
                        exon_ends=_int_list(record["exonEnds"]),
                        gene=gene,
                        gene_id=record.get("gene_id", ""),
                        hgnc_id=record.get("hgnc_id") or hgnc.get(name.split(".")[0]) or hgnc.get(gene, ""),
                        refseq_nm=record.get("refseq_nm", ""),
                        refseq_np=record.get("refseq_np", ""),
                        protein_id=record.get("ensp", ""),
                    )
                )
            except (KeyError, ValueError) as error:
                raise TranscriptModelError(f"{path.name} line {number}: {error}") from None
    return transcripts


def read_hgnc_map(path: Path) -> dict[str, str]:
    """Maps unversioned Ensembl transcript ids and gene symbols to HGNC ids from the MANE summary."""
    mapping: dict[str, str] = {}
    with gzip.open(path, "rt") as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
        for row in csv.reader(handle, delimiter="\t"):
            record = dict(zip(header, row, strict=False))
            hgnc = record.get("HGNC_ID", "")
            if not hgnc:
                continue
            mapping.setdefault(record["symbol"], hgnc)
            mapping[record["Ensembl_nuc"].split(".")[0]] = hgnc
    return mapping


@lru_cache(maxsize=4)
def load_transcripts(build: str = "GRCh38", source: str = "mane") -> TranscriptSet:
    """Loads the transcript models of a build from GMC_REFDATA once per process."""
    build = normalise_build(build)
    try:
        folder, filename = _MODEL_FILES[(build, source)]
    except KeyError:
        raise TranscriptModelError(f"no {source} transcript models for {build}") from None
    settings = get_settings()
    hgnc = read_hgnc_map(settings.refdata_path("grch38", "MANE.GRCh38.v1.5.summary.txt.gz"))
    transcripts = read_genepred(settings.refdata_path(folder, filename), hgnc=hgnc)
    # the nuclear models have no chrM: the 37 mitochondrial genes (rCRS, the same in both builds) ship with gmc
    transcripts += read_genepred(MITOCHONDRIAL_GENES)
    return TranscriptSet(transcripts, build=build, source=f"{source}:{filename}+{MITOCHONDRIAL_GENES.name}")
