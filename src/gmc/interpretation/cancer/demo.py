"""Cancer demo: the real PCGR TCGA tumours interpreted on demo cancer cases, and one two-curator evidence item."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.audit.service import Actor
from gmc.auth import repository as auth_repository
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.auth.service import principal_for
from gmc.interpretation.cancer import repository as repo
from gmc.interpretation.cancer import service
from gmc.interpretation.models import InterpretationRun
from gmc.registry.consent import ConsentAction, is_allowed
from gmc.registry.models import Case, Referral
from gmc.settings import get_settings

#: The demo tumours: referral cancer type -> (OncoTree code, PCGR example files, germline VCF and its build).
DEMO_TUMOURS = {
    "breast": ("BRCA", "T001-BRCA.grch38.vcf.gz", "T001-BRCA.grch38.cna.tsv", "T001-BRCA.grch38.fusions.tsv",
               None, None),
    # No germline VCF: CPSR's example for this patient (TCGA-A6-2686) holds the tumour's somatic calls, which would
    # show somatic BRAF V600E as a germline finding; ../shared has no real germline calls of a cancer patient.
    "colorectal": ("COADREAD", "T001-COAD.grch38.vcf.gz", None, None, None, None),
}
#: The curated demo item: a real, published statement (SOLAR-1, Andre et al. NEJM 2019, PMID 31091374).
DEMO_EVIDENCE = {"gene": "PIK3CA", "alteration": "H1047R", "evidence_type": "predictive", "level": "A",
                 "significance": "Sensitivity/Response", "tumour_type": "BRCA",
                 "therapies": "Alpelisib + Fulvestrant", "citations": "PMID:31091374"}


def _demo_principal() -> Principal:
    """A national system principal for demo runs (its audit events say system:demo)."""
    return Principal(user_id=0, username="system:demo", full_name="demo loader", roles=frozenset({"admin"}),
                     permissions=frozenset(str(p) for p in Permission), centre_id=None, trust_scope=None,
                     auth_method="system")


def _user(session: Session, username: str) -> Principal | None:
    user = auth_repository.get_user_by_username(session, username)
    return principal_for(session, user, auth_method="system") if user else None


def _curate(session: Session, summary) -> None:  # noqa: ANN001
    """One evidence item proposed by the scientist and approved by the admin (skipped when present)."""
    scientist, admin = _user(session, "scientist"), _user(session, "admin")
    if scientist is None or admin is None or repo.curated_items(session, gene="PIK3CA"):
        return
    version = service.propose_add(session, scientist, DEMO_EVIDENCE,
                                  reason="SOLAR-1 phase 3 (PMID:31091374): PFS benefit of alpelisib in "
                                         "PIK3CA-mutated HR+/HER2- advanced breast cancer")
    service.approve(session, admin, version.id, reason="checked against the trial publication")
    summary.add("curated evidence items")


def _case_for(session: Session, indication: str) -> Case | None:
    """The first demo case of this cancer type whose participant's consent allows interpretation."""
    stmt = (select(Case).join(Referral, Referral.id == Case.referral_id)
            .where(Case.programme_arm == "cancer", Referral.clinical_indication == indication).order_by(Case.id))
    for case in session.execute(stmt).scalars():
        if is_allowed(session, case.proband_id, ConsentAction.INTERPRET).allowed:
            return case
    return None


def load_demo(session: Session, actor: Actor, summary) -> None:  # noqa: ANN001
    """Interprets a breast and a colorectal demo case with real TCGA tumours; quiet when there are none."""
    if session.execute(select(Case.id).where(Case.programme_arm == "cancer").limit(1)).first() is None:
        return
    _curate(session, summary)
    examples = get_settings().demo_file("benchmarks", "cancer", "somatic")
    if not (examples / "pcgr_examples").is_dir():
        summary.skip("interpretation.cancer", f"demo tumours {examples / 'pcgr_examples'} not found (GMC_DEMO_DATA "
                                              "names a folder holding benchmarks/, such as ../shared)")
        return
    principal = _demo_principal()
    for indication, (code, vcf, cna, fusions, germline, germline_build) in DEMO_TUMOURS.items():
        case = _case_for(session, indication)
        if case is None or session.execute(select(InterpretationRun.id).where(
                InterpretationRun.case_id == case.id, InterpretationRun.kind == "somatic")).first():
            continue
        folder = examples / "pcgr_examples"
        service.run_somatic(session, principal, case, tumour_type=code, vcf_path=folder / vcf,
                            cna_path=folder / cna if cna else None,
                            fusions_path=folder / fusions if fusions else None,
                            germline_vcf=examples / germline if germline and Path(examples / germline).is_file()
                            else None, germline_build=germline_build)
        service.add_note(session, principal, case.case_id,
                         f"Demo: PCGR's TCGA {code} example tumour interpreted for this case; discuss the tier I "
                         "findings and the matched therapies at the next tumour board.")
        summary.add("cancer interpretation runs")
