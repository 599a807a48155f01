"""In-silico score files for ACMG PP3/BP4: REVEL, CADD and SpliceAI as sites VCFs, configured by setting.

``GMC_SCORE_FILES`` names them, e.g. ``revel:/data/revel.vcf.gz,cadd:/data/cadd.vcf.gz,spliceai:/data/sai.vcf.gz``.
Each is a sites VCF (plain or bgzipped; with a tabix/CSI index only the looked-up positions are read) whose
INFO carries the score of each ALT allele:

- revel: ``REVEL`` (or ``REVEL_score``), 0-1;
- cadd: ``CADD_PHRED`` (or ``PHRED``);
- spliceai: ``SpliceAI=ALT|GENE|DS_AG|DS_AL|DS_DG|DS_DL|...`` (the maximum delta score is used) or ``SpliceAI_max``.

The file's build is checked against the analysis build from its ``##contig`` lengths or ``##reference`` line
(``gmc.genomics.vcf``): a file for another build is refused with an error naming it, never read as if it fitted.
Only the variants ACMG evaluates (the leading genes') are looked up, so even genome-wide files cost little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: INFO keys read for each kind of score, in order of preference.
SCORE_KEYS: dict[str, tuple[str, ...]] = {
    "revel": ("REVEL", "REVEL_score"),
    "cadd": ("CADD_PHRED", "PHRED"),
    "spliceai": ("SpliceAI", "SpliceAI_max"),
}
_REFERENCE = re.compile(r"^##reference=.*?(GRCh3[78]|hg19|hg38|b37)", re.IGNORECASE)
_BUILD_NAMES = {"grch37": "GRCh37", "hg19": "GRCh37", "b37": "GRCh37", "grch38": "GRCh38", "hg38": "GRCh38"}


class ScoreFileError(ValueError):
    """A configured score file is unusable (missing, wrong build, malformed); the message names it."""


@dataclass(frozen=True)
class SiteScores:
    """The in-silico scores of one allele (None: not in the file or no such file configured)."""

    revel: float | None = None
    cadd_phred: float | None = None
    spliceai_max: float | None = None


@dataclass
class ScoreFiles:
    """The configured score files of one build, by kind."""

    build: str
    files: dict[str, Path] = field(default_factory=dict)

    def describe(self) -> str:
        """The files as provenance text ("" when none)."""
        return ", ".join(f"{kind}: {path.name}" for kind, path in sorted(self.files.items()))

    def lookup(self, alleles: Iterable[tuple[str, int, str, str]]) -> dict[tuple[str, int, str, str], SiteScores]:
        """Scores of the given (chrom, pos, ref, alt) alleles; alleles absent from every file are left out."""
        wanted = {(_bare(c), int(p), r, a) for c, p, r, a in alleles}
        found: dict[tuple[str, int, str, str], dict[str, float]] = {}
        for kind, path in self.files.items():
            for key, value in _read_scores(path, kind, wanted).items():
                found.setdefault(key, {})[kind] = value
        out = {}
        for chrom, pos, ref, alt in wanted:
            values = found.get((chrom, pos, ref, alt))
            if values:
                out[(chrom, pos, ref, alt)] = SiteScores(values.get("revel"), values.get("cadd"), values.get("spliceai"))
        return out


def _bare(chrom: str) -> str:
    return str(chrom).removeprefix("chr").removeprefix("CHR")


def parse_score_setting(text: str, build: str) -> ScoreFiles:
    """Reads GMC_SCORE_FILES ("kind:path,..."); an unknown kind, a missing file or a wrong build is an error."""
    files: dict[str, Path] = {}
    for item in (part.strip() for part in (text or "").split(",")):
        if not item:
            continue
        kind, sep, path_text = item.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in SCORE_KEYS:
            raise ScoreFileError(
                f"GMC_SCORE_FILES: {item!r} is not kind:path with kind one of {', '.join(SCORE_KEYS)}"
            )
        path = Path(path_text.strip())
        if not path.is_file():
            raise ScoreFileError(f"GMC_SCORE_FILES: {kind} file {path} does not exist")
        check_build(path, build)
        files[kind] = path
    return ScoreFiles(build, files)


def check_build(path: Path, build: str) -> None:
    """Refuses a score file whose header says it is for another build (contig lengths or ##reference)."""
    from gmc.genomics.vcf import VcfFormatError, open_vcf

    try:
        reader = open_vcf(path, build=build)
        reader.close()
    except VcfFormatError as exc:
        raise ScoreFileError(f"score file {path}: {exc}") from exc
    except OSError as exc:
        raise ScoreFileError(f"score file {path}: cannot read: {exc}") from exc
    for line_no, line in enumerate(_header_lines(path), start=1):
        match = _REFERENCE.match(line)
        if match and _BUILD_NAMES[match.group(1).lower()] != build:
            raise ScoreFileError(
                f"score file {path}:{line_no}: {line.strip()} is for {_BUILD_NAMES[match.group(1).lower()]}, "
                f"the analysis is {build}"
            )


def _header_lines(path: Path) -> Iterable[str]:
    import gzip

    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("##"):
                return
            yield line


def _indexed(path: Path) -> bool:
    return any(Path(f"{path}{suffix}").exists() for suffix in (".tbi", ".csi"))


def _read_scores(path: Path, kind: str, wanted: set[tuple[str, int, str, str]]) -> dict[tuple[str, int, str, str], float]:
    """The wanted alleles' score of one kind from one file (region queries when indexed, else one pass)."""
    from cyvcf2 import VCF

    keys = SCORE_KEYS[kind]
    found: dict[tuple[str, int, str, str], float] = {}
    try:
        vcf = VCF(str(path), lazy=True)
    except OSError as exc:
        raise ScoreFileError(f"score file {path}: cannot read: {exc}") from exc
    try:
        names = set(vcf.seqnames) if _indexed(path) else set()
        if names:
            positions = sorted({(c, p) for c, p, _, _ in wanted})
            records = (
                record
                for chrom, pos in positions
                for name in (chrom, f"chr{chrom}")
                if name in names
                for record in vcf(f"{name}:{pos}-{pos}")
            )
        else:
            records = iter(vcf)
        for record in records:
            chrom, pos = _bare(record.CHROM), record.POS
            for index, alt in enumerate(record.ALT):
                key = (chrom, pos, record.REF, alt)
                if key not in wanted:
                    continue
                value = _score_of(record, keys, index, alt, kind, path)
                if value is not None:
                    found[key] = value
    finally:
        vcf.close()
    return found


def _score_of(record: object, keys: tuple[str, ...], index: int, alt: str, kind: str, path: Path) -> float | None:
    """One allele's score from a record's INFO; a malformed value raises ScoreFileError naming the site."""
    info: Mapping[str, object] = record.INFO  # type: ignore[attr-defined]
    where = f"score file {path}: {record.CHROM}:{record.POS}"  # type: ignore[attr-defined]
    for key in keys:
        raw = info.get(key)
        if raw is None:
            continue
        try:
            if key == "SpliceAI":
                entries = [e for e in str(raw).split(",") if e.split("|")[0] == alt]
                if not entries:
                    return None
                return max(float(x) for e in entries for x in e.split("|")[2:6] if x not in ("", "."))
            value = raw[index] if isinstance(raw, tuple) else raw
            if value in (None, "."):
                return None
            score = float(value)  # type: ignore[arg-type]
        except (ValueError, IndexError) as exc:
            raise ScoreFileError(f"{where}: {key}={raw!r} is not a score") from exc
        if kind == "revel" and not 0 <= score <= 1:
            raise ScoreFileError(f"{where}: REVEL {score} is not within 0-1")
        return score
    return None


def configured_score_files(build: str) -> ScoreFiles:
    """The deployment's score files (GMC_SCORE_FILES) for a build; none configured gives an empty set."""
    from gmc.settings import get_settings

    return parse_score_setting(getattr(get_settings(), "score_files", "") or "", build)
