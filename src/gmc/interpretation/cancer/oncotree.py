"""OncoTree tumour types as a hierarchy, so evidence for a parent type applies to its children."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = "TISSUE"

#: OncoTree umbrella codes that stand for a whole main type although their name differs from it
#: (real OncoTree parents: BRCA holds IDC/ILC..., COADREAD holds COAD/READ, OVT holds HGSOC...).
UMBRELLA_CODES: dict[str, str] = {
    "Breast Cancer": "BRCA",
    "Colorectal Cancer": "COADREAD",
    "Ovarian Cancer": "OVT",
    "Prostate Cancer": "PRAD",
    "Glioma": "DIFG",
    "Esophagogastric Cancer": "EGC",
    "Bladder Cancer": "BLCA",
    "Thyroid Cancer": "THPD",
    "Pancreatic Cancer": "PAAD",
    "Endometrial Cancer": "UCEC",
}

#: Disease names used by CIViC, CGI and MOAlmanac that do not spell an OncoTree name.
DISEASE_SYNONYMS: dict[str, str] = {
    "cancer": ROOT, "any cancer type": ROOT, "solid tumor": ROOT, "solid tumors": ROOT, "any solid tumor": ROOT,
    "any cancer": ROOT, "pan-cancer": ROOT,
    "breast adenocarcinoma": "BRCA", "her2-receptor positive breast cancer": "BRCA",
    "estrogen-receptor positive breast cancer": "BRCA", "triple-receptor negative breast cancer": "BRCA",
    "colorectal cancer": "COADREAD", "colorectal adenocarcinoma": "COADREAD", "colon cancer": "COAD",
    "colon adenocarcinoma": "COAD", "rectum adenocarcinoma": "READ", "rectal adenocarcinoma": "READ",
    "lung non-small cell carcinoma": "NSCLC", "non-small cell lung": "NSCLC", "non-small cell lung cancer": "NSCLC",
    "lung": "LUNG", "lung cancer": "LUNG", "lung squamous cell": "LUSC", "lung squamous cell carcinoma": "LUSC",
    "lung small cell carcinoma": "SCLC",
    "melanoma": "MEL", "skin melanoma": "SKCM", "cutaneous melanoma": "SKCM",
    "chronic lymphocytic leukemia": "CLLSLL", "b-cell chronic lymphocytic leukemia": "CLLSLL",
    "chronic myeloid leukemia": "CML", "chronic myelogenous leukemia": "CML", "acute myeloid leukemia": "AML",
    "acute lymphoblastic leukemia": "BLL", "b-lymphoblastic leukemia": "BLL", "multiple myeloma": "PCM",
    "myeloma": "PCM", "ovary": "OVARY", "ovarian cancer": "OVT", "ovarian serous carcinoma": "SOC",
    "high grade ovarian serous adenocarcinoma": "HGSOC", "prostate cancer": "PRAD",
    "prostate adenocarcinoma": "PRAD", "gastrointestinal stromal": "GIST", "gastrointestinal stromal tumor": "GIST",
    "glioma": "DIFG", "glioblastoma multiforme": "GB", "glioblastoma": "GB", "bladder": "BLADDER",
    "bladder carcinoma": "BLCA", "urinary bladder cancer": "BLCA", "endometrium": "UTERUS",
    "endometrial cancer": "UCEC", "renal": "KIDNEY", "renal cell carcinoma": "RCC", "clear cell renal cell carcinoma": "CCRCC",
    "stomach": "STOMACH", "stomach cancer": "STAD", "gastric adenocarcinoma": "STAD", "pancreas": "PANCREAS",
    "pancreatic cancer": "PAAD", "pancreatic adenocarcinoma": "PAAD", "thyroid": "THYROID",
    "thyroid carcinoma": "THPD", "thyroid cancer": "THPD", "head an neck": "HEAD_NECK",
    "head and neck squamous cell carcinoma": "HNSC", "head an neck squamous": "HNSC", "hepatic carcinoma": "HCC",
    "hepatocellular carcinoma": "HCC", "cholangiocarcinoma": "CHOL", "billiary tract": "BILIARY_TRACT",
    "lymphoma": "LYMPH", "hematologic malignancies": "LYMPH", "neuroblastoma": "NBL", "medulloblastoma": "MBL",
    "osteosarcoma": "OS", "liposarcoma": "LIPO", "sarcoma": "SOFT_TISSUE",
    "diffuse large b-cell lymphoma": "DLBCLNOS", "mantle cell lymphoma": "MCL", "follicular lymphoma": "FL",
    "myelodysplastic syndrome": "MDS", "lung adenocarcinoma": "LUAD", "esophageal cancer": "ESCA",
    "non-small cell lung carcinoma": "NSCLC", "lung carcinoma": "LUNG", "stomach carcinoma": "STAD",
    "malignant glioma": "DIFG", "brain glioma": "DIFG", "urothelial carcinoma": "BLCA", "ovarian carcinoma": "OVT",
    "epithelial ovarian cancer": "OVT", "pancreatic ductal adenocarcinoma": "PAAD", "pancreatic carcinoma": "PAAD",
    "papillary thyroid carcinoma": "THPA", "follicular thyroid carcinoma": "THFO",
"esophagus squamous cell carcinoma": "ESCC",
    "t-cell acute lymphoblastic leukemia": "TLL", "acute lymphocytic leukemia": "BLL",
    "malignant mesothelioma": "PLMESO", "skin squamous cell carcinoma": "CSCC", "brain medulloblastoma": "MBL",
    "bone ewing's sarcoma": "ES", "desmoid fibromatosis": "DES", "salivary gland carcinoma": "SACA",
    "myelofibrosis": "PMF", "b cell lymphoma": "MBN",
}


class UnknownTumourTypeError(ValueError):
    """A tumour type code is not in OncoTree; the message says where to find valid codes."""


@dataclass
class TumourType:
    """One OncoTree node: a code, its name, and where it sits."""

    #: OncoTree code (e.g. BRCA); synthetic main-type nodes are spelt "main:<Main Type>".
    code: str
    name: str
    main_type: str
    tissue: str
    #: Code of the parent node (None for the TISSUE root).
    parent: str | None = None
    children: list[str] = field(default_factory=list)


class OncoTree:
    """The OncoTree hierarchy: TISSUE > tissue > main type > tumour type codes."""

    def __init__(self, nodes: dict[str, TumourType], source: Path | None = None,
                 main_nodes: dict[str, str] | None = None) -> None:
        self.nodes = nodes
        self.source = source
        self._by_name = {_key(node.name): code for code, node in nodes.items() if not code.startswith("main:")}
        self._by_main = {_key(main_type): code for main_type, code in (main_nodes or {}).items()}

    def get(self, code: str) -> TumourType:
        """The node for a code, or UnknownTumourTypeError explaining how to find valid codes."""
        node = self.nodes.get(code.strip().upper()) if code else None
        if node is None or code.startswith("main:"):
            raise UnknownTumourTypeError(
                f"unknown tumour type {code!r}: use an OncoTree code such as BRCA, COADREAD, LUAD, PRAD, HGSOC, "
                "CLLSLL or TISSUE for a tumour-agnostic reading; every code is listed in "
                f"{self.source or 'GMC_REFDATA/cancer/genes/oncotree.*.txt'} and at https://oncotree.mskcc.org"
            )
        return node

    def ancestors(self, code: str) -> list[str]:
        """The code itself and every node above it, up to TISSUE."""
        chain = []
        current: str | None = self.get(code).code if not code.startswith("main:") else code
        while current is not None:
            chain.append(current)
            current = self.nodes[current].parent
        return chain

    def is_within(self, code: str, ancestor: str) -> bool:
        """True when code is ancestor or lies below it (evidence for a parent applies to its children)."""
        return ancestor in self.ancestors(code)

    def resolve_disease(self, disease: str) -> str | None:
        """Maps a knowledge-base disease name or code to an OncoTree node, or None when unknown."""
        if not disease:
            return None
        text = disease.strip()
        if text.upper() in self.nodes:
            return text.upper()
        key = _key(text)
        if key in DISEASE_SYNONYMS and DISEASE_SYNONYMS[key] in self.nodes:
            return DISEASE_SYNONYMS[key]
        if key in self._by_name:
            return self._by_name[key]
        if key in self._by_main:
            return self._by_main[key]
        # CIViC spells many types as "<site> cancer"; OncoTree spells main types the same way.
        return self._by_main.get(_key(text + " cancer"))

    def codes(self) -> list[str]:
        """All real OncoTree codes (synthetic main-type nodes left out)."""
        return sorted(code for code in self.nodes if not code.startswith("main:"))


def _key(text: str) -> str:
    """A case- and spacing-insensitive lookup key."""
    return re.sub(r"\s+", " ", text.strip().lower())


def parse_oncotree(path: Path) -> OncoTree:
    """Reads an OncoTree code/main_type/name/tissue table and builds the hierarchy."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"code", "main_type", "name", "tissue"} - set(reader.fieldnames or [])
        if missing:
            raise UnknownTumourTypeError(f"{path.name} line 1: missing columns {sorted(missing)}")
        rows = [row for row in reader if row["code"]]
    nodes: dict[str, TumourType] = {
        row["code"]: TumourType(row["code"], row["name"], row["main_type"], row["tissue"]) for row in rows
    }
    nodes.setdefault(ROOT, TumourType(ROOT, "Tissue", "", ""))
    tissue_node = {node.tissue: code for code, node in nodes.items() if node.name == node.tissue and node.tissue}
    main_node: dict[str, str] = {}
    for code, node in nodes.items():
        if node.main_type and node.name == node.main_type and code not in tissue_node.values():
            main_node[node.main_type] = code
    for main_type, code in UMBRELLA_CODES.items():
        if code in nodes and main_type not in main_node and nodes[code].main_type == main_type:
            main_node[main_type] = code
    for node in list(nodes.values()):
        if node.main_type and node.main_type not in main_node:
            synthetic = f"main:{node.main_type}"
            nodes[synthetic] = TumourType(synthetic, node.main_type, node.main_type, node.tissue)
            main_node[node.main_type] = synthetic
    for code, node in nodes.items():
        if code == ROOT:
            continue
        tissue_code = tissue_node.get(node.tissue, ROOT)
        if code == tissue_code or not node.tissue:
            node.parent = ROOT
        elif main_node.get(node.main_type) in (code, None):
            node.parent = tissue_code
        else:
            node.parent = main_node[node.main_type]
        nodes[node.parent].children.append(code)
    return OncoTree(nodes, path, main_node)


@lru_cache(maxsize=2)
def load_oncotree(path: str | None = None) -> OncoTree:
    """The OncoTree from GMC_REFDATA (or a given file), read once per process."""
    if path is None:
        from gmc.settings import get_settings

        path = str(get_settings().refdata_path("cancer", "genes", "oncotree.2023-03-09.txt"))
    return parse_oncotree(Path(path))
