"""The local DC's e-signature authority without starting anything: the ceremony with the
local stand-in for the offline root happens once, the root stays outside the DC's state, the
service's own certificates are made up front, and a new tenant certificate supersedes the old."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pdn.dc import tte
from pdn.dc.settings import DCSettings
from pdn.tte import profiles, root


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DCSettings:
    monkeypatch.delenv(tte.PASSPHRASE_ENV, raising=False)
    return DCSettings(site_code="pdn-local", state_root=tmp_path)


def test_the_ceremony_happens_once_with_the_root_outside_the_dc(settings: DCSettings) -> None:
    site = tte.ensure_authority(settings)
    offline = tte.offline_root(settings)
    assert not offline.is_relative_to(settings.root)
    assert (offline / root.KEY).is_file()
    assert not any(p.name == root.KEY for p in settings.root.rglob("*"))
    kept = offline.parent / "tte-root.passphrase"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    site_ca = site.chain()[0]
    site_ca.verify_directly_issued_by(root.certificate(offline))
    assert site.current(profiles.Role.TSA) is not None
    assert site.current(profiles.Role.OCSP) is not None
    again = tte.ensure_authority(settings)
    assert again.chain()[0] == site_ca
    assert len(again.registry()) == 2  # TSA and OCSP, made once


def test_a_passphrase_from_the_environment_opens_the_root(
    settings: DCSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(tte.PASSPHRASE_ENV, "a passphrase the custodians hold")
    tte.ensure_authority(settings)
    assert not (tte.offline_root(settings).parent / "tte-root.passphrase").exists()
    root.crl(tte.offline_root(settings), b"a passphrase the custodians hold")


def test_a_new_certificate_supersedes_the_tenants_previous_one(settings: DCSettings) -> None:
    tte.ensure_authority(settings)
    first = tte.issue_for_tenant(settings, "kemendagri", "Kementerian Dalam Negeri")
    second = tte.issue_for_tenant(settings, "kemendagri", "Kementerian Dalam Negeri")
    official = tte.issue_for_tenant(
        settings, "kemendagri", "Budi Santoso", official="dirjen-dukcapil", title="Dirjen"
    )
    registry = {e.serial: e for e in tte.authority(settings).registry()}
    assert registry[first.serial].reason == "superseded"
    assert registry[second.serial].revoked_at is None
    assert registry[official.serial].revoked_at is None  # an official's is their own
    assert "CN=Budi Santoso" in official.subject
