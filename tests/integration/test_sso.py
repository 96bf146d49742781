"""The DC's single sign-on server, as `pdn dc up` runs it: the real Keycloak over TLS signed by the
DC's CA, its data in the DC's PostgreSQL, its secrets nowhere on a command line or in its log,
and killed by PID it comes back with its data."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pdn.dataservices import sql
from pdn.dc import databases, sso
from pdn.dc.lifecycle import LocalDC

pytestmark = pytest.mark.integration


def _ca(dc: LocalDC) -> Path:
    return dc.settings.pki_dir / "ca.crt"


def _call(dc: LocalDC, path: str, data: dict[str, str] | None = None, token: str = "") -> Any:
    """Keycloak's answer to a GET (or a form POST) over TLS verified by the DC's CA."""
    request = urllib.request.Request(  # noqa: S310 (https, the DC's own server)
        sso.url(dc.settings) + path,
        data=urllib.parse.urlencode(data).encode() if data is not None else None,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    context = ssl.create_default_context(cafile=str(_ca(dc)))
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310
        return json.loads(answer.read())


def _admin_token(dc: LocalDC, password: str | None = None) -> str:
    found = sso.credentials(dc.settings)
    answer = _call(
        dc,
        "/realms/master/protocol/openid-connect/token",
        {
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": found.admin_user,
            "password": found.admin_password if password is None else password,
        },
    )
    return str(answer["access_token"])


def test_keycloak_answers_over_tls_signed_by_the_dc_ca(local_dc: LocalDC) -> None:
    status = {c.name: c for c in local_dc.status().components}
    assert status[sso.NAME].healthy, status[sso.NAME]
    discovery = _call(local_dc, "/realms/master/.well-known/openid-configuration")
    assert discovery["issuer"] == f"{sso.url(local_dc.settings)}/realms/master"
    # Nothing but TLS: the port does not speak plain HTTP.
    plain = f"http://{local_dc.settings.listen_host}:{local_dc.settings.ports.sso}/"
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(plain, timeout=5)


def test_it_listens_on_loopback_only(local_dc: LocalDC) -> None:
    """One node with a local cache: no cluster transport (JGroups) on the DC's addresses."""
    pid = local_dc.supervisor.pid(sso.NAME)
    listening = subprocess.run(
        ["ss", "-ltnpH"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.splitlines()
    ours = [line.split()[3] for line in listening if f"pid={pid}," in line]
    assert {f"127.0.0.1:{local_dc.settings.ports.sso}"} <= {
        a.removeprefix("[::ffff:").replace("]", "") for a in ours
    }
    assert all(a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for a in ours), ours


def test_the_platform_admin_logs_in_and_a_wrong_password_is_refused(local_dc: LocalDC) -> None:
    token = _admin_token(local_dc)
    realms = _call(local_dc, "/admin/realms", token=token)
    assert "master" in {r["realm"] for r in realms}
    with pytest.raises(urllib.error.HTTPError) as refused:
        _admin_token(local_dc, password="not-the-password")
    # OAuth 2.0 (RFC 6749 5.2): a grant with wrong credentials is a 400 invalid_grant.
    assert refused.value.code == 400
    assert json.loads(refused.value.read()) == {
        "error": "invalid_grant",
        "error_description": "Invalid user credentials",
    }


def test_no_secret_is_on_its_command_line_or_in_its_log(local_dc: LocalDC) -> None:
    pid = local_dc.supervisor.pid(sso.NAME)
    assert pid is not None
    found = sso.credentials(local_dc.settings)
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    log = local_dc.supervisor.log_file(sso.NAME).read_text(errors="replace")
    for secret in (found.admin_password, found.database_password):
        assert secret not in cmdline
        assert secret not in log


def _realms_in_postgresql(dc: LocalDC) -> set[str]:
    access = databases.admin_access(dc.settings, sql.POSTGRESQL, _ca(dc))
    with sql.connect(access.server, access.user, access.password, sso.DATABASE) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM realm").fetchall()}


def test_killed_by_pid_it_comes_back_with_its_data(local_dc: LocalDC) -> None:
    """Its data is in the DC's PostgreSQL: a realm made before the kill is there after."""
    token = _admin_token(local_dc)
    request = urllib.request.Request(  # noqa: S310
        sso.url(local_dc.settings) + "/admin/realms",
        data=json.dumps({"realm": "it-before-kill", "enabled": True}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    context = ssl.create_default_context(cafile=str(_ca(local_dc)))
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310
        assert answer.status == 201
    assert "it-before-kill" in _realms_in_postgresql(local_dc)
    pid = local_dc.supervisor.pid(sso.NAME)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    local_dc.supervisor.stop(sso.NAME)  # reaps it; the PID file goes with it
    assert not {c.name: c for c in local_dc.status().components}[sso.NAME].healthy
    local_dc.up(progress=lambda _: None)
    assert local_dc.supervisor.pid(sso.NAME) not in {None, pid}
    token = _admin_token(local_dc)
    assert "it-before-kill" in {r["realm"] for r in _call(local_dc, "/admin/realms", token=token)}
