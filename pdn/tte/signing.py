"""PAdES signatures on PDF with pyHanko: a signer's certificate and key from its site's
authority, a timestamp from the platform's TSA (PAdES B-T), and their validation against the
national root with the site's revocation status.

Validation reports who signed, when (the timestamp's time, not the signer's clock) and whether
the signature holds: intact, chained to the national root, and made while the signer's
certificate was good. A certificate revoked after a signature was timestamped leaves that
signature valid (signed before revocation); a signature made after revocation fails.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from pdn.tte import tsa
from pdn.tte.errors import TteError
from pdn.tte.site import SiteAuthority, load_key

FIELD = "TTE-PDN"
# A signature is before its certificate's revocation only beyond the TSA's accuracy.
_ACCURACY = timedelta(seconds=tsa.ACCURACY_SECONDS)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class AuthorityTimeStamper(timestamps.TimeStamper):
    """pyHanko's timestamp client, answered by the site's own TSA (in the signing service's
    process; the same TSA answers other clients over HTTP)."""

    def __init__(self, authority: SiteAuthority, serial: str) -> None:
        super().__init__()
        self.authority, self.serial = authority, serial

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        cert = self.authority.certificate(self.serial)
        answer = tsa.respond(
            req.dump(),
            cert.public_bytes(serialization.Encoding.PEM),
            load_key(self.authority.key_path(self.serial)),
            [c.public_bytes(serialization.Encoding.PEM) for c in self.authority.chain()],
        )
        return tsp.TimeStampResp.load(answer)


def sign(
    authority: SiteAuthority,
    signer_serial: str,
    tsa_serial: str,
    pdf: bytes,
    *,
    reason: str,
    location: str,
) -> bytes:
    """The PDF with a PAdES B-T signature of the signer (an incremental update: the original
    bytes are kept as they were)."""
    cert = authority.certificate(signer_serial)
    key = load_key(authority.key_path(signer_serial))
    chain = authority.chain()
    signer = signers.SimpleSigner(
        signing_cert=_asn1(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in chain]),
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfReadError, ValueError, IndexError) as err:
        raise TteError(f"not a PDF that can be signed: {err}") from None
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    out = io.BytesIO()
    signers.PdfSigner(
        metadata, signer=signer, timestamper=AuthorityTimeStamper(authority, tsa_serial)
    ).sign_pdf(writer, output=out)
    return out.getvalue()


@dataclass(frozen=True)
class Verdict:
    field: str
    signer: str  # the certificate's subject
    serial: str
    signed_at: datetime | None  # the timestamp's time (None: no timestamp)
    intact: bool  # the document is what was signed
    trusted: bool  # chains to the national root
    revoked_at: datetime | None
    valid: bool  # intact, trusted, and made while the certificate was good
    summary: str


def verify(pdf: bytes, authorities: list[SiteAuthority]) -> list[Verdict]:
    """Every signature of the PDF, each judged against the national root and the issuing
    site's revocation list."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfReadError, ValueError, IndexError) as err:
        raise TteError(f"not a readable PDF: {err}") from None
    roots = {a.chain()[1].fingerprint(hashes.SHA256()): a.chain()[1] for a in authorities}
    crls = [
        asn1_crl.CertificateList.load(listed.public_bytes(serialization.Encoding.DER))
        for a in authorities
        for listed in (a.crl(), a.root_crl())
    ]
    intermediates = [_asn1(a.chain()[0]) for a in authorities]
    registry = {e.serial: e for a in authorities for e in a.registry()}
    verdicts = []
    for signature in embedded:
        cert = signature.signer_cert
        serial = format(cert.serial_number, "x")

        def context(moment: datetime | None) -> ValidationContext:
            return ValidationContext(
                trust_roots=[_asn1(r) for r in roots.values()],
                other_certs=intermediates,
                crls=crls,
                allow_fetching=False,
                revocation_mode="hard-fail",
                moment=moment,
                retroactive_revinfo=moment is not None,
            )

        now = _run(_validate(signature, context(None)))
        stamp = now.timestamp_validity
        signed_at = stamp.timestamp if stamp is not None and stamp.valid and stamp.trusted else None
        # Judged at the moment the TSA vouches for: a later revocation does not undo it.
        status = now if signed_at is None else _run(_validate(signature, context(signed_at)))
        entry = registry.get(serial)
        revoked_at = (
            datetime.fromisoformat(entry.revoked_at) if entry and entry.revoked_at else None
        )
        verdicts.append(
            Verdict(
                field=signature.field_name,
                signer=cert.subject.human_friendly,
                serial=serial,
                signed_at=signed_at,
                intact=bool(status.intact and status.valid),
                trusted=bool(status.trusted),
                revoked_at=revoked_at,
                valid=bool(status.bottom_line)
                and signed_at is not None
                and (revoked_at is None or signed_at + _ACCURACY < revoked_at),
                summary=status.summary(),
            )
        )
    return verdicts


def _run(coroutine: Any) -> Any:
    """Run pyHanko's validation on a loop of its own (asyncio.run would leave the calling
    thread without a current loop, which Pulumi's runtime in the same process needs)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


async def _validate(signature: Any, context: ValidationContext) -> Any:
    from pyhanko.sign.validation import async_validate_pdf_signature  # noqa: PLC0415

    return await async_validate_pdf_signature(signature, signer_validation_context=context)
