"""Writers for annotated alleles: VCF with an INFO/GMC field, TSV, or Parquet (chosen by extension).

Every writer is all-or-nothing: it writes beside the output under a temporary name and renames it into place
only when the whole input was read and annotated; on any error nothing is left at the output path. Provenance
and what was withheld head the TSV and VCF; their header is written last, then joined to the body (a gzip or
BGZF stream may be a series of members), so that the counts of a whole run can head it.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gmc.genomics.vcf import VariantBatch, VcfFormatError, count_header_lines, is_bcf

#: Subfields of the INFO/GMC value, one pipe-separated entry per ALT allele (new fields are added at the end).
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
    "HGVS_note",
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
    "hgvs_note",
)
# characters with a meaning inside INFO values, percent-encoded as VCF 4.3 allows ("%" first)
_INFO_ESCAPES = (("%", "%25"), ("|", "%7C"), (",", "%2C"), (";", "%3B"), ("=", "%3D"), (" ", "_"), ("\t", "%09"))
# characters that would break a TSV line or field, percent-encoded the same way
_TSV_ESCAPES = (("%", "%25"), ("\t", "%09"), ("\n", "%0A"), ("\r", "%0D"), ('"', "%22"))


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


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it when the block succeeds and removed when it fails."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _escaped(values: pa.Array | pa.ChunkedArray, escapes: tuple[tuple[str, str], ...]) -> pa.Array:
    """A column as text with the given characters percent-encoded; null stays null. One look for any of them
    first: most columns hold none, and then need none of the replacements."""
    if not pa.types.is_string(values.type):
        # numbers print without any of the characters (digits, ".", "-", "e")
        return pc.cast(values, pa.string())
    text = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not _holds_any(text, escapes):
        return text
    for char, code in escapes:
        text = pc.replace_substring(text, char, code)
    return text


def _holds_any(text: pa.Array, escapes: tuple[tuple[str, str], ...]) -> bool:
    """True when any value of a string array holds one of the characters: one look-up per byte of its data."""
    if not len(text) or text.null_count == len(text):
        return False
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=len(text) + 1, offset=text.offset * 4)
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    table = np.zeros(256, dtype=bool)
    table[[ord(char) for char, _ in escapes]] = True
    return bool(table[data].any())


def _join(header: bytes, body: Path, out: Path, compress: str | None) -> None:
    """Writes `header` (compressed like the body: gzip, bgzf or not) then the body's bytes to `out`."""
    with out.open("wb") as handle:
        if compress == "gzip":
            handle.write(gzip.compress(header, compresslevel=6))
        elif compress == "bgzf":
            import pysam

            handle.close()
            with pysam.BGZFile(str(out), "wb") as bgzf:
                bgzf.write(header)
            handle = out.open("ab")
        else:
            handle.write(header)
        with body.open("rb") as source:
            shutil.copyfileobj(source, handle, 1 << 20)
        handle.close()


def _header_lines(provenance: dict[str, str], summary: Callable[[], str] | None) -> list[str]:
    lines = [f"{key}={value}" for key, value in provenance.items()]
    if summary is not None:
        lines.append(f"withheld={summary() or 'none'}")
    return lines


def write_tsv(tables: Iterable[pa.Table], path: str | Path, provenance: dict[str, str],
              withheld: Callable[[], str] | None = None) -> int:
    """Writes annotated rows as TSV (Arrow's CSV writer), provenance and the withheld counts in leading ##
    lines; values are percent-encoded where they hold a tab, line break, quote or %. Returns the row count."""
    path = Path(path)
    rows = 0
    names: list[str] = []
    compress = "gzip" if path.name.endswith(".gz") else None
    with atomic_output(path) as temporary:
        body = temporary.with_name(temporary.name + ".body")
        try:
            sink = pa.OSFile(str(body), "wb")
            stream = pa.CompressedOutputStream(sink, "gzip") if compress else sink
            writer: pacsv.CSVWriter | None = None
            options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
            for table in tables:
                if writer is None:
                    names = table.column_names
                    writer = pacsv.CSVWriter(stream, _tsv_schema(table.schema), write_options=options)
                writer.write_table(_tsv_table(table))
                rows += table.num_rows
            if writer is not None:
                writer.close()
            stream.close()
            header = "".join(f"##{line}\n" for line in _header_lines(provenance, withheld))
            header += "\t".join(names) + "\n"
            _join(header.encode(), body, temporary, compress)
        finally:
            body.unlink(missing_ok=True)
    return rows


def _tsv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string() if pa.types.is_string(f.type) else f.type) for f in schema])


def _tsv_table(table: pa.Table) -> pa.Table:
    """String columns percent-encoded where a value would break the TSV (rare: values are checked first)."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) and pc.any(pc.match_substring_regex(column, '[\t\n\r"%]')).as_py():
            column = _escaped(column, _TSV_ESCAPES)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def write_parquet(tables: Iterable[pa.Table], path: str | Path, provenance: dict[str, str],
                  withheld: Callable[[], str] | None = None) -> int:
    """Writes annotated rows as Parquet with provenance (and the withheld counts) in the file's metadata;
    returns the row count."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    with atomic_output(path) as temporary:
        try:
            for table in tables:
                if writer is None:
                    schema = table.schema.with_metadata({f"gmc.{k}": v for k, v in provenance.items()})
                    writer = pq.ParquetWriter(str(temporary), schema)
                writer.write_table(table.cast(writer.schema))
                rows += table.num_rows
            if writer is not None and withheld is not None:
                writer.add_key_value_metadata({"gmc.withheld": withheld() or "none"})
        finally:
            if writer is not None:
                writer.close()
    return rows


def gmc_values(table: pa.Table) -> pa.Array:
    """The INFO/GMC entry of each annotated row (Allele|Gene|...), built by Arrow string kernels."""
    parts = [pc.fill_null(_escaped(table[name], _INFO_ESCAPES), "") for name in _GMC_COLUMNS]
    return pc.binary_join_element_wise(*parts, "|")


def _entry_rests(table: pa.Table) -> pa.Array:
    """Each row's INFO/GMC entry without its leading Allele field ("|Gene|HGNC_ID|..."): the allele is written as
    the VCF wrote it, which for a trimmed or multi-allelic record is not the row's trimmed ALT."""
    parts = [pc.fill_null(_escaped(table[name], _INFO_ESCAPES), "") for name in _GMC_COLUMNS[1:]]
    return pc.binary_join_element_wise("", *parts, "|")


_EMPTY_REST = "|" * (len(GMC_FIELDS) - 1)


def write_vcf(
    source: str | Path,
    annotated: Iterable[tuple[VariantBatch, pa.Table]],
    path: str | Path,
    provenance: dict[str, str],
    withheld: Callable[[], str] | None = None,
) -> int:
    """Copies the input VCF to `path`, adding INFO/GMC (one entry per ALT, in ALT order) to each record; returns
    the records written. A text VCF goes through as text (Arrow kernels, htslib's BGZF for .gz); a BCF input
    or output through htslib records."""
    source, path = Path(source), Path(path)
    if is_bcf(source) or path.name.lower().endswith(".bcf"):
        return _write_vcf_htslib(source, annotated, path, provenance, withheld)
    compress = "bgzf" if path.name.lower().endswith((".gz", ".bgz")) else None
    with atomic_output(path) as temporary:
        body = temporary.with_name(temporary.name + ".body")
        try:
            header_lines, written = _vcf_body(source, annotated, body, compress)
            extra = ['##INFO=<ID=GMC,Number=.,Type=String,Description="gmc annotation per ALT allele. Format: '
                     + "|".join(GMC_FIELDS) + '">']
            for line in _header_lines(provenance, withheld):
                extra.append(f"##{line}" if line.startswith("gmc") else f"##gmc_{line}")
            header = "".join(line + "\n" for line in header_lines[:-1] + extra + header_lines[-1:])
            _join(header.encode(), body, temporary, compress)
        finally:
            body.unlink(missing_ok=True)
    return written


def _vcf_body(source: Path, annotated: Iterable[tuple[VariantBatch, pa.Table]], body: Path,
              compress: str | None) -> tuple[list[str], int]:
    """Writes the records of a text VCF with INFO/GMC added; returns the header lines and the record count."""
    gzipped = _gzipped(source)
    with (gzip.open(source, "rt") if gzipped else source.open()) as handle:
        header_lines = []
        for line in handle:
            if not line.startswith("#"):
                break
            header_lines.append(line.rstrip("\r\n"))
    skip = len(header_lines)

    def reader() -> Any:
        stream = pa.input_stream(str(source), compression="gzip" if gzipped else None)
        return pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(skip_rows=skip, column_names=["record"], block_size=1 << 22),
            # one column holding each record whole: the records go out as they came, with INFO/GMC added
            parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False,
                                             double_quote=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={"record": pa.string()}, strings_can_be_null=False),
        )

    entries = _Entries(annotated)
    written = 0
    first_line = skip + 1
    if compress == "bgzf":
        import pysam

        out: Any = pysam.BGZFile(str(body), "wb")
    else:
        out = body.open("wb")
    try:
        for block in _raw_blocks(reader, entries, source):
            records = block.column(0)
            n = len(records)
            rests, several = entries.take(first_line, n)
            out.write(_with_gmc(records, rests, several))
            written += n
            first_line += n
    finally:
        out.close()
    return header_lines, written


def _raw_blocks(reader: Callable[[], Any], entries: _Entries, source: Path) -> Iterator[pa.RecordBatch]:
    """The raw record blocks; when the text cannot be read (a truncated file ...), the annotating reader, which
    names the line, says why."""
    try:
        yield from reader()
    except (OSError, pa.ArrowInvalid) as error:
        for _ in entries:  # raises the reader's VcfFormatError naming the line
            pass
        raise VcfFormatError(source, None, f"unreadable ({error})") from None


class _Entries:
    """The annotated rows' INFO/GMC entries (without their allele field), taken by file line as records go out."""

    def __init__(self, annotated: Iterable[tuple[VariantBatch, pa.Table]]) -> None:
        self._batches = iter(annotated)
        self._lines = np.empty(0, dtype=np.int64)
        self._alleles = np.empty(0, dtype=np.int64)
        self._rests = pa.array([], pa.string())
        self._done = False

    def __iter__(self) -> Iterator[Any]:
        return self._batches

    def _more(self) -> bool:
        for batch, table in self._batches:
            if not len(batch):
                continue
            lines = np.asarray(batch.line, dtype=np.int64)
            alleles = (np.asarray(batch.allele, dtype=np.int64) if batch.allele is not None
                       else np.ones(len(lines), dtype=np.int64))
            self._lines = np.concatenate([self._lines, lines])
            self._alleles = np.concatenate([self._alleles, alleles])
            rests = _entry_rests(table)
            rests = rests.combine_chunks() if isinstance(rests, pa.ChunkedArray) else rests
            self._rests = pa.concat_arrays([self._rests, rests])
            return True
        self._done = True
        return False

    def take(self, first_line: int, n: int) -> tuple[pa.Array, dict[int, dict[int, str]]]:
        """Per record of lines first_line .. first_line + n - 1: the entry of its one row (null when it has none or
        several), and the records of several rows (or a row for an ALT other than the first) by index."""
        end = first_line + n
        while not self._done and (not len(self._lines) or self._lines[-1] < end):
            self._more()
        inside = int(np.searchsorted(self._lines, end, side="left"))
        lines, alleles, rests = self._lines[:inside], self._alleles[:inside], self._rests.slice(0, inside)
        self._lines, self._alleles, self._rests = self._lines[inside:], self._alleles[inside:], self._rests.slice(inside)
        slot = np.full(n, -1, dtype=np.int64)
        simple = alleles == 1
        if len(lines) > 1:
            repeated = np.zeros(len(lines), dtype=bool)
            repeated[1:] |= lines[1:] == lines[:-1]
            repeated[:-1] |= lines[1:] == lines[:-1]
            simple &= ~repeated
        slot[lines[simple] - first_line] = np.nonzero(simple)[0]
        several: dict[int, dict[int, str]] = {}
        for i in np.nonzero(~simple)[0].tolist():
            several.setdefault(int(lines[i]) - first_line, {})[int(alleles[i])] = rests[i].as_py()
        return rests.take(pa.array(slot, mask=slot < 0)), several


#: A record as (CHROM to REF with their tabs, ALT, QUAL and FILTER with their tabs, INFO, the rest): INFO/GMC
#: goes at the end of INFO; ALT comes out of the same split (no second pass to find it).
_RECORD = r"^(?P<lead>(?:[^\t]*\t){4})(?P<alt>[^\t]*)(?P<mid>\t[^\t]*\t[^\t]*\t)(?P<info>[^\t]*)(?P<tail>.*)$"


def _with_gmc(records: pa.Array | pa.ChunkedArray, rests: pa.Array, several: dict[int, dict[int, str]]) -> bytes:
    """The records (one line each) with ;GMC=... after their INFO ("." becomes GMC=...), newline-ended: one
    regular expression splits every line, Arrow kernels join the parts back; records of several ALTs are done
    one by one (one entry per ALT as written, empty for * and <NON_REF>)."""
    if isinstance(records, pa.ChunkedArray):
        records = records.combine_chunks()
    parts = pc.extract_regex(records, _RECORD)
    lead, alt, mid, info, tail = (parts.field(i) for i in range(5))
    gmc = pc.binary_join_element_wise(_escaped(alt, _INFO_ESCAPES), rests, "")
    # a record of several ALTs with one annotated row (the others * or <NON_REF>) is one of `several` too
    commas = pc.and_(pc.is_valid(rests), pc.match_substring(alt, ","))
    for i in np.nonzero(pc.fill_null(commas, False).to_numpy(zero_copy_only=False))[0].tolist():
        several.setdefault(i, {1: rests[i].as_py()})
    if several:
        texts = gmc.to_pylist()
        alts = alt.to_pylist()
        for i, by_allele in several.items():
            texts[i] = ",".join(f"{_escape_text(a)}{by_allele.get(n, _EMPTY_REST)}"
                                for n, a in enumerate(alts[i].split(","), start=1))
        gmc = pa.array(texts, pa.string())
    added = pc.binary_join_element_wise("GMC=", gmc, "")
    new_info = pc.if_else(pc.is_null(gmc), info,
                          pc.if_else(pc.equal(info, "."), added, pc.binary_join_element_wise(info, added, ";")))
    lines = pc.binary_join_element_wise(lead, alt, mid, new_info, tail, "\n", "")
    return _string_bytes(lines)


def _string_bytes(array: pa.Array) -> bytes:
    """The concatenated bytes of a string array's values (its data buffer between the first and last offset)."""
    if not len(array):
        return b""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    return array.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]


def _escape_text(text: str) -> str:
    for char, code in _INFO_ESCAPES:
        text = text.replace(char, code)
    return text


def _write_vcf_htslib(
    source: Path, annotated: Iterable[tuple[VariantBatch, pa.Table]], path: Path, provenance: dict[str, str],
    withheld: Callable[[], str] | None,
) -> int:
    """write_vcf through htslib records: for BCF input or output (the header's counts are those known first)."""
    from cyvcf2 import VCF, Writer

    vcf = VCF(str(source), lazy=True, threads=1)
    vcf.add_info_to_header({"ID": "GMC", "Number": ".", "Type": "String",
                            "Description": "gmc annotation per ALT allele. Format: " + "|".join(GMC_FIELDS)})
    for key, value in provenance.items():
        vcf.add_to_header(f"##{key if key.startswith('gmc') else 'gmc_' + key}={value}")
    name = path.name.lower()
    mode = "wb" if name.endswith(".bcf") else "wz" if name.endswith((".gz", ".bgz")) else "w"
    header_lines = 0 if is_bcf(source) else count_header_lines(source)
    written = 0
    with atomic_output(path) as temporary:
        writer = Writer(str(temporary), vcf, mode=mode)
        try:
            entries = _Entries(annotated)
            for index, record in enumerate(vcf):
                line = header_lines + index + 1
                rests, several = entries.take(line, 1)
                by_allele = several.get(0) or ({1: rests[0].as_py()} if rests[0].is_valid else None)
                if by_allele:
                    record.INFO["GMC"] = ",".join(f"{_escape_text(a)}{by_allele.get(n, _EMPTY_REST)}"
                                                  for n, a in enumerate(record.ALT, start=1))
                writer.write_record(record)
                written += 1
        finally:
            writer.close()
            vcf.close()
    return written


def _gzipped(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"
