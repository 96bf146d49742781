"""The DC's e-signature service, for real: `pdn dc up` runs it over HTTPS with its site CA
signed by the (offline stand-in) national root; a tenant's service client gets a token from the
real Keycloak and the service signs a PDF with that tenant's certificate only; the signature
verifies with the national chain; after revocation the older signature still verifies as made
before it, a signature made with the revoked key fails, and the service signs again only after
a new certificate (rotation); killed by PID, it comes back with its certificates."""

from __future__ import annotations

import json
import os
import signal
import ssl
import time
import urllib.parse
from typing import Any

import pytest
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from pdn.cli.main import main
from pdn.dc import tte
from pdn.sso import realms
from pdn.tenants.rollout import shard_stack
from pdn.tenants.shards import shard_of
from pdn.tte import profiles, root, signing, tsa
from tests.integration.conftest import SITE, Onboarded
from tests.unit.tte_fixtures import blank_pdf

pytestmark = pytest.mark.integration


def _http(onboarded: Onboarded) -> urllib3.PoolManager:
    ca = (onboarded.dc.settings.pki_dir / "ca.crt").read_text()
    return urllib3.PoolManager(ssl_context=ssl.create_default_context(cadata=ca), retries=False)


def _call(
    onboarded: Onboarded, method: str, path: str, body: bytes = b"", token: str = ""
) -> urllib3.BaseHTTPResponse:
    headers = {"Content-Type": "application/pdf"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return _http(onboarded).request(
        method, tte.url(onboarded.dc.settings) + path, body=body or None, headers=headers
    )


def _client_token(onboarded: Onboarded, slug: str, client_id: str) -> str:
    secret = shard_stack(onboarded.env, SITE, shard_of(slug)).outputs(show_secrets=True)[
        "sso_client_secrets"
    ][slug][client_id]
    access = onboarded.dc.sso_admin()
    answer = urllib3.PoolManager(
        ssl_context=ssl.create_default_context(cadata=access.ca_pem)
    ).request(
        "POST",
        f"{access.url}/realms/{realms.CIVIL_SERVANTS}/protocol/openid-connect/token",
        body=urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200, answer.data
    return str(json.loads(answer.data)["access_token"])


def _verdicts(onboarded: Onboarded, pdf: bytes) -> list[dict[str, Any]]:
    answer = _call(onboarded, "POST", "/v1/verify", pdf)
    assert answer.status == 200, answer.data
    found: list[dict[str, Any]] = json.loads(answer.data)
    return found


def _pdn(onboarded: Onboarded, *args: str) -> int:
    """`pdn ARGS` as an operator of this DC runs it (the DC found from its state dir)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PDN_STATE_DIR", str(onboarded.dc.settings.state_root))
        return main(list(args))


def _issue(onboarded: Onboarded, slug: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert _pdn(onboarded, "tte", "issue", slug) == 0
    return capsys.readouterr().out.split()[1].rstrip(":")


def test_the_service_chains_to_the_offline_root_which_is_not_in_the_dc(
    onboarded: Onboarded,
) -> None:
    settings = onboarded.dc.settings
    answer = _call(onboarded, "GET", "/certs/root.crt")
    assert answer.status == 200
    national = x509.load_der_x509_certificate(answer.data)
    offline = tte.offline_root(settings)
    assert national == root.certificate(offline)
    site_ca = x509.load_der_x509_certificate(_call(onboarded, "GET", f"/certs/{SITE}.crt").data)
    site_ca.verify_directly_issued_by(national)
    # The root's key is encrypted on its media, and is nowhere in the DC's state.
    assert b"ENCRYPTED PRIVATE KEY" in (offline / root.KEY).read_bytes()
    root_key = serialization.load_pem_private_key(
        (offline / root.KEY).read_bytes(), tte._passphrase(settings)
    )
    secrets_ = [
        root_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        (offline / root.KEY).read_bytes(),
    ]
    leaks = [
        str(p)
        for p in settings.root.rglob("*")
        if p.is_file() and any(s in p.read_bytes() for s in secrets_)
    ]
    assert leaks == []


def test_a_tenant_signs_through_the_service_and_revocation_is_proven(
    onboarded: Onboarded, capsys: pytest.CaptureFixture[str]
) -> None:
    serial = _issue(onboarded, "kemendagri", capsys)
    token = _client_token(onboarded, "kemendagri", "kemendagri-siak-sync")
    signed = _call(
        onboarded, "POST", "/v1/sign?reason=Disetujui&location=Jakarta", blank_pdf(), token
    )
    assert signed.status == 200, signed.data
    (verdict,) = _verdicts(onboarded, signed.data)
    assert verdict["valid"], verdict
    assert "Kementerian Dalam Negeri" in verdict["signer"]
    assert verdict["serial"] == serial
    # Another tenant's token signs only as that tenant: kab-bekasi has no certificate yet.
    other = _client_token(onboarded, "kab-bekasi", "kab-bekasi-arsip")
    refused = _call(onboarded, "POST", "/v1/sign", blank_pdf(), other)
    assert refused.status == 409, refused.data
    assert _call(onboarded, "POST", "/v1/sign", blank_pdf()).status == 401

    time.sleep(tsa.ACCURACY_SECONDS + 0.2)  # revoked later than the TSA's accuracy
    assert _pdn(onboarded, "tte", "revoke", serial, "--reason", "key_compromise") == 0
    (older,) = _verdicts(onboarded, signed.data)
    assert older["valid"], json.dumps(older)  # signed before the revocation
    assert older["revoked_at"]
    # A signature made with the revoked key (as a thief would) fails.
    authority = tte.authority(onboarded.dc.settings)
    stamper = authority.current(profiles.Role.TSA)
    assert stamper is not None
    stolen = signing.sign(authority, serial, stamper.serial, blank_pdf(), reason="x", location="y")
    (forged,) = _verdicts(onboarded, stolen)
    assert not forged["valid"], forged
    # OCSP says so too, over HTTP.
    cert = authority.certificate(serial)
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, authority.chain()[0], hashes.SHA256())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    status = ocsp.load_der_ocsp_response(_call(onboarded, "POST", "/ocsp", request).data)
    assert status.certificate_status == ocsp.OCSPCertStatus.REVOKED
    # The service does not sign with a revoked certificate; a new one (rotation) signs.
    assert _call(onboarded, "POST", "/v1/sign", blank_pdf(), token).status == 409
    _issue(onboarded, "kemendagri", capsys)
    again = _call(onboarded, "POST", "/v1/sign", blank_pdf(), token)
    assert again.status == 200
    (fresh,) = _verdicts(onboarded, again.data)
    assert fresh["valid"], fresh


def test_killed_by_pid_it_comes_back_with_its_certificates(onboarded: Onboarded) -> None:
    dc = onboarded.dc
    before = _call(onboarded, "GET", f"/certs/{SITE}.crt").data
    pid = dc.supervisor.pid(tte.NAME)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    dc.up(progress=lambda _: None)
    assert dc.supervisor.pid(tte.NAME) not in (None, pid)
    assert _call(onboarded, "GET", f"/certs/{SITE}.crt").data == before
