"""The local DC's PKI: cluster and etcd CAs, serving and client certificates, SA signing keys.

Made with `cryptography`; idempotent (existing material is reused, so restarts keep identities).
Private keys are written 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pdn.files import tighten, write_private

CA_DAYS = 3650
LEAF_DAYS = 365

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class CertSpec:
    """One certificate to issue: who it names and what it may be used for."""

    file: str  # base name: <file>.crt / <file>.key
    common_name: str
    organizations: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    server: bool = False
    client: bool = False


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


def _write_key(path: Path, key: PrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, data)


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{path}: unsupported key type")
    return key


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(ca: bool) -> x509.KeyUsage:
    """Signatures only; a CA also signs certificates and revocation lists."""
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=ca,
        crl_sign=ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def ensure_ca(directory: Path, name: str, common_name: str) -> KeyPair:
    pair = KeyPair(directory / f"{name}.crt", directory / f"{name}.key")
    if pair.cert.is_file() and pair.key.is_file():
        tighten(pair.key)
        return pair
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = _name(common_name, ("Pusat Data Nasional",))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(pair.key, key)
    write_private(pair.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return pair


def ensure_cert(directory: Path, ca: KeyPair, spec: CertSpec) -> KeyPair:
    """Issue spec from ca unless a certificate with the same names and usages, issued by this
    CA and not about to expire, is already there."""
    pair = KeyPair(directory / f"{spec.file}.crt", directory / f"{spec.file}.key")
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    if pair.cert.is_file() and pair.key.is_file() and _matches(pair.cert, spec, ca_cert):
        tighten(pair.key)
        return pair
    ca_key = _load_key(ca.key)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usages = []
    if spec.server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if spec.client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec.common_name, spec.organizations))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in spec.ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(pair.key, key)
    write_private(pair.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return pair


def ensure_service_cert(
    directory: Path, ca: KeyPair, file: str, common_name: str, host: str
) -> KeyPair:
    """The serving certificate of a DC service that answers on host (and as localhost)."""
    spec = CertSpec(file, common_name, dns_names=("localhost",), ip_addresses=(host,), server=True)
    return ensure_cert(directory, ca, spec)


def _matches(cert_path: Path, spec: CertSpec, ca_cert: x509.Certificate) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if cert.subject != _name(spec.common_name, spec.organizations):
        return False
    try:  # a regenerated CA: every leaf it did not sign is reissued
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if _usages(cert) != _usages_of(spec):
        return False
    remaining = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    if remaining < datetime.timedelta(days=30):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return not spec.dns_names and not spec.ip_addresses
    ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
    return set(san.get_values_for_type(x509.DNSName)) == set(spec.dns_names) and ips == set(
        spec.ip_addresses
    )


def _usages_of(spec: CertSpec) -> set[x509.ObjectIdentifier]:
    return {
        oid
        for oid, wanted in (
            (ExtendedKeyUsageOID.SERVER_AUTH, spec.server),
            (ExtendedKeyUsageOID.CLIENT_AUTH, spec.client),
        )
        if wanted
    }


def _usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


def ensure_signing_key(directory: Path, name: str) -> KeyPair:
    """An RSA key pair for signing service-account tokens (.key private, .pub public)."""
    pair = KeyPair(directory / f"{name}.pub", directory / f"{name}.key")
    if pair.cert.is_file() and pair.key.is_file():
        tighten(pair.key)
        return pair
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pair.key, key)
    write_private(
        pair.cert,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        mode=0o644,
    )
    return pair
