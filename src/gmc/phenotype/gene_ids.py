"""Maps NCBI gene ids and gene symbols to HGNC ids through MANE and NCBI gene info."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gmc.phenotype.ontology import HpoFormatError, read_text_lines

MANE_SUMMARY = ("grch38", "MANE.GRCh38.v1.5.summary.txt.gz")
NCBI_GENE_INFO = ("ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz",)


@dataclass
class GeneIdMap:
    """HGNC ids for NCBI gene ids and symbols (current symbols first, then unambiguous aliases)."""

    #: NCBI gene id (as text, e.g. "2260") -> HGNC id.
    hgnc_by_ncbi: dict[str, str] = field(default_factory=dict)
    #: Upper-case symbol -> HGNC id.
    hgnc_by_symbol: dict[str, str] = field(default_factory=dict)
    #: HGNC id -> approved symbol.
    symbol_by_hgnc: dict[str, str] = field(default_factory=dict)

    def hgnc_for_ncbi(self, ncbi_gene_id: str | int, symbol: str | None = None) -> str | None:
        """The HGNC id of an NCBI gene id, falling back on its symbol; None when neither is known."""
        found = self.hgnc_by_ncbi.get(str(ncbi_gene_id).removeprefix("NCBIGene:"))
        if found is None and symbol:
            found = self.hgnc_for_symbol(symbol)
        return found

    def hgnc_for_symbol(self, symbol: str) -> str | None:
        """The HGNC id of a gene symbol or unambiguous alias; None when unknown."""
        return self.hgnc_by_symbol.get(symbol.strip().upper())


def load_gene_id_map(mane_summary: Path, gene_info: Path | None = None) -> GeneIdMap:
    """Builds the map from the MANE summary (GeneID, HGNC_ID, symbol) and optionally NCBI gene info aliases."""
    genes = GeneIdMap()
    header: list[str] | None = None
    for line_no, line in enumerate(read_text_lines(mane_summary), start=1):
        cols = line.rstrip("\n").split("\t")
        if header is None:
            header = [c.lstrip("#") for c in cols]
            missing = {"NCBI_GeneID", "HGNC_ID", "symbol"} - set(header)
            if missing:
                raise HpoFormatError(f"{mane_summary}:{line_no}: missing columns {sorted(missing)}")
            at = {name: header.index(name) for name in ("NCBI_GeneID", "HGNC_ID", "symbol")}
            continue
        ncbi, hgnc, symbol = (cols[at[k]] for k in ("NCBI_GeneID", "HGNC_ID", "symbol"))
        if not hgnc:
            continue  # a few MANE genes (e.g. readthroughs) have no HGNC id
        if not hgnc.startswith("HGNC:"):
            raise HpoFormatError(f"{mane_summary}:{line_no}: malformed HGNC_ID {hgnc!r}")
        genes.hgnc_by_ncbi[ncbi.removeprefix("GeneID:")] = hgnc
        genes.hgnc_by_symbol[symbol.upper()] = hgnc
        genes.symbol_by_hgnc[hgnc] = symbol
    if gene_info is None:
        return genes
    alias_targets: dict[str, set[str]] = {}
    header = None
    for line_no, line in enumerate(read_text_lines(gene_info), start=1):
        cols = line.rstrip("\n").split("\t")
        if header is None:
            header = [c.lstrip("#") for c in cols]
            if not {"entrez_id", "symbol", "aliases"} <= set(header):
                raise HpoFormatError(f"{gene_info}:{line_no}: expected entrez_id, symbol and aliases columns")
            at = {name: header.index(name) for name in ("entrez_id", "symbol", "aliases")}
            continue
        entrez, symbol, aliases = (cols[at[k]] for k in ("entrez_id", "symbol", "aliases"))
        hgnc = genes.hgnc_by_ncbi.get(entrez) or genes.hgnc_by_symbol.get(symbol.upper())
        if hgnc is None:
            continue
        genes.hgnc_by_ncbi.setdefault(entrez, hgnc)
        for alias in {symbol, *aliases.split("|")} - {""}:
            alias_targets.setdefault(alias.upper(), set()).add(hgnc)
    for alias, targets in alias_targets.items():
        # An alias shared by two genes would silently pick one; leave it unmapped instead.
        if len(targets) == 1 and alias not in genes.hgnc_by_symbol:
            genes.hgnc_by_symbol[alias] = next(iter(targets))
    return genes
