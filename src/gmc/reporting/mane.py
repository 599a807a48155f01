"""MANE Select transcripts and GRCh38 chromosome accessions from the MANE summary in refdata (read once)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: The MANE summary under GMC_REFDATA.
MANE_SUMMARY = ("grch38", "MANE.GRCh38.v1.5.summary.txt.gz")


@dataclass(frozen=True)
class ManeSelect:
    """A gene's MANE Select transcript: RefSeq and Ensembl, nucleotide and protein, and its chromosome."""

    symbol: str
    hgnc_id: str | None
    refseq: str
    refseq_protein: str
    ensembl: str
    ensembl_protein: str
    #: The GRCh38 chromosome's RefSeq accession, e.g. NC_000016.10.
    chromosome: str


@dataclass(frozen=True)
class ManeIndex:
    """MANE Select by gene symbol and by transcript (either accession), and chromosome accessions by name."""

    by_symbol: dict[str, ManeSelect]
    by_transcript: dict[str, ManeSelect]
    #: "16" -> "NC_000016.10" (X, Y as X, Y).
    chromosomes: dict[str, str]
    release: str

    def for_gene(self, symbol: str | None, transcript: str | None = None) -> ManeSelect | None:
        """The MANE Select of a transcript (versioned or not) or else of a gene symbol; None when unknown."""
        if transcript:
            found = self.by_transcript.get(transcript) or self.by_transcript.get(transcript.split(".")[0])
            if found:
                return found
        return self.by_symbol.get((symbol or "").upper())


def _chromosome_name(accession: str) -> str | None:
    """NC_000016.10 -> "16", NC_000023.11 -> "X", NC_000024.10 -> "Y"; None for other sequences."""
    if not accession.startswith("NC_0000"):
        return None
    number = int(accession.split(".")[0].removeprefix("NC_"))
    return {23: "X", 24: "Y"}.get(number, str(number)) if 1 <= number <= 24 else None


def read_mane(path: Path) -> ManeIndex:
    """Parses the MANE summary (MANE Select rows only); raises ValueError naming the line of a malformed row."""
    by_symbol: dict[str, ManeSelect] = {}
    by_transcript: dict[str, ManeSelect] = {}
    chromosomes: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
        needed = ("HGNC_ID", "symbol", "RefSeq_nuc", "RefSeq_prot", "Ensembl_nuc", "Ensembl_prot", "MANE_status",
                  "GRCh38_chr")
        missing = [c for c in needed if c not in header]
        if missing:
            raise ValueError(f"{path}: line 1 lacks columns {', '.join(missing)}")
        at = {name: header.index(name) for name in needed}
        for line_no, line in enumerate(handle, start=2):
            cols = line.rstrip("\n").split("\t")
            if len(cols) < len(header):
                raise ValueError(f"{path}: line {line_no} has {len(cols)} fields, expected {len(header)}")
            if cols[at["MANE_status"]] != "MANE Select":
                continue
            row = ManeSelect(cols[at["symbol"]], cols[at["HGNC_ID"]] or None, cols[at["RefSeq_nuc"]],
                             cols[at["RefSeq_prot"]], cols[at["Ensembl_nuc"]], cols[at["Ensembl_prot"]],
                             cols[at["GRCh38_chr"]])
            by_symbol[row.symbol.upper()] = row
            for accession in (row.refseq, row.ensembl):
                by_transcript[accession] = row
                by_transcript[accession.split(".")[0]] = row
            name = _chromosome_name(row.chromosome)
            if name:
                chromosomes[name] = row.chromosome
    return ManeIndex(by_symbol, by_transcript, chromosomes, Path(path).name)


@lru_cache(maxsize=2)
def load_mane(refdata: str) -> ManeIndex:
    """The MANE index of a refdata directory (cached per process)."""
    return read_mane(Path(refdata).joinpath(*MANE_SUMMARY))
