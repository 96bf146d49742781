"""A PDN site's e-signature authority, online in the DC: its intermediate CA (signed by the
offline root in a ceremony), the certificates it issues (signers, its time-stamping authority,
its OCSP responder), their revocation, its CRL and OCSP answers.

Its keys are owner-only files in the DC's state (in production, an HSM per site: the key never
leaves it). Every issued certificate is in its registry, which the CRL and OCSP are made from.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from pdn.files import private_dir, write_private
from pdn.tte import profiles
from pdn.tte.errors import TteError

CRL_HOURS = 24  # relying parties fetch a fresh list daily; OCSP answers at once
REASONS = {r.name: r for r in x509.ReasonFlags}


@dataclass
class Issued:
    serial: str  # hex
    role: str
    subject: str
    tenant: str | None
    official: str | None
    not_after: str
    revoked_at: str | None = None
    reason: str | None = None


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TteError(f"{path}: not an EC key")
    return key


class SiteAuthority:
    def __init__(self, directory: Path, site: str, base_url: str) -> None:
        self.directory = directory
        self.site = site
        self.base_url = base_url.rstrip("/")  # where its CRL and OCSP are served

    # Where things are.
    @property
    def crl_url(self) -> str:
        return f"{self.base_url}/crl/{self.site}.crl"

    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/ocsp"

    def _path(self, name: str) -> Path:
        return self.directory / name

    def key_path(self, serial: str) -> Path:
        return self.directory / "keys" / f"{serial}.key"

    # Becoming a CA.
    def request(self) -> bytes:
        """The site CA's CSR (its key made once, here), for the root's ceremony."""
        private_dir(self.directory)
        key_file = self._path("site.key")
        if not key_file.is_file():
            write_private(key_file, _key_bytes(profiles.new_key(ca=True)))
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(profiles.site_name(self.site))
            .sign(load_key(key_file), hashes.SHA384())
        )
        return csr.public_bytes(serialization.Encoding.PEM)

    def install(self, cert_pem: bytes, root_pem: bytes) -> None:
        """Take the root's signed certificate: it must be for this site's key and verify
        under the root."""
        cert = x509.load_pem_x509_certificate(cert_pem)
        root = x509.load_pem_x509_certificate(root_pem)
        key = load_key(self._path("site.key"))
        if cert.public_key() != key.public_key():
            raise TteError("this certificate is not for the site CA's key: sign its own CSR")
        try:
            cert.verify_directly_issued_by(root)
        except (ValueError, TypeError) as err:
            raise TteError(
                f"the site CA's certificate does not verify under the root: {err}"
            ) from None
        write_private(self._path("site.crt"), cert_pem, mode=0o644)
        write_private(self._path("root.crt"), root_pem, mode=0o644)

    def install_root_crl(self, crl_pem: bytes) -> None:
        """The root's latest revocation list (of site CAs), signed offline: the site serves it
        and validation needs it for the site CA itself."""
        listed = x509.load_pem_x509_crl(crl_pem)
        national = x509.load_pem_x509_certificate(self._path("root.crt").read_bytes())
        if not listed.is_signature_valid(national.public_key()):  # type: ignore[arg-type]
            raise TteError("this revocation list is not signed by the national root")
        write_private(self._path("root.crl"), crl_pem, mode=0o644)

    def root_crl(self) -> x509.CertificateRevocationList:
        path = self._path("root.crl")
        if not path.is_file():
            raise TteError(
                f"site {self.site} has no revocation list from the root: sign one "
                "(`pdn tte root crl`) and install it"
            )
        return x509.load_pem_x509_crl(path.read_bytes())

    @property
    def ready(self) -> bool:
        return self._path("site.crt").is_file()

    def issuer(self) -> profiles.Issuer:
        if not self.ready:
            raise TteError(
                f"site {self.site} has no CA certificate yet: sign its CSR with the root "
                "(`pdn tte site`)"
            )
        cert = x509.load_pem_x509_certificate(self._path("site.crt").read_bytes())
        return profiles.Issuer(cert, load_key(self._path("site.key")))

    def chain(self) -> list[x509.Certificate]:
        """The site CA, then the root."""
        return [
            x509.load_pem_x509_certificate(self._path(name).read_bytes())
            for name in ("site.crt", "root.crt")
        ]

    # The registry.
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer of the registry at a time: the service's threads and processes, and
        `pdn tte` beside them."""
        private_dir(self.directory)
        with (self.directory / "registry.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def registry(self) -> list[Issued]:
        path = self._path("registry.json")
        if not path.is_file():
            return []
        return [Issued(**entry) for entry in json.loads(path.read_text())]

    def _save(self, entries: list[Issued]) -> None:
        write_private(
            self._path("registry.json"), json.dumps([asdict(e) for e in entries], indent=1) + "\n"
        )

    def certificate(self, serial: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self._path(f"certs/{serial}.crt").read_bytes())

    # Issuing and revoking.
    def issue(
        self,
        role: str,
        common_name: str,
        *,
        tenant: str | None = None,
        official: str | None = None,
        email: str | None = None,
        title: str | None = None,
    ) -> Issued:
        """A new key and certificate for role (its key kept here, owner-only)."""
        with self._locked():
            return self._issue(
                role, common_name, tenant=tenant, official=official, email=email, title=title
            )

    def issue_signer(
        self,
        tenant: str,
        common_name: str,
        *,
        official: str | None = None,
        email: str | None = None,
        title: str | None = None,
    ) -> tuple[Issued, Issued | None]:
        """A signing certificate for the tenant (its seal) or one of its officials; the
        holder's previous one is superseded (revoked) once the new one exists: key rotation.
        The new certificate, and the one it superseded."""
        with self._locked():
            before = self.current(profiles.Role.SIGNER, tenant=tenant, official=official)
            issued = self._issue(
                profiles.Role.SIGNER,
                common_name,
                tenant=tenant,
                official=official,
                email=email,
                title=title,
            )
            if before is not None:
                self._revoke(before.serial, "superseded")
            return issued, before

    def _issue(
        self,
        role: str,
        common_name: str,
        *,
        tenant: str | None,
        official: str | None,
        email: str | None,
        title: str | None,
    ) -> Issued:
        issuer = self.issuer()
        key = profiles.new_key(ca=False)
        unit = tenant or self.site
        cert = profiles.leaf(
            issuer,
            key.public_key(),
            profiles.name(common_name, unit=unit, title=title),
            role,
            crl_url=self.crl_url,
            ocsp_url=self.ocsp_url,
            email=email,
        )
        serial = format(cert.serial_number, "x")
        write_private(self.key_path(serial), _key_bytes(key))
        write_private(
            self._path(f"certs/{serial}.crt"),
            cert.public_bytes(serialization.Encoding.PEM),
            mode=0o644,
        )
        entry = Issued(
            serial,
            role,
            cert.subject.rfc4514_string(),
            tenant,
            official,
            cert.not_valid_after_utc.isoformat(),
        )
        self._save([*self.registry(), entry])
        return entry

    def current(
        self, role: str, *, tenant: str | None = None, official: str | None = None
    ) -> Issued | None:
        """The newest unrevoked certificate of role (for tenant, official)."""
        found = [
            e
            for e in self.registry()
            if e.role == role and e.tenant == tenant and e.official == official and not e.revoked_at
        ]
        return found[-1] if found else None

    def find(self, serial: str) -> Issued | None:
        return next((e for e in self.registry() if e.serial == serial), None)

    def revoke(self, serial: str, reason: str = "key_compromise") -> Issued:
        """Revoke the certificate (again: no change, its first revocation stands)."""
        with self._locked():
            return self._revoke(serial, reason)

    def _revoke(self, serial: str, reason: str) -> Issued:
        if reason not in REASONS:
            raise TteError(f"reason {reason!r}: one of {', '.join(sorted(REASONS))}")
        entries = self.registry()
        for entry in entries:
            if entry.serial == serial:
                if entry.revoked_at is None:
                    entry.revoked_at = profiles.now().isoformat()
                    entry.reason = reason
                    self._save(entries)
                return entry
        raise TteError(f"site {self.site} issued no certificate with serial {serial}")

    # Revocation status.
    def crl(self) -> x509.CertificateRevocationList:
        revoked = [
            profiles.Revoked(
                e.serial,
                datetime.datetime.fromisoformat(e.revoked_at),
                REASONS[e.reason or "unspecified"],
            )
            for e in self.registry()
            if e.revoked_at
        ]
        return profiles.revocation_list(self.issuer(), revoked, datetime.timedelta(hours=CRL_HOURS))

    def ocsp(self, request_der: bytes) -> bytes:
        """The OCSP answer (DER) to a request: good, revoked (with when), or unknown, signed
        by the site's responder certificate."""
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            ).public_bytes(serialization.Encoding.DER)
        issuer = self.issuer()
        responder = self.current(profiles.Role.OCSP)
        if responder is None:
            responder = self.issue(profiles.Role.OCSP, f"PDN {self.site} OCSP")
        serial = format(request.serial_number, "x")
        entry = next((e for e in self.registry() if e.serial == serial), None)
        start = profiles.now()
        if entry is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(serialization.Encoding.DER)
        revoked_at = datetime.datetime.fromisoformat(entry.revoked_at) if entry.revoked_at else None
        revoked = revoked_at is not None
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=self.certificate(serial),
            issuer=issuer.cert,
            algorithm=request.hash_algorithm,
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=start,
            next_update=start + datetime.timedelta(hours=1),
            revocation_time=revoked_at,
            revocation_reason=REASONS[entry.reason or "unspecified"] if revoked else None,
        )
        builder = builder.responder_id(
            ocsp.OCSPResponderEncoding.HASH, self.certificate(responder.serial)
        )
        builder = builder.certificates([self.certificate(responder.serial)])
        for extension in request.extensions:  # the nonce comes back as it was sent
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        response = builder.sign(load_key(self.key_path(responder.serial)), hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)
