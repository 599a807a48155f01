"""ACMG/AMP 2015 criteria evaluated from the data at hand, combined with the Tavtigian 2020 points scheme.

Automatic criteria and the choices made where the guideline leaves room:

- PVS1 (ClinGen SVI, Abou Tayoun 2018 decision tree): a null variant (stop_gained, frameshift, canonical
  splice site, start_lost, transcript_ablation) in a gene where loss of function is an established disease
  mechanism: ClinGen haploinsufficiency score 3, ClinGen score 30 (recessive gene: biallelic loss of function
  is the mechanism), or at least ``CLINVAR_NULL_MECHANISM`` null variants classified P/LP in ClinVar. gnomAD
  LOEUF alone is constraint, not a mechanism, and never makes PVS1 (it is named in the reason). Strength from
  the transcript facts (``NullVariantContext``): nonsense/frameshift predicted to undergo NMD: very strong;
  escaping NMD (last exon, last 50 nt of the penultimate): strong when it removes more than 10 % of the
  protein, moderate otherwise; canonical splice site: very strong when skipping the exon shifts the frame and
  NMD is predicted, else strong / moderate by the share of the protein the exon codes (> 10 %); initiation
  codon: moderate. An alternative exon (skipped by most of the gene's protein-coding isoforms that span it)
  lowers the strength one level; one that only some isoforms skip is named in the reason. Without transcript facts, the caller's NMD flag decides (very strong, or
  strong when it escapes).
- Gene-specific rules of the ClinGen expert panels (VCEPs) where refdata has them (``GeneRules``): BA1 and
  BS1 allele-frequency thresholds per gene replace the general ones, and the reason names the VCEP rule.
- PM2: applied at supporting strength (ClinGen SVI 2020) only when a population frequency source
  covered the site and the allele was absent or below the threshold (dominant: absent; recessive:
  AF <= 0.0001). With no frequency source PM2 is not met and the reason says it was not evaluable:
  absence from a source that does not cover the site is not evidence of rarity.
- BA1: AF > 0.05 (stand-alone benign). BS1: AF above the disease threshold (dominant 0.001,
  recessive or unknown 0.01) and not BA1.
- PS1 / PM5: a missense change whose protein change is in the ClinVar index, counting only entries
  classified pathogenic or likely pathogenic: the same amino-acid change from a different nucleotide change
  -> PS1 (strong; moderate when the entry is only likely pathogenic); a different amino-acid change at the
  same residue -> PM5 (moderate; supporting when only likely pathogenic). The index is keyed by gene + protein
  position.
- PP3 / BP4 (Pejaver 2022 calibration for REVEL, then CADD; SpliceAI >= 0.2 PP3 supporting, <= 0.1
  needed for BP4 when given, Walker 2023). PP3 is not applied to variants already meeting PVS1.
- PM4: in-frame insertion/deletion or stop_lost, not meeting PVS1 (moderate).
- BP7: synonymous with SpliceAI <= 0.1 (supporting).
- PS2 / PM6: de novo with both parents genotyped and parentage confirmed by the family's genotypes (strong) /
  both parents genotyped but parentage not confirmed (moderate). A heterozygous allele with a parent not
  tested is neither.
- PM3: in trans with a P/LP variant in a recessive gene: moderate when phase confirmed, supporting
  when not.
- PP1: co-segregation in affected relatives: 3 informative meioses supporting, 4 moderate, 5 or
  more strong (Jarvik & Browning 2016).

Points: supporting 1, moderate 2, strong 4, very strong 8 (negative for benign). Total >= 10
pathogenic, 6..9 likely pathogenic, 0..5 uncertain significance, -1..-6 likely benign, <= -7 benign;
BA1 alone makes a variant benign. A scientist can override any criterion (met or not, strength) with a
reason; the result keeps the automatic evaluation beside the override.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from gmc.genomics.annotation.genes import GeneKnowledgeError, read_clingen, read_constraint


class AcmgInputError(ValueError):
    """Evidence or a reference file for ACMG evaluation is malformed; the message names the field or line."""


class Strength(StrEnum):
    """Evidence strength of a criterion."""

    STAND_ALONE = "stand_alone"
    VERY_STRONG = "very_strong"
    STRONG = "strong"
    MODERATE = "moderate"
    SUPPORTING = "supporting"


class Direction(StrEnum):
    """Whether a criterion argues for or against pathogenicity."""

    PATHOGENIC = "pathogenic"
    BENIGN = "benign"


class Classification(StrEnum):
    """The five-tier ACMG/AMP classification."""

    PATHOGENIC = "Pathogenic"
    LIKELY_PATHOGENIC = "Likely pathogenic"
    UNCERTAIN = "Uncertain significance"
    LIKELY_BENIGN = "Likely benign"
    BENIGN = "Benign"


#: Tavtigian et al. 2020 points per strength (stand-alone counted as very strong for the total).
POINTS = {
    Strength.SUPPORTING: 1,
    Strength.MODERATE: 2,
    Strength.STRONG: 4,
    Strength.VERY_STRONG: 8,
    Strength.STAND_ALONE: 8,
}

#: Every ACMG/AMP 2015 criterion with its default strength and direction.
CRITERIA: dict[str, tuple[Strength, Direction]] = {
    "PVS1": (Strength.VERY_STRONG, Direction.PATHOGENIC),
    **{c: (Strength.STRONG, Direction.PATHOGENIC) for c in ("PS1", "PS2", "PS3", "PS4")},
    **{c: (Strength.MODERATE, Direction.PATHOGENIC) for c in ("PM1", "PM2", "PM3", "PM4", "PM5", "PM6")},
    **{c: (Strength.SUPPORTING, Direction.PATHOGENIC) for c in ("PP1", "PP2", "PP3", "PP4", "PP5")},
    "BA1": (Strength.STAND_ALONE, Direction.BENIGN),
    **{c: (Strength.STRONG, Direction.BENIGN) for c in ("BS1", "BS2", "BS3", "BS4")},
    **{c: (Strength.SUPPORTING, Direction.BENIGN) for c in ("BP1", "BP2", "BP3", "BP4", "BP5", "BP6", "BP7")},
}

NULL_TERMS = frozenset(
    {
        "transcript_ablation",
        "stop_gained",
        "frameshift_variant",
        "splice_acceptor_variant",
        "splice_donor_variant",
        "start_lost",
        "initiator_codon_variant",
    }
)
INFRAME_TERMS = frozenset({"inframe_insertion", "inframe_deletion", "stop_lost"})

#: (lower bound inclusive, strength) for PP3 and (upper bound inclusive, strength) for BP4, Pejaver 2022 table 2.
REVEL_PP3 = ((0.932, Strength.STRONG), (0.773, Strength.MODERATE), (0.644, Strength.SUPPORTING))
REVEL_BP4 = (
    (0.003, Strength.VERY_STRONG),
    (0.016, Strength.STRONG),
    (0.183, Strength.MODERATE),
    (0.290, Strength.SUPPORTING),
)
CADD_PP3 = ((28.1, Strength.MODERATE), (25.3, Strength.SUPPORTING))
CADD_BP4 = ((0.15, Strength.STRONG), (17.3, Strength.MODERATE), (22.7, Strength.SUPPORTING))
SPLICEAI_PP3 = 0.2
SPLICEAI_BP4 = 0.1


@dataclass(frozen=True)
class FrequencyThresholds:
    """Population allele-frequency thresholds for BA1, BS1 and PM2."""

    ba1: float = 0.05
    bs1_dominant: float = 0.001
    bs1_recessive: float = 0.01
    pm2_recessive: float = 0.0001


@dataclass(frozen=True)
class LofMechanism:
    """Whether loss of function causes disease in a gene, and the evidence for it."""

    gene: str
    clingen_hi_score: int | None = None
    loeuf: float | None = None
    #: Null variants (nonsense, frameshift, canonical splice, start lost) classified P/LP in ClinVar.
    clinvar_null_plp: int = 0

    @property
    def is_mechanism(self) -> bool:
        """True when ClinGen HI is 3 or 30, or ClinVar holds enough P/LP null variants (LOEUF alone never)."""
        return self.clingen_hi_score in (3, 30) or self.clinvar_null_plp >= CLINVAR_NULL_MECHANISM

    def describe(self) -> str:
        """Returns the evidence as text for the criterion's reason."""
        parts = []
        if self.clingen_hi_score is not None:
            parts.append(f"ClinGen HI score {self.clingen_hi_score}")
        if self.clinvar_null_plp:
            parts.append(f"{self.clinvar_null_plp} P/LP null variants in ClinVar")
        if self.loeuf is not None:
            parts.append(f"gnomAD LOEUF {self.loeuf:.3g}")
        return ", ".join(parts) or "no dosage, ClinVar or constraint data"


#: ClinVar P/LP null variants in a gene from which loss of function counts as an established mechanism.
CLINVAR_NULL_MECHANISM = 2


def read_lof_mechanisms(
    clingen_path: Path,
    constraint_path: Path | None = None,
    gene_info_path: Path | None = None,
    clinvar_null_counts: Mapping[str, int] | None = None,
) -> dict[str, LofMechanism]:
    """Reads ClinGen haploinsufficiency, gnomAD LOEUF and ClinVar null-variant counts into gene -> LofMechanism."""
    # The annotation core owns the readers of these files; ACMG only reinterprets what they hold.
    try:
        dosage = read_clingen(Path(clingen_path))
        constraint = read_constraint(Path(constraint_path)) if constraint_path is not None else {}
    except GeneKnowledgeError as exc:
        raise AcmgInputError(str(exc)) from exc
    hi = {gene: int(d.haploinsufficiency) for gene, d in dosage.items() if d.haploinsufficiency.isdigit()}
    symbol_of = _ensembl_to_symbol(gene_info_path) if gene_info_path and constraint else {}
    loeuf = {symbol_of.get(gene, gene): c.loeuf for gene, c in constraint.items() if c.loeuf is not None}
    counts = dict(clinvar_null_counts or {})
    return {
        gene: LofMechanism(gene, hi.get(gene), loeuf.get(gene), counts.get(gene, 0))
        for gene in sorted(set(hi) | set(loeuf) | set(counts))
    }


#: ClinVar molecular consequences (MC) that make a variant a null variant for PVS1 purposes.
NULL_MOLECULAR_CONSEQUENCES = frozenset(
    {"nonsense", "stop_gained", "frameshift_variant", "splice_donor_variant", "splice_acceptor_variant",
     "initiator_codon_variant", "start_lost"}
)


def clinvar_null_counts(path: Path) -> dict[str, int]:
    """Counts each gene's ClinVar P/LP null variants (MC field) in a ClinVar VCF; errors name the line."""
    counts: dict[str, int] = defaultdict(int)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.startswith("#"):
                continue
            fields = line.split("\t", 8)
            if len(fields) < 8:
                raise AcmgInputError(f"{path}:{line_no}: expected 8 VCF columns, got {len(fields)}")
            info = fields[7]
            significance = _info_value(info, "CLNSIG")
            if not significance or not significance.lower().startswith(("pathogenic", "likely_pathogenic")):
                continue
            consequences = {item.split("|")[-1] for item in (_info_value(info, "MC") or "").split(",")}
            if consequences & NULL_MOLECULAR_CONSEQUENCES:
                gene = (_info_value(info, "GENEINFO") or "").split("|")[0].split(":")[0]
                if gene:
                    counts[gene] += 1
    return dict(counts)


def _info_value(info: str, key: str) -> str | None:
    start = info.find(key + "=")
    while start > 0 and info[start - 1] != ";":
        start = info.find(key + "=", start + 1)
    if start < 0:
        return None
    end = info.find(";", start)
    return info[start + len(key) + 1:end if end >= 0 else None].rstrip("\n")


@dataclass(frozen=True)
class GeneRule:
    """A ClinGen expert panel's (VCEP) gene-specific allele-frequency threshold for BA1 or BS1."""

    gene: str
    criterion: str
    strength: Strength
    #: (threshold, comparator) pairs, all of which must hold: comparators gt, gte, lt, lte.
    bounds: tuple[tuple[float, str], ...]
    #: Version of the VCEP specification ("" when unstated).
    version: str = ""
    #: The population measure the VCEP states (e.g. gnomAD filtering allele frequency, grpmax).
    measure: str = ""

    def holds(self, af: float) -> bool:
        """True when the allele frequency satisfies every bound of the rule."""
        tests = {"gt": af.__gt__, "gte": af.__ge__, "lt": af.__lt__, "lte": af.__le__}
        return all(tests[comparator](threshold) for threshold, comparator in self.bounds)

    def describe(self) -> str:
        """The rule as text for a criterion's reason."""
        words = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        bounds = " and ".join(f"{words[c]} {t:g}" for t, c in self.bounds)
        version = f" v{self.version}" if self.version else ""
        return f"ClinGen {self.gene} VCEP{version} {self.criterion} rule: {self.measure} {bounds}"


def read_gene_rules(path: Path) -> dict[str, list[GeneRule]]:
    """Reads VCEP frequency rules (symbol, criterion, vcep_version, evidence_level, property, thresholds,
    comparator) into gene -> rules; a malformed line raises AcmgInputError naming it."""
    rules: dict[str, list[GeneRule]] = defaultdict(list)
    strengths = {"stand_alone": Strength.STAND_ALONE, "strong": Strength.STRONG, "supporting": Strength.SUPPORTING,
                 "moderate": Strength.MODERATE, "very_strong": Strength.VERY_STRONG}
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        expected = ["symbol", "criterion", "vcep_version", "evidence_level", "property", "thresholds", "comparator"]
        if header != expected:
            raise AcmgInputError(f"{path}:1: expected columns {expected}, got {header}")
        for line_no, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            try:
                gene, code, version, level, measure, thresholds, comparators = cols
                values = [float(t) for t in thresholds.split(",")]
                ops = comparators.split(",")
                if code not in ("BA1", "BS1") or len(values) != len(ops) or not set(ops) <= {"gt", "gte", "lt", "lte"}:
                    raise ValueError(f"unusable rule {code} {thresholds} {comparators}")
                rules[gene].append(GeneRule(gene, code, strengths[level], tuple(zip(values, ops, strict=True)),
                                            "" if version == "." else version, measure))
            except (ValueError, KeyError) as exc:
                raise AcmgInputError(f"{path}:{line_no}: {exc}") from exc
    return dict(rules)


def _ensembl_to_symbol(gene_info_path: Path) -> dict[str, str]:
    opener = gzip.open if str(gene_info_path).endswith(".gz") else open
    mapping: dict[str, str] = {}
    with opener(gene_info_path, "rt", encoding="utf-8") as handle:
        header = handle.readline().lstrip("#").rstrip("\n").split("\t")
        symbol_col, ensembl_col = header.index("symbol"), header.index("ensembl_gene")
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) > ensembl_col and fields[ensembl_col]:
                for ensembl in fields[ensembl_col].split("|"):
                    mapping.setdefault(ensembl, fields[symbol_col])
    return mapping


_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U", "Ter": "*",
}  # fmt: skip
_PROTEIN_CHANGE = re.compile(r"p\.\(?([A-Z](?:[a-z]{2})?)(\d+)([A-Z](?:[a-z]{2})?|\*|=)\)?$")


@dataclass(frozen=True)
class ProteinChange:
    """A single-residue protein change parsed from HGVS p. (one-letter amino acids)."""

    ref: str
    position: int
    alt: str

    @property
    def is_missense(self) -> bool:
        """True for a change to a different, non-stop amino acid."""
        return self.alt not in {"*", "=", self.ref}


def parse_protein_change(hgvs_p: str) -> ProteinChange | None:
    """Parses 'NP_x:p.(Arg97Cys)', 'p.Arg97Ter' or 'p.R97C'; None for other kinds (frameshift, delins...)."""
    text = hgvs_p.strip().split(":")[-1]
    match = _PROTEIN_CHANGE.match(text)
    if not match:
        return None

    def one(code: str) -> str | None:
        if len(code) == 1:
            return code
        return _AA3.get(code)

    ref, alt = one(match.group(1)), one(match.group(3))
    if ref is None or alt is None:
        return None
    return ProteinChange(ref, int(match.group(2)), alt)


@dataclass(frozen=True)
class ClinVarEntry:
    """A ClinVar P/LP record: its genomic key, significance and protein change when known."""

    chrom: str
    pos: int
    ref: str
    alt: str
    gene: str
    significance: str
    protein_change: ProteinChange | None = None


@dataclass
class ClinVarIndex:
    """ClinVar P/LP variants by genomic key, and missense changes by gene + protein position."""

    by_variant: dict[tuple[str, int, str, str], ClinVarEntry] = field(default_factory=dict)
    by_residue: dict[tuple[str, int], list[ClinVarEntry]] = field(default_factory=lambda: defaultdict(list))

    def add(self, entry: ClinVarEntry) -> None:
        """Adds one record to both look-ups."""
        self.by_variant[(_chrom(entry.chrom), entry.pos, entry.ref, entry.alt)] = entry
        change = entry.protein_change
        if change is not None and change.is_missense:
            self.by_residue[(entry.gene.upper(), change.position)].append(entry)

    def lookup(self, chrom: str, pos: int, ref: str, alt: str) -> ClinVarEntry | None:
        """Returns the ClinVar record of this exact variant, if any."""
        return self.by_variant.get((_chrom(chrom), pos, ref, alt))

    def at_residue(self, gene: str, position: int) -> list[ClinVarEntry]:
        """Returns the P/LP missense records at one residue of a gene."""
        return list(self.by_residue.get((gene.upper(), position), ()))


def _chrom(chrom: str) -> str:
    return chrom.removeprefix("chr").removeprefix("CHR")


#: INFO keys that carry a protein change in ClinVar-derived VCFs (the NCBI file itself has none).
PROTEIN_INFO_KEYS = ("HGVSp", "HGVSP", "PROTEIN_CHANGE", "protein_change")


def read_clinvar_index(
    path: Path,
    *,
    protein_change_of: Callable[[str, int, str, str, str], str | None] | None = None,
) -> ClinVarIndex:
    """Builds a ClinVarIndex from a ClinVar VCF; protein changes from INFO or from protein_change_of()."""
    index = ClinVarIndex()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 8:
                raise AcmgInputError(f"{path}:{line_no}: expected 8 VCF columns, got {len(fields)}")
            chrom, pos_text, _, ref, alts, _, _, info_text = fields[:8]
            try:
                pos = int(pos_text)
            except ValueError as exc:
                raise AcmgInputError(f"{path}:{line_no}: POS {pos_text!r} is not a number") from exc
            info = dict(item.split("=", 1) if "=" in item else (item, "") for item in info_text.split(";"))
            gene = info.get("GENEINFO", "").split("|")[0].split(":")[0]
            significance = info.get("CLNSIG", "")
            hgvs_p = next((info[k] for k in PROTEIN_INFO_KEYS if info.get(k)), None)
            for alt in alts.split(","):
                text = hgvs_p or (
                    protein_change_of(chrom, pos, ref, alt, gene) if protein_change_of else None
                )
                change = parse_protein_change(text) if text else None
                index.add(ClinVarEntry(chrom, pos, ref, alt, gene, significance, change))
    return index


@dataclass(frozen=True)
class NullVariantContext:
    """Transcript facts the PVS1 decision tree reads for a null variant (from the annotation's transcript model)."""

    transcript: str
    #: 1-based exon the variant lies in (or whose splice site it changes), and the transcript's exon count.
    exon: int | None = None
    exon_count: int | None = None
    #: True when the premature stop lies upstream of the last 50 nt of the penultimate exon (NMD expected).
    nmd_predicted: bool | None = None
    #: Share of the protein removed or altered (from the variant's codon, or the skipped exon's coding length).
    protein_removed: float | None = None
    #: Canonical splice site: skipping the exon keeps the reading frame (its coding length is a multiple of 3).
    frame_preserved: bool | None = None
    #: Why the exon is alternative (skipped by most protein-coding isoforms): PVS1 one level lower.
    alternative_exon: str | None = None
    #: Isoforms skipping the exon when most keep it (said in the reason; the strength stands).
    isoform_note: str | None = None


@dataclass(frozen=True)
class VariantEvidence:
    """The facts about one variant that automatic ACMG criteria read."""

    gene: str
    consequences: frozenset[str]
    chrom: str | None = None
    pos: int | None = None
    ref: str | None = None
    alt: str | None = None
    hgvs_p: str | None = None
    #: True when the caller's annotation places a truncating variant where it escapes NMD.
    nmd_escape: bool | None = None
    #: Population AF (max over populations); meaningful only with frequency_source_covered.
    population_af: float | None = None
    #: True when a configured population frequency source covers this site.
    frequency_source_covered: bool = False
    #: "dominant", "recessive" or None (unknown) for the gene's disease mechanism.
    inheritance: str | None = None
    revel: float | None = None
    cadd_phred: float | None = None
    spliceai_max: float | None = None
    #: "confirmed" (both parents tested) or "assumed" de novo, or None.
    de_novo: str | None = None
    #: ClinVar class of a variant found in trans (recessive genes), e.g. "Pathogenic".
    in_trans_with: str | None = None
    #: True when the trans phase is confirmed by parental testing.
    in_trans_phase_confirmed: bool = False
    #: Informative meioses in which the variant co-segregates with the disease.
    segregation_meioses: int = 0
    #: Transcript facts for PVS1 (None: only the NMD flag above is known).
    null_context: NullVariantContext | None = None
    #: Where the in-silico scores came from (file names), for the PP3/BP4 reasons.
    score_sources: str = ""


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's outcome with its strength, the reason, and whether a scientist set it."""

    code: str
    met: bool
    strength: Strength
    direction: Direction
    reason: str
    #: "automatic" or "override".
    source: str = "automatic"
    #: Who overrode it (user id or name) when source is override.
    overridden_by: str | None = None
    #: The automatic evaluation an override replaced (None when none was made).
    automatic: CriterionResult | None = None

    @property
    def points(self) -> int:
        """Tavtigian points contributed (0 when not met)."""
        if not self.met:
            return 0
        value = POINTS[self.strength]
        return value if self.direction == Direction.PATHOGENIC else -value


@dataclass(frozen=True)
class Override:
    """A scientist's decision on one criterion, with the reason."""

    code: str
    met: bool
    reason: str
    strength: Strength | None = None
    by: str | None = None


@dataclass(frozen=True)
class AcmgResult:
    """The criteria, the points total and the classification."""

    criteria: tuple[CriterionResult, ...]
    points: int
    classification: Classification

    def met(self) -> list[str]:
        """Returns the met criteria as labels, e.g. ['PVS1', 'PM2_Supporting']."""
        return [criterion_label(c) for c in self.criteria if c.met]


def criterion_label(result: CriterionResult) -> str:
    """Returns 'PM2_Supporting'-style labels when the strength differs from the default."""
    default = CRITERIA[result.code][0]
    if result.strength == default:
        return result.code
    return f"{result.code}_{result.strength.value.replace('_', ' ').title().replace(' ', '')}"


def _result(code: str, met: bool, reason: str, strength: Strength | None = None) -> CriterionResult:
    default, direction = CRITERIA[code]
    return CriterionResult(code, met, strength or default, direction, reason)


_WEAKER = {
    Strength.VERY_STRONG: Strength.STRONG,
    Strength.STRONG: Strength.MODERATE,
    Strength.MODERATE: Strength.SUPPORTING,
    Strength.SUPPORTING: Strength.SUPPORTING,
}


def _pvs1(ev: VariantEvidence, lof: Mapping[str, LofMechanism]) -> CriterionResult:
    """PVS1 by the ClinGen SVI decision tree, from what the transcript model tells (see the module docstring)."""
    null = ev.consequences & NULL_TERMS
    if not null:
        return _result("PVS1", False, "not a null variant")
    mechanism = lof.get(ev.gene) or lof.get(ev.gene.upper()) or LofMechanism(ev.gene)
    if not mechanism.is_mechanism:
        return _result(
            "PVS1",
            False,
            f"{', '.join(sorted(null))} but loss of function is not an established disease mechanism of "
            f"{ev.gene} ({mechanism.describe()}; constraint alone does not establish it)",
        )
    why = [f"{', '.join(sorted(null))} in {ev.gene} ({mechanism.describe()})"]
    ctx = ev.null_context
    removed = ctx.protein_removed if ctx is not None else None

    def by_length() -> Strength:
        if removed is None:
            why.append("share of the protein removed unknown: strong")
            return Strength.STRONG
        if removed > 0.1:
            why.append(f"removes {removed:.0%} of the protein (> 10 %): strong")
            return Strength.STRONG
        why.append(f"removes {removed:.0%} of the protein (<= 10 %): moderate")
        return Strength.MODERATE

    if "transcript_ablation" in null:
        strength = Strength.VERY_STRONG
    elif null <= {"start_lost", "initiator_codon_variant"}:
        why.append("initiation codon: moderate")
        strength = Strength.MODERATE
    elif null & {"stop_gained", "frameshift_variant"}:
        nmd = ctx.nmd_predicted if ctx is not None and ctx.nmd_predicted is not None else (
            None if ev.nmd_escape is None else not ev.nmd_escape
        )
        if nmd is False:
            why.append("escapes nonsense-mediated decay (last exon or last 50 nt of the penultimate)")
            strength = by_length()
        else:
            why.append("predicted to undergo nonsense-mediated decay" if nmd else "NMD not assessed")
            strength = Strength.VERY_STRONG
    else:  # canonical splice site
        if ctx is None or ctx.frame_preserved is None:
            why.append("splice outcome not modelled (exon unknown): strong")
            strength = Strength.STRONG
        elif not ctx.frame_preserved and ctx.nmd_predicted:
            why.append(f"skipping exon {ctx.exon} shifts the frame, NMD predicted")
            strength = Strength.VERY_STRONG
        else:
            why.append(
                f"skipping exon {ctx.exon} keeps the frame" if ctx.frame_preserved
                else f"skipping exon {ctx.exon} shifts the frame near the end (NMD not predicted)"
            )
            strength = by_length()
    if ctx is not None and ctx.alternative_exon:
        strength = _WEAKER[strength]
        why.append(f"{ctx.alternative_exon}: an alternative exon, one level lower")
    elif ctx is not None and ctx.isoform_note:
        why.append(f"{ctx.isoform_note} (in the MANE Select transcript: strength kept)")
    if ctx is not None and ctx.exon and ctx.exon_count:
        why.append(f"exon {ctx.exon} of {ctx.exon_count} of {ctx.transcript}")
    return _result("PVS1", True, "; ".join(why), strength)


def _frequency(
    ev: VariantEvidence, thresholds: FrequencyThresholds, rules: Sequence[GeneRule] = ()
) -> list[CriterionResult]:
    af = ev.population_af
    if af is not None and not 0.0 <= af <= 1.0:
        raise AcmgInputError(f"population_af {af} is not within 0-1")
    if not ev.frequency_source_covered:
        reason = "no population frequency source covered the site: not evaluable"
        return [_result("PM2", False, reason), _result("BA1", False, reason), _result("BS1", False, reason)]
    af = af or 0.0
    by_code: dict[str, list[GeneRule]] = defaultdict(list)
    for rule in rules:
        by_code[rule.criterion].append(rule)
    results = []
    if by_code.get("BA1"):
        rule = by_code["BA1"][0]
        results.append(_result("BA1", rule.holds(af), f"population AF {af:g}; {rule.describe()}"))
    else:
        results.append(_result("BA1", af > thresholds.ba1, f"population AF {af:g} vs {thresholds.ba1:g}"))
    if by_code.get("BS1"):
        fitting = [r for r in by_code["BS1"] if r.holds(af)] if not results[0].met else []
        rule = fitting[0] if fitting else by_code["BS1"][0]
        results.append(_result("BS1", bool(fitting), f"population AF {af:g}; {rule.describe()}", rule.strength))
    else:
        bs1_cap = thresholds.bs1_dominant if ev.inheritance == "dominant" else thresholds.bs1_recessive
        results.append(
            _result(
                "BS1", thresholds.ba1 >= af > bs1_cap, f"population AF {af:g} vs disease threshold {bs1_cap:g}"
            )
        )
    pm2_cap = thresholds.pm2_recessive if ev.inheritance == "recessive" else 0.0
    pm2 = af <= pm2_cap
    reason = "absent from population data" if af == 0 else f"population AF {af:g} (threshold {pm2_cap:g})"
    results.append(_result("PM2", pm2, reason, Strength.SUPPORTING))
    return results


def _clinvar(ev: VariantEvidence, index: ClinVarIndex | None) -> list[CriterionResult]:
    if "missense_variant" not in ev.consequences:
        return [
            _result("PS1", False, "not a missense variant"),
            _result("PM5", False, "not a missense variant"),
        ]
    change = parse_protein_change(ev.hgvs_p) if ev.hgvs_p else None
    if index is None or change is None:
        why = "no ClinVar index" if index is None else "no parsable protein change (hgvs_p)"
        return [_result("PS1", False, why), _result("PM5", False, why)]
    same_key = (ev.chrom, ev.pos, ev.ref, ev.alt)
    entries = [
        e
        for e in index.at_residue(ev.gene, change.position)
        if None in same_key
        or (_chrom(e.chrom), e.pos, e.ref, e.alt) != (_chrom(ev.chrom or ""), ev.pos, ev.ref, ev.alt)
    ]
    # Only entries ClinVar classifies pathogenic or likely pathogenic count (never VUS, benign or conflicting).
    entries = [e for e in entries if _plp_class(e.significance)]
    same = [e for e in entries if e.protein_change and e.protein_change.alt == change.alt]
    other = [e for e in entries if e.protein_change and e.protein_change.alt != change.alt]

    def cite(found: Sequence[ClinVarEntry]) -> str:
        return "; ".join(f"{e.chrom}:{e.pos} {e.ref}>{e.alt} {e.significance}" for e in found[:3])

    def strength(found: Sequence[ClinVarEntry], code: str) -> Strength:
        # A likely pathogenic entry alone counts one level lower than a pathogenic one (ClinGen SVI).
        default = CRITERIA[code][0]
        return default if any(_plp_class(e.significance) == "P" for e in found) else _WEAKER[default]

    ps1 = _result(
        "PS1",
        bool(same),
        f"same amino-acid change P/LP in ClinVar: {cite(same)}"
        if same
        else "no P/LP ClinVar variant with the same amino-acid change",
        strength(same, "PS1") if same else None,
    )
    pm5 = _result(
        "PM5",
        bool(other) and not same,
        f"other P/LP missense at residue {change.position}: {cite(other)}"
        if other
        else f"no other P/LP missense at residue {change.position}",
        strength(other, "PM5") if other else None,
    )
    return [ps1, pm5]


def _plp_class(significance: str | None) -> str | None:
    """'P' for pathogenic (incl. pathogenic/likely pathogenic), 'LP' for likely pathogenic, else None."""
    text = (significance or "").strip().lower().replace(" ", "_")
    if text.startswith("pathogenic"):
        return "P"
    if text.startswith("likely_pathogenic"):
        return "LP"
    return None


def _graded(value: float, table: Sequence[tuple[float, Strength]], *, upper: bool) -> Strength | None:
    for bound, strength in table:
        if (value <= bound) if upper else (value >= bound):
            return strength
    return None


def _computational(ev: VariantEvidence, pvs1_met: bool) -> list[CriterionResult]:
    pp3: tuple[Strength, str] | None = None
    bp4: tuple[Strength, str] | None = None
    missense_tool = (
        ("REVEL", ev.revel, REVEL_PP3, REVEL_BP4)
        if ev.revel is not None
        else (("CADD", ev.cadd_phred, CADD_PP3, CADD_BP4) if ev.cadd_phred is not None else None)
    )
    if missense_tool is not None:
        name, value, pp3_table, bp4_table = missense_tool
        strength = _graded(value, pp3_table, upper=False)
        if strength:
            pp3 = (strength, f"{name} {value:g}")
        strength = _graded(value, bp4_table, upper=True)
        if strength:
            bp4 = (strength, f"{name} {value:g}")
    splice = ev.spliceai_max
    if splice is not None and splice >= SPLICEAI_PP3 and pp3 is None:
        pp3 = (Strength.SUPPORTING, f"SpliceAI {splice:g}")
    if splice is not None and splice > SPLICEAI_BP4:
        bp4 = None
    if bp4 is None and missense_tool is None and splice is not None and splice <= SPLICEAI_BP4:
        bp4 = (Strength.SUPPORTING, f"SpliceAI {splice:g}")
    results = []
    if pvs1_met and pp3:
        results.append(
            _result("PP3", False, f"{pp3[1]} but PVS1 already counts the predicted loss of function")
        )
    elif pp3:
        results.append(_result("PP3", True, pp3[1], pp3[0]))
    else:
        results.append(_result("PP3", False, "no in-silico score at a pathogenic threshold"))
    if bp4 and not pvs1_met:
        results.append(_result("BP4", True, bp4[1], bp4[0]))
    else:
        results.append(_result("BP4", False, "no in-silico score at a benign threshold"))
    synonymous = "synonymous_variant" in ev.consequences
    bp7 = synonymous and splice is not None and splice <= SPLICEAI_BP4
    results.append(
        _result(
            "BP7",
            bp7,
            f"synonymous, SpliceAI {splice:g}" if bp7 else "not a synonymous variant with SpliceAI <= 0.1",
        )
    )
    return results


def _family(ev: VariantEvidence) -> list[CriterionResult]:
    results = [
        _result(
            "PS2",
            ev.de_novo == "confirmed",
            "de novo, both parents confirmed" if ev.de_novo == "confirmed" else "not a confirmed de novo",
        ),
        _result(
            "PM6",
            ev.de_novo == "assumed",
            "de novo, parentage assumed" if ev.de_novo == "assumed" else "not an assumed de novo",
        ),
    ]
    partner = (ev.in_trans_with or "").lower().replace(" ", "_")
    if ev.inheritance == "recessive" and partner.startswith(("pathogenic", "likely_pathogenic")):
        strength = Strength.MODERATE if ev.in_trans_phase_confirmed else Strength.SUPPORTING
        phase = "phase confirmed" if ev.in_trans_phase_confirmed else "phase not confirmed"
        results.append(
            _result("PM3", True, f"in trans with a {ev.in_trans_with} variant ({phase})", strength)
        )
    else:
        results.append(_result("PM3", False, "not in trans with a P/LP variant in a recessive gene"))
    meioses = ev.segregation_meioses
    if meioses < 0:
        raise AcmgInputError(f"segregation_meioses {meioses} is negative")
    strength = Strength.STRONG if meioses >= 5 else Strength.MODERATE if meioses >= 4 else Strength.SUPPORTING
    results.append(_result("PP1", meioses >= 3, f"co-segregates in {meioses} informative meioses", strength))
    return results


def evaluate_criteria(
    evidence: VariantEvidence,
    *,
    lof_mechanisms: Mapping[str, LofMechanism] | None = None,
    clinvar_index: ClinVarIndex | None = None,
    thresholds: FrequencyThresholds = FrequencyThresholds(),
    gene_rules: Mapping[str, Sequence[GeneRule]] | None = None,
) -> list[CriterionResult]:
    """Evaluates every automatic criterion for one variant; criteria not met carry the reason too.

    gene_rules holds the ClinGen expert panels' gene-specific rules (``read_gene_rules``), by gene symbol.
    """
    if not evidence.gene:
        raise AcmgInputError("gene is required for ACMG evaluation")
    pvs1 = _pvs1(evidence, lof_mechanisms or {})
    rules = (gene_rules or {}).get(evidence.gene, ())
    results = [pvs1, *_frequency(evidence, thresholds, rules), *_clinvar(evidence, clinvar_index)]
    pm4 = bool(evidence.consequences & INFRAME_TERMS) and not pvs1.met
    results.append(
        _result("PM4", pm4, "in-frame length change or stop lost" if pm4 else "no protein length change")
    )
    results += _computational(evidence, pvs1.met)
    results += _family(evidence)
    return results


def apply_overrides(
    criteria: Iterable[CriterionResult], overrides: Iterable[Override]
) -> list[CriterionResult]:
    """Replaces criteria with a scientist's decisions, keeping the automatic result alongside."""
    by_code = {c.code: c for c in criteria}
    for override in overrides:
        if override.code not in CRITERIA:
            raise AcmgInputError(f"override for unknown ACMG criterion {override.code!r}")
        if not override.reason.strip():
            raise AcmgInputError(f"override of {override.code} needs a reason")
        automatic = by_code.get(override.code)
        default, direction = CRITERIA[override.code]
        strength = override.strength or (automatic.strength if automatic else default)
        by_code[override.code] = CriterionResult(
            override.code,
            override.met,
            strength,
            direction,
            override.reason,
            "override",
            override.by,
            automatic,
        )
    return sorted(by_code.values(), key=lambda c: list(CRITERIA).index(c.code))


def classify_points(points: int, *, stand_alone_benign: bool = False) -> Classification:
    """Maps a Tavtigian points total to a class (BA1 makes it benign whatever the total)."""
    if stand_alone_benign:
        return Classification.BENIGN
    if points >= 10:
        return Classification.PATHOGENIC
    if points >= 6:
        return Classification.LIKELY_PATHOGENIC
    if points >= 0:
        return Classification.UNCERTAIN
    if points >= -6:
        return Classification.LIKELY_BENIGN
    return Classification.BENIGN


def combine(criteria: Iterable[CriterionResult]) -> AcmgResult:
    """Sums the points of met criteria and classifies."""
    items = tuple(criteria)
    total = sum(c.points for c in items)
    ba1 = any(c.met and c.code == "BA1" for c in items)
    return AcmgResult(items, total, classify_points(total, stand_alone_benign=ba1))


def classify(
    evidence: VariantEvidence,
    *,
    lof_mechanisms: Mapping[str, LofMechanism] | None = None,
    clinvar_index: ClinVarIndex | None = None,
    overrides: Iterable[Override] = (),
    thresholds: FrequencyThresholds = FrequencyThresholds(),
    gene_rules: Mapping[str, Sequence[GeneRule]] | None = None,
) -> AcmgResult:
    """Evaluates, applies overrides and classifies one variant."""
    automatic = evaluate_criteria(
        evidence, lof_mechanisms=lof_mechanisms, clinvar_index=clinvar_index, thresholds=thresholds,
        gene_rules=gene_rules,
    )
    return combine(apply_overrides(automatic, overrides))


def with_strength(result: CriterionResult, strength: Strength) -> CriterionResult:
    """Returns a copy of a criterion at another strength (for callers building criteria by hand)."""
    return replace(result, strength=strength)


def criterion(
    code: str, *, met: bool = True, strength: Strength | None = None, reason: str = ""
) -> CriterionResult:
    """Builds a criterion result by hand (tests, imported classifications)."""
    if code not in CRITERIA:
        raise AcmgInputError(f"unknown ACMG criterion {code!r}")
    return _result(code, met, reason or "set by hand", strength)
