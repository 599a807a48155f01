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
    RESEARCH_EXPORT = "research:export"
    PROGRAMME_VIEW = "programme:view"


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
         P.GENOME_READ, P.GENOME_WRITE, P.INTERPRETATION_READ, P.INTERPRETATION_WRITE, P.KNOWLEDGE_CURATE}
    ),
    Role.CLINICIAN: frozenset(
        {P.ORGANISATIONS_READ, P.PARTICIPANT_READ, P.PARTICIPANT_WRITE, P.CONSENT_WRITE, P.PHENOTYPE_READ,
         P.PHENOTYPE_WRITE, P.SAMPLE_READ, P.GENOME_READ, P.INTERPRETATION_READ, P.REPORT_SIGN}
    ),
    Role.RESEARCHER: frozenset({P.ORGANISATIONS_READ, P.RESEARCH_EXPORT}),
    Role.PROGRAMME: frozenset({P.ORGANISATIONS_READ, P.PROGRAMME_VIEW}),
}


def permissions_for(roles: list[str] | set[str] | frozenset[str]) -> frozenset[str]:
    """The union of the permissions of these roles."""
    out: set[str] = set()
    for role in roles:
        out |= {p.value for p in ROLE_PERMISSIONS[Role(role)]}
    return frozenset(out)
