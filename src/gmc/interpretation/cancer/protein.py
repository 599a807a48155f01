"""Protein change notation: one- and three-letter HGVS p. parsed into one normalised form."""

from __future__ import annotations

import re
from dataclasses import dataclass

THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G", "His": "H",
    "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W",
    "Tyr": "Y", "Val": "V", "Ter": "*", "Sec": "U", "Pyl": "O", "Xaa": "X",
}
_THREE_RE = re.compile("|".join(THREE_TO_ONE))
_SUBSTITUTION = re.compile(r"^([A-Z*])(\d+)([A-Z*=]|X|\?)$")
_CODON = re.compile(r"^([A-Z*])?(\d+)(?:X|\.|\?)?$")
_INDEL = re.compile(r"^([A-Z*]?)(\d+)(?:_([A-Z*]?)(\d+))?(delins|del|dup|ins)([A-Z*]*)$")
_FRAMESHIFT = re.compile(r"^([A-Z*])(\d+)([A-Z*]*)fs(?:\*|X|Ter)?(\d+|\?)?$")
_EXTENSION = re.compile(r"^\*(\d+)([A-Z])?ext")


@dataclass(frozen=True)
class ProteinChange:
    """A parsed protein change: residues, position(s) and what kind of change it is."""

    #: Reference residue at the first position (one-letter, * for stop).
    ref: str
    start: int
    end: int
    #: New residue(s) for substitutions/insertions; "" otherwise.
    alt: str
    #: missense, nonsense, synonymous, frameshift, inframe_deletion, inframe_insertion, delins, stop_lost, codon.
    kind: str
    #: Reference residue at the last position of a range (E746_A750del -> A).
    end_ref: str = ""

    @property
    def short(self) -> str:
        """The one-letter form without p., e.g. V600E, E746_A750del, R1450fs."""
        if self.kind in {"missense", "nonsense", "synonymous"}:
            return f"{self.ref}{self.start}{self.alt}"
        if self.kind == "codon":
            return f"{self.ref}{self.start}"
        if self.kind == "frameshift":
            return f"{self.ref}{self.start}fs"
        if self.kind == "stop_lost":
            return f"*{self.start}ext"
        suffix = {"inframe_deletion": "del", "inframe_insertion": "ins", "delins": "delins", "duplication": "dup"}
        span = (f"{self.ref}{self.start}" if self.start == self.end
                else f"{self.ref}{self.start}_{self.end_ref}{self.end}")
        return f"{span}{suffix.get(self.kind, self.kind)}{self.alt}"


def to_one_letter(text: str) -> str:
    """Rewrites three-letter residues (Val600Glu, Ter) as one-letter ones (V600E, *)."""
    return _THREE_RE.sub(lambda match: THREE_TO_ONE[match.group(0)], text)


def parse_protein_change(text: str | None) -> ProteinChange | None:
    """Parses p.V600E, p.Val600Glu, V600E, p.(R175H), E746_A750del, R1450fs*3, V600; None when not parsable."""
    if not text:
        return None
    value = text.strip()
    if ":" in value:  # NP_000542.1:p.Arg175His
        value = value.rsplit(":", 1)[1]
    value = value.removeprefix("p.").strip("()")
    value = to_one_letter(value)
    # Curated names often shout the HGVS keywords (W288FS, I843DEL, M774INSAYVM).
    value = re.sub(r"(?<=[\dA-Z])(FS|DELINS|DEL|INS|DUP|EXT)(?=[A-Z*\d?]*$)", lambda m: m.group(1).lower(), value)
    if match := _SUBSTITUTION.match(value):
        ref, pos, alt = match.group(1), int(match.group(2)), match.group(3)
        if alt in {"X", "?"}:
            return ProteinChange(ref, pos, pos, "", "codon")
        if alt == "=" or alt == ref:
            return ProteinChange(ref, pos, pos, ref, "synonymous")
        if alt == "*":
            return ProteinChange(ref, pos, pos, "*", "nonsense")
        if ref == "*":
            return ProteinChange(ref, pos, pos, alt, "stop_lost")
        if ref == "M" and pos == 1:
            return ProteinChange(ref, pos, pos, alt, "start_lost")
        return ProteinChange(ref, pos, pos, alt, "missense")
    if match := _FRAMESHIFT.match(value):
        pos = int(match.group(2))
        return ProteinChange(match.group(1), pos, pos, "", "frameshift")
    if match := _INDEL.match(value):
        start = int(match.group(2))
        end = int(match.group(4)) if match.group(4) else start
        kind = {"del": "inframe_deletion", "ins": "inframe_insertion", "dup": "inframe_insertion",
                "delins": "delins"}[match.group(5)]
        return ProteinChange(match.group(1), start, end, match.group(6), kind, match.group(3) or "")
    if match := _EXTENSION.match(value):
        pos = int(match.group(1))
        return ProteinChange("*", pos, pos, match.group(2) or "", "stop_lost")
    if match := _CODON.match(value):
        if match.group(1) is None and not value.isdigit():
            return None
        pos = int(match.group(2))
        return ProteinChange(match.group(1) or "", pos, pos, "", "codon")
    return None
