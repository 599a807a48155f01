"""VCF/BCF reading into split, trimmed, normalised allele batches (numpy columns, Arrow tables)."""

from __future__ import annotations

import gzip
import itertools
import mmap
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from cyvcf2 import VCF

#: Lengths of the primary chromosomes in each build (MT is identical in both, so left out).
BUILD_CONTIG_LENGTHS: dict[str, dict[str, int]] = {
    "GRCh37": {
        "1": 249250621,
        "2": 243199373,
        "3": 198022430,
        "4": 191154276,
        "5": 180915260,
        "6": 171115067,
        "7": 159138663,
        "8": 146364022,
        "9": 141213431,
        "10": 135534747,
        "11": 135006516,
        "12": 133851895,
        "13": 115169878,
        "14": 107349540,
        "15": 102531392,
        "16": 90354753,
        "17": 81195210,
        "18": 78077248,
        "19": 59128983,
        "20": 63025520,
        "21": 48129895,
        "22": 51304566,
        "X": 155270560,
        "Y": 59373566,
    },
    "GRCh38": {
        "1": 248956422,
        "2": 242193529,
        "3": 198295559,
        "4": 190214555,
        "5": 181538259,
        "6": 170805979,
        "7": 159345973,
        "8": 145138636,
        "9": 138394717,
        "10": 133797422,
        "11": 135086622,
        "12": 133275309,
        "13": 114364328,
        "14": 107043718,
        "15": 101991189,
        "16": 90338345,
        "17": 83257441,
        "18": 80373285,
        "19": 58617616,
        "20": 64444167,
        "21": 46709983,
        "22": 50818468,
        "X": 156040895,
        "Y": 57227415,
    },
}

_BUILD_ALIASES = {
    "grch37": "GRCh37",
    "hg19": "GRCh37",
    "b37": "GRCh37",
    "37": "GRCh37",
    "grch38": "GRCh38",
    "hg38": "GRCh38",
    "b38": "GRCh38",
    "38": "GRCh38",
}

#: ALT alleles that are not real alternate sequences and so produce no allele row.
_NON_ALLELES = frozenset({"*", "<*>", "<NON_REF>", ".", "<X>"})

#: INFO keys that describe a structural variant or copy-number change; kept through reading, ingest and the store.
SV_INFO_KEYS = ("END", "SVLEN", "SVTYPE", "CN")
#: The site columns they become (only on files with structural or long alleles).
SV_COLUMNS = ("sv_end", "sv_length", "sv_type", "copy_number")
#: A sequence allele at least this long (REF or ALT) is a structural variant too (the usual 50 bp convention).
SV_MIN_LENGTH = 50

#: Above this many samples htslib's C genotype parsing beats the text path's per-sample Arrow calls.
TEXT_PATH_MAX_SAMPLES = 8

_CONTIG_RE = re.compile(r"^##contig=<(.*)>\s*$")


class VcfFormatError(ValueError):
    """A VCF/BCF file cannot be read; names the file and (when known) the line."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path.name} line {line}" if line else self.path.name
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple:
        # raised in ingest's worker processes: pickled with the arguments __init__ takes
        return self.__class__, (self.path, self.line, self.message)


class VcfBuildError(VcfFormatError):
    """The genome build cannot be detected, or differs from the one expected."""


class VcfRecordError(VcfFormatError):
    """A record breaks the format (REF not nucleotides, more columns than the header ...): no reader may skip it."""


#: Bytes a REF may hold (VCF: A, C, G, T, N in either case), and a plain sequence ALT.
_NUCLEOTIDES = np.zeros(256, dtype=bool)
_NUCLEOTIDES[np.frombuffer(b"ACGTNacgtn", dtype=np.uint8)] = True
#: One ALT allele: bases, * or . (no allele), a symbolic <ID>, or a breakend (bases and a [chr:pos[ mate)
_ALT_ALLELE = r"(?:[ACGTNacgtn]+|\*|\.|<[^<>,]+>|[ACGTNacgtn.]*[\[\]][^\[\],]+[\[\]][ACGTNacgtn.]*|\.[ACGTNacgtn]+|[ACGTNacgtn]+\.)"
_ALT_RE = re.compile(f"^{_ALT_ALLELE}(?:,{_ALT_ALLELE})*$")


def _first_bad_bases(column: pa.Array | pa.ChunkedArray) -> int | None:
    """Index of the first value holding a byte other than A/C/G/T/N (or empty), else None: a look-up per byte of
    the column's data buffer, not a Python test per row."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    if not n:
        return None
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32, count=n + 1, offset=column.offset * 4)
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    bad = ~_NUCLEOTIDES[data]
    empty = offsets[1:] == offsets[:-1]
    if not bad.any() and not empty.any() and not column.null_count:
        return None
    first = np.searchsorted(offsets, np.argmax(bad) + offsets[0], side="right") - 1 if bad.any() else n
    candidates = [first]
    if empty.any():
        candidates.append(int(np.argmax(empty)))
    if column.null_count:
        candidates.append(int(np.argmax(~column.is_valid().to_numpy(zero_copy_only=False))))
    return int(min(candidates))


def check_alleles(path: str | Path, first_line: int, ref: pa.Array | pa.ChunkedArray,
                  alt: pa.Array | pa.ChunkedArray, *, plain_alt: bool = False) -> None:
    """Refuses the first record whose REF is not nucleotides or whose ALT is not a VCF allele list (VcfRecordError
    naming the line); `plain_alt` says every ALT is one sequence allele (bytes checked like REF)."""
    bad_ref = _first_bad_bases(ref)
    if plain_alt:
        bad_alt = _first_bad_bases(alt)
    else:
        ok = pc.match_substring_regex(alt, _ALT_RE.pattern)
        bad_alt = None if pc.all(pc.fill_null(ok, False)).as_py() else int(
            np.argmax(~pc.fill_null(ok, False).to_numpy(zero_copy_only=False)))
    found = sorted((i, name, c) for i, name, c in ((bad_ref, "REF", ref), (bad_alt, "ALT", alt)) if i is not None)
    if found:
        index, name, column = found[0]
        kind = "nucleotides (A, C, G, T, N)" if name == "REF" else "alleles (bases, *, <ID> or a breakend)"
        raise VcfRecordError(path, first_line + index, f"{name} {column[index].as_py()!r} is not {kind}")


def normalise_chrom(chrom: str) -> str:
    """Returns the contig name without a chr prefix, with chrM/M as MT."""
    if chrom[:3].lower() == "chr":
        chrom = chrom[3:]
    if chrom in ("M", "m", "MT", "mt"):
        return "MT"
    return chrom.upper() if chrom in ("x", "y") else chrom


def normalise_build(build: str) -> str:
    """Returns GRCh37 or GRCh38 for a build name or alias (hg19, b37, hg38 ...)."""
    try:
        return _BUILD_ALIASES[build.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown genome build {build!r}: expected GRCh37 or GRCh38") from None


def detect_build(contig_lengths: dict[str, int]) -> str | None:
    """Returns the build whose primary chromosome lengths match the given contigs, or None if none do."""
    votes = {build: 0 for build in BUILD_CONTIG_LENGTHS}
    for name, length in contig_lengths.items():
        chrom = normalise_chrom(name)
        for build, lengths in BUILD_CONTIG_LENGTHS.items():
            if lengths.get(chrom) == length:
                votes[build] += 1
    matched = [b for b, v in votes.items() if v]
    if len(matched) == 1:
        return matched[0]
    if len(matched) > 1:
        raise ValueError(f"contig lengths match both builds ({votes})")
    return None


def is_symbolic(alt: str) -> bool:
    """True for a symbolic (<DEL>, <CNV> ...) or breakend ALT allele."""
    return alt.startswith("<") or "[" in alt or "]" in alt


def structural_fields(
    pos: int, ref: str, alt: str, info: dict[str, Any], allele: int, where: tuple[Path, int]
) -> tuple[int, int | None, str, float | None] | None:
    """(end, SVLEN, SVTYPE, CN) of a structural allele (symbolic, breakend, or 50+ bases), else None.

    A symbolic allele must say where it ends (INFO/END); a breakend needs no END (it is one joined position).
    `info` holds the record's END/SVLEN/SVTYPE/CN values as parsed (tuples for several ALTs).
    """
    breakend = "[" in alt or "]" in alt
    symbolic = alt.startswith("<")
    if not (symbolic or breakend or max(len(ref), len(alt)) >= SV_MIN_LENGTH):
        return None

    def pick(value: Any) -> Any:
        return value[min(allele, len(value)) - 1] if isinstance(value, tuple) else value

    svtype = pick(info.get("SVTYPE"))
    svlen = pick(info.get("SVLEN"))
    cn = pick(info.get("CN"))
    end = info.get("END")
    if symbolic:
        if end is None:
            raise VcfFormatError(where[0], where[1], f"symbolic allele {alt} has no INFO/END: where it ends is unknown")
        svtype = svtype or alt.strip("<>").split(":")[0]
    elif breakend:
        end, svtype = pos, svtype or "BND"
    else:
        end = pos + len(ref) - 1
        svlen = svlen if svlen is not None else len(alt) - len(ref)
        svtype = svtype or ("DEL" if len(alt) < len(ref) else "INS" if len(alt) > len(ref) else "MNV")
    try:
        return (int(end), None if svlen in (None, ".") else int(float(svlen)), str(svtype),
                None if cn in (None, ".") else float(cn))
    except (TypeError, ValueError):
        raise VcfFormatError(where[0], where[1], f"END/SVLEN/CN of {alt} are not numbers") from None


def trim_alleles(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Removes the bases REF and ALT share at the end, then at the start, keeping one base each."""
    if alt.startswith("<") or "[" in alt or "]" in alt:
        return pos, ref, alt
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    start = 0
    while len(ref) - start > 1 and len(alt) - start > 1 and ref[start] == alt[start]:
        start += 1
    return pos + start, ref[start:], alt[start:]


@dataclass
class VariantBatch:
    """n allele rows after splitting and trimming, with per-sample genotype columns."""

    #: Contig, normalised ("1".."22", "X", "Y", "MT").
    chrom: np.ndarray
    #: 1-based position after trimming.
    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    #: Phred quality, NaN when missing.
    qual: np.ndarray
    #: "PASS", "." (not filtered) or the ;-joined failed filters.
    filter: np.ndarray
    #: 1-based line in the file (record number for BCF), for error messages.
    line: np.ndarray
    #: (n, n_samples) int8: 0 hom-ref, 1 het, 2 hom-alt or hemizygous alt, -1 missing.
    gt: np.ndarray
    #: (n, n_samples) int8 number of alleles called for the sample.
    ploidy: np.ndarray
    gq: np.ndarray
    dp: np.ndarray
    ad_ref: np.ndarray
    ad_alt: np.ndarray
    #: Raw values of the requested INFO keys per row (None when absent); Number=A/R split per allele.
    info: dict[str, np.ndarray] = field(default_factory=dict)
    #: Sample names, the columns of the genotype arrays.
    samples: list[str] = field(default_factory=list)
    #: Which ALT of its record each row is (1-based), to map rows back to the VCF as written.
    allele: np.ndarray | None = None
    #: Structural alleles' sv_end, sv_length, sv_type, copy_number (object arrays, None elsewhere); empty when
    #: the batch has none.
    sv: dict[str, np.ndarray] = field(default_factory=dict)
    #: Read-backed phase of phased heterozygous calls (GT written with "|"), None when no call of the batch is
    #: phased: (n, n_samples) int64 phase set (FORMAT PS; 0 for a phased call without PS, which the VCF
    #: specification puts in one set with the sample's other such calls), -1 where the call is not a phased het.
    phase_set: np.ndarray | None = None
    #: (n, n_samples) int8: which haplotype of a phased het call (0 = GT's first allele, 1 = second) carries the
    #: row's ALT, -1 elsewhere; None as phase_set.
    haplotype: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pos)

    def to_arrow(self) -> tuple[pa.Table, pa.Table]:
        """Returns a sites table and a long table of the non-missing, non-hom-ref genotype calls."""
        return self.sites_table(), _calls_table(self.samples, self.gt, self.ploidy, self.gq, self.dp, self.ad_ref,
                                                self.ad_alt)

    def sites_table(self) -> pa.Table:
        """The sites table of to_arrow alone (a cohort's calls are taken from the arrays, without sample names)."""
        columns: dict[str, Any] = {
            "chrom": pa.array(self.chrom, pa.string()),
            "pos": pa.array(self.pos, pa.int32()),
            "ref": pa.array(self.ref, pa.string()),
            "alt": pa.array(self.alt, pa.string()),
            "qual": pa.array(self.qual, pa.float32(), from_pandas=True),
            "filter": pa.array(self.filter, pa.string()),
            "line": pa.array(self.line, pa.int64()),
        }
        for key, values in self.info.items():
            columns[key] = _info_array(values)
        columns.update(sv_arrays(self.sv))
        return pa.table(columns)


#: How END/SVLEN/SVTYPE/CN are read when a header does not declare them.
_SV_DEFAULT_TYPES = {"END": "Integer", "SVLEN": "Integer", "SVTYPE": "String", "CN": "Float"}
_SV_TYPES = {"sv_end": pa.int64(), "sv_length": pa.int64(), "sv_type": pa.string(), "copy_number": pa.float64()}


def sv_arrays(sv: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    """The structural columns of a batch as typed Arrow arrays (none when the batch has no structural allele)."""
    return {name: pa.array(sv[name], _SV_TYPES[name], from_pandas=True) for name in SV_COLUMNS if name in sv}


def _sv_columns(values: list[tuple[int, int | None, str, float | None] | None] | dict[int, tuple],
                n: int | None = None) -> dict[str, np.ndarray]:
    """Per-row structural fields (None for other rows) as the batch's sv columns; {} when no row has any.
    `values` is one entry per row, or {row: fields} for the few structural rows of `n` (no per-row Python work
    for the many other rows of a genome's block)."""
    if isinstance(values, dict):
        rows, fields = list(values), list(values.values())
    else:
        rows = [i for i, v in enumerate(values) if v is not None]
        fields, n = [values[i] for i in rows], len(values)
    if not rows:
        return {}
    out = {}
    for i, name in enumerate(SV_COLUMNS):
        column = np.full(n, None, dtype=object)
        column[rows] = [v[i] for v in fields]
        out[name] = column
    return out


def _calls_table(samples: list[str], gt: np.ndarray, ploidy: np.ndarray, gq: np.ndarray, dp: np.ndarray,
                 ad_ref: np.ndarray, ad_alt: np.ndarray) -> pa.Table:
    """The long table of the non-missing, non-hom-ref calls of (rows, samples) genotype arrays."""
    rows, cols = np.nonzero(gt > 0)
    names = np.asarray(samples, dtype=object)
    return pa.table(
        {
            "row": pa.array(rows.astype(np.int64)),
            "sample": pa.array(names[cols] if len(names) else np.empty(0, object), pa.string()),
            "gt": pa.array(gt[rows, cols], pa.int8()),
            "ploidy": pa.array(ploidy[rows, cols], pa.int8()),
            "gq": pa.array(gq[rows, cols], pa.int16()),
            "dp": pa.array(dp[rows, cols], pa.int32()),
            "ad_ref": pa.array(ad_ref[rows, cols], pa.int32()),
            "ad_alt": pa.array(ad_alt[rows, cols], pa.int32()),
        }
    )


def _info_array(values: np.ndarray) -> pa.Array:
    """Converts raw INFO values to Arrow, as numbers when they all are, else as text."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(list(values), pa.bool_())
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else _info_text(v) for v in values], pa.string())


def _info_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join("." if v is None else str(v) for v in value)
    return str(value)


class VcfReader:
    """An open VCF/BCF file: its samples, genome build and allele batches."""

    def __init__(
        self,
        path: str | Path,
        *,
        samples: list[str] | None = None,
        info_keys: tuple[str, ...] = (),
        build: str | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VcfFormatError(self.path, None, "file not found")
        self.info_keys = tuple(info_keys)
        self.is_bcf = is_bcf(self.path)
        try:
            self._vcf = VCF(str(self.path), gts012=False, lazy=True, threads=1)
        except (OSError, Exception) as error:  # cyvcf2 raises a bare Exception on a bad header
            raise VcfFormatError(self.path, None, f"cannot open as VCF/BCF ({error})") from error
        all_samples = list(self._vcf.samples)
        if samples is not None:
            unknown = [s for s in samples if s not in all_samples]
            if unknown:
                raise VcfFormatError(
                    self.path, None, f"unknown sample(s) {unknown}; the file has {all_samples}"
                )
            self._vcf.set_samples(list(samples))
            self.samples = list(samples)
        else:
            self.samples = all_samples
        header = self._vcf.raw_header
        #: The header text as htslib holds it (for INFO formats such as CSQ).
        self.header = header
        # htslib adds lines (e.g. FILTER=PASS) to its header copy, so count the file's own lines
        self._header_lines = 0 if self.is_bcf else count_header_lines(self.path)
        self.contig_lengths = _contig_lengths(header)
        self.build = self._resolve_build(build)
        #: FORMAT keys the header declares; asking htslib for an undeclared one costs time per record
        self._format_keys = {key for key in ("GQ", "DP", "AD", "PS") if f"##FORMAT=<ID={key}," in header}
        self._info_number: dict[str, str] = {}
        self._info_types: dict[str, str] = {}
        #: Structural INFO keys the header declares: the text path then keeps the INFO column to read them
        self.sv_keys = tuple(k for k in SV_INFO_KEYS if f"##INFO=<ID={k}," in header)
        for key in (*self.info_keys, *SV_INFO_KEYS):
            try:
                declared = self._vcf.get_header_type(key)
            except KeyError:
                declared = {}
            default = _SV_DEFAULT_TYPES.get(key, "String")
            self._info_number[key] = declared.get("Number", "." if key not in _SV_DEFAULT_TYPES else "A")
            self._info_types[key] = declared.get("Type", default)

    def _resolve_build(self, expected: str | None) -> str:
        try:
            detected = detect_build(self.contig_lengths)
        except ValueError as error:
            raise VcfBuildError(self.path, None, str(error)) from None
        wanted = normalise_build(expected) if expected else None
        if detected and wanted and detected != wanted:
            raise VcfBuildError(
                self.path, None, f"the ##contig lengths are {detected} but {wanted} was expected"
            )
        build = detected or wanted
        if build is None:
            raise VcfBuildError(
                self.path, None, "no ##contig lengths to detect the genome build from; give the build"
            )
        return build

    def __enter__(self) -> VcfReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the underlying file."""
        self._vcf.close()

    def batches(self, size: int = 100_000) -> Iterator[VariantBatch]:
        """Yields batches of about `size` allele rows, in file order."""
        skip = 0
        if not self.is_bcf and len(self.samples) <= TEXT_PATH_MAX_SAMPLES:
            # text VCF: Arrow's CSV reader and array arithmetic beat htslib's record loop for sites and
            # up to 8 samples; on any problem htslib re-reads from the first record not yet yielded
            # and names the line
            try:
                for records, batch in self._text_batches(size):
                    skip += records
                    yield batch
                return
            except VcfRecordError:
                raise
            except Exception:  # noqa: BLE001 - the fallback below reports the precise error
                yield from self.fallback_batches(size, skip)
                return
        yield from self.htslib_batches(size, skip)

    def fallback_batches(self, size: int, skip: int) -> Iterator[VariantBatch]:
        """After the text path failed: the remaining records' lines are checked (htslib would pass over a line
        with extra columns), then htslib reads from the first record not yet yielded and names a bad line."""
        if not self.is_bcf:
            self.check_record_lines(skip)
        yield from self.htslib_batches(size, skip)

    def check_record_lines(self, skip: int = 0) -> None:
        """Reads the record lines after the first `skip` records as text and refuses the first with a number of
        columns other than the header's, or REF/ALT that are not alleles (VcfRecordError naming the line)."""
        expected = len(self._column_names())
        opener = gzip.open if _gzipped(self.path) else open
        try:
            with opener(self.path, "rt", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    if number <= self._header_lines + skip:
                        continue
                    fields = line.rstrip("\r\n").split("\t")
                    if len(fields) != expected and line.strip():
                        raise VcfRecordError(self.path, number, f"{len(fields)} columns where the #CHROM line "
                                                                f"names {expected}")
                    if len(fields) > 4 and (fields[3].strip("ACGTNacgtn") or not fields[3]):
                        raise VcfRecordError(self.path, number, f"REF {fields[3]!r} is not nucleotides (A, C, G, T, N)")
                    if len(fields) > 4 and not _ALT_RE.match(fields[4]):
                        raise VcfRecordError(self.path, number, f"ALT {fields[4]!r} is not alleles (bases, *, <ID> "
                                                                "or a breakend)")
        except (OSError, EOFError, zlib.error):
            return  # a truncated or corrupt file: htslib names where it stops

    def _text_batches(self, size: int) -> Iterator[tuple[int, VariantBatch]]:
        """Sites-only batches parsed by Arrow's CSV reader: (records consumed, batch)."""
        for part, first_line in self.text_blocks(size):
            yield part.num_rows, self._sites_batch(part, first_line)

    def text_blocks(self, size: int, block_bytes: int = 1 << 22) -> Iterator[tuple[pa.RecordBatch, int]]:
        """The text path's Arrow CSV blocks of up to `size` records, each with the line of its first record."""
        names = self._column_names()
        stream = pa.input_stream(str(self.path), compression="gzip" if _gzipped(self.path) else None)
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                skip_rows=self._header_lines, column_names=names, block_size=block_bytes
            ),
            parse_options=_TEXT_PARSE,
            convert_options=_text_convert_options(names, (*self.info_keys, *self.sv_keys), self.samples),
        )
        first_line = self._header_lines + 1
        for record_batch in reader:
            n = record_batch.num_rows
            for start in range(0, n, size):
                part = record_batch.slice(start, min(size, n - start))
                yield part, first_line
                first_line += part.num_rows

    def text_chunks(self, ring: mmap.mmap, slot_bytes: int) -> Iterator[tuple[int, int]]:
        """Reads the records' raw text into the slots of `ring` in turn; yields each block's (start, length).

        A block is whole lines: it ends at its slot's last newline, and the partial line after it opens the
        next slot. The caller must be done with a slot before the generator comes round to it again (slots
        are reused in order). text_block parses a block; its first record is the one after the previous
        block's last. A line longer than a slot raises VcfFormatError (the htslib path then reads the file).
        """
        slots = len(ring) // slot_bytes
        stream = pa.input_stream(str(self.path), compression="gzip" if _gzipped(self.path) else None)
        with stream:
            carry = _records_after_header(stream, self.path)
            view = memoryview(ring)
            try:
                for i in itertools.count():
                    start = (i % slots) * slot_bytes
                    if len(carry) >= slot_bytes:
                        raise VcfFormatError(self.path, None, f"a line longer than {slot_bytes} bytes")
                    ring[start:start + len(carry)] = carry
                    filled = len(carry)
                    while filled < slot_bytes:
                        got = stream.readinto(view[start + filled:start + slot_bytes])
                        if not got:
                            break
                        filled += got
                    if filled < slot_bytes:  # the end of the file (its last line may lack a newline)
                        if filled:
                            yield start, filled
                        return
                    end = ring.rfind(b"\n", start, start + filled) + 1
                    if end <= start:
                        raise VcfFormatError(self.path, None, f"a line longer than {slot_bytes} bytes")
                    carry = ring[end:start + filled]
                    yield start, end - start
            finally:
                view.release()

    def _column_names(self) -> list[str]:
        # the file's own #CHROM line: htslib's header copy drops the samples not asked for
        opener = gzip.open if _gzipped(self.path) else open
        with opener(self.path, "rt") as handle:
            for line in handle:
                if line.startswith("#CHROM"):
                    return line[1:].rstrip("\r\n").split("\t")
                if not line.startswith("#"):
                    break
        raise VcfFormatError(self.path, self._header_lines, "no #CHROM header line")

    def _sites_batch(self, table: pa.RecordBatch, first_line: int) -> VariantBatch:
        return text_batch(self.text_spec, table, first_line)

    @property
    def text_spec(self) -> TextSpec:
        """What the text path needs to turn a block into allele rows (picklable, for worker processes)."""
        return TextSpec(self.info_keys, dict(self._info_number), dict(self._info_types), list(self.samples),
                        tuple(self._column_names()), self.sv_keys, str(self.path))

    @property
    def records_start_line(self) -> int:
        """The line of the file's first record (after its header lines)."""
        return self._header_lines + 1

    @property
    def text_path(self) -> bool:
        """True when batches() parses the file as text (a VCF of up to TEXT_PATH_MAX_SAMPLES samples)."""
        return not self.is_bcf and len(self.samples) <= TEXT_PATH_MAX_SAMPLES

    def htslib_batches(self, size: int, skip: int = 0) -> Iterator[VariantBatch]:
        """Batches through htslib (BCF, genotypes), skipping the first `skip` records; names a bad record's line."""
        builder = _BatchBuilder(self)
        record_index = 0
        iterator = iter(self._vcf)
        while True:
            line = self._header_lines + record_index + 1
            try:
                record = next(iterator)
            except StopIteration:
                break
            except Exception as error:  # htslib reports truncation and parse errors as bare Exception
                raise VcfFormatError(self.path, line, _explain(error)) from None
            if record_index < skip:
                record_index += 1
                continue
            try:
                builder.add(record, line)
            except VcfFormatError:
                raise
            except (ValueError, IndexError, TypeError) as error:
                raise VcfFormatError(self.path, line, f"malformed record ({error})") from None
            record_index += 1
            if builder.rows >= size:
                yield builder.build()
                builder = _BatchBuilder(self)
        if builder.rows:
            yield builder.build()


@dataclass(frozen=True)
class TextSpec:
    """A reader's settings for the text path: INFO keys (with their Number and Type) and samples."""

    info_keys: tuple[str, ...]
    info_number: dict[str, str]
    info_types: dict[str, str]
    samples: list[str]
    #: The file's columns, as its #CHROM line names them (text_block parses raw record text by them).
    columns: tuple[str, ...] = ()
    #: Structural INFO keys the header declares (the INFO column is then kept for structural records).
    sv_keys: tuple[str, ...] = ()
    #: The file, for errors that name it.
    path: str = ""


#: The VCF body as Arrow CSV sees it: tab-separated, no quoting or escapes.
_TEXT_PARSE = pacsv.ParseOptions(delimiter="\t", quote_char=False, escape_char=False, double_quote=False)


def _text_convert_options(names: Sequence[str], info_keys: Sequence[str], samples: Sequence[str]
                          ) -> pacsv.ConvertOptions:
    """Which columns the text path converts, and as what."""
    return pacsv.ConvertOptions(
        # ID is never read, INFO only for INFO keys: their text is not converted
        include_columns=[n for i, n in enumerate(names[:9]) if i != 2 and (i != 7 or info_keys)
                         and (i != 8 or samples)] + list(samples),
        # explicit types: a block whose column is all "." must stay text, not become nulls
        column_types={
            **{name: pa.string() for name in names},
            "POS": pa.int64(),
            "QUAL": pa.float64(),
        },
        null_values=["."],
        strings_can_be_null=False,
    )


def text_block(spec: TextSpec, text: pa.Buffer | memoryview | bytes) -> pa.RecordBatch:
    """Parses one block of whole record lines (as VcfReader.text_chunks gives them) into the text path's columns."""
    buffer = pa.py_buffer(text)
    table = pacsv.read_csv(
        pa.BufferReader(buffer),
        # one block, one thread: the caller is one of several worker processes
        read_options=pacsv.ReadOptions(column_names=list(spec.columns), block_size=max(buffer.size, 1) + 1,
                                       use_threads=False),
        parse_options=_TEXT_PARSE,
        convert_options=_text_convert_options(spec.columns, (*spec.info_keys, *spec.sv_keys), spec.samples),
    ).combine_chunks()
    batches = table.to_batches()
    if batches:
        return batches[0]
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in table.schema], schema=table.schema)


def _records_after_header(stream: pa.NativeFile, path: Path) -> bytes:
    """Reads a text VCF stream past its header (through the #CHROM line); returns the record text read with it."""
    data = bytearray()
    at = -1  # where the #CHROM line starts, once seen
    while True:
        piece = stream.read(1 << 16)
        begin = max(len(data) - 7, 0)
        data += piece
        if at < 0:
            found = 0 if data.startswith(b"#CHROM") else data.find(b"\n#CHROM", begin) + 1
            at = found if found > 0 or data.startswith(b"#CHROM") else -1
        if at >= 0:
            end = data.find(b"\n", at)
            if end >= 0:
                return bytes(data[end + 1:])
        if not piece:
            raise VcfFormatError(path, None, "no #CHROM header line")


def _special_records(table: pa.RecordBatch) -> np.ndarray:
    """True for the records of a text block that need splitting or trimming, or hold a structural allele (the
    rest are one row each, as written)."""
    alt_column, ref_column = table.column("ALT"), table.column("REF")
    ref_len = pc.utf8_length(ref_column).to_numpy(zero_copy_only=False)
    alt_len = pc.utf8_length(alt_column).to_numpy(zero_copy_only=False)
    # most records are one ALT that needs no trimming: those are copied as whole arrays
    return (
        pc.match_substring(alt_column, ",").to_numpy(zero_copy_only=False)
        | pc.is_in(alt_column, pa.array(sorted(_NON_ALLELES))).to_numpy(zero_copy_only=False)
        | ((ref_len > 1) & (alt_len > 1))
        | _structural_records(table, ref_len, alt_len)
    )


def _structural_records(table: pa.RecordBatch, ref_len: np.ndarray, alt_len: np.ndarray) -> np.ndarray:
    """True for records with a symbolic or breakend ALT, or an allele of SV_MIN_LENGTH bases or more."""
    alt_column = table.column("ALT")
    return (
        pc.match_substring_regex(alt_column, r"[<\[\]]").to_numpy(zero_copy_only=False)
        | (ref_len >= SV_MIN_LENGTH) | (alt_len >= SV_MIN_LENGTH)
    )


def text_arrow_batch(
    spec: TextSpec, table: pa.RecordBatch, first_line: int
) -> tuple[pa.Table, pa.Table, np.ndarray, np.ndarray, np.ndarray, int]:
    """text_batch(...).to_arrow() with the batch's gt, ploidy, gq and last line, for ingest.

    A block whose every record is one row as written (one ALT, nothing to trim; a genome's usual block)
    keeps its text columns as Arrow arrays instead of making and converting back a Python str per row.
    """
    positions = table.column("POS")
    if spec.info_keys or positions.null_count or not table.num_rows or _special_records(table).any():
        batch = text_batch(spec, table, first_line)
        sites, calls = batch.to_arrow()
        return sites, calls, batch.gt, batch.ploidy, batch.gq, int(batch.line[-1]) if len(batch) else 0
    m = table.num_rows
    # one sequence ALT each (else the record would be special): REF and ALT are checked byte by byte
    check_alleles(spec.path, first_line, table.column("REF"), table.column("ALT"), plain_alt=True)
    contigs = pc.dictionary_encode(table.column("CHROM"))
    names = pa.array([normalise_chrom(c) for c in contigs.dictionary.to_pylist()], pa.string())
    quals = table.column("QUAL").to_numpy(zero_copy_only=False).astype(np.float32)
    line = first_line + np.arange(m, dtype=np.int64)
    sites = pa.table({
        "chrom": names.take(contigs.indices),
        "pos": pa.array(positions.to_numpy(zero_copy_only=False).astype(np.int32), pa.int32()),
        "ref": table.column("REF"),
        "alt": table.column("ALT"),
        "qual": pa.array(quals, pa.float32(), from_pandas=True),
        "filter": table.column("FILTER"),
        "line": pa.array(line, pa.int64()),
    })
    rec, allele = np.arange(m, dtype=np.int64), np.ones(m, np.int16)
    gt, ploidy, gq_rows, dp_rows, ad_ref, ad_alt = _expand_genotypes(*_block_genotypes(table, spec.samples), rec,
                                                                     allele)
    return (sites, _calls_table(list(spec.samples), gt, ploidy, gq_rows, dp_rows, ad_ref, ad_alt), gt, ploidy,
            gq_rows, int(line[-1]))


def _block_genotypes(table: pa.RecordBatch, samples: Sequence[str]) -> tuple[np.ndarray, ...]:
    """A text block's per-record calls, GQ, DP and AD (empty arrays for a sites-only file)."""
    if samples:
        return _text_genotypes(table, list(samples))
    m = table.num_rows
    return (np.zeros((m, 0, 1), np.int16), np.zeros((m, 0), np.int64), np.zeros((m, 0), np.int64),
            np.zeros((m, 0, 1), np.int64))


def text_batch(spec: TextSpec, table: pa.RecordBatch, first_line: int) -> VariantBatch:
    """One block of the text path (Arrow CSV columns, first record on first_line) as split, trimmed allele rows."""
    alt_column = table.column("ALT")
    ref_column = table.column("REF")
    check_alleles(spec.path, first_line, ref_column, alt_column)
    special = _special_records(table)
    simple = np.nonzero(~special)[0]
    contigs = pc.dictionary_encode(table.column("CHROM"))
    names = np.empty(len(contigs.dictionary), dtype=object)
    names[:] = [normalise_chrom(c) for c in contigs.dictionary.to_pylist()]
    chroms = names[contigs.indices.to_numpy(zero_copy_only=False)]
    positions = table.column("POS").to_numpy(zero_copy_only=False)
    refs = string_objects(ref_column)
    alts = string_objects(alt_column)
    quals = table.column("QUAL").to_numpy(zero_copy_only=False)
    filters = string_objects(table.column("FILTER"))
    infos = table.column("INFO").to_pylist() if spec.info_keys else None
    parsed = [_parse_info(text, spec.info_keys, spec.info_types) for text in infos] if infos else None
    extra_record: list[int] = []
    extra_allele: list[int] = []
    extra_pos: list[int] = []
    extra_ref: list[str] = []
    extra_alt: list[str] = []
    for i in np.nonzero(special)[0].tolist():
        ref, pos = refs[i], int(positions[i])
        for allele, alt in enumerate(alts[i].split(","), start=1):
            if alt in _NON_ALLELES:
                continue
            row_pos, row_ref, row_alt = trim_alleles(pos, ref, alt)
            extra_record.append(i)
            extra_allele.append(allele)
            extra_pos.append(row_pos)
            extra_ref.append(row_ref)
            extra_alt.append(row_alt)
    rec = np.concatenate([simple, np.asarray(extra_record, dtype=np.int64)])
    allele_of_row = np.concatenate(
        [np.ones(len(simple), np.int16), np.asarray(extra_allele, dtype=np.int16)]
    )
    # back to file order: by record, then ALT number
    order = np.lexsort((allele_of_row, rec))
    rec, allele_of_row = rec[order], allele_of_row[order]
    out_pos = np.concatenate([positions[simple], np.asarray(extra_pos, dtype=np.int64)])[order]
    out_ref = np.concatenate([refs[simple], np.asarray(extra_ref, dtype=object)])[order]
    out_alt = np.concatenate([alts[simple], np.asarray(extra_alt, dtype=object)])[order]
    n = len(rec)
    sv = _text_structural(spec, table, first_line, rec, allele_of_row, out_pos, out_ref, out_alt)
    info = {}
    for key in spec.info_keys:
        number = spec.info_number.get(key)
        column = np.empty(n, dtype=object)
        column[:] = [
            _allele_value(parsed[r][key], number, a)
            for r, a in zip(rec.tolist(), allele_of_row.tolist(), strict=True)
        ]
        info[key] = column
    calls, gq, dp, ad = _block_genotypes(table, spec.samples)
    gt, ploidy, gq_rows, dp_rows, ad_ref, ad_alt = _expand_genotypes(calls, gq, dp, ad, rec, allele_of_row)
    phase = _text_phase(table, list(spec.samples))
    phase_set, haplotype = _phase_rows(calls, *phase, rec, allele_of_row, gt) if phase else (None, None)
    return VariantBatch(
        chrom=chroms[rec],
        pos=out_pos.astype(np.int32),
        ref=out_ref,
        alt=out_alt,
        qual=quals[rec].astype(np.float32),
        filter=filters[rec].astype(object),
        line=(first_line + rec).astype(np.int64),
        gt=gt,
        ploidy=ploidy,
        gq=gq_rows,
        dp=dp_rows,
        ad_ref=ad_ref,
        ad_alt=ad_alt,
        info=info,
        samples=list(spec.samples),
        allele=allele_of_row,
        sv=sv,
        phase_set=phase_set,
        haplotype=haplotype,
    )


def _text_structural(spec: TextSpec, table: pa.RecordBatch, first_line: int, rec: np.ndarray, allele: np.ndarray,
                     pos: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> dict[str, np.ndarray]:
    """The sv columns of a text block's rows: INFO read only for the records holding a structural allele."""
    ref_len = pc.utf8_length(table.column("REF")).to_numpy(zero_copy_only=False)
    alt_len = pc.utf8_length(table.column("ALT")).to_numpy(zero_copy_only=False)
    structural = _structural_records(table, ref_len, alt_len)
    if not structural.any():
        return {}
    symbolic = pc.match_substring_regex(table.column("ALT"), r"[<]").to_numpy(zero_copy_only=False)
    if (symbolic & structural).any() and "INFO" not in table.column_names:
        # the header declares no END: htslib (which the text path falls back to) reads the records instead
        raise VcfFormatError(spec.path, None, "symbolic alleles in a file whose header declares no INFO/END")
    infos = table.column("INFO").to_pylist() if "INFO" in table.column_names else None
    keys = SV_INFO_KEYS
    values: dict[int, tuple[int, int | None, str, float | None] | None] = {}
    for i in np.nonzero(structural[rec])[0].tolist():
        r = int(rec[i])
        parsed = _parse_info(infos[r], keys, spec.info_types) if infos is not None else {}
        fields = structural_fields(int(pos[i]), ref[i], alt[i], parsed, int(allele[i]),
                                   (Path(spec.path), first_line + r))
        if fields is not None:
            values[i] = fields
    return _sv_columns(values, len(rec))


def open_vcf(
    path: str | Path,
    *,
    samples: list[str] | None = None,
    info_keys: tuple[str, ...] = (),
    build: str | None = None,
) -> VcfReader:
    """Opens a VCF or BCF (plain or bgzipped); `build` is the expected build, checked against the header."""
    return VcfReader(path, samples=samples, info_keys=info_keys, build=build)


def is_bcf(path: str | Path) -> bool:
    """True when the file is BCF (plain or BGZF-compressed)."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(2)
    if head == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read(3) == b"BCF"
        except (OSError, EOFError):
            return False
    return head == b"BC"


def count_header_lines(path: str | Path) -> int:
    """Returns the number of # header lines at the top of a VCF text file (plain or gzipped)."""
    path = Path(path)
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    count = 0
    try:
        with opener(path, "rb") as handle:
            for line in handle:
                if not line.startswith(b"#"):
                    break
                count += 1
    except (OSError, EOFError) as error:
        raise VcfFormatError(path, count + 1, f"unreadable header ({error})") from None
    return count


def _gzipped(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _parse_info(text: str, keys: tuple[str, ...], types: dict[str, str]) -> dict[str, Any]:
    """Typed values of the wanted keys from an INFO column (as htslib would give them)."""
    found: dict[str, Any] = dict.fromkeys(keys)
    if text == ".":
        return found
    wanted = set(keys)
    for item in text.split(";"):
        key, _, value = item.partition("=")
        if key not in wanted:
            continue
        kind = types.get(key, "String")
        if kind == "Flag":
            found[key] = True
        elif kind in ("Integer", "Float"):
            cast = int if kind == "Integer" else float
            parts = [None if v == "." else cast(v) for v in value.split(",")]
            found[key] = parts[0] if len(parts) == 1 else tuple(parts)
        else:
            found[key] = value
    return found


def _allele_value(value: Any, number: str | None, allele: int) -> Any:
    """Picks one ALT's element of a Number=A or Number=R value."""
    if isinstance(value, tuple):
        if number == "A" and len(value) >= allele:
            return value[allele - 1]
        if number == "R" and len(value) > allele:
            return value[allele]
    return value


def _contig_lengths(header: str) -> dict[str, int]:
    lengths: dict[str, int] = {}
    for line in header.splitlines():
        match = _CONTIG_RE.match(line)
        if not match:
            continue
        fields = dict(part.split("=", 1) for part in match.group(1).split(",") if "=" in part)
        if "ID" in fields and fields.get("length", "").isdigit():
            lengths[fields["ID"]] = int(fields["length"])
    return lengths


def _explain(error: Exception) -> str:
    text = str(error)
    if "bcf_read" in text:
        return f"unreadable record: truncated or corrupt file, or a malformed line ({text})"
    return text


class _BatchBuilder:
    """Accumulates allele rows from records, then vectorises the genotype arithmetic."""

    def __init__(self, reader: VcfReader) -> None:
        self.reader = reader
        self.n_samples = len(reader.samples)
        self.chrom: list[str] = []
        self.pos: list[int] = []
        self.ref: list[str] = []
        self.alt: list[str] = []
        self.qual: list[float] = []
        self.filter: list[str] = []
        self.line: list[int] = []
        self.allele: list[int] = []
        #: index into the per-record genotype lists, one per row
        self.record_of_row: list[int] = []
        self.genotypes: list[np.ndarray] = []
        self.gq: list[np.ndarray | None] = []
        self.dp: list[np.ndarray | None] = []
        self.ad: list[np.ndarray | None] = []
        self.ps: list[np.ndarray | None] = []
        self.info: dict[str, list[Any]] = {k: [] for k in reader.info_keys}
        self.rows = 0
        self._chrom_cache: dict[str, str] = {}
        #: per row: (end, SVLEN, SVTYPE, CN) of a structural allele, else None
        self.sv: list[tuple[int, int | None, str, float | None] | None] = []
        self.has_sv = False

    def add(self, record: Any, line: int) -> None:
        """Adds the allele rows of one htslib record (none for a record without real ALT alleles)."""
        alts = record.ALT
        # A line htslib could not parse (e.g. a POS that is not a number) comes back with no alleles at all, and
        # cyvcf2 reads REF from the missing allele array: the process dies (found by tests/fuzz). Such a record has
        # no ALT and no length; only then is its text looked at, so well-formed records pay nothing.
        if not alts and record.end <= record.start and str(record).split("\t", 4)[3] == ".":
            raise VcfRecordError(self.reader.path, line, "htslib could not read this record (no REF allele); "
                                                         "check its POS, REF and column count")
        ref = record.REF
        if not ref or ref.strip("ACGTNacgtn"):
            raise VcfRecordError(self.reader.path, line, f"REF {ref!r} is not nucleotides (A, C, G, T, N)")
        if alts and not _ALT_RE.match(",".join(alts)):
            raise VcfRecordError(self.reader.path, line, f"ALT {','.join(alts)!r} is not alleles (bases, *, <ID> "
                                                         "or a breakend)")
        if not alts:
            return
        chrom_raw = record.CHROM
        chrom = self._chrom_cache.get(chrom_raw)
        if chrom is None:
            chrom = self._chrom_cache[chrom_raw] = normalise_chrom(chrom_raw)
        ref = record.REF
        pos = record.POS
        qual = record.QUAL
        qual = np.nan if qual is None else qual
        filters = record.FILTERS
        filt = ";".join(filters) if filters else "."
        record_index = len(self.genotypes)
        info_values = [(k, record.INFO.get(k)) for k in self.reader.info_keys]
        n_rows = 0
        for allele, alt in enumerate(alts, start=1):
            if alt in _NON_ALLELES:
                continue
            row_pos, row_ref, row_alt = trim_alleles(pos, ref, alt)
            structural = None
            if alt[0] == "<" or "[" in alt or "]" in alt or max(len(ref), len(alt)) >= SV_MIN_LENGTH:
                structural = structural_fields(row_pos, row_ref, row_alt, _htslib_sv_info(record), allele,
                                               (self.reader.path, line))
                self.has_sv = True
            self.sv.append(structural)
            self.chrom.append(chrom)
            self.pos.append(row_pos)
            self.ref.append(row_ref)
            self.alt.append(row_alt)
            self.qual.append(qual)
            self.filter.append(filt)
            self.line.append(line)
            self.allele.append(allele)
            self.record_of_row.append(record_index)
            for key, value in info_values:
                self.info[key].append(self._per_allele(key, value, allele))
            n_rows += 1
        if not n_rows:
            return
        self.rows += n_rows
        if self.n_samples:
            try:
                genotypes = record.genotype.array()
            except Exception as error:  # cyvcf2 raises a bare Exception for FORMAT it cannot decode
                raise ValueError(f"genotypes cannot be read ({error})") from None
            self.genotypes.append(genotypes)
            keys = self.reader._format_keys
            self.gq.append(_format_or_none(record, "GQ") if "GQ" in keys else None)
            self.dp.append(_format_or_none(record, "DP") if "DP" in keys else None)
            self.ad.append(_format_or_none(record, "AD") if "AD" in keys else None)
            self.ps.append(_format_or_none(record, "PS") if "PS" in keys else None)
        else:
            self.genotypes.append(np.empty((0, 1), np.int16))
            self.gq.append(None)
            self.dp.append(None)
            self.ad.append(None)
            self.ps.append(None)

    def _per_allele(self, key: str, value: Any, allele: int) -> Any:
        number = self.reader._info_number.get(key)
        if isinstance(value, tuple):
            if number == "A" and len(value) >= allele:
                return value[allele - 1]
            if number == "R" and len(value) > allele:
                return value[allele]
        return value

    def build(self) -> VariantBatch:
        """Turns the accumulated rows into a VariantBatch, genotype codes computed on whole arrays."""
        n = self.rows
        s = self.n_samples
        rec = np.asarray(self.record_of_row, dtype=np.int64)
        allele = np.asarray(self.allele, dtype=np.int16)
        gt = np.full((n, s), -1, np.int8)
        ploidy = np.zeros((n, s), np.int8)
        gq = np.full((n, s), -1, np.int16)
        dp = np.full((n, s), -1, np.int32)
        ad_ref = np.full((n, s), -1, np.int32)
        ad_alt = np.full((n, s), -1, np.int32)
        phase_set = haplotype = None
        if s and n:
            width = max(g.shape[1] for g in self.genotypes) - 1  # last column is the phase flag
            calls = np.full((len(self.genotypes), s, max(width, 1)), -2, np.int16)
            phased = np.zeros((len(self.genotypes), s), bool)
            for i, g in enumerate(self.genotypes):
                calls[i, :, : g.shape[1] - 1] = g[:, :-1]
                phased[i] = g[:, -1] == 1
            gt, ploidy, gq, dp, ad_ref, ad_alt = _expand_genotypes(
                calls,
                self._per_record(self.gq),
                self._per_record(self.dp),
                self._per_record_ad(),
                rec,
                allele,
            )
            if phased.any():
                ps = self._per_record(self.ps)
                phase_set, haplotype = _phase_rows(calls, phased, np.where(ps < 0, 0, ps), rec, allele, gt)
        info = {}
        for key, values in self.info.items():
            column = np.empty(n, dtype=object)
            column[:] = values
            info[key] = column
        return VariantBatch(
            chrom=np.asarray(self.chrom, dtype=object),
            pos=np.asarray(self.pos, dtype=np.int32),
            ref=np.asarray(self.ref, dtype=object),
            alt=np.asarray(self.alt, dtype=object),
            qual=np.asarray(self.qual, dtype=np.float32),
            filter=np.asarray(self.filter, dtype=object),
            line=np.asarray(self.line, dtype=np.int64),
            gt=gt,
            ploidy=ploidy,
            gq=gq,
            dp=dp,
            ad_ref=ad_ref,
            ad_alt=ad_alt,
            info=info,
            samples=list(self.reader.samples),
            allele=allele,
            sv=_sv_columns(self.sv) if self.has_sv else {},
            phase_set=phase_set,
            haplotype=haplotype,
        )

    def _per_record(self, values: list[np.ndarray | None]) -> np.ndarray:
        per_record = np.full((len(values), self.n_samples), -1, np.int64)
        for i, v in enumerate(values):
            if v is not None:
                per_record[i] = v[:, 0]
        return per_record

    def _per_record_ad(self) -> np.ndarray:
        width = max((v.shape[1] for v in self.ad if v is not None), default=1)
        per_record = np.full((len(self.ad), self.n_samples, width), -1, np.int64)
        for i, v in enumerate(self.ad):
            if v is not None:
                per_record[i, :, : v.shape[1]] = v
        return per_record


def _expand_genotypes(
    calls: np.ndarray, gq: np.ndarray, dp: np.ndarray, ad: np.ndarray, rec: np.ndarray, allele: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Per-record allele calls (records, samples, ploidy; -1 missing, -2 padding) to per-row genotype codes.

    gq/dp are (records, samples), ad is (records, samples, alleles), all -1 when missing; `rec` and
    `allele` give each output row's record and ALT number.
    """
    row_calls = calls[rec]
    present = row_calls != -2  # -2 pads a lower ploidy
    ploidy = present.sum(axis=2).astype(np.int8)
    missing = (row_calls == -1).any(axis=2) | (ploidy == 0)
    alt_count = (row_calls == allele[:, None, None]).sum(axis=2)
    gt = np.where(alt_count == 0, 0, np.where(alt_count == ploidy, 2, 1)).astype(np.int8)
    gt[missing] = -1
    gq_rows = np.where(gq[rec] < 0, -1, gq[rec]).astype(np.int16)
    dp_rows = np.where(dp[rec] < 0, -1, dp[rec]).astype(np.int32)
    ad = np.where(ad < 0, -1, ad)
    width = ad.shape[2]
    ad_ref = ad[rec, :, 0].astype(np.int32) if width else np.full(gt.shape, -1, np.int32)
    # an AD shorter than the allele count has no depth for this ALT
    padded = np.concatenate([ad, np.full(ad.shape[:2] + (1,), -1, ad.dtype)], axis=2)
    index = np.minimum(allele.astype(np.int64), width)[:, None, None]
    ad_alt = np.take_along_axis(padded[rec], index, axis=2)[:, :, 0].astype(np.int32)
    return gt, ploidy, gq_rows, dp_rows, ad_ref, ad_alt


def _phase_rows(calls: np.ndarray, phased: np.ndarray, ps: np.ndarray, rec: np.ndarray, allele: np.ndarray,
                gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row and sample: the phase set and the haplotype carrying the row's ALT of phased het calls (-1 elsewhere).

    `calls` (records, samples, ploidy) as _expand_genotypes takes them, `phased` (records, samples) the GT's "|",
    `ps` (records, samples) the phase set (0 for a phased call without PS).
    """
    row_calls = calls[rec]
    if row_calls.shape[2] < 2:
        empty = np.full(gt.shape, -1, np.int64)
        return empty, empty.astype(np.int8)
    first = row_calls[:, :, 0] == allele[:, None]
    second = row_calls[:, :, 1] == allele[:, None]
    diploid = (row_calls[:, :, 1] >= 0) & ((row_calls.shape[2] == 2) | (row_calls[:, :, 2:] == -2).all(axis=2))
    known = phased[rec] & diploid & (gt == 1) & (first != second)
    haplotype = np.where(known, np.where(first, 0, 1), -1).astype(np.int8)
    return np.where(known, ps[rec], -1).astype(np.int64), haplotype


def _text_phase(table: pa.RecordBatch, samples: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Which calls of a text block are phased ("|" in GT) and their PS (0 when absent); None when none is."""
    if not samples or not any(pc.any(pc.match_substring(table.column(s), "|")).as_py() for s in samples):
        return None
    m = table.num_rows
    formats = pc.dictionary_encode(table.column("FORMAT"))
    keys = [[fields.index(k) if k in fields else -1 for k in ("GT", "PS")]
            for fields in (fmt.split(":") for fmt in formats.dictionary.to_pylist())]
    index = np.array(keys, dtype=np.int64).reshape(-1, 2)[formats.indices.to_numpy(zero_copy_only=False)]
    phased = np.zeros((m, len(samples)), bool)
    ps = np.zeros((m, len(samples)), np.int64)
    for j, sample in enumerate(samples):
        column = pc.split_pattern(table.column(sample), ":")
        gt_text = _list_field(column, ":", index[:, 0])
        phased[:, j] = pc.fill_null(pc.match_substring(gt_text, "|"), False).to_numpy(zero_copy_only=False)
        ps[:, j] = np.maximum(_integers(_list_field(column, ":", index[:, 1])), 0)
    return phased, ps


def string_objects(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A string column as a numpy object array whose rows share one Python str per distinct value.

    A genome repeats a few values (4 SNV bases, PASS) millions of times: one str each instead of one per row
    saves the allocations and most of the memory; the values are the same.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count or not pa.types.is_string(column.type):
        return column.to_numpy(zero_copy_only=False).astype(object, copy=False)
    encoded = pc.dictionary_encode(column)
    values = np.empty(len(encoded.dictionary), dtype=object)
    values[:] = encoded.dictionary.to_pylist()
    return values[encoded.indices.to_numpy()] if len(values) else np.empty(len(column), dtype=object)


def _list_field(values: pa.Array | pa.ListArray, separator: str, index: np.ndarray) -> pa.Array:
    """Splits strings by `separator` and returns, per row, the element at that row's index (null if short).

    `values` may be the split already (a list array), so one split serves every field of a sample column.
    """
    parts = values if isinstance(values, pa.ListArray) else pc.split_pattern(values, separator)
    offsets = parts.offsets.to_numpy()
    lengths = offsets[1:] - offsets[:-1]
    has = (index >= 0) & (lengths > index)
    picked = parts.values.take(pa.array(np.where(has, offsets[:-1] + index, 0)))
    return pc.if_else(pa.array(has), picked, pa.scalar(None, pa.string()))


def _integers(texts: pa.Array) -> np.ndarray:
    """Integer values of VCF fields (rounding floats such as a float GQ); -1 for missing."""
    cleaned = pc.if_else(pc.equal(texts, "."), pa.scalar(None, pa.string()), texts)
    values = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
    return np.where(np.isnan(values), -1, np.rint(values)).astype(np.int64)


def _split_matrix(texts: pa.Array, pattern: str, pad: int) -> np.ndarray:
    """Splits each row (e.g. a GT or AD) into integers, one row per record, "." as -1, padded with `pad`."""
    # a genome repeats a handful of GT texts and a few thousand AD texts: split each distinct text once
    encoded = pc.dictionary_encode(texts)
    if not len(encoded.dictionary) or len(encoded.dictionary) * 4 >= len(texts):
        return _split_rows(texts, pattern, pad)
    table = _split_rows(encoded.dictionary, pattern, pad)
    codes = encoded.indices
    index = pc.fill_null(codes, -1).to_numpy(zero_copy_only=False) if codes.null_count else codes.to_numpy()
    out = table[index]
    if codes.null_count:
        out[index < 0] = pad
    return out


def _split_rows(texts: pa.Array, pattern: str, pad: int) -> np.ndarray:
    """_split_matrix's row-by-row split."""
    parts = pc.split_pattern_regex(texts, pattern)
    lengths = pc.list_value_length(parts).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(parts)
    numbers = pc.cast(pc.if_else(pc.equal(flat, "."), "-1", flat), pa.int64()).to_numpy()
    out = np.full((len(lengths), max(int(lengths.max(initial=0)), 1)), pad, np.int64)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    within = np.arange(len(numbers)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[rows, within] = numbers
    return out


def _text_genotypes(table: pa.RecordBatch, samples: list[str]) -> tuple[np.ndarray, ...]:
    """Allele calls, GQ, DP and AD per record and sample from the FORMAT and sample text columns."""
    m, s = table.num_rows, len(samples)
    # a file repeats one or a few FORMAT texts: find the fields of each distinct text once
    formats = pc.dictionary_encode(table.column("FORMAT"))
    keys = []
    for fmt in formats.dictionary.to_pylist():
        fields = fmt.split(":")
        keys.append([fields.index(k) if k in fields else -1 for k in ("GT", "GQ", "DP", "AD")])
    index = np.array(keys, dtype=np.int64).reshape(-1, 4)[formats.indices.to_numpy(zero_copy_only=False)]
    gq, dp = np.full((m, s), -1, np.int64), np.full((m, s), -1, np.int64)
    call_parts, ad_parts = [], []
    for j, sample in enumerate(samples):
        column = pc.split_pattern(table.column(sample), ":")
        gq[:, j] = _integers(_list_field(column, ":", index[:, 1]))
        dp[:, j] = _integers(_list_field(column, ":", index[:, 2]))
        call_parts.append(_split_matrix(_list_field(column, ":", index[:, 0]), r"[/|]", -2))
        ad_parts.append(_split_matrix(_list_field(column, ":", index[:, 3]), ",", -1))
    width = max(p.shape[1] for p in call_parts)
    calls = np.full((m, s, width), -2, np.int16)
    ad_width = max(p.shape[1] for p in ad_parts)
    ad = np.full((m, s, ad_width), -1, np.int64)
    for j in range(s):
        calls[:, j, : call_parts[j].shape[1]] = call_parts[j]
        ad[:, j, : ad_parts[j].shape[1]] = ad_parts[j]
    return calls, gq, dp, ad


def _htslib_sv_info(record: Any) -> dict[str, Any]:
    """END, SVLEN, SVTYPE and CN of an htslib record's INFO (absent keys left out)."""
    found = {}
    for key in SV_INFO_KEYS:
        try:
            value = record.INFO.get(key)
        except KeyError:
            value = None
        if value is not None:
            found[key] = value
    return found


def _format_or_none(record: Any, key: str) -> np.ndarray | None:
    try:
        values = record.format(key)
    except KeyError:
        return None
    if values is None:
        return None
    if values.dtype.kind == "f":  # some callers write GQ as a float
        return np.where(np.isnan(values), -1, np.rint(values)).astype(np.int64)
    if values.dtype.kind not in "iu":
        return None
    return values
