"""OncoTree tumour types as the real tree (every node with its parent), so evidence for a parent applies to its children.

The tree is OncoTree's own nested JSON release (``refdata/cancer/genes/oncotree_<date>.json``, CC BY 4.0, MSKCC):
TISSUE > tissue (BREAST, LUNG ...) > main types and subtypes, each node naming its parent. Codes retired between
releases are mapped through each node's ``history`` (earlier codes of the same type), ``precursors`` (types merged
into it) and ``revocations`` (types withdrawn in its favour); a retired code with two successors is refused with both.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = "TISSUE"
#: The OncoTree release gmc reads from GMC_REFDATA.
ONCOTREE_FILE = ("cancer", "genes", "oncotree_2025_10_03.json")
#: OncoTree names that stand for "any cancer" in knowledge bases; evidence there is pan-cancer (tumour-agnostic
#: only when the source states an indication, see tiers.py).
PAN_CANCER_NAMES = frozenset({
    "cancer", "any cancer type", "any cancer", "pan-cancer", "solid tumor", "solid tumors", "any solid tumor",
    "any solid tumour", "advanced solid tumor", "neoplasm", "tissue",
})
#: Disease names used by CIViC, CGI and MOAlmanac that spell no OncoTree name, code or main type.
DISEASE_SYNONYMS: dict[str, str] = {
    "breast adenocarcinoma": "BRCA", "her2-receptor positive breast cancer": "BRCA",
    "estrogen-receptor positive breast cancer": "BRCA", "triple-receptor negative breast cancer": "BRCA",
    "colorectal cancer": "COADREAD", "colorectal adenocarcinoma": "COADREAD", "colon cancer": "COAD",
    "rectum adenocarcinoma": "READ", "lung non-small cell carcinoma": "NSCLC", "non-small cell lung": "NSCLC",
    "non-small cell lung carcinoma": "NSCLC", "lung": "LUNG", "lung carcinoma": "LUNG",
    "lung squamous cell": "LUSC", "lung small cell carcinoma": "SCLC", "skin melanoma": "SKCM",
    "chronic lymphocytic leukemia": "CLLSLL", "b-cell chronic lymphocytic leukemia": "CLLSLL",
    "chronic myeloid leukemia": "CML", "acute lymphoblastic leukemia": "BLL", "acute lymphocytic leukemia": "BLL",
    "b-lymphoblastic leukemia": "BLL", "t-cell acute lymphoblastic leukemia": "TLL", "multiple myeloma": "PCM",
    "myeloma": "PCM", "ovary": "OVARY", "ovarian serous carcinoma": "SOC", "ovarian carcinoma": "OVT",
    "epithelial ovarian cancer": "OVT", "high grade ovarian serous adenocarcinoma": "HGSOC",
    "gastrointestinal stromal": "GIST", "glioblastoma multiforme": "GB", "glioblastoma": "GB",
    "glioma": "DIFG", "malignant glioma": "DIFG", "brain glioma": "DIFG", "bladder": "BLADDER", "bladder carcinoma": "BLCA",
    "urinary bladder cancer": "BLCA", "urothelial carcinoma": "BLCA", "endometrium": "UTERUS",
    "endometrial cancer": "UCEC", "renal": "KIDNEY", "clear cell renal cell carcinoma": "CCRCC",
    "stomach": "STOMACH", "stomach cancer": "STAD", "stomach carcinoma": "STAD", "gastric adenocarcinoma": "STAD",
    "pancreas": "PANCREAS", "pancreatic carcinoma": "PAAD", "pancreatic ductal adenocarcinoma": "PAAD",
    "thyroid": "THYROID", "thyroid carcinoma": "THYROID", "head an neck": "HEAD_NECK",
    "head an neck squamous": "HNSC", "hepatic carcinoma": "HCC", "billiary tract": "BILIARY_TRACT",
    "lymphoma": "LYMPH", "hematologic malignancies": "LYMPH", "liposarcoma": "LIPO", "sarcoma": "SOFT_TISSUE",
    "diffuse large b-cell lymphoma": "DLBCLNOS", "myelodysplastic syndrome": "MDS", "esophageal cancer": "ESCA",
    "papillary thyroid carcinoma": "THPA", "follicular thyroid carcinoma": "THFO",
    "esophagus squamous cell carcinoma": "ESCC", "malignant mesothelioma": "PLMESO",
    "skin squamous cell carcinoma": "CSCC", "brain medulloblastoma": "MBL", "bone ewing's sarcoma": "ES",
    "desmoid fibromatosis": "DES", "salivary gland carcinoma": "SACA", "myelofibrosis": "PMF",
    "b cell lymphoma": "MBN", "astrocytoma": "ASTR", "anaplastic astrocytoma": "ASTR", "oligodendroglioma": "ODG",
    "anaplastic oligodendroglioma": "ODG", "malignant peripheral nerve sheat tumor": "MPNST",
}


class UnknownTumourTypeError(ValueError):
    """A tumour type code is not in OncoTree; the message names the nearest types and where codes are listed."""


class OncoTreeFormatError(ValueError):
    """The OncoTree release file is not the nested JSON tree expected; names the file and node."""


@dataclass
class TumourType:
    """One OncoTree node: its code, name, main type, tissue and place in the tree."""

    code: str
    name: str
    main_type: str
    tissue: str
    #: Code of the parent node (None for the TISSUE root).
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    #: Depth in the tree (TISSUE 0, tissues 1 ...).
    level: int = 0


class OncoTree:
    """The OncoTree hierarchy with retired-code mapping and disease-name resolution for knowledge bases."""

    def __init__(self, nodes: dict[str, TumourType], source: Path | None = None,
                 retired: dict[str, tuple[str, ...]] | None = None) -> None:
        self.nodes = nodes
        self.source = source
        #: Retired code -> the current code(s) that replaced it.
        self.retired = retired or {}
        self._by_name = {_key(node.name): code for code, node in nodes.items()}
        self._by_main = _main_type_nodes(nodes)

    @property
    def release(self) -> str:
        """The release name, e.g. oncotree_2025_10_03."""
        return self.source.stem if self.source else "oncotree"

    def resolve(self, code: str) -> tuple[TumourType, str | None]:
        """The node for a code and, when the code was retired, a note saying which code replaced it."""
        wanted = (code or "").strip().upper()
        if wanted in self.nodes:
            return self.nodes[wanted], None
        successors = self.retired.get(wanted, ())
        if len(successors) == 1:
            node = self.nodes[successors[0]]
            return node, f"{wanted} is a retired OncoTree code, now {node.code} ({node.name})"
        if successors:
            choices = "; ".join(f"{c} ({self.nodes[c].name})" for c in successors)
            raise UnknownTumourTypeError(
                f"tumour type {wanted!r} is a retired OncoTree code split between {choices}: choose one")
        raise UnknownTumourTypeError(self._unknown_message(code))

    def get(self, code: str) -> TumourType:
        """The node for a code (retired codes mapped to their successor), or UnknownTumourTypeError."""
        return self.resolve(code)[0]

    def suggest(self, text: str, limit: int = 3) -> list[TumourType]:
        """The nodes whose code or name is nearest to `text` (for a helpful error)."""
        query = _key(text)
        if not query:
            return []
        scores: dict[str, float] = {}
        for code, node in self.nodes.items():
            name = _key(node.name)
            score = max(difflib.SequenceMatcher(None, query, code.lower()).ratio(),
                        difflib.SequenceMatcher(None, query, name).ratio())
            words = set(query.split())
            if len(words) > 1 and words <= set(name.split()):
                score = max(score, 0.95)
            scores[code] = score
        best = sorted(scores, key=lambda code: (-scores[code], code))[:limit]
        return [self.nodes[code] for code in best if scores[code] >= 0.5]

    def _unknown_message(self, code: str) -> str:
        near = self.suggest(code)
        hint = "; nearest: " + ", ".join(f"{node.code} ({node.name})" for node in near) if near else ""
        return (f"unknown tumour type {code!r}: not an OncoTree code{hint}. Use TISSUE for a tumour-agnostic "
                f"reading; every code is in {self.source or 'the OncoTree release'} and at https://oncotree.mskcc.org")

    def ancestors(self, code: str) -> list[str]:
        """The code itself and every node above it, up to TISSUE."""
        chain = []
        current: str | None = self.get(code).code
        while current is not None:
            chain.append(current)
            current = self.nodes[current].parent
        return chain

    def is_within(self, code: str, ancestor: str) -> bool:
        """True when code is ancestor or lies below it (evidence for a parent applies to its children)."""
        return self.get(ancestor).code in self.ancestors(code)

    def resolve_disease(self, disease: str) -> str | None:
        """Maps a knowledge-base disease name or code to an OncoTree node, or None when it matches none.

        In order: pan-cancer wording (TISSUE), a current or retired code (an ", Other" leaf stands for its parent),
        the synonym table, a node name, a main type (its node of that name, else its single top node, else the lowest node holding all its top nodes).
        """
        if not disease:
            return None
        text = disease.strip()
        key = _key(text)
        if key in PAN_CANCER_NAMES:
            return ROOT
        code = text.upper() if text.upper() in self.nodes else None
        if code is None and len(self.retired.get(text.upper(), ())) == 1:
            code = self.retired[text.upper()][0]
        if code is not None:
            # Curators file "ovarian cancer" under OncoTree's "Ovarian Cancer, Other" leaf: it means the main type.
            return self.nodes[code].parent if self.nodes[code].name.endswith(", Other") else code
        for candidate in (key, key.removesuffix(" cancer"), f"{key} cancer"):
            if candidate in DISEASE_SYNONYMS and DISEASE_SYNONYMS[candidate] in self.nodes:
                return DISEASE_SYNONYMS[candidate]
            if candidate in self._by_name:
                return self._by_name[candidate]
            if candidate in self._by_main:
                return self._by_main[candidate]
        return None

    def codes(self) -> list[str]:
        """Every OncoTree code in the tree, TISSUE included."""
        return sorted(self.nodes)


def _key(text: str) -> str:
    """A case- and spacing-insensitive lookup key."""
    return re.sub(r"\s+", " ", (text or "").strip().lower())


def _main_type_nodes(nodes: dict[str, TumourType]) -> dict[str, str]:
    """Main type name -> the node standing for it (named like it, its one top node, or the top nodes' parent)."""
    members: dict[str, list[str]] = {}
    for code, node in nodes.items():
        if node.main_type:
            members.setdefault(_key(node.main_type), []).append(code)
    chosen: dict[str, str] = {}
    for main, codes in members.items():
        named = [code for code in codes if _key(nodes[code].name) == main]
        tops = [code for code in codes if nodes[code].parent not in codes]
        if len(named) == 1:
            chosen[main] = named[0]
        elif len(tops) == 1:
            chosen[main] = tops[0]
        else:
            common = _lowest_common_ancestor(nodes, tops)
            if common not in (None, ROOT):
                chosen[main] = common  # e.g. "Ovarian Cancer" -> OVARY over OVT and OOVC
    return chosen


def _lowest_common_ancestor(nodes: dict[str, TumourType], codes: list[str]) -> str | None:
    """The deepest node that holds every code (None for an empty list)."""
    chains = []
    for code in codes:
        chain, current = [], code
        while current is not None:
            chain.append(current)
            current = nodes[current].parent
        chains.append(chain)
    if not chains:
        return None
    shared = set(chains[0]).intersection(*chains[1:])
    return next((code for code in chains[0] if code in shared), None)


def parse_oncotree(path: Path) -> OncoTree:
    """Reads OncoTree's nested JSON tree (TISSUE at the top, children keyed by code) into an OncoTree."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        root = document[ROOT]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise OncoTreeFormatError(f"{Path(path).name}: not an OncoTree JSON tree with a {ROOT} root ({exc})") from exc
    nodes: dict[str, TumourType] = {}
    claims: dict[str, set[str]] = {}
    stack: list[tuple[dict, str | None]] = [(root, None)]
    while stack:
        raw, parent = stack.pop()
        try:
            code = str(raw["code"]).strip().upper()
            node = TumourType(code, str(raw["name"]), str(raw.get("mainType") or ""), str(raw.get("tissue") or ""),
                              parent, [], int(raw.get("level") or 0))
            children = raw.get("children") or {}
        except (KeyError, TypeError, ValueError) as exc:
            raise OncoTreeFormatError(f"{Path(path).name}: node under {parent or 'the root'} lacks {exc}") from exc
        if code in nodes:
            raise OncoTreeFormatError(f"{Path(path).name}: code {code} appears twice")
        if raw.get("parent") not in (None, parent) and parent is not None:
            raise OncoTreeFormatError(f"{Path(path).name}: {code} says its parent is {raw.get('parent')}, "
                                      f"but it sits under {parent}")
        nodes[code] = node
        if parent is not None:
            nodes[parent].children.append(code)
        for key in ("history", "precursors", "revocations"):
            for old in raw.get(key) or ():
                claims.setdefault(str(old).strip().upper(), set()).add(code)
        if not isinstance(children, dict):
            raise OncoTreeFormatError(f"{Path(path).name}: children of {code} are not keyed by code")
        stack.extend((child, code) for child in children.values())
    retired = {old: tuple(sorted(new)) for old, new in claims.items() if old not in nodes}
    return OncoTree(nodes, Path(path), retired)


@lru_cache(maxsize=2)
def load_oncotree(path: str | None = None) -> OncoTree:
    """The OncoTree from GMC_REFDATA (or a given file), read once per process."""
    if path is None:
        from gmc.settings import get_settings

        path = str(get_settings().refdata_path(*ONCOTREE_FILE))
    return parse_oncotree(Path(path))
