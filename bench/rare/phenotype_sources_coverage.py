"""How many development causal genes each phenotype source reaches (HPO 2025-01-16, the hpo3 release, PanelApp,
ClinVar conditions), over the 500 shared phenopackets.

    .venv/bin/python bench/rare/phenotype_sources_coverage.py

A gene counts for HPO when it has an annotated disease (HGNC id or symbol), for PanelApp when it is green or amber
in a panel whose name states HPO terms, for ClinVar when its P/LP variants name a condition that states HPO terms
(``gmc.interpretation.rare.phenotype_sources``). The 2025-01-16 genes are read from its genes_to_phenotype file.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from gmc.interpretation.rare.phenotype_sources import gene_profiles
from gmc.phenotype.annotations import get_annotations
from gmc.settings import get_settings

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def main() -> None:
    """Prints the share of causal genes each source reaches, alone and together."""
    refdata = Path(get_settings().refdata_dir())
    with gzip.open(refdata / "hpo" / "hpo_2025-01-16_genes_to_phenotype.txt.gz", "rt") as handle:
        old = {row["gene_symbol"] for row in csv.DictReader(handle, delimiter="\t")}
    annotations = get_annotations()
    new = {g.symbol for g in annotations.genes.values() if g.disease_ids}
    profiles = gene_profiles()
    panel = {g for g, ps in profiles.items() if any(p.source == "PanelApp" for p in ps)}
    clinvar = {g for g, ps in profiles.items() if any(p.source == "ClinVar" for p in ps)}
    cases = []
    with (SHARED / "benchmarks" / "rare" / "phenopackets_manifest.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            cases.append(set(row["genes"].split(",")))
    n = len(cases)

    def share(genes: set[str]) -> str:
        hit = sum(1 for c in cases if c & genes)
        return f"{hit} / {n} ({100 * hit / n:.1f} %)"

    print(f"HPO 2025-01-16 annotation:              {share(old)}")
    print(f"HPO {annotations.release} (hpo3) annotation:       {share(new)}")
    print(f"PanelApp green/amber in a mapped panel: {share(panel)}")
    print(f"ClinVar condition with HPO terms:       {share(clinvar)}")
    print(f"HPO {annotations.release} + PanelApp:              {share(new | panel)}")
    print(f"HPO {annotations.release} + PanelApp + ClinVar:    {share(new | panel | clinvar)}")
    print(f"HPO 2025-01-16 + PanelApp + ClinVar:    {share(old | panel | clinvar)}")
    print(f"not in HPO {annotations.release}, reached by PanelApp or ClinVar: "
          f"{sum(1 for c in cases if not c & new and c & (panel | clinvar))}")


if __name__ == "__main__":
    main()
