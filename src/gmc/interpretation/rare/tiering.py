"""Variant tiering the 100,000 Genomes Project way: Tier 1, 2, 3 from consequence, panels and segregation.

Rules, applied to each variant against each applied panel (the best tier over panels wins):

- A mode counts only if the variant segregates with it (``gmc.interpretation.rare.inheritance``)
  and passes the allele-frequency cap of that mode when a population frequency is known:
  dominant modes (de novo, AD, XLD, MT) 0.1 %, recessive modes (AR homozygous, compound
  heterozygous, XLR) 1 % (``FrequencyCaps``, configurable). With no frequency known the variant is
  treated as rare and the reason says so.
- The panel gene's mode of inheritance (PanelApp, normalised) decides which modes match:
  AD/imprinting -> AD or de novo; AR -> AR homozygous or compound heterozygous; XLR -> XLR or de novo;
  XLD -> XLD or de novo; XL -> any X-linked or de novo; MT -> MT; AD_AR -> all autosomal; unknown -> any.
- Tier 1: in a green gene of the applied panel, segregating with the gene's mode, and one of:
  loss of function (``LOF_TERMS``), de novo with both parents genotyped, or ClinVar pathogenic /
  likely pathogenic.
- Tier 2: other protein-altering variants (``PROTEIN_ALTERING_TERMS``) in a green gene, segregating
  with the gene's mode; a coding change whose protein effect is unknown (``UNKNOWN_EFFECT_TERMS``: annotated
  without the reference codon, so it may be missense, stop-gained or synonymous) counts as possibly
  protein-altering, and the reasons say the effect is unknown: a causal missense must not drop out of the
  tiers because the genome sequence was not at hand.
- Tier 3: rare, protein-altering or splice (``SPLICE_TERMS``) variants segregating with any mode,
  outside the panel, in amber or red panel genes, or in green genes with a mode that does not match.
- Otherwise untiered (None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gmc.interpretation.rare.inheritance import Certainty, Mode, ModeCall
from gmc.interpretation.rare.panels import ModeOfInheritance, Panel

#: Sequence Ontology terms that predict loss of function (GEL's tier 1 consequence list).
LOF_TERMS = frozenset(
    {
        "transcript_ablation",
        "splice_acceptor_variant",
        "splice_donor_variant",
        "stop_gained",
        "frameshift_variant",
        "stop_lost",
        "start_lost",
        "initiator_codon_variant",
    }
)
#: Other protein-altering consequences (tier 2 in a green gene).
PROTEIN_ALTERING_TERMS = frozenset(
    {
        "missense_variant",
        "inframe_insertion",
        "inframe_deletion",
        "protein_altering_variant",
        "incomplete_terminal_codon_variant",
        "transcript_amplification",
        "splice_region_variant",
    }
)
#: Coding changes whose protein effect is unknown (no reference codon): possibly protein-altering for tiering.
UNKNOWN_EFFECT_TERMS = frozenset({"coding_sequence_variant"})
#: Said wherever a tier rests on a coding change of unknown protein effect.
UNKNOWN_EFFECT_REASON = (
    "coding change of unknown protein effect (no reference codon: missense, stop-gained or synonymous): "
    "treated as possibly protein-altering"
)
#: Splice consequences beyond the canonical sites (tier 3 only).
SPLICE_TERMS = frozenset(
    {
        "splice_donor_5th_base_variant",
        "splice_donor_region_variant",
        "splice_polypyrimidine_tract_variant",
    }
)
#: ClinVar significance values counted as known pathogenic (lower case, spaces or underscores).
CLINVAR_PATHOGENIC = frozenset({"pathogenic", "likely_pathogenic", "pathogenic/likely_pathogenic"})

DOMINANT_MODES = frozenset({Mode.DE_NOVO, Mode.AD, Mode.XLD, Mode.MT})
RECESSIVE_MODES = frozenset({Mode.AR_HOM, Mode.AR_COMP_HET, Mode.XLR})

#: Which segregation modes satisfy a panel gene's mode of inheritance.
PANEL_MODE_MATCH: dict[ModeOfInheritance, frozenset[Mode]] = {
    ModeOfInheritance.AD: frozenset({Mode.AD, Mode.DE_NOVO}),
    ModeOfInheritance.IMPRINTING: frozenset({Mode.AD, Mode.DE_NOVO}),
    ModeOfInheritance.AR: frozenset({Mode.AR_HOM, Mode.AR_COMP_HET}),
    ModeOfInheritance.AD_AR: frozenset({Mode.AD, Mode.DE_NOVO, Mode.AR_HOM, Mode.AR_COMP_HET}),
    ModeOfInheritance.XLR: frozenset({Mode.XLR, Mode.DE_NOVO}),
    ModeOfInheritance.XLD: frozenset({Mode.XLD, Mode.DE_NOVO}),
    ModeOfInheritance.XL: frozenset({Mode.XLR, Mode.XLD, Mode.DE_NOVO}),
    ModeOfInheritance.MT: frozenset({Mode.MT, Mode.DE_NOVO}),
    ModeOfInheritance.UNKNOWN: frozenset(Mode),
}


class TieringInputError(ValueError):
    """An annotated variant is missing a field tiering needs; the message names it."""


@dataclass(frozen=True)
class FrequencyCaps:
    """Population allele-frequency caps above which a mode is not considered."""

    dominant: float = 0.001
    recessive: float = 0.01

    def cap(self, mode: Mode) -> float:
        """Returns the cap for a segregation mode."""
        return self.dominant if mode in DOMINANT_MODES else self.recessive


@dataclass(frozen=True)
class TieringVariant:
    """The annotation facts tiering reads, for one variant in one gene."""

    variant_id: str
    #: Gene symbol (or the key the panels use).
    gene: str
    #: Sequence Ontology consequence terms of the transcript chosen for the gene.
    consequences: frozenset[str]
    #: ClinVar clinical significance, e.g. "Pathogenic", "Likely_pathogenic", or None.
    clinvar_significance: str | None = None
    #: Population allele frequency (max over populations), None when no source covered the site.
    population_af: float | None = None
    impact: str | None = None


@dataclass(frozen=True)
class TierAssignment:
    """A variant's tier (1, 2, 3 or None) with the panel, the modes that count and the reasons."""

    variant_id: str
    gene: str
    tier: int | None
    panel_id: str | None
    modes: frozenset[Mode]
    reasons: tuple[str, ...] = field(default=())


def is_known_pathogenic(significance: str | None) -> bool:
    """True for ClinVar pathogenic or likely pathogenic significance strings."""
    if not significance:
        return False
    normalised = significance.strip().lower().replace(" ", "_")
    return normalised in CLINVAR_PATHOGENIC or normalised.startswith("pathogenic")


def rare_modes(
    variant: TieringVariant, modes: Iterable[ModeCall], caps: FrequencyCaps = FrequencyCaps()
) -> tuple[dict[Mode, ModeCall], list[str]]:
    """Returns the segregation modes whose frequency cap the variant passes, with reasons."""
    kept: dict[Mode, ModeCall] = {}
    reasons: list[str] = []
    af = variant.population_af
    if af is not None and not 0.0 <= af <= 1.0:
        raise TieringInputError(f"variant {variant.variant_id}: population_af {af} is not within 0-1")
    for call in modes:
        if af is not None and af > caps.cap(call.mode):
            reasons.append(
                f"{call.mode.value} ruled out: population AF {af:g} above cap {caps.cap(call.mode):g}"
            )
            continue
        # Keep the strongest certainty when a mode appears more than once (several comp-het partners).
        current = kept.get(call.mode)
        if current is None or (
            current.certainty == Certainty.POSSIBLE and call.certainty == Certainty.CONSISTENT
        ):
            kept[call.mode] = call
    if af is None:
        reasons.append("no population frequency known: treated as rare")
    return kept, reasons


def tier_variant(
    variant: TieringVariant,
    modes: Sequence[ModeCall],
    panels: Sequence[Panel],
    *,
    caps: FrequencyCaps = FrequencyCaps(),
) -> TierAssignment:
    """Assigns the best tier over the applied panels to one annotated, segregated variant."""
    if not variant.gene:
        raise TieringInputError(f"variant {variant.variant_id}: gene is required for tiering")
    kept, reasons = rare_modes(variant, modes, caps)
    terms = frozenset(t.strip() for t in variant.consequences)
    is_lof = bool(terms & LOF_TERMS)
    unknown_effect = not is_lof and not terms & PROTEIN_ALTERING_TERMS and bool(terms & UNKNOWN_EFFECT_TERMS)
    is_protein_altering = is_lof or bool(terms & PROTEIN_ALTERING_TERMS) or unknown_effect
    is_splice = bool(terms & SPLICE_TERMS)
    known_pathogenic = is_known_pathogenic(variant.clinvar_significance)
    if not kept:
        return TierAssignment(
            variant.variant_id, variant.gene, None, None, frozenset(), (*reasons, "segregates with no mode")
        )
    if not (is_protein_altering or is_splice or known_pathogenic):
        return TierAssignment(
            variant.variant_id,
            variant.gene,
            None,
            None,
            frozenset(kept),
            (*reasons, f"consequence {', '.join(sorted(terms)) or 'none'} is not protein-altering or splice"),
        )
    best: TierAssignment | None = None
    for panel in panels:
        gene = panel.gene(variant.gene)
        if gene is None or not gene.is_green:
            continue
        matching = frozenset(kept) & PANEL_MODE_MATCH[gene.mode_of_inheritance]
        if not matching:
            reasons.append(
                f"green in {panel.name} ({gene.mode_of_inheritance.value}) but segregates only as "
                f"{', '.join(sorted(m.value for m in kept))}"
            )
            continue
        confirmed_de_novo = Mode.DE_NOVO in matching and kept[Mode.DE_NOVO].certainty == Certainty.CONSISTENT
        why = [f"green gene in panel {panel.name} ({panel.panel_id}), mode {gene.mode_of_inheritance.value}"]
        why.append("segregates as " + ", ".join(sorted(m.value for m in matching)))
        if is_lof or confirmed_de_novo or known_pathogenic:
            if is_lof:
                why.append("loss of function: " + ", ".join(sorted(terms & LOF_TERMS)))
            if confirmed_de_novo:
                why.append("de novo with both parents genotyped")
            if known_pathogenic:
                why.append(f"ClinVar {variant.clinvar_significance}")
            if unknown_effect:
                why.append(UNKNOWN_EFFECT_REASON)
            tier = 1
        elif is_protein_altering:
            why.append(
                UNKNOWN_EFFECT_REASON
                if unknown_effect
                else "protein-altering: " + ", ".join(sorted(terms & PROTEIN_ALTERING_TERMS))
            )
            tier = 2
        else:
            continue
        candidate = TierAssignment(
            variant.variant_id, variant.gene, tier, panel.panel_id, matching, (*reasons, *why)
        )
        if best is None or tier < (best.tier or 4):
            best = candidate
    if best is not None:
        return best
    tier3_why = "rare, " + (
        UNKNOWN_EFFECT_REASON if unknown_effect else "protein-altering" if is_protein_altering else "splice"
    )
    if not (is_protein_altering or is_splice):
        tier3_why = f"rare, ClinVar {variant.clinvar_significance}"
    in_panel = [p.name for p in panels if p.gene(variant.gene) is not None]
    where = (
        f"non-green or mode-mismatched gene in {', '.join(in_panel)}"
        if in_panel
        else "outside the applied panels"
    )
    return TierAssignment(
        variant.variant_id,
        variant.gene,
        3,
        None,
        frozenset(kept),
        (*reasons, tier3_why, "segregates as " + ", ".join(sorted(m.value for m in kept)), where),
    )


def _could_be_causal(variant: TieringVariant, caps: FrequencyCaps) -> bool:
    terms = variant.consequences
    relevant = bool(terms & (LOF_TERMS | PROTEIN_ALTERING_TERMS | SPLICE_TERMS | UNKNOWN_EFFECT_TERMS))
    rare = variant.population_af is None or variant.population_af <= caps.recessive
    return rare and (relevant or is_known_pathogenic(variant.clinvar_significance))


def tier_variants(
    variants: Sequence[TieringVariant],
    segregation: Mapping[str, Sequence[ModeCall]],
    panels: Sequence[Panel],
    *,
    caps: FrequencyCaps = FrequencyCaps(),
) -> list[TierAssignment]:
    """Tiers many variants; segregation maps variant id to its mode calls (missing ids segregate with nothing)."""
    # A compound heterozygous pair counts only when the partner could itself be causal.
    candidates = {v.variant_id for v in variants if _could_be_causal(v, caps)}
    results = []
    for variant in variants:
        calls = [
            c
            for c in segregation.get(variant.variant_id, ())
            if c.mode != Mode.AR_COMP_HET or c.partner_id in candidates
        ]
        results.append(tier_variant(variant, calls, panels, caps=caps))
    return results
