"""Roles and the permissions each grants: the one table every route's guard reads."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user does in the centre."""

    ADMIN = "admin"
    RECRUITER = "recruiter"
    LAB = "lab"
    SCIENTIST = "scientist"
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"
    PROGRAMME = "programme"
    #: Approves research projects and data releases (never their own requests).
    DATA_ACCESS = "data_access"


class Permission(StrEnum):
    """A thing a route may require."""

    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    ORGANISATIONS_READ = "organisations:read"
    PARTICIPANT_READ = "participant:read"
    PARTICIPANT_WRITE = "participant:write"
    CONSENT_WRITE = "consent:write"
    SAMPLE_READ = "sample:read"
    SAMPLE_WRITE = "sample:write"
    #: Change a centre's laboratory configuration: QC thresholds and turnaround targets (admins).
    LAB_CONFIGURE = "lab:configure"
    PHENOTYPE_READ = "phenotype:read"
    PHENOTYPE_WRITE = "phenotype:write"
    GENOME_READ = "genome:read"
    GENOME_WRITE = "genome:write"
    INTERPRETATION_READ = "interpretation:read"
    INTERPRETATION_WRITE = "interpretation:write"
    KNOWLEDGE_CURATE = "knowledge:curate"
    REPORT_SIGN = "report:sign"
    #: Receive released reports: the clinician's "new results" worklist and the "patient told" record.
    REPORT_RECEIVE = "report:receive"
    #: Hold MDT meetings and record their outcomes.
    MDT_WRITE = "mdt:write"
    #: Change the review rules (turnaround targets, whether an MDT is required).
    REPORT_CONFIGURE = "report:configure"
    RESEARCH_EXPORT = "research:export"
    PROGRAMME_VIEW = "programme:view"
    RESEARCH_APPROVE = "research:approve"
    BEACON_QUERY = "beacon:query"


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.RECRUITER: frozenset(
        {P.ORGANISATIONS_READ, P.PARTICIPANT_READ, P.PARTICIPANT_WRITE, P.CONSENT_WRITE, P.PHENOTYPE_READ,
         P.PHENOTYPE_WRITE, P.SAMPLE_READ}
    ),
    Role.LAB: frozenset({P.ORGANISATIONS_READ, P.PARTICIPANT_READ, P.SAMPLE_READ, P.SAMPLE_WRITE, P.GENOME_READ}),
    Role.SCIENTIST: frozenset(
        {P.ORGANISATIONS_READ, P.PARTICIPANT_READ, P.PHENOTYPE_READ, P.PHENOTYPE_WRITE, P.SAMPLE_READ,
         P.GENOME_READ, P.GENOME_WRITE, P.INTERPRETATION_READ, P.INTERPRETATION_WRITE, P.KNOWLEDGE_CURATE,
         P.REPORT_SIGN, P.MDT_WRITE}
    ),
    Role.CLINICIAN: frozenset(
        {P.ORGANISATIONS_READ, P.PARTICIPANT_READ, P.PARTICIPANT_WRITE, P.CONSENT_WRITE, P.PHENOTYPE_READ,
         P.PHENOTYPE_WRITE, P.SAMPLE_READ, P.GENOME_READ, P.INTERPRETATION_READ, P.REPORT_SIGN, P.REPORT_RECEIVE,
         P.MDT_WRITE}
    ),
    Role.RESEARCHER: frozenset({P.ORGANISATIONS_READ, P.RESEARCH_EXPORT, P.BEACON_QUERY}),
    Role.PROGRAMME: frozenset({P.ORGANISATIONS_READ, P.PROGRAMME_VIEW}),
    Role.DATA_ACCESS: frozenset({P.ORGANISATIONS_READ, P.RESEARCH_APPROVE, P.BEACON_QUERY}),
}


def permissions_for(roles: list[str] | set[str] | frozenset[str]) -> frozenset[str]:
    """The union of the permissions of these roles."""
    out: set[str] = set()
    for role in roles:
        out |= {p.value for p in ROLE_PERMISSIONS[Role(role)]}
    return frozenset(out)
