"""The object store's files and command line, without running it: the admin key is made once
and owner-only, every listener is named, and only this DC's stray sockets are removed."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import pytest

from pdn.dc import object_storage, pki
from pdn.dc.errors import DCError
from pdn.dc.settings import DCSettings, Ports


@pytest.fixture
def settings(tmp_path: Path) -> DCSettings:
    # Ports no running DC uses: the socket test must never touch a live store's sockets.
    ports = Ports(**{f.name: getattr(Ports(), f.name) + 40000 for f in dataclasses.fields(Ports)})
    return DCSettings(site_code="pdn-test", state_root=tmp_path, ports=ports)


def test_the_admin_key_is_made_once_and_private(settings: DCSettings) -> None:
    ca = pki.ensure_ca(settings.pki_dir, "ca", "test CA")
    cert, identities = object_storage.ensure_files(settings, ca)
    first = identities.read_text()
    assert identities.stat().st_mode & 0o077 == 0
    assert object_storage.ensure_files(settings, ca)[1].read_text() == first
    key = json.loads(first)["identities"][0]["credentials"][0]
    access = object_storage.admin_access(settings, ca.cert)
    assert (access.access_key, access.secret_key) == (key["accessKey"], key["secretKey"])
    assert access.endpoint == f"https://127.0.0.1:{settings.ports.s3_https}"
    toml = settings.object_storage_dir / "data" / "master.toml"
    assert "copy_1 = 2" in toml.read_text()
    assert cert.cert.is_file()


def test_every_listener_is_named_on_the_command_line(settings: DCSettings) -> None:
    spec = object_storage.process_spec(settings, settings.pki_dir / "ca.crt")
    argv = " ".join(spec.argv)
    for port in spec.ports:
        assert f"={port}" in argv, port
    assert "-master.telemetry=false" in argv
    assert spec.cwd == settings.object_storage_dir / "data"


def test_only_this_dcs_stray_sockets_are_removed(settings: DCSettings) -> None:
    temp = Path(tempfile.gettempdir())
    ours = temp / f"seaweedfs-filer-grpc-{settings.ports.storage_filer_grpc}.sock"
    theirs = temp / "seaweedfs-filer-grpc-1.sock"
    ours.touch()
    theirs.touch()
    try:
        assert object_storage.remove_stray_sockets(settings) == [str(ours)]
        assert not ours.exists()
        assert theirs.exists()
    finally:
        ours.unlink(missing_ok=True)
        theirs.unlink(missing_ok=True)


def test_a_missing_key_file_says_what_to_run(settings: DCSettings) -> None:
    with pytest.raises(DCError, match="run `pdn dc up`"):
        object_storage.admin_access(settings, Path("/x/ca.crt"))
