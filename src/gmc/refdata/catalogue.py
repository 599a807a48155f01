"""The reference-data catalogue: every set gmc reads, the published files it is made from, and who needs it.

Plain data, no imports from the rest of gmc: settings (to name a missing set in an error), the fetcher, the
status report and the docs page all read it. A set is the unit that is fetched, verified and installed
atomically; its files sit in GMC_REFDATA in the layout gmc's readers expect (``grch38/...``, ``hpo/...``).

Releases are pinned to the ones gmc is validated on. Where the published bytes are immutable and known (a
versioned release asset, a file at a Git commit) their size and SHA-256 are pinned too; otherwise the
publisher's own checksum list is used when it has one (NCBI, UCSC, Ensembl), and the checksum of what was
fetched is recorded in the manifest for ``gmc refdata verify``. Every URL can be replaced by a mirror
(``--from``) or by a sources file (``GMC_REFDATA_SOURCES``) for newer releases.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

#: Builds gmc knows; build-specific sets exist once per build.
BUILDS = ("GRCh38", "GRCh37")

_GITHUB_RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Source:
    """One published file (or paged API) a set is made from, with its release, licence and checks."""

    #: Short key, unique within its set (the converter asks for its download by this key).
    key: str
    title: str
    #: Public URL of the pinned release (for an API: the first page).
    url: str
    release: str
    licence: str
    #: Where the licence or terms of use are stated.
    terms: str = ""
    #: SHA-256 and size of the published bytes, when they are immutable and known.
    sha256: str = ""
    size: int | None = None
    #: The publisher's checksum list for this file ("md5sum" lines, or Ensembl's BSD "sum" CHECKSUMS).
    checksum_url: str = ""
    checksum_kind: str = "md5"
    #: "panelapp" for PanelApp's paged REST API; empty for a single file.
    api: str = ""
    #: Download size in bytes, approximate when not pinned (progress, disk-space check, docs).
    approx_bytes: int = 0
    #: Where the published file is described (the project's download page).
    homepage: str = ""


@dataclass(frozen=True)
class RefSet:
    """A unit of reference data: fetched, verified and installed together."""

    name: str
    title: str
    #: None for build-independent sets.
    build: str | None
    sources: tuple[Source, ...]
    #: Glob patterns (relative to GMC_REFDATA) each of which must match for the set to count as installed.
    files: tuple[str, ...]
    #: Name of the converter in gmc.refdata.convert that turns the downloads into the files.
    convert: str
    #: What in gmc needs this set (shown by `gmc refdata status` and in notices).
    features: tuple[str, ...]
    #: gmc's own readers ("module:function"), each called on the staged layout root before anything is
    #: installed: the same code that reads the files at run time decides whether they are usable.
    checks: tuple[str, ...] = ()
    #: Further patterns that belong to the set when present (indexes, older releases).
    extra_files: tuple[str, ...] = ()
    #: (source key, file) for sets whose sources each become one file as published (or nearly).
    layout: tuple[tuple[str, str], ...] = ()
    #: Small enough for `make demo` to fetch on a fresh machine (a bare `gmc refdata fetch` takes every set
    #: that is not large).
    default: bool = False
    #: In a folder gmc did not install: a regular expression whose first group, found in the set's first
    #: file name, is the release (for sources that publish only their current release).
    release_in_name: str = ""
    #: Download size in words, for sets whose size is not the sum of known file sizes.
    size_note: str = ""
    #: Very large: fetched only when named with --only.
    large: bool = False
    notes: str = ""

    @property
    def key(self) -> str:
        """The set's name with its build, e.g. transcripts/GRCh37 (unique in the catalogue)."""
        return f"{self.name}/{self.build}" if self.build else self.name

    def owns(self, relative: str) -> bool:
        """True when a path relative to GMC_REFDATA belongs to this set."""
        return any(fnmatch.fnmatchcase(relative, pattern) for pattern in self.files + self.extra_files)

    def file_of(self, key: str) -> str:
        """The installed file a source becomes (sets with a layout)."""
        return dict(self.layout)[key]

    def source(self, key: str) -> Source:
        """The source of this set with the given key."""
        for source in self.sources:
            if source.key == key:
                return source
        raise KeyError(f"set {self.key} has no source {key!r}")


def _github(repo: str, commit: str, path: str) -> str:
    return f"{_GITHUB_RAW}/{repo}/{commit}/{path}"


_HPO_TERMS = "https://hpo.jax.org/license"
_HPO_LICENCE = "HPO licence: free to use; cite the HPO and show the release used; do not alter the content"
_HPO_RELEASES = "https://github.com/obophenotype/human-phenotype-ontology/releases/download"
_MANE = "https://ftp.ncbi.nlm.nih.gov/refseq/MANE/MANE_human/release_1.5"
_MANE_LICENCE = "MANE (NCBI and EMBL-EBI): public data, no restrictions on use"
_UCSC_LICENCE = "UCSC Genome Browser downloads: liftOver chain files free for all uses"
_CRAB_CIVIC = "53852117c0463d62659ec4792559b418e46b0bfe"
_CRAB_CGI = "0386a66599eaa943e18cb6359779e7c900eab0f9"
_MOALMANAC = "5dcc132a831d673f82ff302673143e893635ab22"
_CPSR = "19b4d732165b68f2d2de2d3915f33406e686aa6b"
_GENEONCOX = "932e4bb2efe14e686e21a5e9355067857511a28f"

HPO = RefSet(
    name="hpo", title="Human Phenotype Ontology releases (ontology, disease and gene annotations)", build=None,
    sources=(
        Source("obo", "HPO ontology 2025-01-16 (hp.obo)", f"{_HPO_RELEASES}/v2025-01-16/hp.obo", "2025-01-16",
               _HPO_LICENCE, _HPO_TERMS, approx_bytes=10_021_952,
               homepage="https://github.com/obophenotype/human-phenotype-ontology/releases"),
        Source("hpoa", "HPO disease annotations 2025-01-16 (phenotype.hpoa)",
               f"{_HPO_RELEASES}/v2025-01-16/phenotype.hpoa", "2025-01-16", _HPO_LICENCE, _HPO_TERMS,
               approx_bytes=33_669_223),
        Source("genes_to_phenotype", "HPO gene annotations 2025-01-16 (genes_to_phenotype.txt)",
               f"{_HPO_RELEASES}/v2025-01-16/genes_to_phenotype.txt", "2025-01-16", _HPO_LICENCE, _HPO_TERMS,
               approx_bytes=19_746_634),
        Source("obo_newer", "HPO ontology 2026-02-16 (term details: synonyms, definitions, new ids)",
               f"{_HPO_RELEASES}/v2026-02-16/hp.obo", "2026-02-16", _HPO_LICENCE, _HPO_TERMS,
               approx_bytes=10_703_106),
    ),
    files=("hpo/hpo_2025-01-16_hp.obo.gz", "hpo/hpo_2025-01-16_phenotype.hpoa.gz",
           "hpo/hpo_2025-01-16_genes_to_phenotype.txt.gz", "hpo/hp_2026-02-16.obo.gz"),
    extra_files=("hpo/*",),
    convert="hpo",
    checks=("gmc.refdata.checks:hpo",),
    features=("phenotype scoring against a dated HPO release (GMC_HPO_RELEASE)",
              "HPO term synonyms, definitions and newer ids in phenotype capture"),
)

TRANSCRIPTS = RefSet(
    name="transcripts", title="MANE Select transcript models and the MANE summary (GRCh38)", build="GRCh38",
    sources=(
        Source("summary", "MANE v1.5 summary", f"{_MANE}/MANE.GRCh38.v1.5.summary.txt.gz", "MANE v1.5",
               _MANE_LICENCE, "https://www.ncbi.nlm.nih.gov/refseq/MANE/", checksum_url=f"{_MANE}/md5checksums.txt",
               approx_bytes=1_115_288, homepage="https://ftp.ncbi.nlm.nih.gov/refseq/MANE/MANE_human/release_1.5/"),
        Source("gtf", "MANE v1.5 Ensembl/GENCODE transcript structures (GTF)",
               f"{_MANE}/MANE.GRCh38.v1.5.ensembl_genomic.gtf.gz", "MANE v1.5", _MANE_LICENCE,
               "https://www.ncbi.nlm.nih.gov/refseq/MANE/", checksum_url=f"{_MANE}/md5checksums.txt",
               approx_bytes=17_000_000),
    ),
    files=("grch38/MANE.GRCh38.v1.5.summary.txt.gz", "grch38/mane_select.genepred.tsv.gz"),
    extra_files=("grch38/mane_plus_clinical_to_ensembl_tx_name.tsv",),
    convert="mane",
    checks=("gmc.refdata.checks:transcripts",),
    features=("variant annotation (consequences, HGVS)", "genome ingest and gene queries",
              "rare-disease and cancer interpretation", "TMB territory", "gene identifiers in phenotype scoring"),
    default=True,
)

TRANSCRIPTS_GRCH37 = RefSet(
    name="transcripts", title="MANE Select transcript models lifted to GRCh37", build="GRCh37",
    sources=(
        TRANSCRIPTS.source("summary"), TRANSCRIPTS.source("gtf"),
        Source("chain", "UCSC hg38ToHg19 liftOver chain",
               "https://hgdownload.soe.ucsc.edu/goldenPath/hg38/liftOver/hg38ToHg19.over.chain.gz", "UCSC hg38ToHg19",
               _UCSC_LICENCE, "https://genome.ucsc.edu/license/",
               checksum_url="https://hgdownload.soe.ucsc.edu/goldenPath/hg38/liftOver/md5sum.txt",
               approx_bytes=1_279_716),
    ),
    files=("grch37/mane_select.genepred.tsv.gz",),
    convert="mane_grch37",
    checks=("gmc.refdata.checks:transcripts_grch37",),
    features=("annotation of GRCh37 VCFs",),
    notes="MANE publishes GRCh38 only: each exon is lifted with the UCSC chain, keeping transcripts whose "
          "exons all map to one chromosome and strand with their lengths unchanged.",
)

ENSEMBL = RefSet(
    name="ensembl", title="Ensembl 110 protein-coding and NMD transcript models (GRCh38)", build="GRCh38",
    sources=(
        Source("gtf", "Ensembl release 110 gene set (GTF)",
               "https://ftp.ensembl.org/pub/release-110/gtf/homo_sapiens/Homo_sapiens.GRCh38.110.gtf.gz",
               "Ensembl 110", "Ensembl: no restrictions on use", "https://www.ensembl.org/info/about/legal/",
               checksum_url="https://ftp.ensembl.org/pub/release-110/gtf/homo_sapiens/CHECKSUMS",
               checksum_kind="sum", approx_bytes=55_000_000),
    ),
    files=("grch38/ensembl110_protein_coding.genepred.tsv.gz",),
    convert="ensembl",
    checks=("gmc.refdata.checks:ensembl",),
    features=("annotation against every Ensembl transcript (gmc annotate --transcripts ensembl)",),
    default=False,
)

GENE_NAMES = RefSet(
    name="gene-names", title="NCBI gene symbols, aliases and cross-references (org.Hs.eg.db 3.16)", build=None,
    sources=(
        Source("orgdb", "Bioconductor org.Hs.eg.db 3.16.0 (NCBI Gene, 2022-09)",
               "https://bioconductor.org/packages/3.16/data/annotation/src/contrib/org.Hs.eg.db_3.16.0.tar.gz",
               "3.16.0 (NCBI Gene 2022-09)", "Artistic-2.0 (package); NCBI Gene data public",
               "https://bioconductor.org/packages/3.16/data/annotation/html/org.Hs.eg.db.html",
               approx_bytes=88_000_000),
    ),
    files=("ncbi_gene_info_org.Hs.eg.db_3.16_2022-09.tsv.gz",),
    convert="gene_names",
    checks=("gmc.refdata.checks:gene_names",),
    features=("gene aliases in phenotype scoring", "ACMG PVS1 gene mechanism", "germline cancer predisposition"),
)

CLINVAR = RefSet(
    name="clinvar", title="ClinVar pathogenic and likely pathogenic variants, 2 stars or more (GRCh38)",
    build="GRCh38",
    sources=(
        Source("vcf", "ClinVar VCF 2024-12-15 (GRCh38)",
               "https://ftp.ncbi.nlm.nih.gov/pub/clinvar/vcf_GRCh38/archive_2.0/2024/clinvar_20241215.vcf.gz",
               "2024-12-15", "ClinVar: public domain (NCBI)", "https://www.ncbi.nlm.nih.gov/home/about/policies/",
               checksum_url="https://ftp.ncbi.nlm.nih.gov/pub/clinvar/vcf_GRCh38/archive_2.0/2024/"
                            "clinvar_20241215.vcf.gz.md5",
               approx_bytes=180_000_000, homepage="https://www.ncbi.nlm.nih.gov/clinvar/docs/maintenance_use/"),
    ),
    files=("grch38/clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz",),
    extra_files=("grch38/clinvar_*_PLP_multi-submitter_GRCh38.vcf.gz*",),
    convert="clinvar",
    checks=("gmc.refdata.checks:clinvar",),
    features=("ClinVar in variant annotation", "ACMG PS1/PM5/PP5 and PVS1 evidence in rare-disease interpretation"),
)

CONSTRAINT = RefSet(
    name="constraint", title="gnomAD v4.1 gene constraint (pLI, LOEUF, missense Z) for MANE Select transcripts",
    build=None,
    sources=(
        Source("tsv", "gnomAD v4.1 constraint metrics",
               "https://storage.googleapis.com/gcp-public-data--gnomad/release/4.1/constraint/"
               "gnomad.v4.1.constraint_metrics.tsv",
               "v4.1", "gnomAD data: CC0 1.0", "https://gnomad.broadinstitute.org/policies",
               approx_bytes=100_000_000, homepage="https://gnomad.broadinstitute.org/downloads#v4-constraint"),
    ),
    files=("constraint/gnomad_v4.1_constraint_mane_select.csv",),
    convert="constraint",
    checks=("gmc.refdata.checks:constraint",),
    features=("pLI and LOEUF in variant annotation", "ACMG PVS1 gene mechanism"),
)

CLINGEN = RefSet(
    name="clingen", title="ClinGen dosage sensitivity curations (haploinsufficiency, triplosensitivity)", build=None,
    sources=(
        Source("tsv", "ClinGen gene curation list (GRCh38)",
               "https://ftp.clinicalgenome.org/ClinGen_gene_curation_list_GRCh38.tsv",
               "the date in the file's header", "ClinGen: CC0 1.0", "https://clinicalgenome.org/docs/terms-of-use/",
               approx_bytes=263_241, homepage="https://search.clinicalgenome.org/kb/downloads"),
    ),
    files=("clingen/ClinGen_gene_curation_list_GRCh38_*.tsv",),
    convert="clingen",
    release_in_name=r"_(\d{4}-\d{2}-\d{2})\.tsv$",
    checks=("gmc.refdata.checks:clingen",),
    features=("dosage sensitivity in variant annotation", "ACMG PVS1 gene mechanism"),
    notes="ClinGen publishes only its current list; the file is named by the date in its header.",
    default=True,
)

LIFTOVER = RefSet(
    name="liftover", title="UCSC liftOver chains between GRCh37 and GRCh38", build=None,
    sources=(
        Source("hg19ToHg38", "UCSC hg19ToHg38 liftOver chain",
               "https://hgdownload.soe.ucsc.edu/goldenPath/hg19/liftOver/hg19ToHg38.over.chain.gz", "UCSC hg19ToHg38",
               _UCSC_LICENCE, "https://genome.ucsc.edu/license/",
               checksum_url="https://hgdownload.soe.ucsc.edu/goldenPath/hg19/liftOver/md5sum.txt",
               approx_bytes=232_823, homepage="https://hgdownload.soe.ucsc.edu/downloads.html#liftover"),
        Source("hg38ToHg19", "UCSC hg38ToHg19 liftOver chain",
               "https://hgdownload.soe.ucsc.edu/goldenPath/hg38/liftOver/hg38ToHg19.over.chain.gz", "UCSC hg38ToHg19",
               _UCSC_LICENCE, "https://genome.ucsc.edu/license/",
               checksum_url="https://hgdownload.soe.ucsc.edu/goldenPath/hg38/liftOver/md5sum.txt",
               approx_bytes=1_279_716),
    ),
    files=("liftover/hg19ToHg38.over.chain.gz", "liftover/hg38ToHg19.over.chain.gz"),
    layout=(("hg19ToHg38", "liftover/hg19ToHg38.over.chain.gz"), ("hg38ToHg19", "liftover/hg38ToHg19.over.chain.gz")),
    convert="copy",
    checks=("gmc.refdata.checks:liftover",),
    features=("GRCh37 inputs lifted to GRCh38", "cancer knowledge base (GRCh37 sources lifted)"),
    default=True,
)

PANELAPP = RefSet(
    name="panelapp", title="Genomics England PanelApp gene panels", build=None,
    sources=(
        Source("api", "PanelApp panels and their genes (REST API v1)",
               "https://panelapp.genomicsengland.co.uk/api/v1/panels/", "the date fetched",
               "Genomics England PanelApp terms of use", "https://panelapp.genomicsengland.co.uk/",
               api="panelapp", approx_bytes=60_000_000,
               homepage="https://panelapp.genomicsengland.co.uk/api/docs/"),
    ),
    files=("panelapp/PanelAppRex_PanelAppData_combined_core.tsv",),
    extra_files=("panelapp/*",),
    convert="panelapp",
    checks=("gmc.refdata.checks:panelapp",),
    features=("gene panels in rare-disease interpretation", "germline cancer predisposition genes"),
    notes="Written in the layout of the PanelAppRex export gmc was built on: one row per panel and gene.",
)


def _cancer_github(key: str, title: str, repo: str, commit: str, path: str, release: str, licence: str,
                   sha256: str, size: int, terms: str = "") -> Source:
    return Source(key, title, _github(repo, commit, path), release, licence, terms, sha256=sha256, size=size,
                  homepage=f"https://github.com/{repo}")


_CANCER_LAYOUT = (
    ("civic", "cancer/civic/nightly-ClinicalEvidenceSummaries.tsv"),
    ("cgi", "cancer/kb/cgi/cgi_biomarkers_per_variant_2017.tsv"),
    ("cgi_oncogenic", "cancer/kb/cgi/crab_cgi_onco_muts.bed.gz"),
    ("cgi_genes", "cancer/kb/cgi/crab_cgi_cancer_genes_ccg.bed.gz"),
    ("moalmanac", "cancer/kb/moalmanac/molecular-oncology-almanac.json"),
    ("hotspots", "cancer/hotspots/cancerhotspots_v2.txt"),
    ("hotspot_alleles", "cancer/hotspots/maftools_cancerhotspots_v2_GRCh38.tsv"),
    ("intogen", "cancer/genes/intogen_Compendium_Cancer_Genes_2020.tsv"),
    ("ncg", "cancer/genes/ncg_network_of_cancer_genes.tsv"),
    ("oncotree", "cancer/genes/oncotree_2025_10_03.json"),
    ("cpsr_panel", "cancer/germline/cpsr/cpsr_panel_zero.tsv.gz"),
    ("vcep_thresholds", "cancer/germline/cpsr/cpsr_acmg_thresholds_vcep.tsv"),
    ("cancer_panels", "cancer/genes/ge_panelapp_cancer_panels.txt"),
    ("acmg_sf", "cancer/genes/acmg_secondary_findings_v3.txt"),
)

CANCER = RefSet(
    name="cancer", title="Cancer knowledge: CIViC, CGI, MOAlmanac, hotspots, IntOGen, NCG, OncoTree, CPSR",
    build=None,
    sources=(
        _cancer_github("civic", "CIViC clinical evidence summaries (nightly 2018-05-18)", "fakedrtom/crab",
                       _CRAB_CIVIC, "civic/nightly-ClinicalEvidenceSummaries.tsv", "2018-05-18", "CIViC: CC0 1.0",
                       "bad01f00b49aea46de6f0d82dde5955e31450ba9f2edf1efff52f0c33275d117", 2_727_299,
                       "https://civicdb.org/about"),
        _cancer_github("cgi", "Cancer Genome Interpreter biomarkers per variant (2017-12)", "haoziyeung/somatic_pipeline",
                       "8f89936b534455430a1d83b29aea98e763f64cac", "cgi_biomarkers_per_variant.tsv", "2017-12",
                       "CGI Cancer Biomarkers database: CC0 1.0",
                       "6c1a86c7dd1d75f29d1969123732b7089aa1415e9653ac20d05d319757fab846", 589_355,
                       "https://www.cancergenomeinterpreter.org/biomarkers"),
        _cancer_github("cgi_oncogenic", "CGI catalogue of validated oncogenic mutations (2018-02, BED)",
                       "fakedrtom/crab", _CRAB_CGI, "cgi/onco_muts.bed.gz", "2018-02",
                       "mixed: CGI aggregates DoCM, ClinVar, OncoKB and IARC under their own terms",
                       "d01d286d9dbf4163da16919aa284398230f6695a670214ccb4267db62f7c6bc7", 36_819,
                       "https://www.cancergenomeinterpreter.org/mutations"),
        _cancer_github("cgi_genes", "CGI catalogue of cancer genes (BED)", "fakedrtom/crab", _CRAB_CGI,
                       "cgi/ccg.bed.gz", "2018-02", "CGI cancer genes catalogue (terms on its site)",
                       "cd01cc33deb07fe05f6e6a73a95218a6038d64ac6f02eae754bcbb678bede41b", 33_553,
                       "https://www.cancergenomeinterpreter.org/genes"),
        _cancer_github("moalmanac", "Molecular Oncology Almanac v1.3.0 (2025-02-07)", "vanallenlab/moalmanac",
                       _MOALMANAC, "datasources/moalmanac/molecular-oncology-almanac.json", "2025-02-07 v1.3.0",
                       "GPL-2.0 (moalmanac-db)", "f11d54c464d852eaa4a64f55cd4f02824c164f9d674911f5bad7f4bfe3834674",
                       1_887_237),
        _cancer_github("hotspots", "cancerhotspots.org single-residue hotspots v2", "vanallenlab/moalmanac",
                       _MOALMANAC, "datasources/cancerhotspots/hotspots_v2.txt", "v2 (Chang 2017)",
                       "cancerhotspots.org (MSKCC): open download",
                       "3f466f30c2225969a34176ceb9188cbd022dd8c7baf9f836a5df24828a86f7ee", 3_018_590,
                       "https://www.cancerhotspots.org/"),
        _cancer_github("hotspot_alleles", "cancer hotspot alleles with GRCh38 coordinates (maftools)",
                       "PoisonAlien/maftools", "c8ff3283f7395e4a7d4fb56158e638b554d5ada0",
                       "inst/extdata/cancerhotspots_v2_GRCh38.tsv", "v2", "MIT (maftools); cancerhotspots.org",
                       "0393ac408a2e40e2a0e83342709c8dc3766279c2065b569d9b19d6fe84c6b784", 186_534),
        Source("intogen", "IntOGen cancer driver compendium (release 2020-02-01)",
               "https://www.intogen.org/download?file=IntOGen-Drivers-20200201.zip", "2020-02-01", "IntOGen: CC0 1.0",
               "https://www.intogen.org/faq", approx_bytes=1_700_000, homepage="https://www.intogen.org/download"),
        _cancer_github("ncg", "Network of Cancer Genes (NCG) gene table", "sigven/geneOncoX", _GENEONCOX,
                       "data-raw/ncg/ncg.tsv", "NCG 7 (geneOncoX 2023)", "NCG (ncg.kcl.ac.uk): terms on its site",
                       "26f9b3654b6225ac54199372e2fb4919b643a489221a0a9a4defa970da492452", 959_142,
                       "http://ncg.kcl.ac.uk/"),
        _cancer_github("oncotree", "OncoTree release 2025-10-03", "cBioPortal/oncotree",
                       "b362db70f6472fb6349329d1ef6d8f3dcef7d083", "trees/oncotree_2025_10_03.json", "oncotree_2025_10_03",
                       "OncoTree (MSKCC): CC BY 4.0",
                       "613c84ebecce7b47fb6800a94efecf8c7edbc25120401d898591d3b478c36231", 246_435,
                       "https://oncotree.mskcc.org/"),
        _cancer_github("cpsr_panel", "CPSR panel 0: cancer predisposition genes", "sigven/cpsr", _CPSR,
                       "inst/extdata/panel_zero.tsv.gz", "CPSR 2.x (19b4d73)", "MIT (CPSR)",
                       "3b82ab279bb81d2f3fa0802fb45018889cd8214d0816c90a8c4246e29648bfcb", 32_223),
        _cancer_github("vcep_thresholds", "ClinGen VCEP frequency thresholds (CPSR)", "sigven/cpsr", _CPSR,
                       "data-raw/acmg_thresholds.tsv", "CPSR 2.x (19b4d73)", "MIT (CPSR); values from ClinGen VCEPs",
                       "53f9a18c464a179606a19ad8edbd7e9ec35691676ec8a60a1fba68748e1e9194", 1_343),
        _cancer_github("cancer_panels", "Genomics England PanelApp cancer panel list", "sigven/geneOncoX", _GENEONCOX,
                       "data-raw/predisposition/ge_panelapp/all_cancer_panels.txt", "geneOncoX 2023",
                       "PanelApp (Genomics England) panel ids",
                       "1607be6edcf04519ca2273d4fed63df8fc8aee1dc57b365b4f3550ae6f8fb279", 1_878),
        _cancer_github("acmg_sf", "ACMG secondary findings genes v3.0", "vanallenlab/moalmanac", _MOALMANAC,
                       "datasources/acmg/acmg.secondaryfindings.v3.txt", "ACMG SF v3.0 (Miller 2021)",
                       "gene list (facts) from ACMG SF v3.0",
                       "4955cf4e2210c15e5a66d5e8edecdaddfc3677bdb9144d15405a141c143e5872", 7_062),
    ),
    files=tuple(path for _, path in _CANCER_LAYOUT),
    layout=_CANCER_LAYOUT,
    extra_files=("cancer/*",),
    convert="cancer",
    checks=("gmc.refdata.checks:cancer",),
    features=("cancer interpretation: knowledge base, AMP tiers, oncogenicity, tumour types",
              "germline cancer predisposition and secondary findings"),
    notes="The releases gmc's cancer knowledge base is validated on. CIViC, CGI and cancerhotspots.org now "
          "serve only their newest releases in other formats, so these are taken from the public Git commits "
          "that keep them (pinned by SHA-256).",
    default=True,
)

_GRCH38_FASTA = ("https://ftp.ncbi.nlm.nih.gov/genomes/all/GCA/000/001/405/GCA_000001405.15_GRCh38/"
                 "seqs_for_alignment_pipelines.ucsc_ids")

GENOME = RefSet(
    name="genome", title="GRCh38 genome sequence (no-alt analysis set), bgzipped and indexed", build="GRCh38",
    sources=(
        Source("fasta", "GRCh38 no-alt analysis set (NCBI GCA_000001405.15)",
               f"{_GRCH38_FASTA}/GCA_000001405.15_GRCh38_no_alt_analysis_set.fna.gz", "GRCh38 (GCA_000001405.15)",
               "Genome Reference Consortium / NCBI: public domain", "https://www.ncbi.nlm.nih.gov/home/about/policies/",
               checksum_url=f"{_GRCH38_FASTA}/md5checksums.txt", approx_bytes=900_000_000,
               homepage="https://www.ncbi.nlm.nih.gov/grc/human"),
    ),
    files=("grch38/sequence/*.fa.gz",),
    extra_files=("grch38/sequence/*",),
    convert="genome",
    checks=("gmc.refdata.checks:genome",),
    release_in_name=r"([^/]+)\.fa\.gz$",
    features=("HGVS and codon-level annotation (reference sequence)",),
    default=False, large=True,
)

GENOME_GRCH37 = RefSet(
    name="genome", title="GRCh37 genome sequence (1000 Genomes hs37 build), bgzipped and indexed", build="GRCh37",
    sources=(
        Source("fasta", "GRCh37 human_g1k_v37 (1000 Genomes)",
               "https://ftp.1000genomes.ebi.ac.uk/vol1/ftp/technical/reference/human_g1k_v37.fasta.gz", "GRCh37 (g1k v37)",
               "1000 Genomes / GRC: free to use", "https://www.internationalgenome.org/IGSR_disclaimer",
               approx_bytes=900_000_000),
    ),
    files=("grch37/sequence/*.fa.gz",),
    extra_files=("grch37/sequence/*",),
    convert="genome",
    checks=("gmc.refdata.checks:genome",),
    release_in_name=r"([^/]+)\.fa\.gz$",
    features=("HGVS and codon-level annotation of GRCh37 VCFs",),
    default=False, large=True,
)

_GNOMAD = "https://storage.googleapis.com/gcp-public-data--gnomad/release"
_GNOMAD_CHROMS = tuple(str(n) for n in range(1, 23)) + ("X", "Y")

GNOMAD_SITES = RefSet(
    name="gnomad-sites", title="gnomAD v4.1 genome sites (population allele frequencies), per chromosome",
    build="GRCh38",
    sources=tuple(
        source for chrom in _GNOMAD_CHROMS for source in (
            Source(f"chr{chrom}", f"gnomAD v4.1 genomes sites chr{chrom}",
                   f"{_GNOMAD}/4.1/vcf/genomes/gnomad.genomes.v4.1.sites.chr{chrom}.vcf.bgz", "v4.1",
                   "gnomAD data: CC0 1.0", "https://gnomad.broadinstitute.org/policies",
                   homepage="https://gnomad.broadinstitute.org/downloads"),
            Source(f"chr{chrom}.tbi", f"gnomAD v4.1 genomes sites chr{chrom} index",
                   f"{_GNOMAD}/4.1/vcf/genomes/gnomad.genomes.v4.1.sites.chr{chrom}.vcf.bgz.tbi", "v4.1",
                   "gnomAD data: CC0 1.0", "https://gnomad.broadinstitute.org/policies"),
        )
    ),
    files=("frequencies/gnomad_v4.1/gnomad.genomes.v4.1.sites.chr*.vcf.bgz",),
    extra_files=("frequencies/gnomad_v4.1/*",),
    layout=tuple((f"chr{chrom}{suffix}", f"frequencies/gnomad_v4.1/gnomad.genomes.v4.1.sites.chr{chrom}.vcf.bgz{suffix}")
                 for chrom in _GNOMAD_CHROMS for suffix in ("", ".tbi")),
    convert="copy",
    checks=("gmc.refdata.checks:frequencies",),
    size_note="hundreds of GB in all (the publisher lists each file's size)",
    features=("population allele frequencies in annotation and ACMG BA1/BS1/PM2 (list the files in "
              "GMC_FREQUENCY_FILES)",),
    default=False, large=True,
)

GNOMAD_SITES_GRCH37 = RefSet(
    name="gnomad-sites", title="gnomAD v2.1.1 exome sites (population allele frequencies)", build="GRCh37",
    sources=(
        Source("exomes", "gnomAD v2.1.1 exomes sites",
               f"{_GNOMAD}/2.1.1/vcf/exomes/gnomad.exomes.r2.1.1.sites.vcf.bgz", "v2.1.1", "gnomAD data: CC0 1.0",
               "https://gnomad.broadinstitute.org/policies"),
        Source("exomes.tbi", "gnomAD v2.1.1 exomes sites index",
               f"{_GNOMAD}/2.1.1/vcf/exomes/gnomad.exomes.r2.1.1.sites.vcf.bgz.tbi", "v2.1.1", "gnomAD data: CC0 1.0",
               "https://gnomad.broadinstitute.org/policies"),
    ),
    files=("frequencies/gnomad_v2.1.1/gnomad.exomes.r2.1.1.sites.vcf.bgz",),
    extra_files=("frequencies/gnomad_v2.1.1/*",),
    layout=(("exomes", "frequencies/gnomad_v2.1.1/gnomad.exomes.r2.1.1.sites.vcf.bgz"),
            ("exomes.tbi", "frequencies/gnomad_v2.1.1/gnomad.exomes.r2.1.1.sites.vcf.bgz.tbi")),
    convert="copy",
    checks=("gmc.refdata.checks:frequencies",),
    features=("population allele frequencies of GRCh37 VCFs (list the file in GMC_FREQUENCY_FILES)",),
    default=False, large=True,
)

#: Every set, in the order they are fetched (a set's checks may read sets fetched before it).
CATALOGUE: tuple[RefSet, ...] = (HPO, LIFTOVER, TRANSCRIPTS, TRANSCRIPTS_GRCH37, ENSEMBL, GENE_NAMES, CLINVAR,
                                 CONSTRAINT, CLINGEN, PANELAPP, CANCER, GENOME, GENOME_GRCH37, GNOMAD_SITES,
                                 GNOMAD_SITES_GRCH37)


@dataclass(frozen=True)
class Selection:
    """The sets one command works on, with the reason any named set was left out."""

    sets: tuple[RefSet, ...]
    skipped: dict[str, str] = field(default_factory=dict)


def set_names() -> list[str]:
    """The distinct set names, in catalogue order."""
    return list(dict.fromkeys(s.name for s in CATALOGUE))


def select(only: list[str] | None = None, build: str | None = None, *, defaults_only: bool = False) -> Selection:
    """The sets named (or every non-large set), for one build (GRCh38 unless told) plus the build-free ones."""
    build = build or "GRCh38"
    if build not in BUILDS:
        raise ValueError(f"unknown build {build!r}: use one of {', '.join(BUILDS)}")
    known = set_names()
    for name in only or []:
        if name not in known:
            raise ValueError(f"unknown reference-data set {name!r}: choose from {', '.join(known)}")
    chosen, skipped = [], {}
    for refset in CATALOGUE:
        if only and refset.name not in only:
            continue
        if refset.build not in (None, build):
            continue
        if not only and (refset.large or (defaults_only and not refset.default)):
            continue
        chosen.append(refset)
    for name in only or []:
        if not any(s.name == name for s in chosen):
            builds = [s.build for s in CATALOGUE if s.name == name]
            skipped[name] = f"gmc has no {build} files for set {name} (only {', '.join(b or 'any' for b in builds)})"
    return Selection(tuple(chosen), skipped)


def set_for_path(relative: str) -> RefSet | None:
    """The set a path relative to GMC_REFDATA belongs to (required files first, then extras), or None."""
    relative = relative.replace("\\", "/").lstrip("/")
    for refset in CATALOGUE:
        if any(fnmatch.fnmatchcase(relative, pattern) for pattern in refset.files):
            return refset
    for refset in CATALOGUE:
        if refset.owns(relative):
            return refset
    return None
