"""Genome datasets: which VCF sample of which file is which participant of a case, with its QC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gmc.db.core import Base


class GenomeDataset(Base):
    """One sample's genome data from one VCF, stored in the variant store (the calls never live in SQL)."""

    __tablename__ = "genome_dataset"
    __table_args__ = (
        UniqueConstraint("file_sha256", "vcf_sample", name="uq_genome_dataset_file_sample"),
        Index("ix_genome_dataset_case_kind", "case_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Programme dataset id, safe to show (GD + the first hex digits of the file hash + the VCF column).
    dataset_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    #: The genomic case the data answers.
    case_id: Mapped[int] = mapped_column(ForeignKey("genomic_case.id"), index=True, nullable=False)
    #: The participant whose genome this is.
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True, nullable=False)
    #: The sequenced sample (DNA), when the manifest names its barcode.
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id"), index=True)
    #: The sample's column name in the VCF header.
    vcf_sample: Mapped[str] = mapped_column(String(100), nullable=False)
    #: The sample's name in the variant store (pseudonymous: file hash and VCF column, no identifiers).
    store_sample: Mapped[str] = mapped_column(String(140), nullable=False)
    #: germline, tumour or normal.
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    #: Path of the source VCF/BCF as given to the ingest.
    source_path: Mapped[str] = mapped_column(String(1000), nullable=False)
    #: SHA-256 of the source file (the same file is recognised on re-ingest).
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    file_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: Genome build detected from the ##contig lengths (GRCh37 or GRCh38).
    build: Mapped[str] = mapped_column(String(10), nullable=False)
    #: The variant store's dataset key (one store dataset may hold several samples of one file).
    store_dataset: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    #: Non-reference calls of this sample that were stored.
    n_variants: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Sites the store had not seen before this file (shared by the file's samples).
    n_new_sites: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Sample QC metrics (counts by type, Ti/Tv, het/hom, chrX heterozygosity, sex) and trio checks.
    qc: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: QC flags: metric, value, limit and message of each metric outside its limits.
    qc_flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    #: Who ran the ingest.
    ingested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    ingested_at: Mapped[datetime] = mapped_column(nullable=False)
    #: stored (queryable), or qc_flagged when a QC flag was raised and needs review (still queryable).
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="stored")
