"""Phenotype pages and API as users meet them: capture with type-ahead, guidance, scope, imports, pedigrees."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gmc.phenotype import phenopackets as pp
from gmc.phenotype.ontology import get_ontology


@pytest.fixture
def people(demo_database, make_factory):
    """A proband at RQ3 (West Midlands) with both parents in a family, committed for the app to see."""
    with demo_database.transaction() as session:
        factory = make_factory(session)
        proband = factory.participant(trust="RQ3", sex="male")
        family = factory.family(proband)
        mother, father = factory.participant(trust="RQ3", sex="female"), factory.participant(trust="RQ3", sex="male")
        factory.member(family, mother, "mother", "unaffected")
        factory.member(family, father, "father", "unaffected")
        return {"proband": proband.participant_id, "mother": mother.participant_id,
                "father": father.participant_id, "family": family.family_id}


def test_capture_page_type_ahead_tree_enter_and_guidance(demo_client, login, people) -> None:
    pid = people["proband"]
    login(demo_client, "clinician")
    csrf = demo_client.cookies.get("gmc_csrf")
    page = demo_client.get(f"/phenotype/participants/{pid}")
    assert page.status_code == 200
    assert 'hx-get="/phenotype/hpo/search"' in page.text and "keyup changed delay:150ms" in page.text
    assert 'href="/phenotype"' in page.text  # the nav entry
    results = demo_client.get("/phenotype/hpo/search", params={"q": "seizure"})
    radios = re.findall(r'<input type="radio" name="hpo_id" value="(HP:\d{7})" (checked)?', results.text)
    assert radios[0] == ("HP:0001250", "checked")  # the exact label ranks first and is chosen for Enter
    assert all(not checked for _, checked in radios[1:]) and len(radios) > 5
    tree = demo_client.get("/phenotype/hpo/tree", params={"term": "HP:0001250"})
    text = tree.text
    # Seizure's parent is listed as broader, its direct children (Focal-onset seizure) as more specific.
    assert text.index("Broader") < text.index("Abnormal nervous system physiology") < text.index("More specific") \
        < text.index("Focal-onset seizure")
    assert "Abnormality of the nervous system" not in text  # grandparents are one click further
    top = demo_client.get("/phenotype/hpo/tree", params={"term": "HP:0000118"}).text
    assert "Abnormality of the nervous system" in top and 'name="hpo_id"' not in top  # the root cannot be added
    # Enter pressed in the search box before a choice: the top hit is added.
    added = demo_client.post(f"/phenotype/participants/{pid}/observations",
                             data={"csrf_token": csrf, "q": "seizure", "status": "observed", "onset": "HP:0003577"})
    assert added.status_code == 200 and added.history[0].status_code == 303 and "Added HP:0001250 Seizure (observed)" in added.text
    assert '<a href="https://hpo.jax.org/browse/term/HP:0001250"><code>HP:0001250</code></a> Seizure' in added.text
    obsolete = demo_client.post(f"/phenotype/participants/{pid}/observations",
                                data={"csrf_token": csrf, "hpo_id": "HP:0000487", "status": "excluded"})
    assert obsolete.status_code == 200 and "HP:0000487 is obsolete and replaced by HP:0000486" in obsolete.text
    unknown = demo_client.post(f"/phenotype/participants/{pid}/observations",
                               data={"csrf_token": csrf, "hpo_id": "HP:9999999"})
    assert unknown.status_code == 422 and "not in HPO release 2025-11-24" in unknown.text
    focal = demo_client.post(f"/phenotype/participants/{pid}/observations",
                             data={"csrf_token": csrf, "hpo_id": "HP:0007359", "severity": "HP:0012828"})
    assert "HP:0007359 Focal-onset seizure already implies HP:0001250 Seizure" in focal.text
    assert "Congenital onset" in focal.text and "Severe" in focal.text
    dx = demo_client.post(f"/phenotype/participants/{pid}/diagnoses",
                          data={"csrf_token": csrf, "code": "OMIM:308350", "label": "Developmental and epileptic "
                                "encephalopathy 1", "status": "suspected"})
    assert dx.history[0].status_code == 303 and "Recorded OMIM:308350 (suspected)" in dx.text  # PRG
    assert "Recorded OMIM:308350" not in demo_client.get(f"/phenotype/participants/{pid}").text  # read once
    bad_dx = demo_client.post(f"/phenotype/participants/{pid}/diagnoses", data={"csrf_token": csrf, "code": "X:1"})
    assert bad_dx.status_code == 422 and "not a disease code" in bad_dx.text
    index = demo_client.get("/phenotype")
    assert f'href="/phenotype/participants/{pid}"' in index.text
    # paged and sorted on the server: most observed terms first by default, or by programme id
    listed = re.findall(r'<tr><td><a href="/phenotype/participants/([A-Z0-9]+)"><code>[A-Z0-9]+</code></a></td>\s*'
                        r'<td>[^<]*</td><td class="num">(\d+)</td>', index.text)
    assert listed and listed[0][0] == pid and [int(n) for _, n in listed] == sorted((int(n) for _, n in listed),
                                                                                     reverse=True)
    assert re.search(r"1–\d+ of \d+ participants", index.text)
    by_id = demo_client.get("/phenotype", params={"sort": "participant", "dir": "asc"})
    ids = re.findall(r'<tr><td><a href="/phenotype/participants/([A-Z0-9]+)">', by_id.text)
    assert ids == sorted(ids) and set(ids) == {p for p, _ in listed}
    assert f'href="/phenotype/families/{people["family"]}"' in index.text
    csv = f"participant_id,term_id,status\n{people['mother']},HP:0001250,excluded\n{pid},HP:0001250,observd\n"
    upload = demo_client.post("/phenotype/import", data={"csrf_token": csrf, "kind": "csv"},
                              files={"upload": ("terms.csv", csv.encode(), "text/csv")})
    assert upload.status_code == 422 and "line 3" in upload.text and "&#39;observd&#39; is not observed" in upload.text
    upload = demo_client.post("/phenotype/import", data={"csrf_token": csrf, "kind": "csv"},
                              files={"upload": ("terms.csv", csv.replace("observd", "observed").encode(), "text/csv")})
    assert upload.history[0].status_code == 303 and upload.url.path == "/phenotype"
    assert "Imported 1 terms (1 excluded)" in upload.text  # Seizure already there
    # The family page: the pedigree derived from the registry, drawn as SVG, then a PED import.
    family = demo_client.get(f"/phenotype/families/{people['family']}")
    svg = ET.fromstring(family.text[family.text.index("<svg"):family.text.index("</svg>") + 6])
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}rect")) == 2  # proband and father
    fam, p, f, m = people["family"], pid, people["father"], people["mother"]
    loop = f"{fam} {f} {p} 0 1 1\n{fam} {p} {f} {m} 1 2\n{fam} {m} 0 0 2 1\n"
    refused = demo_client.post(f"/phenotype/families/{fam}/ped", data={"csrf_token": csrf, "ped_text": loop})
    assert refused.status_code == 422 and "own ancestor" in refused.text
    good = f"{fam} {p} {f} {m} 1 2\n{fam} {f} 0 0 1 1\n{fam} {m} 0 0 2 1\n{fam} II-2 {f} {m} 2 1\n"
    imported = demo_client.post(f"/phenotype/families/{fam}/ped",
                                data={"csrf_token": csrf, "ped_text": good, "consanguinity": "no"})
    assert imported.history[0].status_code == 303 and "Pedigree imported: 4 individuals" in imported.text
    assert "II-2" in imported.text and "sibling" in imported.text


def test_api_capture_scope_permissions_and_exports(demo_client, bearer, people, benchmarks_dir: Path) -> None:
    pid = people["proband"]
    scientist = bearer(demo_client, "scientist")
    created = demo_client.post(f"/api/phenotype/participants/{pid}/observations", headers=scientist,
                               json={"hpo_id": "HP:0001166", "onset": "P3Y"})
    assert created.status_code == 201, created.text
    assert created.json()["observation"]["label"] == "Arachnodactyly"
    bad = demo_client.post(f"/api/phenotype/participants/{pid}/observations", headers=scientist,
                           json={"hpo_id": "HP:12"})
    assert bad.status_code == 422 and bad.json()["field"] == "hpo_id" and "'HP:12'" in bad.json()["detail"]
    csv = f"participant_id,term_id,status\n{pid},HP:0001083,observed\n{people['mother']},HP:0001166,excluded\n"
    upload = demo_client.post("/api/phenotype/hpo-csv", headers={**scientist, "content-type": "text/csv"},
                              content=csv)
    assert upload.status_code == 201 and upload.json()["observations"] == 2
    bad_csv = demo_client.post("/api/phenotype/hpo-csv", headers={**scientist, "content-type": "text/csv"},
                               content=f"participant_id,term_id,status\n{pid},HP:0001250,seen\n")
    assert bad_csv.status_code == 422
    assert bad_csv.json()["problems"] == [{"where": "line 2", "field": "status",
                                           "message": "'seen' is not observed or excluded"}]
    profile = demo_client.get(f"/api/phenotype/participants/{pid}/profile", headers=scientist).json()
    assert sorted(o["hpo_id"] for o in profile["observations"]) == ["HP:0001083", "HP:0001166"]
    assert profile["guidance"]["is_informative"] is True
    exported = demo_client.get(f"/api/phenotype/participants/{pid}/phenopacket", headers=scientist)
    data = pp.read_phenopacket(exported.json(), known_term=lambda t: t in get_ontology())
    assert data.subject.id == pid and data.subject.sex == "MALE"
    assert next(f.onset.age for f in data.phenotypic_features if f.type.id == "HP:0001166") == "P3Y"
    ped = demo_client.get(f"/api/phenotype/families/{people['family']}/pedigree", headers=scientist).json()
    assert {i["individual_id"]: i["relationship"] for i in ped["individuals"]} == {
        pid: "self", people["mother"]: "mother", people["father"]: "father"}
    # Centre-wide staff are not national: a phenopacket whose subject is not a participant is refused.
    packet = (benchmarks_dir / "rare" / "phenopackets" / "PMID_10851256_family_815.json").read_text()
    refused = demo_client.post("/api/phenotype/phenopackets", headers={**scientist, "content-type":
                               "application/json"}, content=packet)
    assert refused.status_code == 422 and "only national users" in refused.json()["detail"]
    # Other centres' staff do not see the participant; the lab role has no phenotype access at all.
    south = bearer(demo_client, "sl-recruiter")
    assert demo_client.get(f"/api/phenotype/participants/{pid}/profile", headers=south).status_code == 404
    lab = bearer(demo_client, "lab")
    assert demo_client.get(f"/api/phenotype/participants/{pid}/profile", headers=lab).status_code == 403
    admin = bearer(demo_client, "admin")
    events = demo_client.get("/api/audit/events", headers=admin,
                             params={"entity_type": "phenotype_profile", "entity_id": pid}).json()
    assert {e["verb"] for e in events} >= {"read", "export", "import"}
