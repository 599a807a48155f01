"""Users, passwords, throttling and tokens at the service level, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gmc.audit.models import AuditEvent
from gmc.audit.service import Actor
from gmc.auth import service
from gmc.auth.models import LoginThrottle, User
from gmc.auth.passwords import verify_password
from gmc.auth.throttle import ThrottlePolicy
from gmc.common.errors import Conflict, NotFound, TooManyAttempts, ValidationFailed
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
        ({"username": "okname", "password": "aaaaaaaaaaaa", "roles": ["lab"]}, "password"),
        ({"username": "okname", "password": "password1234", "roles": ["lab"]}, "password"),
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


def test_failures_past_the_free_ones_make_the_next_attempt_wait(demo_database) -> None:
    policy = ThrottlePolicy(account_free=3, address_free=100, first_delay_seconds=30, max_delay_seconds=600)
    for attempt in range(1, 5):
        with demo_database.transaction() as s:
            out = service.authenticate(s, username="lab", password=f"wrong-{attempt}", address="10.1.1.1",
                                       policy=policy)
            assert out.user is None and out.error is not None and out.error.status_code == 401
    with demo_database.transaction() as s:
        # The fourth failure started a wait: even the right password is not checked before it ends (no 423, no
        # lock: the same answer an unknown name gets).
        out = service.authenticate(s, username="lab", password="demo-lab-2026", address="10.2.2.2", policy=policy)
        assert isinstance(out.error, TooManyAttempts) and 25 <= out.retry_after <= 31
        assert _events(s, "login_throttled") == 1 and _events(s, "login_failed") == 4
    with demo_database.transaction() as s:
        ghost = service.authenticate(s, username="nobody-here", password="x", address="10.3.3.3", policy=policy)
        assert ghost.error is not None and ghost.error.status_code == 401
    with demo_database.transaction() as s:  # the wait is over
        s.execute(sa.update(LoginThrottle).values(blocked_until=utcnow() - timedelta(seconds=1)))
    with demo_database.transaction() as s:
        out = service.authenticate(s, username="lab", password="demo-lab-2026", address="10.2.2.2", policy=policy)
        assert out.user is not None and out.stage == service.FULL


def test_unknown_names_are_throttled_exactly_like_real_ones(demo_database) -> None:
    policy = ThrottlePolicy(account_free=2, address_free=100, first_delay_seconds=30)
    answers = {}
    for name in ("lab", "no-such-user"):
        seen = []
        for attempt in range(4):
            with demo_database.transaction() as s:
                out = service.authenticate(s, username=name, password=f"wrong-{attempt}", address=f"10.0.0.{attempt}",
                                           policy=policy)
                seen.append((out.error.status_code, out.error.message.split(";")[0]))
        answers[name] = seen
    assert answers["lab"] == answers["no-such-user"]
    assert [code for code, _ in answers["lab"]] == [401, 401, 401, 429]


def test_one_address_guessing_many_names_is_slowed_down(demo_database) -> None:
    policy = ThrottlePolicy(account_free=5, address_free=3, first_delay_seconds=30)
    codes = []
    for i in range(5):
        with demo_database.transaction() as s:
            out = service.authenticate(s, username=f"name{i}", password="guess-guess-guess", address="192.0.2.7",
                                       policy=policy)
            codes.append(out.error.status_code)
    assert codes == [401, 401, 401, 401, 429]
    with demo_database.transaction() as s:  # another address is not affected
        assert service.authenticate(s, username="lab", password="demo-lab-2026", address="192.0.2.8",
                                    policy=policy).user is not None


@pytest.mark.parametrize("demo_db_url", ["postgresql"], indirect=True)
def test_a_burst_of_parallel_guesses_cannot_outrun_the_count(demo_database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    policy = ThrottlePolicy(account_free=3, address_free=1000, first_delay_seconds=30)

    def guess(i: int) -> int:
        with demo_database.transaction() as s:
            return service.authenticate(s, username="lab", password=f"guess-{i}", address=f"10.9.0.{i}",
                                        policy=policy).error.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(24)))
    # Only the free attempts and the one that started the wait had their password checked.
    assert codes.count(401) == 4 and codes.count(429) == 20


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


def test_tokens_must_expire_within_the_cap(demo_database) -> None:
    with demo_database.transaction() as s:
        user = s.execute(sa.select(User).where(User.username == "scientist")).scalar_one()
        with pytest.raises(ValidationFailed, match="at most 30 days"):
            service.create_token(s, actor=CLI, user=user, name="forever", days=365, max_days=30)
        with pytest.raises(ValidationFailed, match="must expire"):
            service.create_token(s, actor=CLI, user=user, name="forever", days=None, max_days=30)
        token, secret = service.create_token(s, actor=CLI, user=user, name="ok", days=30, max_days=30)
        # A token made before the cap, without an expiry, stops at the cap's age.
        token.expires_at = None
        token.created_at = utcnow() - timedelta(days=31)
    with demo_database.transaction() as s:
        assert service.user_for_token(s, secret, max_days=30) is None
        assert service.user_for_token(s, secret, max_days=60) is not None


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
