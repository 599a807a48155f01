"""The demo centre: West Midlands with its 18 trusts, South London, and one user per role.

Each feature adds its own demo data through a loader listed in DEMO_LOADERS; running it twice is safe.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import pyotp
from sqlalchemy.orm import Session

from gmc.audit.service import Actor, record
from gmc.audit.verbs import AuditVerb
from gmc.auth import repository as auth_repository
from gmc.auth import second_factor
from gmc.auth import service as auth_service
from gmc.organisations import service as org_service
from gmc.organisations.reference import CENTRES
from gmc.refdata.errors import MissingReferenceData


@dataclass(frozen=True)
class DemoUser:
    """A demo login listed in the README."""

    username: str
    password: str
    roles: tuple[str, ...]
    full_name: str
    centre_code: str | None
    trust_codes: tuple[str, ...] = ()
    centre_wide: bool = False


DEMO_USERS: list[DemoUser] = [
    DemoUser("admin", "demo-admin-2026", ("admin",), "Ada Admin", "WMGMC", centre_wide=True),
    DemoUser("recruiter", "demo-recruiter-2026", ("recruiter",), "Rita Recruiter", "WMGMC", ("RQ3", "RLU")),
    DemoUser("lab", "demo-lab-2026", ("lab",), "Leo Lab", "WMGMC", centre_wide=True),
    DemoUser("scientist", "demo-scientist-2026", ("scientist",), "Sam Scientist", "WMGMC", centre_wide=True),
    # A second clinical scientist: reports are authorised by someone other than their author (four eyes).
    DemoUser("checker", "demo-checker-2026", ("scientist",), "Chris Checker", "WMGMC", centre_wide=True),
    DemoUser("clinician", "demo-clinician-2026", ("clinician",), "Cleo Clinician", "WMGMC", ("RRK", "RQ3")),
    DemoUser("researcher", "demo-researcher-2026", ("researcher",), "Rory Researcher", "WMGMC", centre_wide=True),
    DemoUser("programme", "demo-programme-2026", ("programme",), "Pat Programme", None, centre_wide=True),
    DemoUser("sl-recruiter", "demo-slrecruiter-2026", ("recruiter",), "Sian South-London", "SLGMC", ("RJ1", "RJZ")),
    DemoUser("dataaccess", "demo-dataaccess-2026", ("data_access",), "Dana Data-Access", None, centre_wide=True),
]


#: The demo administrator's published TOTP key (administrators must use a second factor). Add it to an
#: authenticator app, or print the current code with `gmc demo --admin-code`. Never use it outside the demo.
DEMO_ADMIN_TOTP_SECRET = "GMCDEMOADMINKEYPUBLISHEDFORDEMOS"


@dataclass
class DemoSummary:
    """What a demo load created (counts per kind of thing), and what it skipped and why."""

    created: dict[str, int] = field(default_factory=dict)
    #: (what, why) of each part of the demo that was not loaded.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, n: int = 1) -> None:
        """Counts n more created things of a kind."""
        self.created[kind] = self.created.get(kind, 0) + n

    def skip(self, what: str, why: str) -> None:
        """Notes demo data that was not loaded, and why (e.g. its reference data is not installed)."""
        self.skipped.append((what, why))


DemoLoader = Callable[[Session, Actor, DemoSummary], None]


def load_organisations(session: Session, actor: Actor, summary: DemoSummary) -> None:
    """Creates the reference centres and trusts."""
    for code, name, region, target, trusts in CENTRES:
        centre = org_service.ensure_centre(session, actor=actor, code=code, name=name, region=region,
                                           genome_target=target)
        for trust_code, trust_name in trusts:
            org_service.ensure_trust(session, actor=actor, centre=centre, code=trust_code, name=trust_name)
    session.flush()
    summary.add("centres", len(CENTRES))


def load_users(session: Session, actor: Actor, summary: DemoSummary) -> None:
    """Creates one demo user per role (and a second centre's recruiter), skipping existing ones."""
    for demo in DEMO_USERS:
        if auth_repository.get_user_by_username(session, demo.username) is not None:
            continue
        user = auth_service.create_user(session, actor=actor, username=demo.username, password=demo.password,
                                        roles=list(demo.roles), full_name=demo.full_name, centre_code=demo.centre_code,
                                        trust_codes=list(demo.trust_codes), centre_wide=demo.centre_wide)
        if "admin" in demo.roles:
            second_factor.enrol(session, actor=actor, user=user, secret=DEMO_ADMIN_TOTP_SECRET,
                                code=pyotp.TOTP(DEMO_ADMIN_TOTP_SECRET).now())
            user.totp_last_step = None  # the loader's own code is not one a person typed: leave it usable
        summary.add("users")


#: Loaders of the foundation, in order.
DEMO_LOADERS: list[DemoLoader] = [load_organisations, load_users]

#: Each feature's demo module, in ladder order: a module `demo.py` with `load_demo(session, actor, summary)`.
FEATURE_DEMO_MODULES = [
    "gmc.registry.demo",
    "gmc.samples.demo",
    "gmc.phenotype.demo",
    "gmc.genomics.demo",
    "gmc.interpretation.rare.demo",
    "gmc.interpretation.cancer.demo",
    "gmc.reporting.demo",
    "gmc.research.demo",
    "gmc.programme.demo",
]


def feature_loaders() -> list[DemoLoader]:
    """The demo loaders of the features that have one."""
    loaders: list[DemoLoader] = []
    for name in FEATURE_DEMO_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        loaders.append(module.load_demo)
    return loaders


def describe_loader(loader: DemoLoader) -> str:
    """What a loader loads, for progress lines: its feature module's summary (or its own docstring)."""
    module = importlib.import_module(loader.__module__)
    doc = (module.__doc__ if loader.__module__ != __name__ else loader.__doc__) or loader.__name__
    # The first sentence, which may wrap over several docstring lines.
    paragraph = " ".join(line.strip() for line in doc.strip().split("\n\n")[0].splitlines())
    return paragraph.split(". ")[0].rstrip(",.;:")


def load_demo(session: Session, progress: Callable[[int, int, DemoLoader], None] | None = None) -> DemoSummary:
    """Loads the whole demo centre (idempotent); the caller commits. progress(i, n, loader) runs before each step."""
    actor = Actor.system("demo")
    summary = DemoSummary()
    features = feature_loaders()
    total = len(DEMO_LOADERS) + len(features)
    for i, loader in enumerate(DEMO_LOADERS, start=1):
        if progress is not None:
            progress(i, total, loader)
        loader(session, actor, summary)
    for i, loader in enumerate(features, start=len(DEMO_LOADERS) + 1):
        if progress is not None:
            progress(i, total, loader)
        # A feature whose reference data is not installed is skipped whole (its savepoint rolled back).
        savepoint = session.begin_nested()
        try:
            loader(session, actor, summary)
        except MissingReferenceData as missing:
            savepoint.rollback()
            summary.skip(loader.__module__.removeprefix("gmc.").removesuffix(".demo"), str(missing))
        else:
            savepoint.commit()
    record(session, actor=actor, verb=AuditVerb.DEMO_LOAD, entity_type="demo", summary=summary.created)
    return summary
