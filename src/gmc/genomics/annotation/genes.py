"""Gene-level knowledge: gnomAD constraint (pLI, LOEUF) and ClinGen dosage sensitivity."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gmc.settings import get_settings

CONSTRAINT_FILE = ("constraint", "gnomad_v4.1_constraint_mane_select.csv")
CLINGEN_FILE = ("clingen", "ClinGen_gene_curation_list_GRCh38_2026-02-06.tsv")


class GeneKnowledgeError(ValueError):
    """A constraint or ClinGen file has a malformed line."""


@dataclass(frozen=True)
class Constraint:
    """gnomAD loss-of-function and missense constraint of a gene."""

    pli: float | None
    loeuf: float | None
    oe_lof: float | None
    mis_z: float | None


@dataclass(frozen=True)
class Dosage:
    """ClinGen haploinsufficiency and triplosensitivity scores (0-3, 30 = recessive, 40 = unlikely)."""

    haploinsufficiency: str
    triplosensitivity: str


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_constraint(path: Path) -> dict[str, Constraint]:
    """Reads gnomAD constraint keyed by unversioned Ensembl gene id (Arrow's CSV reader: one C pass)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    wanted = ("Ensembl_gene_id", "Gnomad_pLI_score", "Gnomad_oe_ci_upper", "Gnomad_oe_lof_score", "Gnomad_mis_z_score")
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            include_columns=list(wanted), column_types={"Ensembl_gene_id": pa.string()},
            # cells that are not numbers read as missing, as they always have
            strings_can_be_null=True))
    except (pa.ArrowInvalid, KeyError) as error:
        raise GeneKnowledgeError(f"{path.name}: {error}") from None
    columns = []
    for name in wanted[1:]:
        column = table.column(name)
        if not pa.types.is_floating(column.type) and not pa.types.is_integer(column.type):
            column = pa.array([_number(v) if v is not None else None for v in column.to_pylist()], pa.float64())
        columns.append(column.to_pylist())
    return {gene: Constraint(pli=pli, loeuf=loeuf, oe_lof=oe_lof, mis_z=mis_z)
            for gene, pli, loeuf, oe_lof, mis_z in zip(table.column("Ensembl_gene_id").to_pylist(), *columns,
                                                        strict=True)}


#: ClinGen score cells that mean "no score" rather than a number.
_NOT_SCORED = {"not yet evaluated", "-1"}


def read_clingen(path: Path) -> dict[str, Dosage]:
    """Reads ClinGen dosage curation keyed by gene symbol."""
    table: dict[str, Dosage] = {}
    header: list[str] | None = None
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#Gene Symbol"):
                header = [f.lstrip("#") for f in fields]
                continue
            if line.startswith("#") or not line.strip():
                continue
            if header is None:
                raise GeneKnowledgeError(f"{path.name} line {number}: data before the #Gene Symbol header")
            row = dict(zip(header, fields, strict=False))
            for column in ("Haploinsufficiency Score", "Triplosensitivity Score"):
                score = (row.get(column) or "").strip()
                if score and not score.isdigit() and score.lower() not in _NOT_SCORED:
                    raise GeneKnowledgeError(f"{path}:{number}: {column.lower()} {score!r} is not a number")
            table[row["Gene Symbol"].strip()] = Dosage(
                haploinsufficiency=row.get("Haploinsufficiency Score", "").strip(),
                triplosensitivity=row.get("Triplosensitivity Score", "").strip(),
            )
    return table


@dataclass
class GeneKnowledge:
    """Constraint by Ensembl gene id and ClinGen dosage by symbol."""

    constraint: dict[str, Constraint]
    dosage: dict[str, Dosage]

    def constraint_of(self, gene_id: str) -> Constraint | None:
        """Returns gnomAD constraint for an (optionally versioned) Ensembl gene id."""
        return self.constraint.get(gene_id.split(".")[0])

    def dosage_of(self, symbol: str) -> Dosage | None:
        """Returns ClinGen dosage scores for a gene symbol."""
        return self.dosage.get(symbol)


@lru_cache(maxsize=1)
def load_gene_knowledge() -> GeneKnowledge:
    """Loads gnomAD constraint and ClinGen dosage from GMC_REFDATA once per process."""
    settings = get_settings()
    # ClinGen publishes only its current list; gmc refdata names it by its date, so the newest one is read.
    dated = sorted((Path(settings.refdata or "") / CLINGEN_FILE[0]).glob("ClinGen_gene_curation_list_GRCh38_*.tsv"))
    return GeneKnowledge(
        constraint=read_constraint(settings.refdata_path(*CONSTRAINT_FILE)),
        dosage=read_clingen(dated[-1] if dated else settings.refdata_path(*CLINGEN_FILE)),
    )
