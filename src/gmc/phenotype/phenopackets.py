"""GA4GH Phenopackets v2 in and out: validated JSON to plain dataclasses and back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from phenopackets import Phenopacket

#: The schema version written when the caller's data holds none.
SCHEMA_VERSION = "2.0.2"

HPO_ID = re.compile(r"^HP:\d{7}$")
GENO_ID = re.compile(r"^GENO:\d{7}$")
HGNC_ID = re.compile(r"^HGNC:\d+$")
CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*:\S+$")
# ISO 8601 durations as phenopackets use them for ages: P[nY][nM][nW][nD][T[nH][nM][nS]].
ISO8601_DURATION = re.compile(
    r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)
VCF_BASES = re.compile(r"^[ACGTNacgtn]+$")
# Symbolic or breakend alleles are legal VCF ALT values (<DEL>, N[chr2:123[, ...).
VCF_SYMBOLIC_ALT = re.compile(r"^(<[^<>]+>|[ACGTNacgtn]*[\[\]][^\s]+|\*|\.)$")

#: GENO allelic-state ids normalised to the zygosity names used across gmc.
GENO_ZYGOSITY: dict[str, str] = {
    "GENO:0000135": "heterozygous",
    "GENO:0000458": "heterozygous",  # simple heterozygous
    "GENO:0000136": "homozygous",
    "GENO:0000134": "hemizygous",
    "GENO:0000604": "hemizygous",  # hemizygous X-linked
    "GENO:0000605": "hemizygous",  # hemizygous Y-linked
    "GENO:0000606": "hemizygous",  # hemizygous insertion-linked
    "GENO:0000402": "compound_heterozygous",
    "GENO:0000137": "unknown",  # unspecified zygosity
}


class PhenopacketError(ValueError):
    """A phenopacket failed the schema or a content rule; names the file and each JSON element path."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        #: (JSON element path, message) for every problem found.
        self.problems = list(problems)
        lines = [f"{path}: {message}" if path else message for path, message in self.problems]
        super().__init__(f"{source}: " + "; ".join(lines))


@dataclass(frozen=True)
class OntologyTerm:
    """An ontology class: a CURIE and its label."""

    id: str
    label: str = ""


@dataclass(frozen=True)
class TimeElement:
    """When something happened: exactly one of the phenopacket time forms is set."""

    #: e.g. HP:0003577 Congenital onset.
    ontology_class: OntologyTerm | None = None
    #: ISO 8601 duration, e.g. P3Y6M.
    age: str | None = None
    #: Age range as two ISO 8601 durations.
    age_range: tuple[str, str] | None = None
    #: Gestational age (weeks, days).
    gestational_age: tuple[int, int] | None = None
    #: RFC 3339 timestamp.
    timestamp: str | None = None
    #: Interval as two RFC 3339 timestamps.
    interval: tuple[str, str] | None = None


@dataclass(frozen=True)
class ExternalReference:
    """A publication or record the phenopacket cites."""

    id: str = ""
    reference: str = ""
    description: str = ""


@dataclass(frozen=True)
class Evidence:
    """Evidence for a phenotypic feature: an ECO code and its source."""

    evidence_code: OntologyTerm
    reference: ExternalReference | None = None


@dataclass(frozen=True)
class VitalStatus:
    """Alive or deceased, with the time and cause of death when known."""

    status: str = "UNKNOWN_STATUS"
    time_of_death: TimeElement | None = None
    cause_of_death: OntologyTerm | None = None
    survival_time_in_days: int = 0


@dataclass(frozen=True)
class Subject:
    """The individual the phenopacket describes."""

    id: str
    alternate_ids: tuple[str, ...] = ()
    #: RFC 3339 timestamp.
    date_of_birth: str | None = None
    time_at_last_encounter: TimeElement | None = None
    vital_status: VitalStatus | None = None
    #: MALE, FEMALE, OTHER_SEX or UNKNOWN_SEX.
    sex: str = "UNKNOWN_SEX"
    karyotypic_sex: str = "UNKNOWN_KARYOTYPE"
    gender: OntologyTerm | None = None
    #: NCBITaxon term, e.g. NCBITaxon:9606 homo sapiens.
    taxonomy: OntologyTerm | None = None


@dataclass(frozen=True)
class PhenotypicFeature:
    """One HPO term observed in (or excluded from) the subject."""

    type: OntologyTerm
    excluded: bool = False
    description: str = ""
    severity: OntologyTerm | None = None
    modifiers: tuple[OntologyTerm, ...] = ()
    onset: TimeElement | None = None
    resolution: TimeElement | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Measurement:
    """A simple measurement: a quantity with unit and reference range, or an ontology-class value."""

    assay: OntologyTerm
    value: float | None = None
    unit: OntologyTerm | None = None
    reference_low: float | None = None
    reference_high: float | None = None
    reference_unit: OntologyTerm | None = None
    value_term: OntologyTerm | None = None
    description: str = ""
    time_observed: TimeElement | None = None


@dataclass(frozen=True)
class Disease:
    """A disease diagnosed in (or excluded from) the subject."""

    term: OntologyTerm
    excluded: bool = False
    onset: TimeElement | None = None
    resolution: TimeElement | None = None
    disease_stage: tuple[OntologyTerm, ...] = ()
    clinical_tnm_finding: tuple[OntologyTerm, ...] = ()
    primary_site: OntologyTerm | None = None
    laterality: OntologyTerm | None = None


@dataclass(frozen=True)
class VcfRecord:
    """A variant as a VCF line: assembly, chromosome, 1-based position, alleles."""

    genome_assembly: str
    chrom: str
    pos: int
    ref: str
    alt: str
    id: str = ""
    qual: str = ""
    filter: str = ""
    info: str = ""


@dataclass(frozen=True)
class Expression:
    """A variant written in a syntax such as hgvs.c, hgvs.g or spdi."""

    syntax: str
    value: str
    version: str = ""


@dataclass(frozen=True)
class GeneDescriptor:
    """A gene: its id (HGNC:...) and symbol."""

    value_id: str
    symbol: str
    description: str = ""
    alternate_ids: tuple[str, ...] = ()
    alternate_symbols: tuple[str, ...] = ()
    xrefs: tuple[str, ...] = ()


@dataclass(frozen=True)
class VariationDescriptor:
    """A variant: gene context, VCF record, HGVS expressions and allelic state."""

    id: str = ""
    label: str = ""
    description: str = ""
    gene: GeneDescriptor | None = None
    vcf_record: VcfRecord | None = None
    expressions: tuple[Expression, ...] = ()
    xrefs: tuple[str, ...] = ()
    alternate_labels: tuple[str, ...] = ()
    molecule_context: str = "unspecified_molecule_context"
    #: Sequence Ontology term for structural variants (e.g. SO:1000037 chromosomal deletion).
    structural_type: OntologyTerm | None = None
    vrs_ref_allele_seq: str = ""
    #: GENO term, e.g. GENO:0000135 heterozygous.
    allelic_state: OntologyTerm | None = None


@dataclass(frozen=True)
class GenomicInterpretation:
    """A gene or variant called in a subject or biosample, with its status."""

    subject_or_biosample_id: str
    #: UNKNOWN_STATUS, REJECTED, CANDIDATE, CONTRIBUTORY or CAUSATIVE.
    interpretation_status: str = "UNKNOWN_STATUS"
    gene: GeneDescriptor | None = None
    variant: VariationDescriptor | None = None
    acmg_pathogenicity_classification: str = "NOT_PROVIDED"
    therapeutic_actionability: str = "UNKNOWN_ACTIONABILITY"


@dataclass(frozen=True)
class Interpretation:
    """A diagnostic conclusion: progress, the disease and the genomic findings behind it."""

    id: str
    #: UNKNOWN_PROGRESS, IN_PROGRESS, COMPLETED, SOLVED or UNSOLVED.
    progress_status: str = "UNKNOWN_PROGRESS"
    diagnosis_disease: OntologyTerm | None = None
    genomic_interpretations: tuple[GenomicInterpretation, ...] = ()
    summary: str = ""


@dataclass(frozen=True)
class PhenopacketFile:
    """A file (VCF, BAM, ...) referenced by the phenopacket."""

    uri: str
    individual_to_file_identifiers: tuple[tuple[str, str], ...] = ()
    file_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Resource:
    """An ontology or database the phenopacket uses, with its version."""

    id: str
    name: str
    url: str
    version: str
    namespace_prefix: str
    iri_prefix: str = ""


@dataclass(frozen=True)
class MetaData:
    """Who made the phenopacket, when, with which resource versions and schema."""

    created: str
    created_by: str
    submitted_by: str = ""
    resources: tuple[Resource, ...] = ()
    phenopacket_schema_version: str = SCHEMA_VERSION
    external_references: tuple[ExternalReference, ...] = ()


@dataclass(frozen=True)
class PhenopacketData:
    """A phenopacket as plain data."""

    id: str
    subject: Subject | None = None
    phenotypic_features: tuple[PhenotypicFeature, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    diseases: tuple[Disease, ...] = ()
    interpretations: tuple[Interpretation, ...] = ()
    files: tuple[PhenopacketFile, ...] = ()
    #: Biosamples and medical actions, kept verbatim (canonical protobuf JSON) so a re-export loses nothing.
    biosamples: tuple[dict[str, Any], ...] = ()
    medical_actions: tuple[dict[str, Any], ...] = ()
    meta_data: MetaData | None = None


@dataclass(frozen=True)
class CausalVariant:
    """A variant an interpretation holds responsible, flattened for ranking and benchmarks."""

    gene_symbol: str
    hgnc_id: str
    genome_assembly: str
    chrom: str
    pos: int
    ref: str
    alt: str
    #: heterozygous, homozygous, hemizygous, compound_heterozygous or unknown.
    zygosity: str
    #: True when the GENO term says so or two heterozygous variants hit one gene in one subject.
    compound_heterozygous: bool
    interpretation_status: str
    subject_or_biosample_id: str = ""
    disease_id: str = ""
    hgvs: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------------------
# Reading


def hpo_resource(version: str) -> Resource:
    """The metaData resource entry for an HPO release (e.g. '2025-01-16')."""
    return Resource(
        id="hp",
        name="human phenotype ontology",
        url="http://purl.obolibrary.org/obo/hp.owl",
        version=version,
        namespace_prefix="HP",
        iri_prefix="http://purl.obolibrary.org/obo/HP_",
    )


def read_phenopacket(
    source: str | Path | Mapping[str, Any], *, known_term: Callable[[str], bool] | None = None
) -> PhenopacketData:
    """Reads and validates a v2 phenopacket from a path, a JSON string or a parsed dict."""
    name, document = _load_document(source)
    canonical = _schema_check(name, document)
    problems: list[tuple[str, str]] = []
    data = _Reader(problems, known_term).phenopacket(canonical)
    if problems:
        raise PhenopacketError(name, problems)
    return data


def _load_document(source: str | Path | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Returns a display name for the source and its JSON object."""
    if isinstance(source, Mapping):
        return "<phenopacket>", dict(source)
    if isinstance(source, str) and source.lstrip().startswith("{"):
        name, text = "<json>", source
    else:
        path = Path(source)
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PhenopacketError(name, [("", f"cannot read file: {exc.strerror or exc}")]) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PhenopacketError(
            name, [("", f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}")]
        ) from exc
    if not isinstance(document, dict):
        raise PhenopacketError(
            name, [("", f"top level must be a JSON object, not {type(document).__name__}")]
        )
    return name, document


_PROTOBUF_LOCATION = re.compile(r'\s+at "?Phenopacket\.?([^"\s]*)"?$')


def _schema_check(name: str, document: dict[str, Any]) -> dict[str, Any]:
    """Parses with the official protobuf schema; returns the canonical camelCase dict."""
    message = Phenopacket()
    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError as exc:
        raise PhenopacketError(name, [_schema_problem(str(exc))]) from exc
    return json_format.MessageToDict(message)


def _schema_problem(text: str) -> tuple[str, str]:
    """Turns a protobuf ParseError message into (element path, message)."""
    first_line = text.split("\n", 1)[0]
    # Nested messages repeat "Failed to parse x field: "; the innermost clause is the one that says why.
    chain = re.findall(r"Failed to parse (\w+) field: ", first_line)
    inner = re.sub(r"^(Failed to parse \w+ field: )+", "", first_line).rstrip(". ")
    match = _PROTOBUF_LOCATION.search(inner)
    if match and match.group(1):
        path = match.group(1).rstrip(".")
        inner = inner[: match.start()]
    else:
        # Some protobuf messages carry no location; the chain of field names is the best path we have.
        path = ".".join(chain)
        inner = inner[: match.start()] if match else inner
    field_match = re.search(r'has no field named "([^"]+)"', inner)
    if field_match:
        return path or "(root)", f"unknown field '{field_match.group(1)}' (not in the phenopackets v2 schema)"
    return path or "(root)", inner


class _Reader:
    """Builds dataclasses from the canonical dict, recording content problems with their element paths."""

    def __init__(self, problems: list[tuple[str, str]], known_term: Callable[[str], bool] | None) -> None:
        self.problems = problems
        self.known_term = known_term

    def problem(self, path: str, message: str) -> None:
        """Records one problem."""
        self.problems.append((path, message))

    def term(self, raw: Mapping[str, Any], path: str) -> OntologyTerm:
        """An ontology class; the id must be a CURIE."""
        term_id = raw.get("id", "")
        if not CURIE.match(term_id):
            self.problem(f"{path}.id", f"{term_id!r} is not a CURIE (prefix:local id)")
        elif term_id.startswith("HP:") and not HPO_ID.match(term_id):
            self.problem(f"{path}.id", f"{term_id!r} is not a valid HPO id")
        return OntologyTerm(id=term_id, label=raw.get("label", ""))

    def opt_term(self, raw: Mapping[str, Any], key: str, path: str) -> OntologyTerm | None:
        """An optional ontology class."""
        return self.term(raw[key], f"{path}.{key}") if key in raw else None

    def hpo_term(self, raw: Mapping[str, Any], path: str) -> OntologyTerm:
        """An HPO class; checked against the ontology when the caller gave `known_term`."""
        term_id = raw.get("id", "")
        if not HPO_ID.match(term_id):
            self.problem(f"{path}.id", f"{term_id!r} is not a valid HPO id")
        elif self.known_term is not None and not self.known_term(term_id):
            self.problem(f"{path}.id", f"{term_id!r} is not a term of the HPO release in use")
        return OntologyTerm(id=term_id, label=raw.get("label", ""))

    def duration(self, value: str, path: str) -> str:
        """An ISO 8601 duration."""
        if not ISO8601_DURATION.match(value):
            self.problem(path, f"{value!r} is not an ISO 8601 duration such as P3Y6M")
        return value

    def time(self, raw: Mapping[str, Any], path: str) -> TimeElement:
        """A TimeElement (the schema guarantees at most one form is set)."""
        if "ontologyClass" in raw:
            return TimeElement(ontology_class=self.term(raw["ontologyClass"], f"{path}.ontologyClass"))
        if "age" in raw:
            return TimeElement(
                age=self.duration(raw["age"].get("iso8601duration", ""), f"{path}.age.iso8601duration")
            )
        if "ageRange" in raw:
            start = raw["ageRange"].get("start", {}).get("iso8601duration", "")
            end = raw["ageRange"].get("end", {}).get("iso8601duration", "")
            return TimeElement(
                age_range=(
                    self.duration(start, f"{path}.ageRange.start.iso8601duration"),
                    self.duration(end, f"{path}.ageRange.end.iso8601duration"),
                )
            )
        if "gestationalAge" in raw:
            weeks = int(raw["gestationalAge"].get("weeks", 0))
            days = int(raw["gestationalAge"].get("days", 0))
            if not 0 <= weeks <= 45 or not 0 <= days <= 6:
                self.problem(f"{path}.gestationalAge", f"{weeks} weeks {days} days is not a gestational age")
            return TimeElement(gestational_age=(weeks, days))
        if "timestamp" in raw:
            return TimeElement(timestamp=raw["timestamp"])
        if "interval" in raw:
            return TimeElement(interval=(raw["interval"].get("start", ""), raw["interval"].get("end", "")))
        self.problem(
            path, "time element holds none of ontologyClass, age, ageRange, gestationalAge, timestamp"
        )
        return TimeElement()

    def opt_time(self, raw: Mapping[str, Any], key: str, path: str) -> TimeElement | None:
        """An optional TimeElement."""
        return self.time(raw[key], f"{path}.{key}") if key in raw else None

    def external_reference(self, raw: Mapping[str, Any]) -> ExternalReference:
        """An external reference."""
        return ExternalReference(
            id=raw.get("id", ""), reference=raw.get("reference", ""), description=raw.get("description", "")
        )

    def phenopacket(self, raw: Mapping[str, Any]) -> PhenopacketData:
        """The whole phenopacket."""
        packet_id = raw.get("id", "")
        if not packet_id:
            self.problem("id", "a phenopacket needs an id")
        if "metaData" not in raw:
            self.problem("metaData", "a phenopacket needs metaData")
        return PhenopacketData(
            id=packet_id,
            subject=self.subject(raw["subject"], "subject") if "subject" in raw else None,
            phenotypic_features=tuple(
                self.feature(item, f"phenotypicFeatures[{i}]")
                for i, item in enumerate(raw.get("phenotypicFeatures", []))
            ),
            measurements=tuple(
                self.measurement(item, f"measurements[{i}]")
                for i, item in enumerate(raw.get("measurements", []))
            ),
            diseases=tuple(
                self.disease(item, f"diseases[{i}]") for i, item in enumerate(raw.get("diseases", []))
            ),
            interpretations=tuple(
                self.interpretation(item, f"interpretations[{i}]")
                for i, item in enumerate(raw.get("interpretations", []))
            ),
            files=tuple(self.file(item) for item in raw.get("files", [])),
            biosamples=tuple(raw.get("biosamples", [])),
            medical_actions=tuple(raw.get("medicalActions", [])),
            meta_data=self.meta_data(raw["metaData"], "metaData") if "metaData" in raw else None,
        )

    def subject(self, raw: Mapping[str, Any], path: str) -> Subject:
        """The subject individual."""
        if not raw.get("id"):
            self.problem(f"{path}.id", "the subject needs an id")
        vital = None
        if "vitalStatus" in raw:
            vs = raw["vitalStatus"]
            vital = VitalStatus(
                status=vs.get("status", "UNKNOWN_STATUS"),
                time_of_death=self.opt_time(vs, "timeOfDeath", f"{path}.vitalStatus"),
                cause_of_death=self.opt_term(vs, "causeOfDeath", f"{path}.vitalStatus"),
                survival_time_in_days=int(vs.get("survivalTimeInDays", 0)),
            )
        return Subject(
            id=raw.get("id", ""),
            alternate_ids=tuple(raw.get("alternateIds", [])),
            date_of_birth=raw.get("dateOfBirth"),
            time_at_last_encounter=self.opt_time(raw, "timeAtLastEncounter", path),
            vital_status=vital,
            sex=raw.get("sex", "UNKNOWN_SEX"),
            karyotypic_sex=raw.get("karyotypicSex", "UNKNOWN_KARYOTYPE"),
            gender=self.opt_term(raw, "gender", path),
            taxonomy=self.opt_term(raw, "taxonomy", path),
        )

    def feature(self, raw: Mapping[str, Any], path: str) -> PhenotypicFeature:
        """A phenotypic feature."""
        if "type" in raw:
            feature_type = self.hpo_term(raw["type"], f"{path}.type")
        else:
            self.problem(f"{path}.type", "a phenotypic feature needs a type (an HPO term)")
            feature_type = OntologyTerm(id="")
        return PhenotypicFeature(
            type=feature_type,
            excluded=bool(raw.get("excluded", False)),
            description=raw.get("description", ""),
            severity=self.opt_term(raw, "severity", path),
            modifiers=tuple(
                self.term(m, f"{path}.modifiers[{i}]") for i, m in enumerate(raw.get("modifiers", []))
            ),
            onset=self.opt_time(raw, "onset", path),
            resolution=self.opt_time(raw, "resolution", path),
            evidence=tuple(
                Evidence(
                    evidence_code=self.term(e.get("evidenceCode", {}), f"{path}.evidence[{i}].evidenceCode"),
                    reference=self.external_reference(e["reference"]) if "reference" in e else None,
                )
                for i, e in enumerate(raw.get("evidence", []))
            ),
        )

    def measurement(self, raw: Mapping[str, Any], path: str) -> Measurement:
        """A measurement with a simple value (complex values are refused rather than dropped)."""
        if "complexValue" in raw:
            self.problem(f"{path}.complexValue", "complex measurement values are not supported")
        value = raw.get("value", {})
        quantity = value.get("quantity")
        reference = (quantity or {}).get("referenceRange")
        return Measurement(
            assay=self.term(raw.get("assay", {}), f"{path}.assay"),
            value=float(quantity.get("value", 0.0)) if quantity is not None else None,
            unit=self.opt_term(quantity, "unit", f"{path}.value.quantity") if quantity is not None else None,
            reference_low=float(reference.get("low", 0.0)) if reference is not None else None,
            reference_high=float(reference.get("high", 0.0)) if reference is not None else None,
            reference_unit=(
                self.opt_term(reference, "unit", f"{path}.value.quantity.referenceRange")
                if reference is not None
                else None
            ),
            value_term=self.opt_term(value, "ontologyClass", f"{path}.value"),
            description=raw.get("description", ""),
            time_observed=self.opt_time(raw, "timeObserved", path),
        )

    def disease(self, raw: Mapping[str, Any], path: str) -> Disease:
        """A disease."""
        return Disease(
            term=self.term(raw.get("term", {}), f"{path}.term"),
            excluded=bool(raw.get("excluded", False)),
            onset=self.opt_time(raw, "onset", path),
            resolution=self.opt_time(raw, "resolution", path),
            disease_stage=tuple(
                self.term(t, f"{path}.diseaseStage[{i}]") for i, t in enumerate(raw.get("diseaseStage", []))
            ),
            clinical_tnm_finding=tuple(
                self.term(t, f"{path}.clinicalTnmFinding[{i}]")
                for i, t in enumerate(raw.get("clinicalTnmFinding", []))
            ),
            primary_site=self.opt_term(raw, "primarySite", path),
            laterality=self.opt_term(raw, "laterality", path),
        )

    def gene(self, raw: Mapping[str, Any], path: str) -> GeneDescriptor:
        """A gene descriptor; an HGNC id must be well formed."""
        value_id = raw.get("valueId", "")
        if value_id.upper().startswith("HGNC") and not HGNC_ID.match(value_id):
            self.problem(f"{path}.valueId", f"{value_id!r} is not a valid HGNC id such as HGNC:7105")
        elif not CURIE.match(value_id):
            self.problem(f"{path}.valueId", f"{value_id!r} is not a CURIE (prefix:local id)")
        if not raw.get("symbol"):
            self.problem(f"{path}.symbol", "a gene needs a symbol")
        return GeneDescriptor(
            value_id=value_id,
            symbol=raw.get("symbol", ""),
            description=raw.get("description", ""),
            alternate_ids=tuple(raw.get("alternateIds", [])),
            alternate_symbols=tuple(raw.get("alternateSymbols", [])),
            xrefs=tuple(raw.get("xrefs", [])),
        )

    def vcf_record(self, raw: Mapping[str, Any], path: str) -> VcfRecord:
        """A VCF record; position and alleles must make a real VCF line."""
        pos = int(raw.get("pos", 0))
        ref, alt = raw.get("ref", ""), raw.get("alt", "")
        if not raw.get("genomeAssembly"):
            self.problem(
                f"{path}.genomeAssembly", "a VCF record needs its genome assembly (e.g. hg38, GRCh38)"
            )
        if not raw.get("chrom"):
            self.problem(f"{path}.chrom", "a VCF record needs a chromosome")
        if pos < 1:
            self.problem(f"{path}.pos", f"{pos} is not a 1-based position")
        if not VCF_BASES.match(ref):
            self.problem(f"{path}.ref", f"{ref!r} is not a reference allele (A, C, G, T, N)")
        if not (VCF_BASES.match(alt) or VCF_SYMBOLIC_ALT.match(alt)):
            self.problem(f"{path}.alt", f"{alt!r} is not an alternate allele")
        return VcfRecord(
            genome_assembly=raw.get("genomeAssembly", ""),
            chrom=raw.get("chrom", ""),
            pos=pos,
            ref=ref,
            alt=alt,
            id=raw.get("id", ""),
            qual=raw.get("qual", ""),
            filter=raw.get("filter", ""),
            info=raw.get("info", ""),
        )

    def variation_descriptor(self, raw: Mapping[str, Any], path: str) -> VariationDescriptor:
        """A variation descriptor."""
        if "variation" in raw or "extensions" in raw:
            # VRS objects and extensions would be lost on re-export, so refuse them openly.
            key = "variation" if "variation" in raw else "extensions"
            self.problem(f"{path}.{key}", f"{key} in a variation descriptor is not supported")
        allelic_state = None
        if "allelicState" in raw:
            allelic_state = self.term(raw["allelicState"], f"{path}.allelicState")
            if not GENO_ID.match(allelic_state.id):
                self.problem(
                    f"{path}.allelicState.id", f"{allelic_state.id!r} is not a GENO id such as GENO:0000135"
                )
        return VariationDescriptor(
            id=raw.get("id", ""),
            label=raw.get("label", ""),
            description=raw.get("description", ""),
            gene=self.gene(raw["geneContext"], f"{path}.geneContext") if "geneContext" in raw else None,
            vcf_record=self.vcf_record(raw["vcfRecord"], f"{path}.vcfRecord") if "vcfRecord" in raw else None,
            expressions=tuple(
                Expression(syntax=e.get("syntax", ""), value=e.get("value", ""), version=e.get("version", ""))
                for e in raw.get("expressions", [])
            ),
            xrefs=tuple(raw.get("xrefs", [])),
            alternate_labels=tuple(raw.get("alternateLabels", [])),
            molecule_context=raw.get("moleculeContext", "unspecified_molecule_context"),
            structural_type=self.opt_term(raw, "structuralType", path),
            vrs_ref_allele_seq=raw.get("vrsRefAlleleSeq", ""),
            allelic_state=allelic_state,
        )

    def genomic_interpretation(self, raw: Mapping[str, Any], path: str) -> GenomicInterpretation:
        """A genomic interpretation: a gene call or a variant call."""
        variant_raw = raw.get("variantInterpretation", {})
        return GenomicInterpretation(
            subject_or_biosample_id=raw.get("subjectOrBiosampleId", ""),
            interpretation_status=raw.get("interpretationStatus", "UNKNOWN_STATUS"),
            gene=self.gene(raw["gene"], f"{path}.gene") if "gene" in raw else None,
            variant=(
                self.variation_descriptor(
                    variant_raw["variationDescriptor"], f"{path}.variantInterpretation.variationDescriptor"
                )
                if "variationDescriptor" in variant_raw
                else None
            ),
            acmg_pathogenicity_classification=variant_raw.get(
                "acmgPathogenicityClassification", "NOT_PROVIDED"
            ),
            therapeutic_actionability=variant_raw.get("therapeuticActionability", "UNKNOWN_ACTIONABILITY"),
        )

    def interpretation(self, raw: Mapping[str, Any], path: str) -> Interpretation:
        """An interpretation."""
        if not raw.get("id"):
            self.problem(f"{path}.id", "an interpretation needs an id")
        diagnosis = raw.get("diagnosis", {})
        return Interpretation(
            id=raw.get("id", ""),
            progress_status=raw.get("progressStatus", "UNKNOWN_PROGRESS"),
            diagnosis_disease=self.opt_term(diagnosis, "disease", f"{path}.diagnosis"),
            genomic_interpretations=tuple(
                self.genomic_interpretation(g, f"{path}.diagnosis.genomicInterpretations[{i}]")
                for i, g in enumerate(diagnosis.get("genomicInterpretations", []))
            ),
            summary=raw.get("summary", ""),
        )

    def file(self, raw: Mapping[str, Any]) -> PhenopacketFile:
        """A file reference."""
        return PhenopacketFile(
            uri=raw.get("uri", ""),
            individual_to_file_identifiers=tuple(sorted(raw.get("individualToFileIdentifiers", {}).items())),
            file_attributes=tuple(sorted(raw.get("fileAttributes", {}).items())),
        )

    def meta_data(self, raw: Mapping[str, Any], path: str) -> MetaData:
        """The metaData block."""
        for key in ("created", "createdBy"):
            if not raw.get(key):
                self.problem(f"{path}.{key}", f"metaData needs {key}")
        if raw.get("updates"):
            self.problem(f"{path}.updates", "metaData updates are not supported")
        return MetaData(
            created=raw.get("created", ""),
            created_by=raw.get("createdBy", ""),
            submitted_by=raw.get("submittedBy", ""),
            resources=tuple(
                Resource(
                    id=r.get("id", ""),
                    name=r.get("name", ""),
                    url=r.get("url", ""),
                    version=r.get("version", ""),
                    namespace_prefix=r.get("namespacePrefix", ""),
                    iri_prefix=r.get("iriPrefix", ""),
                )
                for r in raw.get("resources", [])
            ),
            phenopacket_schema_version=raw.get("phenopacketSchemaVersion", ""),
            external_references=tuple(self.external_reference(e) for e in raw.get("externalReferences", [])),
        )


# ---------------------------------------------------------------------------------------------------------
# Writing


def write_phenopacket(
    data: PhenopacketData,
    *,
    resources: Iterable[Resource] = (),
    created_by: str = "gmc",
    created: str | None = None,
) -> dict[str, Any]:
    """Builds a schema-valid v2 phenopacket dict; `resources` replace same-id entries in metaData."""
    meta = data.meta_data or MetaData(
        created=created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), created_by=created_by
    )
    merged = {r.id: r for r in meta.resources}
    merged.update({r.id: r for r in resources})
    meta = replace(
        meta,
        resources=tuple(merged.values()),
        phenopacket_schema_version=meta.phenopacket_schema_version or SCHEMA_VERSION,
    )
    document = _compact(
        {
            "id": data.id,
            "subject": _subject_json(data.subject) if data.subject else None,
            "phenotypicFeatures": [_feature_json(f) for f in data.phenotypic_features],
            "measurements": [_measurement_json(m) for m in data.measurements],
            "diseases": [_disease_json(d) for d in data.diseases],
            "interpretations": [_interpretation_json(i) for i in data.interpretations],
            "biosamples": [dict(b) for b in data.biosamples],
            "medicalActions": [dict(m) for m in data.medical_actions],
            "files": [
                {
                    "uri": f.uri,
                    "individualToFileIdentifiers": dict(f.individual_to_file_identifiers),
                    "fileAttributes": dict(f.file_attributes),
                }
                for f in data.files
            ],
            "metaData": _meta_json(meta),
        }
    )
    # The same checks as reading: what we write must be what we accept.
    read_phenopacket(document)
    return document


def phenopacket_to_json(data: PhenopacketData, **options: Any) -> str:
    """The phenopacket as indented JSON text (options as for write_phenopacket)."""
    return json.dumps(write_phenopacket(data, **options), indent=2, ensure_ascii=False)


def _compact(value: Any) -> Any:
    """Drops empty strings, empty collections, None and false flags, as protobuf JSON does."""
    if isinstance(value, dict):
        out = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {}, False)}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _term_json(term: OntologyTerm | None) -> dict[str, str] | None:
    return {"id": term.id, "label": term.label} if term else None


def _time_json(time: TimeElement | None) -> dict[str, Any] | None:
    if time is None:
        return None
    if time.ontology_class is not None:
        return {"ontologyClass": _term_json(time.ontology_class)}
    if time.age is not None:
        return {"age": {"iso8601duration": time.age}}
    if time.age_range is not None:
        return {
            "ageRange": {
                "start": {"iso8601duration": time.age_range[0]},
                "end": {"iso8601duration": time.age_range[1]},
            }
        }
    if time.gestational_age is not None:
        # Zero weeks or days are dropped by _compact as protobuf JSON drops them; both read back as 0.
        return {"gestationalAge": {"weeks": time.gestational_age[0], "days": time.gestational_age[1]}}
    if time.timestamp is not None:
        return {"timestamp": time.timestamp}
    if time.interval is not None:
        return {"interval": {"start": time.interval[0], "end": time.interval[1]}}
    return {}


def _reference_json(ref: ExternalReference | None) -> dict[str, str] | None:
    return {"id": ref.id, "reference": ref.reference, "description": ref.description} if ref else None


def _subject_json(subject: Subject) -> dict[str, Any]:
    vital = subject.vital_status
    return {
        "id": subject.id,
        "alternateIds": list(subject.alternate_ids),
        "dateOfBirth": subject.date_of_birth,
        "timeAtLastEncounter": _time_json(subject.time_at_last_encounter),
        "vitalStatus": (
            {
                "status": vital.status,
                "timeOfDeath": _time_json(vital.time_of_death),
                "causeOfDeath": _term_json(vital.cause_of_death),
                "survivalTimeInDays": vital.survival_time_in_days or None,
            }
            if vital
            else None
        ),
        "sex": subject.sex,
        "karyotypicSex": None if subject.karyotypic_sex == "UNKNOWN_KARYOTYPE" else subject.karyotypic_sex,
        "gender": _term_json(subject.gender),
        "taxonomy": _term_json(subject.taxonomy),
    }


def _feature_json(feature: PhenotypicFeature) -> dict[str, Any]:
    return {
        "type": _term_json(feature.type),
        "excluded": feature.excluded,
        "description": feature.description,
        "severity": _term_json(feature.severity),
        "modifiers": [_term_json(m) for m in feature.modifiers],
        "onset": _time_json(feature.onset),
        "resolution": _time_json(feature.resolution),
        "evidence": [
            {"evidenceCode": _term_json(e.evidence_code), "reference": _reference_json(e.reference)}
            for e in feature.evidence
        ],
    }


def _measurement_json(measurement: Measurement) -> dict[str, Any]:
    value: dict[str, Any]
    if measurement.value_term is not None:
        value = {"ontologyClass": _term_json(measurement.value_term)}
    else:
        reference = None
        if measurement.reference_low is not None or measurement.reference_high is not None:
            reference = {
                "unit": _term_json(measurement.reference_unit),
                "low": measurement.reference_low,
                "high": measurement.reference_high,
            }
        value = {
            "quantity": {
                "unit": _term_json(measurement.unit),
                "value": measurement.value,
                "referenceRange": reference,
            }
        }
    return {
        "assay": _term_json(measurement.assay),
        "value": value,
        "description": measurement.description,
        "timeObserved": _time_json(measurement.time_observed),
    }


def _disease_json(disease: Disease) -> dict[str, Any]:
    return {
        "term": _term_json(disease.term),
        "excluded": disease.excluded,
        "onset": _time_json(disease.onset),
        "resolution": _time_json(disease.resolution),
        "diseaseStage": [_term_json(t) for t in disease.disease_stage],
        "clinicalTnmFinding": [_term_json(t) for t in disease.clinical_tnm_finding],
        "primarySite": _term_json(disease.primary_site),
        "laterality": _term_json(disease.laterality),
    }


def _gene_json(gene: GeneDescriptor | None) -> dict[str, Any] | None:
    if gene is None:
        return None
    return {
        "valueId": gene.value_id,
        "symbol": gene.symbol,
        "description": gene.description,
        "alternateIds": list(gene.alternate_ids),
        "alternateSymbols": list(gene.alternate_symbols),
        "xrefs": list(gene.xrefs),
    }


def _variant_json(variant: VariationDescriptor) -> dict[str, Any]:
    vcf = variant.vcf_record
    return {
        "id": variant.id,
        "label": variant.label,
        "description": variant.description,
        "geneContext": _gene_json(variant.gene),
        "expressions": [
            {"syntax": e.syntax, "value": e.value, "version": e.version} for e in variant.expressions
        ],
        "vcfRecord": (
            {
                "genomeAssembly": vcf.genome_assembly,
                "chrom": vcf.chrom,
                "pos": vcf.pos,
                "id": vcf.id,
                "ref": vcf.ref,
                "alt": vcf.alt,
                "qual": vcf.qual,
                "filter": vcf.filter,
                "info": vcf.info,
            }
            if vcf
            else None
        ),
        "xrefs": list(variant.xrefs),
        "alternateLabels": list(variant.alternate_labels),
        "moleculeContext": variant.molecule_context,
        "structuralType": _term_json(variant.structural_type),
        "vrsRefAlleleSeq": variant.vrs_ref_allele_seq,
        "allelicState": _term_json(variant.allelic_state),
    }


def _interpretation_json(interpretation: Interpretation) -> dict[str, Any]:
    genomic = []
    for g in interpretation.genomic_interpretations:
        item: dict[str, Any] = {
            "subjectOrBiosampleId": g.subject_or_biosample_id,
            "interpretationStatus": g.interpretation_status,
        }
        if g.gene is not None:
            item["gene"] = _gene_json(g.gene)
        if g.variant is not None:
            item["variantInterpretation"] = {
                "acmgPathogenicityClassification": g.acmg_pathogenicity_classification,
                "therapeuticActionability": g.therapeutic_actionability,
                "variationDescriptor": _variant_json(g.variant),
            }
        genomic.append(item)
    return {
        "id": interpretation.id,
        "progressStatus": interpretation.progress_status,
        "diagnosis": (
            {"disease": _term_json(interpretation.diagnosis_disease), "genomicInterpretations": genomic}
            if interpretation.diagnosis_disease or genomic
            else None
        ),
        "summary": interpretation.summary,
    }


def _meta_json(meta: MetaData) -> dict[str, Any]:
    return {
        "created": meta.created,
        "createdBy": meta.created_by,
        "submittedBy": meta.submitted_by,
        "resources": [
            {
                "id": r.id,
                "name": r.name,
                "url": r.url,
                "version": r.version,
                "namespacePrefix": r.namespace_prefix,
                "iriPrefix": r.iri_prefix,
            }
            for r in meta.resources
        ],
        "phenopacketSchemaVersion": meta.phenopacket_schema_version,
        "externalReferences": [_reference_json(e) for e in meta.external_references],
    }


# ---------------------------------------------------------------------------------------------------------
# Views for interpretation and benchmarks


def normalise_zygosity(allelic_state: OntologyTerm | None) -> str:
    """The zygosity name for a GENO allelic state (by id, then by label), 'unknown' when absent."""
    if allelic_state is None:
        return "unknown"
    if allelic_state.id in GENO_ZYGOSITY:
        return GENO_ZYGOSITY[allelic_state.id]
    label = allelic_state.label.lower().replace("-", " ")
    for name in ("compound heterozygous", "heterozygous", "homozygous", "hemizygous"):
        if name in label:
            return name.replace(" ", "_")
    return "unknown"


def causal_variants(
    data: PhenopacketData, *, statuses: Iterable[str] | None = ("CAUSATIVE", "CONTRIBUTORY")
) -> list[CausalVariant]:
    """Variants with a VCF record that the interpretations call causative or contributory (None: any status)."""
    wanted = None if statuses is None else set(statuses)
    found: list[tuple[CausalVariant, str]] = []
    for interpretation in data.interpretations:
        disease_id = interpretation.diagnosis_disease.id if interpretation.diagnosis_disease else ""
        for genomic in interpretation.genomic_interpretations:
            variant = genomic.variant
            if variant is None or variant.vcf_record is None:
                continue
            if wanted is not None and genomic.interpretation_status not in wanted:
                continue
            vcf = variant.vcf_record
            zygosity = normalise_zygosity(variant.allelic_state)
            causal = CausalVariant(
                gene_symbol=variant.gene.symbol if variant.gene else "",
                hgnc_id=variant.gene.value_id
                if variant.gene and variant.gene.value_id.startswith("HGNC:")
                else "",
                genome_assembly=vcf.genome_assembly,
                chrom=vcf.chrom,
                pos=vcf.pos,
                ref=vcf.ref,
                alt=vcf.alt,
                zygosity=zygosity,
                compound_heterozygous=zygosity == "compound_heterozygous",
                interpretation_status=genomic.interpretation_status,
                subject_or_biosample_id=genomic.subject_or_biosample_id,
                disease_id=disease_id,
                hgvs=tuple(e.value for e in variant.expressions if e.syntax.startswith("hgvs")),
            )
            found.append((causal, interpretation.id))
    # Phenopackets record each allele of a compound heterozygote as its own heterozygous call; two distinct
    # heterozygous variants in one gene for one subject within one interpretation are exactly that.
    het_keys: dict[tuple[str, str, str], set[tuple[str, int, str, str]]] = {}
    for causal, interpretation_id in found:
        if causal.zygosity in ("heterozygous", "compound_heterozygous"):
            key = (interpretation_id, causal.subject_or_biosample_id, causal.gene_symbol or causal.hgnc_id)
            het_keys.setdefault(key, set()).add((causal.chrom, causal.pos, causal.ref, causal.alt))
    result = []
    for causal, interpretation_id in found:
        key = (interpretation_id, causal.subject_or_biosample_id, causal.gene_symbol or causal.hgnc_id)
        if causal.zygosity == "heterozygous" and len(het_keys.get(key, ())) >= 2:
            causal = replace(causal, compound_heterozygous=True)
        result.append(causal)
    return result


def subject_and_features_only(data: PhenopacketData) -> PhenopacketData:
    """A copy holding only the subject and phenotypic features (plus id and resource versions), for blinded ranking."""
    # External references name the publication, which would hand a ranker the answer.
    meta = replace(data.meta_data, external_references=()) if data.meta_data else None
    return PhenopacketData(
        id=data.id, subject=data.subject, phenotypic_features=data.phenotypic_features, meta_data=meta
    )


def observed_term_ids(data: PhenopacketData) -> list[str]:
    """HPO ids of the features observed in the subject, in file order, each once."""
    return list(dict.fromkeys(f.type.id for f in data.phenotypic_features if not f.excluded))


def excluded_term_ids(data: PhenopacketData) -> list[str]:
    """HPO ids of the features looked for and found absent, in file order, each once."""
    return list(dict.fromkeys(f.type.id for f in data.phenotypic_features if f.excluded))
