"""PAdES signatures made and validated for real (pyHanko, the site's own TSA), without a
server: a signed PDF verifies with the national chain and a timestamp; a certificate revoked
later leaves it valid (signed before revocation) while a signature made after the revocation
fails; a changed byte breaks it; a broken PDF is refused with a message."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import tsp
from cryptography.hazmat.primitives import serialization

from pdn.tte import profiles, signing, tsa
from pdn.tte.errors import TteError
from pdn.tte.site import SiteAuthority, load_key
from tests.unit.tte_fixtures import blank_pdf, make_authority


@pytest.fixture
def authority(tmp_path: Path) -> SiteAuthority:
    return make_authority(tmp_path)


def test_a_signed_pdf_verifies_with_the_national_chain(authority: SiteAuthority) -> None:
    signer = authority.issue(profiles.Role.SIGNER, "Kementerian Dalam Negeri", tenant="kemendagri")
    stamper = authority.issue(profiles.Role.TSA, "PDN pdn-local TSA")
    original = blank_pdf()
    signed = signing.sign(
        authority, signer.serial, stamper.serial, original, reason="Disetujui", location="Jakarta"
    )
    assert signed.startswith(original)  # an incremental update: the original bytes are kept
    (verdict,) = signing.verify(signed, [authority])
    assert verdict.valid, verdict.summary
    assert verdict.trusted
    assert verdict.intact
    assert "Kementerian Dalam Negeri" in verdict.signer
    assert verdict.signed_at is not None
    assert verdict.revoked_at is None
    # One changed byte inside what was signed: no longer intact.
    at = signed.index(b"/MediaBox")
    tampered = signed[:at] + b"/MediaBoy" + signed[at + 9 :]
    (broken,) = signing.verify(tampered, [authority])
    assert not broken.valid


def test_revocation_fails_new_signatures_and_keeps_older_ones(authority: SiteAuthority) -> None:
    signer = authority.issue(profiles.Role.SIGNER, "Kabupaten Bekasi", tenant="kab-bekasi")
    stamper = authority.issue(profiles.Role.TSA, "PDN pdn-local TSA")
    before = signing.sign(
        authority, signer.serial, stamper.serial, blank_pdf(), reason="r", location="l"
    )
    time.sleep(tsa.ACCURACY_SECONDS + 0.2)  # beyond the TSA's accuracy
    authority.revoke(signer.serial, "key_compromise")
    after = signing.sign(
        authority, signer.serial, stamper.serial, blank_pdf(), reason="r", location="l"
    )
    (old,) = signing.verify(before, [authority])
    assert old.valid, old.summary
    assert old.revoked_at is not None
    assert old.signed_at is not None
    assert old.signed_at + timedelta(seconds=1) < old.revoked_at  # signed before revocation
    (new,) = signing.verify(after, [authority])
    assert not new.valid


def test_the_tsa_answers_rfc_3161_and_rejects_garbage(authority: SiteAuthority) -> None:
    stamper = authority.issue(profiles.Role.TSA, "PDN pdn-local TSA")
    cert = authority.certificate(stamper.serial).public_bytes(serialization.Encoding.PEM)
    key = load_key(authority.key_path(stamper.serial))
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\x01" * 32,
            },
            "nonce": 12345,
            "cert_req": True,
        }
    )
    answer = tsp.TimeStampResp.load(tsa.respond(request.dump(), cert, key, []))
    assert answer["status"]["status"].native == "granted"
    info = answer["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == 12345
    assert info["message_imprint"]["hashed_message"].native == b"\x01" * 32
    refused = tsa.Refusal.load(tsa.respond(b"garbage", cert, key, []))
    assert refused["status"]["status"].native == "rejection"
    short = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\x01",
            },
        }
    )
    assert (
        tsa.Refusal.load(tsa.respond(short.dump(), cert, key, []))["status"]["status"].native
        == "rejection"
    )


def test_a_broken_pdf_is_refused_with_a_message(authority: SiteAuthority) -> None:
    signer = authority.issue(profiles.Role.SIGNER, "Kabupaten Bekasi", tenant="kab-bekasi")
    stamper = authority.issue(profiles.Role.TSA, "PDN pdn-local TSA")
    with pytest.raises(TteError, match="not a PDF"):
        signing.sign(authority, signer.serial, stamper.serial, b"<html>", reason="r", location="l")
    with pytest.raises(TteError, match="not a readable PDF"):
        signing.verify(b"%PDF-1.7 truncated", [authority])
