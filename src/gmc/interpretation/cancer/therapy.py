"""Therapies as the sources write them, read into regimens (one drug, a combination kept whole, or an unstated list).

Each source spells a regimen its own way and each is read by one parser that refuses what it cannot read:

- MOAlmanac and gmc curators: ``Dabrafenib + Trametinib`` is one combination; curators separate alternative
  regimens with ``;`` (``Alpelisib + Fulvestrant; Capivasertib + Fulvestrant``). A comma inside a regimen is
  ambiguous and refused.
- CGI: ``Dabrafenib;Trametinib`` is one combination; ``[Nilotinib,Dasatinib]`` lists alternatives (members of a
  drug family); an empty list falls back to the drug family (``[MEK inhibitor]``).
- CIViC (2018 nightly TSV): ``Gefitinib,Erlotinib`` lists drugs without saying whether they were given together
  (the export has no interaction column), so the list is kept whole as one regimen marked "combination not stated",
  never split into single drugs. Commas inside parentheses (``BEZ235 (NVP-BEZ235, Dactolisib)``) are part of a name.

Drug names are unified across sources by their aliases: ``BYL719 (Alpelisib)`` and ``Alpelisib`` are one drug, shown
under the name written alone most often (see DrugNames).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

SINGLE, COMBINATION, UNSTATED = "single", "combination", "unstated"
_NAME_CHARS = re.compile(r"^[\w .,'()\[\]/&:±\-\u00a0-\u024f\u03b1-\u03c9]+$")


class TherapyParseError(ValueError):
    """A therapy string cannot be read as regimens; the message quotes it and says how to write it."""


@dataclass(frozen=True)
class Therapy:
    """One regimen: a single drug, a combination given together, or a list whose combination is not stated."""

    drugs: tuple[str, ...]
    kind: str = SINGLE

    @property
    def label(self) -> str:
        """How the regimen is shown: Cetuximab + Encorafenib; Docetaxel, Selumetinib for an unstated list."""
        if self.kind == COMBINATION:
            return " + ".join(self.drugs)
        return ", ".join(self.drugs)

    @property
    def note(self) -> str:
        """A caution for lists whose combination the source does not state ("" otherwise)."""
        return "the source lists these drugs without saying whether they were given together" \
            if self.kind == UNSTATED else ""


def _drug(text: str, whole: str) -> str:
    """One drug name, whitespace collapsed; refuses empty or malformed names."""
    name = re.sub(r"\s+", " ", text.replace("+/-", "±")).strip()
    if not name:
        raise TherapyParseError(f"therapy {whole!r}: an empty drug name (a separator with nothing beside it)")
    if name.count("(") != name.count(")") or name.count("[") != name.count("]"):
        raise TherapyParseError(f"therapy {whole!r}: unbalanced brackets in {name!r}")
    if not _NAME_CHARS.match(name):
        raise TherapyParseError(f"therapy {whole!r}: {name!r} holds characters that are not part of a drug name")
    return name


def _split_outside_parentheses(text: str, separator: str) -> list[str]:
    """Splits at a separator that is not inside () or [] (chemical names hold both)."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += char in "(["
        depth -= char in ")]"
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _regimen(drugs: list[str]) -> Therapy:
    unique = tuple(dict.fromkeys(drugs))
    return Therapy(tuple(sorted(unique, key=str.lower)), COMBINATION) if len(unique) > 1 else Therapy(unique)


def parse_regimen(text: str) -> Therapy:
    """One regimen written with `` + `` between the drugs of a combination (MOAlmanac, curators)."""
    value = (text or "").replace("+/-", "±").strip()  # "A + B +/- C": C is optional, part of the last name
    if not value:
        raise TherapyParseError("therapy '': empty")
    if ";" in value or "," in _strip_parentheses(value):
        raise TherapyParseError(f"therapy {value!r}: write a combination with ' + ' between its drugs and separate "
                                "alternative regimens with ';' (a comma does not say which is meant)")
    return _regimen([_drug(part, value) for part in value.split("+")])


def _strip_parentheses(text: str) -> str:
    """The text without bracketed parts (aliases, chemical locants)."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()\[\]]*\)|\[[^()\[\]]*\]", "", text)
    return text


def parse_regimens(text: str) -> tuple[Therapy, ...]:
    """Alternative regimens separated by ``;``, each a drug or a `` + `` combination (curated records)."""
    if not (text or "").strip():
        return ()
    return tuple(parse_regimen(part) for part in text.split(";"))


def parse_moalmanac(text: str) -> tuple[Therapy, ...]:
    """A MOAlmanac therapy_name: one regimen, drugs of a combination joined by `` + ``."""
    return (parse_regimen(text),) if (text or "").strip() else ()


def parse_cgi(drug: str, family: str = "") -> tuple[Therapy, ...]:
    """A CGI Drug cell: ``A;B`` a combination, ``[A,B]`` alternatives, ``[]`` the drug family (same grammar) instead."""
    value = (drug or "").strip()
    if value.startswith("[") or not value:
        if value and not value.endswith("]"):
            raise TherapyParseError(f"therapy {value!r}: an alternatives list opens with '[' but does not close")
        members = [part for part in value.strip("[]").split(",") if part.strip()]
        if not members:
            fallback = (family or "").strip().strip("[]").strip()
            return parse_cgi(f"[{fallback}]" if "," in fallback else fallback) if fallback else ()
        return tuple(Therapy((_drug(part, value),)) for part in members)
    if "[" in value or "]" in value or "," in _strip_parentheses(value):
        raise TherapyParseError(f"therapy {value!r}: CGI writes a combination as 'A;B' and alternatives as '[A,B]'")
    return (_regimen([_drug(part, value) for part in value.split(";")]),)


def parse_civic(drugs: str) -> tuple[Therapy, ...]:
    """A CIViC drugs cell: one drug, or a comma list kept whole whose combination the 2018 export does not state."""
    value = (drugs or "").strip()
    if not value:
        return ()
    names = [_drug(part, value) for part in _split_outside_parentheses(value, ",")]
    unique = tuple(dict.fromkeys(names))
    return (Therapy(unique, UNSTATED if len(unique) > 1 else SINGLE),)


def _aliases(name: str) -> set[str]:
    """A drug's keys: the name, and the aliases a trailing parenthesis lists (``Selumetinib (AZD6244)``), lower case."""
    match = re.match(r"^(.*\S)\s*\(([^()]*)\)$", name.strip())
    keys = {_key(match.group(1))} | {_key(part) for part in match.group(2).split(",")} if match else {_key(name)}
    return {key for key in keys if key}


def _key(text: str) -> str:
    return re.sub(r"[\s\-]+", "", text.strip().lower())


class DrugNames:
    """One name per drug across sources: names sharing an alias are one drug, shown as written alone most often."""

    def __init__(self, names: Iterable[str]) -> None:
        parent: dict[str, str] = {}

        def find(key: str) -> str:
            while parent.setdefault(key, key) != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        written = Counter(names)
        for name in written:
            keys = sorted(_aliases(name))
            for other in keys[1:]:
                parent[find(other)] = find(keys[0])
            if keys:
                find(keys[0])
        groups: dict[str, Counter] = {}
        for name, count in written.items():
            keys = _aliases(name)
            if keys:
                root = find(next(iter(keys)))
                # A name written without parentheses (Alpelisib) is preferred to one with aliases (BYL719 (Alpelisib)).
                groups.setdefault(root, Counter())[name] += count * (10 if "(" not in name else 1)
        self._find = find
        self._display = {root: sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]
                         for root, counts in groups.items()}

    def key(self, name: str) -> str:
        """The drug's identity (shared by all its aliases)."""
        keys = _aliases(name)
        return self._find(next(iter(keys))) if keys else _key(name)

    def display(self, name: str) -> str:
        """The name the drug is shown under."""
        return self._display.get(self.key(name), name)

    def canonical(self, therapy: Therapy) -> Therapy:
        """The regimen with every drug under its shown name (combinations re-sorted)."""
        drugs = [self.display(drug) for drug in therapy.drugs]
        if therapy.kind == COMBINATION:
            return _regimen(drugs)
        return Therapy(tuple(dict.fromkeys(drugs)), therapy.kind)

    def regimen_key(self, therapy: Therapy) -> tuple[str, frozenset[str]]:
        """What makes two regimens the same line: their kind and their drugs' identities."""
        return (therapy.kind, frozenset(self.key(drug) for drug in therapy.drugs))
