"""ClinVar assertions looked up by normalised allele (chrom, pos, ref, alt after trimming)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from gmc.genomics.annotation.grouping import groups_of
from gmc.genomics.vcf import normalise_chrom, trim_alleles

#: Lookups answered from the tabix index before the whole file is read (each costs about a millisecond).
_TABIX_QUERIES = 64

#: ClinVar review status -> gold stars, as ClinVar displays them.
REVIEW_STARS = {
    "practice_guideline": 4,
    "reviewed_by_expert_panel": 3,
    "criteria_provided,_multiple_submitters,_no_conflicts": 2,
    "criteria_provided,_conflicting_classifications": 1,
    "criteria_provided,_conflicting_interpretations": 1,
    "criteria_provided,_single_submitter": 1,
}


class ClinVarFormatError(ValueError):
    """A ClinVar VCF line cannot be read."""


@dataclass(frozen=True)
class ClinVarAssertion:
    """ClinVar's aggregate classification of one allele."""

    variation_id: str
    significance: str
    review_status: str
    stars: int
    #: ClinVar's molecular consequences (SO names), e.g. ("missense_variant",).
    molecular_consequences: tuple[str, ...]
    gene: str
    disease: str

    @property
    def summary(self) -> str:
        """Significance, review status and variation id, pipe-joined."""
        return f"{self.significance}|{self.review_status}|{self.variation_id}"


class ClinVarIndex:
    """All alleles of a ClinVar VCF in memory, keyed by trimmed (chrom, pos, ref, alt).

    A record's INFO is parsed into its ClinVarAssertion when the allele is first looked up: a genome
    touches a few thousand of ClinVar's alleles, and parsing every INFO up front was most of the load time.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.release = ""
        #: (variation id, INFO text) of each trimmed allele, parsed on first lookup.
        self._raw: dict[tuple[str, int, str, str], tuple[str, str]] = {}
        self._parsed: dict[tuple[str, int, str, str], ClinVarAssertion] = {}
        self._positions: dict[str, np.ndarray] | None = None
        self._loaded = False
        #: a few lookups (a one-variant run) read ClinVar's tabix index instead of the whole file
        self._tabix_queries = 0
        self._tabix: Any = None
        self._contigs: dict[str, str] = {}
        with gzip.open(self.path, "rt") if self.path.suffix == ".gz" else self.path.open() as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                if line.startswith("##source=ClinVar") or line.startswith("##fileDate"):
                    self.release = self.release or line.split("=", 1)[1].split()[0 if "fileDate" in line else 1]
        if not Path(f"{self.path}.tbi").is_file():
            self._load()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (an on-disk index of the rare-disease analysis) with every allele read and no open tabix file."""
        self._load()
        return {**self.__dict__, "_tabix": None}

    def _load(self) -> None:
        """Reads every allele of the file (once)."""
        if self._loaded:
            return
        with gzip.open(self.path, "rt") if self.path.suffix == ".gz" else self.path.open() as handle:
            for number, line in enumerate(handle, start=1):
                if not line.startswith("#"):
                    self._add(line, number)
        self._loaded = True

    def _near(self, chrom: str, start: int, end: int) -> None:
        """Makes the alleles at chrom:start-end known: from the tabix index for the first few questions, then by
        reading the whole file."""
        if self._loaded:
            return
        self._tabix_queries += 1
        if self._tabix_queries > _TABIX_QUERIES:
            self._load()
            return
        if self._tabix is None:
            import pysam

            self._tabix = pysam.TabixFile(str(self.path))
            self._contigs = {normalise_chrom(c): c for c in self._tabix.contigs}
        contig = self._contigs.get(chrom)
        if contig is None:
            return
        for line in self._tabix.fetch(contig, max(start - 1, 0), end):
            self._add(line, 0)

    def _add(self, line: str, number: int) -> None:
        fields = line.rstrip("\n").split("\t", 8)
        if len(fields) < 8:
            raise ClinVarFormatError(f"{self.path.name} line {number}: expected 8 VCF columns")
        try:
            pos = int(fields[1])
        except ValueError:
            raise ClinVarFormatError(f"{self.path.name} line {number}: bad position {fields[1]!r}") from None
        chrom = normalise_chrom(fields[0])
        value = (fields[2], fields[7])
        ref = fields[3]
        for alt in fields[4].split(","):
            if len(ref) == 1 and len(alt) == 1:  # an SNV is trimmed already
                self._raw[(chrom, pos, ref, alt)] = value
            else:
                p, r, a = trim_alleles(pos, ref, alt)
                self._raw[(chrom, p, r, a)] = value

    def _assertion(self, variation_id: str, text: str) -> ClinVarAssertion:
        info = dict(item.split("=", 1) for item in text.split(";") if "=" in item)
        review = info.get("CLNREVSTAT", "")
        return ClinVarAssertion(
            variation_id=variation_id,
            significance=info.get("CLNSIG", ""),
            review_status=review,
            stars=REVIEW_STARS.get(review, 0),
            molecular_consequences=tuple(
                item.split("|", 1)[1] for item in info.get("MC", "").split(",") if "|" in item
            ),
            gene=info.get("GENEINFO", "").split(":")[0],
            disease=info.get("CLNDN", ""),
        )

    def __len__(self) -> int:
        self._load()
        return len(self._raw)

    def at_positions(self, chrom: np.ndarray, pos: np.ndarray, *, within: int = 0) -> np.ndarray:
        """Vectorised: True where ClinVar has an allele at (chrom, pos), or within `within` bases before it."""
        if not self._loaded:
            if len(pos) > _TABIX_QUERIES - self._tabix_queries:
                self._load()
            else:
                for c, p in zip(chrom.tolist(), np.asarray(pos).tolist(), strict=True):
                    self._near(c, p - within, p)
        if not self._loaded:  # the few alleles fetched so far are all that can match
            return self._hits(chrom, pos, within, self._by_chrom())
        if self._positions is None:
            self._positions = self._by_chrom()
        return self._hits(chrom, pos, within, self._positions)

    def _by_chrom(self) -> dict[str, np.ndarray]:
        by_chrom: dict[str, list[int]] = {}
        for c, p, _, _ in self._raw:
            by_chrom.setdefault(c, []).append(p)
        return {c: np.unique(np.asarray(v, dtype=np.int64)) for c, v in by_chrom.items()}

    @staticmethod
    def _hits(chrom: np.ndarray, pos: np.ndarray, within: int, positions: dict[str, np.ndarray]) -> np.ndarray:
        hit = np.zeros(len(pos), dtype=bool)
        for name, rows in groups_of(chrom):
            known = positions.get(name)
            if known is not None:
                if within:
                    # a ClinVar position in [pos - within, pos]: left-aligning could land on it
                    after = np.searchsorted(known, pos[rows], side="right")
                    before = np.searchsorted(known, pos[rows] - within, side="left")
                    hit[rows] = after > before
                else:
                    hit[rows] = np.isin(pos[rows], known)
        return hit

    def lookup(self, chrom: str, pos: int, ref: str, alt: str) -> ClinVarAssertion | None:
        """Returns ClinVar's assertion for a trimmed allele, or None."""
        key = (chrom, pos, ref, alt)
        self._near(chrom, pos, pos)
        found = self._parsed.get(key)
        if found is None:
            raw = self._raw.get(key)
            if raw is None:
                return None
            found = self._parsed[key] = self._assertion(*raw)
        return found


@lru_cache(maxsize=2)
def load_clinvar(path: str) -> ClinVarIndex:
    """Loads a ClinVar VCF once per process."""
    return ClinVarIndex(path)
