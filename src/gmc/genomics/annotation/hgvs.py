"""HGVS c. and p. notation helpers: the genetic codes, three-letter amino acids, protein change text."""

from __future__ import annotations

from dataclasses import dataclass

_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
#: The standard genetic code, codon -> one-letter amino acid ("*" for stop).
CODON_TABLE: dict[str, str] = {
    a + b + c: _AMINO[16 * i + 4 * j + k]
    for i, a in enumerate(_BASES)
    for j, b in enumerate(_BASES)
    for k, c in enumerate(_BASES)
}
#: The vertebrate mitochondrial code (NCBI translation table 2): TGA Trp, ATA Met, AGA/AGG stop.
MITOCHONDRIAL_CODON_TABLE: dict[str, str] = {**CODON_TABLE, "TGA": "W", "ATA": "M", "AGA": "*", "AGG": "*"}
#: Codons that start translation in human mitochondria (read as Met at residue 1).
MITOCHONDRIAL_STARTS = frozenset({"ATG", "ATA", "ATT", "ATC", "GTG"})

THREE_LETTER: dict[str, str] = {
    "A": "Ala",
    "R": "Arg",
    "N": "Asn",
    "D": "Asp",
    "C": "Cys",
    "Q": "Gln",
    "E": "Glu",
    "G": "Gly",
    "H": "His",
    "I": "Ile",
    "L": "Leu",
    "K": "Lys",
    "M": "Met",
    "F": "Phe",
    "P": "Pro",
    "S": "Ser",
    "T": "Thr",
    "W": "Trp",
    "Y": "Tyr",
    "V": "Val",
    "*": "Ter",
    "U": "Sec",
}


def translate(cds: str, *, to_stop: bool = False, table: dict[str, str] | None = None) -> str:
    """Translates a coding sequence codon by codon; a codon with an unknown base gives "?"; stops at the first
    stop if asked. A trailing partial codon is not translated."""
    code = table or CODON_TABLE
    protein = []
    for i in range(0, len(cds) - 2, 3):
        amino = code.get(cds[i : i + 3], "?")
        protein.append(amino)
        if to_stop and amino == "*":
            break
    return "".join(protein)


def three(amino_acids: str) -> str:
    """Returns the three-letter spelling of one-letter amino acids (never "Xaa": callers pass known residues)."""
    return "".join(THREE_LETTER[a] for a in amino_acids)


def c_range(first: str, last: str) -> str:
    """Returns an HGVS position or range from its two ends."""
    return first if first == last else f"{first}_{last}"


@dataclass(frozen=True)
class ProteinChange:
    """The HGVS p. description of a change, its Sequence Ontology term and the first residue it changes."""

    hgvs_p: str
    term: str
    position: int


def _span(residues: str, first: int) -> str:
    """Ala12 or Ala12_Gly14 for the residues starting at 1-based `first`."""
    text = f"{three(residues[0])}{first}"
    if len(residues) > 1:
        text += f"_{three(residues[-1])}{first + len(residues) - 1}"
    return text


def protein_change(reference: str, alternate: str, *, frameshift: bool, changed: int) -> ProteinChange:
    """Describes how `alternate` differs from `reference` by the HGVS rules (as VariantValidator does).

    `reference` is the whole protein with its stop ("*"); `alternate` the translation of the changed CDS from
    its start to its first stop (no "*" when none is reached); `changed` the 0-based residue of the first
    changed codon. Both are in one-letter code without unknown residues. Repeats are named at their 3' end,
    an insertion that repeats the residues before it is a dup, a lost stop an extension (ext), a frameshift
    counts to its new stop (fsTer<n>, or fsTer? when the transcript ends first).
    """
    if reference == alternate:
        residue = reference[changed]
        term = "stop_retained_variant" if residue == "*" else "synonymous_variant"
        return ProteinChange(f"p.{three(residue)}{changed + 1}=", term, changed + 1)
    start = 0
    limit = min(len(reference), len(alternate))
    while start < limit and reference[start] == alternate[start]:
        start += 1
    if start == 0:
        return ProteinChange("p.Met1?", "start_lost", 1)
    position = start + 1
    if start >= len(alternate):
        # the alternate ends without a stop where the reference goes on: translation runs off the transcript
        return ProteinChange("p.?", "protein_altering_variant" if not frameshift else "frameshift_variant", position)
    if reference[start] == "*" and start == len(reference) - 1:
        tail = alternate[start:]
        length = str(tail.index("*")) if "*" in tail else "?"
        return ProteinChange(f"p.Ter{position}{three(alternate[start])}extTer{length}", "stop_lost", position)
    if alternate[start] == "*":
        return ProteinChange(f"p.{three(reference[start])}{position}Ter", "stop_gained", position)
    if frameshift:
        tail = alternate[start:]
        length = str(tail.index("*") + 1) if "*" in tail else "?"
        return ProteinChange(
            f"p.{three(reference[start])}{position}{three(alternate[start])}fsTer{length}", "frameshift_variant",
            position)
    suffix = 0
    while (suffix < min(len(reference), len(alternate)) - start
           and reference[-1 - suffix] == alternate[-1 - suffix]):
        suffix += 1
    deleted = reference[start : len(reference) - suffix]
    inserted = alternate[start : len(alternate) - suffix]
    if len(deleted) == 1 and len(inserted) == 1:
        return ProteinChange(f"p.{three(deleted)}{position}{three(inserted)}", "missense_variant", position)
    if not inserted:
        return ProteinChange(f"p.{_span(deleted, position)}del", "inframe_deletion", position)
    if not deleted:
        k = len(inserted)
        if start >= k and reference[start - k : start] == inserted:
            return ProteinChange(f"p.{_span(inserted, start - k + 1)}dup", "inframe_insertion", start - k + 1)
        return ProteinChange(
            f"p.{three(reference[start - 1])}{start}_{three(reference[start])}{position}ins{three(inserted)}",
            "inframe_insertion", position)
    term = "inframe_deletion" if len(deleted) > len(inserted) else (
        "inframe_insertion" if len(inserted) > len(deleted) else "missense_variant")
    return ProteinChange(f"p.{_span(deleted, position)}delins{three(inserted)}", term, position)
