"""Generates a research benchmark world: an annotated exome-scale variant store of N genomes (the sites and
genotypes of bench/store/generate_cohort.py, annotated by gmc's own annotator, ingested in batches of 1,000 through
ingest_tables) and a gmc database whose N participants own those genomes, with referrals at both demo centres'
trusts, consents (some without research, some withdrawn), HPO profiles drawn from the shared phenopackets' terms,
cancer types, a national researcher, a data-access approver and an approved project.

1,000 of the participants are "marked": each has seizure HP:0001250 itself observed and consents to research, so
the cohort {"hpo_terms": ["HP:0001250"], "hpo_descendants": false} holds exactly 1,000 (the release benchmark).

    .venv/bin/python bench/research/generate_world.py --genomes 10000 --out /tmp/gmc_bench/research_10k
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from generate_cohort import make_batch_calls, make_sites  # noqa: E402

from gmc.audit.service import Actor  # noqa: E402
from gmc.genomics.ingest import annotator  # noqa: E402
from gmc.genomics.store.writer import ingest_tables  # noqa: E402

MARKED = 1000
SEIZURE = "HP:0001250"
CANCERS = ["breast", "colorectal", "lung", "ovarian", "prostate", "chronic lymphocytic leukaemia"]
CONDITIONS = ["Intellectual disability", "Epileptic encephalopathy", "Hereditary ataxia", "Congenital myopathy",
              "Hypertrophic cardiomyopathy", "Rod-cone dystrophy", "Primary immunodeficiency", "Skeletal dysplasia"]


def build_store(root: Path, genomes: int, rng: np.random.Generator, batch: int = 1000) -> list[str]:
    """The annotated store; returns the sample names in index order."""
    t = time.time()
    sites, af = make_sites(1_200_000, rng)
    annotate = annotator("GRCh38")
    annotation = annotate(sites)
    for name in annotation.column_names:
        if name not in sites.column_names:
            sites = sites.append_column(name, annotation.column(name))
    print(f"{len(sites):,} sites annotated in {time.time() - t:.0f} s", flush=True)
    names: list[str] = []
    for b in range(genomes // batch):
        t = time.time()
        calls = make_batch_calls(af, batch, rng)
        batch_names = [f"G{b * batch + i:06d}" for i in range(batch)]
        result = ingest_tables(root, sites=sites, genotypes=calls, samples=batch_names,
                               dataset_id=f"research-bench-{b:04d}", source=f"batch {b}", build="GRCh38")
        names += batch_names
        print(f"batch {b}: {result.entry.n_genotypes:,} calls in {time.time() - t:.0f} s", flush=True)
    return names


def hpo_pool(shared: Path) -> list[str]:
    """Every HPO term observed in the shared phenopackets (real profiles' vocabulary)."""
    from gmc.phenotype import phenopackets as pp
    from gmc.phenotype.ontology import get_ontology

    ontology = get_ontology()
    terms: set[str] = set()
    for path in sorted((shared / "benchmarks" / "rare" / "phenopackets").glob("*.json")):
        terms |= {t for t in pp.observed_term_ids(pp.read_phenopacket(path)) if t in ontology.terms}
    return sorted(terms - {SEIZURE})


def build_database(url: str, samples: list[str], shared: Path, seed: int) -> None:
    """The participants, their registry, phenotype and genome rows, and the benchmark's users and project."""
    from gmc.auth.models import User
    from gmc.auth.service import create_user, principal_for
    from gmc.bootstrap import load_models
    from gmc.db.core import Database
    from gmc.db.migrate import upgrade
    from gmc.demo.service import DEMO_LOADERS, DemoSummary
    from gmc.genomics.models import GenomeDataset
    from gmc.organisations.models import Trust
    from gmc.phenotype.models import PhenotypeObservation
    from gmc.registry import service as registry
    from gmc.registry.models import Case, Consent, Participant, Referral, TrustRegistration
    from gmc.research import service as research

    upgrade(url)
    load_models()
    db = Database(url)
    rng = random.Random(seed)
    pool = hpo_pool(shared)
    now = datetime.now(UTC)
    today = date.today()
    with db.transaction() as s:
        summary = DemoSummary()
        for loader in DEMO_LOADERS:
            loader(s, Actor.system("bench"), summary)
        forms = {f.code: f.id for f in registry.ensure_consent_forms(s)}
        trusts = list(s.execute(sa.select(Trust.id)).scalars())
        create_user(s, actor=Actor.system("bench"), username="bench-researcher", password="bench-researcher-quartz-meadow",
                    roles=["researcher"], centre_wide=True)
        create_user(s, actor=Actor.system("bench"), username="bench-approver", password="bench-approver-copper-kettle",
                    roles=["data_access"], centre_wide=True)
    with db.transaction() as s:
        people, referrals, consents, registrations, observations = [], [], [], [], []
        n_marked = 0
        for i, _sample in enumerate(samples):
            marked = i % (len(samples) // MARKED) == 0 and n_marked < MARKED
            n_marked += marked
            arm = "cancer" if not marked and rng.random() < 0.4 else "rare_disease"
            sex = rng.choice(["female", "male"])
            born = today - timedelta(days=rng.randint(1 * 365, 85 * 365))
            people.append({"id": i + 1, "participant_id": f"PB{i:07d}", "family_name": "Bench", "given_name": f"P{i}",
                           "date_of_birth": born, "sex": sex, "created_at": now, "updated_at": now, "version": 1,
                           "marked": marked})
            trust = trusts[i % len(trusts)]
            referred = today - timedelta(days=rng.randint(10, 900))
            referrals.append({"id": i + 1, "referral_id": f"RB{i:07d}", "participant_id": i + 1, "trust_id": trust,
                              "referring_clinician": "Dr Bench", "referral_date": max(referred, born),
                              "programme_arm": arm,
                              "clinical_indication": rng.choice(CANCERS if arm == "cancer" else CONDITIONS),
                              "prior_tests_completed": True, "tumour_sample_expected": arm == "cancer",
                              "germline_sample_expected": arm == "cancer", "status": "eligible", "created_at": now})
            registrations.append({"participant_id": i + 1, "trust_id": trust, "registered_at": now,
                                  "registered_by": "bench"})
            research_yes = marked or rng.random() < 0.85
            withdrawn = not marked and rng.random() < 0.03
            consents.append({"participant_id": i + 1, "form_id": forms["CANCER-ADULT" if arm == "cancer" else "RD-ADULT"],
                             "consented_on": max(referred, born), "given_by": "participant",
                             "choices": {"taking_part": True, "research_data": research_yes, "research_samples": True,
                                         "additional_findings": True, "recontact": True},
                             "status": "withdrawn" if withdrawn else "active", "recorded_by": "bench",
                             "recorded_at": now, "withdrawal_level": "no_further_use" if withdrawn else None,
                             "withdrawn_at": now if withdrawn else None})
            terms = [SEIZURE] if marked else []
            if arm == "rare_disease":
                terms += rng.sample(pool, rng.randint(3, 8))
            for term in terms:
                observations.append({"participant_id": i + 1, "hpo_id": term, "label": term, "in_release": True,
                                     "excluded": False, "modifiers": [], "note": "", "source": "bench",
                                     "hpo_release": "2025-01-16", "recorded_by": "bench", "recorded_at": now})
        for row in people:
            row.pop("marked")
        s.execute(sa.insert(Participant), people)
        s.execute(sa.insert(Referral), referrals)
        s.execute(sa.insert(TrustRegistration), registrations)
        s.execute(sa.insert(Consent), consents)
        s.execute(sa.insert(PhenotypeObservation), observations)
        s.execute(sa.insert(Case), [{"id": r["id"], "case_id": f"CB{r['id']:07d}", "referral_id": r["id"],
                                     "proband_id": r["participant_id"], "trust_id": r["trust_id"],
                                     "programme_arm": r["programme_arm"], "status": "interpretation",
                                     "created_at": now} for r in referrals])
        s.execute(sa.insert(GenomeDataset), [{
            "dataset_id": f"GB{i:08d}", "case_id": i + 1, "participant_id": i + 1, "vcf_sample": sample,
            "store_sample": sample, "kind": "germline", "source_path": f"batch-{i // 1000}", "file_sha256": f"{i // 1000:064d}",
            "file_size": 0, "build": "GRCh38", "store_dataset": f"research-bench-{i // 1000:04d}", "n_variants": 0,
            "n_new_sites": 0, "qc": {}, "qc_flags": [], "ingested_by": "bench", "ingested_at": now, "status": "stored"}
            for i, sample in enumerate(samples)])
    with db.transaction() as s:

        def principal(name: str):
            return principal_for(s, s.execute(sa.select(User).where(User.username == name)).scalar_one(),
                                 auth_method="cli")

        project = research.propose_project(s, principal("bench-researcher"), title="Benchmark project",
                                           purpose="Timing cohort counts and releases on a generated cohort")
        research.decide_project(s, principal("bench-approver"), project.project_id, approve=True, note="bench")
    db.dispose()


def main() -> None:
    """Builds the store and the database under --out and writes a JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--genomes", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared")
    args = parser.parse_args()
    started = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    samples = build_store(args.out / "variant_store" / "GRCh38", args.genomes, np.random.default_rng(args.seed))
    url = f"sqlite:///{(args.out / 'gmc.db').resolve()}"
    build_database(url, samples, args.shared, args.seed)
    (args.out / "marked.json").write_text(json.dumps({"hpo_terms": [SEIZURE], "hpo_descendants": False}))
    summary = {"genomes": len(samples), "marked": MARKED, "database": url, "seconds": round(time.time() - started)}
    (args.out / "bench_summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
