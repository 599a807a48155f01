"""Reference-data fetch tests: a loopback HTTP server and small files in each source's published format.

The files are written here from the shared reference data (a few genes' worth), in the form their publishers
put them online: GENCODE/Ensembl GTF, ClinVar's VCF with its .md5, gnomAD's constraint TSV, PanelApp's REST
pages, the org.Hs.eg.db package tarball, IntOGen's zip, the cancer files at their pinned Git commits (the real
bytes, so the pinned SHA-256 values are checked for real). They are laid out as a mirror (<host>/<path>) and
served by Python's http.server on 127.0.0.1, which honours Range requests and can be told to cut a download
short or to claim a size.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import os
import sqlite3
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from gmc.refdata.catalogue import (
    CANCER,
    CLINGEN,
    CLINVAR,
    CONSTRAINT,
    ENSEMBL,
    GENE_NAMES,
    GENOME,
    HPO,
    LIFTOVER,
    PANELAPP,
    TRANSCRIPTS,
)
from gmc.refdata.transfer import mirror_path

#: Genes whose transcripts, constraint, ClinGen rows and ClinVar variants the published files carry.
GENES = ("BRCA1", "TP53", "CFTR", "BRAF", "SDHD", "OR4F5")
#: HPO terms (with every ancestor) the OBO subsets keep.
HPO_TERMS = ("HP:0001250", "HP:0001263", "HP:0000252", "HP:0001166", "HP:0004322")


# ----------------------------------------------------------------------------- the loopback server


@dataclass
class ServerState:
    """What the test server does: its root, faults to inject, and the requests it saw."""

    root: Path
    #: path -> bytes of each response's body after which the connection is cut (while set).
    cut_after: dict[str, int] = field(default_factory=dict)
    #: path -> a Content-Length to claim instead of the real one.
    claim_length: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = unquote(urlsplit(self.path).path).lstrip("/")
        self.state.requests.append((path, self.headers.get("Range")))
        file = self.state.root / path
        if not file.is_file():
            self.send_error(404)
            return
        data = file.read_bytes()
        start = 0
        status = 200
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and ranged.endswith("-"):
            start = int(ranged[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(self.state.claim_length.get(path, len(body))))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"' + hashlib.md5(data).hexdigest() + '"')  # noqa: S324 - an ETag
        self.end_headers()
        cut = self.state.cut_after.get(path)
        if cut is not None and cut < len(body):
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@dataclass
class Loopback:
    """A running loopback server: its base URL and state."""

    url: str
    state: ServerState

    def ranges_for(self, suffix: str) -> list[str | None]:
        """The Range headers of the requests for paths ending in suffix."""
        return [r for p, r in self.state.requests if p.endswith(suffix)]


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[Loopback]:
    """http.server on a free 127.0.0.1 port serving tmp_path/served (the test writes the files)."""
    root = tmp_path / "served"
    root.mkdir()
    state = ServerState(root)
    handler = type("Handler", (_Handler,), {"state": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Loopback(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------- published files


def _gz(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
        return header, [dict(zip(header, line.rstrip("\n").split("\t"), strict=False)) for line in handle]


def obo_subset(text: str, keep: tuple[str, ...]) -> str:
    """The OBO header and the [Term] stanzas of the kept terms and all their ancestors."""
    head, _, body = text.partition("\n[")
    stanzas = {}
    for block in ("[" + body).split("\n\n"):
        lines = block.strip().splitlines()
        if lines and lines[0] == "[Term]":
            term_id = next(line[4:] for line in lines if line.startswith("id: "))
            parents = [line[6:].split("!")[0].strip() for line in lines if line.startswith("is_a: ")]
            stanzas[term_id] = ("\n".join(lines), parents)
    wanted, queue = set(), list(keep)
    while queue:
        term = queue.pop()
        if term not in wanted and term in stanzas:
            wanted.add(term)
            queue += stanzas[term][1]
    return head + "\n\n" + "\n\n".join(stanzas[t][0] for t in sorted(wanted)) + "\n"


def gtf_lines(row: dict[str, str], *, gencode: bool) -> list[str]:
    """GTF lines of one genePred transcript as GENCODE (MANE) or Ensembl write them: transcript, exons, CDS
    without the stop codon, and the stop codon."""
    chrom = row["chrom"] if gencode else row["chrom"].removeprefix("chr").replace("M", "MT")
    strand = row["strand"]
    starts = [int(x) for x in row["exonStarts"].strip(",").split(",")]
    ends = [int(x) for x in row["exonEnds"].strip(",").split(",")]
    cds_start, cds_end = int(row["cdsStart"]), int(row["cdsEnd"])
    if gencode:
        ids = (f'gene_id "{row["gene_id"]}"; transcript_id "{row["name"]}"; gene_type "protein_coding"; '
               f'gene_name "{row["gene"]}"; transcript_type "protein_coding"; transcript_name "{row["ensembl_tx_name"]}";')
        tags = ' tag "basic"; tag "Ensembl_canonical"; tag "MANE_Select";'
        protein = f' protein_id "{row["ensp"]}";'
    else:
        ids = (f'gene_id "ENSG_{row["gene"]}"; gene_version "1"; transcript_id "ENST_{row["name"]}"; '
               f'transcript_version "1"; gene_name "{row["gene"]}"; transcript_name "{row["name"]}"; '
               f'transcript_biotype "{row["biotype"]}";')
        tags = ' tag "basic";'
        protein = ""
    lines = [f"{chrom}\tENSEMBL\ttranscript\t{starts[0] + 1}\t{ends[-1]}\t.\t{strand}\t.\t{ids}{tags}"]
    coding = [(max(s, cds_start), min(e, cds_end)) for s, e in zip(starts, ends, strict=True)
              if min(e, cds_end) > max(s, cds_start)]
    # The stop codon is the last three coding bases in transcript order.
    stop: list[tuple[int, int]] = []
    remaining = 3 if cds_end > cds_start else 0
    ordered = coding if strand == "-" else list(reversed(coding))
    trimmed = []
    for s, e in ordered:
        take = min(remaining, e - s)
        remaining -= take
        if take:
            if strand == "-":
                stop.append((s, s + take))
                s += take
            else:
                stop.append((e - take, e))
                e -= take
        if e > s:
            trimmed.append((s, e))
    for number, (s, e) in enumerate(zip(starts, ends, strict=True), start=1):
        lines.append(f"{chrom}\tENSEMBL\texon\t{s + 1}\t{e}\t.\t{strand}\t.\t{ids} exon_number \"{number}\";{tags}")
    for s, e in sorted(trimmed):
        lines.append(f"{chrom}\tENSEMBL\tCDS\t{s + 1}\t{e}\t.\t{strand}\t0\t{ids}{protein}{tags}")
    for s, e in sorted(stop):
        lines.append(f"{chrom}\tENSEMBL\tstop_codon\t{s + 1}\t{e}\t.\t{strand}\t0\t{ids}{tags}")
    return lines


def clinvar_vcf(records: list[str], *, reference: str = "GRCh38", date: str = "2024-12-15") -> bytes:
    """A VCF with ClinVar's published header lines and the given records."""
    header = ["##fileformat=VCFv4.1", f"##fileDate={date}", "##source=ClinVar", f"##reference={reference}",
              '##ID=<Description="ClinVar Variation ID">',
              '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="Aggregate germline classification for this '
              'single variant; multiple values are separated by a vertical bar">',
              '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="ClinVar review status of germline '
              'classification for the Variation ID">',
              '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Gene(s) for the variant reported as gene '
              'symbol:gene id">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    return _gz(("\n".join(header + records) + "\n").encode())


class Published:
    """Writes the published files of each source into a mirror folder (host/path), from the shared data."""

    #: Test modules cannot import conftest (importlib mode): they reach these through the fixture.
    genes = GENES

    def __init__(self, refdata: Path, mirror: Path) -> None:
        self.refdata = refdata
        self.mirror = mirror
        self.written: dict[str, bytes] = {}

    @staticmethod
    def sha256(path: Path) -> str:
        """SHA-256 of a file."""
        return hashlib.sha256(path.read_bytes()).hexdigest()

    @staticmethod
    def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
        """Header and rows of a (gzipped) TSV with a #-prefixed header."""
        return _rows(path)

    def put(self, url: str, data: bytes) -> Path:
        """Places bytes at a URL's mirror path."""
        path = self.mirror / mirror_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.written[url] = data
        return path

    def put_md5(self, checksum_url: str, url: str, data: bytes, *, listing: bool = True) -> None:
        """The publisher's md5 list (or single .md5 file) for a download."""
        line = f"{hashlib.md5(data).hexdigest()}  {'./' if listing else ''}{Path(url).name}\n"  # noqa: S324
        path = self.mirror / mirror_path(checksum_url)
        previous = path.read_text() if path.exists() else ""
        self.put(checksum_url, (previous + line).encode())

    # ------------------------------------------------------------------ sources

    def hpo(self) -> None:
        """HPO release assets: OBO subsets with every ancestor, and the first rows of the annotation files."""
        for key in ("obo", "obo_newer"):
            source = HPO.source(key)
            name = "hpo/hpo_2025-01-16_hp.obo.gz" if key == "obo" else "hpo/hp_2026-02-16.obo.gz"
            self.put(source.url, obo_subset(gzip.open(self.refdata / name, "rt").read(), HPO_TERMS).encode())
        for key, name in (("hpoa", "hpo/hpo_2025-01-16_phenotype.hpoa.gz"),
                          ("genes_to_phenotype", "hpo/hpo_2025-01-16_genes_to_phenotype.txt.gz")):
            with gzip.open(self.refdata / name, "rt") as handle:
                self.put(HPO.source(key).url, "".join(line for _, line in zip(range(300), handle, strict=False)).encode())

    def transcripts(self) -> list[dict[str, str]]:
        """The MANE summary rows and MANE GTF of GENES; returns their genePred rows."""
        header, summary = _rows(self.refdata / "grch38" / "MANE.GRCh38.v1.5.summary.txt.gz")
        _, models = _rows(self.refdata / "grch38" / "mane_select.genepred.tsv.gz")
        chosen = [r for r in models if r["gene"] in GENES]
        names = {r["name"] for r in chosen}
        lines = ["#" + "\t".join(header)] + ["\t".join(r[c] for c in header) for r in summary
                                              if r["Ensembl_nuc"] in names]
        summary_bytes = _gz(("\n".join(lines) + "\n").encode())
        gtf = "\n".join(["#provider: GENCODE"] + [line for r in chosen for line in gtf_lines(r, gencode=True)]) + "\n"
        for key, data in (("summary", summary_bytes), ("gtf", _gz(gtf.encode()))):
            source = TRANSCRIPTS.source(key)
            self.put(source.url, data)
            self.put_md5(source.checksum_url, source.url, data)
        return chosen

    def ensembl(self) -> list[dict[str, str]]:
        """An Ensembl GTF (unversioned ids, chromosome names without chr) of TP53's and BRAF's transcripts."""
        _, models = _rows(self.refdata / "grch38" / "ensembl110_protein_coding.genepred.tsv.gz")
        chosen = [r for r in models if r["gene"] in ("TP53", "BRAF")]
        text = "#!genome-build GRCh38.p14\n#!genome-version GRCh38\n" + "\n".join(
            line for r in chosen for line in gtf_lines(r, gencode=False)) + "\n"
        data = _gz(text.encode())
        source = ENSEMBL.source("gtf")
        self.put(source.url, data)
        from gmc.refdata.transfer import bsd_sum

        path = self.mirror / mirror_path(source.url)
        checksum, blocks = bsd_sum(path)
        self.put(source.checksum_url, f"{checksum} {blocks} {Path(source.url).name}\n".encode())
        return chosen

    def liftover(self) -> None:
        """The UCSC chains with UCSC's md5sum.txt."""
        for key in ("hg19ToHg38", "hg38ToHg19"):
            source = LIFTOVER.source(key)
            data = (self.refdata / "liftover" / f"{key}.over.chain.gz").read_bytes()
            self.put(source.url, data)
            self.put_md5(source.checksum_url, source.url, data, listing=False)

    def clinvar(self, *, reference: str = "GRCh38", damaged: bool = False) -> list[str]:
        """ClinVar's VCF (first records of the shared subset, two turned into records gmc leaves out) and .md5."""
        with gzip.open(self.refdata / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz", "rt") as handle:
            kept = [line.rstrip("\n") for line in handle if not line.startswith("#")][:40]
        left_out = [kept[0].replace("CLNSIG=Pathogenic/Likely_pathogenic", "CLNSIG=Uncertain_significance"),
                    kept[1].replace("criteria_provided,_multiple_submitters,_no_conflicts",
                                    "criteria_provided,_single_submitter")]
        data = clinvar_vcf(left_out + kept[2:], reference=reference)
        source = CLINVAR.source("vcf")
        self.put_md5(source.checksum_url, source.url, data, listing=False)
        if damaged:
            data = data[:-10] + bytes(10)
        self.put(source.url, data)
        return kept[2:]

    def constraint(self) -> list[list[str]]:
        """gnomAD's constraint TSV: the MANE Select row of each gene and a non-MANE transcript row to leave out."""
        with (self.refdata / "constraint" / "gnomad_v4.1_constraint_mane_select.csv").open() as handle:
            import csv

            rows = list(csv.reader(handle))
        kept = rows[1:40]
        columns = ["gene", "gene_id", "transcript", "canonical", "mane_select", "lof.obs", "lof.exp", "lof.oe",
                   "lof.oe_ci.lower", "lof.oe_ci.upper", "lof.pLI", "lof.pNull", "lof.pRec", "mis.oe", "mis.z_score"]
        lines = ["\t".join(columns)]
        for row in kept:
            gene_id, transcript, oe, lower, upper, pli, pnull, prec, mis_oe, mis_z = row
            lines.append("\t".join(["G", gene_id, transcript, "true", "true", "3", "9.5", oe, lower, upper, pli, pnull,
                                    prec, mis_oe, mis_z]))
            lines.append("\t".join(["G", gene_id, "ENST99999999999", "false", "false", "1", "2", "0.5", "0.1", "0.9",
                                    "0.1", "0.1", "0.8", "1.0", "0.0"]))
        self.put(CONSTRAINT.source("tsv").url, ("\n".join(lines) + "\n").encode())
        return [rows[0]] + kept

    def clingen(self, lines: int = 80) -> str:
        """ClinGen's gene curation list (its header and first genes, as published)."""
        text = (self.refdata / "clingen" / "ClinGen_gene_curation_list_GRCh38_2026-02-06.tsv").read_text()
        subset = "".join(text.splitlines(keepends=True)[:lines])
        self.put(CLINGEN.source("tsv").url, subset.encode())
        return subset

    def panelapp(self, panel_ids: tuple[str, ...] = ("1", "3", "9")) -> None:
        """PanelApp API v1 pages: the panel list over two pages and each panel with its genes."""
        import csv

        with (self.refdata / "panelapp" / "PanelAppRex_PanelAppData_combined_core.tsv").open() as handle:
            rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["id"] in panel_ids]
        base = PANELAPP.source("api").url
        panels = {}
        for row in rows:
            panel = panels.setdefault(row["id"], {
                "id": int(row["id"]), "name": row["name"], "disease_group": row["disease_group"],
                "disease_sub_group": row["disease_sub_group"], "status": row["status"], "version": "1.0",
                "genes": []})
            panel["genes"].append({"entity_type": "gene", "entity_name": row["Gene"],
                                   "gene_data": {"gene_symbol": row["Gene"]}, "confidence_level": row["confidence_level"],
                                   "mode_of_inheritance": row["mode_of_inheritance"]})
        listed = [{k: v for k, v in p.items() if k != "genes"} for p in panels.values()]
        self.put(base, json.dumps({"count": len(listed), "next": base + "?page=2", "previous": None,
                                   "results": listed[:1]}).encode())
        self.put(base + "?page=2", json.dumps({"count": len(listed), "next": None, "previous": base,
                                               "results": listed[1:]}).encode())
        for panel_id, panel in panels.items():
            self.put(f"{base}{panel_id}/", json.dumps(panel).encode())

    def gene_names(self) -> list[list[str]]:
        """Bioconductor's org.Hs.eg.db tarball, its SQLite written (org.*.eg.db schema) from the shared rows."""
        with gzip.open(self.refdata / "ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz", "rt") as handle:
            lines = [line.rstrip("\n").split("\t") for line in handle]
        chosen = [r for r in lines[1:] if r[1] in GENES]
        database = self.mirror.parent / "org.Hs.eg.sqlite"
        database.unlink(missing_ok=True)
        connection = sqlite3.connect(database)
        tables = {"genes": "_id INTEGER PRIMARY KEY, gene_id TEXT", "gene_info": "_id INTEGER, gene_name TEXT, symbol TEXT",
                  "genetype": "_id INTEGER, gene_type TEXT", "chromosomes": "_id INTEGER, chromosome TEXT",
                  "cytogenetic_locations": "_id INTEGER, cytogenetic_location TEXT",
                  "chromosome_locations": "_id INTEGER, seqname TEXT, start_location INTEGER, end_location INTEGER",
                  "ensembl": "_id INTEGER, ensembl_id TEXT", "omim": "_id INTEGER, omim_id TEXT",
                  "uniprot": "_id INTEGER, uniprot_id TEXT", "alias": "_id INTEGER, alias_symbol TEXT"}
        for table, columns in tables.items():
            connection.execute(f"CREATE TABLE {table} ({columns})")
        for key, row in enumerate(chosen, start=1):
            (entrez, symbol, name, gene_type, chromosome, cytoband, chrom, start, end, strand, ensembl, omim, uniprot,
             aliases) = row
            connection.execute("INSERT INTO genes VALUES (?, ?)", (key, entrez))
            connection.execute("INSERT INTO gene_info VALUES (?, ?, ?)", (key, name, symbol))
            connection.execute("INSERT INTO genetype VALUES (?, ?)", (key, gene_type))
            connection.execute("INSERT INTO chromosomes VALUES (?, ?)", (key, chromosome))
            for value in cytoband.split("|") if cytoband else []:
                connection.execute("INSERT INTO cytogenetic_locations VALUES (?, ?)", (key, value))
            if start:
                sign = -1 if strand == "-" else 1
                connection.execute("INSERT INTO chromosome_locations VALUES (?, ?, ?, ?)",
                                   (key, chrom, sign * (int(start) + 1), sign * int(end)))
            for table, values in (("ensembl", ensembl), ("omim", omim), ("uniprot", uniprot), ("alias", aliases)):
                for value in values.split("|") if values else []:
                    connection.execute(f"INSERT INTO {table} VALUES (?, ?)", (key, value))
        connection.commit()
        connection.close()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
            bundle.add(database, arcname="org.Hs.eg.db/inst/extdata/org.Hs.eg.sqlite")
        self.put(GENE_NAMES.source("orgdb").url, buffer.getvalue())
        return [lines[0]] + chosen

    def cancer(self) -> None:
        """The cancer files as published at their pinned commits (the hotspot table with its original CR line
        ends), and IntOGen's release zip."""
        for key, relative in CANCER.layout:
            source = CANCER.source(key)
            data = (self.refdata / relative).read_bytes()
            if key == "hotspots":
                data = data.replace(b"\n", b"\r")
            elif key == "intogen":
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w") as bundle:
                    bundle.writestr("2020-02-02_IntOGen-Drivers-20200213/README.txt", "IntOGen release 2020-02-02\n")
                    bundle.writestr("2020-02-02_IntOGen-Drivers-20200213/Compendium_Cancer_Genes.tsv", data)
                data = buffer.getvalue()
            self.put(source.url, data)

    def genome(self) -> bytes:
        """A gzipped FASTA in NCBI's form: the real mitochondrial sequence from the shared FASTA."""
        import pysam

        with pysam.FastaFile(str(self.refdata / "grch38" / "sequence" / "GRCh38_sparse_Nmasked.fa.gz")) as fasta:
            sequence = fasta.fetch("chrM")
        text = ">chrM  AC:J01415.2  gi|113200490|gb|J01415.2|  LN:16569\n" + "\n".join(
            sequence[i:i + 80] for i in range(0, len(sequence), 80)) + "\n"
        data = _gz(text.encode())
        source = GENOME.source("fasta")
        self.put(source.url, data)
        self.put_md5(source.checksum_url, source.url, data)
        return sequence.encode()

    def every_default(self) -> None:
        """Every source of the sets a bare `gmc refdata fetch` takes (GRCh38)."""
        self.hpo()
        self.liftover()
        self.transcripts()
        self.ensembl()
        self.gene_names()
        self.clinvar()
        self.constraint()
        self.clingen()
        self.panelapp()
        self.cancer()


@pytest.fixture
def published(loopback: Loopback, refdata_dir: Path) -> Published:
    """Published files of the sources, written into the loopback server's folder as a mirror."""
    return Published(refdata_dir, loopback.state.root)


@pytest.fixture
def refdata_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """GMC_REFDATA pointed at an empty folder for one test (settings re-read, caches keyed by path)."""
    from gmc.settings import reset_settings_cache

    target = tmp_path / "refdata"
    monkeypatch.setenv("GMC_REFDATA", str(target))
    monkeypatch.setenv("GMC_DATA_DIR", str(tmp_path / "var"))
    reset_settings_cache()
    yield target
    reset_settings_cache()


def environ_without_shared(**extra: str) -> dict[str, str]:
    """The process environment with GMC_REFDATA and GMC_SHARED removed and extra variables set."""
    env = {k: v for k, v in os.environ.items() if k not in ("GMC_REFDATA", "GMC_SHARED")}
    return {**env, **extra}


@pytest.fixture
def gmc_cli():
    """`gmc_cli(*args, env={...})`: runs the gmc command line in-process with these settings (read afresh)."""
    from typer.testing import CliRunner

    from gmc.cli import app
    from gmc.settings import reset_settings_cache

    def invoke(*args: str, env: dict[str, str]):
        reset_settings_cache()
        try:
            return CliRunner().invoke(app, list(args), env=env)
        finally:
            reset_settings_cache()

    return invoke
