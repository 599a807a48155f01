"""Transcript models (MANE Select, Ensembl) with coordinate mapping and fast overlap lookup."""

from __future__ import annotations

import bisect
import gzip
from collections.abc import Callable, Iterator, Mapping, Sequence
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


class _LazyModels(Sequence[Transcript]):
    """Transcript models made from their genePred rows on first use (a one-variant run touches a few dozen)."""

    def __init__(self, rows: list[list[str]], make: Callable[[list[str], int], Transcript]) -> None:
        self._rows = rows
        self._make = make
        self._items: list[Transcript | None] = [None] * len(rows)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        item = self._items[index]
        if item is None:
            item = self._items[index] = self._make(self._rows[index], index)
        return item

    def __iter__(self) -> Iterator[Transcript]:
        return (self[i] for i in range(len(self)))

    def __reduce__(self) -> tuple[type, tuple[list[Transcript]]]:
        # pickled (an on-disk index of the rare-disease analysis) as the plain list of every model: the maker is a
        # closure over the parsed files
        return list, ([self[i] for i in range(len(self))],)


class _ByName(Mapping[str, Transcript]):
    """Transcripts by name, made on first use."""

    def __init__(self, names: list[str], models: Sequence[Transcript]) -> None:
        self._index = {name: i for i, name in enumerate(names)}
        self._models = models

    def __getitem__(self, name: str) -> Transcript:
        return self._models[self._index[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


class TranscriptSet:
    """All transcripts of a build, indexed per chromosome for interval overlap."""

    def __init__(self, transcripts: Sequence[Transcript], *, build: str, source: str,
                 spans: tuple[list[str], list[str], np.ndarray, np.ndarray] | None = None) -> None:
        """`spans` (names, chromosomes, tx starts, tx ends of the models in order) builds the index without
        making every model (a _LazyModels makes them on first use)."""
        self.build = build
        self.source = source
        self.transcripts = transcripts
        if spans is None:
            names = [t.name for t in transcripts]
            chroms = [t.chrom for t in transcripts]
            tx_start = np.asarray([t.tx_start for t in transcripts], dtype=np.int64)
            tx_end = np.asarray([t.tx_end for t in transcripts], dtype=np.int64)
        else:
            names, chroms, tx_start, tx_end = spans
        self.by_name: Mapping[str, Transcript] = _ByName(names, transcripts)
        self._index: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        by_chrom: dict[str, list[int]] = {}
        for i, chrom in enumerate(chroms):
            by_chrom.setdefault(chrom, []).append(i)
        for chrom, ids in by_chrom.items():
            ids_arr = np.asarray(ids, dtype=np.int64)
            starts = tx_start[ids_arr] - FLANK
            ends = tx_end[ids_arr] + FLANK
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
    return tuple(map(int, text.strip(",").split(","))) if text.strip(",") else ()


def _genepred_rows(path: Path) -> tuple[list[str], list[list[str]], int]:
    """The header, the rows and the line number of the first row of a genePred-like TSV (comments skipped)."""
    with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as handle:
        line, skipped = handle.readline(), 0
        while line.startswith("# "):  # comment lines (provenance) before the #name header
            line, skipped = handle.readline(), skipped + 1
        header = line.lstrip("#").rstrip("\n").split("\t")
        rows = [row.rstrip("\n").split("\t") for row in handle if row.strip()]
    return header, rows, 2 + skipped


def _model_maker(path: Path, header: list[str], first_line: int, hgnc: dict[str, str]
                 ) -> Callable[[list[str], int], Transcript]:
    """A function making the Transcript of row i of a genePred file (errors name the file and line)."""
    column = {name: i for i, name in enumerate(header)}

    def get(row: list[str], name: str) -> str:
        i = column.get(name)
        return row[i] if i is not None and i < len(row) else ""

    def make(row: list[str], index: int) -> Transcript:
        try:
            gene, name = row[column["gene"]], row[column["name"]]
            return Transcript(
                name=name,
                chrom=normalise_chrom(row[column["chrom"]]),
                strand=1 if row[column["strand"]] == "+" else -1,
                tx_start=int(row[column["txStart"]]),
                tx_end=int(row[column["txEnd"]]),
                cds_start=int(row[column["cdsStart"]]),
                cds_end=int(row[column["cdsEnd"]]),
                exon_starts=_int_list(row[column["exonStarts"]]),
                exon_ends=_int_list(row[column["exonEnds"]]),
                gene=gene,
                gene_id=get(row, "gene_id"),
                hgnc_id=get(row, "hgnc_id") or hgnc.get(name.split(".")[0]) or hgnc.get(gene, ""),
                refseq_nm=get(row, "refseq_nm"),
                refseq_np=get(row, "refseq_np"),
                protein_id=get(row, "ensp"),
            )
        except (KeyError, ValueError, IndexError) as error:
            raise TranscriptModelError(f"{path.name} line {first_line + index}: {error}") from None

    return make


def read_genepred(path: Path, *, hgnc: dict[str, str] | None = None) -> list[Transcript]:
    """Reads a genePred-like TSV with a #name header (0-based starts; cdsEnd includes the stop codon)."""
    header, rows, first_line = _genepred_rows(path)
    make = _model_maker(path, header, first_line, hgnc or {})
    return [make(row, i) for i, row in enumerate(rows)]


def _lazy_models(paths: Sequence[Path], hgnc: dict[str, str]
                 ) -> tuple[_LazyModels, tuple[list[str], list[str], np.ndarray, np.ndarray]]:
    """The models of several genePred files, made on first use, and the spans that index them."""
    all_rows: list[list[str]] = []
    makers: list[tuple[int, Callable[[list[str], int], Transcript]]] = []
    names: list[str] = []
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for path in paths:
        header, rows, first_line = _genepred_rows(path)
        column = {name: i for i, name in enumerate(header)}
        try:
            for number, row in enumerate(rows, start=first_line):  # noqa: B007 - named in the error
                names.append(row[column["name"]])
                chroms.append(normalise_chrom(row[column["chrom"]]))
                starts.append(int(row[column["txStart"]]))
                ends.append(int(row[column["txEnd"]]))
        except (KeyError, ValueError, IndexError) as error:
            raise TranscriptModelError(f"{path.name} line {number}: {error}") from None
        makers.append((len(all_rows), _model_maker(path, header, first_line, hgnc)))
        all_rows += rows
    offsets = [offset for offset, _ in makers]

    def make(row: list[str], index: int) -> Transcript:
        k = bisect.bisect_right(offsets, index) - 1
        return makers[k][1](row, index - offsets[k])

    spans = (names, chroms, np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64))
    return _LazyModels(all_rows, make), spans


def read_hgnc_map(path: Path) -> dict[str, str]:
    """Maps unversioned Ensembl transcript ids and gene symbols to HGNC ids from the MANE summary."""
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
                           convert_options=pacsv.ConvertOptions(include_columns=["#NCBI_GeneID", "HGNC_ID", "symbol",
                                                                                 "Ensembl_nuc"],
                                                                strings_can_be_null=False))
    mapping: dict[str, str] = {}
    for hgnc, symbol, transcript in zip(table.column("HGNC_ID").to_pylist(), table.column("symbol").to_pylist(),
                                        table.column("Ensembl_nuc").to_pylist(), strict=True):
        if not hgnc:
            continue
        mapping.setdefault(symbol, hgnc)
        mapping[transcript.split(".")[0]] = hgnc
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
    # the nuclear models have no chrM: the 37 mitochondrial genes (rCRS, the same in both builds) ship with gmc
    models, spans = _lazy_models([settings.refdata_path(folder, filename), MITOCHONDRIAL_GENES], hgnc)
    return TranscriptSet(models, build=build, source=f"{source}:{filename}+{MITOCHONDRIAL_GENES.name}", spans=spans)
