"""Building a data release in three steps: gather (one read of the database into plain, pseudonymised data),
write (files in a staging folder: phenopackets, clinical tables as CSV and Parquet with a data dictionary,
genotypes from the variant store as Parquet and per-sample VCF, a manifest with every checksum), finish (the
members, files and status recorded, audited). Nothing identifying is gathered into the written data: research
ids are keyed HMACs, dates become ages in whole years, free text is left behind."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from gmc import __version__
from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.common.errors import Conflict
from gmc.common.time import utcnow
from gmc.genomics.service import gene_spans, store_root
from gmc.genomics.store.layout import CHROMOSOMES, MAX_POSITION, StoreLayout
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.phenotype import phenopackets as pp
from gmc.phenotype.ontology import get_ontology
from gmc.phenotype.service import SEX_TO_PHENOPACKET, onset_time_element
from gmc.refdata.manifest import provenance_versions
from gmc.registry import repository as registry_repo
from gmc.research import repository as repo
from gmc.research import service
from gmc.research.cohort import Criteria, age_band, parse_variant
from gmc.research.models import DataRelease, ReleaseMember
from gmc.research.pseudonym import (
    age_in_years,
    family_pseudonym,
    key_fingerprint,
    research_id,
    sample_pseudonym,
)
from gmc.research.selection import oncotree, tumour_type_of
from gmc.settings import get_settings

#: Every column of every clinical table: (name, Arrow type, description). The data dictionary is this table.
TABLES: dict[str, list[tuple[str, pa.DataType, str]]] = {
    "participants": [
        ("research_id", pa.string(), "The participant's research id in this project (keyed pseudonym)"),
        ("sex", pa.string(), "female, male, other or unknown"),
        ("age_at_recruitment", pa.int32(), "Age in whole years at the first referral (empty: birth date unknown)"),
        ("age_band", pa.string(), "Band of age_at_recruitment: 0-4, 5-17, 18-39, 40-59, 60-79, 80+ or unknown"),
        ("programme_arms", pa.string(), "rare_disease and/or cancer, separated by ;"),
        ("condition", pa.string(), "Rare disease: the approved condition of the referral (other when not on "
                                   "the approved list); cancer: the referral's cancer type"),
        ("centre", pa.string(), "Code of the recruiting Genomic Medicine Centre"),
        ("family_id", pa.string(), "Pseudonymous family id in this project (empty outside a family)"),
        ("relation_to_proband", pa.string(), "proband, mother, father, sibling, child, grandparent or other"),
        ("affected", pa.string(), "Affected status in the family: affected, unaffected or unknown"),
        ("deceased", pa.bool_(), "True when the participant has died (no date is given)"),
    ],
    "phenotypes": [
        ("research_id", pa.string(), "Research id of the participant"),
        ("hpo_id", pa.string(), "HPO term id"),
        ("hpo_label", pa.string(), "HPO term label in the release named by the manifest"),
        ("excluded", pa.bool_(), "True when the feature was looked for and found absent"),
        ("onset", pa.string(), "Onset: an HPO onset term, an ISO 8601 age (P3Y6M) or a gestational age (GA:32w4d)"),
        ("severity", pa.string(), "HPO severity modifier term id"),
        ("modifiers", pa.string(), "Other HPO modifier term ids (laterality, pace, pattern), separated by ;"),
    ],
    "diagnoses": [
        ("research_id", pa.string(), "Research id of the participant"),
        ("code", pa.string(), "OMIM, ORPHA or MONDO code"),
        ("label", pa.string(), "Disease name from the HPO annotations (empty for codes they do not name)"),
        ("status", pa.string(), "suspected, confirmed or excluded"),
    ],
    "cancer": [
        ("research_id", pa.string(), "Research id of the participant"),
        ("oncotree_code", pa.string(), "OncoTree code of the tumour type"),
        ("tumour_type", pa.string(), "OncoTree name of the tumour type"),
        ("main_type", pa.string(), "OncoTree main type"),
        ("tissue", pa.string(), "OncoTree tissue"),
        ("source", pa.string(), "somatic_interpretation (the type interpreted) or referral (the referred cancer)"),
    ],
    "genomes": [
        ("research_id", pa.string(), "Research id of the participant"),
        ("sample_id", pa.string(), "Pseudonymous sample id used in the genotype files"),
        ("build", pa.string(), "Genome build: GRCh38 or GRCh37"),
        ("kind", pa.string(), "germline or normal (the normal of a tumour-normal pair)"),
        ("n_variants", pa.int64(), "Non-reference calls stored"),
        ("snvs", pa.int64(), "SNV calls"),
        ("insertions", pa.int64(), "Insertion calls"),
        ("deletions", pa.int64(), "Deletion calls"),
        ("titv", pa.float64(), "Transition/transversion ratio of SNVs"),
        ("het_hom_ratio", pa.float64(), "Heterozygous to homozygous-alternate ratio"),
        ("inferred_sex", pa.string(), "Sex inferred from chrX heterozygosity (unknown without chrX calls)"),
        ("qc_status", pa.string(), "stored (QC within limits) or qc_flagged"),
    ],
}

#: Columns of genotypes.parquet (one row per non-reference call).
GENOTYPE_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("research_id", pa.string(), "Research id of the participant"),
    ("sample_id", pa.string(), "Pseudonymous sample id (the VCF sample column)"),
    ("build", pa.string(), "Genome build"),
    ("chrom", pa.string(), "Chromosome (1-22, X, Y, MT)"),
    ("pos", pa.int32(), "1-based position"),
    ("ref", pa.string(), "Reference allele"),
    ("alt", pa.string(), "Alternate allele"),
    ("genotype", pa.string(), "0/1 heterozygous, 1/1 homozygous alternate, 1 hemizygous"),
    ("gq", pa.int16(), "Genotype quality (empty: not given)"),
    ("dp", pa.int32(), "Read depth (empty: not given)"),
    ("ad_ref", pa.int32(), "Reads supporting the reference allele"),
    ("ad_alt", pa.int32(), "Reads supporting the alternate allele"),
    ("qual", pa.float32(), "Site QUAL"),
    ("filter", pa.string(), "VCF FILTER"),
    ("gene", pa.string(), "Gene of the most severe annotation"),
    ("consequence", pa.string(), "Sequence Ontology consequence terms (& separated)"),
    ("impact", pa.string(), "HIGH, MODERATE, LOW or MODIFIER"),
    ("hgvs_c", pa.string(), "HGVS coding change"),
    ("hgvs_p", pa.string(), "HGVS protein change"),
    ("clinvar", pa.string(), "ClinVar pathogenic/likely pathogenic record (significance|review status|variation id)"),
    ("gnomad_af", pa.float64(), "Population allele frequency (gnomAD)"),
]
_ANNOTATION = ("gene", "consequence", "impact", "hgvs_c", "hgvs_p", "clinvar", "gnomad_af")
GENOTYPES_SCHEMA = pa.schema([(n, t) for n, t, _ in GENOTYPE_COLUMNS])

Progress = Callable[[str, int, int], None]
_log = logging.getLogger(__name__)


def releases_dir(base: Path | None = None) -> Path:
    """Where built releases live: data_dir/research/releases."""
    return Path(base or Path(get_settings().data_dir) / "research" / "releases")


@dataclass
class ReleaseContent:
    """Everything a release's files hold, already pseudonymised, plus what the genotype step needs."""

    release_id: str
    project_id: str
    manifest: dict[str, Any]
    members: list[tuple[int, str]]
    tables: dict[str, list[dict[str, Any]]]
    phenopackets: list[dict[str, Any]]
    #: build -> store sample -> (sample id, research id)
    samples: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    #: build -> spans of the genotypes (None: the whole genome)
    spans: dict[str, list[tuple[str, int, int]] | None] = field(default_factory=dict)
    genotypes: str = "none"


def _conditions(session: Session, pks: list[int]) -> dict[int, str]:
    """Each participant's first referral's condition, from controlled lists only (free text becomes "other")."""
    from gmc.interpretation.cancer.service import DEFAULT_TUMOUR_TYPES

    rule_set = registry_repo.active_rule_set(session, "rare_disease")
    approved = {name.lower(): name for name in (rule_set.rules.get("conditions", {}) if rule_set else {})}
    out: dict[int, str] = {}
    for pk, arm, indication in repo.referral_indications(session, pks):
        text = indication.strip().lower()
        if pk not in out:
            out[pk] = approved.get(text, "other") if arm == "rare_disease" else (
                text if text in DEFAULT_TUMOUR_TYPES else "other")
    return out


def _hpo_label(ontology: Any, term_id: str) -> str | None:
    """A term's label from the ontology (never text typed at capture)."""
    term = ontology.terms.get(term_id)
    return term.name if term else None


def _disease_names(codes: set[str]) -> dict[str, str]:
    """Disease names from the HPO annotations (OMIM, ORPHA) for the codes, never the label typed with a diagnosis:
    a code the annotations do not name (MONDO, say) is released without a name."""
    if not codes:
        return {}
    from gmc.phenotype.annotations import get_annotations

    diseases = get_annotations().diseases
    return {code: diseases[code].name for code in codes if code in diseases}


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _genotype_spans(criteria: Criteria, build: str) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    for gene in criteria.genes:
        try:
            spans += list(gene_spans((gene,), build).values())
        except Exception:  # noqa: BLE001 - a gene without a model in this build has no span here
            continue
    if build == criteria.build:
        for text in criteria.variants:
            chrom, pos, ref, _ = parse_variant(text)
            spans.append((chrom, pos, min(MAX_POSITION, pos + len(ref) - 1)))
    return spans


def gather(session: Session, release: DataRelease, *, key: str, store_base: Path | None = None,
           today: date | None = None) -> ReleaseContent:
    """Reads the release's members and their data once and returns them pseudonymised (no database after)."""
    today = today or date.today()
    project = release.project
    version = release.cohort_version
    criteria = service.version_criteria(version)
    selection = service.selection_for_release(session, release, store_base=store_base)
    pks = sorted(selection.members, key=lambda pk: selection.facts[pk].participant_id)
    pid = project.project_id
    rid = {pk: research_id(key, pid, selection.facts[pk].participant_id) for pk in pks}
    parts = set(release.contents.get("parts", []))
    ontology = get_ontology()
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    conditions = _conditions(session, pks)
    families = repo.family_places(session, pks)
    somatic = repo.somatic_tumour_types(session)
    observations = repo.observations_of(session, pks)
    diagnoses = repo.diagnoses_of(session, pks)
    names = _disease_names({d.code for rows in diagnoses.values() for d in rows})
    datasets = repo.germline_datasets(session, pks)
    tree = None
    phenopackets: list[dict[str, Any]] = []
    created = _iso(utcnow())
    for pk in pks:
        facts = selection.facts[pk]
        age = age_in_years(facts.date_of_birth, facts.recruited_on or today)
        family = families.get(pk)
        tables["participants"].append({
            "research_id": rid[pk], "sex": facts.sex, "age_at_recruitment": age, "age_band": age_band(age),
            "programme_arms": ";".join(facts.arms), "condition": conditions.get(pk), "centre": facts.centre,
            "family_id": family_pseudonym(key, pid, family[0]) if family else None,
            "relation_to_proband": family[1] if family else None, "affected": family[2] if family else None,
            "deceased": facts.deceased})
        for o in observations.get(pk, []):
            tables["phenotypes"].append({
                "research_id": rid[pk], "hpo_id": o.hpo_id, "hpo_label": _hpo_label(ontology, o.hpo_id),
                "excluded": o.excluded,
                "onset": o.onset, "severity": o.severity,
                "modifiers": ";".join(([o.laterality] if o.laterality else []) + list(o.modifiers)) or None})
        for d in diagnoses.get(pk, []):
            tables["diagnoses"].append({"research_id": rid[pk], "code": d.code, "label": names.get(d.code),
                                        "status": d.status})
        code = tumour_type_of(facts.pk, facts.indications, somatic) if "cancer" in facts.arms else None
        if code:
            tree = tree or oncotree()
            try:
                node = tree.get(code)
            except ValueError:  # a code OncoTree no longer knows: released as given, without names
                node = None
            tables["cancer"].append({
                "research_id": rid[pk], "oncotree_code": node.code if node else code,
                "tumour_type": node.name if node else None,
                "main_type": node.main_type if node else None, "tissue": node.tissue if node else None,
                "source": "somatic_interpretation" if pk in somatic else "referral"})
        if "phenopackets" in parts:
            phenopackets.append(_phenopacket(rid[pk], facts, age, observations.get(pk, []), diagnoses.get(pk, []),
                                             names, ontology, created, release.release_id))
    samples: dict[str, dict[str, tuple[str, str]]] = {}
    for d in datasets:
        sample_id = sample_pseudonym(key, pid, d.dataset_id)
        samples.setdefault(d.build, {})[d.store_sample] = (sample_id, rid[d.participant_pk])
        qc = d.qc or {}
        counts = qc.get("counts_by_type") or {}
        tables["genomes"].append({
            "research_id": rid[d.participant_pk], "sample_id": sample_id, "build": d.build, "kind": d.kind,
            "n_variants": d.n_variants, "snvs": counts.get("SNV"), "insertions": counts.get("insertion"),
            "deletions": counts.get("deletion"), "titv": qc.get("titv"), "het_hom_ratio": qc.get("het_hom_ratio"),
            "inferred_sex": qc.get("inferred_sex"), "qc_status": d.status})
    scope = release.contents.get("genotypes", "none")
    spans = {b: (None if scope == "all" else _genotype_spans(criteria, b)) for b in samples}
    manifest = {
        "release_id": release.release_id, "project_id": pid, "project_title": project.title,
        "purpose": release.purpose,
        "cohort": {"cohort_id": version.cohort.cohort_id, "name": version.cohort.name, "version": version.version,
                   "criteria": version.criteria, "description": criteria.describe()},
        "requested_by": release.requested_by, "requested_at": _iso(release.requested_at),
        "approved_by": release.decided_by, "approved_at": _iso(release.decided_at),
        "participants": len(pks), "contents": release.contents,
        "provenance": {"gmc": __version__, "hpo_release": ontology.release,
                       "oncotree": tree.release if tree else None,
                       "research_key_fingerprint": key_fingerprint(key),
                       # Installed when built: disease names (HPO annotations), gene models and names, OncoTree,
                       # ClinVar. The genotypes' annotation columns are the variant store's, as annotated at ingest.
                       "reference_data": {k: v for b in sorted(samples) or ["GRCh38"] for k, v in provenance_versions(
                           ["hpo", "gene-names", "transcripts", "clinvar", "cancer"], build=b).items()},
                       "variant_engine": get_settings().variant_engine,
                       "stores": {b: _store_version(b, store_base) for b in samples}},
        "notes": selection.notes,
    }
    return ReleaseContent(release.release_id, pid, manifest, [(pk, rid[pk]) for pk in pks],
                          {n: rows for n, rows in tables.items() if n in parts}, phenopackets, samples, spans,
                          scope if "genotypes" in parts else "none")


def _store_version(build: str, store_base: Path | None) -> dict[str, Any]:
    root = store_root(build, store_base)
    if not StoreLayout(root).exists():
        return {}
    manifest = VariantStore(root).manifest()
    return {"datasets": len(manifest.datasets), "samples": manifest.n_samples}


def _phenopacket(rid: str, facts: repo.ParticipantFacts, age: int | None, observations: list, diagnoses: list,
                 names: dict[str, str], ontology: Any, created: str | None, release_id: str) -> dict[str, Any]:
    """A pseudonymised v2 phenopacket: research id, sex, age, features and diseases; no dates, no free text."""

    def term(term_id: str) -> pp.OntologyTerm:
        return pp.OntologyTerm(term_id, ontology.terms[term_id].name if term_id in ontology.terms else term_id)

    features = tuple(
        pp.PhenotypicFeature(
            type=term(o.hpo_id), excluded=o.excluded,
            severity=term(o.severity) if o.severity else None,
            modifiers=tuple(term(m) for m in ([o.laterality] if o.laterality else []) + list(o.modifiers)),
            onset=onset_time_element(o.onset, ontology))
        for o in observations)
    diseases = tuple(pp.Disease(term=pp.OntologyTerm(d.code, names.get(d.code, "")),
                                excluded=d.status == "excluded") for d in diagnoses)
    subject = pp.Subject(
        id=rid, sex=SEX_TO_PHENOPACKET.get(facts.sex, "UNKNOWN_SEX"),
        time_at_last_encounter=pp.TimeElement(age=f"P{age}Y") if age is not None else None,
        vital_status=pp.VitalStatus(status="DECEASED" if facts.deceased else "ALIVE"),
        taxonomy=pp.OntologyTerm("NCBITaxon:9606", "homo sapiens"))
    meta = pp.MetaData(created=created or "", created_by=f"gmc research release {release_id}")
    data = pp.PhenopacketData(id=rid, subject=subject, phenotypic_features=features, diseases=diseases,
                              meta_data=meta)
    return pp.write_phenopacket(data, resources=[pp.hpo_resource(ontology.release)])


# ----------------------------------------------------------------------------- writing


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, pa.DataType, str]]) -> pa.Table:
    schema = pa.schema([(n, t) for n, t, _ in columns])
    return pa.Table.from_pylist(rows, schema=schema)


def _write_table(folder: Path, name: str, table: pa.Table) -> list[tuple[str, int]]:
    pacsv.write_csv(table, folder / f"{name}.csv")
    pq.write_table(table, folder / f"{name}.parquet")
    return [(f"{name}.csv", table.num_rows), (f"{name}.parquet", table.num_rows)]


def _dictionary(content: ReleaseContent) -> pa.Table:
    rows = []
    for name, columns in TABLES.items():
        if name in content.tables:
            rows += [{"table": name, "column": c, "type": str(t), "description": d} for c, t, d in columns]
    if content.genotypes != "none":
        rows += [{"table": "genotypes", "column": c, "type": str(t), "description": d} for c, t, d in GENOTYPE_COLUMNS]
    return pa.Table.from_pylist(rows, schema=pa.schema([("table", pa.string()), ("column", pa.string()),
                                                        ("type", pa.string()), ("description", pa.string())]))


_VCF_HEADER = (
    "##fileformat=VCFv4.2\n##source=gmc research release {release}\n##reference={build}\n{contigs}{filters}"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths (ref, alt)">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n"
)


def _text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A numeric column as VCF text: '.' for missing or negative (the store's missing marker)."""
    missing = pc.or_kleene(pc.is_null(column), pc.less(column, 0))
    return pc.if_else(pc.fill_null(missing, True), ".", pc.cast(column, pa.string()))


def _genotype_text(gt: pa.Array, ploidy: pa.Array) -> pa.Array:
    haploid = pc.equal(ploidy, 1)
    return pc.if_else(haploid, "1", pc.if_else(pc.equal(gt, 2), "1/1", "0/1"))


def _write_genotypes(content: ReleaseContent, folder: Path, store_base: Path | None,
                     progress: Progress | None) -> list[tuple[str, int]]:
    """genotypes.parquet (every call, annotated) and vcf/<sample>.<build>.vcf.gz (one per sample), chromosome by
    chromosome, from the variant store's query layer (DuckDB, or Spark at national scale)."""
    (folder / "vcf").mkdir()
    writer = pq.ParquetWriter(folder / "genotypes.parquet", GENOTYPES_SCHEMA)
    rows = 0
    vcf_rows: dict[str, int] = {}
    vcf_names: dict[str, str] = {}
    builds: dict[str, str] = {}
    filters: set[str] = set()
    steps = [(b, c) for b in sorted(content.samples) for c in CHROMOSOMES]

    def write(calls: pa.Table, table: pa.Table) -> None:
        nonlocal rows, filters
        writer.write_table(table)
        rows += table.num_rows
        filters |= set(pc.unique(pc.fill_null(calls.column("filter"), ".")).to_pylist())
        _append_vcfs(folder, calls, table, vcf_names, vcf_rows)

    # Two stages on the two cores: while one thread writes a chromosome (Parquet, VCF text, gzip: all release
    # the GIL), the other reads and annotates the next. One writer keeps the files in order; one chromosome
    # waits at most, so memory stays at two chromosomes' calls.
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="release-writer") as stage:
        try:
            for build, mapping in sorted(content.samples.items()):
                store = VariantStore(store_root(build, store_base)).pinned()
                held = set(store.manifest().sample_index())
                names = sorted(s for s in mapping if s in held)
                for store_sample in names:
                    sample_id = mapping[store_sample][0]
                    vcf_names[sample_id] = f"vcf/{sample_id}.{build}.vcf.gz"
                    builds[sample_id] = build
                    vcf_rows[sample_id] = 0
                    (folder / _body(vcf_names[sample_id])).touch()
                spans = content.spans.get(build)
                columns = store.site_columns()
                for chrom in CHROMOSOMES if names else ():
                    if progress is not None:
                        progress("genotypes", steps.index((build, chrom)), len(steps))
                    chrom_spans = [(chrom, 1, MAX_POSITION)] if spans is None else [s for s in spans if s[0] == chrom]
                    for span in chrom_spans:
                        calls = store.samples_calls(names, region=span, filters=VariantFilter())
                        if calls.num_rows == 0:
                            continue
                        calls = _annotate(calls, store, span, columns)
                        table = _genotype_table(calls, mapping, build)
                        if pending is not None:
                            pending.result()
                        pending = stage.submit(write, calls, table)
            if pending is not None:
                pending.result()
        finally:
            if pending is not None:
                wait([pending])
            writer.close()
    declared = "".join(f'##FILTER=<ID={f},Description="As filtered in the source VCF">\n'
                       for f in sorted(filters - {"PASS", "."}))
    contigs = "".join(f"##contig=<ID={c}>\n" for c in CHROMOSOMES)
    for sample_id, name in vcf_names.items():
        header = _VCF_HEADER.format(release=content.release_id, build=builds[sample_id], contigs=contigs,
                                    filters=declared, sample=sample_id)
        with open(folder / name, "wb") as out, open(folder / _body(name), "rb") as body:
            out.write(gzip.compress(header.encode()))
            shutil.copyfileobj(body, out, 1 << 20)
        (folder / _body(name)).unlink()
    return [("genotypes.parquet", rows)] + [(vcf_names[s], vcf_rows[s]) for s in sorted(vcf_names)]


def _body(name: str) -> str:
    """The temporary file a VCF's records gather in before its header (which declares every FILTER) is known."""
    return f"{name}.body"


def _annotate(calls: pa.Table, store: VariantStore, span: tuple[str, int, int], columns: set[str]) -> pa.Table:
    """The calls with the annotation columns of their sites (null where the store has none)."""
    wanted = [c for c in _ANNOTATION if c in columns]
    if not wanted:
        return calls
    sites = store.sites(region=span).select(["key", *wanted])
    # A lookup, not a join: the calls keep the store's order (by sample, then position), where a join would reorder
    # them and every column would be taken again to sort them back (a quarter of a whole-genome release's time).
    found = pc.index_in(calls.column("key"), value_set=sites.column("key").combine_chunks())
    for name in wanted:
        calls = calls.append_column(name, pc.take(sites.column(name), found))
    return calls


def _genotype_table(calls: pa.Table, mapping: dict[str, tuple[str, str]], build: str) -> pa.Table:
    encoded = calls.column("sample").combine_chunks().dictionary_encode()
    names = encoded.dictionary.to_pylist()
    sample_ids = pc.take(pa.array([mapping[s][0] for s in names], pa.string()), encoded.indices)
    research_ids = pc.take(pa.array([mapping[s][1] for s in names], pa.string()), encoded.indices)

    def column(name: str, arrow_type: pa.DataType) -> pa.Array:
        if name in calls.column_names:
            return pc.cast(calls.column(name), arrow_type)
        return pa.nulls(calls.num_rows, arrow_type)

    def known(name: str, arrow_type: pa.DataType) -> pa.Array:
        values = calls.column(name)
        return pc.cast(pc.if_else(pc.less(values, 0), pa.scalar(None, values.type), values), arrow_type)

    arrays = {
        "research_id": research_ids, "sample_id": sample_ids,
        "build": pa.array([build] * calls.num_rows, pa.string()),
        "chrom": calls.column("chrom"), "pos": calls.column("pos"), "ref": calls.column("ref"),
        "alt": calls.column("alt"),
        "genotype": _genotype_text(calls.column("gt"), calls.column("ploidy")),
        "gq": known("gq", pa.int16()), "dp": known("dp", pa.int32()), "ad_ref": known("ad_ref", pa.int32()),
        "ad_alt": known("ad_alt", pa.int32()), "qual": calls.column("qual"), "filter": calls.column("filter"),
    }
    for name, arrow_type, _ in GENOTYPE_COLUMNS:
        if name not in arrays:
            arrays[name] = column(name, arrow_type)
    return pa.table([arrays[n] for n, _, _ in GENOTYPE_COLUMNS], schema=GENOTYPES_SCHEMA)


def _append_vcfs(folder: Path, calls: pa.Table, table: pa.Table, vcf_names: dict[str, str],
                 vcf_rows: dict[str, int]) -> None:
    """Appends each sample's records of one batch to its VCF as one more gzip member (a valid gzip stream)."""
    ad = pc.if_else(pc.less(pc.fill_null(calls.column("ad_ref"), -1), 0), ".",
                    pc.binary_join_element_wise(_text(calls.column("ad_ref")), _text(calls.column("ad_alt")), ","))
    qual = calls.column("qual")
    qual_text = pc.if_else(pc.fill_null(pc.is_nan(qual), True), ".",
                           pc.cast(pc.round(pc.cast(qual, pa.float64()), 2), pa.string()))
    sample_field = pc.binary_join_element_wise(table.column("genotype"), _text(calls.column("gq")),
                                               _text(calls.column("dp")), ad, ":")
    lines = pc.binary_join_element_wise(
        calls.column("chrom"), pc.cast(calls.column("pos"), pa.string()), ".", calls.column("ref"),
        calls.column("alt"), qual_text, pc.fill_null(calls.column("filter"), "."), ".", "GT:GQ:DP:AD",
        pc.binary_join_element_wise(sample_field, "\n", ""), "\t")
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    sample_ids = table.column("sample_id").combine_chunks()
    # Rows come sorted by sample: each sample's lines are one contiguous run of the string buffer.
    values = np.asarray(sample_ids.dictionary_encode().indices)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    data = lines.buffers()[2]
    for start, end in zip(starts, ends, strict=True):
        sample_id = sample_ids[int(start)].as_py()
        chunk = data[int(offsets[start]):int(offsets[end])]
        with open(folder / _body(vcf_names[sample_id]), "ab") as handle:
            # Level 1: 3.7x faster than 6 on these records for 25 % more bytes; compression was the largest
            # share of a 1,000-participant release's time (docs/bench/research.md).
            handle.write(gzip.compress(chunk.to_pybytes(), compresslevel=1))
        vcf_rows[sample_id] += int(end - start)


def write_files(content: ReleaseContent, staging: Path, *, store_base: Path | None = None,
                progress: Progress | None = None) -> list[dict[str, Any]]:
    """Writes every file of the release into a new staging folder; returns name, bytes, sha256 and rows."""
    staging.mkdir(parents=True)
    written: list[tuple[str, int]] = []
    total = len(content.tables) + 3
    for i, (name, rows) in enumerate(content.tables.items()):
        if progress is not None:
            progress("tables", i, total)
        written += _write_table(staging, name, _table(rows, TABLES[name]))
    if content.phenopackets:
        with zipfile.ZipFile(staging / "phenopackets.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for document in content.phenopackets:
                archive.writestr(f"{document['id']}.json", json.dumps(document, indent=2, ensure_ascii=False))
        written.append(("phenopackets.zip", len(content.phenopackets)))
    if content.genotypes != "none":
        written += _write_genotypes(content, staging, store_base, progress)
    dictionary = _dictionary(content)
    written += _write_table(staging, "data_dictionary", dictionary)
    if progress is not None:
        progress("checksums", 0, len(written))
    files = [{"name": name, "bytes": (staging / name).stat().st_size, "sha256": sha256_of(staging / name),
              "rows": rows} for name, rows in written]
    manifest = dict(content.manifest, files=files)
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str))
    files.append({"name": "manifest.json", "bytes": (staging / "manifest.json").stat().st_size,
                  "sha256": sha256_of(staging / "manifest.json"), "rows": None})
    return files


# ----------------------------------------------------------------------------- the whole build


def _check_buildable(release: DataRelease) -> None:
    if release.status not in ("approved", "building", "failed"):
        raise Conflict(f"release {release.release_id} is {release.status}: only an approved release is built")
    if release.project.status != "approved":
        raise Conflict(f"project {release.project.project_id} is {release.project.status}")


def _finish(session: Session, release: DataRelease, content: ReleaseContent, files: list[dict[str, Any]],
            staging: Path, final: Path, actor: Actor) -> None:
    """Records members, files and status, then moves the staging folder into place (the caller commits)."""
    for pk, rid in content.members:
        session.add(ReleaseMember(release_id=release.id, participant_id=pk, research_id=rid))
    release.files = files
    release.n_participants = len(content.members)
    release.provenance = content.manifest["provenance"]
    release.status = "built"
    release.built_at = utcnow()
    release.error = None
    release.progress = {"step": "done", "done": 1, "total": 1}
    record(session, actor=actor, verb=AuditVerb.EXPORT, entity_type="research_release",
           entity_id=release.release_id, summary={"participants": len(content.members), "files": len(files),
                                                  "bytes": sum(f["bytes"] for f in files)})
    session.flush()
    if final.exists():
        shutil.rmtree(final)  # a folder left by a build whose commit failed
    os.replace(staging, final)


def build_in_session(session: Session, release: DataRelease, *, actor: Actor, store_base: Path | None = None,
                     out_base: Path | None = None, progress: Progress | None = None) -> DataRelease:
    """Builds an approved release inside the caller's transaction (CLI, demo, tests); files appear at the end."""
    _check_buildable(release)
    service.update_recall_list(session)
    key = get_settings().research_key
    content = gather(session, release, key=key, store_base=store_base)
    root = releases_dir(out_base)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{release.release_id}-{os.getpid()}-{threading.get_ident()}"
    try:
        files = write_files(content, staging, store_base=store_base, progress=progress)
        _finish(session, release, content, files, staging, root / release.release_id, actor)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return release


def build_in_background(database: Any, release_id: str, *, actor: Actor, key: str, store_base: Path | None = None,
                        out_base: Path | None = None) -> None:
    """Builds a release with short transactions only (the web app runs this in a thread after an approval):
    status and progress are committed as it goes so the release page can show them; a failure is recorded."""
    with database.transaction() as session:
        release = repo.get_release(session, release_id)
        _check_buildable(release)
        release.status = "building"
        release.progress = {"step": "selecting", "done": 0, "total": 1, "at": utcnow().isoformat()}

    def progress(step: str, done: int, total: int) -> None:
        with database.transaction() as s:
            r = repo.get_release(s, release_id)
            r.progress = {"step": step, "done": done, "total": total, "at": utcnow().isoformat()}

    root = releases_dir(out_base)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{release_id}-{os.getpid()}-{threading.get_ident()}"
    try:
        with database.transaction() as session:
            service.update_recall_list(session)
            content = gather(session, repo.get_release(session, release_id), key=key, store_base=store_base)
        files = write_files(content, staging, store_base=store_base, progress=progress)
        with database.transaction() as session:
            _finish(session, repo.get_release(session, release_id), content, files, staging, root / release_id,
                    actor)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the release for its page
        with database.transaction() as session:
            release = repo.get_release(session, release_id)
            release.status = "failed"
            release.error = f"{type(exc).__name__}: {exc}"[:2000]
            release.progress = {"step": "failed", "done": 0, "total": 1}
            record(session, actor=actor, verb=AuditVerb.EXPORT, entity_type="research_release",
                   entity_id=release_id, summary={"failed": release.error})
        _log.exception("research release %s failed to build", release_id)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def release_folder(release: DataRelease, out_base: Path | None = None) -> Path:
    """The folder a built release's files are in."""
    return releases_dir(out_base) / release.release_id
