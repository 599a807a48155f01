"""Demo genomes: the GIAB Ashkenazi trio on a demo trio family and the Pfeiffer exome on a demo proband."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.genomics import repository as repo
from gmc.genomics import service
from gmc.genomics.ingest import file_digest
from gmc.genomics.manifest import parse_manifest
from gmc.refdata.manifest import require
from gmc.registry.consent import ConsentAction, is_allowed
from gmc.registry.models import Case, Participant
from gmc.settings import get_settings

#: Real files read in place from ../shared (GMC_REFDATA's parent): never copied into the store's source.
TRIO = ("benchmarks", "annotated", "GIAB_AJ_trio_exome_chr1-2_BCSQ.GRCh37.vcf.gz")
EXOME = ("benchmarks", "rare", "background", "Pfeiffer_exome_GRCh38.liftover.vcf.gz")


def _shared_file(parts: tuple[str, ...], summary) -> Path | None:  # noqa: ANN001 - DemoSummary lives above us
    """A benchmark file of the demo data, or None (noted as skipped) when this installation has none."""
    path = get_settings().demo_file(*parts)
    if path.is_file():
        return path
    summary.skip("genomics", f"demo genome {path} not found (GMC_DEMO_DATA names a folder holding benchmarks/, "
                             "such as ../shared)")
    return None


def _principal(actor: Actor) -> Principal:
    """The demo loader as a national operator."""
    return Principal(user_id=actor.user_id or 0, username=actor.name, full_name="demo loader",
                     roles=frozenset({"admin"}), permissions=frozenset(p.value for p in Permission),
                     centre_id=None, trust_scope=None, auth_method="cli")


def _consented(session: Session, participant_pks: list[int]) -> bool:
    return all(is_allowed(session, pk, ConsentAction.SEQUENCE).allowed for pk in participant_pks)


def _trio_case(session: Session) -> tuple[Case, dict[str, int]] | None:
    """The first rare-disease case whose proband and both parents consent to sequencing."""
    cases = session.execute(select(Case).where(Case.programme_arm == "rare_disease", Case.family_id.is_not(None))
                            .order_by(Case.case_id)).scalars()
    for case in cases:
        if repo.datasets_of_case(session, case.id):
            continue
        roles = {m.relation: m.participant_id for m in repo.family_members(session, case.family_id)}
        if "father" in roles and "mother" in roles and _consented(
                session, [case.proband_id, roles["father"], roles["mother"]]):
            return case, {"HG002": case.proband_id, "HG003": roles["father"], "HG004": roles["mother"]}
    return None


def _singleton_case(session: Session, exclude: set[int]) -> Case | None:
    """The first other rare-disease case whose proband consents to sequencing."""
    cases = session.execute(select(Case).where(Case.programme_arm == "rare_disease").order_by(Case.case_id)).scalars()
    for case in cases:
        if case.id in exclude or repo.datasets_of_case(session, case.id):
            continue
        if _consented(session, [case.proband_id]):
            return case
    return None


def _already_in(session: Session, path: Path) -> bool:
    """True when this database already has datasets from the file (the demo ran before)."""
    return bool(repo.datasets_of_file(session, file_digest(path)[0]))


def load_demo(session: Session, actor: Actor, summary) -> None:  # noqa: ANN001 - DemoSummary lives above us
    """Ingests the real trio and exome onto demo cases (needs transcripts; a missing file is noted); idempotent."""
    require("transcripts")  # else the demo notes the set and its fetch command
    principal = _principal(actor)
    used: set[int] = set()
    trio_file = _shared_file(TRIO, summary)
    if trio_file is not None and not _already_in(session, trio_file):
        found = _trio_case(session)
        if found is not None:
            case, members = found
            ids = {pk: session.get(Participant, pk).participant_id for pk in members.values()}
            manifest = parse_manifest({"case_id": case.case_id, "build": "GRCh37", "files": [{
                "path": str(trio_file), "kind": "germline",
                "samples": [{"vcf_sample": name, "participant_id": ids[pk]} for name, pk in members.items()]}]},
                source="demo trio")
            service.ingest_manifest(session, principal=principal, manifest=manifest, base_dir=trio_file.parent)
            used.add(case.id)
            summary.add("genome datasets", 3)
    exome_file = _shared_file(EXOME, summary)
    if exome_file is not None and not _already_in(session, exome_file):
        case = _singleton_case(session, used)
        if case is not None:
            proband = session.get(Participant, case.proband_id)
            manifest = parse_manifest({"case_id": case.case_id, "build": "GRCh38", "files": [{
                "path": str(exome_file), "kind": "germline",
                "samples": [{"vcf_sample": "manuel", "participant_id": proband.participant_id}]}]},
                source="demo exome")
            service.ingest_manifest(session, principal=principal, manifest=manifest, base_dir=exome_file.parent)
            summary.add("genome datasets", 1)
