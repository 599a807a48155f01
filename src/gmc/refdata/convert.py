"""Converters: published files -> the files gmc reads, written once here instead of as past one-off scripts.

Each converter takes the set, its downloads (source key -> path) and an output folder laid out like
GMC_REFDATA, writes the set's files there and returns, for each file written, the sources it was made from.
A file that is not what its source should be (another build, another release, another format) stops the
conversion with an error naming the source; nothing is installed then.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gmc.refdata.catalogue import RefSet, Source
from gmc.refdata.errors import FetchError

Outputs = dict[str, list[str]]


class ConversionError(FetchError):
    """A downloaded file is not in the published form expected (wrong build, release or format)."""


@dataclass
class Context:
    """What a converter may need beyond its downloads: the build, progress notes, the paged-API pages."""

    build: str | None
    note: Callable[[str], None] = lambda text: None
    #: Paged-API sources: key -> the folder of saved pages.
    pages: dict[str, Path] = field(default_factory=dict)
    #: Releases found in the files themselves (source key -> release), for sources that publish only "current".
    releases: dict[str, str] = field(default_factory=dict)


def _wrong(source: Source, where: Path | str, problem: str, what_to_do: str = "") -> ConversionError:
    todo = what_to_do or ("check that the mirror holds the published file of this release, or name the right "
                          "release in GMC_REFDATA_SOURCES")
    return ConversionError(f"{source.title} ({where}): {problem}; {todo}. Nothing installed was changed.",
                           source=source.title)


def _out(root: Path, relative: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def open_text(path: Path) -> io.TextIOBase:
    """Opens a plain or gzip/BGZF-compressed text file (by its magic bytes, not its name)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def gzip_write(path: Path) -> io.TextIOBase:
    """A reproducible gzip text writer (no name or time in the header)."""
    raw = path.open("wb")
    return io.TextIOWrapper(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0), encoding="utf-8",
                            newline="")


# ----------------------------------------------------------------------------- simple sets


def convert_copy(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """Published files used as they are (chains, gnomAD sites): each source becomes its layout file."""
    outputs: Outputs = {}
    for key, relative in refset.layout:
        _link_or_copy(downloads[key], _out(out, relative))
        outputs[relative] = [key]
    return outputs


_HPO_NAMES = {"obo": "hpo/hpo_{release}_hp.obo.gz", "hpoa": "hpo/hpo_{release}_phenotype.hpoa.gz",
              "genes_to_phenotype": "hpo/hpo_{release}_genes_to_phenotype.txt.gz", "obo_newer": "hpo/hp_{release}.obo.gz"}


def hpo_release_of(path: Path) -> str | None:
    """The release an HPO file states in its header (data-version or #version), None when it states none."""
    with open_text(path) as handle:
        for number, line in enumerate(handle):
            match = re.match(r"^(?:data-version: hp/releases/|#version: )(\d{4}-\d{2}-\d{2})", line)
            if match:
                return match.group(1)
            if number > 40 or (line and not line.startswith(("#", "format-version", "data-version"))
                               and ":" not in line[:30]):
                return None
    return None


def convert_hpo(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """HPO release files, gzipped under names carrying their release (checked against the file's own header)."""
    outputs: Outputs = {}
    for key, pattern in _HPO_NAMES.items():
        source = refset.source(key)
        stated = hpo_release_of(downloads[key])
        if stated is not None and stated != source.release:
            raise _wrong(source, downloads[key], f"the file is HPO release {stated}, not {source.release}")
        if key.startswith("obo"):
            with open_text(downloads[key]) as handle:
                head = handle.read(200)
            if not head.startswith("format-version:"):
                raise _wrong(source, downloads[key], "not an OBO file (no format-version header)")
        relative = pattern.format(release=source.release)
        with open_text(downloads[key]) as reader, gzip_write(_out(out, relative)) as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
        outputs[relative] = [key]
    return outputs


# ----------------------------------------------------------------------------- transcripts (GTF -> genePred)

#: genePred-like columns gmc's transcript reader takes (MANE flavour and Ensembl flavour).
MANE_COLUMNS = ("name", "chrom", "strand", "txStart", "txEnd", "cdsStart", "cdsEnd", "exonCount", "exonStarts",
                "exonEnds", "gene", "gene_id", "refseq_nm", "refseq_np", "ensp", "mane_status", "ensembl_tx_name",
                "cds_len")
ENSEMBL_COLUMNS = ("name", "chrom", "strand", "txStart", "txEnd", "cdsStart", "cdsEnd", "exonCount", "exonStarts",
                   "exonEnds", "gene", "biotype", "cds_len")
_ATTRIBUTE = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s+"([^"]*)"\s*;?')


@dataclass
class GtfTranscript:
    """One transcript gathered from GTF lines: attributes, exons and coding bounds (0-based starts)."""

    chrom: str
    strand: str
    attributes: dict[str, str]
    tags: set[str] = field(default_factory=set)
    exons: list[tuple[int, int]] = field(default_factory=list)
    coding: list[tuple[int, int]] = field(default_factory=list)

    def versioned(self, key: str) -> str:
        """An id with its version (GENCODE writes it in the id, Ensembl in <key>_version)."""
        value = self.attributes.get(f"{key}_id", "")
        version = self.attributes.get(f"{key}_version")
        return f"{value}.{version}" if value and version and "." not in value else value


def parse_gtf_attributes(text: str) -> tuple[dict[str, str], set[str]]:
    """GTF attributes as a dict (first value of each key) and the set of its repeated tag values."""
    attributes: dict[str, str] = {}
    tags: set[str] = set()
    for key, value in _ATTRIBUTE.findall(text):
        if key == "tag":
            tags.add(value)
        else:
            attributes.setdefault(key, value)
    return attributes, tags


def read_gtf(path: Path, source: Source, keep: Callable[[dict[str, str], set[str]], bool]) -> tuple[
        dict[str, GtfTranscript], str]:
    """Transcripts of a GTF that `keep` accepts (exon, CDS and stop codon features), and its genome-build line."""
    transcripts: dict[str, GtfTranscript] = {}
    build = ""
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#"):
                if line.startswith("#!genome-build"):
                    build = line.split(None, 1)[1].strip() if " " in line.strip() else ""
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 9:
                raise _wrong(source, path, f"line {number} has {len(fields)} columns, a GTF line has 9")
            feature = fields[2]
            if feature not in ("transcript", "exon", "CDS", "stop_codon"):
                continue
            attributes, tags = parse_gtf_attributes(fields[8])
            tx_id = attributes.get("transcript_id")
            if not tx_id:
                raise _wrong(source, path, f"line {number} has no transcript_id")
            try:
                start0, end = int(fields[3]) - 1, int(fields[4])
            except ValueError:
                raise _wrong(source, path, f"line {number}: positions {fields[3]!r}-{fields[4]!r}") from None
            record = transcripts.get(tx_id)
            if record is None:
                if feature != "transcript" and not keep(attributes, tags):
                    continue
                record = transcripts[tx_id] = GtfTranscript(fields[0], fields[6], attributes, tags)
            if feature == "transcript":
                record.attributes.update(attributes)
                record.tags |= tags
            else:  # e.g. protein_id is written on CDS lines only
                for key, value in attributes.items():
                    record.attributes.setdefault(key, value)
            if feature == "exon":
                record.exons.append((start0, end))
            elif feature != "transcript":
                record.coding.append((start0, end))
    return {k: t for k, t in transcripts.items() if t.exons and keep(t.attributes, t.tags)}, build


def ucsc_chrom(name: str) -> str:
    """chr-prefixed chromosome names (MT as chrM), as gmc's transcript files have them."""
    if name.startswith("chr"):
        return name
    return "chrM" if name == "MT" else f"chr{name}"


def _chrom_order(name: str) -> tuple[int, str]:
    bare = name.removeprefix("chr")
    if bare.isdigit():
        return int(bare), ""
    return {"X": 23, "Y": 24, "M": 25}.get(bare, 26), bare


def genepred_fields(tx: GtfTranscript) -> dict[str, object]:
    """The genePred columns of one transcript (cdsEnd includes the stop codon; non-coding: cds = txEnd)."""
    exons = sorted(set(tx.exons))
    tx_start, tx_end = exons[0][0], exons[-1][1]
    if tx.coding:
        cds_start, cds_end = min(s for s, _ in tx.coding), max(e for _, e in tx.coding)
        cds_len = sum(max(0, min(e, cds_end) - max(s, cds_start)) for s, e in exons)
    else:
        cds_start = cds_end = tx_end
        cds_len = 0
    return {"chrom": ucsc_chrom(tx.chrom), "strand": tx.strand, "txStart": tx_start, "txEnd": tx_end,
            "cdsStart": cds_start, "cdsEnd": cds_end, "exonCount": len(exons),
            "exonStarts": "".join(f"{s}," for s, _ in exons), "exonEnds": "".join(f"{e}," for _, e in exons),
            "cds_len": cds_len}


def write_genepred(path: Path, columns: tuple[str, ...], rows: Iterable[dict[str, object]]) -> int:
    """Writes a gzipped genePred-like TSV with a #name header, sorted by chromosome and start; returns rows."""
    ordered = sorted(rows, key=lambda r: (_chrom_order(str(r["chrom"])), int(r["txStart"]), str(r["name"])))
    with gzip_write(path) as handle:
        handle.write("#" + "\t".join(columns) + "\n")
        for row in ordered:
            handle.write("\t".join(str(row.get(c, "")) for c in columns) + "\n")
    return len(ordered)


def read_mane_summary(path: Path, source: Source) -> dict[str, dict[str, str]]:
    """MANE summary rows keyed by versioned Ensembl transcript id."""
    rows: dict[str, dict[str, str]] = {}
    with open_text(path) as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
        if not {"Ensembl_nuc", "RefSeq_nuc", "RefSeq_prot", "MANE_status", "symbol"} <= set(header):
            raise _wrong(source, path, "not a MANE summary (columns Ensembl_nuc, RefSeq_nuc, RefSeq_prot, "
                                       "MANE_status and symbol expected)")
        for line in handle:
            record = dict(zip(header, line.rstrip("\n").split("\t"), strict=False))
            rows[record["Ensembl_nuc"]] = record
    return rows


def mane_rows(gtf: Path, summary: Path, refset: RefSet) -> list[dict[str, object]]:
    """MANE Select transcripts of the MANE Ensembl GTF as genePred rows, with RefSeq ids from the summary."""
    mane = read_mane_summary(summary, refset.source("summary"))
    transcripts, _build = read_gtf(gtf, refset.source("gtf"), lambda attributes, tags: "MANE_Select" in tags)
    if not transcripts:
        raise _wrong(refset.source("gtf"), gtf, "no transcript tagged MANE_Select")
    rows = []
    for tx_id, tx in transcripts.items():
        name = tx.versioned("transcript")
        record = mane.get(name) or mane.get(tx_id) or {}
        rows.append({"name": name, **genepred_fields(tx),
                     "gene": tx.attributes.get("gene_name") or record.get("symbol", ""),
                     "gene_id": tx.versioned("gene"), "refseq_nm": record.get("RefSeq_nuc", ""),
                     "refseq_np": record.get("RefSeq_prot", ""), "ensp": tx.versioned("protein"),
                     "mane_status": "MANE Select", "ensembl_tx_name": tx.attributes.get("transcript_name", "")})
    return rows


def convert_mane(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """MANE GRCh38: the summary as published, and MANE Select genePred rows from the GTF."""
    summary = "grch38/MANE.GRCh38.v1.5.summary.txt.gz"
    read_mane_summary(downloads["summary"], refset.source("summary"))
    _link_or_copy(downloads["summary"], _out(out, summary))
    rows = mane_rows(downloads["gtf"], downloads["summary"], refset)
    count = write_genepred(_out(out, "grch38/mane_select.genepred.tsv.gz"), MANE_COLUMNS, rows)
    ctx.note(f"{count:,} MANE Select transcripts")
    return {summary: ["summary"], "grch38/mane_select.genepred.tsv.gz": ["gtf", "summary"]}


def lift_genepred_row(row: dict[str, object], lift: Callable[[str, int, int], tuple[str, int, int] | None],
                      strand_of: Callable[[str, int], str | None]) -> dict[str, object] | None:
    """One transcript lifted exon by exon; None unless every exon maps to one chromosome and strand unchanged
    in length (a transcript split by the chain, or with an exon across a gap, is left out)."""
    chrom = str(row["chrom"])
    starts = [int(x) for x in str(row["exonStarts"]).strip(",").split(",")]
    ends = [int(x) for x in str(row["exonEnds"]).strip(",").split(",")]
    lifted = []
    orientation = None
    for start0, end in zip(starts, ends, strict=True):
        span = lift(chrom, start0 + 1, end)
        direction = strand_of(chrom, start0 + 1)
        if span is None or direction is None or span[2] - span[1] != end - start0 - 1:
            return None
        if orientation not in (None, (span[0], direction)):
            return None
        orientation = (span[0], direction)
        lifted.append((span[1] - 1, span[2]))
    assert orientation is not None
    target_chrom, direction = orientation
    flip = direction == "-"
    exons = sorted(lifted)
    if not flip and any(b[0] < a[1] for a, b in zip(lifted, lifted[1:], strict=False)):
        return None  # exons out of order after lifting: rearranged in the target build
    cds_start, cds_end = int(row["cdsStart"]), int(row["cdsEnd"])
    tx_end = int(row["txEnd"])
    coding = cds_end > cds_start and not (cds_start == cds_end == tx_end)
    if coding:
        first, last = lift(chrom, cds_start + 1, cds_start + 1), lift(chrom, cds_end, cds_end)
        if first is None or last is None:
            return None
        new_start, new_end = sorted((first[1], last[1]))
        new_cds = (new_start - 1, new_end)
    else:
        new_cds = (exons[-1][1], exons[-1][1])
    strand = str(row["strand"])
    if flip:
        strand = "-" if strand == "+" else "+"
    return {**row, "chrom": ucsc_chrom(target_chrom), "strand": strand, "txStart": exons[0][0], "txEnd": exons[-1][1],
            "cdsStart": new_cds[0], "cdsEnd": new_cds[1], "exonCount": len(exons),
            "exonStarts": "".join(f"{s}," for s, _ in exons), "exonEnds": "".join(f"{e}," for _, e in exons)}


def convert_mane_grch37(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """MANE Select lifted to GRCh37 with the UCSC hg38ToHg19 chain (read by gmc's own chain reader)."""
    chain_map = hook("gmc.genomics.liftover:ChainMap")(downloads["chain"])
    rows = mane_rows(downloads["gtf"], downloads["summary"], refset)

    def strand_of(chrom: str, pos: int) -> str | None:
        found = chain_map.lift_position(chrom, pos)
        return found.strand if found else None

    lifted = [r for r in (lift_genepred_row(row, chain_map.lift_interval, strand_of) for row in rows) if r]
    count = write_genepred(_out(out, "grch37/mane_select.genepred.tsv.gz"), MANE_COLUMNS, lifted)
    ctx.note(f"{count:,} of {len(rows):,} MANE Select transcripts lifted to GRCh37")
    return {"grch37/mane_select.genepred.tsv.gz": ["gtf", "summary", "chain"]}


def convert_ensembl(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """Ensembl protein-coding and NMD transcripts from the Ensembl GTF, named by transcript name (BRCA1-203)."""
    source = refset.source("gtf")
    wanted = {"protein_coding", "nonsense_mediated_decay"}
    transcripts, build = read_gtf(downloads["gtf"], source,
                                  lambda attributes, tags: attributes.get("transcript_biotype") in wanted)
    if build and not build.startswith(refset.build or "GRCh38"):
        raise _wrong(source, downloads["gtf"], f"the GTF is for {build}, not {refset.build}",
                     "use the Ensembl GTF of the right build")
    rows = [{"name": tx.attributes.get("transcript_name") or tx.versioned("transcript"), **genepred_fields(tx),
             "gene": tx.attributes.get("gene_name", ""), "biotype": tx.attributes.get("transcript_biotype", "")}
            for tx in transcripts.values()]
    count = write_genepred(_out(out, "grch38/ensembl110_protein_coding.genepred.tsv.gz"), ENSEMBL_COLUMNS, rows)
    ctx.note(f"{count:,} Ensembl transcripts")
    return {"grch38/ensembl110_protein_coding.genepred.tsv.gz": ["gtf"]}


# ----------------------------------------------------------------------------- gene names (org.Hs.eg.db)

GENE_INFO_COLUMNS = ("entrez_id", "symbol", "name", "gene_type", "chromosome", "cytoband", "grch38_chrom",
                     "grch38_start", "grch38_end", "strand", "ensembl_gene", "omim_gene_or_pheno_mim", "uniprot",
                     "aliases")


def convert_gene_names(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """NCBI gene rows from the SQLite database inside Bioconductor's org.Hs.eg.db package."""
    source = refset.source("orgdb")
    relative = refset.files[0]
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        database = _extract_member(downloads["orgdb"], source, r"(^|/)inst/extdata/org\.Hs\.eg\.sqlite$",
                                   Path(scratch))
        try:
            rows = list(orgdb_rows(database))
        except sqlite3.DatabaseError as error:
            raise _wrong(source, downloads["orgdb"], f"its SQLite database cannot be read as org.Hs.eg.db ({error})") \
                from None
    with gzip_write(_out(out, relative)) as handle:
        handle.write("#" + "\t".join(GENE_INFO_COLUMNS) + "\n")
        for row in rows:
            handle.write("\t".join(row) + "\n")
    ctx.note(f"{len(rows):,} NCBI genes")
    return {relative: ["orgdb"]}


def orgdb_rows(database: Path) -> Iterator[tuple[str, ...]]:
    """One row per gene of an org.Hs.eg.db SQLite: symbol, name, type, place, 0-based GRCh38 span and ids."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        def many(table: str, column: str) -> dict[int, list[str]]:
            found: dict[int, list[str]] = {}
            for key, value in connection.execute(f"SELECT _id, {column} FROM {table} ORDER BY rowid"):  # noqa: S608
                if value not in found.setdefault(key, []):
                    found[key].append(str(value))
            return found

        chromosome = many("chromosomes", "chromosome")
        cytoband = many("cytogenetic_locations", "cytogenetic_location")
        ensembl, omim, uniprot, alias = (many("ensembl", "ensembl_id"), many("omim", "omim_id"),
                                         many("uniprot", "uniprot_id"), many("alias", "alias_symbol"))
        types = many("genetype", "gene_type")
        locations: dict[int, list[tuple[str, int, int]]] = {}
        for key, seqname, start, end in connection.execute(
                "SELECT _id, seqname, start_location, end_location FROM chromosome_locations ORDER BY rowid"):
            locations.setdefault(key, []).append((str(seqname), int(start), int(end)))
        for key, gene_id, symbol, name in connection.execute(
                "SELECT g._id, g.gene_id, i.symbol, i.gene_name FROM genes g JOIN gene_info i ON i._id = g._id "
                "ORDER BY CAST(g.gene_id AS INTEGER)"):
            chrom = (chromosome.get(key) or [""])[0]
            place = [p for p in locations.get(key, []) if p[0] == chrom] or [
                p for p in locations.get(key, []) if "_" not in p[0]]
            if place:
                seqname, start, end = place[0]
                span = (seqname, str(abs(start) - 1), str(abs(end)), "-" if start < 0 else "+")
            else:
                span = ("", "", "", "")
            yield (str(gene_id), symbol, name, (types.get(key) or [""])[0], chrom, "|".join(cytoband.get(key, [])),
                   *span, "|".join(ensembl.get(key, [])), "|".join(omim.get(key, [])),
                   "|".join(uniprot.get(key, [])), "|".join(alias.get(key, [])))
    finally:
        connection.close()


def _extract_member(archive: Path, source: Source, pattern: str, folder: Path) -> Path:
    """The one member of a tar or zip archive whose name matches pattern, extracted into folder."""
    wanted = re.compile(pattern)
    target = folder / "member"
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as bundle:
                names = [n for n in bundle.namelist() if wanted.search(n)]
                if names:
                    with bundle.open(names[0]) as reader, target.open("wb") as writer:
                        shutil.copyfileobj(reader, writer, 1 << 20)
                    return target
        else:
            with tarfile.open(archive) as bundle:
                for member in bundle:
                    if member.isfile() and wanted.search(member.name):
                        reader = bundle.extractfile(member)
                        assert reader is not None
                        with reader, target.open("wb") as writer:
                            shutil.copyfileobj(reader, writer, 1 << 20)
                        return target
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        if isinstance(error, OSError) and error.errno is not None:
            raise
        raise _wrong(source, archive, f"not a readable archive ({error})") from None
    raise _wrong(source, archive, f"the archive has no member matching {pattern}")


# ----------------------------------------------------------------------------- ClinVar


#: ClinVar classifications and review statuses gmc keeps: P/LP with two or more stars.
CLINVAR_SIGNIFICANCE = {"Pathogenic", "Likely_pathogenic", "Pathogenic/Likely_pathogenic"}
CLINVAR_REVIEW = {"criteria_provided,_multiple_submitters,_no_conflicts", "reviewed_by_expert_panel",
                  "practice_guideline"}


def clinvar_keeps(info: str) -> bool:
    """True for a ClinVar record whose classification is P/LP and whose review has two stars or more."""
    fields = dict(item.split("=", 1) for item in info.split(";") if "=" in item)
    significance = fields.get("CLNSIG", "").split("|")[0]
    return significance in CLINVAR_SIGNIFICANCE and fields.get("CLNREVSTAT", "") in CLINVAR_REVIEW


def convert_clinvar(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """ClinVar P/LP variants with two or more stars, bgzipped and tabix-indexed, named by the file's date."""
    import pysam

    source = refset.source("vcf")
    path = downloads["vcf"]
    header: list[str] = []
    reference = file_date = ""
    kept = total = 0
    with tempfile.NamedTemporaryFile("w", dir=out, suffix=".vcf", delete=False, encoding="utf-8") as plain:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith("##"):
                    if line.startswith("##reference="):
                        reference = line.split("=", 1)[1].strip()
                    elif line.startswith("##fileDate="):
                        file_date = line.split("=", 1)[1].strip()
                    header.append(line)
                    continue
                if line.startswith("#CHROM"):
                    if not file_date:
                        raise _wrong(source, path, "no ##fileDate header: not a ClinVar VCF")
                    if refset.build and reference and reference != refset.build:
                        raise _wrong(source, path, f"it is the {reference} ClinVar VCF (##reference={reference}), "
                                                   f"not {refset.build}",
                                     f"fetch the {refset.build} file (vcf_{refset.build}/) or use --build {reference}")
                    plain.writelines(header)
                    plain.write("##gmc_subset=CLNSIG Pathogenic, Likely_pathogenic or Pathogenic/Likely_pathogenic; "
                                "CLNREVSTAT two stars or more (gmc refdata)\n")
                    plain.write(line)
                    continue
                fields = line.split("\t", 8)
                if len(fields) < 8:
                    raise _wrong(source, path, f"line {number} has {len(fields)} columns, a VCF record has 8 or more")
                total += 1
                if clinvar_keeps(fields[7]):
                    plain.write(line)
                    kept += 1
    if not kept:
        os.unlink(plain.name)
        raise _wrong(source, path, f"none of its {total:,} records is P/LP with two stars or more")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", source.release) and file_date != source.release:
        os.unlink(plain.name)
        raise _wrong(source, path, f"it is the ClinVar release of {file_date}, not {source.release}")
    ctx.releases["vcf"] = file_date
    release = file_date.replace("-", "")
    relative = f"grch38/clinvar_{release}_PLP_multi-submitter_GRCh38.vcf.gz"
    target = _out(out, relative)
    pysam.tabix_compress(plain.name, str(target), force=True)
    os.unlink(plain.name)
    pysam.tabix_index(str(target), preset="vcf", force=True)
    ctx.note(f"{kept:,} of {total:,} ClinVar records kept (P/LP, two stars or more)")
    return {relative: ["vcf"], relative + ".tbi": ["vcf"]}


# ----------------------------------------------------------------------------- gnomAD constraint

#: gmc's constraint CSV column <- gnomAD v4.1 constraint_metrics.tsv column.
CONSTRAINT_COLUMNS = (("Ensembl_gene_id", "gene_id"), ("Ensembl_transcript_id", "transcript"),
                      ("Gnomad_oe_lof_score", "lof.oe"), ("Gnomad_oe_ci_lower", "lof.oe_ci.lower"),
                      ("Gnomad_oe_ci_upper", "lof.oe_ci.upper"), ("Gnomad_pLI_score", "lof.pLI"),
                      ("Gnomad_pnull_score", "lof.pNull"), ("Gnomad_prec_score", "lof.pRec"),
                      ("Gnomad_oe_mis_score", "mis.oe"), ("Gnomad_mis_z_score", "mis.z_score"))


def convert_constraint(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """gnomAD constraint of each MANE Select transcript, one row per Ensembl gene, as gmc's CSV."""
    source = refset.source("tsv")
    relative = refset.files[0]
    with open_text(downloads["tsv"]) as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        needed = {column for _, column in CONSTRAINT_COLUMNS} | {"mane_select"}
        missing = needed - set(reader.fieldnames or ())
        if missing:
            raise _wrong(source, downloads["tsv"], f"columns {', '.join(sorted(missing))} are missing: not the "
                                                   "gnomAD v4 constraint_metrics.tsv")
        seen: set[str] = set()
        with _out(out, relative).open("w", newline="", encoding="utf-8") as target:
            writer = csv.writer(target, lineterminator="\n")
            writer.writerow([name for name, _ in CONSTRAINT_COLUMNS])
            for row in reader:
                gene = row["gene_id"].split(".")[0]
                if row["mane_select"].lower() != "true" or not gene.startswith("ENSG") or gene in seen:
                    continue
                seen.add(gene)
                values = [row[column] for _, column in CONSTRAINT_COLUMNS]
                values[0], values[1] = gene, row["transcript"].split(".")[0]
                writer.writerow(["" if v == "NA" else v for v in values])
    ctx.note(f"{len(seen):,} genes with MANE Select constraint")
    return {relative: ["tsv"]}


# ----------------------------------------------------------------------------- ClinGen

_CLINGEN_DATE = re.compile(r"^#\s*(\d{1,2}) ([A-Za-z]{3})[a-z]*,\s*(\d{4})")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), start=1)}


def clingen_date(path: Path) -> str | None:
    """The curation date a ClinGen gene list states in its header ("#06 Feb,2026" -> 2026-02-06)."""
    with open_text(path) as handle:
        for line in handle:
            if not line.startswith("#"):
                return None
            match = _CLINGEN_DATE.match(line)
            if match and match.group(2).title() in _MONTHS:
                return f"{match.group(3)}-{_MONTHS[match.group(2).title()]:02d}-{int(match.group(1)):02d}"
    return None


def convert_clingen(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """The ClinGen gene curation list as published, named by the date in its header."""
    source = refset.source("tsv")
    date = clingen_date(downloads["tsv"])
    if date is None:
        raise _wrong(source, downloads["tsv"], "no curation date in its header: not the ClinGen gene curation list")
    relative = f"clingen/ClinGen_gene_curation_list_GRCh38_{date}.tsv"
    _link_or_copy(downloads["tsv"], _out(out, relative))
    ctx.releases["tsv"] = date
    return {relative: ["tsv"]}


# ----------------------------------------------------------------------------- PanelApp

PANELAPP_COLUMNS = ("id", "mode_of_inheritance", "Gene", "confidence_level", "name", "disease_group",
                    "disease_sub_group", "status")


def convert_panelapp(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """PanelApp's panels and their genes (saved API pages) as gmc's panel table: one row per panel and gene."""
    source = refset.source("api")
    folder = ctx.pages["api"]
    core, names = "panelapp/PanelAppRex_PanelAppData_combined_core.tsv", \
        "panelapp/PanelAppRex_PanelAppData_combined_meta_names.tsv"
    panels = []
    for path in sorted(folder.glob("panel-*.json"), key=lambda p: int(p.stem.split("-")[1])):
        try:
            panels.append(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as error:
            raise _wrong(source, path, f"not JSON ({error})") from None
    if not panels:
        raise _wrong(source, folder, "no panels were listed")
    rows = 0
    with _out(out, core).open("w", newline="", encoding="utf-8") as core_file, \
            _out(out, names).open("w", newline="", encoding="utf-8") as names_file:
        core_writer = csv.writer(core_file, delimiter="\t", lineterminator="\n")
        names_writer = csv.writer(names_file, delimiter="\t", lineterminator="\n")
        core_writer.writerow(PANELAPP_COLUMNS)
        names_writer.writerow(("panel_id", "name"))
        for panel in panels:
            if "genes" not in panel or "id" not in panel:
                raise _wrong(source, folder, f"panel {panel.get('id', '?')} has no genes list: not a PanelApp v1 "
                                             "panel")
            names_writer.writerow((panel["id"], panel.get("name", "")))
            for gene in panel["genes"]:
                symbol = (gene.get("gene_data") or {}).get("gene_symbol") or gene.get("entity_name", "")
                core_writer.writerow((panel["id"], gene.get("mode_of_inheritance", ""), symbol,
                                      gene.get("confidence_level", ""), panel.get("name", ""),
                                      panel.get("disease_group", ""), panel.get("disease_sub_group", ""),
                                      panel.get("status", "")))
                rows += 1
    ctx.note(f"{len(panels):,} panels, {rows:,} panel genes")
    return {core: ["api"], names: ["api"]}


# ----------------------------------------------------------------------------- cancer knowledge


def convert_cancer(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """Cancer sources as published, except the hotspot table's old Mac line ends (CR -> LF) and IntOGen's zip."""
    outputs: Outputs = {}
    for key, relative in refset.layout:
        target = _out(out, relative)
        if key == "hotspots":
            data = downloads[key].read_bytes()
            target.write_bytes(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        elif key == "intogen":
            with tempfile.TemporaryDirectory(dir=out) as scratch:
                member = _extract_member(downloads[key], refset.source(key), r"(^|/)Compendium_Cancer_Genes\.tsv$",
                                         Path(scratch))
                shutil.move(member, target)
        else:
            _link_or_copy(downloads[key], target)
        outputs[relative] = [key]
    return outputs


# ----------------------------------------------------------------------------- genome sequence

#: Length of chromosome 1 in each build: tells a FASTA's build.
CHR1_LENGTH = {"GRCh38": 248_956_422, "GRCh37": 249_250_621}


def convert_genome(refset: RefSet, downloads: dict[str, Path], out: Path, ctx: Context) -> Outputs:
    """A genome FASTA recompressed with BGZF and indexed (.fai, .gzi), checked to be of the set's build."""
    import pysam

    source = refset.source("fasta")
    name = Path(source.url).name
    stem = re.sub(r"\.(fna|fasta|fa)(\.gz)?$", "", name)
    relative = f"{(refset.build or 'GRCh38').lower()}/sequence/{stem}.fa.gz"
    target = _out(out, relative)
    with open_text(downloads["fasta"]) as reader:
        first = reader.read(1)
        if first != ">":
            raise _wrong(source, downloads["fasta"], "not a FASTA file (it does not start with >)")
        with pysam.BGZFile(str(target), "wb") as writer:
            writer.write(first.encode())
            while block := reader.read(1 << 20):
                writer.write(block.encode())
    pysam.faidx(str(target))
    lengths = {}
    with open(str(target) + ".fai", encoding="utf-8") as index:
        for line in index:
            contig, length = line.split("\t")[:2]
            lengths[contig.removeprefix("chr")] = int(length)
    chr1 = lengths.get("1")
    expected = CHR1_LENGTH.get(refset.build or "GRCh38")
    if chr1 is not None and chr1 != expected:
        other = next((b for b, n in CHR1_LENGTH.items() if n == chr1), "another build")
        raise _wrong(source, downloads["fasta"], f"chromosome 1 is {chr1:,} bases long, so it is {other}, not "
                                                 f"{refset.build}", f"fetch the {refset.build} FASTA")
    ctx.note(f"{len(lengths):,} sequences indexed")
    return {relative: ["fasta"], relative + ".fai": ["fasta"], relative + ".gzi": ["fasta"]}


CONVERTERS: dict[str, Callable[[RefSet, dict[str, Path], Path, Context], Outputs]] = {
    "copy": convert_copy, "hpo": convert_hpo, "mane": convert_mane, "mane_grch37": convert_mane_grch37,
    "ensembl": convert_ensembl, "gene_names": convert_gene_names, "clinvar": convert_clinvar,
    "constraint": convert_constraint, "clingen": convert_clingen, "panelapp": convert_panelapp,
    "cancer": convert_cancer, "genome": convert_genome,
}


def hook(reference: str) -> Callable:
    """A gmc reader named "module:function" in the catalogue, imported only when a fetch runs."""
    import importlib

    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)
