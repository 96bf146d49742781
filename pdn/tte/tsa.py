"""The platform's RFC 3161 time-stamping authority: a request's message imprint, the time and a
serial, signed (CMS SignedData over TSTInfo, RFC 5816's ESSCertIDv2) by the site's TSA
certificate. Signatures made through the signing service carry its timestamp (PAdES B-T), which
is what proves later that a signature was made before its certificate was revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

# This DC's time-stamping policy (an arc under the platform's private enterprise number would be
# registered for production; the OID only names the policy in each token).
POLICY = "1.3.6.1.4.1.61446.1.3161"
ACCURACY_SECONDS = 1  # the DC's clocks are kept to the national time servers (PDN-TIME-1)
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}  # accepted imprints, in bytes


class Refusal(core.Sequence):  # type: ignore[misc]
    """A TimeStampResp without its token (asn1crypto's type insists on one)."""

    _fields = [("status", tsp.PKIStatusInfo)]  # noqa: RUF012 (asn1crypto fills it in)


def _rejection(text: str) -> bytes:
    answer: bytes = Refusal(
        {
            "status": {
                "status": "rejection",
                "status_string": [text],
                "fail_info": tsp.PKIFailureInfo({"bad_request"}),
            }
        }
    ).dump()
    return answer


def respond(
    request_der: bytes,
    cert_pem: bytes,
    key: ec.EllipticCurvePrivateKey,
    chain_pem: list[bytes],
    now: datetime | None = None,
) -> bytes:
    """The DER TimeStampResp to a DER TimeStampReq (a rejection, never an exception, for a bad
    one)."""
    try:
        request = tsp.TimeStampReq.load(request_der)
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        _ = request.native  # parse it all now: a malformed request is rejected here
    except (ValueError, TypeError, KeyError):
        return _rejection("not a time-stamp request (RFC 3161)")
    if algorithm not in DIGEST_SIZES:
        return _rejection(f"hash algorithm {algorithm} is not accepted: use SHA-256 or better")
    if len(imprint["hashed_message"].native) != DIGEST_SIZES[algorithm]:
        return _rejection("the message imprint does not have its algorithm's length")
    tsa_cert = asn1_x509.Certificate.load(_der(cert_pem))
    when = now or datetime.now(UTC)
    info: dict[str, object] = {
        "version": "v1",
        "policy": request["req_policy"].native or POLICY,
        "message_imprint": imprint,
        "serial_number": secrets.randbits(63),
        "gen_time": core.GeneralizedTime(when),
        "accuracy": {"seconds": ACCURACY_SECONDS},
        "tsa": asn1_x509.GeneralName(name="directory_name", value=tsa_cert.subject),
    }
    if request["nonce"].native is not None:
        info["nonce"] = request["nonce"]
    tst_info = tsp.TSTInfo(info).dump()
    signed_attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute(
                {"type": "message_digest", "values": [hashlib.sha384(tst_info).digest()]}
            ),
            cms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        {
                            "certs": [
                                {
                                    "hash_algorithm": {"algorithm": "sha384"},
                                    "cert_hash": hashlib.sha384(tsa_cert.dump()).digest(),
                                }
                            ]
                        }
                    ],
                }
            ),
        ]
    )
    signature = key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA384()))
    digest = algos.DigestAlgorithm({"algorithm": "sha384"})
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": {
                "issuer_and_serial_number": {
                    "issuer": tsa_cert.issuer,
                    "serial_number": tsa_cert.serial_number,
                }
            },
            "digest_algorithm": digest,
            "signature_algorithm": {"algorithm": "sha384_ecdsa"},
            "signed_attrs": signed_attrs,
            "signature": signature,
        }
    )
    certificates = [tsa_cert]
    if request["cert_req"].native:
        certificates += [asn1_x509.Certificate.load(_der(pem)) for pem in chain_pem]
    token = cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": {
                "version": "v3",
                "digest_algorithms": [digest],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": cms.ParsableOctetString(tst_info),
                },
                "certificates": certificates,
                "signer_infos": [signer],
            },
        }
    )
    answer: bytes = tsp.TimeStampResp(
        {"status": {"status": "granted"}, "time_stamp_token": token}
    ).dump()
    return answer


def _der(pem: bytes) -> bytes:
    from cryptography import x509  # noqa: PLC0415

    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
