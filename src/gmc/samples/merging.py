"""Samples follow their participant through a registry merge (with a custody event each) and back on unmerge."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.audit.service import record
from gmc.audit.verbs import AuditVerb
from gmc.common.time import utcnow
from gmc.registry.merging import MergeFollower, register_follower
from gmc.samples.models import ResampleRequest, Sample, SampleEvent


def _custody(session: Session, principal: Any, sample: Sample, kind: str, detail: dict[str, Any]) -> None:
    session.add(SampleEvent(sample_id=sample.id, occurred_at=utcnow(), actor=principal.username, kind=kind,
                            from_state=None, to_state=None, location=None, detail=detail))
    record(session, actor=principal.actor, verb=AuditVerb.UPDATE, entity_type="sample", entity_id=sample.id,
           trust_id=sample.trust_id, summary={"barcode": sample.barcode, kind: detail})


def move_samples(session: Session, principal: Any, survivor: Any, merged: Any) -> dict[str, list[int]]:
    """Re-parents the merged record's samples and re-sample requests to the survivor; each sample's chain of
    custody records the merge."""
    samples = session.execute(select(Sample).where(Sample.participant_id == merged.id)).scalars().all()
    for sample in samples:
        sample.participant_id = survivor.id
        _custody(session, principal, sample, "merge", {"from": merged.participant_id, "to": survivor.participant_id})
    requests = session.execute(select(ResampleRequest).where(ResampleRequest.participant_id == merged.id)).scalars().all()
    for request in requests:
        request.participant_id = survivor.id
    return {"sample": [s.id for s in samples], "resample_request": [r.id for r in requests]}


def move_samples_back(session: Session, principal: Any, survivor: Any, merged: Any, moved: dict[str, list[int]]) -> None:
    """Returns the samples (and re-sample requests) a merge moved, recording the unmerge in their custody."""
    for pk in moved.get("sample", []):
        sample = session.get(Sample, pk)
        if sample is not None and sample.participant_id == survivor.id:
            sample.participant_id = merged.id
            _custody(session, principal, sample, "unmerge", {"from": survivor.participant_id,
                                                              "to": merged.participant_id})
    for pk in moved.get("resample_request", []):
        request = session.get(ResampleRequest, pk)
        if request is not None and request.participant_id == survivor.id:
            request.participant_id = merged.id


register_follower(MergeFollower("samples", move_samples, move_samples_back))
