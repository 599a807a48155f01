"""CPSR's panel 0 of cancer predisposition genes: inheritance and mechanism (loss or gain of function) per gene."""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

#: Where the panel lives under GMC_REFDATA.
CPSR_PANEL = ("cancer", "germline", "cpsr", "cpsr_panel_zero.tsv.gz")
_HREF_RE = re.compile(r">([^<]+)</a>")


class CpsrPanelError(ValueError):
    """The CPSR panel file is malformed; names the file and line."""


@dataclass(frozen=True)
class CpsrGene:
    """One panel gene: mode of inheritance (AD, AR, AD/AR, XL; "" = none given) and mechanism (LoF, GoF, GoF/LoF)."""

    gene: str
    inheritance: str
    mechanism: str


def read_cpsr_panel(path: Path) -> dict[str, CpsrGene]:
    """Every gene of CPSR panel 0 (the GENE cell is an NCBI link around the symbol); NA becomes ""."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    genes: dict[str, CpsrGene] = {}
    with opener(path, "rt", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if "GENE" not in (reader.fieldnames or []):
            raise CpsrPanelError(f"{path.name} line 1: no GENE column")
        for number, row in enumerate(reader, start=2):
            cell = (row.get("GENE") or "").strip()
            match = _HREF_RE.search(cell)
            gene = (match.group(1) if match else cell).strip().upper()
            if not gene:
                raise CpsrPanelError(f"{path.name} line {number}: empty GENE")
            clean = {key: "" if (row.get(key) or "NA").strip() == "NA" else row[key].strip()
                     for key in ("CPG_MOI", "CPG_MOD")}
            genes[gene] = CpsrGene(gene, clean["CPG_MOI"], clean["CPG_MOD"])
    return genes
