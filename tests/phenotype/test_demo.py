"""The phenotype demo on top of the registry demo: profiles for affected family members, pedigrees, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from gmc.audit.service import Actor
from gmc.db.core import Database
from gmc.demo.service import DemoSummary
from gmc.phenotype import demo, repository, service
from gmc.phenotype.models import PedigreeMember, PhenotypeObservation


def test_demo_profiles_and_pedigrees(full_demo_db_url: str) -> None:
    database = Database(full_demo_db_url)
    with database.session() as session:
        families = sorted(repository.rare_disease_families(session), key=lambda f: f.id)
        assert families, "the registry demo creates rare-disease families"
        caller = service.Caller.system("test")
        proband = families[0].proband_id
        people = repository.participants_by_pk(session, [proband])
        profile = service.get_profile(session, caller, people[proband].participant_id)
        assert len([o for o in profile.observations if not o.excluded]) >= 5
        assert profile.diagnoses and profile.guidance.advice
        # Every affected member has a profile; no unaffected one does.
        affected = {m.participant_id for f in families for m in f.members if m.affected == "affected"}
        with_terms = set(session.execute(select(PhenotypeObservation.participant_id).distinct()).scalars())
        assert with_terms <= affected and len(with_terms) >= len(affected) - 10  # withdrawn members are skipped
        # The first family's parents are first cousins: the drawing shows the double marriage line.
        view = service.get_pedigree(session, caller, families[0].family_id)
        assert not view.derived and view.consanguinity == "yes" and view.consanguineous_couples
        assert view.svg.count('class="marriage"') >= 4
        pedigrees = session.execute(select(func.count(func.distinct(PedigreeMember.family_id)))).scalar_one()
        terms = session.execute(select(func.count()).select_from(PhenotypeObservation)).scalar_one()
        summary = DemoSummary()
        demo.load_demo(session, Actor.system("demo"), summary)
        session.flush()
        assert summary.created == {}
        assert session.execute(select(func.count()).select_from(PhenotypeObservation)).scalar_one() == terms
        assert pedigrees == demo.PEDIGREE_FAMILIES
        session.rollback()
    database.dispose()
