"""The local DC's PKI, checked with the same library a TLS peer would use."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pdn.dc import DCSettings, pki
from pdn.dc.control_plane import credential_paths, ensure_credentials

SERVER = pki.CertSpec(
    "apiserver",
    "kube-apiserver",
    dns_names=("kubernetes", "localhost"),
    ip_addresses=("127.0.0.1", "198.19.0.1"),
    server=True,
)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_leaf_is_signed_by_the_ca_with_its_names(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path, "ca", "pdn-local cluster CA")
    leaf = pki.ensure_cert(tmp_path, ca, SERVER)
    ca_cert, cert = _cert(ca.cert), _cert(leaf.cert)
    cert.verify_directly_issued_by(ca_cert)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"kubernetes", "localhost"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("198.19.0.1"),
    }
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(
        days=300
    )


def test_client_identity_carries_user_and_groups(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path, "ca", "CA")
    spec = pki.CertSpec("admin", "pdn-admin", organizations=("system:masters",), client=True)
    cert = _cert(pki.ensure_cert(tmp_path, ca, spec).cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "pdn-admin"
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert [o.value for o in orgs] == ["system:masters"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_private_keys_are_owner_only(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path, "ca", "CA")
    leaf = pki.ensure_cert(tmp_path, ca, SERVER)
    signing = pki.ensure_signing_key(tmp_path, "service-account")
    for key in (ca.key, leaf.key, signing.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_existing_material_is_reused_and_changed_names_reissued(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path, "ca", "CA")
    first = _cert(pki.ensure_cert(tmp_path, ca, SERVER).cert).serial_number
    assert pki.ensure_ca(tmp_path, "ca", "CA") == ca
    assert _cert(pki.ensure_cert(tmp_path, ca, SERVER).cert).serial_number == first
    moved = pki.CertSpec(
        SERVER.file,
        SERVER.common_name,
        dns_names=SERVER.dns_names,
        ip_addresses=("127.0.0.1", "198.19.16.1"),
        server=True,
    )
    assert _cert(pki.ensure_cert(tmp_path, ca, moved).cert).serial_number != first


def test_a_regenerated_ca_reissues_every_leaf(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path, "ca", "CA")
    old = _cert(pki.ensure_cert(tmp_path, ca, SERVER).cert)
    ca.cert.unlink()  # an operator rotates the CA by deleting it
    ca = pki.ensure_ca(tmp_path, "ca", "CA")
    new = _cert(pki.ensure_cert(tmp_path, ca, SERVER).cert)
    assert new.serial_number != old.serial_number
    new.verify_directly_issued_by(_cert(ca.cert))


def test_a_changed_usage_is_reissued(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path, "ca", "CA")
    first = _cert(pki.ensure_cert(tmp_path, ca, SERVER).cert).serial_number
    peer = pki.CertSpec(
        SERVER.file,
        SERVER.common_name,
        dns_names=SERVER.dns_names,
        ip_addresses=SERVER.ip_addresses,
        server=True,
        client=True,
    )
    reissued = _cert(pki.ensure_cert(tmp_path, ca, peer).cert)
    assert reissued.serial_number != first
    usages = reissued.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_private_material_written_loosely_before_is_tightened(tmp_path: Path) -> None:
    settings = DCSettings(site_code="pdn-local", state_root=tmp_path)
    creds = ensure_credentials(settings)
    creds.admin.key.chmod(0o644)
    settings.pki_dir.chmod(0o755)
    creds.encryption_config.chmod(0o644)
    ensure_credentials(settings)
    assert stat.S_IMODE(creds.admin.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.pki_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(creds.encryption_config.stat().st_mode) == 0o600
    for kubeconfig in settings.admin_kubeconfig.parent.iterdir():
        assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600, kubeconfig


def test_the_platform_admin_is_rbac_bound_and_break_glass_apart(tmp_path: Path) -> None:
    creds = ensure_credentials(DCSettings(site_code="pdn-local", state_root=tmp_path))

    def groups(pair: pki.KeyPair) -> list[object]:
        return [
            a.value
            for a in _cert(pair.cert).subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        ]

    assert groups(creds.admin) == ["pdn:platform-admins"]
    assert groups(creds.super_admin) == ["system:masters"]


def test_keys_are_modern(tmp_path: Path) -> None:
    ca = pki.ensure_ca(tmp_path, "ca", "CA")
    key = _cert(ca.cert).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"


def test_status_paths_match_what_up_creates(tmp_path: Path) -> None:
    settings = DCSettings(site_code="pdn-local", state_root=tmp_path)
    assert credential_paths(settings) == ensure_credentials(settings)
