"""Variant store: Parquet sites and genotypes queried by DuckDB (a centre) or Spark (national scale)."""

from gmc.genomics.store.compaction import compact, merge_segments
from gmc.genomics.store.export import export_tsv, export_vcf
from gmc.genomics.store.layout import StoreError, StoreLayout, key_range, variant_key
from gmc.genomics.store.queries import VariantFilter, VariantStore, engine_from_settings
from gmc.genomics.store.writer import IngestResult, filter_new_sites, ingest_tables, ingest_vcf

__all__ = [
    "IngestResult",
    "StoreError",
    "StoreLayout",
    "VariantFilter",
    "VariantStore",
    "compact",
    "engine_from_settings",
    "export_tsv",
    "export_vcf",
    "filter_new_sites",
    "ingest_tables",
    "ingest_vcf",
    "key_range",
    "merge_segments",
    "variant_key",
]
