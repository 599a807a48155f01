"""Readers for annotations a VCF already carries: Ensembl VEP CSQ, SnpEff ANN and bcftools BCSQ."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gmc.genomics.annotation.consequence import SO_RANK

#: INFO keys of the annotators we read, in the order we prefer them.
EXISTING_KEYS = ("CSQ", "ANN", "BCSQ")

#: bcftools csq and SnpEff names that differ from the Sequence Ontology term.
_TERM_ALIASES = {
    "missense": "missense_variant",
    "synonymous": "synonymous_variant",
    "frameshift": "frameshift_variant",
    "splice_acceptor": "splice_acceptor_variant",
    "splice_donor": "splice_donor_variant",
    "splice_region": "splice_region_variant",
    "5_prime_utr": "5_prime_UTR_variant",
    "3_prime_utr": "3_prime_UTR_variant",
    "intron": "intron_variant",
    "non_coding": "non_coding_transcript_variant",
    "stop_retained": "stop_retained_variant",
    "start_retained": "start_retained_variant",
    "coding_sequence": "coding_sequence_variant",
    "intergenic": "intergenic_variant",
    "intergenic_region": "intergenic_variant",
    "inframe_altering": "protein_altering_variant",
    "feature_elongation": "protein_altering_variant",
    "non_coding_exon_variant": "non_coding_transcript_exon_variant",
    "nc_transcript_variant": "non_coding_transcript_variant",
    "initiator_codon_variant": "start_lost",
    "disruptive_inframe_deletion": "inframe_deletion",
    "disruptive_inframe_insertion": "inframe_insertion",
    "conservative_inframe_deletion": "inframe_deletion",
    "conservative_inframe_insertion": "inframe_insertion",
    "5_prime_UTR_premature_start_codon_gain_variant": "5_prime_UTR_variant",
}

_FORMAT_RE = re.compile(r"Format: ?'?([^'\">]+)")
#: SnpEff writes its subfields as 'Allele | Annotation | ...' without the word Format
_QUOTED_RE = re.compile(r"'([^']*\|[^']*)'")


class ExistingAnnotationError(ValueError):
    """An annotation INFO value does not fit the format its header declares."""


@dataclass(frozen=True)
class ExistingAnnotation:
    """One transcript entry of an existing annotation, terms mapped to Sequence Ontology names."""

    source: str
    allele: str
    terms: tuple[str, ...]
    gene: str
    transcript: str
    hgvs_c: str
    hgvs_p: str

    @property
    def rank(self) -> int:
        """Severity rank of the most severe known term (lower is more severe)."""
        return min((SO_RANK.get(t, len(SO_RANK)) for t in self.terms), default=len(SO_RANK))


def so_term(name: str) -> str:
    """Maps an annotator's consequence name to the Sequence Ontology term."""
    return _TERM_ALIASES.get(name, name)


def annotation_fields(header: str) -> dict[str, list[str]]:
    """Returns the declared subfields of the CSQ, ANN and BCSQ INFO keys found in a VCF header."""
    fields: dict[str, list[str]] = {}
    for line in header.splitlines():
        for key in EXISTING_KEYS:
            if line.startswith(f"##INFO=<ID={key},"):
                match = _FORMAT_RE.search(line) or _QUOTED_RE.search(line)
                if match and key != "BCSQ":
                    fields[key] = [f.strip() for f in match.group(1).split("|")]
                elif key == "BCSQ":
                    fields[key] = ["Consequence", "gene", "transcript", "biotype", "strand", "amino", "dna"]
    return fields


def vep_allele(ref: str, alt: str) -> str:
    """Returns the allele string VEP writes in CSQ for a (split) VCF allele: shared first base dropped."""
    if len(ref) != len(alt) and ref[:1] == alt[:1]:
        return alt[1:] or "-"
    return alt


def parse_existing(key: str, value: str, fields: list[str]) -> list[ExistingAnnotation]:
    """Parses one INFO value of CSQ, ANN or BCSQ into transcript entries."""
    entries = []
    for item in value.split(","):
        if not item or item.startswith("@"):  # BCSQ pointer to the record holding a joint consequence
            continue
        parts = item.split("|")
        if key == "BCSQ":
            consequence = parts[0].lstrip("*")
            entries.append(
                ExistingAnnotation(
                    source="BCSQ",
                    allele="",
                    terms=tuple(so_term(t) for t in consequence.split("&")),
                    gene=parts[1] if len(parts) > 1 else "",
                    transcript=parts[2] if len(parts) > 2 else "",
                    hgvs_c=parts[6] if len(parts) > 6 else "",
                    hgvs_p=parts[5] if len(parts) > 5 else "",
                )
            )
            continue
        record = dict(zip(fields, parts, strict=False))
        if key == "ANN":
            if record.get("Feature_Type", "transcript") != "transcript":
                continue  # protein domains and motifs, not consequences for a transcript
            terms = record.get("Annotation", "")
            entries.append(
                ExistingAnnotation(
                    source="ANN",
                    allele=record.get("Allele", ""),
                    terms=tuple(so_term(t) for t in terms.split("&") if t),
                    gene=record.get("Gene_Name", ""),
                    transcript=record.get("Feature_ID", ""),
                    hgvs_c=record.get("HGVS.c", ""),
                    hgvs_p=record.get("HGVS.p", ""),
                )
            )
        else:
            if "Consequence" not in record:
                raise ExistingAnnotationError(f"CSQ entry {item[:60]!r} has no Consequence field")
            entries.append(
                ExistingAnnotation(
                    source="CSQ",
                    allele=record.get("Allele", ""),
                    terms=tuple(so_term(t) for t in record["Consequence"].split("&") if t),
                    gene=record.get("SYMBOL", ""),
                    transcript=record.get("Feature", ""),
                    hgvs_c=record.get("HGVSc", "").split(":", 1)[-1],
                    hgvs_p=record.get("HGVSp", "").split(":", 1)[-1],
                )
            )
    return entries


def for_allele(entries: list[ExistingAnnotation], ref: str, alt: str) -> list[ExistingAnnotation]:
    """Keeps the entries that describe this ALT (all of them when the annotator names no allele)."""
    wanted = {alt, vep_allele(ref, alt)}
    matched = [e for e in entries if not e.allele or e.allele in wanted]
    return matched or [e for e in entries if not e.allele]


def most_severe(entries: list[ExistingAnnotation], gene: str | None = None) -> ExistingAnnotation | None:
    """Returns the most severe entry, among those of `gene` when given and present."""
    if gene:
        in_gene = [e for e in entries if e.gene == gene]
        entries = in_gene or entries
    return min(entries, key=lambda e: e.rank, default=None)
