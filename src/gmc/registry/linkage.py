"""Record linkage of participant records: exact NHS number, then Fellegi-Sunter weights with blocking."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Literal

import jellyfish
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from gmc.registry.names import (
    NICKNAME_GROUPS,
    are_nicknames,
    are_related_variants,
    canonical_given_keys,
    compact_name,
    first_name_token,
    name_variants,
    normalise_name,
    variant_initials,
)
from gmc.registry.nhs_number import InvalidNhsNumber, normalise_nhs_number

Band = Literal["match", "possible", "non-match"]
_BAND_ORDER: dict[str, int] = {"non-match": 0, "possible": 1, "match": 2}

#: Given names that stand in for a name not yet known (newborns, unconscious patients): treated as missing.
PLACEHOLDER_GIVEN_NAMES = frozenset(
    {"BABY", "BABYOF", "INFANT", "UNKNOWN", "UNK", "BOY", "GIRL", "TWIN", "TWINI", "TWINII", "NK", "NOTKNOWN"}
)

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_SEX_CODES: dict[str, str] = {
    "M": "M",
    "MALE": "M",
    "1": "M",
    "F": "F",
    "FEMALE": "F",
    "2": "F",
    "O": "O",
    "OTHER": "O",
    "9": "O",
}


class LinkageError(ValueError):
    """A person record that cannot be linked because a field is malformed."""


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One registration of a person at a trust, as it arrives for linkage."""

    #: Identifier of this record in its source (PAS row, HL7 message, CSV line).
    record_id: str
    #: Ten-digit NHS number, any spacing; None or invalid is treated as unknown.
    nhs_number: str | None = None
    family_name: str = ""
    given_name: str = ""
    date_of_birth: date | None = None
    #: 'M', 'F', 'O' (or male/female/other); None or 'U' when unknown.
    sex: str | None = None
    postcode: str | None = None
    #: ODS code of the trust that registered the record (e.g. RRK).
    trust_code: str | None = None
    #: The trust's local hospital (MRN) number.
    hospital_number: str | None = None


@dataclass(frozen=True, slots=True)
class FieldComparison:
    """How one field of two records compares: level, log2 weight and a sentence for the reviewer."""

    field: str
    level: str
    weight: float
    reason: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The verdict on one pair of records: total score, band and per-field reasons."""

    record_id: str
    other_record_id: str
    score: float
    band: Band
    fields: tuple[FieldComparison, ...]
    flags: tuple[str, ...] = ()

    def reasons(self) -> list[str]:
        """Returns the per-field reasons and flags as sentences, for display to a reviewer."""
        return [f"{c.field}: {c.reason} ({c.weight:+.1f})" for c in self.fields] + list(self.flags)


@dataclass(frozen=True, slots=True)
class LinkageWeights:
    """Log2 likelihood-ratio weights and band thresholds of the probabilistic comparison."""

    #: m-probability that a true match agrees exactly on a name; u comes from name frequencies.
    name_m: float = 0.9
    family_exact_bounds: tuple[float, float] = (4.0, 12.0)
    given_exact_bounds: tuple[float, float] = (3.0, 10.0)
    #: Prior name frequencies used until the index has seen enough names (Bayesian smoothing).
    family_u_prior: float = 0.002
    given_u_prior: float = 0.01
    prior_records: int = 1000
    family_partial: float = 5.0
    family_typo: float = 4.5
    family_sounds_alike: float = 3.5
    family_disagree: float = -4.0
    given_nickname: float = 5.0
    given_typo: float = 4.0
    given_sounds_alike: float = 3.0
    given_middle_name: float = 3.0
    given_initial: float = 1.0
    given_related: float = 1.5
    given_disagree: float = -6.0
    swap_penalty: float = 1.0
    dob_exact: float = 13.5
    dob_transposed: float = 8.0
    dob_typo: float = 6.0
    dob_disagree: float = -12.0
    sex_agree: float = 1.0
    sex_disagree: float = -6.0
    postcode_exact: float = 9.0
    postcode_sector: float = 5.0
    postcode_district: float = 2.5
    postcode_disagree: float = -1.5
    hospital_number_agree: float = 10.0
    hospital_number_disagree: float = -1.0
    nhs_agree: float = 25.0
    nhs_disagree: float = -25.0
    match_threshold: float = 20.0
    possible_threshold: float = 12.0


DEFAULT_WEIGHTS = LinkageWeights()


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """A person record with normalised fields and phonetic codes, computed once for many comparisons."""

    record: PersonRecord
    nhs: str | None
    family: str
    given: str
    given_first: str
    family_code: str
    given_code: str
    dob: date | None
    sex: str | None
    postcode: str | None
    district: str | None
    sector: str | None
    trust: str | None
    hospital_number: str | None


@dataclass
class NameFrequencies:
    """Counts of family names and forenames, giving frequency-based agreement weights."""

    family: Counter[str] = field(default_factory=Counter)
    given: Counter[str] = field(default_factory=Counter)
    total: int = 0

    def add(self, prepared: PreparedRecord) -> None:
        """Counts one record's names."""
        self.total += 1
        if prepared.family:
            self.family[prepared.family] += 1
        if prepared.given_first:
            self.given[prepared.given_first] += 1


def normalise_postcode(value: str | None) -> str | None:
    """Returns a UK postcode upper-case without spaces, or None when empty or not postcode-shaped."""
    if not value:
        return None
    text = re.sub(r"\s+", "", value).upper()
    return text if _POSTCODE.match(text) else None


def normalise_sex(value: str | None) -> str | None:
    """Returns 'M', 'F' or 'O' for the usual codings of administrative sex, None when unknown."""
    if value is None:
        return None
    return _SEX_CODES.get(value.strip().upper())


@lru_cache(maxsize=200_000)
def _phonetic(name: str) -> str:
    return jellyfish.metaphone(name) if name else ""


def prepare(record: PersonRecord) -> PreparedRecord:
    """Returns the normalised form of a record used by blocking and comparison."""
    nhs: str | None = None
    if record.nhs_number:
        try:
            nhs = normalise_nhs_number(record.nhs_number)
        except InvalidNhsNumber:
            # An invalid number tells us nothing reliable; linkage falls back to demographics.
            nhs = None
    family = compact_name(normalise_name(record.family_name))
    given = normalise_name(record.given_name)
    given_first = first_name_token(given)
    if compact_name(given) in PLACEHOLDER_GIVEN_NAMES or given_first in PLACEHOLDER_GIVEN_NAMES:
        given, given_first = "", ""
    postcode = normalise_postcode(record.postcode)
    district = sector = None
    if postcode:
        outward, inward = postcode[:-3], postcode[-3:]
        district, sector = outward, outward + inward[0]
    return PreparedRecord(
        record=record,
        nhs=nhs,
        family=family,
        given=given,
        given_first=given_first,
        family_code=_phonetic(family),
        given_code=_phonetic(given_first),
        dob=record.date_of_birth,
        sex=normalise_sex(record.sex),
        postcode=postcode,
        district=district,
        sector=sector,
        trust=(record.trust_code or "").strip().upper() or None,
        hospital_number=(record.hospital_number or "").strip().upper() or None,
    )


def _smoothed_u(count: int, total: int, prior_u: float, prior_records: int) -> float:
    return (count + prior_u * prior_records) / (total + prior_records)


def _exact_weight(u: float, m: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return min(high, max(low, math.log2(m / u)))


def _is_typo(a: str, b: str) -> bool:
    # One edit (including a swap of neighbours) when the longer name has three letters or more, or very close
    # by Jaro-Winkler; shorter names are too easily one edit apart by chance.
    if min(len(a), len(b)) >= 2 and max(len(a), len(b)) >= 3 and DamerauLevenshtein.distance(a, b) <= 1:
        return True
    return JaroWinkler.similarity(a, b) >= 0.93


@lru_cache(maxsize=200_000)
def _is_variant_typo(x: str, y: str) -> bool:
    # Nickname on one record, typo on the other (Gabe / Gabiel for Gabriel); cached as forename pairs recur.
    # Only a name missing from the table can be the misspelling: Alfie is not a misspelt Allie (Alice).
    misspelt_x = x not in NICKNAME_GROUPS and any(_is_typo(x, v) for v in name_variants(y) if v != y)
    misspelt_y = y not in NICKNAME_GROUPS and any(_is_typo(y, v) for v in name_variants(x) if v != x)
    return misspelt_x or misspelt_y


def _compare_family(
    a: str, b: str, a_code: str, b_code: str, freq: NameFrequencies | None, w: LinkageWeights
) -> FieldComparison:
    if not a or not b:
        return FieldComparison("family_name", "missing", 0.0, "missing on one record")
    if a == b:
        count = freq.family.get(a, 0) if freq else 0
        total = freq.total if freq else 0
        u = _smoothed_u(count, total, w.family_u_prior, w.prior_records)
        weight = _exact_weight(u, w.name_m, w.family_exact_bounds)
        return FieldComparison("family_name", "exact", weight, f"identical ({a})")
    if _is_typo(a, b):
        return FieldComparison("family_name", "typo", w.family_typo, f"near-identical spelling ({a} / {b})")
    if a_code and a_code == b_code and JaroWinkler.similarity(a, b) >= 0.8:
        return FieldComparison(
            "family_name", "sounds-alike", w.family_sounds_alike, f"sound alike ({a} / {b})"
        )
    return FieldComparison("family_name", "disagree", w.family_disagree, f"different ({a} / {b})")


def _compare_double_barrelled(a_raw: str, b_raw: str, w: LinkageWeights) -> FieldComparison | None:
    # 'Smith Jones' against 'Jones': one surname part kept, as after marriage or a hyphenated registration.
    a_parts, b_parts = set(a_raw.split()), set(b_raw.split())
    if (len(a_parts) > 1 or len(b_parts) > 1) and a_parts & b_parts:
        return FieldComparison(
            "family_name", "partial", w.family_partial, f"shares a surname part ({a_raw} / {b_raw})"
        )
    return None


def _compare_given(
    a: PreparedRecord, b: PreparedRecord, freq: NameFrequencies | None, w: LinkageWeights
) -> FieldComparison:
    x, y = a.given_first, b.given_first
    if not x or not y:
        return FieldComparison("given_name", "missing", 0.0, "missing on one record")
    if x == y:
        count = freq.given.get(x, 0) if freq else 0
        total = freq.total if freq else 0
        u = _smoothed_u(count, total, w.given_u_prior, w.prior_records)
        weight = _exact_weight(u, w.name_m, w.given_exact_bounds)
        return FieldComparison("given_name", "exact", weight, f"identical ({x})")
    if len(x) == 1 or len(y) == 1:
        if x[0] == y[0]:
            return FieldComparison("given_name", "initial", w.given_initial, f"initial agrees ({x} / {y})")
        initial, full = (x, y) if len(x) == 1 else (y, x)
        if initial in variant_initials(full):
            return FieldComparison(
                "given_name", "initial", w.given_initial / 2, f"initial of a name variant ({x} / {y})"
            )
        return FieldComparison("given_name", "disagree", w.given_disagree, f"initials differ ({x} / {y})")
    if are_nicknames(x, y):
        return FieldComparison("given_name", "nickname", w.given_nickname, f"known name variants ({x} / {y})")
    if _is_typo(x, y):
        return FieldComparison("given_name", "typo", w.given_typo, f"near-identical spelling ({x} / {y})")
    if _is_variant_typo(x, y):
        return FieldComparison(
            "given_name", "nickname-typo", w.given_typo, f"misspelt name variant ({x} / {y})"
        )
    if x in b.given.split() or y in a.given.split():
        return FieldComparison(
            "given_name",
            "middle-name",
            w.given_middle_name,
            f"one is the other's middle name ({a.given} / {b.given})",
        )
    if a.given_code and a.given_code == b.given_code and JaroWinkler.similarity(x, y) >= 0.8:
        return FieldComparison("given_name", "sounds-alike", w.given_sounds_alike, f"sound alike ({x} / {y})")
    if are_related_variants(x, y):
        return FieldComparison(
            "given_name", "related", w.given_related, f"variants of related names ({x} / {y})"
        )
    return FieldComparison("given_name", "disagree", w.given_disagree, f"different ({x} / {y})")


def _compare_names(
    a: PreparedRecord, b: PreparedRecord, freq: NameFrequencies | None, w: LinkageWeights
) -> tuple[FieldComparison, FieldComparison, bool]:
    family = _compare_family(a.family, b.family, a.family_code, b.family_code, freq, w)
    if family.level == "disagree":
        family = (
            _compare_double_barrelled(
                normalise_name(a.record.family_name), normalise_name(b.record.family_name), w
            )
            or family
        )
    given = _compare_given(a, b, freq, w)
    direct = family.weight + given.weight
    if family.level in ("exact", "partial") and given.level not in ("disagree",):
        return family, given, False
    # Given and family names entered the wrong way round: compare crosswise and keep the better reading.
    if a.family and b.family and a.given_first and b.given_first:
        swapped_b = replace(
            b,
            family=compact_name(b.given_first),
            given=b.family,
            given_first=b.family,
            family_code=b.given_code,
            given_code=b.family_code,
        )
        s_family = _compare_family(a.family, swapped_b.family, a.family_code, swapped_b.family_code, freq, w)
        s_given = _compare_given(a, swapped_b, freq, w)
        good = ("exact", "typo", "nickname", "nickname-typo", "sounds-alike")
        if s_family.level in good and s_given.level in good:
            s_total = s_family.weight + s_given.weight - w.swap_penalty
            if s_total > direct:
                s_family = FieldComparison(
                    "family_name",
                    "swapped",
                    s_family.weight - w.swap_penalty,
                    f"given and family names swapped; {s_family.reason}",
                )
                s_given = FieldComparison(
                    "given_name",
                    "swapped",
                    s_given.weight,
                    f"given and family names swapped; {s_given.reason}",
                )
                return s_family, s_given, True
    return family, given, False


def _digit_typo(x: int, y: int, width: int) -> bool:
    # One keyed digit wrong or two swapped, or one off (09 -> 10 changes two digits but is a slip of one).
    return abs(x - y) == 1 or DamerauLevenshtein.distance(f"{x:0{width}d}", f"{y:0{width}d}") <= 1


def _compare_dob(a: date | None, b: date | None, w: LinkageWeights) -> tuple[FieldComparison, int]:
    """Returns the comparison and the number of date parts (day, month, year) that differ."""
    if a is None or b is None:
        return FieldComparison("date_of_birth", "missing", 0.0, "missing on one record"), 0
    if a == b:
        return FieldComparison("date_of_birth", "exact", w.dob_exact, f"identical ({a.isoformat()})"), 0
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return FieldComparison(
            "date_of_birth",
            "transposed",
            w.dob_transposed,
            f"day and month transposed ({a.isoformat()} / {b.isoformat()})",
        ), 0
    differing = (a.day != b.day) + (a.month != b.month) + (a.year != b.year)
    if differing == 1:
        typo = (
            (a.day != b.day and _digit_typo(a.day, b.day, 2))
            or (a.month != b.month and _digit_typo(a.month, b.month, 2))
            or (a.year != b.year and (abs(a.year - b.year) == 10 or _digit_typo(a.year, b.year, 4)))
        )
        if typo:
            return FieldComparison(
                "date_of_birth", "typo", w.dob_typo, f"one digit differs ({a.isoformat()} / {b.isoformat()})"
            ), 0
    return FieldComparison(
        "date_of_birth", "disagree", w.dob_disagree, f"different ({a.isoformat()} / {b.isoformat()})"
    ), differing


def _compare_sex(a: str | None, b: str | None, w: LinkageWeights) -> FieldComparison:
    if a is None or b is None:
        return FieldComparison("sex", "missing", 0.0, "missing on one record")
    if a == b:
        return FieldComparison("sex", "exact", w.sex_agree, f"same ({a})")
    return FieldComparison("sex", "disagree", w.sex_disagree, f"different ({a} / {b})")


def _compare_postcode(a: PreparedRecord, b: PreparedRecord, w: LinkageWeights) -> FieldComparison:
    if a.postcode is None or b.postcode is None:
        return FieldComparison("postcode", "missing", 0.0, "missing on one record")
    if a.postcode == b.postcode:
        return FieldComparison("postcode", "exact", w.postcode_exact, f"same address postcode ({a.postcode})")
    if a.sector == b.sector:
        return FieldComparison(
            "postcode", "sector", w.postcode_sector, f"same postcode sector ({a.postcode} / {b.postcode})"
        )
    if a.district == b.district:
        return FieldComparison(
            "postcode",
            "district",
            w.postcode_district,
            f"same postcode district ({a.postcode} / {b.postcode})",
        )
    return FieldComparison(
        "postcode",
        "disagree",
        w.postcode_disagree,
        f"different; may have moved ({a.postcode} / {b.postcode})",
    )


def _compare_hospital_number(
    a: PreparedRecord, b: PreparedRecord, w: LinkageWeights
) -> FieldComparison | None:
    # Hospital numbers are only comparable within one trust; across trusts they are unrelated series.
    if not (a.trust and a.trust == b.trust and a.hospital_number and b.hospital_number):
        return None
    if a.hospital_number == b.hospital_number:
        return FieldComparison(
            "hospital_number", "exact", w.hospital_number_agree, f"same {a.trust} hospital number"
        )
    return FieldComparison(
        "hospital_number",
        "disagree",
        w.hospital_number_disagree,
        f"different {a.trust} hospital numbers (duplicate registration?)",
    )


def _band(score: float, w: LinkageWeights) -> Band:
    if score >= w.match_threshold:
        return "match"
    if score >= w.possible_threshold:
        return "possible"
    return "non-match"


def _cap(band: Band, ceiling: Band) -> Band:
    return band if _BAND_ORDER[band] <= _BAND_ORDER[ceiling] else ceiling


def compare_prepared(
    a: PreparedRecord,
    b: PreparedRecord,
    *,
    frequencies: NameFrequencies | None = None,
    weights: LinkageWeights = DEFAULT_WEIGHTS,
) -> MatchResult:
    """Returns the match verdict for two prepared records (see compare_records)."""
    w = weights
    family, given, swapped = _compare_names(a, b, frequencies, w)
    dob, dob_parts_differing = _compare_dob(a.dob, b.dob, w)
    fields: list[FieldComparison] = [
        family,
        given,
        dob,
        _compare_sex(a.sex, b.sex, w),
        _compare_postcode(a, b, w),
    ]
    hospital = _compare_hospital_number(a, b, w)
    if hospital:
        fields.append(hospital)
    flags: list[str] = []
    demographic_score = sum(c.weight for c in fields)

    if a.nhs and b.nhs and a.nhs == b.nhs:
        fields.insert(0, FieldComparison("nhs_number", "exact", w.nhs_agree, "identical NHS number"))
        if family.level == "disagree" and given.level == "disagree" and dob.level == "disagree":
            flags.append("check: NHS number shared but names and date of birth all differ")
        return MatchResult(
            a.record.record_id,
            b.record.record_id,
            demographic_score + w.nhs_agree,
            "match",
            tuple(fields),
            tuple(flags),
        )

    if a.nhs and b.nhs:
        fields.insert(
            0, FieldComparison("nhs_number", "disagree", w.nhs_disagree, "different valid NHS numbers")
        )
        identical = all(c.level == "exact" for c in fields[1:6])
        if identical:
            flags.append("check: different NHS numbers but every other field identical")
            return MatchResult(
                a.record.record_id,
                b.record.record_id,
                demographic_score,
                "possible",
                tuple(fields),
                tuple(flags),
            )
        return MatchResult(
            a.record.record_id,
            b.record.record_id,
            demographic_score + w.nhs_disagree,
            "non-match",
            tuple(fields),
            tuple(flags),
        )

    band = _band(demographic_score, w)
    same_mrn = hospital is not None and hospital.level == "exact"
    if given.level == "disagree" and not swapped:
        clearly_different = JaroWinkler.similarity(a.given_first, b.given_first) < 0.8
        if (
            clearly_different
            and dob.level in ("exact", "transposed")
            and family.level in ("exact", "partial", "typo")
            and not same_mrn
        ):
            # Same surname and birthday but another forename: twins (or triplets) far outnumber such typos.
            flags.append("likely twin: same family name and date of birth, different given names")
            band = "non-match"
        else:
            flags.append("given names differ: confirm by hand")
            band = _cap(band, "possible")
    sex = fields[3]
    if sex.level == "disagree" and given.level == "disagree" and not same_mrn:
        flags.append("different sex and given name: different people")
        band = "non-match"
    if (
        sex.level == "disagree"
        and given.level not in ("exact", "typo", "nickname", "nickname-typo", "swapped")
        and band != "non-match"
    ):
        # Different sex and only loosely similar forenames (Oliver / Olivia): siblings until shown otherwise.
        flags.append("sex and given name differ: confirm by hand")
        band = _cap(band, "possible")
    if dob.level == "disagree":
        if dob_parts_differing >= 2 and not same_mrn:
            # Same name at the same address with another birth date is typically a parent and child.
            flags.append(
                "date of birth differs in more than one part: different people (e.g. parent and child)"
            )
            band = "non-match"
        else:
            flags.append("date of birth differs: confirm by hand")
            band = _cap(band, "possible")
    if family.level == "disagree" and band != "non-match" and given.level != "disagree":
        flags.append("family name differs: changed surname (e.g. marriage)?")
    return MatchResult(
        a.record.record_id, b.record.record_id, demographic_score, band, tuple(fields), tuple(flags)
    )


def compare_records(
    a: PersonRecord,
    b: PersonRecord,
    *,
    frequencies: NameFrequencies | None = None,
    weights: LinkageWeights = DEFAULT_WEIGHTS,
) -> MatchResult:
    """Returns the score, band (match / possible / non-match) and per-field reasons for two person records."""
    return compare_prepared(prepare(a), prepare(b), frequencies=frequencies, weights=weights)


def blocking_keys(p: PreparedRecord) -> set[tuple[str, ...]]:
    """Returns the blocking keys of a record: only records sharing a key are compared."""
    keys: set[tuple[str, ...]] = set()
    if p.nhs:
        keys.add(("nhs", p.nhs))
    if p.trust and p.hospital_number:
        keys.add(("mrn", p.trust, p.hospital_number))
    if p.dob:
        # Day and month sorted, so a transposed day/month lands in the same block.
        low, high = sorted((p.dob.day, p.dob.month))
        keys.add(("dob", str(low), str(high), str(p.dob.year)))
        if p.family_code:
            # Same surname sound and year with either the month or the day kept: catches one-part DOB typos.
            keys.add(("family-year-month", p.family_code, str(p.dob.year), str(p.dob.month)))
            keys.add(("family-year-day", p.family_code, str(p.dob.year), str(p.dob.day)))
    if p.family_code and p.given_code:
        # Phonetic name pair in sorted order, so swapped given/family names share the block.
        keys.add(("names", *sorted((p.family_code, p.given_code))))
        for given_key in canonical_given_keys(p.given_first):
            keys.add(("nickname-family", given_key, p.family_code))
    if p.postcode and p.given_first:
        keys.add(("postcode-initial", p.postcode, p.given_first[0]))
    return keys


class LinkageIndex:
    """An in-memory blocking index over existing records, answering ranked matches for a candidate."""

    def __init__(
        self,
        records: Iterable[PersonRecord] = (),
        *,
        weights: LinkageWeights = DEFAULT_WEIGHTS,
        max_block_size: int = 5000,
    ) -> None:
        self.weights = weights
        #: Blocks larger than this are skipped: they carry little evidence and cost quadratic time.
        self.max_block_size = max_block_size
        self.frequencies = NameFrequencies()
        self.prepared: list[PreparedRecord] = []
        self.blocks: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for record in records:
            self.add(record)

    def __len__(self) -> int:
        return len(self.prepared)

    def add(self, record: PersonRecord) -> int:
        """Adds a record to the index and returns its position."""
        p = prepare(record)
        position = len(self.prepared)
        self.prepared.append(p)
        self.frequencies.add(p)
        for key in blocking_keys(p):
            self.blocks[key].append(position)
        return position

    def candidate_positions(self, p: PreparedRecord) -> set[int]:
        """Returns positions of indexed records sharing at least one (not oversized) block with the record."""
        found: set[int] = set()
        for key in blocking_keys(p):
            block = self.blocks.get(key)
            if block and len(block) <= self.max_block_size:
                found.update(block)
        return found

    def find_matches(
        self, candidate: PersonRecord, *, limit: int = 10, include_non_matches: bool = False
    ) -> list[MatchResult]:
        """Returns existing records that may be the candidate's person, best first, with bands and reasons."""
        p = prepare(candidate)
        results = [
            compare_prepared(p, self.prepared[i], frequencies=self.frequencies, weights=self.weights)
            for i in self.candidate_positions(p)
            if self.prepared[i].record.record_id != candidate.record_id
        ]
        if not include_non_matches:
            results = [r for r in results if r.band != "non-match"]
        results.sort(key=lambda r: (-_BAND_ORDER[r.band], -r.score, r.other_record_id))
        return results[:limit]

    def candidate_pairs(self) -> Iterator[tuple[int, int]]:
        """Yields each pair of indexed positions sharing a block once (lower position first)."""
        # Per record rather than per block, so no global set of pairs is held in memory.
        for i, p in enumerate(self.prepared):
            partners: set[int] = set()
            for key in blocking_keys(p):
                block = self.blocks[key]
                if len(block) <= self.max_block_size:
                    partners.update(j for j in block if j > i)
            for j in sorted(partners):
                yield i, j

    def compare_positions(self, i: int, j: int) -> MatchResult:
        """Returns the verdict for two indexed records by position."""
        return compare_prepared(
            self.prepared[i], self.prepared[j], frequencies=self.frequencies, weights=self.weights
        )


def find_matches(
    candidate: PersonRecord, existing: Iterable[PersonRecord] | LinkageIndex, *, limit: int = 10
) -> list[MatchResult]:
    """Returns ranked matches and possible matches of a candidate among existing records or an index."""
    index = existing if isinstance(existing, LinkageIndex) else LinkageIndex(existing)
    return index.find_matches(candidate, limit=limit)


def record_from_mapping(row: Mapping[str, str | None], *, where: str = "row") -> PersonRecord:
    """Returns a PersonRecord from a string mapping (CSV row); raises LinkageError naming the bad field."""

    def text(name: str) -> str | None:
        value = row.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    record_id = text("record_id")
    if record_id is None:
        raise LinkageError(f"{where}: field record_id is empty")
    nhs = text("nhs_number")
    if nhs is not None:
        try:
            nhs = normalise_nhs_number(nhs)
        except InvalidNhsNumber as error:
            raise LinkageError(f"{where}: field nhs_number: {error}") from error
    dob_text = text("date_of_birth")
    dob: date | None = None
    if dob_text is not None:
        try:
            dob = date.fromisoformat(dob_text)
        except ValueError as error:
            raise LinkageError(
                f"{where}: field date_of_birth: {dob_text!r} is not a date (YYYY-MM-DD)"
            ) from error
    sex_text = text("sex")
    if (
        sex_text is not None
        and sex_text.upper() not in ("U", "UNKNOWN", "0")
        and normalise_sex(sex_text) is None
    ):
        raise LinkageError(f"{where}: field sex: {sex_text!r} is not one of M, F, O, U")
    postcode = text("postcode")
    if postcode is not None and normalise_postcode(postcode) is None:
        raise LinkageError(f"{where}: field postcode: {postcode!r} is not a UK postcode")
    return PersonRecord(
        record_id=record_id,
        nhs_number=nhs,
        family_name=text("family_name") or "",
        given_name=text("given_name") or "",
        date_of_birth=dob,
        sex=sex_text,
        postcode=postcode,
        trust_code=text("trust_code"),
        hospital_number=text("hospital_number"),
    )
