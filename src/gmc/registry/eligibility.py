"""Eligibility rules per programme arm, evaluated as a pure function over a referral's facts.

A rule set is versioned data (stored in the database, editable by admins); this module only
reads it. Each decision lists every reason, so an ineligible referral says all that is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ARMS = ("rare_disease", "cancer")
FAMILY_STRUCTURES = ("singleton", "duo", "trio")

#: The programme's cancer types (more can be added to a rule set).
DEFAULT_CANCER_RULES: dict[str, Any] = {
    "cancer_types": ["breast", "colorectal", "lung", "ovarian", "prostate", "chronic lymphocytic leukaemia"],
    "require_tumour_sample": True,
    "require_germline_sample": True,
}

#: Approved rare conditions and the family members each requires (a subset of the programme's list).
DEFAULT_RARE_RULES: dict[str, Any] = {
    "require_prior_tests": True,
    "conditions": {
        "Intellectual disability": ["trio"],
        "Epileptic encephalopathy": ["trio"],
        "Congenital malformations caused by ciliopathies": ["trio", "duo"],
        "Hereditary ataxia": ["trio", "duo", "singleton"],
        "Hereditary spastic paraplegia": ["trio", "duo", "singleton"],
        "Early onset dementia": ["singleton", "duo", "trio"],
        "Congenital myopathy": ["trio", "duo", "singleton"],
        "Limb girdle muscular dystrophy": ["trio", "duo", "singleton"],
        "Rod-cone dystrophy": ["trio", "duo", "singleton"],
        "Cystic kidney disease": ["trio", "duo", "singleton"],
        "Hypertrophic cardiomyopathy": ["singleton", "duo", "trio"],
        "Arrhythmogenic right ventricular cardiomyopathy": ["singleton", "duo", "trio"],
        "Primary immunodeficiency": ["trio", "duo", "singleton"],
        "Familial hypercholesterolaemia": ["singleton"],
        "Hereditary haemorrhagic telangiectasia": ["singleton", "duo", "trio"],
        "Skeletal dysplasia": ["trio"],
        "Severe early-onset obesity": ["trio", "duo", "singleton"],
        "Mitochondrial disorders": ["trio", "duo", "singleton"],
        "Ultra-rare undescribed monogenic disorders": ["trio"],
        "Bilateral congenital hearing loss": ["trio", "duo"],
    },
}


@dataclass(frozen=True)
class ReferralFacts:
    """What the rules look at in a referral."""

    programme_arm: str
    clinical_indication: str
    family_structure: str | None = None
    prior_tests_completed: bool = False
    tumour_sample_expected: bool = False
    germline_sample_expected: bool = False


@dataclass(frozen=True)
class EligibilityResult:
    """Eligible or not, with every reason."""

    eligible: bool
    reasons: list[str]


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def evaluate(rules: dict[str, Any], facts: ReferralFacts) -> EligibilityResult:
    """Applies a rule set to a referral's facts."""
    reasons: list[str] = []
    if facts.programme_arm == "cancer":
        types = {_norm(t): t for t in rules.get("cancer_types", [])}
        if _norm(facts.clinical_indication) not in types:
            reasons.append(f"cancer type {facts.clinical_indication!r} is not one of the programme's: "
                           + ", ".join(rules.get("cancer_types", [])))
        if rules.get("require_tumour_sample", True) and not facts.tumour_sample_expected:
            reasons.append("a tumour sample is required and none is expected")
        if rules.get("require_germline_sample", True) and not facts.germline_sample_expected:
            reasons.append("a matched germline sample is required and none is expected")
        ok = not reasons
        return EligibilityResult(ok, reasons or [f"{types[_norm(facts.clinical_indication)]} cancer with tumour "
                                                 "and matched germline samples expected"])
    if facts.programme_arm == "rare_disease":
        conditions = {_norm(name): (name, structures) for name, structures in rules.get("conditions", {}).items()}
        found = conditions.get(_norm(facts.clinical_indication))
        if found is None:
            reasons.append(f"{facts.clinical_indication!r} is not on the approved list of eligible rare conditions")
        else:
            name, structures = found
            if facts.family_structure not in structures:
                reasons.append(f"{name} requires a {' or '.join(structures)} family; "
                               f"the referral has {facts.family_structure or 'no family structure'}")
        if rules.get("require_prior_tests", True) and not facts.prior_tests_completed:
            reasons.append("prior standard NHS genetic tests have not been completed")
        ok = not reasons
        return EligibilityResult(ok, reasons or [f"{found[0]} with a {facts.family_structure} family; "  # type: ignore[index]
                                                 "prior tests completed"])
    return EligibilityResult(False, [f"unknown programme arm {facts.programme_arm!r}"])


def default_rules(arm: str) -> dict[str, Any]:
    """The rules a new installation starts with for an arm."""
    return DEFAULT_CANCER_RULES if arm == "cancer" else DEFAULT_RARE_RULES
