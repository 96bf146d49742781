"""The DC's Keycloak: which Java it runs on, its command line (production start, TLS, its
database over verified TLS, no secret), and its credentials (made once, owner-only)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pdn.dc import pki, sso
from pdn.dc.errors import DCError
from pdn.dc.settings import DCSettings


def _jdk(root: Path, name: str, version: str) -> Path:
    (root / name / "bin").mkdir(parents=True)
    (root / name / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    java = root / name / "bin/java"
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    return java


@pytest.fixture
def settings(tmp_path: Path) -> DCSettings:
    return DCSettings(site_code="x", state_root=tmp_path / "state")


def test_keycloak_runs_on_the_newest_java_of_at_least_21(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sso, "JVM_DIR", tmp_path)
    _jdk(tmp_path, "java-17-openjdk-amd64", "17.0.13")
    _jdk(tmp_path, "openjdk-21", "21.0.5")
    newest = _jdk(tmp_path, "temurin-25-jdk-amd64", "25.0.3")
    assert sso.java() == newest


def test_without_java_21_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sso, "JVM_DIR", tmp_path)
    _jdk(tmp_path, "java-17-openjdk-amd64", "17.0.13")
    with pytest.raises(DCError, match=r"needs Java 21 or newer, and .* has none: install one"):
        sso.java()


def test_credentials_are_made_once_and_kept_owner_only(settings: DCSettings) -> None:
    first = sso.credentials(settings)
    assert sso.credentials(settings) == first
    assert first.admin_password != first.database_password
    assert len(first.admin_password) >= 32
    kept = settings.root / "sso/credentials.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700


def test_a_broken_credentials_file_says_what_to_do(settings: DCSettings) -> None:
    kept = settings.root / "sso/credentials.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{not json")
    with pytest.raises(DCError, match=r"unreadable .*: remove it and run `pdn dc up`"):
        sso.credentials(settings)


def test_keycloak_starts_for_production_with_no_secret_on_its_command_line(
    settings: DCSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sso, "JVM_DIR", tmp_path / "jvm")
    java = _jdk(tmp_path / "jvm", "temurin-25", "25.0.3")
    ca = pki.KeyPair(tmp_path / "ca.crt", tmp_path / "ca.key")
    spec = sso.process_spec(settings, ca)
    argv = list(spec.argv)
    assert argv[0] == str(java)
    assert argv[argv.index("io.quarkus.bootstrap.runner.QuarkusEntryPoint") + 1 :][:2] == [
        "start",
        "--optimized",
    ]
    assert f"--hostname=https://127.0.0.1:{settings.ports.sso}" in argv
    assert "--http-enabled=false" in argv
    database = next(a for a in argv if a.startswith("--db-url="))
    assert f"sslmode=verify-full&sslrootcert={ca.cert}" in database
    found = sso.credentials(settings)
    assert spec.env is not None
    assert spec.env["KC_BOOTSTRAP_ADMIN_PASSWORD"] == found.admin_password
    assert spec.env["KC_DB_PASSWORD"] == found.database_password
    assert not any(found.admin_password in a or found.database_password in a for a in argv)
    assert spec.ports == (settings.ports.sso, settings.ports.sso_management)
