"""Programme demo: the national targets and each centre's, over a programme that began two years ago."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from gmc.audit.service import Actor
from gmc.auth.permissions import Permission
from gmc.auth.principal import Principal
from gmc.programme import repository as repo
from gmc.programme import service
from gmc.programme.models import NATIONAL

#: Years a demo plan runs (the 100,000 Genomes Project recruited for about four).
YEARS = 4


def load_demo(session: Session, actor: Actor, summary: Any) -> None:
    """Sets the demo plans once: the national targets, and each centre's contracted genome target."""
    if repo.plans(session):
        return
    principal = Principal(user_id=0, username=actor.name, full_name="demo loader", roles=frozenset({"admin"}),
                          permissions=frozenset(p.value for p in Permission), centre_id=None, trust_scope=None,
                          auth_method="system")
    today = date.today()
    start = date(today.year - 2, today.month, 1)
    end = date(start.year + YEARS, start.month, 1)
    for measure, target in service.NATIONAL_TARGETS.items():
        service.set_plan(session, principal, scope=NATIONAL, measure=measure, target=target, starts_on=start,
                         ends_on=end)
        summary.add("programme plans")
    for centre in repo.centres(session):
        if centre.genome_target:
            service.set_plan(session, principal, scope=centre.code, measure="genomes", target=centre.genome_target,
                             starts_on=start, ends_on=end)
            summary.add("programme plans")
