"""Settings: defaults, the GMC_ prefix, production safety and the reference-data error."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmc.settings import DEFAULT_AUDIT_KEY, DEFAULT_SECRET_KEY, ConfigurationError, Settings


def test_defaults_use_sqlite_under_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "var", _env_file=None)
    assert s.database_url == f"sqlite:///{(tmp_path / 'var' / 'gmc.db').resolve()}"
    assert s.cookie_secure is False


def test_environment_variables_with_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GMC_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("GMC_REFDATA", str(tmp_path))
    monkeypatch.setenv("GMC_LOGIN_FREE_FAILURES", "3")
    s = Settings(_env_file=None)
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.refdata_dir() == tmp_path
    assert s.login_free_failures == 3


def test_production_refuses_default_and_short_secret() -> None:
    with pytest.raises(ConfigurationError, match="GMC_SECRET_KEY"):
        Settings(environment="production", secret_key=DEFAULT_SECRET_KEY, _env_file=None).check_production_safety()
    with pytest.raises(ConfigurationError, match="GMC_SECRET_KEY"):
        Settings(environment="production", secret_key="short", _env_file=None).check_production_safety()
    ok = Settings(environment="production", secret_key="x" * 40, audit_key="a" * 40, _env_file=None)
    ok.check_production_safety()
    assert ok.cookie_secure is True


def test_production_refuses_default_short_or_reused_audit_key() -> None:
    for key in (DEFAULT_AUDIT_KEY, "short", "x" * 40):
        with pytest.raises(ConfigurationError, match="GMC_AUDIT_KEY"):
            Settings(environment="production", secret_key="x" * 40, audit_key=key,
                     _env_file=None).check_production_safety()


def test_missing_refdata_names_the_variable(tmp_path: Path) -> None:
    s = Settings(refdata=tmp_path / "nowhere", _env_file=None)
    with pytest.raises(ConfigurationError, match="GMC_REFDATA"):
        s.refdata_dir()


def test_default_refdata_finds_shared(refdata_dir: Path) -> None:
    s = Settings(_env_file=None)
    assert s.refdata_dir() == refdata_dir.resolve()
    assert s.refdata_path("MANIFEST.md").is_file()
    with pytest.raises(ConfigurationError, match="missing"):
        s.refdata_path("no-such-file.txt")
