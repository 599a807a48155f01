"""Gene panels: PanelApp panels and custom gene lists as plain data, and panel look-up by indication."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path

from rapidfuzz import fuzz

#: File names of the PanelApp export under GMC_REFDATA/panelapp.
PANELAPP_CORE = "PanelAppRex_PanelAppData_combined_core.tsv"
PANELAPP_NAMES = "PanelAppRex_PanelAppData_combined_meta_names.tsv"

_CORE_COLUMNS = ("id", "mode_of_inheritance", "Gene", "confidence_level", "name")


class PanelNotFound(ValueError):
    """No panel matches the requested id or name."""


class PanelFileError(ValueError):
    """A panel file is malformed; the message names the file and line."""


class Confidence(IntEnum):
    """PanelApp gene rating: green genes are diagnostic-grade, amber and red are not."""

    #: Rated 0 in the export: no reviewer rating (treated as below red).
    NONE = 0
    RED = 1
    AMBER = 2
    GREEN = 3


class ModeOfInheritance(StrEnum):
    """The small set of modes of inheritance that interpretation rules act on."""

    AD = "AD"
    AR = "AR"
    XLD = "XLD"
    XLR = "XLR"
    #: X-linked, dominance not stated.
    XL = "XL"
    MT = "MT"
    #: Both monoallelic and biallelic variants cause disease.
    AD_AR = "AD_AR"
    IMPRINTING = "imprinting"
    UNKNOWN = "unknown"


# PanelApp's own vocabulary (API / web export) and PanelAppRex's short codes, lower-cased.
# Imprinting status "unknown" or "NOT imprinted" behaves as plain AD; "imprinted" with a
# stated parent of origin is kept apart because only one parental allele is expressed.
_MOI_EXACT: dict[str, ModeOfInheritance] = {
    "ad": ModeOfInheritance.AD,
    "ar": ModeOfInheritance.AR,
    "ad/ar": ModeOfInheritance.AD_AR,
    "ar/ad": ModeOfInheritance.AD_AR,
    "xl": ModeOfInheritance.XL,
    "xld": ModeOfInheritance.XLD,
    "xlr": ModeOfInheritance.XLR,
    "mt": ModeOfInheritance.MT,
    "mitochondrial": ModeOfInheritance.MT,
    "na": ModeOfInheritance.UNKNOWN,
    "": ModeOfInheritance.UNKNOWN,
    "unknown": ModeOfInheritance.UNKNOWN,
    "other": ModeOfInheritance.UNKNOWN,
    "other - please specifiy in evaluation comments": ModeOfInheritance.UNKNOWN,
    "other - please specify in evaluation comments": ModeOfInheritance.UNKNOWN,
    "monoallelic, autosomal or pseudoautosomal, not imprinted": ModeOfInheritance.AD,
    "monoallelic, autosomal or pseudoautosomal, imprinted status unknown": ModeOfInheritance.AD,
    "monoallelic, autosomal or pseudoautosomal, maternally imprinted (paternal allele expressed)": ModeOfInheritance.IMPRINTING,
    "monoallelic, autosomal or pseudoautosomal, paternally imprinted (maternal allele expressed)": ModeOfInheritance.IMPRINTING,
    "biallelic, autosomal or pseudoautosomal": ModeOfInheritance.AR,
    "both monoallelic and biallelic, autosomal or pseudoautosomal": ModeOfInheritance.AD_AR,
    "both monoallelic and biallelic (but biallelic mutations cause a more severe disease form), "
    "autosomal or pseudoautosomal": ModeOfInheritance.AD_AR,
    "x-linked: hemizygous mutation in males, biallelic mutations in females": ModeOfInheritance.XLR,
    "x-linked: hemizygous mutation in males, monoallelic mutations in females may cause disease "
    "(may be less severe, later onset than males)": ModeOfInheritance.XLD,
}

#: The mapping from PanelApp mode-of-inheritance text to the enum, for documentation and tests.
MODE_OF_INHERITANCE_MAPPING: Mapping[str, ModeOfInheritance] = dict(_MOI_EXACT)


def normalise_mode_of_inheritance(text: str | None) -> ModeOfInheritance:
    """Maps a PanelApp mode-of-inheritance string to the small enum (unknown when unrecognised)."""
    key = " ".join((text or "").strip().lower().split())
    if key in _MOI_EXACT:
        return _MOI_EXACT[key]
    # Free-text fallbacks, most specific first: PanelApp curators sometimes paraphrase.
    if "imprint" in key and ("maternally" in key or "paternally" in key):
        return ModeOfInheritance.IMPRINTING
    if "mitochondrial" in key:
        return ModeOfInheritance.MT
    if key.startswith("x-linked") or key.startswith("x linked"):
        if "monoallelic" in key or "dominant" in key:
            return ModeOfInheritance.XLD
        if "biallelic" in key or "recessive" in key:
            return ModeOfInheritance.XLR
        return ModeOfInheritance.XL
    if key.startswith("both") or ("dominant" in key and "recessive" in key):
        return ModeOfInheritance.AD_AR
    if key.startswith("monoallelic") or "dominant" in key:
        return ModeOfInheritance.AD
    if key.startswith("biallelic") or "recessive" in key:
        return ModeOfInheritance.AR
    return ModeOfInheritance.UNKNOWN


@dataclass(frozen=True)
class PanelGene:
    """One gene on a panel with its rating and mode of inheritance."""

    #: HGNC gene symbol as PanelApp gives it.
    symbol: str
    confidence: Confidence
    mode_of_inheritance: ModeOfInheritance
    #: The mode-of-inheritance text as found in the source.
    mode_of_inheritance_text: str = ""
    #: HGNC id (HGNC:1234) when the source gives one; the PanelAppRex export does not.
    hgnc_id: str | None = None

    @property
    def is_green(self) -> bool:
        """True for diagnostic-grade (green) genes."""
        return self.confidence == Confidence.GREEN


@dataclass(frozen=True)
class Panel:
    """A gene panel: PanelApp panel or a custom gene list."""

    panel_id: str
    name: str
    genes: tuple[PanelGene, ...]
    #: PanelApp version string when known (the offline export carries none).
    version: str | None = None
    disease_group: str = ""
    disease_sub_group: str = ""
    #: Relevant disorders / indications the panel is used for.
    relevant_disorders: tuple[str, ...] = ()
    #: "panelapp" or "custom".
    source: str = "panelapp"
    _by_symbol: dict[str, PanelGene] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key = {g.hgnc_id.upper(): g for g in self.genes if g.hgnc_id}
        by_key.update({g.symbol.upper(): g for g in self.genes})
        object.__setattr__(self, "_by_symbol", by_key)

    def gene(self, symbol: str) -> PanelGene | None:
        """Returns the panel's entry for a gene symbol or HGNC id, or None."""
        return self._by_symbol.get(symbol.upper())

    def green_genes(self) -> tuple[PanelGene, ...]:
        """Returns the diagnostic-grade genes."""
        return tuple(g for g in self.genes if g.is_green)


@dataclass(frozen=True)
class PanelMatch:
    """A panel found for a clinical indication, with its match score (0-100) and what matched."""

    panel: Panel
    score: float
    matched_on: str


def _panelapp_dir(directory: Path | None) -> Path:
    if directory is not None:
        return Path(directory)
    from gmc.settings import get_settings

    return get_settings().refdata_path("panelapp")


def read_panelapp(
    directory: Path | None = None, *, hgnc_for_symbol: Callable[[str], str | None] | None = None
) -> dict[str, Panel]:
    """Reads every PanelApp panel in the refdata panelapp directory, keyed by panel id.

    The export names genes by symbol only; ``hgnc_for_symbol`` (e.g. ``GeneIdMap.hgnc_for_symbol`` from
    ``gmc.phenotype.gene_ids``) fills ``PanelGene.hgnc_id`` so panels join HGNC-keyed phenotype scores.
    """
    path = _panelapp_dir(directory) / PANELAPP_CORE
    if not path.is_file():
        raise PanelFileError(f"{path}: PanelApp panel file not found")
    rows: dict[str, dict[str, tuple[PanelGene, int]]] = {}
    meta: dict[str, tuple[str, str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or any(col not in header for col in _CORE_COLUMNS):
            raise PanelFileError(f"{path}:1: header must contain {', '.join(_CORE_COLUMNS)}; got {header}")
        col = {name: i for i, name in enumerate(header)}
        for line_no, row in enumerate(reader, start=2):
            if not row or not any(row):
                continue
            if len(row) < len(header):
                row = row + [""] * (len(header) - len(row))
            panel_id = row[col["id"]].strip()
            symbol = row[col["Gene"]].strip()
            if not panel_id or not symbol:
                raise PanelFileError(f"{path}:{line_no}: panel id and gene symbol are required")
            try:
                confidence = Confidence(int(row[col["confidence_level"]]))
            except ValueError as exc:
                raise PanelFileError(
                    f"{path}:{line_no}: confidence_level {row[col['confidence_level']]!r} is not 0-3"
                ) from exc
            moi_text = row[col["mode_of_inheritance"]].strip()
            hgnc_id = hgnc_for_symbol(symbol) if hgnc_for_symbol else None
            gene = PanelGene(symbol, confidence, normalise_mode_of_inheritance(moi_text), moi_text, hgnc_id)
            genes = rows.setdefault(panel_id, {})
            # The export repeats some genes with different ratings; the highest rating wins.
            previous = genes.get(symbol.upper())
            if previous is None or gene.confidence > previous[0].confidence:
                genes[symbol.upper()] = (gene, line_no)
            meta.setdefault(
                panel_id,
                (
                    row[col["name"]].strip(),
                    row[col["disease_group"]].strip() if "disease_group" in col else "",
                    row[col["disease_sub_group"]].strip() if "disease_sub_group" in col else "",
                ),
            )
    panels: dict[str, Panel] = {}
    for panel_id, genes in rows.items():
        name, group, sub_group = meta[panel_id]
        ordered = tuple(g for g, _ in sorted(genes.values(), key=lambda item: item[1]))
        disorders = tuple(d for d in (name, sub_group, group) if d)
        panels[panel_id] = Panel(panel_id, name, ordered, None, group, sub_group, disorders)
    return panels


def custom_panel(
    name: str,
    genes: Iterable[str | tuple[str, ModeOfInheritance | str]],
    *,
    panel_id: str | None = None,
    confidence: Confidence = Confidence.GREEN,
) -> Panel:
    """Builds a custom gene list as a panel (all genes green unless told otherwise)."""
    entries: list[PanelGene] = []
    seen: set[str] = set()
    for item in genes:
        symbol, moi = (item, ModeOfInheritance.UNKNOWN) if isinstance(item, str) else item
        symbol = symbol.strip()
        if not symbol or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-._@]*", symbol):
            raise PanelFileError(f"custom panel {name!r}: invalid gene symbol {symbol!r}")
        if symbol.upper() in seen:
            continue
        seen.add(symbol.upper())
        mode = moi if isinstance(moi, ModeOfInheritance) else normalise_mode_of_inheritance(moi)
        entries.append(PanelGene(symbol, confidence, mode, str(moi)))
    if not entries:
        raise PanelFileError(f"custom panel {name!r}: no genes given")
    return Panel(panel_id or f"custom:{name}", name, tuple(entries), source="custom")


def get_panel(panels: Mapping[str, Panel], key: str) -> Panel:
    """Returns a panel by id or exact (case-insensitive) name; raises PanelNotFound."""
    if key in panels:
        return panels[key]
    wanted = key.strip().lower()
    for panel in panels.values():
        if panel.name.lower() == wanted:
            return panel
    raise PanelNotFound(f"no panel with id or name {key!r} among {len(panels)} panels")


def find_panels(
    panels: Mapping[str, Panel], indication: str, *, limit: int = 5, min_score: float = 60.0
) -> list[PanelMatch]:
    """Ranks panels for a clinical indication by fuzzy match on name, then relevant disorders."""
    query = " ".join(indication.lower().split())
    if not query:
        raise PanelNotFound("empty clinical indication")
    matches: list[PanelMatch] = []
    for panel in panels.values():
        best, on = 0.0, ""
        for rank, text in enumerate((panel.name, *panel.relevant_disorders)):
            candidate = text.lower()
            if candidate == query:
                score = 100.0
            else:
                # token_set_ratio rewards the query's words all being in the panel's text;
                # a small penalty keeps the panel name ahead of broader disease groups.
                score = max(fuzz.token_set_ratio(query, candidate), fuzz.ratio(query, candidate))
                if rank:
                    score -= 5.0
            if score > best:
                best, on = score, text
        if best >= min_score:
            matches.append(PanelMatch(panel, best, on))
    # Ties (several names containing every query word) go to the name closest to the query as a whole.
    matches.sort(key=lambda m: (-m.score, -fuzz.ratio(query, m.panel.name.lower()), m.panel.panel_id))
    if not matches:
        raise PanelNotFound(f"no panel matches clinical indication {indication!r}")
    return matches[:limit]
