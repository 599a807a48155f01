"""The fixed table of audit verbs: every recorded action uses one of these."""

from __future__ import annotations

from enum import StrEnum


class AuditVerb(StrEnum):
    """What was done. Features add verbs here, never free text."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    READ = "read"
    SEARCH = "search"
    EXPORT = "export"
    IMPORT = "import"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    ACCOUNT_LOCKED = "account_locked"
    LOGOUT = "logout"
    TOKEN_CREATE = "token_create"
    TOKEN_REVOKE = "token_revoke"
    ROLE_GRANT = "role_grant"
    MERGE = "merge"
    UNMERGE = "unmerge"
    LINK = "link"
    CONSENT_RECORD = "consent_record"
    CONSENT_WITHDRAW = "consent_withdraw"
    ELIGIBILITY_DECIDE = "eligibility_decide"
    TRANSITION = "transition"
    STORE = "store"
    MOVE = "move"
    SHIP = "ship"
    RECEIVE = "receive"
    DESTROY = "destroy"
    INGEST = "ingest"
    INTERPRET = "interpret"
    CLASSIFY = "classify"
    OVERRIDE = "override"
    APPROVE = "approve"
    REJECT = "reject"
    SIGN_OFF = "sign_off"
    DEMO_LOAD = "demo_load"
