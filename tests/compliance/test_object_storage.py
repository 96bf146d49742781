"""Object storage controls, asked of each store over S3 as a client without any key."""

from __future__ import annotations

from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from pdn.compliance.targets import StoreTarget
from pdn.dataservices.s3 import REGION, client_config

PROBE_KEY = "pdn-comply-anonymous-probe"


def _anonymous(store: StoreTarget) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client(
        "s3",
        endpoint_url=store.endpoint.url,
        region_name=REGION,
        verify=str(store.endpoint.ca_file()),
        config=client_config().merge(_unsigned()),
    )


def _unsigned() -> Any:
    from botocore.config import Config  # noqa: PLC0415

    return Config(signature_version=UNSIGNED)


def _refused(call: Any) -> bool:
    try:
        call()
    except ClientError as err:
        return err.response["ResponseMetadata"]["HTTPStatusCode"] in (401, 403)
    return False


@pytest.mark.control("PDN-S3-1")
def test_no_bucket_is_public(store: StoreTarget, record_property: Any) -> None:
    """Without a key: listing the buckets, listing, reading and writing each is refused."""
    buckets = [b["Name"] for b in store.admin().list_buckets().get("Buckets", [])]
    anonymous = _anonymous(store)
    open_ = [] if _refused(anonymous.list_buckets) else ["(the bucket list)"]
    for bucket in buckets:
        tries = {
            "list": lambda b=bucket: anonymous.list_objects_v2(Bucket=b, MaxKeys=1),
            "read": lambda b=bucket: anonymous.head_object(Bucket=b, Key=PROBE_KEY),
            "write": lambda b=bucket: anonymous.put_object(Bucket=b, Key=PROBE_KEY, Body=b""),
        }
        open_ += [f"{bucket}: {what}" for what, call in tries.items() if not _refused(call)]
    record_property(
        "evidence",
        f"{len(buckets)} buckets tried without a key: "
        + (", ".join(open_) if open_ else "every list, read and write refused"),
    )
    assert not open_, f"open to anyone: {open_}"
