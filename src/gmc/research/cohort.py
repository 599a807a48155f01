"""Cohort criteria as plain data: what a researcher may select on, checked for form, and what they may not.

Pure: no database, no ontology. The service checks terms, codes and genes against reference data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from gmc.common.errors import ValidationFailed

#: Age bands (whole years at recruitment) a cohort may select and counts are split by.
AGE_BANDS = ("0-4", "5-17", "18-39", "40-59", "60-79", "80+")
ARMS = ("rare_disease", "cancer")
SEXES = ("female", "male", "other", "unknown")
IMPACTS = ("HIGH", "MODERATE", "LOW", "MODIFIER")
GENOTYPES = ("het", "hom")
CLINVAR_RULES = ("or", "only", "no")
HPO_MATCH = ("all", "any")

#: Fields that identify a person: asking for them is refused with the reason and what is offered instead.
IDENTIFIABLE_FIELDS: dict[str, str] = {
    "name": "names never leave gmc",
    "given_name": "names never leave gmc",
    "family_name": "names never leave gmc",
    "nhs_number": "NHS numbers never leave gmc",
    "hospital_number": "hospital numbers never leave gmc",
    "hospital_numbers": "hospital numbers never leave gmc",
    "participant_id": "programme ids never leave gmc; releases carry research ids keyed per project",
    "address": "addresses never leave gmc",
    "postcode": "postcodes never leave gmc; location is given only as the recruiting centre",
    "date_of_birth": "exact dates never leave gmc; use age_bands (age in whole years at recruitment)",
    "dob": "exact dates never leave gmc; use age_bands (age in whole years at recruitment)",
    "date_of_death": "exact dates never leave gmc; releases say only whether a participant has died",
    "referral_date": "exact dates never leave gmc; releases carry dates shifted by a per-participant offset",
    "consent_date": "exact dates never leave gmc",
    "email": "contact details never leave gmc",
    "phone": "contact details never leave gmc",
    "note": "free text never leaves gmc",
    "notes": "free text never leaves gmc",
    "clinician": "the referring clinician is not released",
    "referring_clinician": "the referring clinician is not released",
}

_HPO = re.compile(r"^HP:\d{7}$")
_DISEASE = re.compile(r"^(OMIM:\d{6}|ORPHA:\d+|MONDO:\d{7})$")
_GENE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$")
_VARIANT = re.compile(r"^(?:chr)?([0-9]{1,2}|X|Y|MT|M)[-:](\d+)[-:]([ACGTNacgtn]+)[-:]([ACGTNacgtn]+)$")
_RESEARCH_ID = re.compile(r"^R[A-Z2-7]{12}$")
_BUILDS = ("GRCh38", "GRCh37")


def refuse_identifiable(name: str, *, what: str) -> None:
    """Raises a clear refusal when a field asked for identifies a person."""
    reason = IDENTIFIABLE_FIELDS.get(name.strip().lower())
    if reason:
        raise ValidationFailed(f"{name} is an identifiable field and cannot be used in {what}: {reason}", field=name)


@dataclass(frozen=True)
class Qualifying:
    """Which calls count as a qualifying genotype in a gene (all conditions hold together)."""

    #: Consequence impacts of the site's most severe annotation (empty: any).
    impacts: tuple[str, ...] = ("HIGH", "MODERATE")
    #: A ClinVar pathogenic/likely pathogenic record: "or" qualifies a site whatever its impact, "only" requires
    #: one (impacts then do not matter), "no" leaves ClinVar out.
    clinvar: str = "or"
    #: Highest population allele frequency (gnomAD; a site absent from the population passes). None: any.
    max_population_af: float | None = 0.01
    #: Genotypes counted: het and/or hom (hom-alt or hemizygous). Empty: both.
    genotypes: tuple[str, ...] = ()
    #: Only calls whose FILTER is PASS.
    pass_only: bool = True
    #: Lowest genotype quality (None: any).
    min_gq: int | None = None


@dataclass(frozen=True)
class Criteria:
    """A cohort definition: every given criterion must hold (within one list, any value may)."""

    #: HPO terms observed (not excluded) in the participant, each with every term below it.
    hpo_terms: tuple[str, ...] = ()
    #: all: every term (or a descendant) observed; any: at least one.
    hpo_match: str = "all"
    #: False: only the terms themselves count, not the terms below them.
    hpo_descendants: bool = True
    #: Suspected or confirmed diagnoses (OMIM, ORPHA or MONDO codes).
    disease_codes: tuple[str, ...] = ()
    #: Genes in which the participant carries a qualifying variant (any of them).
    genes: tuple[str, ...] = ()
    #: Alleles (chrom-pos-ref-alt on `build`) the participant carries (any of them).
    variants: tuple[str, ...] = ()
    #: The genome build of `variants`.
    build: str = "GRCh38"
    qualifying: Qualifying = field(default_factory=Qualifying)
    #: OncoTree codes: the participant's tumour type is one of them or lies below one.
    cancer_types: tuple[str, ...] = ()
    programme_arms: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()
    #: Age in whole years at recruitment (first referral).
    age_bands: tuple[str, ...] = ()
    #: Research ids from earlier releases of the same project (a follow-up release of the same people).
    research_ids: tuple[str, ...] = ()

    @property
    def needs_genotypes(self) -> bool:
        """True when the cohort selects on the variant store."""
        return bool(self.genes or self.variants)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, the form saved with a cohort version."""
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()} | {
            "qualifying": {k: list(v) if isinstance(v, tuple) else v for k, v in data["qualifying"].items()}}

    def describe(self) -> list[str]:
        """The criteria in words, one line each, for pages and release manifests."""
        lines = []
        if self.hpo_terms:
            below = "with descendants" if self.hpo_descendants else "exactly"
            lines.append(f"HPO ({self.hpo_match} of, {below}, observed): {', '.join(self.hpo_terms)}")
        if self.disease_codes:
            lines.append(f"diagnosis (suspected or confirmed): {', '.join(self.disease_codes)}")
        if self.genes:
            q = self.qualifying
            impact = f"impact {'/'.join(q.impacts)}" if q.impacts else "any impact"
            rule = [{"or": f"{impact} or ClinVar pathogenic/likely pathogenic",
                     "only": "ClinVar pathogenic/likely pathogenic", "no": impact}[q.clinvar]]
            if q.max_population_af is not None:
                rule.append(f"population AF <= {q.max_population_af:g}")
            if q.genotypes:
                rule.append("/".join(q.genotypes))
            if q.pass_only:
                rule.append("PASS")
            if q.min_gq is not None:
                rule.append(f"GQ >= {q.min_gq}")
            lines.append(f"qualifying variant in {', '.join(self.genes)} ({', '.join(rule)})")
        if self.variants:
            lines.append(f"carries {', '.join(self.variants)} ({self.build})")
        if self.cancer_types:
            lines.append(f"tumour type within OncoTree {', '.join(self.cancer_types)}")
        if self.programme_arms:
            lines.append(f"programme arm: {', '.join(a.replace('_', ' ') for a in self.programme_arms)}")
        if self.sexes:
            lines.append(f"sex: {', '.join(self.sexes)}")
        if self.age_bands:
            lines.append(f"age at recruitment: {', '.join(self.age_bands)}")
        if self.research_ids:
            lines.append(f"{len(self.research_ids)} research ids of earlier releases")
        return lines or ["every participant whose consent allows research"]


def _strings(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key, ())
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list | tuple):
        raise ValidationFailed(f"{key} must be a list", field=key)
    out = []
    for item in value:
        if not isinstance(item, str):
            raise ValidationFailed(f"{key} must be a list of text values", field=key)
        if item.strip():
            out.append(item.strip())
    return tuple(dict.fromkeys(out))


def _choices(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], *, upper: bool = False) -> tuple[str, ...]:
    values = tuple(v.upper() if upper else v.lower() for v in _strings(raw, key))
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValidationFailed(f"{key}: {bad[0]!r} is not one of {', '.join(allowed)}", field=key)
    return values


def _matching(raw: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str,
              normalise=str.strip) -> tuple[str, ...]:  # noqa: ANN001
    values = tuple(normalise(v) for v in _strings(raw, key))
    for v in values:
        if not pattern.match(v):
            raise ValidationFailed(f"{key}: {v!r} is not {what}", field=key)
    return values


def normalise_variant(text: str) -> str:
    """chr2:166000000:G:A (or with dashes) as 2-166000000-G-A."""
    match = _VARIANT.match(text.strip())
    if not match:
        return text.strip()
    chrom = "MT" if match.group(1).upper() in ("M", "MT") else match.group(1).upper()
    return f"{chrom}-{int(match.group(2))}-{match.group(3).upper()}-{match.group(4).upper()}"


def _qualifying(raw: Any) -> Qualifying:
    if raw is None:
        return Qualifying()
    if not isinstance(raw, Mapping):
        raise ValidationFailed("qualifying must be an object", field="qualifying")
    unknown = set(raw) - {f for f in Qualifying.__dataclass_fields__}
    if unknown:
        raise ValidationFailed(f"qualifying has no field {sorted(unknown)[0]!r}", field="qualifying")
    defaults = Qualifying()
    af = raw.get("max_population_af", defaults.max_population_af)
    gq = raw.get("min_gq", defaults.min_gq)
    try:
        af = None if af in (None, "") else float(af)
        gq = None if gq in (None, "") else int(gq)
    except (TypeError, ValueError):
        raise ValidationFailed("qualifying.max_population_af must be a number and min_gq a whole number",
                               field="qualifying") from None
    if af is not None and not 0 <= af <= 1:
        raise ValidationFailed("qualifying.max_population_af must lie between 0 and 1",
                               field="qualifying.max_population_af")
    if gq is not None and not 0 <= gq <= 99:
        raise ValidationFailed("qualifying.min_gq must lie between 0 and 99", field="qualifying.min_gq")
    impacts = _choices(raw, "impacts", IMPACTS, upper=True) if "impacts" in raw else defaults.impacts
    clinvar = str(raw.get("clinvar") or defaults.clinvar).lower()
    if clinvar not in CLINVAR_RULES:
        raise ValidationFailed(f"qualifying.clinvar must be one of {', '.join(CLINVAR_RULES)}",
                               field="qualifying.clinvar")
    return Qualifying(impacts=impacts, clinvar=clinvar,
                      max_population_af=af, genotypes=_choices(raw, "genotypes", GENOTYPES),
                      pass_only=bool(raw.get("pass_only", defaults.pass_only)), min_gq=gq)


def criteria_from_dict(raw: Mapping[str, Any]) -> Criteria:
    """Criteria from JSON or a form, checked for form; identifiable or unknown fields are refused by name."""
    if not isinstance(raw, Mapping):
        raise ValidationFailed("the cohort criteria must be an object", field="criteria")
    for key in raw:
        refuse_identifiable(str(key), what="a cohort")
    unknown = set(raw) - set(Criteria.__dataclass_fields__)
    if unknown:
        raise ValidationFailed(f"cohorts cannot select on {sorted(unknown)[0]!r}; they select on "
                               f"{', '.join(Criteria.__dataclass_fields__)}", field=sorted(unknown)[0])
    build = str(raw.get("build") or "GRCh38")
    if build not in _BUILDS:
        raise ValidationFailed(f"build must be {' or '.join(_BUILDS)}", field="build")
    hpo_match = str(raw.get("hpo_match") or "all").lower()
    if hpo_match not in HPO_MATCH:
        raise ValidationFailed("hpo_match must be all or any", field="hpo_match")
    return Criteria(
        hpo_terms=_matching(raw, "hpo_terms", _HPO, "an HPO id such as HP:0001250", lambda v: v.strip().upper()),
        hpo_match=hpo_match,
        hpo_descendants=bool(raw.get("hpo_descendants", True)),
        disease_codes=_matching(raw, "disease_codes", _DISEASE, "an OMIM, ORPHA or MONDO code (OMIM:607208)",
                                lambda v: v.strip().upper()),
        genes=_matching(raw, "genes", _GENE, "a gene symbol", lambda v: v.strip().upper()),
        variants=_matching(raw, "variants", _VARIANT, "a variant written chrom-pos-ref-alt (2-166000000-G-A)",
                           normalise_variant),
        build=build,
        qualifying=_qualifying(raw.get("qualifying")),
        cancer_types=tuple(v.upper() for v in _strings(raw, "cancer_types")),
        programme_arms=_choices(raw, "programme_arms", ARMS),
        sexes=_choices(raw, "sexes", SEXES),
        age_bands=_choices(raw, "age_bands", AGE_BANDS),
        research_ids=_matching(raw, "research_ids", _RESEARCH_ID, "a research id such as R7KQ2MX4PA3TZ",
                               lambda v: v.strip().upper()),
    )


def age_band(age: int | None) -> str:
    """The band of an age in whole years ("unknown" without one)."""
    if age is None:
        return "unknown"
    for band in AGE_BANDS:
        low, _, high = band.partition("-")
        if band.endswith("+"):
            if age >= int(band[:-1]):
                return band
        elif int(low) <= age <= int(high):
            return band
    return "unknown"


def parse_variant(text: str) -> tuple[str, int, str, str]:
    """(chrom, pos, ref, alt) of a normalised variant text."""
    chrom, pos, ref, alt = normalise_variant(text).split("-")
    return chrom, int(pos), ref, alt
