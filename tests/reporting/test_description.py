"""A scientist confirms a description annotation withheld: checked against the transcript and the VCF allele."""

from __future__ import annotations

import json

import pytest
from tests.reporting.conftest import draft_positive, interpreted_case, user

from gmc.common.errors import ValidationFailed
from gmc.reporting import description, fhir, render, service

#: The KBG frameshift as published (phenopacket PMID_36446582_Gnazzo_2020_P16): chr16:89282770 CTT>C.
KBG = {"hgvs_c": "NM_013275.6:c.3770_3771del", "hgvs_p": "NP_037407.4:p.(Lys1257ArgfsTer25)",
       "hgvs_g": "NC_000016.10:g.89282772_89282773del"}


def kbg_details() -> dict:
    return {"chrom": "chr16", "pos": 89282770, "ref": "CTT", "alt": "C", "transcript": "ENST00000301030.10",
            "mane_select": {"refseq": "NM_013275.6", "ensembl": "ENST00000301030.10", "protein": "NP_037407.4"}}


def test_the_published_description_passes_and_wrong_ones_are_refused_naming_the_field() -> None:
    assert description.check(kbg_details(), KBG, "NC_000016.10") == {
        "hgvs_c": "c.3770_3771del", "hgvs_p": "p.(Lys1257ArgfsTer25)", "hgvs_g": "NC_000016.10:g.89282772_89282773del"}
    wrong = {
        "hgvs_c": ["NM_000000.1:c.3770_3771del",  # another transcript
                   "c.3770del",  # one base; the allele deletes two
                   "c.3770_3771dup",  # a duplication; the allele is a deletion
                   "c.3770A>G",  # a substitution
                   "3770_3771del"],  # not HGVS
        "hgvs_p": ["p.K1257fs", "NP_000001.1:p.(Lys1257ArgfsTer25)"],
        "hgvs_g": ["g.89282700_89282701del",  # left of where the VCF wrote it: a 3' shift never moves left
                   "NC_000017.11:g.89282772_89282773del", "c.3770_3771del"],
    }
    for field, values in wrong.items():
        for value in values:
            with pytest.raises(ValidationFailed) as error:
                description.check(kbg_details(), {field: value}, "NC_000016.10")
            assert error.value.field == field, value
    snv = {**kbg_details(), "ref": "G", "alt": "A"}
    assert description.check(snv, {"hgvs_c": "c.100C>T"}, "NC_000016.10") == {"hgvs_c": "c.100C>T"}  # minus strand
    with pytest.raises(ValidationFailed):
        description.check(snv, {"hgvs_g": "g.89282770C>T"}, "NC_000016.10")  # g. is on the plus strand
    with pytest.raises(ValidationFailed) as error:
        description.check(snv, {}, "NC_000016.10")
    assert "at least one" in str(error.value)


def test_a_confirmed_description_reaches_the_report_pdf_and_fhir_and_voids_signatures(
        demo_database, benchmarks_dir, kbg_vcf) -> None:
    with demo_database.transaction() as session:
        case_id, run_id = interpreted_case(session, benchmarks_dir, kbg_vcf)
        finding = draft_positive(session, case_id, run_id)
        scientist = user(session, "scientist")
        assert finding.details["hgvs_c"] is None  # annotation withheld it: the FASTA has N there
        service.sign_as_author(session, scientist, case_id)
        with pytest.raises(ValidationFailed) as error:
            service.describe_finding(session, scientist, case_id, finding.id, source="VariantValidator",
                                     hgvs_c="c.3770del")
        assert error.value.field == "hgvs_c"
        assert service.case_view(session, scientist, case_id)["report"].author_signed_at is not None  # unchanged
        with pytest.raises(ValidationFailed) as error:
            service.describe_finding(session, scientist, case_id, finding.id, source=" ", hgvs_c=KBG["hgvs_c"])
        assert error.value.field == "source"
        service.describe_finding(session, scientist, case_id, finding.id, source="VariantValidator", **KBG)
        details = finding.details
        assert (details["hgvs_c"], details["hgvs_p"]) == ("c.3770_3771del", "p.(Lys1257ArgfsTer25)")
        assert "hgvs_c" not in details["withheld"] and details["described"]["source"] == "VariantValidator"
        assert "3'" in details["described"]["annotation"]["hgvs_c"]["withheld"]  # what annotation said is kept
        report = service.case_view(session, scientist, case_id)["report"]
        assert report.status == "draft" and report.author_signed_at is None  # the edit voided the signature
        document = service.document_of(session, service.case_in_scope(session, scientist, case_id, "report:sign"),
                                       report)
        bundle = json.loads(render.render(document, "fhir"))
        assert fhir.bundle_variants(bundle) == [("ANKRD11", "c.3770_3771del", "Likely pathogenic")]
        html = render.render_html(document)
        assert "NM_013275.6:c.3770_3771del" in html and "confirmed by Sam Scientist against VariantValidator" in html
