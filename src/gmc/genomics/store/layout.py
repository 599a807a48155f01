"""On-disk layout of the variant store: paths, schemas, variant keys and the manifest."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Chromosomes the store holds, in genome order; the index (1-based) is the chromosome code in keys.
CHROMOSOMES: tuple[str, ...] = tuple(str(i) for i in range(1, 23)) + ("X", "Y", "MT")
CHROM_CODE: dict[str, int] = {c: i + 1 for i, c in enumerate(CHROMOSOMES)}

# Key layout (63 bits, always positive): 5 bits chromosome | 28 bits position | 30 bits allele hash.
# Sorting by key therefore sorts by (chromosome, position), so a region is one key range and
# Parquet row-group min/max statistics prune on it.
_POS_BITS = 28
_ALLELE_BITS = 30
#: Right shift that turns a key into its chromosome code.
CHROM_SHIFT = _POS_BITS + _ALLELE_BITS
MAX_POSITION = (1 << _POS_BITS) - 1
_ALLELE_MASK = (1 << _ALLELE_BITS) - 1

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1

#: Core columns of the sites table; the annotation core may add more (gene, consequence, ...).
SITES_SCHEMA = pa.schema(
    [
        ("key", pa.int64()),
        ("chrom", pa.string()),
        ("pos", pa.int32()),
        ("ref", pa.string()),
        ("alt", pa.string()),
    ]
)

#: One row per non-reference call of one sample at one site.
GENOTYPES_SCHEMA = pa.schema(
    [
        ("key", pa.int64()),
        ("sample_idx", pa.int32()),
        ("gt", pa.int8()),
        ("ploidy", pa.int8()),
        ("gq", pa.int16()),
        ("dp", pa.int32()),
        ("ad_ref", pa.int32()),
        ("ad_alt", pa.int32()),
        ("qual", pa.float32()),
        ("filter", pa.string()),
    ]
)

#: Per-sample index of one genotype file: each call's row number in that file with the call columns a
#: variant table filters and sorts on, sorted by (sample_idx, row). The genotype file stays in (key, sample)
#: order for gene and cohort queries; one sample's page reads its few thousand index rows (row-group
#: statistics on sample_idx skip the other samples) and then only the page's rows of the genotype file.
SAMPLE_INDEX_SCHEMA = pa.schema(
    [
        ("sample_idx", pa.int32()),
        ("row", pa.int32()),
        ("chrom_code", pa.int8()),
        ("gt", pa.int8()),
        ("ploidy", pa.int8()),
        ("gq", pa.int16()),
        ("filter", pa.string()),
    ]
)
#: Directory of the per-sample index files, next to genotypes/ in a dataset or segment directory.
SAMPLE_INDEX_DIR = "calls_by_sample"


def sample_index_path(genotypes_file: Path | str) -> Path:
    """The per-sample index of a genotype file (same directory level, same chromosome file name)."""
    path = Path(genotypes_file)
    return path.parent.parent / SAMPLE_INDEX_DIR / path.name


#: QUAL of the calls of one genotype file by runs of rows: a run starts where the key or the QUAL changes. QUAL
#: belongs to the VCF record, so it is constant over a key's carriers: one row per site of the batch, not per call.
RECORD_QUAL_SCHEMA = pa.schema([("first_row", pa.int32()), ("qual", pa.float32())])


def record_qual_path(genotypes_file: Path | str) -> Path:
    """The QUAL runs of a genotype file, next to its per-sample index."""
    path = Path(genotypes_file)
    return path.parent.parent / SAMPLE_INDEX_DIR / f"{path.stem}.qual.parquet"


#: The samples of one dataset with their store-wide integer index.
SAMPLES_SCHEMA = pa.schema([("sample_idx", pa.int32()), ("sample", pa.string()), ("dataset_id", pa.string())])


class StoreError(ValueError):
    """The variant store or its input is inconsistent; the message names the dataset, file or field."""


def chrom_code(chrom: str) -> int:
    """The 1-based code of a normalised chromosome name, or StoreError for other contigs."""
    try:
        return CHROM_CODE[chrom]
    except KeyError:
        raise StoreError(f"chromosome {chrom!r} is not one of 1-22, X, Y, MT") from None


def _allele_hash(ref: str, alt: str) -> int:
    """30 bits of a stable hash of the alleles (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(f"{ref}>{alt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & _ALLELE_MASK


def variant_key(chrom: str, pos: int, ref: str, alt: str) -> int:
    """The stable 64-bit key of one allele: chromosome, position and an allele hash, position-ordered."""
    if not 1 <= pos <= MAX_POSITION:
        raise StoreError(f"position {pos} on chromosome {chrom} is outside 1..{MAX_POSITION}")
    return (chrom_code(chrom) << (_POS_BITS + _ALLELE_BITS)) | (pos << _ALLELE_BITS) | _allele_hash(ref, alt)


def variant_keys(
    chrom: Sequence[str] | pa.ChunkedArray, pos: np.ndarray, ref: Sequence[str] | pa.ChunkedArray,
    alt: Sequence[str] | pa.ChunkedArray,
) -> np.ndarray:
    """Vectorised variant_key over aligned columns (chromosomes must already be primary contigs)."""
    pos = np.asarray(pos, dtype=np.int64)
    if len(pos) and (pos.min() < 1 or pos.max() > MAX_POSITION):
        raise StoreError(f"a position is outside 1..{MAX_POSITION}")
    # A genome repeats a few dozen contig names and a few thousand distinct allele pairs (12 for SNVs):
    # encode each column once and compute the code or the hash per distinct value, not per row.
    try:
        chrom_a, ref_a, alt_a = (_string_array(v) for v in (chrom, ref, alt))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        chrom_a = ref_a = alt_a = None
    if chrom_a is None or chrom_a.null_count or ref_a.null_count or alt_a.null_count:
        # the per-row path (it names the bad value): Arrow columns as Python values first
        chrom, ref, alt = (v.to_pylist() if isinstance(v, (pa.Array, pa.ChunkedArray)) else v
                           for v in (chrom, ref, alt))
        codes = np.fromiter((chrom_code(c) for c in chrom), dtype=np.int64, count=len(pos))
        hashes = np.fromiter((_allele_hash(r, a) for r, a in zip(ref, alt, strict=True)), dtype=np.int64,
                             count=len(pos))
    else:
        if not len(chrom_a) == len(ref_a) == len(alt_a) == len(pos):
            raise ValueError(f"columns differ in length: {len(chrom_a)}, {len(pos)}, {len(ref_a)}, {len(alt_a)}")
        index, names = _distinct(chrom_a)
        codes = np.fromiter((chrom_code(c) for c in names), dtype=np.int64, count=len(names))[index]
        # the joined text is exactly what _allele_hash digests
        index, pairs = _distinct(pc.binary_join_element_wise(ref_a, alt_a, ">"))
        digests = np.fromiter((_text_hash(t) for t in pairs), dtype=np.int64, count=len(pairs))
        hashes = digests[index]
    return (codes << (_POS_BITS + _ALLELE_BITS)) | (pos << _ALLELE_BITS) | hashes


def _string_array(values: Sequence[str] | pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as one Arrow string array (Arrow input is used as it is, not rebuilt from Python strings)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == pa.string() else pc.cast(values, pa.string())
    return pa.array(values, pa.string())


def _distinct(values: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Row indexes into the distinct values, and the distinct values in first-seen order."""
    encoded = values.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def _text_hash(text: str) -> int:
    """_allele_hash of an already joined "ref>alt" text."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") & _ALLELE_MASK


def key_range(chrom: str, start: int, end: int) -> tuple[int, int]:
    """Inclusive key bounds covering every allele at 1-based positions start..end of a chromosome."""
    if start > end:
        raise StoreError(f"region {chrom}:{start}-{end} has start after end")
    start, end = max(start, 1), min(end, MAX_POSITION)
    base = chrom_code(chrom) << (_POS_BITS + _ALLELE_BITS)
    return base | (start << _ALLELE_BITS), base | (end << _ALLELE_BITS) | _ALLELE_MASK


@dataclass
class DatasetEntry:
    """One committed dataset (a VCF or a batch of tables) in the manifest."""

    #: Content hash of the source: the same file always gets the same id.
    dataset_id: str
    #: Where it came from (a file name or a caller-given label).
    source: str
    #: Sample names in the dataset, in column order; their indexes run from first_sample_idx.
    samples: list[str]
    first_sample_idx: int
    #: Chromosomes with at least one stored call.
    chroms: list[str]
    n_new_sites: int
    n_genotypes: int
    #: Genome build of the source (GRCh37/GRCh38) when known.
    build: str = ""
    #: Allele rows skipped because their contig is not a primary chromosome, by contig.
    skipped_contigs: dict[str, int] = field(default_factory=dict)
    #: The compacted segment now holding this dataset's files ("" while it has its own directory).
    segment: str = ""


@dataclass
class SegmentEntry:
    """Several datasets' files merged into one file per chromosome, so queries open fewer files."""

    segment_id: str
    dataset_ids: list[str]
    chroms: list[str]


@dataclass
class RetiredEntry:
    """A directory no longer listed for queries but kept for readers still holding an older manifest."""

    #: The directory relative to the store root (datasets/<id> or segments/<id>).
    path: str
    #: When a commit stopped listing it, in UTC epoch seconds; removed GMC_STORE_RETENTION_SECONDS later.
    retired_at: float


@dataclass
class Manifest:
    """The list of committed datasets: a dataset exists for queries only once listed here."""

    datasets: list[DatasetEntry] = field(default_factory=list)
    segments: list[SegmentEntry] = field(default_factory=list)
    #: Replaced directories awaiting removal ("retired" in manifest.json; absent from manifests before it existed).
    retired: list[RetiredEntry] = field(default_factory=list)
    version: int = MANIFEST_VERSION

    @property
    def n_samples(self) -> int:
        """Number of samples across all datasets."""
        return sum(len(d.samples) for d in self.datasets)

    def dataset(self, dataset_id: str) -> DatasetEntry | None:
        """The committed dataset with this id, if any."""
        return next((d for d in self.datasets if d.dataset_id == dataset_id), None)

    def sample_index(self) -> dict[str, int]:
        """Sample name -> store-wide sample index."""
        return {s: d.first_sample_idx + i for d in self.datasets for i, s in enumerate(d.samples)}


class StoreLayout:
    """Paths of one variant store rooted at a directory."""

    def __init__(self, root: Path | str) -> None:
        #: The root as given: a local path, or a URI (file://, s3a://, gs://, hdfs://) Spark and Arrow both read.
        self.uri = str(root).rstrip("/") if isinstance(root, str) and is_uri(root) else str(root)
        self._local = local_path(root)
        self._remote: tuple[Any, str] | None = None

    @property
    def is_local(self) -> bool:
        """True when the store is a folder on this machine's file system (writes need that)."""
        return self._local is not None

    @property
    def root(self) -> Path:
        """The store's local folder; StoreError for a store on another file system (only queries read those)."""
        if self._local is None:
            raise StoreError(f"variant store {self.uri} is not a local folder: gmc writes only to local stores "
                             "(a national store on shared storage is built by `gmc spark submit national-build`)")
        return self._local

    def exists(self) -> bool:
        """True once a manifest has been committed (a store nothing was ingested into has none)."""
        return self.read_text(self.location(MANIFEST_NAME)) is not None

    def location(self, relative: str) -> str:
        """A path inside the store as engines read it: a plain local path, or the root URI joined with it."""
        if self._local is not None:
            return str(self._local / relative)
        return f"{self.uri}/{relative}"

    def _arrow(self, location: str) -> tuple[Any, str]:
        """Arrow's file system and path for a location inside a non-local store."""
        if self._remote is None:
            self._remote = remote_filesystem(self.uri)
        fs, base = self._remote
        return fs, base.rstrip("/") + location[len(self.uri):]

    def read_text(self, location: str) -> str | None:
        """The text of a file inside the store, None when it does not exist."""
        if self._local is not None:
            path = Path(location)
            return path.read_text() if path.exists() else None
        import pyarrow.fs as pafs

        fs, path = self._arrow(location)
        try:
            if fs.get_file_info(path).type == pafs.FileType.NotFound:
                return None
            with fs.open_input_stream(path) as fh:
                return fh.read().decode()
        except OSError as exc:
            raise StoreError(f"variant store {self.uri}: cannot read {location} ({exc})") from exc

    def table_files(self, location: str) -> list[str]:
        """The Parquet files of one table location: the file itself, or the part files of a folder that Spark
        wrote (a national store's tables); none when it does not exist."""
        if self._local is not None:
            path = Path(location)
            if path.is_file():
                return [location]
            if path.is_dir():
                return sorted(str(p) for p in path.glob("*.parquet") if not p.name.startswith(("_", ".")))
            return []
        import pyarrow.fs as pafs

        fs, path = self._arrow(location)
        try:
            info = fs.get_file_info(path)
            if info.type == pafs.FileType.File:
                return [location]
            if info.type != pafs.FileType.Directory:
                return []
            parts = fs.get_file_info(pafs.FileSelector(path))
        except OSError as exc:
            raise StoreError(f"variant store {self.uri}: cannot list {location} ({exc})") from exc
        names = sorted(i.base_name for i in parts if i.base_name.endswith(".parquet")
                       and not i.base_name.startswith(("_", ".")))
        return [f"{location}/{n}" for n in names]

    @property
    def manifest_path(self) -> Path:
        """The manifest file: the commit point of every ingest."""
        return self.root / MANIFEST_NAME

    @property
    def staging_dir(self) -> Path:
        """Where an ingest writes before its atomic rename."""
        return self.root / "_staging"

    @property
    def lock_path(self) -> Path:
        """Lock file serialising writers."""
        return self.root / ".lock"

    def dataset_dir(self, dataset_id: str) -> Path:
        """The directory of one dataset's files."""
        return self.root / "datasets" / dataset_id

    def sites_file(self, dataset_id: str, chrom: str) -> Path:
        """Sites first seen in this dataset, one file per chromosome."""
        return self.dataset_dir(dataset_id) / "sites" / f"chr{chrom}.parquet"

    def genotypes_file(self, dataset_id: str, chrom: str) -> Path:
        """Non-reference calls of this dataset, one file per chromosome."""
        return self.dataset_dir(dataset_id) / "genotypes" / f"chr{chrom}.parquet"

    def samples_file(self, dataset_id: str) -> Path:
        """The dataset's samples with their store-wide indexes."""
        return self.dataset_dir(dataset_id) / "samples.parquet"

    def read_manifest(self) -> Manifest:
        """The committed manifest, or an empty one for a new store."""
        path = self.location(MANIFEST_NAME)
        text = self.read_text(path)
        if text is None:
            return Manifest()
        try:
            raw = json.loads(text)
            datasets = [DatasetEntry(**d) for d in raw["datasets"]]
            segments = [SegmentEntry(**g) for g in raw.get("segments", [])]
            retired = [RetiredEntry(**r) for r in raw.get("retired", [])]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{path}: unreadable manifest ({exc})") from exc
        if raw.get("version") != MANIFEST_VERSION:
            raise StoreError(f"{path}: manifest version {raw.get('version')} is not {MANIFEST_VERSION}")
        return Manifest(datasets=datasets, segments=segments, retired=retired, version=raw["version"])

    def write_manifest(self, manifest: Manifest) -> None:
        """Replaces the manifest atomically (write, fsync, rename): readers see the old or the new one."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(f".tmp{os.getpid()}")
        payload = {
            "version": manifest.version,
            "datasets": [asdict(d) for d in manifest.datasets],
            "segments": [asdict(g) for g in manifest.segments],
            "retired": [asdict(r) for r in manifest.retired],
        }
        with open(tmp, "w") as fh:
            json.dump(payload, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.manifest_path)
        _fsync_dir(self.root)

    def segment_dir(self, segment_id: str) -> Path:
        """The directory of one compacted segment."""
        return self.root / "segments" / segment_id

    def retired_dir(self, entry: RetiredEntry) -> Path:
        """The directory a retired entry names; StoreError unless it is a dataset or segment directory."""
        parts = Path(entry.path).parts
        # a hand-edited or corrupt manifest must not make a writer delete anything else
        if len(parts) != 2 or parts[0] not in ("datasets", "segments") or parts[1] in ("", ".", ".."):
            raise StoreError(f"{self.manifest_path}: retired path {entry.path!r} is not datasets/<id> or "
                             "segments/<id>")
        return self.root / parts[0] / parts[1]

    def files(self, manifest: Manifest, table: str, chroms: Iterable[str] | None = None,
              datasets: Iterable[str] | None = None) -> list[str]:
        """Committed files of one table (sites, genotypes or samples), optionally for some chromosomes only, or
        only where the given datasets' rows are."""
        wanted = set(chroms) if chroms is not None else None
        chosen = set(datasets) if datasets is not None else None
        # (directory, chromosomes) of every place holding files: own dataset dirs, then segments.
        places = {f"datasets/{d.dataset_id}": d.chroms for d in manifest.datasets
                  if not d.segment and (chosen is None or d.dataset_id in chosen)}
        segments = {d.segment for d in manifest.datasets if d.segment and (chosen is None or d.dataset_id in chosen)}
        places.update({f"segments/{g.segment_id}": g.chroms for g in manifest.segments
                       if chosen is None or g.segment_id in segments})
        out: list[str] = []
        for directory, place_chroms in places.items():
            if table == "samples":
                out += self.table_files(self.location(f"{directory}/samples.parquet"))
                continue
            for chrom in place_chroms:
                if wanted is not None and chrom not in wanted:
                    continue
                # A dataset may bring calls on a chromosome but no new sites there.
                out += self.table_files(self.location(f"{directory}/{table}/chr{chrom}.parquet"))
        return out


def is_uri(root: Path | str) -> bool:
    """True for a scheme://... text (file://, s3a://, gs://, hdfs://), False for a plain path."""
    return isinstance(root, str) and "://" in root and root.split("://", 1)[0].replace("+", "").isalnum()


def local_path(root: Path | str) -> Path | None:
    """The local folder a store root names (a plain path or file://), None for other file systems."""
    if not is_uri(root):
        return Path(root)
    scheme, rest = str(root).split("://", 1)
    if scheme.lower() == "file":
        return Path(rest if rest.startswith("/") else "/" + rest.split("/", 1)[-1])
    return None


_SCHEMAS: dict[str, pa.Schema] = {}


def parquet_schema(location: str) -> pa.Schema:
    """The schema of one committed store file (a local path or a URI), cached: committed files never change."""
    schema = _SCHEMAS.get(location)
    if schema is None:
        import pyarrow.parquet as pq

        if local_path(location) is not None:
            schema = pq.read_schema(str(local_path(location)))
        else:
            fs, path = remote_filesystem(location)
            try:
                schema = pq.read_schema(path, filesystem=fs)
            except OSError as exc:
                raise StoreError(f"cannot read the Parquet schema of {location} ({exc})") from exc
        _SCHEMAS[location] = schema
    return schema


def sites_schema(files: Sequence[str]) -> pa.Schema:
    """The union of the sites files' columns, core columns first (annotation columns vary by dataset)."""
    fields = {f.name: f for f in SITES_SCHEMA}
    for location in files:
        for f in parquet_schema(location):
            fields.setdefault(f.name, f)
    return pa.schema(list(fields.values()))


def chrom_of_file(location: str) -> str:
    """The chromosome of a store table file: chr<name>.parquet, or a part file inside a chr<name>.parquet folder."""
    path = Path(location)
    name = path.name if path.name.startswith("chr") else path.parent.name
    return name.removeprefix("chr").removesuffix(".parquet")


#: Spark's Hadoop scheme names that Arrow spells differently.
_ARROW_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}


def remote_filesystem(uri: str) -> tuple[Any, str]:
    """Arrow's file system and base path for a non-local store URI; StoreError naming the URI if Arrow cannot
    open it (unknown scheme, missing credentials, unreachable service)."""
    import pyarrow.fs as pafs

    scheme, rest = uri.split("://", 1)
    arrow_uri = f"{_ARROW_SCHEMES.get(scheme.lower(), scheme.lower())}://{rest}"
    try:
        return pafs.FileSystem.from_uri(arrow_uri)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise StoreError(f"variant store {uri} (GMC_STORE_URI) cannot be opened: {exc}") from exc


def _fsync_dir(path: Path) -> None:
    """Makes a rename durable on POSIX file systems."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
