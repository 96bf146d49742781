"""The signing service's HTTP API, as the DC runs it (HTTPS, its own process): sign and verify
PDFs for tenants, and publish what relying parties need to check signatures anywhere.

    POST /v1/sign?reason=..&location=..   application/pdf -> the signed PDF
        Authorization: Bearer <access token of the tenant's SSO client> (audience pdn-tte,
        claim pdn_tenant): the PDF is signed with that tenant's current certificate only.
    POST /v1/verify                       application/pdf -> JSON: each signature's verdict
    POST /v1/certificates                 JSON {tenant, name, official?, title?, email?} ->
        201 JSON: a new signing certificate for the holder (the tenant's seal, or an official),
        its previous one superseded (rotation). Bearer token of the registrar (realm role
        pdn-tte-registrar, audience pdn-tte).
    POST /v1/certificates/<serial>/revoke JSON {reason} (the registrar) -> JSON
    GET  /v1/certificates/<serial>        JSON: the certificate (PEM) and its status
    GET  /v1/holders/<tenant>[/<official>] (the registrar) JSON: the holder's valid certificate
    POST /tsa                             application/timestamp-query (RFC 3161)
    POST /ocsp                            application/ocsp-request (RFC 6960)
    GET  /crl/<site>.crl, /crl/root.crl   DER revocation lists
    GET  /certs/root.crt, /certs/<site>.crt

`handle` is the whole API as a function of the request (the server only moves bytes), so the
same code answers in tests and in the DC.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization

from pdn.sso import tokens as sso_tokens
from pdn.sso.realms import SIGNING_AUDIENCE
from pdn.sso.tenants import TENANT_CLAIM as SSO_TENANT_CLAIM
from pdn.sso.tokens import ForbiddenError
from pdn.tte import profiles, signing, tsa
from pdn.tte.errors import TteError
from pdn.tte.site import Issued, SiteAuthority, load_key

# What the SSO puts in a tenant's server-side clients' tokens (pdn/sso/tenants.py).
AUDIENCE, TENANT_CLAIM = SIGNING_AUDIENCE, SSO_TENANT_CLAIM
MAX_PDF = 50 * 2**20  # a bigger upload is refused before it is read
PDF = "application/pdf"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    @staticmethod
    def error(status: int, message: str) -> Answer:
        return Answer(status, "application/json", json.dumps({"error": message}).encode())


class Tokens(sso_tokens.Tokens):
    """Access tokens of the civil servants' realm for this service's audience (pdn-tte)."""

    def __init__(self, issuer: str, key_for: sso_tokens.KeyFor) -> None:
        super().__init__(issuer, key_for, AUDIENCE)

    @staticmethod
    def from_realm(issuer: str, ca_pem: str, audience: str = AUDIENCE) -> Tokens:
        realm = sso_tokens.Tokens.from_realm(issuer, ca_pem, audience)
        return Tokens(issuer, realm.key_for)


def _issued_json(issued: Issued, pem: bytes) -> dict[str, Any]:
    return {**asdict(issued), "certificate": pem.decode()}


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        found = json.loads(body or b"{}")
    except ValueError:
        raise TteError("the request's body is not JSON") from None
    if not isinstance(found, dict):
        raise TteError("the request's body is not a JSON object")
    return found


def _optional(found: dict[str, Any], key: str) -> str | None:
    return None if found.get(key) is None else _text(found, key)


def _text(found: dict[str, Any], key: str) -> str:
    value = found.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise TteError(f"{key}: a text of 1 to 200 characters is required")
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise TteError(f"{key}: control characters are not accepted")
    return value


def _certificate_serial(path: str) -> str | None:
    """`<serial>` or `<serial>/revoke` of a /v1/certificates/ path (a serial is hex)."""
    rest = path.removeprefix("/v1/certificates/")
    if rest == path:
        return None
    serial = rest.removesuffix("/revoke")
    if not serial or any(c not in "0123456789abcdef" for c in serial) or len(serial) > 40:
        return None
    return rest


def _json_default(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class SigningService:
    def __init__(self, authority: SiteAuthority, tokens: Tokens) -> None:
        self.authority, self.tokens = authority, tokens

    def _tsa_serial(self) -> str:
        current = self.authority.current(profiles.Role.TSA)
        if current is None:
            current = self.authority.issue(
                profiles.Role.TSA, f"PDN {self.authority.site} Time-Stamping Authority"
            )
        return current.serial

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        path, _, query = target.partition("?")
        params = dict(urllib.parse.parse_qsl(query))
        try:
            return self._route(method, path, params, headers, body)
        except PermissionError as err:
            return Answer.error(401, str(err))
        except ForbiddenError as err:
            return Answer.error(403, str(err))
        except TteError as err:
            return Answer.error(400, str(err))

    def _route(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        if method == "GET":
            answer = self._get(path, headers)
        elif method == "POST":
            answer = self._post(path, params, headers, body)
        else:
            answer = None
        return answer or Answer.error(404, f"no {method} {path} here")

    def _get(self, path: str, headers: Mapping[str, str]) -> Answer | None:
        serial = _certificate_serial(path)
        if serial is not None and not serial.endswith("/revoke"):
            return self._certificate(serial)
        if path.startswith("/v1/holders/"):
            return self._holder(path.removeprefix("/v1/holders/"), headers)
        return self._published(path)

    def _post(
        self, path: str, params: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> Answer | None:
        if path == "/v1/certificates":
            return self._issue(headers, body)
        serial = _certificate_serial(path)
        if serial is not None and serial.endswith("/revoke"):
            return self._revoke(serial.removesuffix("/revoke"), headers, body)
        posted = {
            "/ocsp": self._ocsp,
            "/tsa": self._tsa,
            "/v1/sign": self._sign,
            "/v1/verify": self._verify,
        }.get(path)
        return None if posted is None else posted(params, headers, body)

    def _published(self, path: str) -> Answer | None:
        site, der = self.authority.site, serialization.Encoding.DER
        if path == f"/crl/{site}.crl":
            return Answer(200, "application/pkix-crl", self.authority.crl().public_bytes(der))
        if path == "/crl/root.crl":
            return Answer(200, "application/pkix-crl", self.authority.root_crl().public_bytes(der))
        if path in ("/certs/root.crt", f"/certs/{site}.crt"):
            cert = self.authority.chain()[1 if path.endswith("root.crt") else 0]
            return Answer(200, "application/pkix-cert", cert.public_bytes(der))
        return None

    def _certificate(self, serial: str) -> Answer:
        found = self.authority.find(serial)
        if found is None:
            return Answer.error(404, f"site {self.authority.site} issued no certificate {serial}")
        pem = self.authority.certificate(serial).public_bytes(serialization.Encoding.PEM)
        return Answer(200, "application/json", json.dumps(_issued_json(found, pem)).encode())

    def _holder(self, rest: str, headers: Mapping[str, str]) -> Answer:
        self.tokens.check_registrar(headers.get("Authorization"))
        tenant, _, official = urllib.parse.unquote(rest).partition("/")
        found = self.authority.current(
            profiles.Role.SIGNER, tenant=tenant, official=official or None
        )
        if found is None:
            return Answer.error(404, f"{rest} holds no valid signing certificate")
        return self._certificate(found.serial)

    def _issue(self, headers: Mapping[str, str], body: bytes) -> Answer:
        self.tokens.check_registrar(headers.get("Authorization"))
        asked = _json_body(body)
        issued, _before = self.authority.issue_signer(
            _text(asked, "tenant"),
            _text(asked, "name"),
            official=_optional(asked, "official"),
            email=_optional(asked, "email"),
            title=_optional(asked, "title"),
        )
        pem = self.authority.certificate(issued.serial).public_bytes(serialization.Encoding.PEM)
        return Answer(201, "application/json", json.dumps(_issued_json(issued, pem)).encode())

    def _revoke(self, serial: str, headers: Mapping[str, str], body: bytes) -> Answer:
        self.tokens.check_registrar(headers.get("Authorization"))
        reason = _optional(_json_body(body), "reason") or "unspecified"
        if self.authority.find(serial) is None:
            return Answer.error(404, f"site {self.authority.site} issued no certificate {serial}")
        entry = self.authority.revoke(serial, reason)
        pem = self.authority.certificate(serial).public_bytes(serialization.Encoding.PEM)
        return Answer(200, "application/json", json.dumps(_issued_json(entry, pem)).encode())

    def _ocsp(self, _params: dict[str, str], _headers: Mapping[str, str], body: bytes) -> Answer:
        return Answer(200, "application/ocsp-response", self.authority.ocsp(body))

    def _tsa(self, _params: dict[str, str], _headers: Mapping[str, str], body: bytes) -> Answer:
        serial = self._tsa_serial()
        answer = tsa.respond(
            body,
            self.authority.certificate(serial).public_bytes(serialization.Encoding.PEM),
            load_key(self.authority.key_path(serial)),
            [c.public_bytes(serialization.Encoding.PEM) for c in self.authority.chain()],
        )
        return Answer(200, "application/timestamp-reply", answer)

    def _sign(self, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Answer:
        tenant = self.tokens.tenant_of(headers.get("Authorization"))
        site = self.authority.site
        current = self.authority.current(profiles.Role.SIGNER, tenant=tenant)
        if current is None:
            return Answer.error(409, f"tenant {tenant} has no valid signing certificate at {site}")
        signed = signing.sign(
            self.authority,
            current.serial,
            self._tsa_serial(),
            body,
            reason=params.get("reason", f"Ditandatangani oleh {tenant}"),
            location=params.get("location", site),
        )
        return Answer(200, PDF, signed)

    def _verify(self, _params: dict[str, str], _headers: Mapping[str, str], body: bytes) -> Answer:
        verdicts = signing.verify(body, [self.authority])
        return Answer(
            200,
            "application/json",
            json.dumps([asdict(v) for v in verdicts], default=_json_default).encode(),
        )


def serve(
    service: SigningService, host: str, port: int, cert: str, key: str, *, workers: int = 1
) -> None:
    """Answer over HTTPS until stopped (SIGTERM). With workers > 1, that many processes accept
    on the one socket (signing is CPU-bound, and Python runs one thread at a time): the first
    is the one the DC knows by PID; it stops the others when stopped, and a killed first
    takes them with it (the kernel's parent-death signal)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_PDF:
                answer = Answer.error(413, f"a request holds at most {MAX_PDF // 2**20} MiB")
            else:
                body = self.rfile.read(length) if length else b""
                answer = service.handle(self.command, self.path, dict(self.headers), body)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = _answer  # noqa: N815 (http.server's names)
        do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """One line per request, without its headers (tokens stay out of the log)."""
            super().log_message(format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    others = [_worker(server) for _ in range(workers - 1)]

    def stop(_signum: int, _frame: object) -> None:
        for pid in others:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in others:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


PR_SET_PDEATHSIG = 1  # prctl(2)


def _worker(server: ThreadingHTTPServer) -> int:
    """A process that accepts on server's socket too; its PID."""
    pid = os.fork()
    if pid:
        return pid
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(1)
        if os.getppid() == 1:  # the parent died before the signal was set
            os._exit(0)
        server.serve_forever()
    finally:
        os._exit(0)
