"""Genome-data rules: ingest a case manifest (parse -> build -> load), QC summaries and scoped variant queries."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import Conflict, NotFound, ValidationFailed
from gmc.common.time import utcnow
from gmc.genomics import ingest as core
from gmc.genomics import repository as repo
from gmc.genomics.manifest import CaseManifest
from gmc.genomics.models import GenomeDataset
from gmc.genomics.store.layout import StoreError, StoreLayout, is_uri, local_path
from gmc.genomics.store.writer import IngestResult, ingest_tables
from gmc.genomics.vcf import VcfFormatError, normalise_chrom
from gmc.jobs.service import Progress as JobProgress
from gmc.jobs.service import register_job_kind
from gmc.registry import repository as registry_repo
from gmc.registry.consent import ConsentAction, is_allowed
from gmc.registry.models import Case, FamilyMember, Participant
from gmc.registry.service import view_case
from gmc.samples.models import Sample
from gmc.settings import get_settings

logger = logging.getLogger(__name__)

#: Case statuses from which germline data moves the case on to interpretation.
_BEFORE_INTERPRETATION = ("open", "sequencing")
_REGION = re.compile(r"^(?:chr)?([0-9]{1,2}|X|Y|MT|M):([0-9][0-9,]*)-([0-9][0-9,]*)$", re.IGNORECASE)


def store_root(build: str, base: Path | str | None = None) -> Path | str:
    """The variant store of one build (the store holds one build), under GMC_STORE_URI (a folder or a URI such as
    s3a://bucket/gmc) or else data_dir/variant_store."""
    settings = get_settings()
    base = base or settings.store_uri or settings.data_dir / "variant_store"
    if is_uri(base) and local_path(base) is None:
        return f"{str(base).rstrip('/')}/{build}"
    return (local_path(base) or Path(base)) / build


@dataclass
class FileOutcome:
    """What the ingest did with one manifest file."""

    path: str
    build: str
    samples: list[str]
    records: int
    created: bool
    n_new_sites: int = 0
    datasets: list[str] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class IngestReport:
    """What an ingest did: per file outcomes, and whether the case moved on."""

    case_id: str
    files: list[FileOutcome]
    case_status: str

    @property
    def created(self) -> int:
        """Number of files stored by this run (0 when everything was already in)."""
        return sum(1 for f in self.files if f.created)


@dataclass
class _Planned:
    """A validated file waiting for the load step."""

    path: Path
    kind: str
    build: str
    samples: list[str]
    mapping: dict[str, tuple[Participant, Sample | None, str]]
    parsed: core.ParsedVcf | None = None
    sites: pa.Table | None = None


def _case_participants(session: Session, case: Case) -> dict[int, FamilyMember | None]:
    """Participants who may bring genome data to a case: the proband and the case family's members."""
    members: dict[int, FamilyMember | None] = {case.proband_id: None}
    if case.family_id is not None:
        for m in repo.family_members(session, case.family_id):
            members[m.participant_id] = m
    return members


def _plan(
    session: Session, principal: Principal, case: Case, manifest: CaseManifest, base_dir: Path
) -> list[_Planned]:
    """Validates the manifest against the registry, consent and each VCF header; nothing is written."""
    allowed = _case_participants(session, case)
    existing_builds = {d.build for d in repo.datasets_of_case(session, case.id)}
    plans: list[_Planned] = []
    for i, (path, entry) in enumerate(manifest.resolve(base_dir)):
        prefix = f"files[{i}]"
        if not path.is_file():
            raise ValidationFailed(f"{prefix}.path: {path} does not exist", field=f"{prefix}.path")
        mapping: dict[str, tuple[Participant, Sample | None, str]] = {}
        for j, s in enumerate(entry.samples):
            where = f"{prefix}.samples[{j}]"
            participant = registry_repo.get_by_participant_id(session, s.participant_id)
            if participant is None or participant.id not in allowed:
                raise ValidationFailed(
                    f"{where}.participant_id: {s.participant_id} is not the proband or a family member of case "
                    f"{case.case_id}", field=f"{where}.participant_id")
            decision = is_allowed(session, participant.id, ConsentAction.SEQUENCE)
            if not decision.allowed:
                raise Conflict(f"{where}.participant_id: consent of {s.participant_id} does not allow sequencing "
                               f"({decision.reason}); nothing was stored", field=f"{where}.participant_id")
            sample = None
            if s.sample_barcode:
                sample = repo.sample_by_barcode(session, s.sample_barcode)
                if sample is None or sample.participant_id != participant.id:
                    raise ValidationFailed(f"{where}.sample_barcode: {s.sample_barcode} is not a sample of "
                                           f"{s.participant_id}", field=f"{where}.sample_barcode")
            mapping[s.vcf_sample] = (participant, sample, s.kind or entry.kind)
        try:
            ordered, build = core.check_header(path, mapped=list(mapping), skipped=entry.skip_samples,
                                               build=manifest.build, field_prefix=prefix)
        except (core.IngestInputError, VcfFormatError) as exc:
            raise ValidationFailed(str(exc), field=prefix, line=getattr(exc, "line", None)) from None
        others = existing_builds | {p.build for p in plans}
        if others and build not in others:
            raise ValidationFailed(f"{path.name}: {prefix} is {build} but case {case.case_id} already holds "
                                   f"{', '.join(sorted(others))} data", field=f"{prefix}.path")
        plans.append(_Planned(path, entry.kind, build, ordered, mapping))
    return plans


def _trios(session: Session, case: Case, manifest: CaseManifest, plan: _Planned) -> list[tuple[str, str, str]]:
    """Trios for Mendelian checks: the manifest's pedigree, else the case family's proband and parents."""
    if manifest.pedigree:
        return [(t.child, t.father, t.mother) for t in manifest.pedigree]
    by_participant = {p.id: name for name, (p, _, _) in plan.mapping.items()}
    if case.family_id is None or case.proband_id not in by_participant:
        return []
    parents = {m.relation: m.participant_id for m in repo.family_members(session, case.family_id)
               if m.relation in ("father", "mother")}
    if parents.get("father") in by_participant and parents.get("mother") in by_participant:
        return [(by_participant[case.proband_id], by_participant[parents["father"]],
                 by_participant[parents["mother"]])]
    return []


def _new_dataset_id(session: Session) -> str:
    """A fresh programme dataset id (GD + 10 random hex digits)."""
    while True:
        candidate = f"GD{secrets.token_hex(5).upper()}"
        if repo.dataset_by_id(session, candidate) is None:
            return candidate


def ingest_manifest(
    session: Session,
    *,
    principal: Principal,
    manifest: CaseManifest,
    base_dir: Path,
    store_base: Path | None = None,
    annotate: bool = True,
    progress: core.Progress | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Validates, reads, QCs and annotates every file, adds the dataset rows, then commits the store last.

    workers: annotation processes forked beside the reader (default core.ANNOTATION_WORKERS; 0 in-process).

    Nothing is written until every file has been read in full; the store's commit is the last step, so
    a failure before it leaves neither rows (the caller's transaction rolls back) nor store files.
    """
    case = view_case(session, principal=principal, case_id=manifest.case_id)
    plans = _plan(session, principal, case, manifest, base_dir)
    outcomes: list[FileOutcome] = []
    to_store: list[tuple[_Planned, FileOutcome]] = []
    for plan in plans:
        digest = core.file_digest(plan.path)
        sha = digest[0]
        existing = {d.vcf_sample: d for d in repo.datasets_of_file(session, sha)}
        if existing and all(s in existing for s in plan.samples):
            other = {d.case_id for d in existing.values()} - {case.id}
            if other:
                raise Conflict(f"{plan.path.name} is already ingested for another case", field="files")
            outcomes.append(FileOutcome(str(plan.path), plan.build, plan.samples, 0, False,
                                        datasets=[existing[s].dataset_id for s in plan.samples]))
            continue
        if existing:
            raise Conflict(f"{plan.path.name}: sample(s) {', '.join(sorted(existing))} of this file are already "
                           "ingested; ingest the file's remaining samples with a new file", field="files")
        root = store_root(plan.build, store_base)
        annotate_fn = None
        if annotate:
            annotate_fn = core.annotator(plan.build)
        # new sites are annotated by worker processes while the file is read and QC'd
        annotation = core.NewSiteAnnotation(root, annotate_fn, workers=workers)
        try:
            try:
                parsed = core.read_vcf(plan.path, plan.samples, plan.build, progress=progress, digest=digest,
                                       annotation=annotation)
            except VcfFormatError as exc:
                raise ValidationFailed(str(exc), field="files", line=exc.line) from None
            sexes = {name: p.sex for name, (p, _, _) in plan.mapping.items()}
            core.run_qc(parsed, recorded_sex=sexes, trios=_trios(session, case, manifest, plan))
            if progress is not None:
                progress("qc", len(plan.samples), len(plan.samples))
            plan.sites = annotation.result(parsed)
        finally:
            annotation.close()
        plan.parsed = parsed
        if progress is not None:
            progress("annotate", parsed.records, parsed.records)
        outcome = FileOutcome(str(plan.path), plan.build, plan.samples, parsed.records, True)
        outcomes.append(outcome)
        to_store.append((plan, outcome))
    now = utcnow()
    germline_in = False
    for plan, outcome in to_store:
        parsed = plan.parsed
        assert parsed is not None and plan.sites is not None
        counts = core.variant_counts(parsed)
        key = core.store_dataset_key(parsed.sha256, [core.store_sample_name(parsed.sha256, s) for s in plan.samples])
        for name in plan.samples:
            participant, sample, kind = plan.mapping[name]
            qc = dict(parsed.qc[name])
            flags = list(qc.pop("flags", []))
            trios = [t for t in parsed.trios if name in (t["child"], t["father"], t["mother"])]
            for t in trios:
                flags += [dict(f, metric=f"trio:{f['metric']}") for f in t.get("flags", [])]
            qc["trios"] = trios
            dataset = GenomeDataset(
                dataset_id=_new_dataset_id(session), case_id=case.id, participant_id=participant.id,
                sample_id=sample.id if sample else None, vcf_sample=name,
                store_sample=core.store_sample_name(parsed.sha256, name), kind=kind, source_path=str(plan.path),
                file_sha256=parsed.sha256, file_size=parsed.size, build=plan.build, store_dataset=key,
                n_variants=counts[name], n_new_sites=0, qc=qc, qc_flags=flags, ingested_by=principal.username,
                ingested_at=now, status="qc_flagged" if flags else "stored")
            session.add(dataset)
            session.flush()
            outcome.datasets.append(dataset.dataset_id)
            outcome.flags += [dict(f, sample=name) for f in flags]
            germline_in = germline_in or kind == "germline"
            record(session, actor=principal.actor, verb=AuditVerb.INGEST, entity_type="genome_dataset",
                   entity_id=dataset.id, trust_id=case.trust_id,
                   summary={"case": case.case_id, "dataset": dataset.dataset_id, "participant": participant.participant_id,
                            "file": plan.path.name, "sha256": parsed.sha256, "build": plan.build,
                            "variants": counts[name], "flags": len(flags)})
    if germline_in and case.status in _BEFORE_INTERPRETATION:
        before = case.status
        case.status = "interpretation"
        record(session, actor=principal.actor, verb=AuditVerb.TRANSITION, entity_type="case", entity_id=case.id,
               trust_id=case.trust_id, summary={"case": case.case_id, "status": [before, case.status],
                                                "reason": "germline genome data ingested"})
    session.flush()
    # The store commit comes last: everything above can still roll back, this cannot.
    for plan, outcome in to_store:
        parsed = plan.parsed
        assert parsed is not None and plan.sites is not None
        names = [core.store_sample_name(parsed.sha256, s) for s in plan.samples]
        key = core.store_dataset_key(parsed.sha256, names)
        if progress is not None:
            progress("store", 0, 1)
        try:
            result = ingest_tables(store_root(plan.build, store_base), sites=plan.sites, genotypes=parsed.calls,
                                   samples=names, dataset_id=key, source=plan.path.name, build=plan.build,
                                   keys=parsed.keys)
        except StoreError as exc:
            raise ValidationFailed(f"{plan.path.name}: {exc}", field="files") from None
        outcome.n_new_sites = result.entry.n_new_sites
        for dataset_id in outcome.datasets:
            row = repo.dataset_by_id(session, dataset_id)
            if row is not None:
                row.n_new_sites = result.entry.n_new_sites
        if progress is not None:
            progress("store", 1, 1)
    session.flush()
    return IngestReport(case.case_id, outcomes, case.status)


def ingest_cohort_vcf(
    path: Path, *, build: str | None = None, store_base: Path | str | None = None, annotate: bool = True,
    progress: core.Progress | None = None, cells: int | None = None,
) -> IngestResult:
    """Streams a joint-called cohort VCF (any number of samples) into its build's store in bounded memory.

    Its samples are stored under pseudonymous names (file hash:column, as a case's are) and are not linked to
    participants: they count in cohort frequencies and national builds; a case's genomes come in through
    ingest_manifest. All or nothing; the same file twice stores nothing new. Bad input raises ValidationFailed
    naming the file and line.
    """
    from gmc.genomics.store.streaming import CELLS_PER_CHUNK, stream_ingest_vcf
    from gmc.genomics.vcf import open_vcf

    try:
        with open_vcf(path, samples=[], build=build) as reader:
            detected = reader.build
        with open_vcf(path, build=detected) as reader:
            columns = list(reader.samples)
        sha, _ = core.file_digest(path)
        names = {s: core.store_sample_name(sha, s) for s in columns}
        return stream_ingest_vcf(
            store_root(detected, store_base), path, store_names=names.__getitem__, build=detected,
            dataset_id=core.store_dataset_key(sha, list(names.values())),
            annotate=core.annotator(detected) if annotate else None, progress=progress,
            cells=cells or CELLS_PER_CHUNK)
    except VcfFormatError as exc:
        raise ValidationFailed(str(exc), field="file", line=exc.line) from None
    except StoreError as exc:
        raise ValidationFailed(f"{path.name}: {exc}", field="file") from None


def compact_store(build: str, store_base: Path | None = None, *, min_datasets: int = 2,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any] | None:
    """Merges a build's datasets not yet in a segment into one segment (None when fewer than min_datasets).

    No database change: the store's manifest alone says which files hold which datasets, and queries give the
    same answers before and after. Datasets arrive one genome at a time, and every uncompacted one costs each
    query and each later ingest another file per chromosome, so this runs after ingests (GMC_COMPACT_AFTER).
    """
    from gmc.genomics.store.compaction import compact, pending_datasets

    root = store_root(build, store_base)
    if pending_datasets(root) < max(1, min_datasets):
        return None  # checked before compact() takes the store's writer lock
    try:
        segment = compact(root, min_datasets=min_datasets, progress=progress)
    except StoreError as exc:
        raise ValidationFailed(f"variant store {build}: {exc}", field="store") from None
    if segment is None:
        return None
    logger.info("variant store compacted", extra={"build": build, "datasets": len(segment.dataset_ids),
                                                  "segment": segment.segment_id})
    return {"build": build, "segment": segment.segment_id, "datasets": len(segment.dataset_ids),
            "chromosomes": len(segment.chroms)}


def merge_store(build: str, store_base: Path | None = None, *, fanout: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Merges a build's segments tier by tier (GMC_STORE_MERGE_FANOUT of one size into one) until no tier is full.

    Like compaction, no database change and no answer changes; a store that keeps adding segments would
    otherwise open one file per segment per chromosome for every query.
    """
    from gmc.genomics.store.compaction import merge_segments

    root = store_root(build, store_base)
    if not StoreLayout(root).exists():
        return []
    done: list[dict[str, Any]] = []
    while True:
        try:
            segment = merge_segments(root, fanout=fanout, progress=progress)
        except StoreError as exc:
            raise ValidationFailed(f"variant store {build}: {exc}", field="store") from None
        if segment is None:
            return done
        logger.info("variant store segments merged", extra={"build": build, "segment": segment.segment_id,
                                                           "datasets": len(segment.dataset_ids)})
        done.append({"build": build, "segment": segment.segment_id, "datasets": len(segment.dataset_ids),
                     "chromosomes": len(segment.chroms)})


def compact_if_due(builds: Iterable[str], store_base: Path | None = None, *,
                   threshold: int | None = None) -> list[dict[str, Any]]:
    """Compacts each build's store whose uncompacted datasets reached GMC_COMPACT_AFTER (after a commit).

    A compaction adds a segment, the only event that can fill a tier, so its segments are merged right after;
    each result lists those merges under "merged".
    """
    threshold = get_settings().compact_after if threshold is None else threshold
    if threshold <= 0:
        return []
    out = []
    for build in sorted(set(builds)):
        result = compact_store(build, store_base, min_datasets=threshold)
        if result is not None:
            out.append({**result, "merged": merge_store(build, store_base)})
    return out


def ingest_result(report: IngestReport) -> dict[str, Any]:
    """What an ingest did, as the API answers it and a job records it (file names only, never paths)."""
    from dataclasses import asdict

    return {"case_id": report.case_id, "case_status": report.case_status, "created": report.created,
            "files": [{**asdict(f), "path": Path(f.path).name} for f in report.files]}


def compact_after_ingest(result: dict[str, Any], *, store_base: str, compact_after: int, **_: Any) -> None:
    """Compacts the stores an ingest added to, when due (run once the ingest is committed)."""
    if result.get("created"):
        compact_if_due([f["build"] for f in result["files"]], Path(store_base), threshold=compact_after)


def ingest_manifest_job(session: Session, principal: Principal, data: bytes, source: str, progress: JobProgress, *,
                        base_dir: str, store_base: str, compact_after: int) -> dict[str, Any]:
    """A case manifest ingested as a background job: the same all-or-nothing ingest, in the job's transaction.

    The route resolved and checked every path before queueing, so the manifest holds absolute paths."""
    import json

    from gmc.genomics.manifest import parse_manifest

    principal.require(Permission.GENOME_WRITE)
    manifest = parse_manifest(json.loads(data), source=source)

    def step(phase: str, done: int, total: int | None) -> None:
        progress(phase, done, total or 0)

    report = ingest_manifest(session, principal=principal, manifest=manifest, base_dir=Path(base_dir),
                             store_base=Path(store_base), progress=step, workers=0)
    return ingest_result(report)


register_job_kind("genomics.manifest", "Genome manifest ingest", ingest_manifest_job, after=compact_after_ingest)


# ----------------------------------------------------------------------------- reading


def case_datasets(session: Session, *, principal: Principal, case_id: str) -> tuple[Case, list[GenomeDataset]]:
    """A case in the caller's scope and its genome datasets (a read of identifiable data: audited)."""
    case = view_case(session, principal=principal, case_id=case_id)
    datasets = list(repo.datasets_of_case(session, case.id))
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="case", entity_id=case.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "what": "genome datasets"})
    return case, datasets


def dataset_summary(session: Session, dataset: GenomeDataset) -> dict[str, Any]:
    """A dataset as plain data for the API and pages (programme ids only)."""
    participant = session.get(Participant, dataset.participant_id)
    sample = session.get(Sample, dataset.sample_id) if dataset.sample_id else None
    return {
        "dataset_id": dataset.dataset_id, "participant_id": participant.participant_id if participant else None,
        "sample_barcode": sample.barcode if sample else None, "vcf_sample": dataset.vcf_sample, "kind": dataset.kind,
        "build": dataset.build, "source_file": Path(dataset.source_path).name, "file_sha256": dataset.file_sha256,
        "file_size": dataset.file_size, "n_variants": dataset.n_variants, "n_new_sites": dataset.n_new_sites,
        "status": dataset.status, "qc": dataset.qc, "qc_flags": dataset.qc_flags,
        "ingested_by": dataset.ingested_by, "ingested_at": dataset.ingested_at,
    }


def qc_summary(session: Session, *, principal: Principal, case_id: str) -> dict[str, Any]:
    """QC of every dataset of a case, with flags and the expected ranges the chart draws."""
    from gmc.genomics.qc import QcThresholds

    case, datasets = case_datasets(session, principal=principal, case_id=case_id)
    limits = QcThresholds()
    return {
        "case_id": case.case_id, "status": case.status,
        "limits": {"titv": [limits.titv_min, limits.titv_max], "het_hom": [limits.het_hom_min, limits.het_hom_max]},
        "datasets": [dataset_summary(session, d) for d in datasets],
        "n_flags": sum(len(d.qc_flags) for d in datasets),
    }


@dataclass(frozen=True)
class VariantQuery:
    """Filters of a case's variant table; every field optional."""

    region: str | None = None
    genes: tuple[str, ...] = ()
    consequence: str | None = None
    impacts: tuple[str, ...] = ()
    max_af: float | None = None
    clinvar_only: bool = False
    genotype: str | None = None
    pass_only: bool = False
    min_gq: int | None = None


def parse_region(text: str) -> tuple[str, int, int]:
    """chr1:100-200 (or 1:100-200) as (chrom, start, end)."""
    match = _REGION.match(text.strip())
    if not match:
        raise ValidationFailed(f"region {text!r} is not CHROM:START-END", field="region")
    chrom = match.group(1).upper()
    chrom = "MT" if chrom in ("M", "MT") else chrom
    start, end = int(match.group(2).replace(",", "")), int(match.group(3).replace(",", ""))
    if start < 1 or end < start:
        raise ValidationFailed(f"region {text!r} has start after end", field="region")
    return chrom, start, end


def _dataset_for(session: Session, case: Case, dataset_id: str | None) -> GenomeDataset:
    """The dataset asked for, or the proband's germline dataset, or the case's first."""
    datasets = list(repo.datasets_of_case(session, case.id))
    if not datasets:
        raise NotFound(f"case {case.case_id} has no genome data", field="case_id")
    if dataset_id:
        for d in datasets:
            if d.dataset_id == dataset_id:
                return d
        raise NotFound(f"case {case.case_id} has no dataset {dataset_id}", field="dataset")
    proband = [d for d in datasets if d.participant_id == case.proband_id and d.kind != "normal"]
    return (proband or datasets)[0]


def case_variants(
    session: Session,
    *,
    principal: Principal,
    case_id: str,
    query: VariantQuery,
    dataset_id: str | None = None,
    sort: str = "position",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
    store_base: Path | None = None,
) -> dict[str, Any]:
    """One page of a case sample's variants (DuckDB with LIMIT/OFFSET), with the total; audited."""
    case = view_case(session, principal=principal, case_id=case_id)
    dataset = _dataset_for(session, case, dataset_id)
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be 1-1000", field="limit")
    if offset < 0:
        raise ValidationFailed("offset must be >= 0", field="offset")
    spans = _spans(query, dataset.build)
    try:
        page = repo.variant_page(store_root(dataset.build, store_base), dataset.store_sample, query=query,
                                 spans=spans, sort=sort, descending=descending, limit=limit, offset=offset)
    except (StoreError, ValueError) as exc:
        raise ValidationFailed(str(exc), field="query") from None
    record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="genome_dataset", entity_id=dataset.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "dataset": dataset.dataset_id, "what": "variants",
                                            "offset": offset, "rows": len(page["rows"])})
    participant = session.get(Participant, dataset.participant_id)
    return {"case_id": case.case_id, "dataset_id": dataset.dataset_id, "build": dataset.build,
            "participant_id": participant.participant_id if participant else None, **page}


def family_genotypes(session: Session, *, principal: Principal, case_id: str, dataset_id: str | None,
                     rows: Sequence[dict[str, Any]], store_base: Path | None = None) -> dict[str, Any]:
    """The other germline datasets of a case (the family) and their calls at the sites of one page of rows.

    dataset_id is the dataset the rows come from (None: the proband's germline dataset). Returns {"members":
    [{dataset_id, participant_id, relation}], "calls": {"chrom:pos:ref:alt[:END=end]": {dataset_id:
    "het"|"hom"|"hemizygous"}}, "shown": {keys where the shown dataset itself has a call}}; a member without a
    call at a site has no entry there (reference or not covered: a VCF of variant calls cannot tell which, so the
    page says so). Audited as a read of each member's data.
    """
    case = view_case(session, principal=principal, case_id=case_id)
    shown = _dataset_for(session, case, dataset_id)
    others = [d for d in repo.datasets_of_case(session, case.id)
              if d.id != shown.id and d.kind == "germline" and d.build == shown.build]
    if not others or not rows:
        return {"members": [], "calls": {}, "shown": set()}
    relations = {}
    if case.family_id is not None:
        relations = {m.participant_id: m.relation for m in repo.family_members(session, case.family_id)}
    spans = sorted({(str(r["chrom"]), int(r["pos"]), int(r["pos"])) for r in rows})
    try:
        found = repo.carrier_calls(store_root(shown.build, store_base), spans, query=VariantQuery(),
                                   samples=[shown.store_sample, *(d.store_sample for d in others)])
    except (StoreError, ValueError) as exc:
        raise ValidationFailed(str(exc), field="query") from None
    by_sample = {d.store_sample: d for d in others}
    calls: dict[str, dict[str, str]] = {}
    own: set[str] = set()
    for c in found:
        # a structural variant's site is its END too: two deletions from one position are different sites
        end = f':END={c["sv_end"]}' if c.get("sv_end") else ""
        key = f'{c["chrom"]}:{c["pos"]}:{c["ref"]}:{c["alt"]}{end}'
        if c["sample"] == shown.store_sample:
            own.add(key)
            continue
        d = by_sample.get(c["sample"])
        if d is None:
            continue
        genotype = "hemizygous" if c.get("ploidy") == 1 else ("het" if c.get("gt") == 1 else "hom")
        calls.setdefault(key, {})[d.dataset_id] = genotype
    members = []
    for d in others:
        participant = session.get(Participant, d.participant_id)
        members.append({"dataset_id": d.dataset_id, "participant_id": participant.participant_id if participant else "?",
                        "relation": relations.get(d.participant_id, "relative")})
        record(session, actor=principal.actor, verb=AuditVerb.READ, entity_type="genome_dataset", entity_id=d.id,
               trust_id=case.trust_id, summary={"case": case.case_id, "dataset": d.dataset_id,
                                                "what": "genotypes beside the proband's", "sites": len(spans)})
    return {"members": members, "calls": calls, "shown": own}


def family_beside(session: Session, *, principal: Principal, case_id: str, variants: Sequence[dict[str, Any]],
                  store_base: Path | None = None) -> list[dict[str, Any]]:
    """The family's genotypes beside the proband's at variants from elsewhere (e.g. an interpretation run).

    Sets each variant's `family` to [(member, "het"|"hom"|"hemizygous"|None)] when the proband's own call is in
    the case's genome store at that allele, else to None: nothing is claimed about relatives for an allele the
    store does not hold as written. Returns the family members ([] when the case has no other germline data).
    Needs genome read permission (PermissionDenied otherwise).
    """
    principal.require(Permission.GENOME_READ)  # relatives' genotypes are genome data, whatever page shows them
    if not variants or not repo.datasets_of_case(session, view_case(session, principal=principal,
                                                                       case_id=case_id).id):
        return []
    rows = [{"chrom": normalise_chrom(str(v["chrom"])), "pos": int(v["pos"]), "ref": v["ref"], "alt": v["alt"]}
            for v in variants]
    found = family_genotypes(session, principal=principal, case_id=case_id, dataset_id=None, rows=rows,
                             store_base=store_base)
    for v, row in zip(variants, rows, strict=True):
        key = f'{row["chrom"]}:{row["pos"]}:{row["ref"]}:{row["alt"]}'
        site = found["calls"].get(key, {})
        v["family"] = ([(m, site.get(m["dataset_id"])) for m in found["members"]] if key in found["shown"]
                       else None)
    return found["members"]


def _spans(query: VariantQuery, build: str) -> list[tuple[str, int, int]] | None:
    """The key spans of a query: its region and/or genes (looked up in the build's MANE models)."""
    spans: list[tuple[str, int, int]] = []
    if query.region:
        spans.append(parse_region(query.region))
    if query.genes:
        spans += [span for _, span in sorted(gene_spans(query.genes, build).items())]
    return spans or None


def gene_spans(genes: tuple[str, ...] | list[str], build: str) -> dict[str, tuple[str, int, int]]:
    """Gene symbol -> (chrom, start, end) from the build's transcript models; unknown genes are refused."""
    from gmc.genomics.annotation.transcripts import load_transcripts

    transcripts = load_transcripts(build, "mane")
    spans: dict[str, tuple[str, int, int]] = {}
    for gene in genes:
        symbol = gene.strip().upper()
        found = [t for t in transcripts.transcripts if t.gene.upper() == symbol]
        if not found:
            raise ValidationFailed(f"gene {gene!r} is not in the {build} MANE transcripts", field="genes")
        # tx_start is 0-based (genePred); 5 kb either side catches upstream/downstream and promoter calls.
        start = max(1, min(t.tx_start for t in found) + 1 - 5000)
        spans[found[0].gene] = (found[0].chrom, start, max(t.tx_end for t in found) + 5000)
    return spans


def gene_carriers(
    session: Session, *, principal: Principal, gene: str, build: str = "GRCh38", query: VariantQuery | None = None,
    store_base: Path | None = None,
) -> list[dict[str, Any]]:
    """Carriers of qualifying variants in a gene across the caller's cases (other trusts' samples are hidden)."""
    query = query or VariantQuery()
    spans = list(gene_spans((gene,), build).values())
    visible = repo.visible_store_samples(session, principal.trust_scope, build)
    calls = repo.carrier_calls(store_root(build, store_base), spans, query=query, samples=list(visible))
    out = []
    for row in calls:
        dataset = visible[row.pop("sample")]
        out.append({"case_id": dataset[0], "dataset_id": dataset[1], "participant_id": dataset[2], **row})
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="genome_dataset",
           summary={"gene": gene, "build": build, "carriers": len({r["participant_id"] for r in out})})
    return out


def cohort_af(session: Session, *, principal: Principal, build: str, region: str | None = None,
              gene: str | None = None, store_base: Path | None = None, min_count: int = 5) -> list[dict[str, Any]]:
    """Allele counts and frequencies across the whole store (aggregate data, no sample names).

    The store holds every centre's genomes, so a count below min_count (GMC_COHORT_MIN_COUNT) could point at
    one person elsewhere: such a site's counts and frequency are withheld and marked suppressed.
    """
    from gmc.genomics.store.queries import VariantStore

    spans = [parse_region(region)] if region else []
    if gene:
        spans += list(gene_spans((gene,), build).values())
    if not spans:
        raise ValidationFailed("give a region or a gene", field="region")
    root = store_root(build, store_base)
    if not StoreLayout(root).exists():
        return []
    # The engine is a setting (GMC_VARIANT_ENGINE): DuckDB for a centre, Spark at national scale.
    store = VariantStore(root)
    rows: list[dict[str, Any]] = []
    for span in spans:
        rows += store.cohort_af(region=span).to_pylist()
    for row in rows:
        small = 0 < (row["ac"] or 0) < min_count
        row["suppressed"] = small
        if small:
            row.update(ac=None, af=None, n_het=None, n_hom=None)
    record(session, actor=principal.actor, verb=AuditVerb.SEARCH, entity_type="variant_store",
           summary={"build": build, "region": region, "gene": gene, "sites": len(rows),
                    "suppressed": sum(r["suppressed"] for r in rows)})
    return rows


def export_case_variants(
    session: Session, *, principal: Principal, case_id: str, query: VariantQuery, fmt: str, out: Path,
    dataset_id: str | None = None, store_base: Path | None = None, max_rows: int = 1_000_000,
) -> int:
    """Writes a case sample's filtered variants as TSV or VCF; audited as an export."""
    from gmc.genomics.store.export import export_tsv, export_vcf

    if fmt not in ("tsv", "vcf"):
        raise ValidationFailed("format must be tsv or vcf", field="format")
    case = view_case(session, principal=principal, case_id=case_id)
    dataset = _dataset_for(session, case, dataset_id)
    table = repo.variant_table(store_root(dataset.build, store_base), dataset.store_sample, query=query,
                               spans=_spans(query, dataset.build), limit=max_rows)
    # The file names the programme dataset, never the store's file-hash name.
    table = table.set_column(table.schema.get_field_index("sample"), "sample",
                             pa.array([dataset.dataset_id] * len(table), pa.string()))
    n = export_tsv(table, out) if fmt == "tsv" else export_vcf(table, out, samples=[dataset.dataset_id],
                                                                  build=dataset.build)
    record(session, actor=principal.actor, verb=AuditVerb.EXPORT, entity_type="genome_dataset", entity_id=dataset.id,
           trust_id=case.trust_id, summary={"case": case.case_id, "dataset": dataset.dataset_id, "format": fmt,
                                            "rows": n})
    return n
