"""`gmc registry` commands from the top-level CLI, on both engines."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gmc.cli import app
from gmc.settings import reset_settings_cache

runner = CliRunner()


def gmc(url: str, *args: str, stdin: str | None = None):
    """Runs `gmc ARGS` against a database."""
    reset_settings_cache()
    result = runner.invoke(app, list(args), input=stdin, env={"GMC_DATABASE_URL": url, "GMC_ENVIRONMENT": "test"})
    reset_settings_cache()
    return result


def test_import_hl7_and_fhir_round_trip(demo_db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("family_name,given_name,date_of_birth,sex,nhs_number,postcode,trust_code,hospital_number\n"
                   "Smith,Joan,1940-01-01,female,,WS2 9PS,RBK,W1\n"
                   "Jones,Tom,1955-13-30,male,,,RRK,U1\n")
    result = gmc(demo_db_url, "registry", "import", str(bad))
    assert result.exit_code == 1 and "bad.csv line 3" in result.output and "nothing imported" in result.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes(bad.read_text().splitlines(keepends=True)[0].encode()
                      + "Müller,Jürgen,1960-05-05,male,,,RBK,W4\n".encode("latin-1"))
    result = gmc(demo_db_url, "registry", "import", str(latin))
    assert result.exit_code == 1 and "latin.csv line 2: not UTF-8" in result.output
    good = tmp_path / "good.csv"
    good.write_text(bad.read_text().replace("1955-13-30", "1955-12-30"))
    result = gmc(demo_db_url, "registry", "import", str(good))
    assert result.exit_code == 0 and "2 created" in result.output

    # The feed of RBK is bound to its trust and to a service user's token; the operator sends its file.
    made = gmc(demo_db_url, "users", "create", "pas-rbk", "--role", "recruiter", "--trust", "RBK", "--password-stdin",
               stdin="pas-rbk-password-2026\n")
    assert made.exit_code == 0, made.output
    bound = gmc(demo_db_url, "registry", "hl7-interface", "RBK", "--trust", "RBK", "--user", "pas-rbk")
    assert bound.exit_code == 0 and bound.output.strip().splitlines()[0].startswith("gmc_pat_"), bound.output
    messages = tmp_path / "adt.hl7"
    messages.write_bytes(
        b"\x0bMSH|^~\\&|PAS|RBK|GMC|GMC|20250314093012||ADT^A08^ADT_A01|RBK1|P|2.4\r"
        b"PID|1||W1^^^RBK^MR||SMITH^Joan||19400101|F|||^^^^WS1 1AA\r\x1c\r"
        b"\x0bMSH|^~\\&|PAS|RBK|GMC|GMC|20250314093013||ADT^A04^ADT_A01|RBK2|P|2.4\r"
        b"PID|1||9434765918^^^NHS^NH||DOE^Jo||19800101|M\r\x1c\r")
    result = gmc(demo_db_url, "registry", "hl7", str(messages))
    assert result.exit_code == 1
    assert "MSA|AA|RBK1" in result.output and "MSA|AE|RBK2" in result.output

    import re

    from gmc.db.core import Database
    from gmc.registry.models import Participant

    db = Database(demo_db_url)
    with db.session() as s:
        joan = s.query(Participant).filter_by(given_name="Joan").one()
        assert joan.postcode == "WS1 1AA"
        pid = joan.participant_id
    db.dispose()
    bundle = tmp_path / "bundle.json"
    result = gmc(demo_db_url, "registry", "fhir-export", pid, "--out", str(bundle))
    assert result.exit_code == 0
    data = json.loads(bundle.read_text())
    assert data["entry"][0]["resource"]["id"] == pid
    result = gmc(demo_db_url, "registry", "fhir-import", str(bundle))
    assert result.exit_code == 0 and re.search(rf"linked {pid}", result.output)


def test_dedupe_command_is_mounted(tmp_path: Path) -> None:
    src = tmp_path / "people.csv"
    src.write_text("record_id,nhs_number,family_name,given_name,date_of_birth,sex,postcode,trust_code,hospital_number\n"
                   "a,9434765919,Okafor,Amara,2015-03-14,F,B15 2TT,RQ3,1\n"
                   "b,,Okafur,Amara,2015-03-14,F,B15 2TT,RRK,2\n"
                   "c,,Smith,John,1960-01-01,M,WS2 9PS,RBK,3\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["registry", "dedupe", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in out.read_text().splitlines()]
    ids = {r[0]: r[-1] for r in rows[1:]}
    assert ids["a"] == ids["b"] != ids["c"]


def test_cli_acts_and_is_audited_as_the_named_operator(demo_db_url: str, tmp_path: Path) -> None:
    import getpass

    import sqlalchemy as sa

    from gmc.audit.models import AuditEvent
    from gmc.db.core import Database

    people = tmp_path / "people.csv"
    people.write_text("family_name,given_name,date_of_birth,sex,trust_code\nWren,Ada,1970-02-02,female,RBK\n")
    refused = gmc(demo_db_url, "--as", "recruiter", "registry", "import", str(people))
    assert refused.exit_code == 1 and "outside your trusts" in refused.output  # the recruiter's scope applies
    unknown = gmc(demo_db_url, "--as", "nobody", "registry", "import", str(people))
    assert unknown.exit_code != 0
    assert gmc(demo_db_url, "--as", "admin", "registry", "import", str(people)).exit_code == 0
    other = tmp_path / "other.csv"
    other.write_text("family_name,given_name,date_of_birth,sex,trust_code\nWren,Bea,1972-03-03,female,RBK\n")
    assert gmc(demo_db_url, "registry", "import", str(other)).exit_code == 0
    db = Database(demo_db_url)
    with db.session() as s:
        creators = s.execute(sa.select(AuditEvent.actor, AuditEvent.actor_id).where(
            AuditEvent.verb == "create", AuditEvent.entity_type == "participant").order_by(AuditEvent.seq)).all()
    db.dispose()
    assert creators[0][0] == "admin" and creators[0][1] is not None
    assert creators[1] == (f"os:{getpass.getuser()}", None)  # never an anonymous user 0
