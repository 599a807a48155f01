"""One model of cancer biomarkers and evidence, imported from CIViC, CGI, MOAlmanac, hotspots and IntOGen."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from gmc.genomics.liftover import ChainMap, load_chain
from gmc.interpretation.cancer.cpsr import CPSR_PANEL, CpsrGene, read_cpsr_panel
from gmc.interpretation.cancer.levels import EvidenceLevelError, level_mapping
from gmc.interpretation.cancer.oncotree import (
    ONCOTREE_FILE,
    ROOT,
    OncoTree,
    UnknownTumourTypeError,
    load_oncotree,
)
from gmc.interpretation.cancer.protein import ProteinChange, parse_protein_change
from gmc.interpretation.cancer.therapy import (
    DrugNames,
    Therapy,
    TherapyParseError,
    parse_cgi,
    parse_civic,
    parse_moalmanac,
    parse_regimen,
)
from gmc.refdata.manifest import file_provenance

#: Levels at which a biomarker names an alteration, most to least specific.
BIOMARKER_LEVELS = (
    "exact", "codon", "region", "exon", "truncating", "gene", "amplification", "deletion", "fusion", "other",
)
#: Evidence types (CIViC vocabulary, shared by every source).
EVIDENCE_TYPES = ("predictive", "diagnostic", "prognostic", "predisposing", "oncogenic")

#: MOAlmanac variant_annotation -> consequence family a variant must have.
MOALMANAC_FAMILIES = {
    "deletion": "deletion", "insertion": "insertion", "missense": "missense", "splice site": "truncating",
    "nonsense": "truncating", "frameshift": "truncating",
}
_TRUNCATING_WORDS = ("TRUNCATING", "FRAMESHIFT", "NONSENSE")
#: Words naming the class of change a gene-level biomarker means (anything else: the gene's mechanism decides).
_INACTIVATING_WORDS = ("LOSS-OF-FUNCTION", "LOSS OF FUNCTION", "DELETERIOUS", "INACTIVATING", "INACTIVATION")
_ACTIVATING_WORDS = ("ACTIVATING", "GAIN-OF-FUNCTION", "GAIN OF FUNCTION", "KINASE DOMAIN MUTATION")
#: The directions a therapy statement can take.
SENSITIVITY, RESISTANCE, TOXICITY = "sensitivity", "resistance", "toxicity"
_EXON_RE = re.compile(r"^EXON (\d+)(?:-(\d+))? (DELETION|INSERTION|MUTATION|FRAMESHIFT|SKIPPING MUTATION)S?$")
_CGI_REGION_RE = re.compile(r"::consequence::(\w+):(\d+)-(\d+)")
_CGI_GDNA_RE = re.compile(r"^chr([0-9XYM]+):g\.(\d+)([ACGT])>([ACGT])$")


class KnowledgeBaseError(ValueError):
    """A knowledge-base source file is malformed; names the file and line."""


class CuratedEvidenceError(KnowledgeBaseError):
    """A curated evidence record is incomplete or invalid; names the field."""


@dataclass(frozen=True)
class Biomarker:
    """A gene plus an alteration at some level (exact variant, codon, region, exon, truncating, CNA, fusion)."""

    gene: str
    level: str
    #: The alteration as the source wrote it (e.g. V600E, EXON 19 DELETION, AMPLIFICATION, EML4-ALK).
    alteration: str
    protein: ProteinChange | None = None
    #: Protein residue range for codon/region biomarkers.
    aa_start: int | None = None
    aa_end: int | None = None
    #: Required consequence family for region/exon/gene biomarkers: deletion, insertion, missense, splice,
    #: truncating, or None for any protein change.
    consequence: str | None = None
    exon: int | None = None
    #: GRCh38 (chrom, pos, ref, alt) when the source gives one nucleotide change.
    genomic: tuple[str, int, str, str] | None = None
    #: Fusion partner gene (None = any partner).
    partner: str | None = None
    #: For gene-level and region biomarkers: the class of change meant, "activating" or "inactivating";
    #: None = the gene's mechanism decides (an "oncogenic mutation" of an oncogene is an activating one).
    alteration_class: str | None = None


@dataclass(frozen=True)
class EvidenceItem:
    """One clinical evidence statement about a biomarker in a disease."""

    #: Source-prefixed id, e.g. CIViC:EID1409, CGI:312, MOAlmanac:144.
    id: str
    source: str
    biomarker: Biomarker
    evidence_type: str
    #: AMP/ASCO/CAP 2017 evidence level A-E (from the source level through levels.EVIDENCE_LEVELS).
    level: str
    #: The level as written by the source (e.g. "FDA guidelines", "B").
    source_level: str
    #: True when the statement supports the significance (CIViC "Does Not Support" is False).
    supports: bool
    #: Sensitivity/Response, Resistance, Poor Outcome, Positive, ...
    significance: str
    disease: str
    #: OncoTree node the disease maps to (None when it cannot be mapped; TISSUE for pan-cancer wording).
    tumour_type: str | None
    #: Regimens (a drug, a combination kept whole, or a list whose combination the source does not state).
    therapies: tuple[Therapy, ...] = ()
    citations: tuple[str, ...] = ()
    #: somatic or germline.
    origin: str = "somatic"
    #: True only for a regulatory approval or guideline for any tumour type (e.g. NTRK fusions, MSI-H): a stated
    #: tumour-agnostic indication. A pan-cancer study (disease "Cancer", "any solid tumour") is not one.
    tumour_agnostic: bool = False
    #: "solid" when the source limits the item to solid tumours ("" otherwise).
    scope: str = ""

    @property
    def direction(self) -> str:
        """sensitivity, resistance or toxicity for predictive items ("" otherwise)."""
        return therapy_direction(self.significance) if self.evidence_type == "predictive" else ""


def therapy_direction(significance: str) -> str:
    """Reads a source's wording (Sensitivity/Response, Resistant, No Responsive, Adverse Response ...) as a direction."""
    text = significance.lower()
    if "toxicity" in text or "adverse" in text:
        return TOXICITY
    if any(word in text for word in ("resist", "no respons", "non-respons", "reduced sensitivity", "not sensitive")):
        return RESISTANCE
    if "sensitiv" in text or "respons" in text:
        return SENSITIVITY
    return ""


@dataclass(frozen=True)
class Hotspot:
    """A cancerhotspots.org residue: samples at the position and per alternative residue."""

    gene: str
    position: int
    ref: str
    position_count: int
    alt_counts: tuple[tuple[str, int], ...]
    #: Reference codon on the coding strand (from the Codon_Change column), "" when unknown.
    ref_codon: str = ""


@dataclass
class GeneRole:
    """Whether a gene is a known oncogene and/or tumour suppressor, and its driver domains."""

    gene: str
    oncogene: bool = False
    tumour_suppressor: bool = False
    #: Protein ranges of IntOGen domains with significant mutation clustering.
    domains: list[tuple[int, int]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    #: The role each source gives: IntOGen and CGI ("Act"/"LoF"/"ambiguous" per cohort, oncogene/suppressor),
    #: NCG (oncogene/tsg) and the CPSR predisposition panel's mechanism (GoF/LoF).
    roles: dict[str, set[str]] = field(default_factory=dict)

    @property
    def mechanism(self) -> str:
        """activating, inactivating or "" (unknown/both): the first source with a one-sided role decides.

        Order: IntOGen (somatic driver analysis), CGI, CPSR's predisposition mechanism, NCG. POLE, ambiguous in
        IntOGen and CGI, is gain-of-function in CPSR: its oncogenic mutations are activating (exonuclease-domain
        missense), so a gene-level "POLE mutation" item does not apply to a POLE frameshift.
        """
        for source in ("IntOGen", "CGI", "CPSR", "NCG"):
            roles = self.roles.get(source, set())
            activating, inactivating = bool(roles & {"Act", "oncogene", "GoF"}), bool(roles & {"LoF", "suppressor",
                                                                                              "tsg"})
            if activating != inactivating:
                return "activating" if activating else "inactivating"
        return ""


@dataclass(frozen=True)
class SourceFile:
    """Provenance of one imported file."""

    path: str
    bytes: int
    sha256: str
    records: int
    #: Release/origin and licence as MANIFEST.tsv records them ("" when the manifest has no row).
    release: str = ""
    licence: str = ""


@dataclass
class KnowledgeBase:
    """All biomarkers and evidence, indexed for matching, with the provenance of every source file."""

    evidence: list[EvidenceItem]
    hotspots: dict[tuple[str, int], Hotspot]
    #: GRCh38 hotspot alleles -> (gene, protein change) from the maftools table.
    hotspot_alleles: dict[tuple[str, int, str, str], tuple[str, str]]
    #: GRCh38 alleles in the CGI catalogue of validated oncogenic mutations -> the catalogue's sources.
    oncogenic_alleles: dict[tuple[str, int, str, str], frozenset[str]]
    genes: dict[str, GeneRole]
    sources: list[SourceFile]
    oncotree: OncoTree
    #: Count of source records that could not be turned into a matchable biomarker, per reason.
    skipped: Counter = field(default_factory=Counter)
    by_gene: dict[str, list[EvidenceItem]] = field(default_factory=dict)
    #: One name per drug across every source (aliases unified).
    drugs: DrugNames = field(init=False)

    def __post_init__(self) -> None:
        index: dict[str, list[EvidenceItem]] = defaultdict(list)
        for item in self.evidence:
            index[item.biomarker.gene].append(item)
        self.by_gene = dict(index)
        self.drugs = DrugNames(drug for item in self.evidence for therapy in item.therapies for drug in therapy.drugs)

    def search(self, *, gene: str | None = None, alteration: str | None = None,
               tumour_type: str | None = None) -> list[EvidenceItem]:
        """Evidence filtered by gene, alteration text and tumour type (including its parents)."""
        items = self.by_gene.get(gene.upper(), []) if gene else self.evidence
        if alteration:
            wanted = alteration.upper().removeprefix("P.")
            items = [item for item in items if wanted in item.biomarker.alteration.upper()]
        if tumour_type:
            lineage = set(self.oncotree.ancestors(tumour_type))
            items = [item for item in items if item.tumour_type in lineage]
        return list(items)

    def with_curation(self, *, live: Iterable[EvidenceItem] = (),
                      retired_ids: Iterable[str] = ()) -> KnowledgeBase:
        """A copy with curated items live (an item with an existing id replaces it) and retired ids removed."""
        live = list(live)
        replaced = {item.id for item in live} | set(retired_ids)
        kept = [item for item in self.evidence if item.id not in replaced]
        return KnowledgeBase(kept + list(live), self.hotspots, self.hotspot_alleles, self.oncogenic_alleles,
                             self.genes, self.sources, self.oncotree, Counter(self.skipped))

    def provenance(self) -> list[dict[str, object]]:
        """Source files with size, checksum and record count, for result provenance."""
        return [vars(source).copy() for source in self.sources]


def _source(path: Path, records: int, root: Path) -> SourceFile:
    """Checksums a source file for provenance and adds its release and licence from the reference-data manifest."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        name = str(path.relative_to(root))
    except ValueError:
        name = path.name
    release, licence = file_provenance(path, root=root)
    return SourceFile(name, path.stat().st_size, digest, records, release, licence)


def _lift(chain: ChainMap, chrom: str, pos: int, ref: str, alt: str) -> tuple[str, int, str, str] | None:
    """Lifts a GRCh37 SNV/indel to GRCh38, None when it does not map."""
    if not (ref and alt and set(ref + alt) <= set("ACGT")):
        return None
    return chain.lift_allele(chrom, pos, ref, alt)


def parse_alteration(gene: str, text: str) -> Biomarker:
    """Reads a CIViC/MOAlmanac-style alteration name into a biomarker at the right level."""
    name = text.strip()
    upper = name.upper()
    bare = re.sub(r"\s*\(C\.[^)]*\)\s*$", "", upper).strip().removeprefix("P.")
    if bare in {"AMPLIFICATION", "COPY NUMBER GAIN", "GAIN"}:
        return Biomarker(gene, "amplification", name)
    if bare in {"DELETION", "LOSS", "COPY NUMBER LOSS", "HOMOZYGOUS DELETION", "DELETION AND MUTATION"}:
        return Biomarker(gene, "deletion", name)
    if bare in {"MUTATION", "ANY MUTATION", "SOMATIC MUTATION", "ONCOGENIC MUTATION"}:
        return Biomarker(gene, "gene", name)
    if any(word in bare for word in _ACTIVATING_WORDS):
        return Biomarker(gene, "gene", name, alteration_class="activating")
    if any(word in bare for word in _INACTIVATING_WORDS):
        return Biomarker(gene, "gene", name, alteration_class="inactivating")
    if any(word in bare for word in _TRUNCATING_WORDS):
        return Biomarker(gene, "truncating", name)
    if "FUSION" in bare or "REARRANGEMENT" in bare or "TRANSLOCATION" in bare:
        return Biomarker(gene, "fusion", name)
    if match := re.match(r"^([A-Z0-9]+)-([A-Z0-9]+)(?:\s|$)", bare):
        left, right = match.groups()
        if not re.match(r"^[A-Z]\d+$", left) and (gene.startswith(left) or gene.startswith(right)):
            return Biomarker(gene, "fusion", name, partner=left if gene.startswith(right) else right)
    if bare in {"ITD", "INTERNAL TANDEM DUPLICATION"}:
        # FLT3-ITDs lie in the juxtamembrane domain and first kinase domain (residues ~572-651).
        if gene == "FLT3":
            return Biomarker(gene, "region", name, aa_start=572, aa_end=651, consequence="insertion")
        return Biomarker(gene, "gene", name, consequence="insertion")
    if match := _EXON_RE.match(bare):
        family = {"DELETION": "deletion", "INSERTION": "insertion", "FRAMESHIFT": "truncating",
                  "SKIPPING MUTATION": "splice"}.get(match.group(3))
        return Biomarker(gene, "exon", name, exon=int(match.group(1)), consequence=family)
    # One-letter HGVS keywords are lower case (fs, del, ins): try the source's own spelling first.
    original = re.sub(r"\s*\(c\.[^)]*\)\s*$", "", name).strip().split()
    protein = parse_protein_change(original[0] if original else "") or parse_protein_change(
        bare.split()[0] if bare else "")
    if protein is not None:
        if protein.kind == "codon":
            return Biomarker(gene, "codon", name, protein, protein.start, protein.end)
        return Biomarker(gene, "exact", name, protein, protein.start, protein.end)
    return Biomarker(gene, "other", name)


def _level(source: str, written: str, where: str) -> tuple[str, bool]:
    """(AMP level, states an indication) for a source level, KnowledgeBaseError naming where it was written."""
    try:
        mapping = level_mapping(source, written)
    except EvidenceLevelError as exc:
        raise KnowledgeBaseError(f"{where}: {exc}") from exc
    return mapping.amp_level, mapping.states_indication


def _regimens(parse: Callable[..., tuple[Therapy, ...]], where: str, *cells: str) -> tuple[Therapy, ...]:
    """A source's therapy cell read into regimens, KnowledgeBaseError naming where it was written."""
    try:
        return parse(*cells)
    except TherapyParseError as exc:
        raise KnowledgeBaseError(f"{where}: {exc}") from exc


def load_civic(path: Path, oncotree: OncoTree, chain: ChainMap, skipped: Counter) -> list[EvidenceItem]:
    """Imports accepted CIViC clinical evidence summaries (GRCh37 coordinates lifted to GRCh38)."""
    items: list[EvidenceItem] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        needed = {"gene", "variant", "disease", "evidence_type", "evidence_level", "evidence_id"}
        if missing := needed - set(reader.fieldnames or []):
            raise KnowledgeBaseError(f"{path.name} line 1: missing columns {sorted(missing)}")
        for line_no, row in enumerate(reader, start=2):
            if row.get("evidence_status", "accepted") != "accepted":
                continue
            where = f"{path.name} line {line_no}"
            written = row["evidence_level"].strip().upper()
            level, indication = _level("CIViC", written, where)
            gene = row["gene"].strip().upper()
            biomarker = parse_alteration(gene, row["variant"])
            genomic = None
            if row.get("start") and row.get("reference_bases") and row.get("variant_bases") and not row.get("chromosome2"):
                genomic = _lift(chain, row["chromosome"], int(row["start"]), row["reference_bases"], row["variant_bases"])
            if genomic and biomarker.level in {"exact", "other"}:
                biomarker = Biomarker(gene, "exact", biomarker.alteration, biomarker.protein,
                                      biomarker.aa_start, biomarker.aa_end, genomic=genomic)
            if biomarker.level == "other":
                skipped["civic_unmatchable_alteration"] += 1
            citation = f"PMID:{row['pubmed_id']}" if row.get("pubmed_id") else ""
            tumour = oncotree.resolve_disease(row["disease"])
            items.append(EvidenceItem(
                id=f"CIViC:EID{row['evidence_id']}", source="CIViC", biomarker=biomarker,
                evidence_type=row["evidence_type"].strip().lower(), level=level, source_level=written,
                supports=row.get("evidence_direction", "Supports").strip() != "Does Not Support",
                significance=row.get("clinical_significance", "").strip(), disease=row["disease"].strip(),
                tumour_type=tumour, therapies=_regimens(parse_civic, f"{where} (drugs)", row.get("drugs", "")),
                citations=(citation,) if citation else (),
                origin="germline" if "germline" in row.get("variant_origin", "").lower() else "somatic",
                tumour_agnostic=indication and tumour == ROOT,
                scope="solid" if "solid" in row["disease"].lower() else "",
            ))
    return items


def _cgi_biomarker(gene: str, row: dict[str, str], chain: ChainMap) -> Biomarker:
    """Reads one CGI per-variant row (Alteration, individual_mutation, gDNA) into a biomarker."""
    alteration_type = row["Alteration type"].strip()
    alteration = row["Alteration"].strip()
    if alteration_type == "CNA":
        kind = alteration.split(":", 1)[-1].lower()
        return Biomarker(gene, "amplification" if kind.startswith("amp") else "deletion", alteration)
    if alteration_type == "FUS":
        left, _, right = alteration.partition("__")
        partner = right if left == gene else left
        return Biomarker(gene, "fusion", alteration, partner=None if partner in {".", ""} else partner)
    if alteration_type != "MUT":
        return Biomarker(gene, "other", alteration)
    individual = row.get("individual_mutation", "").strip()
    if individual and ":" in individual:
        protein = parse_protein_change(individual.split(":", 1)[1])
        genomic = None
        if match := _CGI_GDNA_RE.match(row.get("gDNA", "").strip()):
            genomic = _lift(chain, match.group(1), int(match.group(2)), match.group(3), match.group(4))
        if protein is not None:
            level = "codon" if protein.kind == "codon" else "exact"
            return Biomarker(gene, level, individual, protein, protein.start, protein.end, genomic=genomic)
    detail = alteration.split(":", 1)[1] if ":" in alteration else ""
    if detail == ".":
        return Biomarker(gene, "gene", alteration)
    if match := re.fullmatch(r"(\d+)-(\d+)", detail):
        # A residue range without a stated consequence (POLE:268-471, the exonuclease domain): the gene's
        # mechanism decides which changes it means (matching.class_fits).
        return Biomarker(gene, "region", alteration, aa_start=int(match.group(1)), aa_end=int(match.group(2)))
    if match := _CGI_REGION_RE.search(alteration):
        consequence, start, end = match.groups()
        family = "deletion" if "deletion" in consequence else "insertion" if "insertion" in consequence else None
        return Biomarker(gene, "region", alteration, aa_start=int(start), aa_end=int(end), consequence=family)
    if "::consequence::" in alteration and any(word in alteration for word in ("frameshift", "stop_gained")):
        return Biomarker(gene, "truncating", alteration)
    codons = [parse_protein_change(part) for part in detail.split(",")]
    if len(codons) == 1 and codons[0] is not None and codons[0].kind == "codon":
        return Biomarker(gene, "codon", alteration, codons[0], codons[0].start, codons[0].end)
    return Biomarker(gene, "other", alteration)


def load_cgi(path: Path, oncotree: OncoTree, chain: ChainMap, skipped: Counter) -> list[EvidenceItem]:
    """Imports the CGI cancer biomarkers (per-variant table), one item per row and tumour type."""
    items: list[EvidenceItem] = []
    seen: set[tuple[object, ...]] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        needed = {"Alteration", "Alteration type", "Association", "Drug", "Evidence level", "Gene"}
        if missing := needed - set(reader.fieldnames or []):
            raise KnowledgeBaseError(f"{path.name} line 1: missing columns {sorted(missing)}")
        for line_no, row in enumerate(reader, start=2):
            if ";" in row["Alteration type"]:
                skipped["cgi_composite_biomarker"] += 1  # co-occurring alterations: all must be present
                continue
            where = f"{path.name} line {line_no}"
            level, indication = _level("CGI", row["Evidence level"], where)
            gene = row["Gene"].strip().upper()
            biomarker = _cgi_biomarker(gene, row, chain)
            if biomarker.level == "other":
                skipped["cgi_unmatchable_alteration"] += 1
            drugs = _regimens(parse_cgi, f"{where} (Drug)", row["Drug"], row.get("Drug family", ""))
            association = row["Association"].strip()
            acronyms = row.get("Primary Tumor acronym", "").split(";")
            names = row.get("Primary Tumor type", "").split(";")
            for index, acronym in enumerate(acronyms):
                name = names[index] if index < len(names) else acronym
                tumour = oncotree.resolve_disease(name) or oncotree.resolve_disease(acronym)
                if acronym.strip() == "CANCER":
                    tumour = ROOT
                key = (biomarker, drugs, association, tumour, level)
                if key in seen:  # the per-variant table repeats a row per listed individual mutation
                    continue
                seen.add(key)
                citations = tuple(c.strip() for c in row.get("Source", "").split(";") if c.strip())
                items.append(EvidenceItem(
                    id=f"CGI:{line_no}" + (f".{index + 1}" if len(acronyms) > 1 else ""), source="CGI",
                    biomarker=biomarker, evidence_type="predictive", level=level, source_level=row["Evidence level"],
                    # "No Responsive" is a statement of non-response (resistance), not a refuted one.
                    supports=True, significance=association, disease=name.strip(), tumour_type=tumour,
                    therapies=drugs, citations=citations,
                    # Toxicity biomarkers (DPYD, TPMT, UGT1A1) are inherited pharmacogenomic variants.
                    origin="germline" if therapy_direction(association) == TOXICITY else "somatic",
                    tumour_agnostic=indication and tumour == ROOT,
                ))
    return items


def load_moalmanac(path: Path, oncotree: OncoTree, chain: ChainMap, skipped: Counter) -> list[EvidenceItem]:
    """Imports Molecular Oncology Almanac assertions for variants, copy number and rearrangements."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))["content"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise KnowledgeBaseError(f"{path.name}: not a MOAlmanac release JSON with a 'content' list ({exc})") from exc
    items: list[EvidenceItem] = []
    for record in content:
        if record.get("_deprecated"):
            continue
        feature = record.get("feature_type", "")
        if feature in {"Somatic Variant", "Germline Variant"}:
            gene = str(record.get("gene", "")).upper()
            change = str(record.get("protein_change") or "")
            annotation = str(record.get("variant_annotation") or "")
            family = MOALMANAC_FAMILIES.get(annotation.lower())
            exon = record.get("exon")
            if change:
                biomarker = parse_alteration(gene, change)
            elif str(exon).isdigit():
                # At exon level a splice-site biomarker means exon skipping (MET exon 14), not truncation.
                family = "splice" if annotation.lower() == "splice site" else family
                biomarker = Biomarker(gene, "exon", f"exon {exon} {annotation or 'mutation'}".strip(),
                                      exon=int(exon), consequence=family)
            elif family == "truncating":
                biomarker = Biomarker(gene, "truncating", annotation)
            else:
                biomarker = Biomarker(gene, "gene", annotation or "Mutation", consequence=family)
            start, ref, alt = record.get("start_position"), record.get("reference_allele"), record.get("alternate_allele")
            if start and ref and alt and biomarker.level == "exact":
                genomic = _lift(chain, str(record["chromosome"]), int(start), str(ref), str(alt))
                biomarker = Biomarker(gene, "exact", biomarker.alteration, biomarker.protein,
                                      biomarker.aa_start, biomarker.aa_end, genomic=genomic)
        elif feature == "Copy Number":
            direction = str(record.get("direction", "")).lower()
            level = "amplification" if "amp" in direction else "deletion"
            biomarker = Biomarker(str(record.get("gene", "")).upper(), level, record.get("direction", ""))
        elif feature == "Rearrangement":
            gene1, gene2 = str(record.get("gene1") or "").upper(), str(record.get("gene2") or "").upper()
            gene = gene2 if gene2 and gene1 in {"", "BCR", "EML4", "TMPRSS2"} else gene1 or gene2
            partner = (gene1 if gene == gene2 else gene2) or None
            biomarker = Biomarker(gene, "fusion", record.get("feature_display", ""), partner=partner)
        else:
            skipped[f"moalmanac_{feature.lower().replace(' ', '_')}"] += 1
            continue
        if record.get("therapy_name"):
            evidence_type = "predictive"
            if record.get("therapy_resistance") == 1:
                significance = "Resistance"
            elif record.get("therapy_sensitivity") == 1:
                significance = "Sensitivity/Response"
            elif record.get("therapy_sensitivity") == 0:
                significance = "Not sensitive (non-response)"  # MOAlmanac: 0 asserts the tumour is not sensitive
            else:
                skipped["moalmanac_therapy_without_direction"] += 1
                continue
        elif record.get("favorable_prognosis") in (0, 1):
            evidence_type = "prognostic"
            significance = "Better Outcome" if record["favorable_prognosis"] == 1 else "Poor Outcome"
        elif record.get("diagnostic") or feature == "Germline Variant":
            evidence_type = "diagnostic" if feature != "Germline Variant" else "predisposing"
            significance = "Positive"
        else:
            skipped["moalmanac_no_implication"] += 1
            continue
        implication = str(record.get("predictive_implication", ""))
        where = f"{path.name} assertion {record.get('assertion_id')}"
        level, indication = _level("MOAlmanac", implication, where)
        term = record.get("oncotree_code") or record.get("oncotree_term") or record.get("disease", "")
        tumour = oncotree.resolve_disease(str(term)) or oncotree.resolve_disease(str(record.get("disease", "")))
        citations = tuple(
            str(value) for value in (f"PMID:{record['pmid']}" if record.get("pmid") else "", record.get("url", ""))
            if value
        )
        therapies = _regimens(parse_moalmanac, f"{where} (therapy_name)", str(record.get("therapy_name") or ""))
        disease = str(record.get("disease", ""))
        solid = tumour == ROOT and "solid" in f"{term} {record.get('oncotree_term', '')}".lower()
        items.append(EvidenceItem(
            id=f"MOAlmanac:{record.get('assertion_id')}", source="MOAlmanac", biomarker=biomarker,
            evidence_type=evidence_type, level=level, source_level=implication,
            supports=True, significance=significance, disease=disease, tumour_type=tumour,
            therapies=therapies, citations=citations,
            origin="germline" if feature == "Germline Variant" else "somatic",
            tumour_agnostic=indication and tumour == ROOT, scope="solid" if solid else "",
        ))
    return items


def load_hotspots(path: Path) -> dict[tuple[str, int], Hotspot]:
    """Reads cancerhotspots.org v2 single-residue hotspots: counts at the residue and per new residue."""
    counts: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    meta: dict[tuple[str, int], tuple[str, int]] = {}
    codons: dict[tuple[str, int], str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        for line_no, row in enumerate(reader, start=2):
            position = row.get("Amino_Acid_Position", "")
            if not position.isdigit():
                continue  # in-frame indel hotspot ranges are not single residues
            try:
                ref = row["Reference_Amino_Acid"].split(":")[0]
                alt, alt_count = row["Variant_Amino_Acid"].split(":")
                key = (row["Hugo_Symbol"].upper(), int(position))
                counts[key][alt] = int(alt_count)
                meta[key] = (ref, int(row["Mutation_Count"]))
                for change in row.get("Codon_Change", "").split("|"):
                    codon = change.split("/")[0]
                    if len(codon) == 3:
                        codons.setdefault(key, codon.upper())
            except (KeyError, ValueError) as exc:
                raise KnowledgeBaseError(f"{path.name} line {line_no}: cannot read hotspot row ({exc})") from exc
    return {
        key: Hotspot(key[0], key[1], meta[key][0], meta[key][1], tuple(sorted(alts.items())), codons.get(key, ""))
        for key, alts in counts.items()
    }


def load_hotspot_alleles(path: Path) -> dict[tuple[str, int, str, str], tuple[str, str]]:
    """Reads the maftools GRCh38 hotspot allele table (chrom, pos, ref, alt, gene, class, protein change)."""
    alleles: dict[tuple[str, int, str, str], tuple[str, str]] = {}
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 7:
                raise KnowledgeBaseError(f"{path.name} line {line_no}: {len(fields)} columns, 7 expected")
            chrom, pos, ref, alt, gene, _kind, change = fields[:7]
            alleles[(chrom.removeprefix("chr"), int(pos), ref, alt)] = (gene.upper(), change)
    return alleles


def load_oncogenic_alleles(path: Path, chain: ChainMap) -> dict[tuple[str, int, str, str], frozenset[str]]:
    """Reads the CGI catalogue of validated oncogenic mutations (GRCh37 BED) as GRCh38 alleles -> sources."""
    alleles: dict[tuple[str, int, str, str], frozenset[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 10:
                raise KnowledgeBaseError(f"{path.name} line {line_no}: {len(fields)} columns, 10 expected")
            lifted = _lift(chain, fields[0], int(fields[1]) + 1, fields[3], fields[4])
            if lifted:
                sources = frozenset(source.strip() for source in fields[9].split(",") if source.strip())
                alleles[lifted] = alleles.get(lifted, frozenset()) | sources
    return alleles


def load_gene_roles(intogen: Path, cgi_genes: Path, ncg: Path | None,
                    cpsr: dict[str, CpsrGene] | None = None) -> dict[str, GeneRole]:
    """Oncogene / tumour-suppressor roles and driver domains from IntOGen, CGI and NCG (+ CPSR's mechanisms)."""
    roles: dict[str, GeneRole] = {}

    def role(gene: str) -> GeneRole:
        return roles.setdefault(gene, GeneRole(gene))

    with intogen.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            entry = role(row["SYMBOL"].upper())
            entry.sources.add("IntOGen")
            entry.roles.setdefault("IntOGen", set()).add(row["ROLE"])
            if row["ROLE"] == "Act":
                entry.oncogene = True
            elif row["ROLE"] == "LoF":
                entry.tumour_suppressor = True
            for domain in filter(None, row.get("DOMAIN", "").split(",")):
                parts = domain.split(":")
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    span = (int(parts[1]), int(parts[2]))
                    if span not in entry.domains:
                        entry.domains.append(span)
    with gzip.open(cgi_genes, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            entry = role(fields[3].upper())
            entry.sources.add("CGI")
            entry.roles.setdefault("CGI", set()).add(fields[4])
            entry.oncogene |= fields[4] == "oncogene"
            entry.tumour_suppressor |= fields[4] == "suppressor"
    if ncg is not None and ncg.exists():
        with ncg.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                oncogene, tsg = row.get("NCG_oncogene") == "1", row.get("NCG_tsg") == "1"
                if oncogene or tsg:
                    entry = role(row["symbol"].upper())
                    entry.sources.add("NCG")
                    entry.roles.setdefault("NCG", set()).update(
                        name for name, flag in (("oncogene", oncogene), ("tsg", tsg)) if flag)
                    entry.oncogene |= oncogene
                    entry.tumour_suppressor |= tsg
    for gene, panel in (cpsr or {}).items():
        if panel.mechanism and gene in roles:  # the mechanism sharpens a known cancer gene; it adds none
            roles[gene].roles["CPSR"] = set(panel.mechanism.split("/"))
    return roles


def build_knowledgebase(refdata: Path) -> KnowledgeBase:
    """Imports every cancer source under refdata/cancer into one knowledge base (GRCh38 coordinates)."""
    cancer = refdata / "cancer"
    chain = load_chain(str(refdata / "liftover" / "hg19ToHg38.over.chain.gz"))
    oncotree = load_oncotree(str(refdata.joinpath(*ONCOTREE_FILE)))
    skipped: Counter = Counter()
    paths = {
        "civic": cancer / "civic" / "nightly-ClinicalEvidenceSummaries.tsv",
        "cgi": cancer / "kb" / "cgi" / "cgi_biomarkers_per_variant_2017.tsv",
        "moalmanac": cancer / "kb" / "moalmanac" / "molecular-oncology-almanac.json",
        "hotspots": cancer / "hotspots" / "cancerhotspots_v2.txt",
        "hotspot_alleles": cancer / "hotspots" / "maftools_cancerhotspots_v2_GRCh38.tsv",
        "oncogenic": cancer / "kb" / "cgi" / "crab_cgi_onco_muts.bed.gz",
        "intogen": cancer / "genes" / "intogen_Compendium_Cancer_Genes_2020.tsv",
        "cgi_genes": cancer / "kb" / "cgi" / "crab_cgi_cancer_genes_ccg.bed.gz",
        "ncg": cancer / "genes" / "ncg_network_of_cancer_genes.tsv",
        "oncotree": refdata.joinpath(*ONCOTREE_FILE),
        "cpsr": refdata.joinpath(*CPSR_PANEL),
        "chain": refdata / "liftover" / "hg19ToHg38.over.chain.gz",
    }
    for name, path in paths.items():
        if not path.exists():
            raise KnowledgeBaseError(f"knowledge-base source {name} missing: {path} (is GMC_REFDATA complete?)")
    civic = load_civic(paths["civic"], oncotree, chain, skipped)
    cgi = load_cgi(paths["cgi"], oncotree, chain, skipped)
    moalmanac = load_moalmanac(paths["moalmanac"], oncotree, chain, skipped)
    hotspots = load_hotspots(paths["hotspots"])
    hotspot_alleles = load_hotspot_alleles(paths["hotspot_alleles"])
    oncogenic = load_oncogenic_alleles(paths["oncogenic"], chain)
    cpsr = read_cpsr_panel(paths["cpsr"])
    genes = load_gene_roles(paths["intogen"], paths["cgi_genes"], paths["ncg"], cpsr)
    records = {
        "civic": len(civic), "cgi": len(cgi), "moalmanac": len(moalmanac), "hotspots": len(hotspots),
        "hotspot_alleles": len(hotspot_alleles), "oncogenic": len(oncogenic), "intogen": len(genes),
        "cgi_genes": len(genes), "ncg": len(genes), "oncotree": len(oncotree.codes()), "cpsr": len(cpsr),
        "chain": 0,
    }
    sources = [_source(path, records[name], refdata) for name, path in paths.items()]
    return KnowledgeBase(civic + cgi + moalmanac, hotspots, hotspot_alleles, oncogenic, genes, sources,
                         oncotree, skipped)


@lru_cache(maxsize=2)
def load_knowledgebase(refdata: str | None = None) -> KnowledgeBase:
    """The knowledge base built from GMC_REFDATA (or a given directory), once per process."""
    if refdata is None:
        from gmc.settings import get_settings

        refdata = str(get_settings().refdata_dir())
    return build_knowledgebase(Path(refdata))


def evidence_to_dict(item: EvidenceItem) -> dict[str, object]:
    """A plain, JSON-ready form of an evidence item (for the search API and curation storage)."""
    marker = item.biomarker
    return {
        "id": item.id, "source": item.source, "gene": marker.gene, "alteration": marker.alteration,
        "biomarker_level": marker.level, "genomic_grch38": "-".join(map(str, marker.genomic)) if marker.genomic else None,
        "evidence_type": item.evidence_type, "level": item.level, "source_level": item.source_level,
        "supports": item.supports, "significance": item.significance, "disease": item.disease,
        "tumour_type": item.tumour_type, "therapies": [therapy.label for therapy in item.therapies],
        "citations": list(item.citations), "origin": item.origin, "tumour_agnostic": item.tumour_agnostic,
        "scope": item.scope,
    }


def evidence_from_dict(record: dict[str, object], oncotree: OncoTree, *, stored: bool = False) -> EvidenceItem:
    """Builds an evidence item from a curated record, checking every field (CuratedEvidenceError names it).

    `stored` is for records approved before the therapy grammar existed: a therapy that no longer parses is kept
    whole as a list whose combination is not stated, rather than making the live knowledge base unloadable.
    """

    def text(name: str, required: bool = True) -> str:
        value = record.get(name)
        if value is None or str(value).strip() == "":
            if required:
                raise CuratedEvidenceError(f"curated evidence field {name!r} is required")
            return ""
        return str(value).strip()

    evidence_id, gene, alteration = text("id"), text("gene").upper(), text("alteration")
    evidence_type = text("evidence_type").lower()
    if evidence_type not in EVIDENCE_TYPES:
        raise CuratedEvidenceError(f"curated evidence field 'evidence_type' must be one of {', '.join(EVIDENCE_TYPES)}, "
                                   f"got {evidence_type!r}")
    level = text("level").upper()
    if level not in {"A", "B", "C", "D", "E"}:
        raise CuratedEvidenceError(f"curated evidence field 'level' must be A-E (AMP/ASCO/CAP), got {level!r}")
    biomarker = parse_alteration(gene, alteration)
    if genomic := text("genomic_grch38", required=False):
        parts = genomic.replace(":", "-").split("-")
        if len(parts) != 4 or not parts[1].isdigit():
            raise CuratedEvidenceError("curated evidence field 'genomic_grch38' must be CHROM-POS-REF-ALT")
        biomarker = Biomarker(gene, "exact", alteration, biomarker.protein, biomarker.aa_start, biomarker.aa_end,
                              genomic=(parts[0].removeprefix("chr"), int(parts[1]), parts[2], parts[3]))
    if biomarker.level == "other":
        raise CuratedEvidenceError(f"curated evidence field 'alteration': {alteration!r} is not a variant, codon, "
                                   "exon, truncating, mutation, amplification, deletion or fusion biomarker")
    code = text("tumour_type", required=False)
    disease = text("disease", required=not code)
    if code:
        try:
            tumour = oncotree.get(code).code
        except UnknownTumourTypeError as exc:
            raise CuratedEvidenceError(f"curated evidence field 'tumour_type': {exc}") from exc
    else:
        tumour = oncotree.resolve_disease(disease)
        if tumour is None:
            raise CuratedEvidenceError(f"curated evidence field 'disease': {disease!r} does not map to OncoTree; "
                                       "give 'tumour_type' as an OncoTree code")

    def listed(name: str) -> tuple[str, ...]:
        value = record.get(name) or ()
        items = value.split(";") if isinstance(value, str) else value
        return tuple(str(entry).strip() for entry in items if str(entry).strip())  # type: ignore[union-attr]

    regimens = []
    for entry in listed("therapies"):
        try:
            regimens.append(parse_regimen(entry))
        except TherapyParseError as exc:
            if not stored:
                raise CuratedEvidenceError(f"curated evidence field 'therapies': {exc}") from exc
            regimens.extend(parse_civic(entry))
    therapies = tuple(regimens)
    agnostic = record.get("tumour_agnostic") in (True, "true", "True", "1", 1, "on")
    if agnostic and (tumour != ROOT or level != "A"):
        raise CuratedEvidenceError("curated evidence field 'tumour_agnostic': a tumour-agnostic indication is a level "
                                   "A approval or guideline recorded for tumour type TISSUE")
    scope = text("scope", required=False).lower()
    if scope not in {"", "solid"}:
        raise CuratedEvidenceError(f"curated evidence field 'scope' must be empty or 'solid', got {scope!r}")
    return EvidenceItem(
        id=evidence_id, source=text("source", required=False) or "gmc-curated", biomarker=biomarker,
        evidence_type=evidence_type, level=level, source_level=text("source_level", required=False) or level,
        supports=bool(record.get("supports", True)), significance=text("significance"),
        disease=disease or oncotree.nodes[tumour].name, tumour_type=tumour, therapies=therapies,
        citations=listed("citations"), origin=text("origin", required=False) or "somatic",
        tumour_agnostic=agnostic, scope=scope,
    )
