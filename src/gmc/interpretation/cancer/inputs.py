"""Reads tumour-normal VCFs, copy-number segments and fusion lists into plain somatic records."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cyvcf2 import VCF

from gmc.genomics.liftover import ChainMap
from gmc.genomics.vcf import detect_build, normalise_build
from gmc.interpretation.cancer.model import CopyNumberSegment, Fusion, SomaticVariant

#: Where tumour VAF/depth are looked for when no tag is given: (INFO or FORMAT, key), PCGR's TVAF/TDP first.
DEFAULT_TUMOUR_AF_KEYS = (("INFO", "TVAF"), ("FORMAT", "AF"), ("FORMAT", "FREQ"), ("FORMAT", "AD"), ("FORMAT", "ADT"))
DEFAULT_TUMOUR_DP_KEYS = (("INFO", "TDP"), ("FORMAT", "DP"), ("FORMAT", "DPT"), ("FORMAT", "AD"), ("FORMAT", "ADT"))
DEFAULT_NORMAL_AF_KEYS = (("INFO", "CVAF"), ("FORMAT", "AF"), ("FORMAT", "AD"), ("FORMAT", "ADC"))
DEFAULT_NORMAL_DP_KEYS = (("INFO", "CDP"), ("FORMAT", "DP"), ("FORMAT", "DPC"), ("FORMAT", "AD"), ("FORMAT", "ADC"))
#: INFO keys that carry a REVEL score (dbNSFP through vcfanno/SnpSift, or a plain REVEL key), in order of preference.
REVEL_INFO_KEYS = ("REVEL", "REVEL_score", "dbNSFP_REVEL_score")
#: Fraction of calls homozygous-alt above which a single-sample VCF is taken for a germline one.
GERMLINE_HOM_ALT_FRACTION = 0.10
#: Records inspected to decide whether a VCF is germline.
GERMLINE_SAMPLE_RECORDS = 2000
_EXPECTED = (
    "Expected a tumour-normal VCF: two sample columns (tumour and normal), or ##tumor_sample/##normal_sample "
    "headers, or tumour VAF/depth keys such as INFO TVAF/TDP (name others with --tumour-af-tag/--tumour-dp-tag). "
    "Interpret germline variants with the rare-disease or cancer-predisposition workflow instead.")
_TCGA_BARCODE = re.compile(r"TCGA-\w\w-\w{4}-(\d\d)")


class SomaticInputError(ValueError):
    """A somatic input file is not what is expected; names the file, line and the keys looked for."""


class GermlineVcfError(SomaticInputError):
    """A germline (single-sample, genotype-like) VCF was given where a tumour-normal one is needed."""


@dataclass
class VcfReadReport:
    """What was read: records, samples, the keys that supplied VAF/depth, and the germline check."""

    path: str
    samples: list[str]
    tumour_sample: str | None
    normal_sample: str | None
    records: int = 0
    non_pass: int = 0
    keys_used: dict[str, str] = field(default_factory=dict)
    somatic_markers: list[str] = field(default_factory=list)
    build: str = "GRCh38"
    #: GRCh37 alleles with no GRCh38 counterpart (left out).
    unlifted: int = 0


def _parse_tag(tag: str | None, defaults: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Turns "INFO/TVAF", "FORMAT/AF" or a bare key into the (section, key) list to try."""
    if not tag:
        return defaults
    section, _, key = tag.partition("/")
    if not key:
        return (("INFO", section), ("FORMAT", section))
    section = section.upper()
    if section not in {"INFO", "FORMAT"}:
        raise SomaticInputError(f"tag {tag!r} must be INFO/<key>, FORMAT/<key> or a bare key")
    return ((section, key),)


def _tcga_role(sample: str) -> str | None:
    """TCGA barcodes code sample type 01-09 as tumour and 10-19 as normal."""
    match = _TCGA_BARCODE.search(sample)
    if not match:
        return None
    return "tumour" if int(match.group(1)) < 10 else "normal"


def _pick_samples(vcf: VCF, tumour: str | None, normal: str | None, path: Path) -> tuple[str | None, str | None]:
    """Finds the tumour and normal columns: given names, ##tumor_sample/##normal_sample, or TCGA barcodes."""
    samples = list(vcf.samples)
    for name in (tumour, normal):
        if name and name not in samples:
            raise SomaticInputError(f"{path.name}: sample {name!r} not in the VCF (samples: {', '.join(samples)})")
    header = vcf.raw_header
    if tumour is None and (match := re.search(r"^##tumou?r_sample=(\S+)", header, re.M | re.I)):
        tumour = match.group(1) if match.group(1) in samples else None
    if normal is None and (match := re.search(r"^##normal_sample=(\S+)", header, re.M | re.I)):
        normal = match.group(1) if match.group(1) in samples else None
    if len(samples) == 2 and (tumour is None or normal is None):
        roles = [_tcga_role(s) or ("tumour" if re.search(r"tumou?r", s, re.I) else
                                   "normal" if re.search(r"normal|germline", s, re.I) else None) for s in samples]
        if tumour is None and "tumour" in roles:
            tumour = samples[roles.index("tumour")]
        if normal is None and "normal" in roles:
            normal = samples[roles.index("normal")]
        if tumour is None and normal is not None:
            tumour = next(s for s in samples if s != normal)
        if normal is None and tumour is not None:
            normal = next(s for s in samples if s != tumour)
        if tumour is None:
            raise SomaticInputError(
                f"{path.name}: two samples ({', '.join(samples)}) but none is marked as the tumour; "
                "pass the tumour sample name (tumour_sample / --tumour-sample); a germline VCF belongs in the "
                "rare-disease or cancer-predisposition workflow")
    if len(samples) == 1 and tumour is None:
        tumour = samples[0]
    if tumour is None and len(samples) > 2:
        raise SomaticInputError(
            f"{path.name}: {len(samples)} samples ({', '.join(samples[:4])}...) and none is marked as the tumour; "
            "a somatic VCF holds a tumour and its matched normal. Pass --tumour-sample (and --normal-sample) "
            "or, for a germline family VCF, use the rare-disease workflow")
    return tumour, normal


def _vcf_build(header: str, build: str | None, path: Path) -> str:
    """The build from ##contig lengths, checked against (or defaulting to) the one given."""
    lengths = {}
    for match in re.finditer(r"^##contig=<ID=([^,>]+),length=(\d+)", header, re.M):
        lengths[match.group(1)] = int(match.group(2))
    try:
        detected = detect_build(lengths) if lengths else None
        given = normalise_build(build) if build else None
    except ValueError as exc:
        raise SomaticInputError(f"{path.name}: {exc}") from exc
    if given and detected and given != detected:
        raise SomaticInputError(f"{path.name}: ##contig lengths say {detected} but {given} was given")
    return given or detected or "GRCh38"


def _value(record: object, section: str, key: str, column: int | None, what: str, alt_index: int = 0) -> float | None:
    """Reads one VAF ('af') or depth ('dp') value from INFO or a FORMAT column; AD pairs are turned into either.

    Per-ALT values (Number=A, and AD's ALT depths) are taken for the ALT at `alt_index`.
    """
    if section == "INFO":
        value = record.INFO.get(key)  # type: ignore[attr-defined]
        if value is None:
            return None
        if isinstance(value, tuple):
            value = value[alt_index] if what == "af" and alt_index < len(value) else value[0]
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if column is None:
        return None
    try:
        array = record.format(key)  # type: ignore[attr-defined]
    except KeyError:
        return None
    if array is None:
        return None
    row = array[column]
    if key in {"AD", "ADT", "ADC"}:
        if row.dtype.kind in {"S", "U", "O"}:
            parts = [p for p in str(row[0] if row.shape else row).replace("b'", "").strip("'").split(",")]
            numbers = [float(p) for p in parts if p not in {".", ""}]
        else:
            numbers = [float(x) for x in np.ravel(row) if x >= 0]
        if len(numbers) < 2 + alt_index:
            return None
        total = sum(numbers)
        if what == "dp":
            return total
        return numbers[1 + alt_index] / total if total else None
    if row.dtype.kind in {"S", "U", "O"}:
        text = str(row[0] if row.shape else row)
        text = text.rstrip("%")
        values = text.split(",")
        try:
            number = float(values[alt_index if what == "af" and alt_index < len(values) else 0])
        except ValueError:
            return None
        return number / 100 if key == "FREQ" else number
    flat = np.ravel(row)
    value = float(flat[alt_index if what == "af" and alt_index < len(flat) else 0])
    if value < 0 or np.isnan(value):
        return None
    return value


def _number(value: object, alt_index: int) -> float | None:
    """A per-allele INFO number (tuples are per ALT), None when absent or not a number ('.')."""
    if isinstance(value, tuple):
        value = value[alt_index] if alt_index < len(value) else None
    try:
        return float(value) if value not in (None, ".", "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _first(record: object, keys: tuple[tuple[str, str], ...], column: int | None, what: str,
           used: dict[str, str], label: str, alt_index: int = 0) -> float | None:
    for section, key in keys:
        if section == "FORMAT" and column is None:
            continue
        value = _value(record, section, key, column, what, alt_index)
        if value is not None:
            used.setdefault(label, f"{section}/{key}")
            return value
    return None


def _looks_germline(genotypes: list[tuple[int, float | None]]) -> bool:
    """Germline rule: at least 10% of (20 or more) tumour-column calls homozygous-alt."""
    if len(genotypes) < 20:
        return False
    hom_alt = sum(1 for gt, _ in genotypes if gt == 3) / len(genotypes)
    return hom_alt >= GERMLINE_HOM_ALT_FRACTION


def read_somatic_vcf(
    path: str | Path,
    *,
    tumour_sample: str | None = None,
    normal_sample: str | None = None,
    tumour_af_tag: str | None = None,
    tumour_dp_tag: str | None = None,
    normal_af_tag: str | None = None,
    normal_dp_tag: str | None = None,
    pass_only: bool = True,
    require_vaf: bool = True,
    require_depth: bool = True,
    build: str | None = None,
    chain: ChainMap | None = None,
) -> tuple[list[SomaticVariant], VcfReadReport]:
    """Reads a tumour(-normal) VCF into SomaticVariants, with VAF/depth from configurable INFO/FORMAT keys.

    Rejects a germline VCF: a single sample with no somatic marker (##tumor_sample/##normal_sample header,
    INFO SOMATIC flag, a tumour VAF/depth key) or with >=10% homozygous-alt genotypes among the first calls.
    The build comes from ##contig lengths or `build` (default GRCh38); GRCh37 alleles are lifted with `chain`.
    """
    path = Path(path)
    if not path.exists():
        raise SomaticInputError(f"{path}: file not found")
    try:
        vcf = VCF(str(path))
    except (OSError, ValueError) as exc:
        raise SomaticInputError(f"{path.name}: cannot read as VCF ({exc})") from exc
    genome = _vcf_build(vcf.raw_header, build, path)
    tumour, normal = _pick_samples(vcf, tumour_sample, normal_sample, path)
    if genome == "GRCh37" and chain is None:
        raise SomaticInputError(f"{path.name}: a GRCh37 VCF needs the hg19ToHg38 chain to be lifted to GRCh38")
    samples = list(vcf.samples)
    report = VcfReadReport(str(path), samples, tumour, normal, build=genome)
    header = vcf.raw_header
    if re.search(r"^##(tumou?r|normal)_sample=", header, re.M | re.I):
        report.somatic_markers.append("##tumor_sample/##normal_sample header")
    if re.search(r"^##INFO=<ID=SOMATIC,", header, re.M):
        report.somatic_markers.append("INFO SOMATIC flag")
    if len(samples) == 2 and normal is not None:
        report.somatic_markers.append("tumour and normal sample columns")
    af_keys = _parse_tag(tumour_af_tag, DEFAULT_TUMOUR_AF_KEYS)
    dp_keys = _parse_tag(tumour_dp_tag, DEFAULT_TUMOUR_DP_KEYS)
    naf_keys = _parse_tag(normal_af_tag, DEFAULT_NORMAL_AF_KEYS)
    ndp_keys = _parse_tag(normal_dp_tag, DEFAULT_NORMAL_DP_KEYS)
    declared = {("INFO", m.group(1)) for m in re.finditer(r"^##INFO=<ID=([^,]+)", header, re.M)} | {
        ("FORMAT", m.group(1)) for m in re.finditer(r"^##FORMAT=<ID=([^,]+)", header, re.M)}
    tumour_specific = {("INFO", "TVAF"), ("INFO", "TDP"), ("FORMAT", "ADT"), ("FORMAT", "DPT")}
    if tumour_af_tag or tumour_dp_tag or declared & tumour_specific:
        report.somatic_markers.append("tumour VAF/depth keys " + ", ".join(
            f"{s}/{k}" for s, k in sorted(declared & (tumour_specific | set(af_keys[:1]) | set(dp_keys[:1])))))
    if not samples:
        # A sites-only list of somatic variants: no genotypes to judge; VAF filters need --min-tumour-vaf 0.
        report.somatic_markers.append("sites-only variant list (no sample columns)")
    if len(samples) == 1 and not report.somatic_markers:
        raise GermlineVcfError(
            f"{path.name}: this looks like a germline VCF, not tumour-normal somatic calls: "
            f"{len(samples)} sample column and no somatic marker. " + _EXPECTED)
    from gmc.genomics.annotation.existing import EXISTING_KEYS, annotation_fields
    from gmc.genomics.annotation.frequencies import DEFAULT_AF_KEYS

    existing_fields = annotation_fields(header)
    existing_key = next((key for key in EXISTING_KEYS if key in existing_fields), None)
    af_info_keys = [key for key in DEFAULT_AF_KEYS if ("INFO", key) in declared]
    revel_key = next((key for key in REVEL_INFO_KEYS if ("INFO", key) in declared), None)
    t_col = samples.index(tumour) if tumour in samples else None
    n_col = samples.index(normal) if normal in samples else None
    variants: list[SomaticVariant] = []
    genotypes: list[tuple[int, float | None]] = []
    line = vcf.raw_header.count("\n")
    for record in vcf:
        line += 1
        report.records += 1
        if pass_only and record.FILTER not in (None, "PASS"):
            report.non_pass += 1
            continue
        if len(genotypes) < GERMLINE_SAMPLE_RECORDS and t_col is not None:
            genotypes.append((int(record.gt_types[t_col]), None))
        record_chrom = record.CHROM.removeprefix("chr")
        record_chrom = "MT" if record_chrom == "M" else record_chrom
        for alt_index, alt_raw in enumerate(record.ALT):
            if not alt_raw or alt_raw in {"*", "."} or alt_raw.startswith("<"):
                continue  # spanning deletions and symbolic alleles are not small variants
            tumour_vaf = _first(record, af_keys, t_col, "af", report.keys_used, "tumour_vaf", alt_index)
            tumour_depth = _first(record, dp_keys, t_col, "dp", report.keys_used, "tumour_depth", alt_index)
            normal_vaf = normal_depth = None
            if n_col is not None:
                normal_vaf = _first(record, naf_keys, n_col, "af", report.keys_used, "normal_vaf", alt_index)
                normal_depth = _first(record, ndp_keys, n_col, "dp", report.keys_used, "normal_depth", alt_index)
            if require_vaf and tumour_vaf is None:
                looked = ", ".join(f"{s}/{k}" for s, k in af_keys)
                raise SomaticInputError(
                    f"{path.name} line {line}: no tumour VAF for {record.CHROM}:{record.POS}; looked for {looked}"
                    f"{' in sample ' + tumour if tumour else ''}. Name the key with tumour_af_tag "
                    "(--tumour-af-tag INFO/<key> or FORMAT/<key>) or turn the VAF filter off (--min-tumour-vaf 0)")
            if require_depth and tumour_depth is None:
                looked = ", ".join(f"{s}/{k}" for s, k in dp_keys)
                raise SomaticInputError(
                    f"{path.name} line {line}: no tumour depth for {record.CHROM}:{record.POS}; looked for {looked}. "
                    "Name the key with tumour_dp_tag (--tumour-dp-tag) or turn the depth filter off "
                    "(--min-tumour-depth 0)")
            chrom, ref, pos, alt = record_chrom, record.REF, record.POS, alt_raw
            # Trim the shared suffix, then a shared prefix (keeping one anchor base) as VCF normalisation does.
            while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
                ref, alt = ref[:-1], alt[:-1]
            while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0] and ref[1] == alt[1]:
                ref, alt, pos = ref[1:], alt[1:], pos + 1
            if len(ref) == len(alt) and len(ref) > 1 and ref[0] == alt[0]:
                ref, alt, pos = ref[1:], alt[1:], pos + 1
            input_pos = None
            if genome == "GRCh37":
                assert chain is not None
                lifted = chain.lift_allele(chrom, pos, ref, alt)
                if lifted is None:
                    report.unlifted += 1
                    continue
                input_pos = f"GRCh37:{chrom}:{pos}"
                chrom, pos, ref, alt = lifted
            extra: dict[str, object] = {}
            if existing_key and record.INFO.get(existing_key):
                extra["existing"] = (existing_key, str(record.INFO.get(existing_key)),
                                     existing_fields[existing_key], record.REF, alt_raw)
            if af_info_keys:
                extra["info"] = {key: record.INFO.get(key) for key in af_info_keys}
            revel = _number(record.INFO.get(revel_key), alt_index) if revel_key else None
            variants.append(SomaticVariant(
                chrom, pos, ref, alt, tumour_vaf=tumour_vaf, revel=revel,
                tumour_depth=int(tumour_depth) if tumour_depth is not None else None,
                normal_vaf=normal_vaf, normal_depth=int(normal_depth) if normal_depth is not None else None,
                source_line=line, input_pos=input_pos, extra=extra,
            ))
    vcf.close()
    germline_pattern = _looks_germline(genotypes)
    if germline_pattern and normal is None:
        hom_alt = sum(1 for gt, _ in genotypes if gt == 3)
        raise GermlineVcfError(
            f"{path.name}: this looks like a germline VCF, not tumour-normal somatic calls: "
            f"{hom_alt} of the first {len(genotypes)} calls are homozygous-alt, which somatic calls rarely are. "
            + _EXPECTED)
    return variants, report


def read_copy_number(path: str | Path) -> list[CopyNumberSegment]:
    """Reads segments: PCGR (Chromosome, Start, End, nMajor, nMinor) or CBS (chrom, start, end, Segment_Mean)."""
    path = Path(path)
    segments = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        fields = {name.lower(): name for name in reader.fieldnames or []}
        chrom_col = fields.get("chromosome") or fields.get("chrom")
        start_col = fields.get("start") or fields.get("loc.start")
        end_col = fields.get("end") or fields.get("loc.end")
        if not (chrom_col and start_col and end_col):
            raise SomaticInputError(f"{path.name} line 1: copy-number file needs Chromosome, Start and End columns")
        major, minor = fields.get("nmajor"), fields.get("nminor")
        mean = fields.get("segment_mean") or fields.get("seg.mean") or fields.get("log2")
        if not ((major and minor) or mean):
            raise SomaticInputError(
                f"{path.name} line 1: copy-number file needs nMajor and nMinor (total copies) or Segment_Mean (log2)")
        for line_no, row in enumerate(reader, start=2):
            try:
                total = int(row[major]) + int(row[minor]) if major and minor else None
                log2 = float(row[mean]) if mean and row.get(mean) not in (None, "", "NA") else None
                segments.append(CopyNumberSegment(row[chrom_col].removeprefix("chr"), int(float(row[start_col])),
                                                  int(float(row[end_col])), total, log2))
            except (TypeError, ValueError) as exc:
                raise SomaticInputError(f"{path.name} line {line_no}: cannot read segment ({exc})") from exc
    return segments


def read_fusions(path: str | Path) -> list[Fusion]:
    """Reads a fusion list with a FusionGene (A--B) or #FusionName column, as PCGR and STAR-Fusion write."""
    path = Path(path)
    fusions = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        names = reader.fieldnames or []
        column = next((n for n in names if n.lstrip("#").lower() in {"fusiongene", "fusionname", "fusion"}), None)
        if column is None:
            raise SomaticInputError(f"{path.name} line 1: fusion file needs a FusionGene column (GENE5--GENE3)")
        for line_no, row in enumerate(reader, start=2):
            gene5, sep, gene3 = row[column].partition("--")
            if not sep:
                raise SomaticInputError(f"{path.name} line {line_no}: fusion {row[column]!r} is not GENE5--GENE3")
            reads = row.get("SplitReads") or row.get("JunctionReadCount")
            fusions.append(Fusion(gene5.strip().upper(), gene3.strip().upper(), row.get("LeftBreakpoint", ""),
                                  row.get("RightBreakpoint", ""), int(reads) if reads and reads.isdigit() else None))
    return fusions
