"""The certificate profiles of the national e-signature PKI, made with `cryptography`.

root (offline, 20 years, path length 1) -> site intermediate (10 years, path length 0, one per
PDN site) -> leaves: a signer (a tenant's seal or an official's signature: non-repudiation,
document signing), the site's time-stamping authority and its OCSP responder. Keys are EC P-384
(root, intermediates) and P-256 (leaves); the CAs sign with SHA-384.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

COUNTRY = "ID"
ORGANIZATION = "Pusat Data Nasional"
ROOT_NAME = "PDN Root CA Tanda Tangan Elektronik"
ROOT_YEARS, SITE_YEARS, LEAF_YEARS = 20, 10, 2
# RFC 9336: id-kp-documentSigning.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
OCSP_NO_CHECK = x509.OCSPNoCheck()


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def name(common_name: str, unit: str | None = None, title: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
    ]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    if title:  # an official's position (jabatan), as relying parties read it
        attributes.append(x509.NameAttribute(NameOID.TITLE, title))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def new_key(ca: bool) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1() if ca else ec.SECP256R1())


def _usage(*, sign_certs: bool, non_repudiation: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class Issuer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _builder(
    subject: x509.Name, public: ec.EllipticCurvePublicKey, issuer: x509.Name, years: int
) -> x509.CertificateBuilder:
    start = now() - datetime.timedelta(minutes=5)  # clocks of relying parties drift
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365 * years))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def root(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    subject = name(ROOT_NAME)
    return (
        _builder(subject, key.public_key(), subject, ROOT_YEARS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_usage(sign_certs=True), critical=True)
        .sign(key, hashes.SHA384())
    )


def _issued_by(builder: x509.CertificateBuilder, issuer: Issuer) -> x509.CertificateBuilder:
    ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
    )


def _revocation(
    builder: x509.CertificateBuilder, crl_url: str, ocsp_url: str | None
) -> x509.CertificateBuilder:
    builder = builder.add_extension(
        x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(crl_url)],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        ),
        critical=False,
    )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(ocsp_url),
                    )
                ]
            ),
            critical=False,
        )
    return builder


def site_intermediate(
    root_issuer: Issuer, csr: x509.CertificateSigningRequest, site: str, root_crl_url: str
) -> x509.Certificate:
    """The root's signature on a site's CSR (the offline ceremony): its subject is set here
    from the site, not taken from the CSR."""
    public = csr.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ValueError("a site CA's key is EC")
    builder = _builder(site_name(site), public, root_issuer.cert.subject, SITE_YEARS)
    builder = _issued_by(builder, root_issuer)
    builder = _revocation(builder, root_crl_url, None)
    return (
        builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign_certs=True), critical=True)
        .sign(root_issuer.key, hashes.SHA384())
    )


def site_name(site: str) -> x509.Name:
    return name(f"PDN {site} CA Tanda Tangan Elektronik", unit=site)


class Role:
    SIGNER = "signer"
    TSA = "tsa"
    OCSP = "ocsp"


def leaf(
    issuer: Issuer,
    public: ec.EllipticCurvePublicKey,
    subject: x509.Name,
    role: str,
    *,
    crl_url: str,
    ocsp_url: str,
    email: str | None = None,
) -> x509.Certificate:
    builder = _issued_by(_builder(subject, public, issuer.cert.subject, LEAF_YEARS), issuer)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    if role == Role.SIGNER:
        builder = _revocation(builder, crl_url, ocsp_url)
        builder = builder.add_extension(
            _usage(sign_certs=False, non_repudiation=True), critical=True
        ).add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING]), critical=False)
        if email:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
            )
    elif role == Role.TSA:
        builder = _revocation(builder, crl_url, ocsp_url)
        builder = builder.add_extension(_usage(sign_certs=False), critical=True).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    elif role == Role.OCSP:
        # Its own status is not asked of itself (RFC 6960 4.2.2.2.1).
        builder = builder.add_extension(_usage(sign_certs=False), critical=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False
        ).add_extension(OCSP_NO_CHECK, critical=False)
    else:
        raise ValueError(f"unknown role {role!r}")
    return builder.sign(issuer.key, hashes.SHA384())


@dataclass(frozen=True)
class Revoked:
    serial: str  # hex
    at: datetime.datetime
    reason: x509.ReasonFlags | None = None


def revocation_list(
    issuer: Issuer, revoked: list[Revoked], lifetime: datetime.timedelta
) -> x509.CertificateRevocationList:
    """A CA's CRL: every revoked serial with its time (and reason), valid for lifetime."""
    start = now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(start)
        .next_update(start + lifetime)
    )
    for entry in revoked:
        one = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(entry.serial, 16))
            .revocation_date(entry.at)
        )
        if entry.reason is not None:
            one = one.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(one.build())
    return builder.sign(issuer.key, hashes.SHA384())
