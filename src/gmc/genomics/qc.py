"""Sample QC from genotypes: variant types, Ti/Tv, het/hom, sex from chrX, and trio Mendelian checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Pseudoautosomal regions (1-based inclusive) per build; males are diploid there.
PAR_REGIONS: dict[str, tuple[tuple[int, int], ...]] = {
    "GRCh37": ((60_001, 2_699_520), (154_931_044, 155_260_560)),
    "GRCh38": ((10_001, 2_781_479), (155_701_383, 156_030_895)),
}
AUTOSOMES = frozenset(str(i) for i in range(1, 23))
_AUTOSOME_SET = pa.array(sorted(AUTOSOMES), pa.string())
_TRANSITIONS = frozenset({("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")})
_SEX_WORDS = {"1": "male", "m": "male", "male": "male", "2": "female", "f": "female", "female": "female",
              "0": "unknown", "": "unknown", "unknown": "unknown", "other": "unknown"}


class QcInputError(ValueError):
    """QC input is inconsistent (array lengths, build, sex code); the message names the field."""


@dataclass(frozen=True)
class QcThresholds:
    """Limits outside which a metric is flagged; defaults suit exomes and genomes alike."""

    #: Ti/Tv of SNVs: about 2.0-2.1 for genomes and 2.8-3.3 for exomes; outside 1.8-3.5 suggests artefacts.
    titv_min: float = 1.8
    titv_max: float = 3.5
    #: Autosomal het/hom-alt ratio: about 1.3-2.5 in outbred samples; low suggests consanguinity or
    #: loss of heterozygosity, high suggests contamination.
    het_hom_min: float = 1.0
    het_hom_max: float = 3.0
    #: Fraction of non-PAR chrX calls that are heterozygous: males near 0, females near 0.5-0.7.
    x_het_male_max: float = 0.2
    x_het_female_min: float = 0.35
    #: Fewer non-PAR chrX calls than this and sex is not inferred.
    min_x_calls: int = 20
    #: Share of informative autosomal trio sites with a Mendelian error.
    mendelian_error_max: float = 0.05
    #: Share of a parent-child pair's shared-called sites that are opposite homozygotes; unrelated
    #: people reach 0.1 or more, true parent-child pairs stay near the genotyping error rate.
    opposite_hom_max: float = 0.03


@dataclass
class QcFlag:
    """One metric outside its limits, for the case page."""

    metric: str
    value: float | str
    limit: str
    message: str


@dataclass
class SampleQc:
    """QC metrics of one sample as plain data."""

    sample: str
    n_variants: int
    counts_by_type: dict[str, int]
    n_transitions: int
    n_transversions: int
    titv: float | None
    n_het: int
    n_hom_alt: int
    het_hom_ratio: float | None
    x_nonpar_calls: int
    x_het_fraction: float | None
    inferred_sex: str
    recorded_sex: str
    flags: list[QcFlag] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The metrics and flags as a JSON-ready dict."""
        return asdict(self)


@dataclass
class ParentCheck:
    """How well one parent's genotypes fit the child's."""

    parent: str
    role: str
    shared_sites: int
    opposite_homozygotes: int
    opposite_hom_fraction: float | None
    consistent: bool | None


@dataclass
class TrioQc:
    """Mendelian consistency of a child with both parents, as plain data."""

    child: str
    father: str
    mother: str
    informative_sites: int
    mendelian_errors: int
    mendelian_error_rate: float | None
    parents: list[ParentCheck]
    flags: list[QcFlag] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The metrics and flags as a JSON-ready dict."""
        return asdict(self)


def normalise_sex(value: str | int | None) -> str:
    """male, female or unknown from PED codes (1/2/0) or words."""
    key = "" if value is None else str(value).strip().lower()
    if key not in _SEX_WORDS:
        raise QcInputError(f"recorded sex {value!r} is not male/female/unknown or a PED code 0/1/2")
    return _SEX_WORDS[key]


def variant_type(ref: str, alt: str) -> str:
    """SNV, insertion, deletion, MNV, complex or symbolic for one trimmed allele."""
    if alt.startswith("<") or "[" in alt or "]" in alt or alt == "*":
        return "symbolic"
    if len(ref) == len(alt):
        return "SNV" if len(ref) == 1 else "MNV"
    if len(ref) == 1 and alt[0] == ref[0]:
        return "insertion"
    if len(alt) == 1 and ref[0] == alt[0]:
        return "deletion"
    return "complex"


def _par_mask(on_x: np.ndarray, pos: np.ndarray, build: str) -> np.ndarray:
    """True for chrX calls (on_x) outside the pseudoautosomal regions."""
    if build not in PAR_REGIONS:
        raise QcInputError(f"build {build!r} is not one of {', '.join(PAR_REGIONS)}")
    in_par = np.zeros(len(pos), dtype=bool)
    for start, end in PAR_REGIONS[build]:
        in_par |= (pos >= start) & (pos <= end)
    return on_x & ~in_par


def _pair_counts(ref: Sequence[str], alt: Sequence[str]) -> Counter[tuple[str, str]]:
    """How often each (ref, alt) pair occurs: two dictionary encodings and an integer count, not a tuple a row."""
    if isinstance(ref, pa.Array) and isinstance(alt, pa.Array) and not ref.null_count and not alt.null_count:
        ref_codes, alt_codes = pc.dictionary_encode(ref), pc.dictionary_encode(alt)
    else:
        ref, alt = (v.to_pylist() if isinstance(v, pa.Array) else v for v in (ref, alt))
        try:
            ref_codes, alt_codes = (pc.dictionary_encode(pa.array(v, pa.string())) for v in (ref, alt))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return Counter(zip(ref, alt, strict=True))
        if ref_codes.null_count or alt_codes.null_count:
            return Counter(zip(ref, alt, strict=True))
    refs, alts = ref_codes.dictionary.to_pylist(), alt_codes.dictionary.to_pylist()
    code = ref_codes.indices.to_numpy().astype(np.int64) * len(alts) + alt_codes.indices.to_numpy()
    values, times = np.unique(code, return_counts=True)
    return Counter({(refs[v // len(alts)], alts[v % len(alts)]): int(t)
                    for v, t in zip(values.tolist(), times.tolist(), strict=True)})


def _autosomal(chrom: np.ndarray | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """True for rows on an autosome (np.isin on Python strings sorts them; an Arrow set lookup does not)."""
    try:
        names = chrom if isinstance(chrom, (pa.Array, pa.ChunkedArray)) else pa.array(chrom, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return np.isin(chrom, list(AUTOSOMES))
    found = pc.is_in(names, value_set=_AUTOSOME_SET)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


#: Per-row codes of _allele_codes, in the order of their counts.
_CODE_TYPES = ("SNV", "SNV", "MNV", "insertion", "deletion", "complex", "symbolic")
_TRANSITION, _TRANSVERSION = 0, 1
#: _TRANSITIONS as (ref byte << 8 | alt byte), for whole-array lookups.
_TRANSITION_PAIRS = np.array(sorted(ord(r) << 8 | ord(a) for r, a in _TRANSITIONS), np.uint16)


def _ascii_strings(values: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """A string array's offsets and bytes as numpy views, or None when it has nulls or non-ASCII bytes.

    Bytes then are characters, so lengths and first characters match what Python's str gives.
    """
    if values.null_count or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    _, offsets_buffer, data_buffer = values.buffers()
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    if offsets_buffer is None:
        offsets = np.zeros(len(values) + 1, width)
    else:
        offsets = np.frombuffer(offsets_buffer, width)[values.offset:values.offset + len(values) + 1]
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    if np.any(data[offsets[0]:offsets[-1]] >= 0x80):
        return None
    return offsets, data


def _first_bytes(offsets: np.ndarray, data: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Each string's first byte (0 for an empty string)."""
    first = np.zeros(len(length), np.uint8)
    present = length > 0
    first[present] = data[offsets[:-1][present]]
    return first


def _upper(first: np.ndarray) -> np.ndarray:
    """ASCII bytes upper-cased, as str.upper does to them."""
    lower = (first >= ord("a")) & (first <= ord("z"))
    return np.where(lower, first - 32, first).astype(np.uint8)


def _allele_codes(ref: pa.Array, alt: pa.Array) -> np.ndarray | None:
    """variant_type of every row as an int8 code into _CODE_TYPES (SNVs split into transitions and
    transversions), by whole-array operations on the Arrow buffers; None when the strings are not plain ASCII.
    """
    ref_view, alt_view = _ascii_strings(ref), _ascii_strings(alt)
    if ref_view is None or alt_view is None:
        return None
    ref_length, alt_length = np.diff(ref_view[0]), np.diff(alt_view[0])
    r0 = _first_bytes(*ref_view, ref_length)
    a0 = _first_bytes(*alt_view, alt_length)
    r_up, a_up = _upper(r0), _upper(a0)
    bracket = pc.match_substring(alt, "[").to_numpy(zero_copy_only=False) | \
        pc.match_substring(alt, "]").to_numpy(zero_copy_only=False)
    symbolic = (a0 == ord("<")) | bracket | ((alt_length == 1) & (a0 == ord("*")))
    same_length = ref_length == alt_length
    snv = same_length & (ref_length == 1)
    transition = snv & np.isin(r_up.astype(np.uint16) << 8 | a_up, _TRANSITION_PAIRS)
    # the order of variant_type's tests, last assignment first: symbolic wins over everything
    codes = np.full(len(ref_length), 5, np.int8)  # complex
    codes[(alt_length == 1) & (ref_length > 0) & (r0 == a0)] = 4  # deletion
    codes[(ref_length == 1) & (alt_length > 0) & (a0 == r0)] = 3  # insertion
    codes[same_length & ~snv] = 2
    codes[snv] = _TRANSVERSION
    codes[transition] = _TRANSITION
    codes[symbolic] = 6
    return codes


def _type_counts(ref: Any, alt: Any, called: np.ndarray) -> tuple[dict[str, int], int, int]:
    """Counts of each variant type among the called rows, with their transitions and transversions."""
    counts = {t: 0 for t in ("SNV", "insertion", "deletion", "MNV", "complex", "symbolic")}
    codes = None
    if isinstance(ref, (pa.Array, pa.ChunkedArray)) and isinstance(alt, (pa.Array, pa.ChunkedArray)):
        ref_parts = ref.chunks if isinstance(ref, pa.ChunkedArray) else [ref]
        alt_parts = alt.chunks if isinstance(alt, pa.ChunkedArray) else [alt]
        if [len(c) for c in ref_parts] != [len(c) for c in alt_parts]:
            ref_parts, alt_parts = [pa.concat_arrays(ref_parts)], [pa.concat_arrays(alt_parts)]
        pieces = [_allele_codes(r, a) for r, a in zip(ref_parts, alt_parts, strict=True)]
        if all(p is not None for p in pieces):
            codes = np.concatenate(pieces) if pieces else np.zeros(0, np.int8)
    if codes is not None:
        times = np.bincount(codes[called], minlength=len(_CODE_TYPES))
        for code, name in enumerate(_CODE_TYPES):
            counts[name] += int(times[code])
        return counts, int(times[_TRANSITION]), int(times[_TRANSVERSION])
    if isinstance(ref, pa.ChunkedArray):
        ref, alt = ref.combine_chunks(), alt.combine_chunks()
    idx = np.flatnonzero(called)
    ref_l, alt_l = (v.take(pa.array(idx)) if isinstance(v, pa.Array) else v[idx] if isinstance(v, np.ndarray)
                    else [v[i] for i in idx] for v in (ref, alt))
    ti = tv = 0
    # A genome's calls repeat a few thousand distinct allele pairs (12 for SNVs): classify each pair once.
    for (r, a), times in _pair_counts(ref_l, alt_l).items():
        t = variant_type(r, a)
        counts[t] += times
        if t == "SNV":
            if (r.upper(), a.upper()) in _TRANSITIONS:
                ti += times
            else:
                tv += times
    return counts, ti, tv


def _ratio(num: int, den: int) -> float | None:
    """num/den, or None when the denominator is zero."""
    return num / den if den else None


def sample_qc(
    sample: str,
    *,
    chrom: Sequence[str] | np.ndarray,
    pos: Sequence[int] | np.ndarray,
    ref: Sequence[str] | np.ndarray,
    alt: Sequence[str] | np.ndarray,
    gt: Sequence[int] | np.ndarray,
    build: str,
    ploidy: Sequence[int] | np.ndarray | None = None,
    recorded_sex: str | int | None = None,
    thresholds: QcThresholds | None = None,
) -> SampleQc:
    """QC of one sample from aligned allele rows (gt 0/1/2/-1 as in the VCF contract); non-ref rows count.

    chrom, ref and alt may be Arrow string columns (as read): they are then never made Python strings.
    """
    limits = thresholds or QcThresholds()
    chrom_a = chrom if isinstance(chrom, (pa.Array, pa.ChunkedArray)) else np.asarray(chrom, dtype=object)
    pos_a = np.asarray(pos, dtype=np.int64)
    gt_a = np.asarray(gt, dtype=np.int8)
    n = len(gt_a)
    for name, arr in (("chrom", chrom_a), ("pos", pos_a), ("ref", ref), ("alt", alt)):
        if len(arr) != n:
            raise QcInputError(f"{name} has {len(arr)} rows but gt has {n}")
    ploidy_a = np.full(n, 2, np.int8) if ploidy is None else np.asarray(ploidy, dtype=np.int8)
    if len(ploidy_a) != n:
        raise QcInputError(f"ploidy has {len(ploidy_a)} rows but gt has {n}")
    called = gt_a > 0
    counts, ti, tv = _type_counts(ref, alt, called)
    autosomal = _autosomal(chrom_a)
    n_het = int(np.sum(autosomal & (gt_a == 1)))
    n_hom = int(np.sum(autosomal & (gt_a == 2)))
    if isinstance(chrom_a, (pa.Array, pa.ChunkedArray)):
        on_x = pc.fill_null(pc.equal(chrom_a, "X"), False).to_numpy(zero_copy_only=False)
    else:
        on_x = chrom_a == "X"
    nonpar = _par_mask(on_x, pos_a, build) & called
    # A haploid alt call on X is a hemizygous (male) call: count it with the homozygotes.
    x_het = int(np.sum(nonpar & (gt_a == 1) & (ploidy_a != 1)))
    x_calls = int(np.sum(nonpar))
    x_het_fraction = _ratio(x_het, x_calls)
    inferred = "unknown"
    if x_calls >= limits.min_x_calls and x_het_fraction is not None:
        if x_het_fraction <= limits.x_het_male_max:
            inferred = "male"
        elif x_het_fraction >= limits.x_het_female_min:
            inferred = "female"
    recorded = normalise_sex(recorded_sex)
    result = SampleQc(
        sample=sample,
        n_variants=int(called.sum()),
        counts_by_type=counts,
        n_transitions=ti,
        n_transversions=tv,
        titv=_ratio(ti, tv),
        n_het=n_het,
        n_hom_alt=n_hom,
        het_hom_ratio=_ratio(n_het, n_hom),
        x_nonpar_calls=x_calls,
        x_het_fraction=x_het_fraction,
        inferred_sex=inferred,
        recorded_sex=recorded,
    )
    result.flags = _sample_flags(result, limits)
    return result


def sample_qc_from_calls(
    calls: Any,
    *,
    sample: str,
    build: str,
    recorded_sex: str | int | None = None,
    thresholds: QcThresholds | None = None,
) -> SampleQc:
    """sample_qc over one sample's stored calls (an Arrow table with chrom, pos, ref, alt, gt, ploidy)."""
    missing = [c for c in ("chrom", "pos", "ref", "alt", "gt") if c not in calls.column_names]
    if missing:
        raise QcInputError(f"calls table lacks column(s) {', '.join(missing)}")
    if "sample" in calls.column_names:
        others = set(calls.column("sample").to_pylist()) - {sample}
        if others:
            raise QcInputError(f"calls table holds other samples too: {sorted(others)[:3]}")
    ploidy = calls.column("ploidy").to_numpy(zero_copy_only=False) if "ploidy" in calls.column_names else None
    return sample_qc(
        sample,
        chrom=np.asarray(calls.column("chrom").to_pylist(), dtype=object),
        pos=calls.column("pos").to_numpy(zero_copy_only=False),
        ref=calls.column("ref").to_pylist(),
        alt=calls.column("alt").to_pylist(),
        gt=calls.column("gt").to_numpy(zero_copy_only=False),
        ploidy=ploidy,
        build=build,
        recorded_sex=recorded_sex,
        thresholds=thresholds,
    )


def _sample_flags(qc: SampleQc, limits: QcThresholds) -> list[QcFlag]:
    """Flags for metrics outside their limits and for a sex mismatch."""
    flags: list[QcFlag] = []
    if qc.titv is not None and not limits.titv_min <= qc.titv <= limits.titv_max:
        flags.append(QcFlag("titv", round(qc.titv, 3), f"{limits.titv_min}-{limits.titv_max}",
                            "Ti/Tv outside the expected range: possible calling artefacts"))
    if qc.het_hom_ratio is not None and not limits.het_hom_min <= qc.het_hom_ratio <= limits.het_hom_max:
        flags.append(QcFlag("het_hom_ratio", round(qc.het_hom_ratio, 3), f"{limits.het_hom_min}-{limits.het_hom_max}",
                            "het/hom ratio outside the expected range: consanguinity, contamination or artefact"))
    if qc.inferred_sex != "unknown" and qc.recorded_sex != "unknown" and qc.inferred_sex != qc.recorded_sex:
        flags.append(QcFlag("sex", qc.inferred_sex, f"recorded {qc.recorded_sex}",
                            f"chrX heterozygosity suggests {qc.inferred_sex} but {qc.recorded_sex} is recorded: "
                            "check for a sample swap or a sex-chromosome anomaly"))
    if qc.inferred_sex == "unknown" and qc.x_het_fraction is not None and qc.x_nonpar_calls >= limits.min_x_calls:
        flags.append(QcFlag("x_het_fraction", round(qc.x_het_fraction, 3),
                            f"<= {limits.x_het_male_max} or >= {limits.x_het_female_min}",
                            "chrX heterozygosity between the male and female ranges"))
    return flags


def _mendelian_error(child: np.ndarray, father: np.ndarray, mother: np.ndarray) -> np.ndarray:
    """True where a diploid child's genotype cannot come from one allele of each parent."""
    hom_ref_child = (child == 0) & ((father == 2) | (mother == 2))
    hom_alt_child = (child == 2) & ((father == 0) | (mother == 0))
    het_child = (child == 1) & (((father == 0) & (mother == 0)) | ((father == 2) & (mother == 2)))
    return hom_ref_child | hom_alt_child | het_child


def trio_qc(
    *,
    child: str,
    father: str,
    mother: str,
    chrom: Sequence[str] | np.ndarray,
    gt: Mapping[str, Sequence[int] | np.ndarray],
    gq: Mapping[str, Sequence[int] | np.ndarray] | None = None,
    min_gq: int = 0,
    thresholds: QcThresholds | None = None,
) -> TrioQc:
    """Mendelian error rate and parentage consistency on autosomal rows called in all three samples.

    gt maps each sample name to its genotype column (0/1/2, -1 missing) over the same rows, as in a
    joint-called VCF; rows with GQ below min_gq in any member are left out.
    """
    limits = thresholds or QcThresholds()
    for name in (child, father, mother):
        if name not in gt:
            raise QcInputError(f"trio member {name!r} has no genotype column")
    chrom_a = chrom if isinstance(chrom, (pa.Array, pa.ChunkedArray)) else np.asarray(chrom, dtype=object)
    cols = {s: np.asarray(gt[s], dtype=np.int8) for s in (child, father, mother)}
    for s, col in cols.items():
        if len(col) != len(chrom_a):
            raise QcInputError(f"gt of {s} has {len(col)} rows but chrom has {len(chrom_a)}")
    ok = _autosomal(chrom_a)
    if gq is not None and min_gq > 0:
        for s in cols:
            ok &= np.asarray(gq[s]) >= min_gq
    c, f, m = cols[child], cols[father], cols[mother]
    all_called = ok & (c >= 0) & (f >= 0) & (m >= 0)
    informative = all_called & ((c > 0) | (f > 0) | (m > 0))
    errors = _mendelian_error(c, f, m) & informative
    n_inf, n_err = int(informative.sum()), int(errors.sum())
    parents = []
    for name, role, p in ((father, "father", f), (mother, "mother", m)):
        shared = ok & (c >= 0) & (p >= 0) & ((c > 0) | (p > 0))
        opposite = shared & (((c == 0) & (p == 2)) | ((c == 2) & (p == 0)))
        n_shared, n_opp = int(shared.sum()), int(opposite.sum())
        frac = _ratio(n_opp, n_shared)
        parents.append(ParentCheck(name, role, n_shared, n_opp, frac,
                                   None if frac is None else frac <= limits.opposite_hom_max))
    result = TrioQc(child, father, mother, n_inf, n_err, _ratio(n_err, n_inf), parents)
    if result.mendelian_error_rate is not None and result.mendelian_error_rate > limits.mendelian_error_max:
        result.flags.append(QcFlag("mendelian_error_rate", round(result.mendelian_error_rate, 4),
                                   f"<= {limits.mendelian_error_max}",
                                   "Mendelian errors above the expected rate: check pedigree and sample identity"))
    for p in parents:
        if p.consistent is False:
            result.flags.append(QcFlag(f"{p.role}_opposite_homozygotes", round(p.opposite_hom_fraction or 0, 4),
                                       f"<= {limits.opposite_hom_max}",
                                       f"{p.parent} does not look like the {p.role} of {child}: "
                                       "possible non-parentage or sample swap"))
    return result


@dataclass
class VcfGenotypes:
    """A VCF's allele rows and per-sample genotype columns, gathered for QC."""

    samples: list[str]
    build: str
    chrom: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    gt: np.ndarray
    ploidy: np.ndarray
    gq: np.ndarray


def read_vcf_genotypes(path: Path | str, *, build: str | None = None) -> VcfGenotypes:
    """All allele rows of a VCF with dense genotype matrices (samples as columns) for QC."""
    from gmc.genomics.vcf import open_vcf

    parts: list[Any] = []
    with open_vcf(path, build=build) as reader:
        samples, source_build = list(reader.samples), reader.build
        parts.extend(reader.batches())
    if not parts:
        raise QcInputError(f"{Path(path).name}: no variant records")

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(b, name) for b in parts])

    return VcfGenotypes(samples, source_build, cat("chrom"), cat("pos"), cat("ref"), cat("alt"), cat("gt"),
                        cat("ploidy"), cat("gq"))


def vcf_qc(
    data: VcfGenotypes,
    *,
    recorded_sex: Mapping[str, str | int] | None = None,
    trios: Iterable[tuple[str, str, str]] = (),
    min_gq: int = 0,
    thresholds: QcThresholds | None = None,
) -> dict[str, Any]:
    """Sample QC of every sample and trio QC of each (child, father, mother), as plain data."""
    sexes = recorded_sex or {}
    out: dict[str, Any] = {"build": data.build, "samples": [], "trios": []}
    for j, sample in enumerate(data.samples):
        qc = sample_qc(sample, chrom=data.chrom, pos=data.pos, ref=data.ref, alt=data.alt, gt=data.gt[:, j],
                       ploidy=data.ploidy[:, j], build=data.build, recorded_sex=sexes.get(sample),
                       thresholds=thresholds)
        out["samples"].append(qc.to_dict())
    column = {s: j for j, s in enumerate(data.samples)}
    for child, father, mother in trios:
        for s in (child, father, mother):
            if s not in column:
                raise QcInputError(f"trio member {s!r} is not a sample of the VCF")
        members = (child, father, mother)
        trio = trio_qc(child=child, father=father, mother=mother, chrom=data.chrom,
                       gt={s: data.gt[:, column[s]] for s in members},
                       gq={s: data.gq[:, column[s]] for s in members}, min_gq=min_gq, thresholds=thresholds)
        out["trios"].append(trio.to_dict())
    return out
