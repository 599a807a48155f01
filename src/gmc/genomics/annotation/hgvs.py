"""HGVS c. and p. notation helpers: the genetic code, three-letter amino acids, protein change text."""

from __future__ import annotations

_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
#: The standard genetic code, codon -> one-letter amino acid ("*" for stop).
CODON_TABLE: dict[str, str] = {
    a + b + c: _AMINO[16 * i + 4 * j + k]
    for i, a in enumerate(_BASES)
    for j, b in enumerate(_BASES)
    for k, c in enumerate(_BASES)
}

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
    "X": "Xaa",
}


def translate(cds: str, *, to_stop: bool = False) -> str:
    """Translates a coding sequence codon by codon (X for codons with N); stops at the first stop if asked."""
    protein = []
    for i in range(0, len(cds) - 2, 3):
        amino = CODON_TABLE.get(cds[i : i + 3], "X")
        protein.append(amino)
        if to_stop and amino == "*":
            break
    return "".join(protein)


def three(amino_acids: str) -> str:
    """Returns the three-letter spelling of one-letter amino acids."""
    return "".join(THREE_LETTER.get(a, "Xaa") for a in amino_acids)


def c_range(first: str, last: str) -> str:
    """Returns an HGVS position or range from its two ends."""
    return first if first == last else f"{first}_{last}"


def protein_change(ref_protein: str, alt_protein: str, start: int) -> tuple[str, str]:
    """Describes an in-frame change of the protein from 1-based residue `start`: (HGVS p. text, kind).

    `ref_protein` and `alt_protein` hold the residues from `start` onwards up to and including the
    first stop. Kinds: synonymous, missense, stop_gained, stop_lost, start_lost, inframe_deletion,
    inframe_insertion, delins.
    """
    # shared prefix, then suffix: leaves the change at its most C-terminal position (HGVS 3' rule)
    prefix = 0
    while prefix < min(len(ref_protein), len(alt_protein)) and ref_protein[prefix] == alt_protein[prefix]:
        prefix += 1
    if prefix == len(ref_protein) == len(alt_protein):
        first = ref_protein[:1] or "X"
        return f"p.{three(first)}{start}=", "synonymous"
    at = start + prefix
    if prefix < len(alt_protein) and prefix < len(ref_protein):
        if alt_protein[prefix] == "*":
            return f"p.{three(ref_protein[prefix])}{at}Ter", "stop_gained"
        if ref_protein[prefix] == "*":
            return f"p.Ter{at}{three(alt_protein[prefix])}ext*?", "stop_lost"
    suffix = 0
    while (
        suffix < min(len(ref_protein), len(alt_protein)) - prefix
        and ref_protein[-1 - suffix] == alt_protein[-1 - suffix]
    ):
        suffix += 1
    deleted = ref_protein[prefix : len(ref_protein) - suffix]
    inserted = alt_protein[prefix : len(alt_protein) - suffix]
    first_pos = start + prefix
    if len(deleted) == 1 and len(inserted) == 1:
        kind = "missense"
        if inserted == "*":
            kind = "stop_gained"
        elif deleted == "*":
            kind = "stop_lost"
        elif first_pos == 1 and deleted == "M":
            kind = "start_lost"
        if kind == "start_lost":
            return "p.Met1?", kind
        return f"p.{three(deleted)}{first_pos}{three(inserted)}", kind
    if not inserted:
        last_pos = first_pos + len(deleted) - 1
        span = f"{three(deleted[0])}{first_pos}"
        if len(deleted) > 1:
            span += f"_{three(deleted[-1])}{last_pos}"
        return f"p.{span}del", "inframe_deletion"
    if not deleted:
        before = ref_protein[prefix - 1] if prefix > 0 else "X"
        # an insertion that repeats the residues just before it is a duplication
        if prefix >= len(inserted) and ref_protein[prefix - len(inserted) : prefix] == inserted:
            dup_first = first_pos - len(inserted)
            span = f"{three(inserted[0])}{dup_first}"
            if len(inserted) > 1:
                span += f"_{three(inserted[-1])}{first_pos - 1}"
            return f"p.{span}dup", "inframe_insertion"
        after = ref_protein[prefix] if prefix < len(ref_protein) else "X"
        kind = "stop_gained" if "*" in inserted else "inframe_insertion"
        return f"p.{three(before)}{first_pos - 1}_{three(after)}{first_pos}ins{three(inserted)}", kind
    last_pos = first_pos + len(deleted) - 1
    span = f"{three(deleted[0])}{first_pos}"
    if len(deleted) > 1:
        span += f"_{three(deleted[-1])}{last_pos}"
    kind = "stop_gained" if "*" in inserted and "*" not in deleted else "delins"
    if "*" in deleted and "*" not in inserted:
        kind = "stop_lost"
    return f"p.{span}delins{three(inserted)}", kind
