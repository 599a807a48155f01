"""Cancer interpretation in the database: two-curator curation, runs with provenance, consent, germline extras."""

from __future__ import annotations

import gzip
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gmc.audit.service import Actor
from gmc.auth import repository as auth_repository
from gmc.auth.principal import Principal
from gmc.auth.service import principal_for
from gmc.common.errors import Conflict, PermissionDenied, ValidationFailed
from gmc.common.paging import ListState
from gmc.interpretation.cancer import service
from gmc.interpretation.models import InterpretationRun
from gmc.registry import consent as consent_service
from gmc.registry import service as registry
from gmc.registry.models import Case, Participant

BRCA_VCF = "cancer/somatic/pcgr_examples/T001-BRCA.grch38.vcf.gz"
#: A new curated statement about PIK3CA H1047R, with a drug name no source uses, so its effect is unmistakable.
PROPOSAL = {"gene": "PIK3CA", "alteration": "H1047R", "evidence_type": "predictive", "level": "B",
            "significance": "Sensitivity/Response", "tumour_type": "BRCA", "therapies": "GMC-TESTINIB",
            "citations": "PMID:0000001"}


def user(session, username: str) -> Principal:
    return principal_for(session, auth_repository.get_user_by_username(session, username), auth_method="session")


def make_cancer_case(session, *, additional_findings: bool = True, indication: str = "breast",
                     number: str = "") -> str:
    """A consented breast-cancer participant at trust RQ3 with the case the registry opens for the referral."""
    system = Principal(user_id=0, username="system:test", full_name="test", roles=frozenset({"admin"}),
                       permissions=frozenset(), centre_id=None, trust_scope=None, auth_method="system")
    registry.ensure_rule_sets(session, actor=system.actor)
    registry.ensure_consent_forms(session)
    born = date.today() - timedelta(days=50 * 365)
    person = registry.PersonInput("Testcase", "Ann", born, "female", None, "B15 2TT", "RQ3",
                                  number or f"T{id(session)}")
    participant = registry.register_person(session, principal=system, person=person, decision="new").participant
    referral = registry.create_referral(session, principal=system, participant=participant, data=registry.ReferralInput(
        "RQ3", "Dr Test", date.today() - timedelta(days=5), "cancer", indication, None, False,
        tumour_sample_expected=True, germline_sample_expected=True))
    form = registry.require_form(session, "CANCER-ADULT", "2.1")
    choices = {choice: True for choice in form.choices}
    choices["additional_findings"] = additional_findings
    consent_service.record_consent(session, actor=Actor.system("test"), participant=participant, form=form,
                                   consented_on=date.today() - timedelta(days=2), given_by="participant",
                                   choices=choices)
    case = session.execute(select(Case).where(Case.referral_id == referral.id)).scalar_one()
    return case.case_id


def clinvar_record(refdata_dir: Path, gene: str) -> list[str]:
    """The first ClinVar Pathogenic record of a gene (single-gene GENEINFO), read from the shared file."""
    path = refdata_dir / "grch38" / "clinvar_20241215_PLP_multi-submitter_GRCh38.vcf.gz"
    with gzip.open(path, "rt") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#") or "," in fields[4]:
                continue
            info = dict(item.split("=", 1) for item in fields[7].split(";") if "=" in item)
            if info.get("GENEINFO") == gene and info.get("CLNSIG") == "Pathogenic":
                return fields
    raise AssertionError(f"no ClinVar Pathogenic record for {gene}")


def evidence_ids(session, **query) -> set[str]:
    return {row["id"] for row in service.search_knowledgebase(session, limit=100_000, **query)["items"]}


def test_curated_item_goes_live_only_after_a_second_curator(demo_database, benchmarks_dir):
    with demo_database.transaction() as session:
        scientist, admin = user(session, "scientist"), user(session, "admin")
        proposal = service.propose_add(session, scientist, PROPOSAL, reason="new trial result")
        new_id = proposal.item.evidence_id
        assert new_id.startswith("GMC:CUR")
        assert new_id not in evidence_ids(session, gene="PIK3CA")  # proposed is not live
        with pytest.raises(PermissionDenied):
            service.approve(session, scientist, proposal.id)  # the proposer cannot approve their own
        assert new_id not in evidence_ids(session, gene="PIK3CA")
        service.approve(session, admin, proposal.id, reason="checked the paper")
        assert new_id in evidence_ids(session, gene="PIK3CA", tumour_type="BRCA", level="B")
        case_id = make_cancer_case(session)
        case = registry.view_case(session, principal=scientist, case_id=case_id)
        run = service.run_somatic(session, scientist, case, tumour_type="BRCA",
                                  vcf_path=benchmarks_dir / BRCA_VCF)
        run_pk = run.id
    with demo_database.transaction() as session:
        run = session.get(InterpretationRun, run_pk)
        assert run.status == "done" and run.kind == "somatic" and run.finished_at is not None
        [pik3ca] = [f for f in run.results["findings"] if f["gene"] == "PIK3CA"]
        assert pik3ca["protein_change"] == "H1047R"  # the known TCGA-A2-A04W hotspot
        assert new_id in pik3ca["evidence_ids"]
        assert "GMC-TESTINIB" in str(pik3ca["therapies"])
        # provenance: software version, every knowledge-base file with its checksum, the curated overlay
        assert run.provenance["gmc_version"]
        assert any(src["path"].endswith(".tsv") or src["sha256"] for src in run.provenance["knowledge_base"])
        assert all(len(src["sha256"]) == 64 for src in run.provenance["knowledge_base"])
        assert run.provenance["curation"]["live_items"] == [f"{new_id} v1 (live)"]
        assert run.inputs["tumour_type"] == "BRCA" and run.inputs["vcf"].endswith("T001-BRCA.grch38.vcf.gz")


def test_retire_and_edit_need_a_second_curator_and_rejections_are_kept(demo_database):
    with demo_database.transaction() as session:
        scientist, admin = user(session, "scientist"), user(session, "admin")
        added = service.propose_add(session, scientist, PROPOSAL, reason="trial")
        service.approve(session, admin, added.id)
        new_id = added.item.evidence_id
        edit = service.propose_edit(session, admin, new_id, {"level": "C"}, reason="only an early trial")
        with pytest.raises(Conflict):
            service.propose_retire(session, scientist, new_id, reason="second open proposal")
        service.reject(session, scientist, edit.id, reason="the trial is phase 3")
        assert new_id in evidence_ids(session, gene="PIK3CA", level="B")
        retire = service.propose_retire(session, admin, new_id, reason="superseded by guideline")
        assert new_id in evidence_ids(session, gene="PIK3CA")  # still live until approved
        with pytest.raises(PermissionDenied):
            service.approve(session, admin, retire.id)
        service.approve(session, scientist, retire.id)
        assert new_id not in evidence_ids(session, gene="PIK3CA")
        history = service.curation_history(session, new_id)
        assert [(v.action, v.status) for v in history.versions] == [
            ("add", "approved"), ("edit", "rejected"), ("retire", "approved")]
        assert history.versions[1].review_reason == "the trial is phase 3"
        # a file-based item can be retired the same way
        civic = service.propose_retire(session, scientist, "CIViC:EID1409", reason="test of retirement")
        assert "CIViC:EID1409" in evidence_ids(session, gene="BRAF")
        service.approve(session, admin, civic.id)
        assert "CIViC:EID1409" not in evidence_ids(session, gene="BRAF")


def test_bad_proposals_name_the_field(demo_database):
    with demo_database.transaction() as session:
        scientist = user(session, "scientist")
        with pytest.raises(ValidationFailed) as bad_level:
            service.propose_add(session, scientist, {**PROPOSAL, "level": "Z"}, reason="x")
        assert bad_level.value.field == "level"
        with pytest.raises(ValidationFailed) as no_reason:
            service.propose_add(session, scientist, PROPOSAL, reason=" ")
        assert no_reason.value.field == "reason"
        with pytest.raises(PermissionDenied):
            service.propose_add(session, user(session, "clinician"), PROPOSAL, reason="x")


def test_withdrawn_consent_and_bad_input_refuse_a_run_and_store_nothing(demo_database, benchmarks_dir):
    with demo_database.transaction() as session:
        scientist = user(session, "scientist")
        case = registry.view_case(session, principal=scientist, case_id=make_cancer_case(session))
        with pytest.raises(ValidationFailed) as unknown:
            service.run_somatic(session, scientist, case, tumour_type="NOTATYPE", vcf_path=benchmarks_dir / BRCA_VCF)
        assert unknown.value.field == "tumour_type"
        # a germline exome given where a tumour-normal VCF is needed (as PCGR's users often do)
        with pytest.raises(ValidationFailed, match="germline VCF") as germline:
            service.run_somatic(session, scientist, case, tumour_type="BRCA",
                                vcf_path=benchmarks_dir / "rare/background/Pfeiffer_exome_GRCh38.liftover.vcf.gz")
        assert germline.value.field == "vcf"
        participant = session.get(Participant, case.proband_id)
        consent_service.withdraw(session, actor=Actor.system("test"), participant=participant,
                                 level="no_further_use", reason="participant request")
        with pytest.raises(Conflict, match="does not allow interpretation"):
            service.run_somatic(session, scientist, case, tumour_type="BRCA", vcf_path=benchmarks_dir / BRCA_VCF)
        assert session.execute(select(func.count()).select_from(InterpretationRun)).scalar_one() == 0


@pytest.mark.parametrize("consented", [True, False])
def test_germline_additional_findings_only_with_consent(demo_database, benchmarks_dir, refdata_dir, tmp_path,
                                                        consented):
    lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tPATIENT"]
    for gene in ("BRCA2", "LDLR"):
        fields = clinvar_record(refdata_dir, gene)
        lines.append("\t".join([*fields[:5], ".", "PASS", ".", "GT", "0/1"]))
    germline = tmp_path / "germline.vcf"
    germline.write_text("\n".join(lines) + "\n")
    with demo_database.transaction() as session:
        scientist = user(session, "scientist")
        case_id = make_cancer_case(session, additional_findings=consented)
        case = registry.view_case(session, principal=scientist, case_id=case_id)
        run = service.run_somatic(session, scientist, case, tumour_type="BRCA", vcf_path=benchmarks_dir / BRCA_VCF,
                                  germline_vcf=germline)
        assert [f["gene"] for f in run.results["germline"]["predisposition"]] == ["BRCA2"]
        assert [f["gene"] for f in run.results["germline"]["additional_findings"]] == (["LDLR"] if consented else [])
        board = service.tumour_board(session, scientist, case_id)
        assert [f["gene"] for f in board["germline"]["additional_findings"]] == (["LDLR"] if consented else [])


def test_a_run_without_a_path_uses_the_cases_stored_tumour_data_set(demo_database, benchmarks_dir):
    from gmc.common.time import utcnow
    from gmc.genomics.models import GenomeDataset

    vcf = benchmarks_dir / BRCA_VCF
    with demo_database.transaction() as session:
        scientist = user(session, "scientist")
        case = registry.view_case(session, principal=scientist, case_id=make_cancer_case(session))
        with pytest.raises(ValidationFailed) as missing:
            service.run_somatic(session, scientist, case)
        assert missing.value.field == "vcf"
        session.add(GenomeDataset(
            dataset_id="GDTEST-T", case_id=case.id, participant_id=case.proband_id, vcf_sample="TUMOR",
            store_sample="GDTEST:TUMOR", kind="tumour", source_path=str(vcf), file_sha256="0" * 64, file_size=1,
            build="GRCh38", store_dataset="GDTEST", n_variants=1, n_new_sites=0, qc={}, qc_flags=[],
            ingested_by="test", ingested_at=utcnow(), status="stored"))
        session.flush()
        run = service.run_somatic(session, scientist, case)  # tumour type from the referral: breast -> BRCA
        assert run.inputs["vcf_source"] == "genome data set GDTEST-T"
        assert run.inputs["tumour_type"] == "BRCA" and run.results["tumour_type"]["code"] == "BRCA"
        assert run.results["provenance"]["inputs"]["vcf"]["sha256"] != "0" * 64  # checksummed at run time


def test_tumour_boards_ready_is_the_cancer_list_filtered_to_board_beyond_one_page(demo_database, benchmarks_dir):
    """The home worklist's count is the /cancer?todo=board total, paged in SQL with no cap: interpreted cases
    that are not reported or closed; the text and interpreted filters run in the database too."""
    with demo_database.transaction() as session:
        scientist = user(session, "scientist")
        ready, ready_too, reported, not_run = (make_cancer_case(session, number=f"TB{i}{id(session)}")
                                               for i in range(4))
        for case_id in (ready, ready_too, reported):
            case = registry.view_case(session, principal=scientist, case_id=case_id)
            service.run_somatic(session, scientist, case, tumour_type="BRCA", vcf_path=benchmarks_dir / BRCA_VCF)
        session.execute(select(Case).where(Case.case_id == reported)).scalar_one().status = "reported"
        session.flush()

        def walk(**filters) -> tuple[int, list[dict]]:
            rows, page_no = [], 1
            while True:
                state = ListState("/cancer", service.CASE_SORTS, "interpreted", descending=True, page=page_no,
                                  per_page=1, filters=filters)
                page = service.cancer_case_page(session, scientist, state)
                rows += page.items
                if page_no >= page.pages:
                    return page.total, rows
                page_no += 1

        boards = [c.case_id for c in service.cases_for_board(session, scientist)]
        assert {ready, ready_too} <= set(boards) and {reported, not_run}.isdisjoint(boards)
        total, rows = walk(todo="board")
        assert total == len(boards) == len(rows) > 1
        assert sorted(r["case_id"] for r in rows) == sorted(boards) and all(r["to_board"] for r in rows)
        everything_total, everything = walk()
        counted = select(func.count(Case.id)).where(Case.programme_arm == "cancer")
        if scientist.trust_scope is not None:
            counted = counted.where(Case.trust_id.in_(list(scientist.trust_scope)))
        assert everything_total == len(everything) == session.execute(counted).scalar_one()
        flags = [r["interpreted"] for r in everything]
        assert flags == sorted(flags, reverse=True)  # interpreted cases first, as the default sort says
        not_yet_total, not_yet = walk(interpreted="no")
        assert not_run in {r["case_id"] for r in not_yet} and not any(r["interpreted"] for r in not_yet)
        assert not_yet_total == len(not_yet) == sum(1 for r in everything if not r["interpreted"])
        # The list shows breast cases as BRCA, so the text filter finds them by that code.
        _, found = walk(q="brca")
        assert {ready, ready_too, reported, not_run} <= {r["case_id"] for r in found}
