"""The e-signature PKI's certificates and revocation, made for real with `cryptography` (no
server needed): the offline root made once under a passphrase, a site CA from the root's
ceremony, signer certificates, the site's CRL and OCSP answers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from pdn.tte import profiles, root
from pdn.tte.errors import TteError
from pdn.tte.site import SiteAuthority
from tests.unit.tte_fixtures import PASSPHRASE, make_authority

CRL = "https://pki.pdn.example.go.id/crl/root.crl"


@pytest.fixture
def authority(tmp_path: Path) -> SiteAuthority:
    return make_authority(tmp_path, root_crl=False)


def test_the_root_is_made_once_encrypted_and_owner_only(tmp_path: Path) -> None:
    directory = tmp_path / "root"
    cert = root.init(directory, PASSPHRASE)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1
    key_file = directory / root.KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
    with pytest.raises(TypeError):  # no key comes out of the file without the passphrase
        serialization.load_pem_private_key(key_file.read_bytes(), None)
    with pytest.raises(TteError, match="made once"):
        root.init(directory, PASSPHRASE)
    with pytest.raises(TteError, match="at least 16"):
        root.init(tmp_path / "other", b"short")


def test_a_wrong_passphrase_or_a_forged_csr_is_refused(tmp_path: Path) -> None:
    root.init(tmp_path / "root", PASSPHRASE)
    site = SiteAuthority(tmp_path / "site", "pdn-local", "https://x")
    csr = site.request()
    with pytest.raises(TteError, match="passphrase"):
        root.sign_site(tmp_path / "root", b"not the passphrase at all", csr, "pdn-local", CRL)
    with pytest.raises(TteError, match="not a PEM"):
        root.sign_site(tmp_path / "root", PASSPHRASE, b"garbage", "pdn-local", CRL)


def test_a_signer_chains_to_the_root_through_its_site(authority: SiteAuthority) -> None:
    issued = authority.issue(profiles.Role.SIGNER, "Kementerian Dalam Negeri", tenant="kemendagri")
    cert = authority.certificate(issued.serial)
    site_ca, national = authority.chain()
    cert.verify_directly_issued_by(site_ca)
    site_ca.verify_directly_issued_by(national)
    assert site_ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.content_commitment
    assert not usage.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [profiles.DOCUMENT_SIGNING]
    assert "OU=kemendagri" in issued.subject
    assert stat.S_IMODE(authority.key_path(issued.serial).stat().st_mode) == 0o600


def _ocsp_status(authority: SiteAuthority, serial: str) -> ocsp.OCSPResponse:
    cert = authority.certificate(serial)
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, authority.chain()[0], hashes.SHA256())
        .add_extension(x509.OCSPNonce(b"0123456789abcdef"), critical=False)
        .build()
    )
    return ocsp.load_der_ocsp_response(
        authority.ocsp(request.public_bytes(serialization.Encoding.DER))
    )


def test_revocation_shows_in_the_crl_and_in_ocsp(authority: SiteAuthority) -> None:
    kept = authority.issue(profiles.Role.SIGNER, "Kabupaten Bekasi", tenant="kab-bekasi")
    gone = authority.issue(profiles.Role.SIGNER, "Kementerian Dalam Negeri", tenant="kemendagri")
    assert _ocsp_status(authority, gone.serial).certificate_status == ocsp.OCSPCertStatus.GOOD
    authority.revoke(gone.serial, "key_compromise")
    crl = authority.crl()
    assert crl.is_signature_valid(authority.chain()[0].public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(int(gone.serial, 16)) is not None
    assert crl.get_revoked_certificate_by_serial_number(int(kept.serial, 16)) is None
    answer = _ocsp_status(authority, gone.serial)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
    # Signed by the site's responder (issued by the site CA), with the nonce sent back.
    responder = answer.certificates[0]
    responder.verify_directly_issued_by(authority.chain()[0])
    nonce = answer.extensions.get_extension_for_class(x509.OCSPNonce).value
    assert nonce.nonce == b"0123456789abcdef"
    assert authority.current(profiles.Role.SIGNER, tenant="kemendagri") is None
    with pytest.raises(TteError, match="no certificate with serial"):
        authority.revoke("abc")


def test_a_site_ca_takes_only_its_own_certificate(tmp_path: Path) -> None:
    root.init(tmp_path / "root", PASSPHRASE)
    ours = SiteAuthority(tmp_path / "a", "pdn-local", "https://x")
    theirs = SiteAuthority(tmp_path / "b", "pdn-other", "https://y")
    ours.request()
    cert = root.sign_site(tmp_path / "root", PASSPHRASE, theirs.request(), "pdn-other", CRL)
    with pytest.raises(TteError, match="not for the site CA's key"):
        ours.install(
            cert.public_bytes(serialization.Encoding.PEM),
            (tmp_path / "root" / root.CERT).read_bytes(),
        )
    assert root.revoke_site(tmp_path / "root", "pdn-other") == 1
    listed = root.crl(tmp_path / "root", PASSPHRASE)
    assert listed.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
