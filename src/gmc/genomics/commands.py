"""Command line for the genome-data core: `gmc annotate` as a standalone annotator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gmc.genomics.annotation.annotate import WithheldCount, annotate_vcf, load_sources
from gmc.genomics.annotation.frequencies import DEFAULT_AF_KEYS, cohort_frequencies
from gmc.genomics.annotation.writers import output_format, write_parquet, write_tsv, write_vcf
from gmc.genomics.vcf import VariantBatch, VcfFormatError, count_header_lines, is_bcf, open_vcf

app = typer.Typer(help="Genome data: annotate VCF/BCF files.")
console = Console(stderr=True, soft_wrap=True)


@app.callback()
def genomics() -> None:
    """Genome data commands (mounted on the gmc command line)."""


#: Larger inputs get a counter, not a bar: counting their lines first would cost a whole extra read.
COUNT_RECORDS_UP_TO_BYTES = 64 * 1024 * 1024


def _record_count(path: Path) -> int | None:
    """Counts data lines of a small text VCF for the progress bar (None for BCF or a large file)."""
    if is_bcf(path) or path.stat().st_size > COUNT_RECORDS_UP_TO_BYTES:
        return None
    import gzip

    opener = gzip.open if path.suffix in (".gz", ".bgz") else open
    try:
        with opener(path, "rb") as handle:
            return sum(1 for _ in handle) - count_header_lines(path)
    except (OSError, EOFError):
        return None  # a damaged file: the reader reports where


@app.command("annotate")
def annotate(
    source: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Input VCF/BCF (plain or bgzipped)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output: .vcf/.vcf.gz/.bcf, .tsv(.gz) or .parquet."),
    fasta: Path | None = typer.Option(
        None, "--fasta", help="Genome FASTA (faidx) for HGVS and codon terms; default: the build's in GMC_REFDATA."
    ),
    no_fasta: bool = typer.Option(
        False, "--no-fasta", help="Annotate without sequence (HGVS that needs it is withheld, with a note)."
    ),
    frequencies: list[Path] = typer.Option(
        [], "--frequencies", help="Sites file(s) with allele frequencies."
    ),
    frequency_key: str = typer.Option("AF", "--frequency-key", help="INFO key/column of the sites files."),
    af_key: list[str] = typer.Option([], "--af-key", help="INFO key(s) of the input holding gnomAD AF."),
    build: str | None = typer.Option(None, "--build", help="GRCh37 or GRCh38 (checked against the header)."),
    transcripts: str = typer.Option("mane", "--transcripts", help="mane (default) or ensembl (GRCh38)."),
    cohort_store: Path | None = typer.Option(
        None, "--cohort-store", file_okay=False, help="Variant store directory: adds the cohort AF."
    ),
) -> None:
    """Annotates a VCF/BCF with consequences, HGVS, ClinVar, constraint and allele frequencies."""
    try:
        fmt = output_format(out)
        reader = open_vcf(source, samples=[], build=build)
        detected = reader.build
        reader.close()
        sources = load_sources(
            detected,
            fasta=False if no_fasta else fasta,
            frequency_files=frequencies,
            af_keys=tuple(af_key) or DEFAULT_AF_KEYS,
            frequency_af_key=frequency_key,
            transcript_source=transcripts,
        )
        cohort = None
        if cohort_store is not None:
            from gmc.genomics.store.queries import VariantStore

            cohort = cohort_frequencies(VariantStore(cohort_store).cohort_af())
        provenance = {**sources.provenance(), "input": source.name}
        if cohort_store is not None:
            provenance["cohort_store"] = f"{cohort_store} ({len(cohort or {})} sites)"
        total = _record_count(source)
        header_lines = 0 if is_bcf(source) else count_header_lines(source)
        with Progress(
            TextColumn("[bold]annotate"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task("records", total=total)
            withheld = WithheldCount()

            def tracked() -> Iterator[tuple[VariantBatch, pa.Table]]:
                """Annotated batches, advancing the progress bar by the file lines they cover."""
                seen = 0
                for batch, table in annotate_vcf(source, sources, cohort=cohort):
                    last = int(batch.line[-1]) if len(batch) else 0
                    done = last - header_lines
                    progress.update(task, completed=max(done, seen))
                    seen = done
                    yield batch, withheld.add(table)

            if fmt == "vcf":
                count = write_vcf(source, tracked(), out, provenance)
            elif fmt == "tsv":
                count = write_tsv((table for _, table in tracked()), out, provenance)
            else:
                count = write_parquet((table for _, table in tracked()), out, provenance)
            if total is not None:
                progress.update(task, completed=total)
    except (VcfFormatError, ValueError) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(code=2) from None
    console.print(f"wrote {count} {'records' if fmt == 'vcf' else 'alleles'} to {out} ({detected})")
    if withheld.total:
        sequence = f"reference {sources.genome.path.name}" if sources.genome else "no reference FASTA"
        console.print(f"[yellow]warning:[/yellow] descriptions withheld where the sequence that decides them is "
                      f"unknown ({sequence}): {escape(withheld.summary())}; see the hgvs_note column")
