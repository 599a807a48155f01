"""Pydantic shapes of the genome-data API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class DatasetOut(BaseModel):
    """A genome dataset of a case (programme ids only)."""

    dataset_id: str
    participant_id: str | None
    sample_barcode: str | None
    vcf_sample: str
    kind: str
    build: str
    source_file: str
    file_sha256: str
    file_size: int
    n_variants: int
    n_new_sites: int
    status: str
    qc: dict[str, Any]
    qc_flags: list[dict[str, Any]]
    ingested_by: str
    ingested_at: datetime


class QcSummaryOut(BaseModel):
    """QC of a case's datasets with the expected ranges."""

    case_id: str
    status: str
    limits: dict[str, list[float]]
    datasets: list[DatasetOut]
    n_flags: int


class VariantPageOut(BaseModel):
    """One page of a sample's variants and the number that match."""

    case_id: str
    dataset_id: str
    participant_id: str | None
    build: str
    total: int
    offset: int
    limit: int
    rows: list[dict[str, Any]]
