"""The national root CA: its key made once and kept offline.

The root's directory (`pdn tte root init --dir`) is meant for removable media kept in a safe and
used on an air-gapped machine: the key is encrypted there with a passphrase (given through the
environment or stdin, never on a command line) and never reaches the DC, Pulumi's state or a
log. Online, the DC holds only the root's certificate. The root signs, in a ceremony, each
site's CSR and its own revocation list (of site CAs).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pdn.files import private_dir, write_private
from pdn.tte import profiles
from pdn.tte.errors import TteError

KEY, CERT, ISSUED = "root.key", "root.crt", "issued.json"
MIN_PASSPHRASE = 16
CRL_DAYS = 365  # the root's list is signed offline, once a year or when a site CA is revoked


def _check_passphrase(passphrase: bytes) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise TteError(
            f"the root's passphrase must be at least {MIN_PASSPHRASE} characters (it is the "
            "only thing between the root key and whoever holds its media)"
        )


def init(directory: Path, passphrase: bytes) -> x509.Certificate:
    """Make the root key and certificate, once: an existing root is never replaced."""
    _check_passphrase(passphrase)
    if (directory / KEY).exists():
        raise TteError(
            f"{directory} already holds a root key: the national root is made once (every "
            "signature in the country chains to it)"
        )
    private_dir(directory)
    key = profiles.new_key(ca=True)
    cert = profiles.root(key)
    write_private(
        directory / KEY,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        ),
    )
    write_private(directory / CERT, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    write_private(directory / ISSUED, "[]\n")
    return cert


def certificate(directory: Path) -> x509.Certificate:
    path = directory / CERT
    if not path.is_file():
        raise TteError(f"no root certificate in {directory}: run `pdn tte root init` first")
    return x509.load_pem_x509_certificate(path.read_bytes())


def _issuer(directory: Path, passphrase: bytes) -> profiles.Issuer:
    try:
        key = serialization.load_pem_private_key((directory / KEY).read_bytes(), passphrase)
    except FileNotFoundError:
        raise TteError(f"no root key in {directory}: is this the root's media?") from None
    except (ValueError, TypeError):
        raise TteError("the root key does not open with this passphrase") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TteError(f"{directory / KEY} is not the root's EC key")
    return profiles.Issuer(certificate(directory), key)


def _issued(directory: Path) -> list[dict[str, object]]:
    loaded: list[dict[str, object]] = json.loads((directory / ISSUED).read_text())
    return loaded


def sign_site(
    directory: Path, passphrase: bytes, csr_pem: bytes, site: str, crl_url: str
) -> x509.Certificate:
    """The ceremony: the root signs a site CA's CSR (its proof of possession checked)."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError:
        raise TteError("not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise TteError("the CSR's signature does not verify: it was not made with its key")
    issuer = _issuer(directory, passphrase)
    cert = profiles.site_intermediate(issuer, csr, site, crl_url)
    issued = _issued(directory)
    issued.append(
        {
            "serial": format(cert.serial_number, "x"),
            "site": site,
            "not_after": cert.not_valid_after_utc.isoformat(),
            "revoked": None,
        }
    )
    write_private(directory / ISSUED, json.dumps(issued, indent=1) + "\n")
    return cert


def revoke_site(directory: Path, site: str) -> int:
    """Mark every CA the root issued to site as revoked (now); how many."""
    issued = _issued(directory)
    count = 0
    for entry in issued:
        if entry["site"] == site and entry["revoked"] is None:
            entry["revoked"] = profiles.now().isoformat()
            count += 1
    write_private(directory / ISSUED, json.dumps(issued, indent=1) + "\n")
    return count


def crl(directory: Path, passphrase: bytes) -> x509.CertificateRevocationList:
    """The root's revocation list of site CAs, signed offline."""
    revoked = [
        profiles.Revoked(
            str(entry["serial"]), datetime.datetime.fromisoformat(str(entry["revoked"]))
        )
        for entry in _issued(directory)
        if entry["revoked"]
    ]
    return profiles.revocation_list(
        _issuer(directory, passphrase), revoked, datetime.timedelta(days=CRL_DAYS)
    )
