"""Users, passwords, lockout and tokens at the service level, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gmc.audit.models import AuditEvent
from gmc.audit.service import Actor
from gmc.auth import service
from gmc.auth.models import User
from gmc.auth.passwords import verify_password
from gmc.common.errors import AccountLocked, Conflict, NotFound, ValidationFailed
from gmc.common.time import utcnow

CLI = Actor.system("test")


def _events(s, verb: str) -> int:
    return s.execute(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.verb == verb)).scalar_one()


def test_password_is_hashed_with_argon2(demo_database) -> None:
    with demo_database.transaction() as s:
        user = service.create_user(s, actor=CLI, username="New.User", password="a-long-password", roles=["lab"],
                                   centre_code="WMGMC", centre_wide=True)
        assert user.username == "new.user"
        assert user.password_hash.startswith("$argon2id$")
        assert "a-long-password" not in user.password_hash
        assert verify_password(user.password_hash, "a-long-password")
        assert not verify_password(user.password_hash, "wrong-password")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "x", "roles": ["lab"]}, "username"),
        ({"username": "okname", "password": "short", "roles": ["lab"]}, "password"),
        ({"username": "okname", "roles": ["wizard"]}, "roles"),
        ({"username": "okname", "roles": []}, "roles"),
        ({"username": "okname", "roles": ["lab"], "trust_codes": ["ZZZ"]}, "trust_code"),
        ({"username": "okname", "roles": ["lab"], "centre_code": "WMGMC"}, "trust_codes"),
        ({"username": "okname", "roles": ["lab"], "centre_code": "WMGMC", "trust_codes": ["RJ1"]}, "trust_codes"),
    ],
)
def test_bad_user_input_changes_nothing(demo_database, kwargs, field) -> None:
    args = {"password": "a-long-password", **kwargs}
    with demo_database.session() as s:
        before_users = s.execute(sa.select(sa.func.count(User.id))).scalar_one()
        before_events = s.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one()
    with pytest.raises((ValidationFailed, NotFound)) as info:
        with demo_database.transaction() as s:
            service.create_user(s, actor=CLI, **args)
    assert info.value.field == field
    with demo_database.session() as s:
        assert s.execute(sa.select(sa.func.count(User.id))).scalar_one() == before_users
        assert s.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one() == before_events


def test_duplicate_username_conflicts(demo_database) -> None:
    with pytest.raises(Conflict), demo_database.transaction() as s:
        service.create_user(s, actor=CLI, username="ADMIN", password="a-long-password", roles=["lab"],
                            centre_code="WMGMC", centre_wide=True)


def test_lockout_after_repeated_failures(demo_database) -> None:
    for attempt in range(1, 4):
        with demo_database.transaction() as s:
            out = service.authenticate(s, username="lab", password=f"wrong-{attempt}", lockout_threshold=3,
                                       lockout_minutes=15)
            assert out.user is None
    with demo_database.transaction() as s:
        out = service.authenticate(s, username="lab", password="demo-lab-2026", lockout_threshold=3,
                                   lockout_minutes=15)
        assert isinstance(out.error, AccountLocked)
        assert _events(s, "account_locked") == 1
        assert _events(s, "login_failed") == 4
        # The lock expires.
        user = s.execute(sa.select(User).where(User.username == "lab")).scalar_one()
        user.locked_until = utcnow() - timedelta(seconds=1)
    with demo_database.transaction() as s:
        out = service.authenticate(s, username="lab", password="demo-lab-2026", lockout_threshold=3,
                                   lockout_minutes=15)
        assert out.user is not None and out.user.failed_login_count == 0


def test_token_lifecycle(demo_database) -> None:
    with demo_database.transaction() as s:
        user = s.execute(sa.select(User).where(User.username == "scientist")).scalar_one()
        token, secret = service.create_token(s, actor=CLI, user=user, name="pipeline", days=1)
        assert secret.startswith("gmc_pat_") and token.token_hash != secret and secret not in token.token_hash
    with demo_database.transaction() as s:
        found = service.user_for_token(s, secret)
        assert found is not None and found[0].username == "scientist"
        assert service.user_for_token(s, secret + "x") is None
        assert service.user_for_token(s, "not-a-token") is None
    with demo_database.transaction() as s:
        principal = service.principal_for(s, found[0], auth_method="token")
        service.revoke_token(s, actor=principal.actor, principal=principal, token_id=token.id)
    with demo_database.transaction() as s:
        assert service.user_for_token(s, secret) is None


def test_expired_token_is_refused(demo_database) -> None:
    with demo_database.transaction() as s:
        user = s.execute(sa.select(User).where(User.username == "scientist")).scalar_one()
        token, secret = service.create_token(s, actor=CLI, user=user, name="old", days=1)
        token.expires_at = utcnow() - timedelta(minutes=1)
    with demo_database.transaction() as s:
        assert service.user_for_token(s, secret) is None


def test_scope_follows_trusts_and_centre(demo_database) -> None:
    with demo_database.transaction() as s:
        def principal(name: str):
            u = s.execute(sa.select(User).where(User.username == name)).scalar_one()
            return service.principal_for(s, u, auth_method="session")

        recruiter, admin, programme, south = (principal(n) for n in ("recruiter", "admin", "programme",
                                                                          "sl-recruiter"))
        assert recruiter.trust_scope is not None and len(recruiter.trust_scope) == 2
        assert admin.trust_scope is not None and len(admin.trust_scope) == 18
        assert programme.trust_scope is None
        assert south.trust_scope is not None and not (south.trust_scope & admin.trust_scope)
        assert "users:manage" in admin.permissions and "users:manage" not in recruiter.permissions
