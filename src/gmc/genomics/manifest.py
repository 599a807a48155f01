"""The case manifest (YAML or JSON): which VCF sample of which file is which participant of a genomic case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gmc.genomics.vcf import normalise_build


class ManifestError(ValueError):
    """A manifest cannot be used; the message names the file and the field (e.g. files[0].samples[1])."""

    def __init__(self, source: str, field: str | None, message: str) -> None:
        self.source = source
        self.field = field
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")


class SampleMapping(BaseModel):
    """One VCF column: its sample name, the participant it belongs to and optionally the sequenced sample."""

    model_config = ConfigDict(extra="forbid")

    vcf_sample: str = Field(min_length=1, max_length=100)
    #: Programme participant id (e.g. P000123).
    participant_id: str = Field(min_length=1, max_length=20)
    #: Barcode of the DNA sample that was sequenced, when known.
    sample_barcode: str | None = Field(default=None, max_length=40)
    #: Overrides the file's kind for this column (tumour-normal files hold both).
    kind: Literal["germline", "tumour", "normal"] | None = None


class ManifestFile(BaseModel):
    """One VCF/BCF file of the case."""

    model_config = ConfigDict(extra="forbid")

    #: Path of the file; relative paths are taken from the manifest's directory.
    path: str = Field(min_length=1)
    kind: Literal["germline", "tumour", "normal"] = "germline"
    samples: list[SampleMapping] = Field(min_length=1)
    #: VCF columns deliberately left out (every other column must be mapped).
    skip_samples: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_samples(self) -> ManifestFile:
        names = [s.vcf_sample for s in self.samples]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"VCF sample(s) {', '.join(dupes)} mapped twice")
        both = sorted(set(names) & set(self.skip_samples))
        if both:
            raise ValueError(f"VCF sample(s) {', '.join(both)} both mapped and skipped")
        return self


class Trio(BaseModel):
    """A child with both parents, by VCF sample name, for Mendelian checks."""

    model_config = ConfigDict(extra="forbid")

    child: str
    father: str
    mother: str


class CaseManifest(BaseModel):
    """A validated case manifest."""

    model_config = ConfigDict(extra="forbid")

    #: Programme case id (e.g. C000123).
    case_id: str = Field(min_length=1, max_length=20)
    #: Expected genome build; checked against each file's ##contig lengths.
    build: str | None = None
    files: list[ManifestFile] = Field(min_length=1)
    #: Optional trios; without it they come from the case's family in the registry.
    pedigree: list[Trio] = Field(default_factory=list)

    @field_validator("build")
    @classmethod
    def _build(cls, value: str | None) -> str | None:
        return normalise_build(value) if value else None

    @model_validator(mode="after")
    def _one_participant_per_column(self) -> CaseManifest:
        seen: dict[str, str] = {}
        for i, f in enumerate(self.files):
            for s in f.samples:
                key = f"{f.path}\t{s.vcf_sample}"
                if key in seen:
                    raise ValueError(f"files[{i}]: {f.path} sample {s.vcf_sample} appears in two file entries")
                seen[key] = s.participant_id
        names = {s.vcf_sample for f in self.files for s in f.samples}
        for t, trio in enumerate(self.pedigree):
            for role in ("child", "father", "mother"):
                if getattr(trio, role) not in names:
                    raise ValueError(f"pedigree[{t}].{role}: {getattr(trio, role)} is not a mapped VCF sample")
        return self

    def resolve(self, base: Path) -> list[tuple[Path, ManifestFile]]:
        """Each file entry with its path made absolute against the manifest's directory."""
        out = []
        for f in self.files:
            p = Path(f.path).expanduser()
            out.append((p if p.is_absolute() else (base / p).resolve(), f))
        return out


def _field_path(loc: tuple[Any, ...]) -> str:
    """files.0.samples.1.participant_id -> files[0].samples[1].participant_id."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_manifest(data: dict[str, Any], *, source: str = "manifest") -> CaseManifest:
    """Validates manifest data (already parsed); ManifestError names the first bad field."""
    if not isinstance(data, dict):
        raise ManifestError(source, None, "a manifest is a mapping with case_id and files")
    try:
        return CaseManifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ManifestError(source, _field_path(tuple(first["loc"])) or None, message) from None


def load_manifest(path: Path | str) -> CaseManifest:
    """Reads and validates a YAML or JSON manifest file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(path.name, None, f"cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        line = getattr(exc, "lineno", None) or getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f"line {line + 1 if isinstance(exc, yaml.YAMLError) else line}" if line is not None else None
        raise ManifestError(path.name, where, f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}") from None
    return parse_manifest(data, source=path.name)
