"""GA4GH Beacon v2: info, map, configuration, entry types, and boolean or count answers for individuals and
genomic variations. Answers read only research-eligible participants (the one research rule), never say who,
and a count of 1-9 is never given: the answer falls back to boolean and says why."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gmc import __version__
from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.common.errors import ValidationFailed
from gmc.genomics.service import gene_spans, store_root
from gmc.genomics.store.layout import MAX_POSITION, StoreError, StoreLayout
from gmc.genomics.store.queries import VariantFilter, VariantStore
from gmc.research import repository as repo
from gmc.research.cohort import Criteria, Qualifying
from gmc.research.selection import check_criteria, select_members
from gmc.research.suppression import is_small
from gmc.settings import Settings

API_VERSION = "v2.0.1"
GRANULARITIES = ("boolean", "count")
#: Entry types this Beacon answers, with the default model's schema each follows.
ENTRY_TYPES = {
    "individual": {"path": "individuals", "schema": "beacon-individual-v2.0.0", "name": "Individual",
                   "ontology": ("NCIT:C25190", "Person"),
                   "description": "A consented, research-eligible participant of the programme (counted, never "
                                  "listed)."},
    "genomicVariation": {"path": "g_variants", "schema": "beacon-g_variant-v2.0.0", "name": "Genomic Variants",
                         "ontology": ("ENSGLOSSARY:0000092", "Variant"),
                         "description": "An allele carried by at least one research-eligible participant."},
}
#: NCIT sex terms Beacon clients send, and the programme's values.
SEX_TERMS = {"NCIT:C16576": "female", "NCIT:C20197": "male", "NCIT:C17998": "unknown", "NCIT:C17649": "other"}
_ASSEMBLIES = {"grch38": "GRCh38", "hg38": "GRCh38", "grch37": "GRCh37", "hg19": "GRCh37"}
_CHROM = re.compile(r"^(?:chr)?([0-9]{1,2}|X|Y|MT|M)$", re.IGNORECASE)
_BASES = re.compile(r"^[ACGTN]+$")


class BeaconRequestError(ValidationFailed):
    """A Beacon request the service cannot answer as asked (answered with a Beacon error response)."""


@dataclass
class BeaconQuery:
    """A parsed Beacon request: criteria for the individuals, the genomic part, the granularity asked."""

    criteria: Criteria
    granularity: str = "count"
    #: (build, chrom, start, end, ref, alt) of a sequence or range query; None without one.
    region: tuple[str, str, int, int, str | None, str | None] | None = None
    gene: str | None = None
    received: dict[str, Any] = field(default_factory=dict)


def _meta(settings: Settings, entity: str, schema: str) -> dict[str, Any]:
    return {"beaconId": settings.beacon_id, "apiVersion": API_VERSION,
            "returnedSchemas": [{"entityType": entity, "schema": schema}]}


def _organization(settings: Settings) -> dict[str, Any]:
    return {"id": settings.beacon_id.rsplit(".", 1)[0] or settings.beacon_id, "name": "Genomic Medicine Centre (gmc)",
            "description": "A Genomic Medicine Centre sharing consented, pseudonymised data for research."}


def info(settings: Settings) -> dict[str, Any]:
    """The Beacon's info response."""
    return {"meta": _meta(settings, "info", "beacon-info-v2.0.0"), "response": {
        "id": settings.beacon_id, "name": "gmc Beacon", "apiVersion": API_VERSION,
        "environment": "prod" if settings.is_production else settings.environment.lower()[:4] or "dev",
        "organization": _organization(settings), "version": f"v{__version__}",
        "description": "Counts of research-eligible participants by HPO phenotype (with descendants), diagnosis, "
                       "sex and variant, and whether an allele is carried. Counts of 1-9 are not given.",
        "info": {"granularity": settings.beacon_granularity, "security": settings.beacon_security,
                 "smallNumbers": "counts of 1-9 are answered as exists: true with no count"}}}


def configuration(settings: Settings) -> dict[str, Any]:
    """The Beacon's configuration: entry types, maturity and security."""
    levels = ["PUBLIC", "REGISTERED"] if settings.beacon_security == "public" else ["REGISTERED"]
    return {"meta": _meta(settings, "configuration", "beacon-configuration-v2.0.0"), "response": {
        "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/"
                   "beaconConfigurationSchema.json",
        "maturityAttributes": {"productionStatus": "PROD" if settings.is_production else "DEV"},
        "securityAttributes": {"defaultGranularity": settings.beacon_granularity, "securityLevels": levels},
        "entryTypes": entry_types_dict()}}


def entry_types_dict() -> dict[str, Any]:
    """The entry types as the configuration and entry_types responses declare them."""
    return {key: {"id": key, "name": spec["name"], "description": spec["description"],
                  "partOfSpecification": "Beacon v2.0.0",
                  "ontologyTermForThisType": {"id": spec["ontology"][0], "label": spec["ontology"][1]},
                  "defaultSchema": {"id": spec["schema"], "name": f"Default schema for {spec['name'].lower()}",
                                    "referenceToSchemaDefinition": "https://raw.githubusercontent.com/ga4gh-beacon/"
                                    f"beacon-v2/main/models/json/beacon-v2-default-model/{spec['path']}"
                                    "/defaultSchema.json", "schemaVersion": "v2.0.0"},
                  "nonFilteredQueriesAllowed": True}
            for key, spec in ENTRY_TYPES.items()}


def entry_types(settings: Settings) -> dict[str, Any]:
    """The Beacon's entry_types response."""
    return {"meta": _meta(settings, "entryType", "beacon-entry-types-v2.0.0"),
            "response": {"entryTypes": entry_types_dict()}}


def beacon_map(settings: Settings, server_url: str) -> dict[str, Any]:
    """The Beacon's map: where each entry type is answered on this server."""
    server = server_url.rstrip("/")
    return {"meta": _meta(settings, "map", "beacon-map-v2.0.0"), "response": {
        "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/"
                   "beaconMapSchema.json",
        "endpointSets": {key: {"entryType": key, "rootUrl": f"{server}/api/beacon/{spec['path']}",
                               "openAPIEndpointsDefinition": f"{server}/openapi.json"}
                         for key, spec in ENTRY_TYPES.items()}}}


def error(settings: Settings, code: int, message: str) -> dict[str, Any]:
    """A Beacon error response."""
    return {"meta": {"beaconId": settings.beacon_id, "apiVersion": API_VERSION, "returnedSchemas": [],
                     "returnedGranularity": "boolean",
                     "receivedRequestSummary": {"apiVersion": API_VERSION, "requestedSchemas": [],
                                                "pagination": {"skip": 0, "limit": 0},
                                                "requestedGranularity": "boolean"}},
            "error": {"errorCode": code, "errorMessage": message}}


# ----------------------------------------------------------------------------- requests


def _filters(raw: Any) -> tuple[list[str], list[str], list[str], bool]:
    """HPO ids, disease codes and sexes of a Beacon filter list, and whether HPO descendants count."""
    items: list[dict[str, Any]] = []
    if isinstance(raw, str):
        items = [{"id": part.strip()} for part in raw.split(",") if part.strip()]
    elif isinstance(raw, list):
        for item in raw:
            items.append({"id": item} if isinstance(item, str) else dict(item) if isinstance(item, dict) else {})
    elif raw:
        raise BeaconRequestError("filters must be a list of filtering terms", field="filters")
    hpo, diseases, sexes, unknown = [], [], [], []
    descendants = True
    for item in items:
        term = str(item.get("id", "")).strip()
        if "operator" in item or "value" in item:
            raise BeaconRequestError(f"filter {term!r}: alphanumeric filters are not supported; use ontology terms "
                                     "(HP:, OMIM:, ORPHA:, MONDO:, NCIT sex terms)", field="filters")
        if item.get("includeDescendantTerms") is False:
            descendants = False
        upper = term.upper()
        if upper.startswith("HP:"):
            hpo.append(upper)
        elif upper.startswith(("OMIM:", "ORPHA:", "ORPHANET:", "MONDO:")):
            diseases.append(term)
        elif upper in SEX_TERMS:
            sexes.append(SEX_TERMS[upper])
        else:
            unknown.append(term)
    if unknown:
        raise BeaconRequestError(f"filter(s) {', '.join(unknown)} are not supported: this Beacon filters on HPO "
                                 "terms, OMIM/ORPHA/MONDO diagnoses and NCIT sex terms", field="filters")
    return hpo, diseases, sexes, descendants


def _integer(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BeaconRequestError(f"{name} must be a whole number", field=name) from None


def parse_request(params: dict[str, Any], filters: Any, granularity: str | None) -> BeaconQuery:
    """A Beacon request (GET query parameters or a POST body's query) as criteria and a genomic part."""
    hpo, diseases, sexes, descendants = _filters(filters)
    assembly = str(params.get("assemblyId") or "GRCh38")
    build = _ASSEMBLIES.get(assembly.lower().split(".")[0])
    if build is None:
        raise BeaconRequestError(f"assemblyId {assembly!r} is not GRCh38 or GRCh37", field="assemblyId")
    region = None
    name = params.get("referenceName")
    start = _integer(params, "start")
    if name is not None or start is not None:
        match = _CHROM.match(str(name or ""))
        if not match or start is None:
            raise BeaconRequestError("a genomic query needs referenceName (1-22, X, Y, MT) and start (0-based)",
                                     field="referenceName")
        chrom = "MT" if match.group(1).upper() in ("M", "MT") else match.group(1).upper()
        end = _integer(params, "end")
        ref, alt = params.get("referenceBases"), params.get("alternateBases")
        if alt is not None:
            if not ref or not _BASES.match(str(ref).upper()) or not _BASES.match(str(alt).upper()):
                raise BeaconRequestError("a sequence query needs referenceBases and alternateBases of A, C, G, T, N",
                                         field="alternateBases")
            ref, alt = str(ref).upper(), str(alt).upper()
            end = start + len(ref)
        if end is None:
            raise BeaconRequestError("give alternateBases (a sequence query) or end (a range query)", field="end")
        if not 0 <= start < end or end - start > 10_000_000 or end > MAX_POSITION:
            raise BeaconRequestError("start and end must be 0-based, start < end, and span at most 10 Mb",
                                     field="start")
        region = (build, chrom, start + 1, end, ref, alt)
    gene = params.get("geneId")
    if isinstance(gene, list):
        gene = gene[0] if gene else None
    criteria = Criteria(hpo_terms=tuple(dict.fromkeys(hpo)), hpo_descendants=descendants,
                        disease_codes=tuple(dict.fromkeys(diseases)), sexes=tuple(dict.fromkeys(sexes)),
                        genes=(str(gene).upper(),) if gene else (),
                        qualifying=Qualifying(impacts=(), clinvar="no", max_population_af=None, pass_only=False),
                        build=build)
    asked = (granularity or "count").lower()
    if asked not in ("boolean", "count", "record"):
        raise BeaconRequestError("requestedGranularity must be boolean, count or record", field="requestedGranularity")
    return BeaconQuery(check_criteria(criteria), asked, region, str(gene).upper() if gene else None)


# ----------------------------------------------------------------------------- answers


def _allele_calls(query: BeaconQuery, store_base: Path | None) -> tuple[str, list[tuple[str, str]]]:
    """The build, and (allele, store sample) of every call of the sequence, range or gene queried."""
    build = query.region[0] if query.region else query.criteria.build
    root = store_root(build, store_base)
    if not StoreLayout(root).exists():
        return build, []
    store = VariantStore(root)
    try:
        if query.region is not None:
            _, chrom, start, end, ref, alt = query.region
            if alt is not None:
                calls = store.variant_carriers(chrom, start, ref, alt, filters=VariantFilter())
            else:
                calls = store.gene_carriers((chrom, start, end), qualifying=VariantFilter())
            tables = [calls]
        else:
            tables = [store.gene_carriers(span, qualifying=VariantFilter())
                      for span in gene_spans((query.gene,), build).values()]
    except StoreError as exc:
        raise BeaconRequestError(str(exc), field="referenceName") from None
    return build, [(f"{r['chrom']}-{r['pos']}-{r['ref']}-{r['alt']}", r["sample"])
                   for t in tables for r in t.select(["sample", "chrom", "pos", "ref", "alt"]).to_pylist()]


def answer(session: Session, settings: Settings, entry: str, query: BeaconQuery, *, actor: Actor,
           anonymous: bool, store_base: Path | None = None) -> dict[str, Any]:
    """A boolean or count response for individuals or g_variants (audited; who matched is never returned)."""
    if entry == "genomicVariation" and query.region is None and query.gene is None:
        raise BeaconRequestError("g_variants needs a sequence query (referenceName, start, referenceBases, "
                                 "alternateBases), a range (referenceName, start, end) or a geneId",
                                 field="referenceName")
    members = select_members(session, query.criteria, trust_scope=None, store_base=store_base).members
    alleles: set[str] = set()
    if query.region is not None or entry == "genomicVariation":
        build, calls = _allele_calls(query, store_base)
        owner = {d.store_sample: d.participant_pk for d in repo.germline_datasets(session) if d.build == build}
        if query.region is not None:
            members &= {owner[sample] for _, sample in calls if sample in owner}
        alleles = {allele for allele, sample in calls if owner.get(sample) in members}
    count = len(alleles) if entry == "genomicVariation" else len(members)
    allowed = "boolean" if anonymous or settings.beacon_granularity == "boolean" else "count"
    granularity = "boolean" if query.granularity == "boolean" else allowed
    notes: dict[str, Any] = {}
    if query.granularity == "record":
        notes["granularity"] = "record-level answers are not given: individuals are counted, never listed"
    if granularity == "count" and is_small(count):
        granularity = "boolean"
        notes["suppressed"] = ("the count is between 1 and 9 and is not given (small-number suppression); "
                               "exists: true says only that there is at least one")
    summary: dict[str, Any] = {"exists": count > 0}
    if granularity == "count":
        summary["numTotalResults"] = count
    spec = ENTRY_TYPES[entry]
    received: dict[str, Any] = {"apiVersion": API_VERSION, "requestedSchemas": [],
                                "pagination": {"skip": 0, "limit": 0}, "requestedGranularity": query.granularity}
    if query.criteria.hpo_terms or query.criteria.disease_codes or query.criteria.sexes:
        received["filters"] = [*query.criteria.hpo_terms, *query.criteria.disease_codes, *query.criteria.sexes]
    if query.region or query.gene:
        # The framework's summary keys request parameters by what they describe (a dictionary of objects).
        received["requestParameters"] = {"genomicVariation": {k: v for k, v in {
            "assemblyId": query.criteria.build, "geneId": query.gene,
            "referenceName": query.region[1] if query.region else None,
            "start": query.region[2] - 1 if query.region else None,
            "end": query.region[3] if query.region else None,
            "referenceBases": query.region[4] if query.region else None,
            "alternateBases": query.region[5] if query.region else None}.items() if v is not None}}
    response = {"meta": {"beaconId": settings.beacon_id, "apiVersion": API_VERSION, "returnedGranularity": granularity,
                         "receivedRequestSummary": received,
                         "returnedSchemas": [{"entityType": entry, "schema": spec["schema"]}]},
                "responseSummary": summary}
    if notes:
        response["info"] = notes
    record(session, actor=actor, verb=AuditVerb.SEARCH, entity_type="beacon", entity_id=spec["path"],
           summary={"granularity": granularity, "exists": count > 0, "suppressed": "suppressed" in notes,
                    "filters": received.get("filters", []), "request": received.get("requestParameters", {})})
    return response
