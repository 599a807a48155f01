"""Checks run on a fetched set before it is installed: gmc's own readers read the staged files.

Each check takes the staged reference-data root (the new files over the installed ones) and raises when a
reader refuses a file. The readers belong to the features above this package, so they are imported inside the
checks, which run only during a fetch; nothing here is imported by the features.
"""

from __future__ import annotations

from pathlib import Path

from gmc.refdata.catalogue import HPO


class CheckFailed(ValueError):
    """gmc's reader refused a fetched file; the message names the file and the reader's complaint."""


def _one(root: Path, pattern: str) -> Path:
    found = sorted(root.glob(pattern))
    if not found:
        raise CheckFailed(f"{pattern} was not produced")
    return found[-1]


def _at_least(count: int, what: str, minimum: int = 1) -> int:
    if count < minimum:
        raise CheckFailed(f"{what}: only {count} read")
    return count


def hpo(root: Path) -> int:
    """Both OBO releases parse as ontologies with terms (hpoa and gene files are header-checked when converted)."""
    from gmc.phenotype.ontology import load_ontology

    terms = 0
    for relative in (HPO.files[0], HPO.files[3]):
        terms += _at_least(len(load_ontology(root / relative).terms), relative)
    for relative, header in ((HPO.files[1], "database_id\tdisease_name"), (HPO.files[2], "ncbi_gene_id\tgene_symbol")):
        from gmc.refdata.convert import open_text

        with open_text(root / relative) as handle:
            if not any(line.startswith(header) for _, line in zip(range(50), handle, strict=False)):
                raise CheckFailed(f"{relative}: no {header.split(chr(9))[0]} header line")
    return terms


def transcripts(root: Path) -> int:
    """The MANE summary and the MANE Select models read with gmc's transcript readers."""
    from gmc.genomics.annotation.transcripts import read_genepred, read_hgnc_map

    hgnc = read_hgnc_map(root / "grch38" / "MANE.GRCh38.v1.5.summary.txt.gz")
    _at_least(len(hgnc), "MANE summary HGNC ids")
    return _at_least(len(read_genepred(root / "grch38" / "mane_select.genepred.tsv.gz", hgnc=hgnc)),
                     "MANE Select transcripts")


def transcripts_grch37(root: Path) -> int:
    """The lifted GRCh37 models read with gmc's transcript reader."""
    from gmc.genomics.annotation.transcripts import read_genepred

    return _at_least(len(read_genepred(root / "grch37" / "mane_select.genepred.tsv.gz")), "GRCh37 transcripts")


def ensembl(root: Path) -> int:
    """The Ensembl models read with gmc's transcript reader."""
    from gmc.genomics.annotation.transcripts import read_genepred

    return _at_least(len(read_genepred(root / "grch38" / "ensembl110_protein_coding.genepred.tsv.gz")),
                     "Ensembl transcripts")


def gene_names(root: Path) -> int:
    """The NCBI gene table read with gmc's gene-id reader (over the MANE summary when it is installed)."""
    from gmc.phenotype.gene_ids import load_gene_id_map

    gene_info = _one(root, "ncbi_gene_info_*.tsv.gz")
    summary = root / "grch38" / "MANE.GRCh38.v1.5.summary.txt.gz"
    if summary.is_file():
        genes = load_gene_id_map(summary, gene_info)
        return _at_least(len(genes.hgnc_by_symbol), "gene symbols")
    from gmc.refdata.convert import open_text

    with open_text(gene_info) as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
    if not {"entrez_id", "symbol", "aliases", "ensembl_gene"} <= set(header):
        raise CheckFailed(f"{gene_info.name}: expected entrez_id, symbol, aliases and ensembl_gene columns")
    return 1


def clinvar(root: Path) -> int:
    """The ClinVar subset read with gmc's ClinVar index."""
    from gmc.genomics.annotation.clinvar import ClinVarIndex

    return _at_least(len(ClinVarIndex(_one(root, "grch38/clinvar_*_PLP_multi-submitter_GRCh38.vcf.gz"))),
                     "ClinVar alleles")


def constraint(root: Path) -> int:
    """gnomAD constraint read with gmc's constraint reader."""
    from gmc.genomics.annotation.genes import CONSTRAINT_FILE, read_constraint

    return _at_least(len(read_constraint(root.joinpath(*CONSTRAINT_FILE))), "constraint genes")


def clingen(root: Path) -> int:
    """ClinGen dosage read with gmc's ClinGen reader."""
    from gmc.genomics.annotation.genes import read_clingen

    return _at_least(len(read_clingen(_one(root, "clingen/ClinGen_gene_curation_list_GRCh38_*.tsv"))),
                     "ClinGen genes")


def liftover(root: Path) -> int:
    """Both chains read with gmc's chain reader and map a known position."""
    from gmc.genomics.liftover import ChainMap

    # BRAF V600 (chr7:140453136 on GRCh37 is chr7:140753336 on GRCh38) maps both ways.
    forward = ChainMap(root / "liftover" / "hg19ToHg38.over.chain.gz").lift_position("7", 140453136)
    back = ChainMap(root / "liftover" / "hg38ToHg19.over.chain.gz").lift_position("7", 140753336)
    if forward is None or forward.pos != 140753336 or back is None or back.pos != 140453136:
        raise CheckFailed("the chains do not map BRAF V600 between GRCh37 and GRCh38 (7:140453136 <-> 7:140753336)")
    return 2


def panelapp(root: Path) -> int:
    """The panels read with gmc's PanelApp reader."""
    from gmc.interpretation.rare.panels import read_panelapp

    return _at_least(len(read_panelapp(root / "panelapp")), "PanelApp panels")


def cancer(root: Path) -> int:
    """The whole cancer knowledge base built by gmc's loader (and the germline lists when their sets are there)."""
    from gmc.interpretation.cancer.germline import read_secondary_findings, read_vcep_thresholds
    from gmc.interpretation.cancer.knowledgebase import build_knowledgebase

    knowledge = build_knowledgebase(root)
    _at_least(len(knowledge.evidence), "cancer evidence items")
    read_vcep_thresholds(root / "cancer" / "germline" / "cpsr" / "cpsr_acmg_thresholds_vcep.tsv")
    _at_least(len(read_secondary_findings(root / "cancer" / "genes" / "acmg_secondary_findings_v3.txt")),
              "ACMG secondary-findings genes")
    return len(knowledge.evidence)


def genome(root: Path) -> int:
    """Every indexed FASTA of the set opens and reads."""
    import pysam

    count = 0
    for path in sorted(root.glob("grch3[78]/sequence/*.fa.gz")):
        if not Path(f"{path}.fai").is_file():
            continue
        with pysam.FastaFile(str(path)) as fasta:
            _at_least(len(fasta.references), path.name)
            fasta.fetch(fasta.references[0], 0, 10)
        count += 1
    return _at_least(count, "indexed FASTA files")


def frequencies(root: Path) -> int:
    """Every gnomAD sites file opens with its index and has a header."""
    import pysam

    count = 0
    for path in sorted(root.glob("frequencies/gnomad_v*/*.vcf.bgz")):
        with pysam.TabixFile(str(path)) as tabix:
            _at_least(len(tabix.header), f"{path.name} header lines")
        count += 1
    return _at_least(count, "gnomAD sites files")
