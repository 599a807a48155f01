"""A variant description the scientist confirmed: checked against the finding's transcript and alleles (pure).

Annotation withholds an HGVS description it cannot derive (an indel's 3' position needs sequence the deployment
lacks). A clinical scientist then confirms the description elsewhere (VariantValidator, Alamut, the lab's own
reference) and enters it, as labs do. gmc never takes it on trust: it must be HGVS of the right kind, on this
finding's MANE Select transcript, protein or chromosome, and agree with the VCF allele in kind and length.
"""

from __future__ import annotations

import re
from typing import Any

from gmc.common.errors import ValidationFailed

#: The descriptions a scientist may confirm, and the HGVS coordinate type each takes.
FIELDS = {"hgvs_c": "c", "hgvs_p": "p", "hgvs_g": "g"}

_POS = r"[-*]?\d+(?:[-+]\d+)?"
_NT = r"[ACGT]"
_C_OR_G = re.compile(
    rf"^(?P<kind>[cg])\.(?P<first>{_POS})(?:_(?P<last>{_POS}))?"
    rf"(?:(?P<ref>{_NT})>(?P<alt>{_NT})|(?P<op>delins|del|dup|ins|inv)(?P<bases>{_NT}*))$"
)
_AA = r"(?:Ala|Arg|Asn|Asp|Cys|Gln|Glu|Gly|His|Ile|Leu|Lys|Met|Phe|Pro|Ser|Thr|Trp|Tyr|Val|Sec|Pyl|Ter)"
_P = re.compile(
    rf"^p\.(?:\?|0|\(?=\)?|\(?{_AA}\d+(?:_{_AA}\d+)?"
    rf"(?:{_AA}|=|\?|Ter|fsTer\d*|{_AA}fsTer(?:\d+|\?)|del|dup|ins{_AA}+|delins{_AA}+|extTer\d+|ext[-*]\d+)\)?)$"
)
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _split(field: str, value: str, allowed: set[str]) -> str:
    """The description without its accession; an accession other than this finding's is refused."""
    accession, _, description = value.rpartition(":")
    if accession and accession not in allowed:
        expected = " or ".join(sorted(a for a in allowed if a)) or "none known for this finding"
        raise ValidationFailed(f"{field}: {value} is on {accession}; this finding's is {expected}", field=field)
    return description


def _plain(position: str) -> int | None:
    """A coding or genomic position as an integer when it has no intronic offset or UTR sign (else None)."""
    return int(position) if position.isdigit() else None


def _against_allele(field: str, match: re.Match[str], ref: str, alt: str, pos: int | None) -> None:
    """Refuses a c./g. description that cannot be this VCF allele: wrong kind of change or wrong length."""
    while ref and alt and ref[0] == alt[0]:  # the VCF's padding base is not part of the change
        ref, alt, pos = ref[1:], alt[1:], (pos + 1 if pos else pos)
    op = match.group("op") or ("substitution" if match.group("ref") else None)
    first, last = _plain(match.group("first")), _plain(match.group("last") or match.group("first"))
    span = last - first + 1 if first is not None and last is not None else None
    if len(ref) == 1 and len(alt) == 1:
        kinds = {"substitution"}
    elif ref and not alt:
        kinds, length = {"del"}, len(ref)
    elif alt and not ref:
        kinds, length = {"ins", "dup"}, len(alt)
    else:
        kinds = {"delins", "inv", "substitution"}
    if op not in kinds:
        raise ValidationFailed(f"{field}: {match.string} is a {op}; the VCF allele {ref or '-'}>{alt or '-'} is a "
                               f"{' or '.join(sorted(kinds))}", field=field)
    if op == "substitution" and len(ref) == 1:
        pair = (match.group("ref"), match.group("alt"))
        strands = {(ref, alt)} if field == "hgvs_g" else {(ref, alt), (ref.translate(_COMPLEMENT),
                                                                        alt.translate(_COMPLEMENT))}
        if pair not in strands:
            raise ValidationFailed(f"{field}: {match.string} changes {pair[0]}>{pair[1]}; the VCF allele is {ref}>{alt}"
                                   " (or its complement on the minus strand)", field=field)
    elif op in ("del", "dup") and span is not None and span != length:
        raise ValidationFailed(f"{field}: {match.string} spans {span} bases; the VCF allele "
                               f"{'deletes' if op == 'del' else 'inserts'} {length}", field=field)
    elif op == "ins" and len(match.group("bases")) != length:
        raise ValidationFailed(f"{field}: {match.string} inserts {len(match.group('bases'))} bases; the VCF allele "
                               f"inserts {length}", field=field)
    bases = match.group("bases")
    if op in ("del", "dup") and bases and len(bases) != length:
        raise ValidationFailed(f"{field}: {match.string} names {len(bases)} bases; the VCF allele has {length}",
                               field=field)
    if field == "hgvs_g" and pos and first is not None and (first < pos - 1 or first > pos + 10_000):
        # A 3' shift moves an indel right along a repeat, never left of where the VCF wrote it.
        raise ValidationFailed(f"{field}: {match.string} starts at {first}; the VCF allele is at {pos}", field=field)


def check(details: dict[str, Any], values: dict[str, str | None], chromosome: str | None) -> dict[str, str]:
    """The confirmed descriptions (accession stripped) after checking each; a bad one raises naming its field.

    `details` is the reported finding's (transcript, MANE Select, alleles); `chromosome` its GRCh38 accession.
    """
    mane = details.get("mane_select") or {}
    ref, alt, pos = details.get("ref"), details.get("alt"), details.get("pos")
    allowed = {
        "hgvs_c": {mane.get("refseq"), mane.get("ensembl"), details.get("transcript")} - {None},
        "hgvs_p": {mane.get("protein")} - {None},
        "hgvs_g": {chromosome} - {None},
    }
    out: dict[str, str] = {}
    for field, value in values.items():
        text = (value or "").strip()
        if not text:
            continue
        if field not in FIELDS:
            raise ValidationFailed(f"{field} is not a description a scientist confirms", field=field)
        description = _split(field, text, allowed[field])
        if field == "hgvs_p":
            if not _P.match(description):
                raise ValidationFailed(f"{field}: {text} is not an HGVS protein description in three-letter form "
                                       "(e.g. p.(Lys1257ArgfsTer25))", field=field)
        else:
            match = _C_OR_G.match(description)
            if not match or match.group("kind") != FIELDS[field]:
                raise ValidationFailed(f"{field}: {text} is not an HGVS {FIELDS[field]}. description "
                                       f"(e.g. {FIELDS[field]}.3770_3771del)", field=field)
            if ref and alt and not alt.startswith("<"):
                _against_allele(field, match, ref, alt, pos)
        out[field] = f"{chromosome}:{description}" if field == "hgvs_g" and chromosome else description
    if not out:
        raise ValidationFailed("enter at least one confirmed description (c., p. or g.)", field="hgvs_c")
    return out
