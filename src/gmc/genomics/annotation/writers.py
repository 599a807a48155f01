"""Writers for annotated alleles: VCF with an INFO/GMC field, TSV, or Parquet (chosen by extension)."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from cyvcf2 import VCF, Writer

from gmc.genomics.vcf import VariantBatch, count_header_lines, is_bcf

#: Subfields of the INFO/GMC value, one pipe-separated entry per ALT allele.
GMC_FIELDS = (
    "Allele",
    "Gene",
    "HGNC_ID",
    "Transcript",
    "Consequence",
    "Impact",
    "HGVSc",
    "HGVSp",
    "Exon",
    "Intron",
    "ClinVar",
    "ClinVar_stars",
    "gnomAD_AF",
    "pLI",
    "LOEUF",
    "ClinGen_HI",
    "ClinGen_TS",
)
_GMC_COLUMNS = (
    "alt",
    "gene",
    "hgnc_id",
    "transcript",
    "consequence",
    "impact",
    "hgvs_c",
    "hgvs_p",
    "exon",
    "intron",
    "clinvar",
    "clinvar_stars",
    "gnomad_af",
    "pli",
    "loeuf",
    "clingen_hi",
    "clingen_ts",
)
# characters with a meaning inside INFO values, percent-encoded as VCF 4.3 allows
_ESCAPES = str.maketrans({"|": "%7C", ",": "%2C", ";": "%3B", "=": "%3D", " ": "_", "%": "%25", "\t": "%09"})


class AnnotationOutputError(ValueError):
    """The output path has an extension gmc cannot write."""


def output_format(path: str | Path) -> str:
    """Returns vcf, tsv or parquet from the output file name."""
    name = str(path).lower()
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")):
        return "vcf"
    if name.endswith((".tsv", ".tsv.gz", ".txt")):
        return "tsv"
    if name.endswith(".parquet"):
        return "parquet"
    raise AnnotationOutputError(f"{path}: output must end in .vcf(.gz), .bcf, .tsv(.gz) or .parquet")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_tsv(tables: Iterable[pa.Table], path: str | Path, provenance: dict[str, str]) -> int:
    """Writes annotated rows as TSV, provenance in leading ## lines; returns the row count."""
    path = Path(path)
    rows = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as handle:
        for key, value in provenance.items():
            handle.write(f"##{key}={value}\n")
        header_written = False
        for table in tables:
            if not header_written:
                handle.write("\t".join(table.column_names) + "\n")
                header_written = True
            columns = [table[name].to_pylist() for name in table.column_names]
            for values in zip(*columns, strict=True):
                handle.write("\t".join(_text(v).replace("\t", " ") for v in values) + "\n")
            rows += table.num_rows
    return rows


def write_parquet(tables: Iterable[pa.Table], path: str | Path, provenance: dict[str, str]) -> int:
    """Writes annotated rows as Parquet with provenance in the schema metadata; returns the row count."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for table in tables:
            if writer is None:
                schema = table.schema.with_metadata({f"gmc.{k}": v for k, v in provenance.items()})
                writer = pq.ParquetWriter(str(path), schema)
            writer.write_table(table.cast(writer.schema))
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def gmc_values(table: pa.Table) -> list[str]:
    """Returns the INFO/GMC entry of each annotated row."""
    columns = [table[name].to_pylist() for name in _GMC_COLUMNS]
    return ["|".join(_text(v).translate(_ESCAPES) for v in values) for values in zip(*columns, strict=True)]


def write_vcf(
    source: str | Path,
    annotated: Iterable[tuple[VariantBatch, pa.Table]],
    path: str | Path,
    provenance: dict[str, str],
) -> int:
    """Copies the input VCF/BCF to `path`, adding INFO/GMC to each record; returns the records written."""
    vcf = VCF(str(source), lazy=True, threads=1)
    vcf.add_info_to_header(
        {
            "ID": "GMC",
            "Number": ".",
            "Type": "String",
            "Description": "gmc annotation per ALT allele. Format: " + "|".join(GMC_FIELDS),
        }
    )
    for key, value in provenance.items():
        vcf.add_to_header(f"##{key if key.startswith('gmc') else 'gmc_' + key}={value}")
    name = str(path).lower()
    mode = "wb" if name.endswith(".bcf") else "wz" if name.endswith((".gz", ".bgz")) else "w"
    writer = Writer(str(path), vcf, mode=mode)
    entries = _entries_by_line(annotated)
    header_lines = _header_line_count(Path(source))
    pending = next(entries, None)
    written = 0
    empty = "|" * (len(GMC_FIELDS) - 1)
    try:
        for index, record in enumerate(vcf):
            line = header_lines + index + 1
            by_allele: dict[int, str] = {}
            while pending is not None and pending[0] <= line:
                if pending[0] == line:
                    by_allele[pending[1]] = pending[2]
                pending = next(entries, None)
            if by_allele:
                # one entry per ALT as written, in ALT order (empty for * and symbolic non-alleles)
                record.INFO["GMC"] = ",".join(
                    f"{alt.translate(_ESCAPES)}{by_allele.get(number, empty)}"
                    for number, alt in enumerate(record.ALT, start=1)
                )
            writer.write_record(record)
            written += 1
    finally:
        writer.close()
        vcf.close()
    return written


def _entries_by_line(
    annotated: Iterable[tuple[VariantBatch, pa.Table]],
) -> Iterator[tuple[int, int, str]]:
    """(line, ALT number, entry without its allele field) for each annotated row, in file order."""
    for batch, table in annotated:
        lines = np.asarray(batch.line).tolist()
        alleles = batch.allele.tolist() if batch.allele is not None else [1] * len(lines)
        for line, allele, value in zip(lines, alleles, gmc_values(table), strict=True):
            yield line, int(allele), value[value.index("|") :]


def _header_line_count(path: Path) -> int:
    return 0 if is_bcf(path) else count_header_lines(path)
