"""Tumour mutational burden: somatic coding mutations per megabase of the territory the assay could call.

The TMB Harmonization Project (Friends of Cancer Research; Merino et al., J Immunother Cancer 2020; Vega et al.,
Ann Oncol 2021) asks that a TMB figure state its denominator (the callable territory of the assay, not a fixed
size) and the classes of mutation counted. So the territory comes, in this order, from a callable-region BED
(its merged length; only mutations inside it count), a named assay's size from GMC_TMB_ASSAYS, a size given for the
run, or, failing all three, the 34 Mb of a typical exome, marked as assumed. The result carries the counted classes
and a one-sentence basis printed beside the figure.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from gmc.genomics.vcf import BUILD_CONTIG_LENGTHS
from gmc.interpretation.cancer.model import CODING, PROTEIN_ALTERING, SomaticVariant

#: Territory assumed when none is given (Mb): a typical exome capture, as PCGR assumes.
DEFAULT_TERRITORY_MB = 34.0
#: TMB-high threshold (mutations/Mb) of the FDA tumour-agnostic pembrolizumab approval (KEYNOTE-158).
TMB_HIGH = 10.0
#: Which variants count: coding incl. silent, protein-altering only (the WES reference of the harmonisation
#: project), or missense only.
COUNT_MODES = ("coding_and_silent", "coding_non_silent", "missense_only")
#: The Sequence Ontology classes each mode counts (stated in the result).
COUNTED_CLASSES = {
    "coding_and_silent": sorted(CODING),
    "coding_non_silent": sorted(PROTEIN_ALTERING),
    "missense_only": ["missense_variant"],
}
#: A BED interval longer than this is not an exome/panel target, so its build is not checked against exons.
_TARGET_SIZE_LIMIT = 50_000


class TmbConfigError(ValueError):
    """A TMB setting or callable-region file cannot be used; names the file, line or setting."""


@dataclass
class CallableRegions:
    """A callable-region BED: merged half-open intervals per chromosome, their total and the file's identity."""

    path: str
    sha256: str
    build: str
    intervals: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    #: How the build was established (exons overlapped, contig lengths, or assumed).
    build_evidence: str = ""

    @property
    def bases(self) -> int:
        """Callable bases after merging overlaps."""
        return sum(end - start for spans in self.intervals.values() for start, end in spans)

    def contains(self, chrom: str, pos: int) -> bool:
        """True when the 1-based position lies in a callable interval."""
        spans = self.intervals.get(chrom.removeprefix("chr"), [])
        index = bisect.bisect_right(spans, (pos - 1, float("inf"))) - 1
        return index >= 0 and spans[index][0] <= pos - 1 < spans[index][1]


@dataclass(frozen=True)
class TumourMutationalBurden:
    """The count, the territory, the burden per megabase and what it rests on."""

    mutations: int
    territory_mb: float
    per_mb: float
    count_mode: str
    #: True when per_mb >= TMB_HIGH.
    high: bool
    #: callable BED <file>, assay <name>, size given for the run, or assumed default (exome).
    territory_source: str = ""
    counted_classes: tuple[str, ...] = ()
    #: The sentence printed beside the figure.
    basis: str = ""

    def as_dict(self) -> dict[str, object]:
        """The RESULT form (result.TumourMutationalBurden)."""
        data = asdict(self)
        data["counted_classes"] = list(self.counted_classes)
        return data


def counts_towards_tmb(variant: SomaticVariant, count_mode: str) -> bool:
    """Whether a variant is one of the mutations the chosen counting mode includes."""
    if count_mode == "coding_and_silent":
        return bool(CODING.intersection(variant.consequences))
    if count_mode == "coding_non_silent":
        return bool(PROTEIN_ALTERING.intersection(variant.consequences))
    return "missense_variant" in variant.consequences


def _position_in(variant: SomaticVariant, build: str) -> tuple[str, int]:
    """The variant's position in the BED's build (the input position for a lifted GRCh37 call)."""
    if build == "GRCh37" and variant.input_pos and variant.input_pos.startswith("GRCh37:"):
        _, chrom, pos = variant.input_pos.split(":")
        return chrom, int(pos)
    return variant.chrom, variant.pos


def tumour_mutational_burden(
    variants: Iterable[SomaticVariant],
    *,
    territory_mb: float | None = None,
    count_mode: str = "coding_and_silent",
    callable_regions: CallableRegions | None = None,
    assay: str | None = None,
) -> TumourMutationalBurden:
    """Counts the qualifying somatic mutations (inside the callable regions when given) per megabase of territory."""
    if count_mode not in COUNT_MODES:
        raise TmbConfigError(f"TMB count mode {count_mode!r} is not one of {', '.join(COUNT_MODES)}")
    if callable_regions is not None:
        territory = callable_regions.bases / 1e6
        source = f"callable BED {Path(callable_regions.path).name} ({callable_regions.build})"
        if territory <= 0:
            raise TmbConfigError(f"{Path(callable_regions.path).name}: the callable regions hold no bases")
    elif territory_mb is not None:
        territory, source = float(territory_mb), (f"assay {assay}" if assay else "size given for the run")
    else:
        territory, source = DEFAULT_TERRITORY_MB, "assumed default (typical exome; no callable BED or assay size given)"
    if territory <= 0:
        raise TmbConfigError(f"TMB territory must be a positive number of megabases, got {territory}")
    counted = [variant for variant in variants if counts_towards_tmb(variant, count_mode)]
    if callable_regions is not None:
        counted = [v for v in counted if callable_regions.contains(*_position_in(v, callable_regions.build))]
    per_mb = round(len(counted) / territory, 3)
    classes = {"coding_and_silent": "coding SNVs and indels, synonymous included",
               "coding_non_silent": "protein-altering coding SNVs and indels (synonymous excluded)",
               "missense_only": "missense SNVs"}[count_mode]
    basis = (f"{len(counted)} somatic {classes} passing the VAF/depth filters, over {territory:.3g} Mb ({source})")
    return TumourMutationalBurden(len(counted), round(territory, 6), per_mb, count_mode, per_mb >= TMB_HIGH, source,
                                  tuple(COUNTED_CLASSES[count_mode]), basis)


def parse_assay_sizes(text: str) -> dict[str, float]:
    """GMC_TMB_ASSAYS, e.g. ``TSO500=1.33,WES-v7=35.8``: assay name -> callable territory in Mb."""
    sizes: dict[str, float] = {}
    for entry in (part.strip() for part in (text or "").split(",")):
        if not entry:
            continue
        name, _, value = entry.partition("=")
        try:
            size = float(value)
        except ValueError:
            size = 0.0
        if not name.strip() or size <= 0:
            raise TmbConfigError(f"GMC_TMB_ASSAYS entry {entry!r} is not NAME=megabases (a positive number)")
        sizes[name.strip()] = size
    return sizes


def assay_size(name: str, text: str) -> float:
    """The callable size of a named assay from GMC_TMB_ASSAYS, or an error listing the assays configured."""
    sizes = parse_assay_sizes(text)
    if name not in sizes:
        known = ", ".join(sorted(sizes)) or "none (set GMC_TMB_ASSAYS, e.g. TSO500=1.33)"
        raise TmbConfigError(f"assay {name!r} has no TMB size in GMC_TMB_ASSAYS; configured: {known}")
    return sizes[name]


@lru_cache(maxsize=4)
def _coding_exons(genepred: str) -> dict[str, list[tuple[int, int]]]:
    """Sorted, merged CDS exon intervals (0-based half-open) per chromosome from a MANE genePred file."""
    exons: dict[str, list[tuple[int, int]]] = {}
    with gzip.open(genepred, "rt", encoding="utf-8") as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
        col = {name: header.index(name) for name in ("chrom", "cdsStart", "cdsEnd", "exonStarts", "exonEnds")}
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            cds_start, cds_end = int(fields[col["cdsStart"]]), int(fields[col["cdsEnd"]])
            chrom = fields[col["chrom"]].removeprefix("chr")
            for start, end in zip(fields[col["exonStarts"]].strip(",").split(","),
                                  fields[col["exonEnds"]].strip(",").split(","), strict=True):
                low, high = max(int(start), cds_start), min(int(end), cds_end)
                if low < high:
                    exons.setdefault(chrom, []).append((low, high))
    return {chrom: _merge(spans) for chrom, spans in exons.items()}


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    index = bisect.bisect_right(spans, (end, 0)) - 1
    return index >= 0 and spans[index][1] > start


def _exon_fraction(intervals: dict[str, list[tuple[int, int]]], exons: dict[str, list[tuple[int, int]]]) -> float:
    """Share of (at most 20,000) target intervals that touch a coding exon of a build."""
    sample = [(chrom, s, e) for chrom, spans in sorted(intervals.items()) for s, e in spans][:20_000]
    if not sample:
        return 0.0
    return sum(_overlaps(exons.get(chrom, []), s, e) for chrom, s, e in sample) / len(sample)


def read_callable_bed(path: str | Path, *, expected_build: str, refdata: Path) -> CallableRegions:
    """Reads a callable-region BED and checks it is in the input's build; TmbConfigError names file and line.

    The build is read from the intervals themselves: an end beyond a chromosome's length in one build rules that
    build out; for exome/panel targets (intervals under 50 kb) the share that touches a MANE coding exon decides,
    as targets follow the exons of the build they were made for and miss them in the other.
    """
    path = Path(path)
    if not path.is_file():
        raise TmbConfigError(f"callable BED {path} does not exist")
    raw = path.read_bytes()
    text = gzip.decompress(raw).decode("utf-8") if raw[:2] == b"\x1f\x8b" else raw.decode("utf-8")
    spans: dict[str, list[tuple[int, int]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        try:
            chrom, start, end = fields[0].removeprefix("chr"), int(fields[1]), int(fields[2])
        except (IndexError, ValueError) as exc:
            raise TmbConfigError(f"{path.name} line {number}: not a BED interval (chrom, start, end)") from exc
        if start < 0 or end <= start:
            raise TmbConfigError(f"{path.name} line {number}: interval {start}-{end} is empty or negative")
        spans.setdefault("MT" if chrom == "M" else chrom, []).append((start, end))
    if not spans:
        raise TmbConfigError(f"{path.name}: no intervals")
    intervals = {chrom: _merge(items) for chrom, items in spans.items()}
    build, evidence = _bed_build(intervals, refdata)
    if build is not None and build != expected_build:
        raise TmbConfigError(f"callable BED {path.name} is {build} ({evidence}) but the variants are {expected_build}: "
                             f"give the {expected_build} regions of the assay")
    return CallableRegions(str(path), hashlib.sha256(raw).hexdigest(), expected_build, intervals,
                           evidence if build else f"build not determinable from the intervals; taken as {expected_build}")


def _bed_build(intervals: dict[str, list[tuple[int, int]]], refdata: Path) -> tuple[str | None, str]:
    """The build the intervals belong to, with the evidence, or (None, why not)."""
    fits = {build: all(spans[-1][1] <= lengths.get(chrom, 0) for chrom, spans in intervals.items() if chrom in lengths)
            for build, lengths in BUILD_CONTIG_LENGTHS.items()}
    if sum(fits.values()) == 1:
        build = next(b for b, fit in fits.items() if fit)
        return build, "interval ends fit only its chromosome lengths"
    sizes = sorted(end - start for spans in intervals.values() for start, end in spans)
    if sizes[len(sizes) // 2] > _TARGET_SIZE_LIMIT:
        return None, "intervals too long to compare with exons"
    fractions = {build: _exon_fraction(intervals, _coding_exons(str(refdata / build.lower() / "mane_select.genepred.tsv.gz")))
                 for build in ("GRCh37", "GRCh38")}
    best = max(fractions, key=fractions.get)  # type: ignore[arg-type]
    other = min(fractions, key=fractions.get)  # type: ignore[arg-type]
    if fractions[best] >= 0.5 and fractions[other] < 0.5 * fractions[best]:
        return best, (f"{fractions[best]:.0%} of its intervals touch {best} coding exons, "
                      f"{fractions[other]:.0%} touch {other} ones")
    return None, f"exon overlap does not decide ({fractions['GRCh37']:.0%} GRCh37, {fractions['GRCh38']:.0%} GRCh38)"
