"""Phenotype API: HPO search and browsing, capture, diagnoses, phenopackets, HPO CSV and pedigrees."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import PlainTextResponse, Response

from gmc.auth.dependencies import require
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import NotFound
from gmc.common.requests import RawBody, decode_text, import_max_bytes
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.phenotype import service
from gmc.phenotype.ontology import UnknownTermError, get_ontology
from gmc.phenotype.schemas import (
    CaptureOut,
    ConsanguinityIn,
    DiagnosisIn,
    DiagnosisOut,
    DiagnosisUpdate,
    ImportSummaryOut,
    MemberUpdate,
    ObservationIn,
    ObservationOut,
    PedigreeIndividualOut,
    PedigreeOut,
    ProfileOut,
    SearchHitOut,
    TermBrief,
    TermDetailOut,
    guidance_out,
)
from gmc.phenotype.service import Caller, ObservationInput

router = APIRouter(prefix="/api/phenotype", tags=["phenotype"])

READ = Depends(require(Permission.PHENOTYPE_READ))
WRITE = Depends(require(Permission.PHENOTYPE_WRITE))


@router.get("/hpo/search", response_model=list[SearchHitOut])
def search_terms(q: str = Query(..., min_length=1, max_length=100), limit: int = Query(20, ge=1, le=100),
                 _: Principal = READ) -> list[SearchHitOut]:
    """Type-ahead HPO search: ids, labels and synonyms, most relevant first."""
    return [SearchHitOut(id=h.term.id, name=h.term.name, matched_text=h.matched_text)
            for h in get_ontology().search(q, limit=limit)]


@router.get("/hpo/terms/{term_id}", response_model=TermDetailOut)
def term_detail(term_id: str, _: Principal = READ) -> TermDetailOut:
    """One term with its parents and children."""
    ontology = get_ontology()
    try:
        term = ontology.get(term_id)
    except UnknownTermError as exc:
        raise NotFound(str(exc), field="term_id") from exc
    return TermDetailOut(id=term.id, name=term.name, definition=term.definition, synonyms=list(term.synonyms),
                         parents=[TermBrief(id=t.id, name=t.name) for t in ontology.parents(term.id)],
                         children=[TermBrief(id=t.id, name=t.name) for t in ontology.children(term.id)],
                         hpo_release=ontology.release)


def profile_out(profile: service.Profile) -> ProfileOut:
    """The API form of a profile."""
    return ProfileOut(
        participant_id=profile.participant.participant_id, sex=profile.participant.sex,
        hpo_release=profile.hpo_release, consent=profile.consent,
        observations=[ObservationOut.model_validate(o) for o in profile.observations],
        removed=[ObservationOut.model_validate(o) for o in profile.removed],
        diagnoses=[DiagnosisOut.model_validate(d) for d in profile.diagnoses],
        guidance=guidance_out(profile.guidance), families=[f.family_id for f in profile.families])


@router.get("/participants/{participant_id}/profile", response_model=ProfileOut)
def get_profile(participant_id: str, include_removed: bool = False, principal: Principal = READ,
                db: GmcSession = DB) -> ProfileOut:
    """A participant's terms, diagnoses and guidance (audited read)."""
    return profile_out(service.get_profile(db, Caller.of(principal), participant_id, include_removed=include_removed))


@router.post("/participants/{participant_id}/observations", response_model=CaptureOut, status_code=201)
def add_observation(participant_id: str, body: ObservationIn, principal: Principal = WRITE,
                    db: GmcSession = DB) -> CaptureOut:
    """Captures an observed or excluded term."""
    result = service.add_observation(db, Caller.of(principal), participant_id, ObservationInput(
        hpo_id=body.hpo_id, excluded=body.excluded, onset=body.onset, severity=body.severity,
        laterality=body.laterality, modifiers=tuple(body.modifiers), note=body.note))
    return CaptureOut(observation=ObservationOut.model_validate(result.observation), warnings=result.warnings,
                      guidance=guidance_out(result.guidance))


@router.delete("/participants/{participant_id}/observations/{observation_id}", response_model=ObservationOut)
def remove_observation(participant_id: str, observation_id: int, reason: str = "", principal: Principal = WRITE,
                       db: GmcSession = DB) -> ObservationOut:
    """Removes a term (kept as history)."""
    row = service.remove_observation(db, Caller.of(principal), participant_id, observation_id, reason)
    return ObservationOut.model_validate(row)


@router.post("/participants/{participant_id}/diagnoses", response_model=DiagnosisOut, status_code=201)
def add_diagnosis(participant_id: str, body: DiagnosisIn, principal: Principal = WRITE,
                  db: GmcSession = DB) -> DiagnosisOut:
    """Records a diagnosis."""
    row = service.add_diagnosis(db, Caller.of(principal), participant_id, code=body.code, label=body.label,
                                status=body.status, note=body.note)
    return DiagnosisOut.model_validate(row)


@router.patch("/participants/{participant_id}/diagnoses/{diagnosis_id}", response_model=DiagnosisOut)
def update_diagnosis(participant_id: str, diagnosis_id: int, body: DiagnosisUpdate, principal: Principal = WRITE,
                     db: GmcSession = DB) -> DiagnosisOut:
    """Changes a diagnosis's status."""
    row = service.update_diagnosis(db, Caller.of(principal), participant_id, diagnosis_id, status=body.status)
    return DiagnosisOut.model_validate(row)


@router.delete("/participants/{participant_id}/diagnoses/{diagnosis_id}", status_code=204)
def remove_diagnosis(participant_id: str, diagnosis_id: int, principal: Principal = WRITE,
                     db: GmcSession = DB) -> Response:
    """Removes a diagnosis (kept as history)."""
    service.update_diagnosis(db, Caller.of(principal), participant_id, diagnosis_id, remove=True)
    return Response(status_code=204)


@router.get("/participants/{participant_id}/phenopacket")
def export_phenopacket(participant_id: str, principal: Principal = READ, db: GmcSession = DB) -> dict[str, Any]:
    """The participant as a GA4GH phenopacket v2 (audited export)."""
    return service.export_phenopacket(db, Caller.of(principal), participant_id)


@router.post("/phenopackets", response_model=ImportSummaryOut, status_code=201)
def import_phenopacket(document: dict[str, Any] = Body(...), principal: Principal = WRITE,
                       db: GmcSession = DB) -> ImportSummaryOut:
    """Imports one phenopacket; the subject is matched by programme participant id (see the service rule)."""
    summary = service.import_phenopacket_json(db, Caller.of(principal), document, source="api")
    return ImportSummaryOut(**summary.__dict__)


@router.post("/hpo-csv", response_model=ImportSummaryOut, status_code=201,
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
             max_body_size=import_max_bytes())
def import_hpo_csv(body: RawBody, principal: Principal = WRITE, db: GmcSession = DB) -> ImportSummaryOut:
    """Adds HPO terms from CSV text (participant_id, term_id, status, onset, notes): all rows or none."""
    text = decode_text(body, "CSV")
    summary = service.import_hpo_csv(db, Caller.of(principal), text, source="upload.csv")
    return ImportSummaryOut(**summary.__dict__)


def pedigree_out(view: service.PedigreeView) -> PedigreeOut:
    """The API form of a pedigree."""
    stored = {m.individual_id: m for m in view.members}
    individuals = []
    for person in view.pedigree.individuals if view.pedigree else ():
        member = stored.get(person.individual_id)
        individuals.append(PedigreeIndividualOut(
            individual_id=person.individual_id, father_id=person.father_id, mother_id=person.mother_id,
            sex=person.sex, affected=person.phenotype, participant_id=view.participants.get(person.individual_id),
            relationship=view.relationships.get(person.individual_id),
            deceased=bool(member and member.deceased) or person.individual_id in view.deceased,
            twin_group=member.twin_group if member else None, twin_zygosity=member.twin_zygosity if member else None))
    return PedigreeOut(family_id=view.family.family_id, derived=view.derived, proband=view.proband,
                       consanguinity=view.consanguinity, consanguineous_couples=[list(c) for c in
                                                                                 view.consanguineous_couples],
                       individuals=individuals, problem=view.problem)


@router.get("/families/{family_id}/pedigree", response_model=PedigreeOut)
def get_pedigree(family_id: str, principal: Principal = READ, db: GmcSession = DB) -> PedigreeOut:
    """The family's pedigree (imported, or derived from the registry's family members)."""
    return pedigree_out(service.get_pedigree(db, Caller.of(principal), family_id))


@router.get("/families/{family_id}/pedigree.svg")
def pedigree_svg(family_id: str, principal: Principal = READ, db: GmcSession = DB) -> Response:
    """The pedigree drawn with standard symbols."""
    view = service.get_pedigree(db, Caller.of(principal), family_id)
    if not view.svg:
        raise NotFound(view.problem or f"family {family_id} has no pedigree to draw", field="family_id")
    return Response(view.svg, media_type="image/svg+xml")


@router.get("/families/{family_id}/pedigree.ped", response_class=PlainTextResponse)
def export_ped(family_id: str, principal: Principal = READ, db: GmcSession = DB) -> PlainTextResponse:
    """The pedigree as a PED file."""
    return PlainTextResponse(service.export_ped(db, Caller.of(principal), family_id))


@router.put("/families/{family_id}/pedigree.ped", response_model=PedigreeOut,
            openapi_extra={"requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}}},
            max_body_size=import_max_bytes())
def import_ped(family_id: str, body: RawBody, consanguinity: str | None = None,
               principal: Principal = WRITE, db: GmcSession = DB) -> PedigreeOut:
    """Replaces the family's pedigree from PED text (validated; nothing written on any problem)."""
    text = decode_text(body, "PED file")
    return pedigree_out(service.import_ped(db, Caller.of(principal), family_id, text, source="upload.ped",
                                           consanguinity=consanguinity))


@router.patch("/families/{family_id}/members/{individual_id}", response_model=PedigreeOut)
def update_member(family_id: str, individual_id: str, body: MemberUpdate, principal: Principal = WRITE,
                  db: GmcSession = DB) -> PedigreeOut:
    """Records deceased or twin details for one individual."""
    caller = Caller.of(principal)
    service.update_member(db, caller, family_id, individual_id, deceased=body.deceased, twin_group=body.twin_group,
                          twin_zygosity=body.twin_zygosity)
    return pedigree_out(service.get_pedigree(db, caller, family_id, audit=False))


@router.put("/families/{family_id}/consanguinity", response_model=PedigreeOut)
def set_consanguinity(family_id: str, body: ConsanguinityIn, principal: Principal = WRITE,
                      db: GmcSession = DB) -> PedigreeOut:
    """Records reported consanguinity of the proband's parents."""
    caller = Caller.of(principal)
    service.set_consanguinity(db, caller, family_id, body.consanguinity)
    return pedigree_out(service.get_pedigree(db, caller, family_id, audit=False))
