"""Tumour mutational burden: coding somatic mutations per megabase of callable territory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from gmc.interpretation.cancer.model import CODING, PROTEIN_ALTERING, SomaticVariant

#: Default callable coding territory (Mb): a typical exome capture, as PCGR assumes when none is given.
DEFAULT_TERRITORY_MB = 34.0
#: TMB-high threshold (mutations/Mb) of the FDA tumour-agnostic pembrolizumab approval (KEYNOTE-158).
TMB_HIGH = 10.0
#: Which variants count: all coding incl. silent, protein-altering only, or missense only.
COUNT_MODES = ("coding_and_silent", "coding_non_silent", "missense_only")


class TmbConfigError(ValueError):
    """A TMB setting is invalid (territory size or counting mode)."""


@dataclass(frozen=True)
class TumourMutationalBurden:
    """The count, the territory and the burden per megabase."""

    mutations: int
    territory_mb: float
    per_mb: float
    count_mode: str
    #: True when per_mb >= TMB_HIGH.
    high: bool

    def as_dict(self) -> dict[str, object]:
        """The RESULT.json form."""
        return asdict(self)


def counts_towards_tmb(variant: SomaticVariant, count_mode: str) -> bool:
    """Whether a variant is one of the mutations the chosen counting mode includes."""
    if count_mode == "coding_and_silent":
        return bool(CODING.intersection(variant.consequences))
    if count_mode == "coding_non_silent":
        return bool(PROTEIN_ALTERING.intersection(variant.consequences))
    return "missense_variant" in variant.consequences


def tumour_mutational_burden(
    variants: Iterable[SomaticVariant],
    *,
    territory_mb: float = DEFAULT_TERRITORY_MB,
    count_mode: str = "coding_and_silent",
) -> TumourMutationalBurden:
    """Counts the qualifying somatic mutations and divides by the callable territory in megabases."""
    if territory_mb <= 0:
        raise TmbConfigError(f"TMB territory must be a positive number of megabases, got {territory_mb}")
    if count_mode not in COUNT_MODES:
        raise TmbConfigError(f"TMB count mode {count_mode!r} is not one of {', '.join(COUNT_MODES)}")
    count = sum(1 for variant in variants if counts_towards_tmb(variant, count_mode))
    per_mb = round(count / territory_mb, 3)
    return TumourMutationalBurden(count, territory_mb, per_mb, count_mode, per_mb >= TMB_HIGH)
