"""The DC's e-signature service, for real: `pdn dc up` runs it over HTTPS with its site CA
signed by the (offline stand-in) national root; the tenant stacks have a certificate issued for
each tenant's seal and each official its file lists (through the registrar API, with the real
Keycloak's token); a tenant's service client gets a token and the service signs a PDF with that
tenant's certificate only; the signature verifies with the national chain; after revocation the
older signature still verifies as made before it, a signature made with the revoked key fails,
and the next `up` issues a new certificate (rotation); one rotated by hand is adopted; killed by
PID, the service comes back with its certificates."""

from __future__ import annotations

import json
import os
import signal
import ssl
import time
from typing import Any

import pytest
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from pdn.dataservices.sql import ENGINES
from pdn.dc import object_storage, tte
from pdn.sso import realms
from pdn.sso.admin import Admin, AdminLogin, Server
from pdn.tenants.rollout import existing_shards, shard_stack
from pdn.tenants.shards import shard_of
from pdn.tte import profiles, root, signing, tsa
from tests.integration.conftest import SITE, Onboarded, plaintext_leaks
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


def _verdicts(onboarded: Onboarded, pdf: bytes) -> list[dict[str, Any]]:
    answer = _call(onboarded, "POST", "/v1/verify", pdf)
    assert answer.status == 200, answer.data
    found: list[dict[str, Any]] = json.loads(answer.data)
    return found


def _certificates(onboarded: Onboarded, slug: str) -> dict[str, str]:
    """The tenant's signing certificates as its shard stack reports them: holder -> serial."""
    outputs = shard_stack(onboarded.env, SITE, shard_of(slug)).outputs()
    found: dict[str, str] = outputs["signing_certificates"][slug]
    return found


def test_every_seal_and_official_of_the_files_has_a_certificate(onboarded: Onboarded) -> None:
    authority = tte.authority(onboarded.dc.settings)
    held = {e.serial: e for e in authority.registry()}
    for slug, name, holders in (
        ("kemendagri", "Kementerian Dalam Negeri", {"seal"}),
        ("kab-bekasi", "Pemerintah Kabupaten Bekasi", {"seal", "bupati", "sekda"}),
    ):
        certificates = _certificates(onboarded, slug)
        assert set(certificates) == holders
        seal = held[certificates["seal"]]
        assert (seal.tenant, seal.official, seal.revoked_at) == (slug, None, None)
        assert f"CN={name}" in seal.subject
    bupati = authority.certificate(_certificates(onboarded, "kab-bekasi")["bupati"])
    named = {a.oid: a.value for a in bupati.subject}
    assert named[x509.NameOID.TITLE] == "Bupati Bekasi"
    assert named[x509.NameOID.COMMON_NAME] == "Hj. Ratna Kusumawati, S.H."
    assert named[x509.NameOID.ORGANIZATIONAL_UNIT_NAME] == "kab-bekasi"


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
    onboarded: Onboarded,
) -> None:
    serial = _certificates(onboarded, "kemendagri")["seal"]
    token = onboarded.client_token("kemendagri", "kemendagri-siak-sync")
    signed = _call(
        onboarded, "POST", "/v1/sign?reason=Disetujui&location=Jakarta", blank_pdf(), token
    )
    assert signed.status == 200, signed.data
    (verdict,) = _verdicts(onboarded, signed.data)
    assert verdict["valid"], verdict
    assert "Kementerian Dalam Negeri" in verdict["signer"]
    assert verdict["serial"] == serial
    # Another tenant's token signs only as that tenant, with its own seal.
    other = onboarded.client_token("kab-bekasi", "kab-bekasi-arsip")
    theirs = _call(onboarded, "POST", "/v1/sign", blank_pdf(), other)
    assert theirs.status == 200, theirs.data
    (their_verdict,) = _verdicts(onboarded, theirs.data)
    assert "Pemerintah Kabupaten Bekasi" in their_verdict["signer"]
    assert their_verdict["serial"] == _certificates(onboarded, "kab-bekasi")["seal"]
    assert _call(onboarded, "POST", "/v1/sign", blank_pdf()).status == 401

    time.sleep(tsa.ACCURACY_SECONDS + 0.2)  # revoked later than the TSA's accuracy
    assert onboarded.pdn("tte", "revoke", serial, "--reason", "key_compromise") == 0
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
    # The service does not sign with a revoked certificate; the next `up` (with a refresh, as
    # `pdn tenant up --refresh`) finds the seal gone and issues a new one, which signs.
    assert _call(onboarded, "POST", "/v1/sign", blank_pdf(), token).status == 409
    onboarded.roll_out(["kemendagri"], refresh=True)
    renewed = _certificates(onboarded, "kemendagri")["seal"]
    assert renewed != serial
    again = _call(onboarded, "POST", "/v1/sign", blank_pdf(), token)
    assert again.status == 200
    (fresh,) = _verdicts(onboarded, again.data)
    assert fresh["valid"], fresh
    assert fresh["serial"] == renewed


def test_a_certificate_rotated_by_hand_is_adopted_by_the_stack(
    onboarded: Onboarded, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _certificates(onboarded, "kab-bekasi")["bupati"]
    assert onboarded.pdn("tte", "issue", "kab-bekasi", "--official", "bupati") == 0
    rotated = capsys.readouterr().out.split()[1].rstrip(":")
    onboarded.roll_out(["kab-bekasi"], refresh=True)
    assert _certificates(onboarded, "kab-bekasi")["bupati"] == rotated
    held = {e.serial: e for e in tte.authority(onboarded.dc.settings).registry()}
    assert held[before].reason == "superseded"
    assert held[rotated].revoked_at is None  # adopted, not superseded by yet another one
    # An official the file does not list is refused, with what to do.
    assert onboarded.pdn("tte", "issue", "kab-bekasi", "--official", "camat") == 1
    assert "lists no official 'camat' (its officials: bupati, sekda)" in capsys.readouterr().err


def test_killed_by_pid_it_comes_back_with_its_certificates(onboarded: Onboarded) -> None:
    dc = onboarded.dc
    before = _call(onboarded, "GET", f"/certs/{SITE}.crt").data
    pid = dc.supervisor.pid(tte.NAME)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    dc.up(progress=lambda _: None)
    assert dc.supervisor.pid(tte.NAME) not in (None, pid)
    assert _call(onboarded, "GET", f"/certs/{SITE}.crt").data == before


def test_no_key_nor_generated_secret_stands_in_plaintext(onboarded: Onboarded) -> None:
    """The national root's key (and its passphrase), the site CA's and every issued
    certificate's keys, the SSO's admin password, every client secret (the registrar's too),
    every database password and object-store key: nowhere in plaintext in the state (every
    version), the stack configs, the repo, the DC's logs, nor the e-signature service's files
    beside their keys. Each key or password has one home (an owner-only file), not searched."""
    dc, settings = onboarded.dc, onboarded.dc.settings
    secrets_: list[str | bytes] = [dc.sso_admin().password]
    secrets_ += [dc.database_admin(engine).password for engine in ENGINES]
    secrets_ += [dc.object_storage_admin().secret_key]
    access = dc.sso_admin()
    admin = Admin(AdminLogin(Server(access.url, access.ca_pem), access.user, access.password))
    secrets_.append(realms.registrar_secret(admin))
    for shard in existing_shards(onboarded.env, SITE):
        outputs = shard_stack(onboarded.env, SITE, shard).outputs(show_secrets=True)
        for output in ("sso_client_secrets", "database_passwords", "object_storage_secret_keys"):
            for found in (outputs.get(output) or {}).values():
                secrets_ += list(found.values()) if isinstance(found, dict) else [found]
    generated = len(secrets_)
    # The keys, as DER and as unencrypted PEM.
    offline = tte.offline_root(settings)
    passphrase = tte._passphrase(settings)
    keys = [serialization.load_pem_private_key((offline / root.KEY).read_bytes(), passphrase)]
    authority = tte.authority(settings)
    key_files = {authority.directory / "site.key", *authority.directory.glob("keys/*.key")}
    keys += [serialization.load_pem_private_key(p.read_bytes(), None) for p in key_files]
    for private in keys:
        for encoding in (serialization.Encoding.DER, serialization.Encoding.PEM):
            plain = private.private_bytes(
                encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            secrets_.append(
                plain if encoding is serialization.Encoding.DER else plain[28:92]
            )  # a line of its base64 body
    secrets_.append(passphrase)
    homes = {
        *key_files,
        offline.parent / "tte-root.passphrase",
        settings.root / "sso" / "credentials.json",
        settings.root / "databases" / "admins.json",
        *(object_storage.file_paths(settings, s)[1] for s in object_storage.STORES),
    }
    service_files = [p for p in authority.directory.rglob("*") if p.is_file()]
    service_files += [p for p in offline.parent.rglob("*") if p.is_file()]
    leaks, searched = plaintext_leaks(onboarded, secrets_, homes=homes, logs=service_files)
    print(f"\nsearched {searched} files for {generated} secrets and {len(keys)} keys")
    assert generated > 10
    assert leaks == []
