"""Which consent form fits a person: by programme arm, age and capacity (plain data in and out, no database).

In England a person of 16 or over is presumed to have capacity (Mental Capacity Act 2005) and consents for
themselves; an adult who lacks capacity takes part on a consultee's declaration; a child under 16 takes part on a
parent's or guardian's consent, and from 7 the young person is asked for their own assent, and a refusal is
respected. Mismatches of who consents on which form are refused; a form for the other arm, or a person whose age is
unknown, needs an explicit reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

#: Age from which a person consents for themselves (and is presumed to have capacity).
ADULT_AGE = 16
#: Age from which a child is asked for their own assent beside the parent's consent.
ASSENT_FROM_AGE = 7
#: A young person's answer: assented, declined (respected: nobody is enrolled against it), or not able to say.
ASSENT = ("assented", "declined", "not_able")
#: Who gives consent on each kind of form.
GIVER_FOR_AUDIENCE = {"adult": "participant", "child": "parent_guardian", "consultee": "consultee"}
_AUDIENCE_WORDS = {"adult": "an adult form", "child": "a child form", "consultee": "a consultee declaration"}
_GIVER_WORDS = {"participant": "the participant", "parent_guardian": "a parent or guardian", "consultee": "a consultee"}
_ARM_WORDS = {"rare_disease": "rare disease", "cancer": "cancer"}


@dataclass(frozen=True)
class FormFacts:
    """What matters about a consent form for fit."""

    code: str
    version: str
    audience: str
    programme_arm: str | None


@dataclass(frozen=True)
class FitProblem:
    """Why a form does not fit: refused outright, or accepted only with a stated reason."""

    message: str
    field: str
    needs_reason: bool = False


def age_on(born: date | None, on: date) -> int | None:
    """Whole years of age on a date (None when the date of birth is unknown)."""
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def expected_audience(age: int | None, lacks_capacity: bool | None) -> str | None:
    """The kind of form the person needs: child under 16, consultee for an adult lacking capacity, else adult."""
    if age is None:
        return None
    if age < ADULT_AGE:
        return "child"
    return "consultee" if lacks_capacity else "adult"


def check_fit(form: FormFacts, *, arms: Iterable[str], age: int | None, given_by: str,
              lacks_capacity: bool | None = None, assent: str | None = None) -> list[FitProblem]:
    """Every way the form, the giver and the young person's assent fail to fit this person (empty: it fits)."""
    problems: list[FitProblem] = []
    name = f"{form.code} v{form.version}"
    if lacks_capacity is None and given_by == "consultee":
        lacks_capacity = True
    needed = expected_audience(age, lacks_capacity)
    if needed is not None and form.audience != needed:
        if needed == "child":
            why = f"the participant is {age}: under {ADULT_AGE}, a parent or guardian consents on a child form"
        elif needed == "consultee":
            why = "an adult who lacks capacity takes part on a consultee declaration"
        else:
            why = f"the participant is {age}: from {ADULT_AGE} a person consents for themselves on an adult form"
        problems.append(FitProblem(f"{name} is {_AUDIENCE_WORDS.get(form.audience, form.audience)}, but {why}",
                                   "form"))
    giver = GIVER_FOR_AUDIENCE.get(form.audience)
    if giver is not None and given_by != giver:
        problems.append(FitProblem(f"on {name} consent is given by {_GIVER_WORDS[giver]}, not "
                                   f"{_GIVER_WORDS.get(given_by, given_by)}", "given_by"))
    if age is None:
        problems.append(FitProblem("the participant's date of birth is unknown, so the form cannot be checked "
                                   "against their age", "form", needs_reason=True))
    elif age < ADULT_AGE and age >= ASSENT_FROM_AGE:
        if assent == "declined":
            problems.append(FitProblem(f"the young person ({age}) did not assent: their refusal is respected",
                                       "assent"))
        elif assent is not None and assent not in ASSENT:
            problems.append(FitProblem(f"assent must be one of {', '.join(ASSENT)}", "assent"))
    arms = sorted(set(arms))
    if form.programme_arm and arms and form.programme_arm not in arms:
        problems.append(FitProblem(
            f"{name} is for {_ARM_WORDS.get(form.programme_arm, form.programme_arm)}, but the participant is "
            f"referred for {' and '.join(_ARM_WORDS.get(a, a) for a in arms)}", "form", needs_reason=True))
    return problems


def suitable_forms(forms: Sequence[FormFacts], *, arms: Iterable[str], age: int | None,
                   lacks_capacity: bool | None = None) -> list[FormFacts]:
    """The forms that fit the person as far as known (arm and age), best first."""
    arms = set(arms)
    needed = expected_audience(age, lacks_capacity)
    fitting = [f for f in forms if (needed is None or f.audience == needed)
               and (not arms or f.programme_arm is None or f.programme_arm in arms)]
    # A form for the person's own arm before an any-arm form.
    return sorted(fitting, key=lambda f: (f.programme_arm is None, f.code))
