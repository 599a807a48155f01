"""The somatic RESULT document, field by field: the one place its shape is written down (schema version 2).

`interpret_somatic` returns a `SomaticResult`; runs store it as `InterpretationRun.results`; the API returns it at
``/api/cancer/runs/{run_id}``; reports render it. tests/interpretation/cancer/test_result.py checks that a real
result has exactly these keys, so this module and the code cannot drift apart.

Version 2 (this one) groups therapies: ``Finding.therapies`` is a list of `TherapyLine` (version 1 had a dict of
label lists per tumour-type scope); prognostic and diagnostic statements are `StatementLine` objects from the
tumour's own lineage; oncogenicity may be "Not classified" with the inputs that were missing.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

RESULT_SCHEMA_VERSION = 2


class SupportRow(TypedDict):
    """One evidence item behind a therapy line."""

    id: str  #: Source-prefixed id: CIViC:EID1409, CGI:312, MOAlmanac:144, GMC:CUR000001.
    source: str  #: CIViC, CGI, MOAlmanac or gmc-curated.
    level: str  #: AMP/ASCO/CAP level A-D (levels.EVIDENCE_LEVELS maps the source's level).
    source_level: str  #: The level as the source wrote it ("FDA-Approved", "Late trials", "B").
    significance: str  #: The source's wording (Sensitivity/Response, Resistant, No Responsive ...).
    disease: str  #: The disease as the source wrote it.
    tumour_type: str | None  #: The OncoTree code it maps to (TISSUE: pan-cancer; None: unmapped).
    in_tumour_type: bool  #: Holds for this tumour type (its lineage, or a stated tumour-agnostic indication).
    tumour_agnostic: bool  #: A regulatory approval or guideline for any tumour type.
    match_level: str  #: How the alteration matched: exact, codon, region, exon, truncating, gene, amplification ...
    citations: list[str]  #: PMIDs and URLs.


class TherapyLine(TypedDict):
    """One therapy (a combination kept whole) in one direction, with its best level and every supporting item."""

    therapy: str  #: Shown name: "Cetuximab + Encorafenib"; an unstated list reads "Docetaxel, Selumetinib".
    drugs: list[str]  #: The drugs, under one name per drug across sources.
    combination: Literal["single", "combination", "unstated"]  #: unstated: the source lists drugs without saying.
    note: str  #: A caution for unstated lists ("" otherwise).
    direction: Literal["sensitivity", "resistance"]
    best_level: str  #: Best AMP level over every counted item (A-D).
    in_tumour_type: bool  #: At least one item holds for this tumour type.
    level_here: str | None  #: Best level among the items that hold for this tumour type.
    level_elsewhere: str | None  #: Best level among items for other tumour types.
    tumour_agnostic: bool  #: Held here through a tumour-agnostic indication.
    sources: list[str]
    evidence_ids: list[str]  #: Supporting items, this tumour type first, best level first.
    citations: list[str]
    diseases: list[str]
    support: list[SupportRow]


class StatementLine(TypedDict):
    """A prognostic or diagnostic statement of the tumour's own lineage, one per significance."""

    significance: str  #: Poor Outcome, Better Outcome, Positive ...
    best_level: str
    diseases: list[str]
    sources: list[str]
    evidence_ids: list[str]
    citations: list[str]


class EvidenceRow(TypedDict):
    """Every matched evidence item (the full list behind the lines), with whether and why it counts."""

    id: str
    source: str
    type: str  #: predictive, prognostic, diagnostic, predisposing, oncogenic.
    level: str
    source_level: str
    significance: str
    direction: str  #: sensitivity, resistance, toxicity, or "" for non-predictive items.
    supports: bool  #: False when the source marks the statement "does not support".
    disease: str
    tumour_type: str | None
    biomarker: str  #: The alteration as the source named it.
    match_level: str
    therapies: list[str]
    citations: list[str]
    tumour_agnostic: bool
    in_tumour_type: bool
    counted_for_tier: bool
    not_counted_reason: str  #: Why an item does not count ("" when it counts).


class OncogenicityResult(TypedDict):
    """ClinGen/CGC/VICC 2022 oncogenicity."""

    #: Oncogenic, Likely Oncogenic, VUS, Likely Benign, Benign, or "Not classified" when an input the SOP needs is
    #: missing (then `missing_inputs` says which).
    class_: str  # stored under the key "class"
    points: int | None  #: None when not classified.
    criteria: list[str]  #: OVS1, OS1 ... met.
    reasons: dict[str, str]  #: Why each criterion was met.
    missing_inputs: list[str]  #: e.g. "protein effect", "population frequency".
    note: str  #: What the missing inputs mean for the class ("" when nothing is missing).
    possible_classes: list[str]  #: The classes reachable once a missing population frequency is known.


class Finding(TypedDict):
    """A tiered small variant, copy-number change or fusion."""

    kind: Literal["snv_indel", "copy_number", "fusion"]
    chrom: str
    pos: int
    ref: str | None
    alt: str | None
    gene: str | None  #: For fusions "GENE5--GENE3".
    hgvs_c: str | None
    hgvs_p: str | None
    protein_change: str | None  #: One-letter form (V600E) whatever the input notation.
    consequences: list[str]  #: Sequence Ontology terms.
    tier: Literal["I", "II", "III", "IV"] | None
    amp_level: Literal["IA", "IB", "IIC", "IID"] | None
    tier_reason: str
    oncogenicity: dict[str, Any] | None  #: OncogenicityResult ("class" key); None for copy number and fusions.
    evidence: list[EvidenceRow]
    evidence_ids: list[str]  #: Ids of the items that count towards the tier.
    therapies: list[TherapyLine]  #: Best first: this tumour type, level, lineage before tumour-agnostic, sensitivity.
    prognostic: list[StatementLine]
    diagnostic: list[StatementLine]
    tumour_vaf: float | None
    tumour_depth: int | None
    input_position: str | None  #: "GRCh37:7:140453136" when the input was lifted.
    alteration: str | None  #: amplification, deletion or fusion for structural findings.


class TumourType(TypedDict):
    """The tumour type read: OncoTree code, name and lineage."""

    code: str
    name: str
    lineage: list[str]  #: The code and every OncoTree ancestor up to TISSUE.
    requested: str  #: The code as given (a retired code is mapped to `code`).
    note: str | None  #: Says so when a retired code was mapped.
    oncotree_release: str


class TumourMutationalBurden(TypedDict):
    """TMB with the basis it was computed on (tmb.py)."""

    mutations: int
    territory_mb: float
    per_mb: float
    count_mode: str
    high: bool
    territory_source: str  #: "callable BED <file>", "assay <name>", "given size" or "assumed default (exome)".
    counted_classes: list[str]  #: Sequence Ontology terms counted.
    basis: str  #: One sentence printed beside the figure.


class SomaticResult(TypedDict):
    """What `interpret_somatic` returns."""

    schema_version: int  #: RESULT_SCHEMA_VERSION.
    tumour_type: TumourType
    findings: list[Finding]  #: Tiered small variants, tier I first.
    unreported_variants: list[dict[str, Any]]  #: Silent/non-coding variants without tier, with oncogenicity.
    structural_findings: list[Finding]  #: Copy-number changes and fusions with clinical evidence (tiers I-II).
    tmb: TumourMutationalBurden
    counts: dict[str, Any]  #: input_variants, passed_filters, filtered_out, by_tier {I..IV}, structural_by_tier.
    settings: dict[str, Any]  #: SomaticSettings as used.
    provenance: dict[str, Any]  #: software, version, schemes, knowledge_base files (sha256), inputs, evidence_levels.
