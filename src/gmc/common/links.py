"""Links out to the public resources people check a variant or a gene in (ClinVar, gnomAD, OMIM, HPO, PanelApp).

Only URLs are built here; nothing is fetched. Pages show them as ordinary links next to the variant or gene.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_GNOMAD_DATASET = {"GRCh37": "gnomad_r2_1", "GRCh38": "gnomad_r4"}


def _chrom(chrom: str) -> str:
    return re.sub(r"^chr", "", str(chrom), flags=re.IGNORECASE)


def gnomad_variant(chrom: str, pos: int, ref: str, alt: str, build: str) -> str | None:
    """The variant's gnomAD page on the dataset of its genome build (None for other builds or symbolic alleles)."""
    dataset = _GNOMAD_DATASET.get(build)
    if dataset is None or not re.fullmatch(r"[ACGTN]+", ref or "") or not re.fullmatch(r"[ACGTN]+", alt or ""):
        return None
    return f"https://gnomad.broadinstitute.org/variant/{_chrom(chrom)}-{int(pos)}-{ref}-{alt}?dataset={dataset}"


def clinvar_variant(chrom: str, pos: int, build: str, variation_id: str | int | None = None) -> str:
    """The ClinVar record when its variation id is known, else a ClinVar search for the position on its build."""
    if variation_id not in (None, "") and str(variation_id).isdigit():
        return f"https://www.ncbi.nlm.nih.gov/clinvar/variation/{variation_id}/"
    field = "chrpos37" if build == "GRCh37" else "chrpos38"
    term = f"{_chrom(chrom)}[chr] AND {int(pos)}[{field}]"
    return "https://www.ncbi.nlm.nih.gov/clinvar/?term=" + quote(term)


def clinvar_id(clinvar: str | None) -> str | None:
    """The variation id at the end of a stored ClinVar assertion ('significance|review status|id'), if any."""
    if not clinvar:
        return None
    last = str(clinvar).rsplit("|", 1)[-1]
    return last if last.isdigit() else None


def omim_gene(gene: str) -> str:
    """OMIM's search for a gene symbol (its gene and phenotype entries)."""
    return "https://www.omim.org/search?search=" + quote(gene)


def panelapp_gene(gene: str) -> str:
    """The gene's page in Genomics England PanelApp (the panels it is on, with their ratings)."""
    return "https://panelapp.genomicsengland.co.uk/panels/entities/" + quote(gene)


def gnomad_gene(gene: str, build: str = "GRCh38") -> str:
    """The gene's gnomAD page (constraint and variants)."""
    return f"https://gnomad.broadinstitute.org/gene/{quote(gene)}?dataset={_GNOMAD_DATASET.get(build, 'gnomad_r4')}"


def hpo_term(term_id: str) -> str:
    """The HPO browser's page for a term (e.g. HP:0001250)."""
    return "https://hpo.jax.org/browse/term/" + quote(term_id, safe=":")


def disease_record(disease_id: str | None) -> str | None:
    """The public record of a disease id as HPO annotations write it (OMIM:nnnnnn, ORPHA:nnn, MONDO:nnnnnnn)."""
    prefix, _, number = str(disease_id or "").partition(":")
    if not number.isdigit():
        return None
    return {"OMIM": f"https://www.omim.org/entry/{number}",
            "ORPHA": f"https://www.orpha.net/en/disease/detail/{number}",
            "MONDO": f"https://monarchinitiative.org/MONDO:{number}"}.get(prefix.upper())


def clinvar_text(clinvar: str | None) -> str:
    """A stored ClinVar assertion as people read it: 'Pathogenic/Likely pathogenic (multiple submitters, no
    conflicts)', without the raw separators and id."""
    if not clinvar:
        return ""
    parts = str(clinvar).split("|")
    significance = parts[0].replace("_", " ")
    review = parts[1].replace("_", " ").replace("criteria provided, ", "") if len(parts) > 1 and parts[1] else ""
    return f"{significance} ({review})" if review else significance
