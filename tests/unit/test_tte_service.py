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
from cryptography.x509.oid import NameOID

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


REGISTRAR_TOKEN = {"realm_access": {"roles": ["default-roles-pdn-asn", "pdn-tte-registrar"]}}


def _registrar(service: SigningService, path: str, body: dict[str, Any], **claims: Any) -> Any:
    headers = {"Authorization": f"Bearer {_token(**claims)}"}
    return service.handle("POST", path, headers, json.dumps(body).encode())


def test_the_registrar_issues_an_officials_certificate_and_rotates_it(
    service: SigningService,
) -> None:
    official = {
        "tenant": "kab-bekasi",
        "name": "Hj. Ratna Kusumawati, S.H.",
        "official": "bupati",
        "title": "Bupati Bekasi",
        "email": "bupati@bekasikab.go.id",
    }
    first = _registrar(service, "/v1/certificates", official, **REGISTRAR_TOKEN)
    assert first.status == 201, first.body
    issued = json.loads(first.body)
    cert = x509.load_pem_x509_certificate(issued["certificate"].encode())
    named = {a.oid: a.value for a in cert.subject}
    assert named[NameOID.TITLE] == "Bupati Bekasi"
    assert named[NameOID.ORGANIZATIONAL_UNIT_NAME] == "kab-bekasi"
    assert named[NameOID.COMMON_NAME] == "Hj. Ratna Kusumawati, S.H."
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value == (
        x509.SubjectAlternativeName([x509.RFC822Name("bupati@bekasikab.go.id")])
    )

    second = json.loads(_registrar(service, "/v1/certificates", official, **REGISTRAR_TOKEN).body)
    assert second["serial"] != issued["serial"]
    looked_up = service.handle("GET", f"/v1/certificates/{issued['serial']}", {}, b"")
    assert json.loads(looked_up.body)["reason"] == "superseded"  # rotation: the old one ends
    registrar = {"Authorization": f"Bearer {_token(**REGISTRAR_TOKEN)}"}
    holder = service.handle("GET", "/v1/holders/kab-bekasi/bupati", registrar, b"")
    assert json.loads(holder.body)["serial"] == second["serial"]
    assert service.handle("GET", "/v1/holders/kab-bekasi/bupati", {}, b"").status == 401
    assert service.handle("GET", "/v1/holders/kab-bekasi", registrar, b"").status == 404

    revoked = _registrar(
        service,
        f"/v1/certificates/{second['serial']}/revoke",
        {"reason": "cessation_of_operation"},
        **REGISTRAR_TOKEN,
    )
    assert revoked.status == 200
    assert json.loads(revoked.body)["revoked_at"]


@pytest.mark.parametrize(
    ("claims", "body", "status", "says"),
    [
        ({TENANT_CLAIM: "kab-bekasi"}, {"tenant": "kab-bekasi", "name": "x"}, 403, "registrar"),
        (REGISTRAR_TOKEN | {"aud": "account"}, {"tenant": "t", "name": "x"}, 401, "Audience"),
        (REGISTRAR_TOKEN, {"name": "x"}, 400, "tenant: a text"),
        (REGISTRAR_TOKEN, {"tenant": "t", "name": "a\nb"}, 400, "control characters"),
        (REGISTRAR_TOKEN, ["not", "an", "object"], 400, "not a JSON object"),
    ],
)
def test_only_the_registrar_issues_and_only_what_is_well_formed(
    service: SigningService, claims: dict[str, Any], body: Any, status: int, says: str
) -> None:
    answer = _registrar(service, "/v1/certificates", body, **claims)
    assert answer.status == status, answer.body
    assert says in json.loads(answer.body)["error"]


def test_revoking_needs_the_registrar_and_a_known_serial(service: SigningService) -> None:
    seal = service.authority.current(profiles.Role.SIGNER, tenant="kemendagri")
    assert seal is not None
    path = f"/v1/certificates/{seal.serial}/revoke"
    assert _registrar(service, path, {}, **{TENANT_CLAIM: "kemendagri"}).status == 403
    assert (
        _registrar(service, "/v1/certificates/abc123/revoke", {}, **REGISTRAR_TOKEN).status == 404
    )
    assert service.handle("GET", "/v1/certificates/abc123", {}, b"").status == 404
    assert _registrar(service, path, {"reason": "bogus"}, **REGISTRAR_TOKEN).status == 400
    assert service.authority.current(profiles.Role.SIGNER, tenant="kemendagri") == seal
