"""Request bodies of the cancer interpretation API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ProposalIn(BaseModel):
    """A proposed curation change: add a new item, edit or retire an existing one (by evidence id)."""

    action: Literal["add", "edit", "retire"]
    #: Required for edit and retire.
    evidence_id: str | None = None
    #: Evidence fields: gene, alteration, evidence_type, level, significance, tumour_type or disease,
    #: therapies, citations, genomic_grch38 (CHROM-POS-REF-ALT), supports, origin (edit: only the changed ones).
    record: dict[str, Any] = Field(default_factory=dict)
    reason: str


class ReviewIn(BaseModel):
    """A second curator's decision; a rejection needs a reason."""

    reason: str = ""


class RunIn(BaseModel):
    """A somatic run of a case: the tumour-normal VCF (or the case's stored tumour data set) and settings."""

    tumour_type: str | None = None
    vcf: str | None = None
    cna: str | None = None
    fusions: str | None = None
    germline_vcf: str | None = None
    vcf_build: str | None = None
    germline_build: str | None = None
    tumour_sample: str | None = None
    normal_sample: str | None = None
    tumour_af_tag: str | None = None
    tumour_dp_tag: str | None = None
    min_tumour_vaf: float = Field(0.05, ge=0, le=1)
    min_tumour_depth: int = Field(10, ge=0)
    max_normal_vaf: float = Field(0.05, ge=0, le=1)
    #: TMB territory: a callable-region BED, a named assay (GMC_TMB_ASSAYS) or a size in Mb; none of them: an assumed
    #: 34 Mb exome, marked as assumed in the result.
    callable: str | None = None
    assay: str | None = None
    tmb_territory_mb: float | None = Field(None, gt=0)


class NoteIn(BaseModel):
    """A tumour board note."""

    text: str
    run_id: str | None = None
