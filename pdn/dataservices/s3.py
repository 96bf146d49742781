"""Clients of a site's object store: the S3 API (buckets, objects) and its IAM API (identities),
always over verified TLS, and the store's admin plane for what S3 has no call for (quotas).

The CA is carried as PEM, not as a path: a Pulumi dynamic provider runs in its own process, and
a path on one operator's disk in the state would break the next operator's `up`.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdn.dataservices.errors import DataServiceError

REGION = "id-pdn-1"  # signed into every request; SeaweedFS and RGW accept any region name


@dataclass(frozen=True)
class Endpoint:
    """Where a site's object store answers S3 (https URL) and the CA that signs it (PEM). The
    admin plane sets quotas: for SeaweedFS its master and filer (host:port.grpcPort)."""

    url: str
    ca_pem: str
    master: str = ""
    filer: str = ""

    def __post_init__(self) -> None:
        if not self.url.startswith("https://"):
            raise DataServiceError(
                f"object storage endpoint {self.url!r}: only https:// is accepted (keys and "
                "data never cross the network in clear)"
            )
        if "BEGIN CERTIFICATE" not in self.ca_pem:
            raise DataServiceError(
                f"object storage endpoint {self.url}: its CA is not a PEM certificate"
            )

    def ca_file(self) -> Path:
        """The CA as a file for botocore."""
        return pem_file(self.ca_pem)


def pem_file(pem: str) -> Path:
    """A PEM (a CA certificate: public) as a file for clients that want a path, one per
    content in the temp directory, written once."""
    digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"pdn-ca-{digest}.pem"
    if not path.is_file() or path.read_text() != pem:
        # A name of its own first: providers of two shards may write it at once.
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=path.name, delete=False
        ) as tmp:
            tmp.write(pem)
        Path(tmp.name).replace(path)
    return path


def client(endpoint: Endpoint, access_key: str, secret_key: str, service: str = "s3") -> Any:
    """A boto3 client of the store (service "s3" or "iam", which SeaweedFS and RGW serve on the
    same endpoint), path-style, TLS verified against the endpoint's CA."""
    import boto3  # noqa: PLC0415  (heavy: only where a client is made)

    return boto3.client(
        service,
        endpoint_url=endpoint.url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=REGION,
        verify=str(endpoint.ca_file()),
        config=client_config(),
    )


def client_config(read_timeout: int = 60) -> Any:
    """How pdn's boto3 clients talk to a site's store: path-style, a few retries, checksums
    only where the API requires them, and bodies not hashed into the signature.

    Every endpoint is TLS (Endpoint refuses any other), which already guarantees the body
    arrives as sent; a SigV4 signature over it (boto3's default for a body it holds whole)
    hashed every byte of a backup once more in pdn's process, on top of the content's own
    sha256, sent as the signed S3 checksum header the store verifies. Unsigned bodies over TLS
    are what boto3 already does for streamed uploads (upload_file) and what Ceph RGW and
    SeaweedFS accept."""
    from botocore.config import Config  # noqa: PLC0415

    return Config(
        s3={"addressing_style": "path", "payload_signing_enabled": False},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=read_timeout,
        # SeaweedFS does not return the CRC checksums boto3 now asks for on every response.
        response_checksum_validation="when_required",
        request_checksum_calculation="when_required",
    )


def unreachable(what: str, err: Exception) -> str:
    """Why `what` (a store) cannot be used: it does not answer, or not over TLS with its CA."""
    text = f"{err.__class__.__name__}: {err}"
    if "SSL" in text or "certificate" in text.lower():
        return (
            f"{what} does not speak TLS with a certificate from the configured CA ({text}): "
            "check the endpoint's port (the https one) and its CA"
        )
    return f"{what} does not answer ({text})"
