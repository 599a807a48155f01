"""Demo phenotypes: published HPO profiles for the rare-disease families, affected relatives and pedigrees."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor
from gmc.common.errors import PermissionDenied
from gmc.phenotype import phenopackets as pp
from gmc.phenotype import repository, service
from gmc.phenotype.models import PedigreeMember, PhenotypeObservation
from gmc.phenotype.ontology import get_ontology
from gmc.registry.models import Family, Participant

#: Profiles used when the shared phenopackets are not beside the reference data: (disease, observed, excluded).
FALLBACK_PROFILES: list[tuple[tuple[str, str], list[str], list[str]]] = [
    (("OMIM:154700", "Marfan syndrome"), ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000098", "HP:0000767"],
     ["HP:0001249"]),
    (("OMIM:607208", "Dravet syndrome"), ["HP:0002373", "HP:0002123", "HP:0002133", "HP:0001263", "HP:0001251"],
     ["HP:0001627"]),
    (("OMIM:163950", "Noonan syndrome 1"), ["HP:0000316", "HP:0004322", "HP:0001642", "HP:0000465", "HP:0000369"],
     ["HP:0001249"]),
]
#: Pedigrees are written for the first few families; the rest are drawn from the registry's members.
PEDIGREE_FAMILIES = 8


def _shared_phenopackets() -> Path | None:
    """The benchmark phenopackets of the demo data (GMC_DEMO_DATA), when present."""
    from gmc.settings import get_settings

    folder = get_settings().demo_file("benchmarks", "rare", "phenopackets")
    return folder if folder.is_dir() else None


def _profiles(needed: int) -> list[pp.PhenopacketData]:
    """Realistic profiles: published cases with at least five observed terms of the release in use."""
    ontology = get_ontology()
    found: list[pp.PhenopacketData] = []
    folder = _shared_phenopackets()
    for path in sorted(folder.glob("*.json")) if folder else []:
        data = pp.read_phenopacket(path)
        terms = [f.type.id for f in data.phenotypic_features]
        if len(pp.observed_term_ids(data)) >= 5 and all(t in ontology.terms for t in terms):
            found.append(data)
        if len(found) >= needed:
            return found
    for (code, label), observed, excluded in FALLBACK_PROFILES:
        features = tuple(pp.PhenotypicFeature(type=pp.OntologyTerm(t), excluded=False) for t in observed) + tuple(
            pp.PhenotypicFeature(type=pp.OntologyTerm(t), excluded=True) for t in excluded)
        found.append(pp.PhenopacketData(id=f"gmc-demo-{code}", subject=pp.Subject(id="demo"),
                                        phenotypic_features=features,
                                        diseases=(pp.Disease(term=pp.OntologyTerm(code, label)),)))
    return found


def _allowed(session: Session, participant: Participant) -> bool:
    try:
        service.ensure_use_allowed(session, participant)
    except PermissionDenied:
        return False
    return True


def _ped(family: Family, people: dict[int, Participant], index: int) -> str:
    """A PED for the family: the trio plus, in turn, grandparents, a sibling, or first-cousin parents."""
    by_relation = {m.relation: people[m.participant_id] for m in family.members}
    affected = {m.participant_id: m.affected for m in family.members}
    child, mother, father = by_relation.get("proband"), by_relation.get("mother"), by_relation.get("father")
    if child is None or mother is None or father is None:
        return ""
    code = {"affected": "2", "unaffected": "1"}
    sex = {"male": "1", "female": "2"}
    fam = family.family_id
    father_parents, mother_parents = ("0", "0"), ("0", "0")
    extra: list[str] = []
    if index % 4 == 0:
        # Parents who are first cousins: their mother and father are siblings, children of I-1 and I-2.
        extra += [f"{fam}\tI-1\t0\t0\t1\t1", f"{fam}\tI-2\t0\t0\t2\t1", f"{fam}\tII-1\tI-1\tI-2\t1\t1",
                  f"{fam}\tII-2\t0\t0\t2\t1", f"{fam}\tII-3\t0\t0\t1\t1", f"{fam}\tII-4\tI-1\tI-2\t2\t1"]
        father_parents, mother_parents = ("II-1", "II-2"), ("II-3", "II-4")
    elif index % 4 == 1:
        extra += [f"{fam}\tPGF\t0\t0\t1\t{code.get(affected[father.id], '0')}", f"{fam}\tPGM\t0\t0\t2\t1"]
        father_parents = ("PGF", "PGM")
    lines = extra + [
        f"{fam}\t{father.participant_id}\t{father_parents[0]}\t{father_parents[1]}\t1\t"
        f"{code.get(affected[father.id], '0')}",
        f"{fam}\t{mother.participant_id}\t{mother_parents[0]}\t{mother_parents[1]}\t2\t"
        f"{code.get(affected[mother.id], '0')}",
        f"{fam}\t{child.participant_id}\t{father.participant_id}\t{mother.participant_id}\t"
        f"{sex.get(child.sex, '0')}\t2",
    ]
    if index % 4 == 2:
        lines.append(f"{fam}\tSIB1\t{father.participant_id}\t{mother.participant_id}\t0\t1")
    return "\n".join(lines) + "\n"


def load_demo(session: Session, actor: Actor, summary) -> None:  # noqa: ANN001 - DemoSummary lives above us
    """Gives each rare-disease family's proband (and affected relatives) a profile, and pedigrees; idempotent."""
    # In creation order, so families added later (by loaders that run after this one) come last and a
    # second run neither reassigns profiles nor picks different families for pedigrees.
    families = sorted(repository.rare_disease_families(session), key=lambda f: f.id)
    if not families:
        return
    caller = service.Caller(actor, None, True)
    people = repository.participants_by_pk(session, [m.participant_id for f in families for m in f.members])
    recorded = {pk for pk, in session.execute(
        select(PhenotypeObservation.participant_id).where(PhenotypeObservation.participant_id.in_(list(people)))
        .group_by(PhenotypeObservation.participant_id))}
    # Twenty published profiles, reused in turn, keep the demo load quick.
    profiles = _profiles(min(len(families), 20))
    packets: list[tuple[str, pp.PhenopacketData]] = []
    for index, family in enumerate(families):
        profile = profiles[index % len(profiles)]
        for member in family.members:
            person = people[member.participant_id]
            if person.id in recorded or member.affected != "affected" or not _allowed(session, person):
                continue
            features = profile.phenotypic_features
            diseases = profile.diseases
            if member.relation != "proband":
                # An affected relative shows part of the proband's picture, and no diagnosis of their own yet.
                features = tuple(f for f in features if not f.excluded)[:3]
                diseases = ()
            subject = replace(profile.subject or pp.Subject(id=""), id=person.participant_id,
                              sex=service.SEX_TO_PHENOPACKET.get(person.sex, "UNKNOWN_SEX"), date_of_birth=None,
                              time_at_last_encounter=None, vital_status=None)
            packets.append((f"demo:{profile.id}", pp.PhenopacketData(
                id=f"gmc-demo-{person.participant_id}", subject=subject, phenotypic_features=features,
                diseases=tuple(replace(d, onset=None) for d in diseases), meta_data=profile.meta_data)))
    if packets:
        result = service.import_phenopackets(session, caller, packets, source_kind="demo")
        summary.add("phenotype profiles", len(packets))
        summary.add("phenotype terms", result.observations)
    with_pedigree = {fid for fid, in session.execute(
        select(PedigreeMember.family_id).group_by(PedigreeMember.family_id).having(func.count() > 0))}
    for index, family in enumerate(families[:PEDIGREE_FAMILIES]):
        if family.id in with_pedigree:
            continue
        text = _ped(family, people, index)
        if text:
            service.import_ped(session, caller, family.family_id, text, source="demo",
                               consanguinity="yes" if index % 4 == 0 else "no")
            summary.add("pedigrees")
