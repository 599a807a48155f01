"""Segregation: which modes of inheritance each variant is consistent with in a family, and why.

Rules (affected status True/False; None = unknown, which never excludes anything; a missing
genotype (-1) never excludes either):

- de novo: the proband carries a heterozygous (or, on chrX in a male, hemizygous) allele and every
  genotyped parent is hom-ref (for a male's chrX only the mother counts: the father gives a Y);
  no unaffected relative carries it. ``consistent`` with both transmitting parents genotyped,
  ``possible`` otherwise.
- AD (autosomes and PAR): every affected member is heterozygous; no unaffected member carries it.
- AR homozygous (autosomes and PAR): every affected member is hom-alt; no unaffected member is
  hom-alt; a genotyped parent of an affected member must carry the allele.
- AR compound heterozygous: two variants in one gene, each heterozygous in every affected member,
  neither hom-alt in an unaffected member, and no unaffected member carries both. Phase through
  parents: one variant from each parent is ``consistent``; both from one parent (or, with one parent
  genotyped, that parent carrying both or neither) is excluded; otherwise ``possible``.
- XLR (chrX outside PAR): affected males carry (hemizygous), affected females are hom-alt;
  unaffected males do not carry; unaffected females are not hom-alt; a genotyped father of an
  affected female must carry.
- XLD (chrX outside PAR): every affected member carries; no unaffected member carries.
- MT (chrM): affected members carry (any heteroplasmy); a genotyped mother of an affected member
  must carry (a mother without it makes it de novo instead). Unaffected carriers do not exclude,
  because heteroplasmy levels differ between relatives.

A mode is ``consistent`` when at least one relative's genotype supports it, and ``possible``
when only the proband's genotype is known (singletons, missing parents).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations

HOM_REF, HET, HOM_ALT, MISSING = 0, 1, 2, -1

#: Two alleles of a gene closer than this (bp, about one short read) count as likely in cis unless phased.
LIKELY_CIS_DISTANCE = 150

# GRCh38 pseudo-autosomal regions on chrX (1-based, inclusive): they segregate like autosomes.
PAR_GRCH38 = ((10_001, 2_781_479), (155_701_383, 156_030_895))
PAR_GRCH37 = ((60_001, 2_699_520), (154_931_044, 155_260_560))


class PedigreeError(ValueError):
    """A pedigree or a genotype table is inconsistent; the message names the individual or variant."""


class Sex(StrEnum):
    """Sex as used for X-linked segregation."""

    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


class Mode(StrEnum):
    """A mode of inheritance a variant (or a pair) can segregate with."""

    DE_NOVO = "de_novo"
    AD = "autosomal_dominant"
    AR_HOM = "autosomal_recessive_homozygous"
    AR_COMP_HET = "autosomal_recessive_compound_heterozygous"
    XLD = "x_linked_dominant"
    XLR = "x_linked_recessive"
    MT = "mitochondrial"


class Certainty(StrEnum):
    """How strongly the family supports a mode."""

    #: A relative's genotype supports it (e.g. both parents genotyped hom-ref for de novo).
    CONSISTENT = "consistent"
    #: Nothing excludes it, but only the proband's genotype speaks for it.
    POSSIBLE = "possible"


@dataclass(frozen=True)
class Individual:
    """A family member with the facts segregation needs."""

    individual_id: str
    sex: Sex = Sex.UNKNOWN
    #: True affected, False unaffected, None unknown.
    affected: bool | None = None
    father_id: str | None = None
    mother_id: str | None = None


@dataclass(frozen=True)
class Pedigree:
    """A family: its members and the proband whose variants are interpreted."""

    family_id: str
    individuals: tuple[Individual, ...]
    proband_id: str
    _by_id: dict[str, Individual] = field(init=False, repr=False, compare=False)
    _by_status: dict[bool | None, list[Individual]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Individual] = {}
        for person in self.individuals:
            if person.individual_id in by_id:
                raise PedigreeError(
                    f"family {self.family_id}: individual {person.individual_id} listed twice"
                )
            by_id[person.individual_id] = person
        if self.proband_id not in by_id:
            raise PedigreeError(f"family {self.family_id}: proband {self.proband_id} is not a member")
        object.__setattr__(self, "_by_id", by_id)
        by_status: dict[bool | None, list[Individual]] = {True: [], False: [], None: []}
        for person in self.individuals:
            by_status[person.affected].append(person)
        object.__setattr__(self, "_by_status", by_status)

    def with_status(self, affected: bool | None) -> list[Individual]:
        """Returns the members who are affected (True), unaffected (False) or of unknown status (None)."""
        return self._by_status[affected]

    def get(self, individual_id: str | None) -> Individual | None:
        """Returns a member by id, or None when absent from the pedigree."""
        return self._by_id.get(individual_id) if individual_id else None

    @property
    def proband(self) -> Individual:
        """The proband."""
        return self._by_id[self.proband_id]

    @classmethod
    def singleton(cls, proband_id: str, sex: Sex = Sex.UNKNOWN) -> Pedigree:
        """A one-person family: an affected proband with nobody else sequenced."""
        return cls(proband_id, (Individual(proband_id, sex, True),), proband_id)


def _parent_id(row: Mapping[str, object], key: str) -> str | None:
    value = row.get(key)
    return None if value in (None, "", "0", 0) else str(value)


def pedigree_from_rows(rows: Iterable[Mapping[str, object]], *, proband_id: str | None = None) -> Pedigree:
    """Builds a Pedigree from PED-like rows (family_id, individual_id, father_id, mother_id, sex, affected)."""
    people: list[Individual] = []
    family_id = ""
    for row in rows:
        family_id = str(row.get("family_id") or family_id)
        sex_value = str(row.get("sex", "")).lower()
        sex = {"1": Sex.MALE, "male": Sex.MALE, "2": Sex.FEMALE, "female": Sex.FEMALE}.get(
            sex_value, Sex.UNKNOWN
        )
        affected_value = row.get("affected")
        if isinstance(affected_value, bool) or affected_value is None:
            affected = affected_value
        else:
            affected = {"2": True, "1": False, "affected": True, "unaffected": False}.get(
                str(affected_value).lower()
            )

        people.append(
            Individual(
                str(row["individual_id"]),
                sex,
                affected,
                _parent_id(row, "father_id"),
                _parent_id(row, "mother_id"),
            )
        )
    if not people:
        raise PedigreeError("pedigree has no individuals")
    if proband_id is None:
        affected_with_parents = [p for p in people if p.affected and (p.father_id or p.mother_id)]
        affected_any = [p for p in people if p.affected]
        chosen = (affected_with_parents or affected_any or people)[0]
        proband_id = chosen.individual_id
    return Pedigree(family_id, tuple(people), proband_id)


def pedigree_from_ped(
    ped: object, *, proband_id: str | None = None, family_id: str | None = None
) -> Pedigree:
    """Builds a Pedigree from ``gmc.phenotype.pedigree.read_ped`` output (one family: the proband's or family_id)."""
    people = list(getattr(ped, "individuals", ()))
    if proband_id is not None:
        family_id = next((p.family_id for p in people if p.individual_id == proband_id), family_id)
        if family_id is None:
            raise PedigreeError(f"proband {proband_id} is not in the PED file")
    if family_id is None:
        families = sorted({p.family_id for p in people})
        if len(families) != 1:
            raise PedigreeError(f"the PED file holds families {families}: name the proband or the family")
        family_id = families[0]
    rows = [
        {
            "family_id": p.family_id,
            "individual_id": p.individual_id,
            "father_id": p.father_id,
            "mother_id": p.mother_id,
            "sex": p.sex,
            "affected": p.phenotype,
        }
        for p in people
        if p.family_id == family_id
    ]
    return pedigree_from_rows(rows, proband_id=proband_id)


@dataclass(frozen=True)
class Call:
    """One individual's genotype at a variant: 0 hom-ref, 1 het, 2 hom-alt/hemizygous, -1 missing."""

    genotype: int
    ploidy: int = 2
    #: Read-backed phase of a phased heterozygous call (GT written with "|"): its phase set (VCF PS; 0 for a
    #: phased call without PS, which the VCF specification puts in one set per sample and chromosome) and which
    #: haplotype (0 or 1) carries the alt allele; None when unphased.
    phase_set: int | None = None
    haplotype: int | None = None

    def __post_init__(self) -> None:
        if self.genotype not in (HOM_REF, HET, HOM_ALT, MISSING):
            raise PedigreeError(f"genotype must be 0, 1, 2 or -1, got {self.genotype}")

    @property
    def carries(self) -> bool | None:
        """True when the alt allele is present, None when not called."""
        return None if self.genotype == MISSING else self.genotype >= HET


@dataclass(frozen=True)
class VariantGenotypes:
    """A variant with its chromosome, gene and each family member's call."""

    variant_id: str
    chrom: str
    pos: int
    calls: Mapping[str, Call]
    #: Gene symbol or HGNC id; compound heterozygosity pairs variants sharing it.
    gene: str | None = None
    #: Last reference base the allele spans (pos + len(REF) - 1); None means pos.
    end: int | None = None


@dataclass(frozen=True)
class ModeCall:
    """A mode a variant is consistent with, with the certainty and the reasoning."""

    mode: Mode
    certainty: Certainty
    reasons: tuple[str, ...]
    #: For compound heterozygotes: the other variant of the pair.
    partner_id: str | None = None


@dataclass(frozen=True)
class Segregation:
    """All modes one variant segregates with, and the modes ruled out with why."""

    variant_id: str
    modes: tuple[ModeCall, ...]
    excluded: tuple[tuple[Mode, str], ...]

    def mode_set(self) -> frozenset[Mode]:
        """The modes this variant is consistent with (any certainty)."""
        return frozenset(m.mode for m in self.modes)


def _chrom_kind(chrom: str, pos: int, build: str) -> str:
    name = chrom.upper().removeprefix("CHR")
    if name in {"M", "MT"}:
        return "mt"
    if name == "X":
        pars = PAR_GRCH37 if build.upper() in {"GRCH37", "HG19", "B37"} else PAR_GRCH38
        return "autosome" if any(lo <= pos <= hi for lo, hi in pars) else "x"
    if name == "Y":
        return "y"
    return "autosome"


class _Family:
    """Pedigree plus one variant's calls, with the look-ups the rules share."""

    def __init__(self, pedigree: Pedigree, variant: VariantGenotypes) -> None:
        self.pedigree = pedigree
        self.variant = variant
        for member_id in variant.calls:
            if pedigree.get(member_id) is None:
                raise PedigreeError(
                    f"variant {variant.variant_id}: genotype for {member_id}, who is not in family "
                    f"{pedigree.family_id}"
                )

    def gt(self, member_id: str | None) -> int:
        call = self.variant.calls.get(member_id) if member_id else None
        return MISSING if call is None else call.genotype

    def members(self, affected: bool | None) -> list[Individual]:
        return self.pedigree.with_status(affected)


def _label(person: Individual) -> str:
    return f"{person.individual_id} ({'affected' if person.affected else 'unaffected'} {person.sex.value})"


def _check_unaffected_carriers(fam: _Family, *, hom_only: bool, males_only: bool = False) -> str | None:
    for person in fam.members(False):
        if males_only and person.sex != Sex.MALE:
            continue
        genotype = fam.gt(person.individual_id)
        if genotype == HOM_ALT or (not hom_only and genotype == HET):
            kind = "hom-alt" if genotype == HOM_ALT else "carries"
            return f"unaffected {person.individual_id} {kind} it"
    return None


def _informative_relatives(fam: _Family) -> int:
    return sum(
        1
        for p in fam.pedigree.individuals
        if p.individual_id != fam.pedigree.proband_id
        and p.affected is not None
        and fam.gt(p.individual_id) != MISSING
    )


def _de_novo(fam: _Family, kind: str) -> tuple[ModeCall | None, str]:
    proband = fam.pedigree.proband
    genotype = fam.gt(proband.individual_id)
    male_x = kind == "x" and proband.sex == Sex.MALE
    if genotype == MISSING or genotype == HOM_REF:
        return None, "proband does not carry it"
    if genotype == HOM_ALT and not male_x:
        return None, "proband is hom-alt: a de novo event gives one allele"
    parents = (
        [("mother", proband.mother_id)]
        if male_x
        else [("father", proband.father_id), ("mother", proband.mother_id)]
    )
    reasons = []
    genotyped = 0
    for role, parent_id in parents:
        parent_gt = fam.gt(parent_id)
        if parent_gt == MISSING:
            reasons.append(f"{role} not genotyped")
            continue
        if parent_gt != HOM_REF:
            return None, f"{role} {parent_id} carries it"
        genotyped += 1
        reasons.append(f"{role} {parent_id} is hom-ref")
    blocker = _check_unaffected_carriers(fam, hom_only=False)
    if blocker:
        return None, blocker
    certainty = Certainty.CONSISTENT if genotyped == len(parents) else Certainty.POSSIBLE
    return ModeCall(Mode.DE_NOVO, certainty, ("proband carries it", *reasons)), ""


def _dominant(fam: _Family, mode: Mode, *, het_only: bool) -> tuple[ModeCall | None, str]:
    reasons = []
    for person in fam.members(True):
        genotype = fam.gt(person.individual_id)
        if genotype == MISSING:
            continue
        if genotype == HOM_REF:
            return None, f"affected {person.individual_id} does not carry it"
        if het_only and genotype == HOM_ALT:
            return None, f"affected {person.individual_id} is hom-alt, not heterozygous"
        reasons.append(f"affected {person.individual_id} carries it")
    if fam.gt(fam.pedigree.proband_id) in (MISSING, HOM_REF):
        return None, "proband does not carry it"
    blocker = _check_unaffected_carriers(fam, hom_only=False)
    if blocker:
        return None, blocker
    reasons += [
        f"unaffected {p.individual_id} does not carry it"
        for p in fam.members(False)
        if fam.gt(p.individual_id) == HOM_REF
    ]
    certainty = Certainty.CONSISTENT if _informative_relatives(fam) else Certainty.POSSIBLE
    return ModeCall(mode, certainty, tuple(reasons)), ""


def _recessive_hom(fam: _Family) -> tuple[ModeCall | None, str]:
    reasons = []
    for person in fam.members(True):
        genotype = fam.gt(person.individual_id)
        if genotype == MISSING:
            continue
        if genotype != HOM_ALT:
            return None, f"affected {person.individual_id} is not hom-alt"
        reasons.append(f"affected {person.individual_id} is hom-alt")
        for role, parent_id in (("father", person.father_id), ("mother", person.mother_id)):
            if fam.gt(parent_id) == HOM_REF:
                return None, f"{role} {parent_id} of {person.individual_id} is hom-ref"
            if fam.gt(parent_id) == HET:
                reasons.append(f"{role} {parent_id} is a heterozygous carrier")
    if fam.gt(fam.pedigree.proband_id) != HOM_ALT:
        return None, "proband is not hom-alt"
    blocker = _check_unaffected_carriers(fam, hom_only=True)
    if blocker:
        return None, blocker
    certainty = Certainty.CONSISTENT if _informative_relatives(fam) else Certainty.POSSIBLE
    return ModeCall(Mode.AR_HOM, certainty, tuple(reasons)), ""


def _x_recessive(fam: _Family) -> tuple[ModeCall | None, str]:
    reasons = []
    for person in fam.members(True):
        genotype = fam.gt(person.individual_id)
        if genotype == MISSING:
            continue
        if person.sex == Sex.FEMALE:
            if genotype != HOM_ALT:
                return None, f"affected female {person.individual_id} is not hom-alt"
            if fam.gt(person.father_id) == HOM_REF:
                return (
                    None,
                    f"father {person.father_id} of affected female {person.individual_id} does not carry it",
                )
            reasons.append(f"affected female {person.individual_id} is hom-alt")
        else:
            if genotype == HOM_REF:
                return None, f"affected {person.individual_id} does not carry it"
            reasons.append(f"affected {person.sex.value} {person.individual_id} is hemizygous")
    if fam.gt(fam.pedigree.proband_id) in (MISSING, HOM_REF):
        return None, "proband does not carry it"
    for person in fam.members(False):
        genotype = fam.gt(person.individual_id)
        if person.sex == Sex.MALE and genotype in (HET, HOM_ALT):
            return None, f"unaffected male {person.individual_id} carries it"
        if person.sex != Sex.MALE and genotype == HOM_ALT:
            return None, f"unaffected {person.sex.value} {person.individual_id} is hom-alt"
        if person.sex == Sex.FEMALE and genotype == HET:
            reasons.append(f"unaffected female {person.individual_id} is a heterozygous carrier")
    certainty = Certainty.CONSISTENT if _informative_relatives(fam) else Certainty.POSSIBLE
    return ModeCall(Mode.XLR, certainty, tuple(reasons)), ""


def _mitochondrial(fam: _Family) -> tuple[ModeCall | None, str]:
    reasons = []
    for person in fam.members(True):
        genotype = fam.gt(person.individual_id)
        if genotype == MISSING:
            continue
        if genotype == HOM_REF:
            return None, f"affected {person.individual_id} does not carry it"
        if fam.gt(person.mother_id) == HOM_REF:
            return None, f"mother {person.mother_id} of {person.individual_id} does not carry it"
        reasons.append(f"affected {person.individual_id} carries it")
    if fam.gt(fam.pedigree.proband_id) in (MISSING, HOM_REF):
        return None, "proband does not carry it"
    certainty = Certainty.CONSISTENT if _informative_relatives(fam) else Certainty.POSSIBLE
    return ModeCall(Mode.MT, certainty, tuple(reasons)), ""


def segregate_variant(pedigree: Pedigree, variant: VariantGenotypes, *, build: str = "GRCh38") -> Segregation:
    """Returns the single-variant modes (all but compound heterozygous) a variant segregates with."""
    fam = _Family(pedigree, variant)
    kind = _chrom_kind(variant.chrom, variant.pos, build)
    modes: list[ModeCall] = []
    excluded: list[tuple[Mode, str]] = []

    def consider(mode: Mode, outcome: tuple[ModeCall | None, str]) -> None:
        call, why = outcome
        if call is not None:
            modes.append(call)
        else:
            excluded.append((mode, why))

    if kind == "mt":
        consider(Mode.MT, _mitochondrial(fam))
        consider(Mode.DE_NOVO, _de_novo(fam, kind))
        return Segregation(variant.variant_id, tuple(modes), tuple(excluded))
    consider(Mode.DE_NOVO, _de_novo(fam, kind))
    if kind == "autosome":
        consider(Mode.AD, _dominant(fam, Mode.AD, het_only=True))
        consider(Mode.AR_HOM, _recessive_hom(fam))
    elif kind == "x":
        consider(Mode.XLD, _dominant(fam, Mode.XLD, het_only=False))
        consider(Mode.XLR, _x_recessive(fam))
    else:
        excluded.append((Mode.AD, "chrY: only de novo or paternal transmission applies"))
    return Segregation(variant.variant_id, tuple(modes), tuple(excluded))


def _comp_het_candidate(fam: _Family) -> bool:
    if fam.gt(fam.pedigree.proband_id) != HET:
        return False
    for person in fam.members(True):
        if fam.gt(person.individual_id) in (HOM_REF, HOM_ALT):
            return False
    return _check_unaffected_carriers(fam, hom_only=True) is None


def _phase_pair(pedigree: Pedigree, first: _Family, second: _Family) -> tuple[Certainty | None, str]:
    proband = pedigree.proband
    father, mother = proband.father_id, proband.mother_id
    for person in pedigree.individuals:
        if (
            person.affected is False
            and first.gt(person.individual_id) >= HET
            and second.gt(person.individual_id) >= HET
        ):
            return None, f"unaffected {person.individual_id} carries both"
    phased = _read_backed_phase(proband.individual_id, first.variant, second.variant)
    if phased is not None:
        return phased
    origin = []
    for fam in (first, second):
        from_father = fam.gt(father) if father else MISSING
        from_mother = fam.gt(mother) if mother else MISSING
        origin.append((from_father, from_mother))
    (f1, m1), (f2, m2) = origin
    both_known = MISSING not in (f1, m1, f2, m2)
    if both_known:
        if (f1 >= HET and m2 >= HET and m1 == HOM_REF and f2 == HOM_REF) or (
            m1 >= HET and f2 >= HET and f1 == HOM_REF and m2 == HOM_REF
        ):
            return Certainty.CONSISTENT, "one variant from each parent (in trans)"
        if (f1 >= HET and f2 >= HET and m1 == HOM_REF and m2 == HOM_REF) or (
            m1 >= HET and m2 >= HET and f1 == HOM_REF and f2 == HOM_REF
        ):
            return None, "both variants come from the same parent (in cis)"
        if (f1, m1, f2, m2).count(HOM_REF) >= 3:
            return (
                Certainty.POSSIBLE,
                "at least one variant is absent from both parents (de novo): phase unknown",
            )
        return Certainty.POSSIBLE, "parental genotypes do not resolve the phase"
    for role, known in (("father", (f1, f2)), ("mother", (m1, m2))):
        a, b = known
        if MISSING in known:
            continue
        if a >= HET and b >= HET:
            return None, f"the {role} carries both (in cis)"
        if a == HOM_REF and b == HOM_REF:
            return None, f"the {role} carries neither, so both come from the other parent (in cis)"
        return Certainty.POSSIBLE, f"the {role} carries exactly one; the other parent is not genotyped"
    return Certainty.POSSIBLE, "no parent genotyped: phase unknown"


def _read_backed_phase(
    proband_id: str, first: VariantGenotypes, second: VariantGenotypes
) -> tuple[Certainty | None, str] | None:
    """The pair's phase from the proband's phased calls (same phase set), or None when they do not say."""
    a, b = first.calls.get(proband_id), second.calls.get(proband_id)
    if a is None or b is None or a.phase_set is None or a.phase_set != b.phase_set:
        return None
    if a.haplotype is None or b.haplotype is None:
        return None
    if a.haplotype == b.haplotype:
        return None, "phased on the same haplotype (in cis)"
    return Certainty.CONSISTENT, "phased on opposite haplotypes (in trans)"


def likely_cis(first: VariantGenotypes, second: VariantGenotypes, distance: int = LIKELY_CIS_DISTANCE) -> str | None:
    """Why two alleles are likely one haplotype's (overlapping, or within a read length), or None."""
    if first.chrom != second.chrom:
        return None
    (start_a, end_a), (start_b, end_b) = sorted(
        (v.pos, max(v.end or v.pos, v.pos)) for v in (first, second)
    )
    if start_b <= end_a:
        return f"{first.variant_id} and {second.variant_id} overlap: one event written twice or a complex allele"
    gap = start_b - end_a
    if gap < distance:
        return (
            f"{first.variant_id} and {second.variant_id} lie {gap} bp apart, within a read length "
            f"({distance} bp), and are not phased in trans: likely in cis"
        )
    return None


def segregate(
    pedigree: Pedigree,
    variants: Sequence[VariantGenotypes],
    *,
    build: str = "GRCh38",
    cis_distance: int = LIKELY_CIS_DISTANCE,
) -> dict[str, Segregation]:
    """Returns each variant's segregation, compound heterozygous pairs within a gene included.

    Pairs likely in cis (``likely_cis``) are left out unless the parents or read-backed phase put them in
    trans; each variant's ``excluded`` says which partner was left out and why.
    """
    results = {v.variant_id: segregate_variant(pedigree, v, build=build) for v in variants}
    by_gene: dict[str, list[_Family]] = defaultdict(list)
    for variant in variants:
        if not variant.gene or _chrom_kind(variant.chrom, variant.pos, build) != "autosome":
            continue
        fam = _Family(pedigree, variant)
        if _comp_het_candidate(fam):
            by_gene[variant.gene].append(fam)
    extra: dict[str, list[ModeCall]] = defaultdict(list)
    left_out: dict[str, list[tuple[Mode, str]]] = defaultdict(list)
    for gene, fams in by_gene.items():
        for first, second in combinations(fams, 2):
            certainty, why = _phase_pair(pedigree, first, second)
            if certainty == Certainty.POSSIBLE:
                near = likely_cis(first.variant, second.variant, cis_distance)
                if near:
                    certainty, why = None, near
            if certainty is None:
                for this, other in ((first, second), (second, first)):
                    left_out[this.variant.variant_id].append(
                        (Mode.AR_COMP_HET, f"with {other.variant.variant_id}: {why}")
                    )
                continue
            for this, other in ((first, second), (second, first)):
                reasons = (f"heterozygous with {other.variant.variant_id} in {gene}", why)
                extra[this.variant.variant_id].append(
                    ModeCall(Mode.AR_COMP_HET, certainty, reasons, other.variant.variant_id)
                )
    for variant_id in extra.keys() | left_out.keys():
        seg = results[variant_id]
        results[variant_id] = Segregation(
            variant_id, seg.modes + tuple(extra.get(variant_id, ())), seg.excluded + tuple(left_out.get(variant_id, ()))
        )
    return results


#: Label of a heterozygous allele whose de novo origin cannot be confirmed (a parent not genotyped).
UNCONFIRMED_DE_NOVO = "heterozygous_parents_not_tested"


def describe_mode(call: ModeCall, pedigree: Pedigree, variant: VariantGenotypes | None = None) -> tuple[str, str]:
    """A mode as reports state it: (label, sentence); `de novo` only when both parents are genotyped without it.

    A heterozygous allele with a parent not genotyped is "heterozygous, parents not tested" (or which parent
    was tested), never de novo: the label is ``UNCONFIRMED_DE_NOVO``.
    """
    if call.mode != Mode.DE_NOVO:
        sentence = call.mode.value.replace("_", " ")
        if call.certainty == Certainty.POSSIBLE and len(pedigree.individuals) == 1 and call.mode != Mode.AR_COMP_HET:
            sentence += " (proband only: no relative genotyped)"
        elif call.reasons:
            sentence += ": " + "; ".join(call.reasons)
        return call.mode.value, sentence
    if call.certainty == Certainty.CONSISTENT:
        return call.mode.value, "de novo: " + "; ".join(r for r in call.reasons if r != "proband carries it")
    proband = pedigree.proband
    genotype = "heterozygous"
    if variant is not None:
        own = variant.calls.get(proband.individual_id)
        if own is not None and own.genotype == HOM_ALT:
            genotype = "hemizygous"
    tested = [r for r in call.reasons if r.endswith("is hom-ref")]
    if not tested:
        return UNCONFIRMED_DE_NOVO, f"{genotype}, parents not tested (de novo not confirmed)"
    untested = [r.removesuffix(" not genotyped") for r in call.reasons if r.endswith("not genotyped")]
    absent = "; ".join(tested)
    return UNCONFIRMED_DE_NOVO, (
        f"{genotype}, not inherited from the tested parent ({absent}); {', '.join(untested)} not tested "
        "(de novo not confirmed)"
    )
