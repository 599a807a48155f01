"""Reads Mutation Annotation Format (MAF) files into somatic variants per tumour sample (lifted to GRCh38)."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from gmc.genomics.liftover import ChainMap, reverse_complement
from gmc.interpretation.cancer.model import MAF_TO_SO, SomaticVariant

#: Columns that may carry the protein change, in order of preference.
PROTEIN_COLUMNS = ("HGVSp_Short", "Protein_Change", "HGVSp", "amino_acid_change", "AAChange")
#: TCGA MAFs number the sex chromosomes and the mitochondrion.
_NUMBERED_SEX_CHROMOSOMES = {"23": "X", "24": "Y", "25": "MT", "M": "MT"}
_BUILDS = {"37": "GRCh37", "grch37": "GRCh37", "hg19": "GRCh37", "38": "GRCh38", "grch38": "GRCh38", "hg38": "GRCh38"}


class MafFormatError(ValueError):
    """A MAF file is malformed or lacks what the interpretation needs; names the file and line."""


def _open_text(path: Path) -> io.TextIOBase:
    """Opens plain or gzipped text."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8") if gzipped else path.open(encoding="utf-8")


def _float(value: str | None, path: Path, line_no: int, column: str) -> float | None:
    """A number from a MAF cell; empty, NA and . are missing, anything else non-numeric is an error."""
    if value is None or value.strip() in {"", "NA", ".", "NaN"}:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise MafFormatError(f"{path.name} line {line_no}: {column} {value!r} is not a number") from exc


def _int(value: str | None, path: Path, line_no: int, column: str) -> int | None:
    number = _float(value, path, line_no, column)
    return None if number is None else int(number)


def read_maf(
    path: str | Path,
    *,
    build: str | None = None,
    chain: ChainMap | None = None,
) -> dict[str, list[SomaticVariant]]:
    """Reads a MAF into variants per Tumor_Sample_Barcode; GRCh37 positions are lifted to GRCh38 with `chain`.

    The build comes from NCBI_Build, or the `build` argument when the file has none.
    """
    path = Path(path)
    if not path.exists():
        raise MafFormatError(f"{path}: file not found")
    samples: dict[str, list[SomaticVariant]] = {}
    with _open_text(path) as handle:
        lines = (line for line in handle if not line.startswith("#"))
        reader = csv.DictReader(lines, delimiter="\t")
        columns = {name.lower(): name for name in reader.fieldnames or []}
        needed = ["hugo_symbol", "chromosome", "start_position", "reference_allele", "tumor_seq_allele2",
                  "variant_classification"]
        if missing := [name for name in needed if name not in columns]:
            raise MafFormatError(f"{path.name} line 1: MAF lacks column(s) {', '.join(missing)}")
        protein_col = next((columns[c.lower()] for c in PROTEIN_COLUMNS if c.lower() in columns), None)
        for line_no, row in enumerate(reader, start=2):
            row_build = row.get(columns.get("ncbi_build", ""), "") or build
            if not row_build:
                raise MafFormatError(
                    f"{path.name} line {line_no}: no NCBI_Build column; give the build (GRCh37 or GRCh38) explicitly")
            genome = _BUILDS.get(str(row_build).strip().lower())
            if genome is None:
                raise MafFormatError(f"{path.name} line {line_no}: unknown NCBI_Build {row_build!r}")
            classification = row[columns["variant_classification"]].strip()
            if classification not in MAF_TO_SO:
                raise MafFormatError(f"{path.name} line {line_no}: unknown Variant_Classification {classification!r}")
            chrom = row[columns["chromosome"]].strip().removeprefix("chr")
            chrom = _NUMBERED_SEX_CHROMOSOMES.get(chrom, chrom)
            try:
                pos = int(row[columns["start_position"]])
            except ValueError as exc:
                raise MafFormatError(f"{path.name} line {line_no}: Start_Position is not a number") from exc
            ref, alt = row[columns["reference_allele"]].strip(), row[columns["tumor_seq_allele2"]].strip()
            input_pos = None
            if genome == "GRCh37":
                if chain is None:
                    raise MafFormatError(f"{path.name}: GRCh37 MAF needs the hg19ToHg38 chain to lift to GRCh38")
                lifted = chain.lift_position(chrom, pos)
                if lifted is None:
                    continue  # no GRCh38 counterpart: cannot be interpreted against GRCh38 knowledge
                input_pos = f"GRCh37:{chrom}:{pos}"
                chrom, pos = lifted.chrom, lifted.pos
                if lifted.strand == "-":
                    ref, alt = reverse_complement(ref), reverse_complement(alt)
            alt_count = _int(row.get(columns.get("t_alt_count", "")), path, line_no, "t_alt_count")
            ref_count = _int(row.get(columns.get("t_ref_count", "")), path, line_no, "t_ref_count")
            depth = _int(row.get(columns.get("t_depth", "")), path, line_no, "t_depth")
            wu_vaf = _float(row.get(columns.get("i_tumorvaf_wu", "")), path, line_no, "i_TumorVAF_WU")
            tumor_f = _float(row.get(columns.get("tumor_f", "")), path, line_no, "tumor_f")
            vaf = None
            if alt_count is not None and ref_count is not None and alt_count + ref_count > 0:
                vaf = alt_count / (alt_count + ref_count)
                depth = depth or alt_count + ref_count
            elif wu_vaf is not None:
                vaf = wu_vaf / 100  # the WashU column is a percentage
            elif tumor_f is not None:
                vaf = tumor_f
            exon_text = row.get(columns.get("exon_number", ""), "") or ""
            exon = int(exon_text.split("/")[0]) if exon_text.split("/")[0].isdigit() else None
            protein = (row.get(protein_col) or "").strip() if protein_col else ""
            variant = SomaticVariant(
                chrom, pos, ref, alt, gene=row[columns["hugo_symbol"]].strip().upper() or None,
                consequences=(MAF_TO_SO[classification],), hgvs_p=protein if protein.startswith("p.") else
                (f"p.{protein}" if protein and protein[0].isalpha() else None),
                hgvs_c=(row.get(columns.get("hgvsc", ""), "") or None), exon=exon, tumour_vaf=vaf,
                tumour_depth=depth, source_line=line_no, input_pos=input_pos,
            )
            sample = row.get(columns.get("tumor_sample_barcode", ""), "") or "tumour"
            samples.setdefault(sample, []).append(variant)
    if not samples:
        raise MafFormatError(f"{path.name}: no variant rows")
    return samples
