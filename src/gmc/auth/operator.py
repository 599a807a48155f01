"""Who acts at the command line: a named gmc user (`gmc --as USER ...`), else the operating-system user.

A named user acts with their own roles and trust scope, and the audit trail names them. Without one, the command
runs as the server's operator (who holds the database credentials anyway) with national scope, and the audit trail
names the operating-system account (os:<login>), never an anonymous "user 0".
"""

from __future__ import annotations

import getpass
from contextvars import ContextVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from gmc.auth.models import User
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.common.errors import NotAuthenticated

_operator: ContextVar[str | None] = ContextVar("gmc_operator", default=None)


def set_operator(username: str | None) -> None:
    """Names the gmc user the rest of this command acts as (from the global --as option)."""
    _operator.set((username or "").strip().lower() or None)


def os_login() -> str:
    """The operating-system account running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def operator_principal(session: Session, *, as_user: str | None = None) -> Principal:
    """The principal of the command line: the --as user (their roles and scope), else the OS operator (national)."""
    name = (as_user or "").strip().lower() or _operator.get()
    if name:
        from gmc.auth.service import principal_for

        user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
        if user is None or not user.is_active:
            raise NotAuthenticated(f"--as {name}: no active gmc user of that name")
        return principal_for(session, user, auth_method="cli")
    login = os_login()
    return Principal(user_id=0, username=f"os:{login}", full_name=f"operator {login}", roles=frozenset({"admin"}),
                     permissions=frozenset(p.value for p in Permission), centre_id=None, trust_scope=None,
                     auth_method="cli")
