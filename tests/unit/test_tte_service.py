"""The signing service's API as a function of the request (no socket): only a token of a
tenant's SSO client signs, with that tenant's certificate; what it signs verifies; relying
parties get the CRLs, certificates, OCSP and the TSA. Tokens are real JWTs signed with a key of
this test (the integration test uses the real realm's)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

from pdn.tte import profiles
from pdn.tte.service import AUDIENCE, TENANT_CLAIM, SigningService, Tokens
from tests.unit.tte_fixtures import blank_pdf, make_authority

ISSUER = "https://127.0.0.1:18443/realms/pdn-asn"
REALM_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _token(**claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now} | claims
    return jwt.encode(body, REALM_KEY, algorithm="RS256")


@pytest.fixture
def service(tmp_path: Path) -> SigningService:
    site = make_authority(tmp_path)
    site.issue(profiles.Role.SIGNER, "Kementerian Dalam Negeri", tenant="kemendagri")
    return SigningService(site, Tokens(ISSUER, lambda _token: REALM_KEY.public_key()))


def _sign(service: SigningService, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return service.handle("POST", "/v1/sign?reason=Disetujui", headers, blank_pdf())


def test_a_tenants_token_signs_with_its_certificate_and_it_verifies(
    service: SigningService,
) -> None:
    signed = _sign(service, _token(**{TENANT_CLAIM: "kemendagri"}))
    assert signed.status == 200, signed.body
    assert signed.content_type == "application/pdf"
    answer = service.handle("POST", "/v1/verify", {}, signed.body)
    (verdict,) = json.loads(answer.body)
    assert verdict["valid"], verdict
    assert "Kementerian Dalam Negeri" in verdict["signer"]
    assert verdict["signed_at"]


@pytest.mark.parametrize(
    ("token", "status", "says"),
    [
        (None, 401, "bearer token"),
        (_token(**{TENANT_CLAIM: "kemendagri"}, aud="account"), 401, "Audience"),
        (_token(**{TENANT_CLAIM: "kemendagri"}, iss="https://elsewhere/realms/x"), 401, "issuer"),
        (_token(**{TENANT_CLAIM: "kemendagri"}, exp=int(time.time()) - 10), 401, "expired"),
        (_token(), 401, "names no tenant"),
        (_token(**{TENANT_CLAIM: "kab-bekasi"}), 409, "no valid signing certificate"),
        ("not-a-jwt", 401, "not accepted"),
    ],
)
def test_only_a_tenant_with_a_certificate_signs(
    service: SigningService, token: str | None, status: int, says: str
) -> None:
    answer = _sign(service, token)
    assert answer.status == status
    assert says in json.loads(answer.body)["error"]


def test_a_token_signed_by_another_key_is_refused(service: SigningService) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, TENANT_CLAIM: "kemendagri"},
        other,
        algorithm="RS256",
    )
    assert _sign(service, forged).status == 401


def test_relying_parties_get_what_they_need(service: SigningService) -> None:
    crl = service.handle("GET", "/crl/pdn-local.crl", {}, b"")
    assert crl.status == 200
    x509.load_der_x509_crl(crl.body)
    assert service.handle("GET", "/crl/root.crl", {}, b"").status == 200
    national = x509.load_der_x509_certificate(
        service.handle("GET", "/certs/root.crt", {}, b"").body
    )
    assert national.subject == service.authority.chain()[1].subject
    stamp = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\x02" * 32,
            },
        }
    )
    answer = service.handle("POST", "/tsa", {}, stamp.dump())
    assert tsp.TimeStampResp.load(answer.body)["status"]["status"].native == "granted"
    signer = service.authority.current(profiles.Role.SIGNER, tenant="kemendagri")
    assert signer is not None
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(
            service.authority.certificate(signer.serial),
            service.authority.chain()[0],
            hashes.SHA256(),
        )
        .build()
    )
    status = service.handle("POST", "/ocsp", {}, request.public_bytes(serialization.Encoding.DER))
    assert ocsp.load_der_ocsp_response(status.body).certificate_status == ocsp.OCSPCertStatus.GOOD
    assert service.handle("GET", "/nothing", {}, b"").status == 404


def test_a_broken_pdf_gets_a_message_not_a_crash(service: SigningService) -> None:
    token = _token(**{TENANT_CLAIM: "kemendagri"})
    answer = service.handle("POST", "/v1/sign", {"Authorization": f"Bearer {token}"}, b"<html>")
    assert answer.status == 400
    assert "not a PDF" in json.loads(answer.body)["error"]
