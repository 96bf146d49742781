"""The local DC's object storage is a real S3 server (SeaweedFS), over TLS from the DC's CA,
healed by `pdn dc up` like the control plane, with nothing for anonymous callers."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pdn.dataservices import buckets, plan, quota
from pdn.dc import object_storage
from pdn.dc.lifecycle import LocalDC
from pdn.dc.probes import https_get
from pdn.inventory import all_sites
from pdn.tenants.fleet import load_fleet, tenant_files

pytestmark = pytest.mark.integration


def _client(local_dc: LocalDC, secret_key: str | None = None) -> Any:
    """An S3 client as the platform admin (with another secret_key: an impostor)."""
    access = local_dc.object_storage_admin()
    return boto3.client(
        "s3",
        endpoint_url=access.endpoint,
        aws_access_key_id=access.access_key,
        aws_secret_access_key=secret_key or access.secret_key,
        region_name="id-pdn-1",
        verify=str(access.ca),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


@pytest.fixture
def bucket(local_dc: LocalDC) -> Iterator[str]:
    name = f"it-{uuid.uuid4().hex[:10]}"
    s3 = _client(local_dc)
    s3.create_bucket(Bucket=name)
    yield name
    for version in s3.list_object_versions(Bucket=name).get("Versions", []):
        s3.delete_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])
    for marker in s3.list_object_versions(Bucket=name).get("DeleteMarkers", []):
        s3.delete_object(Bucket=name, Key=marker["Key"], VersionId=marker["VersionId"])
    s3.delete_bucket(Bucket=name)


def test_objects_round_trip_over_tls_with_versions(local_dc: LocalDC, bucket: str) -> None:
    s3 = _client(local_dc)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = os.urandom(3 * 2**20)
    s3.put_object(Bucket=bucket, Key="arsip/data.bin", Body=first)
    s3.put_object(Bucket=bucket, Key="arsip/data.bin", Body=b"overwritten")
    got = s3.get_object(Bucket=bucket, Key="arsip/data.bin")["Body"].read()
    assert got == b"overwritten"
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert len(versions) == 2
    # LastModified has whole seconds: the version that is not the latest is the first one.
    (older,) = [v for v in versions if not v["IsLatest"]]
    old = s3.get_object(Bucket=bucket, Key="arsip/data.bin", VersionId=older["VersionId"])
    assert hashlib.sha256(old["Body"].read()).digest() == hashlib.sha256(first).digest()


def test_anonymous_and_wrong_keys_are_refused(local_dc: LocalDC, bucket: str) -> None:
    access = local_dc.object_storage_admin()
    _client(local_dc).put_object(Bucket=bucket, Key="rahasia.txt", Body=b"x")
    port = local_dc.settings.ports.s3_https
    status, _ = https_get("127.0.0.1", port, f"/{bucket}/rahasia.txt", access.ca)
    assert status == 403
    wrong = _client(local_dc, secret_key="not-the-secret")
    with pytest.raises(ClientError) as refused:
        wrong.get_object(Bucket=bucket, Key="rahasia.txt")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_pdn_sends_bodies_unsigned_and_the_store_refuses_one_its_checksum_does_not_match(
    local_dc: LocalDC, bucket: str
) -> None:
    """pdn's clients do not hash bodies into the signature (TLS carries them; see
    pdn.dataservices.s3.client_config): a backup's integrity is its sha256, sent as the signed
    S3 checksum header, which the store checks against what arrives."""
    s3 = local_dc.object_storage_client()
    signed: list[str] = []
    s3.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: signed.append(request.headers["X-Amz-Content-SHA256"].decode()),
    )
    content = os.urandom(2**20)
    checksum = base64.b64encode(hashlib.sha256(content).digest()).decode()
    s3.put_object(Bucket=bucket, Key="objects/good", Body=content, ChecksumSHA256=checksum)
    assert signed == ["UNSIGNED-PAYLOAD"]
    got = s3.get_object(Bucket=bucket, Key="objects/good")["Body"].read()
    assert got == content

    tampered = content[:-1] + bytes([content[-1] ^ 1])
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="objects/bad", Body=tampered, ChecksumSHA256=checksum)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "objects/bad" not in [
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]


def test_a_killed_object_store_is_healed_with_its_data(local_dc: LocalDC, bucket: str) -> None:
    s3 = _client(local_dc)
    s3.put_object(Bucket=bucket, Key="sebelum.txt", Body=b"written before the kill")
    pid = local_dc.supervisor.pid(object_storage.NAME)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while local_dc.supervisor.pid(object_storage.NAME) == pid and time.monotonic() < deadline:
        time.sleep(0.1)
    status = {c.name: c for c in local_dc.status().components}
    assert not status[object_storage.NAME].healthy

    healed = {c.name: c for c in local_dc.up(progress=print).components}
    assert healed[object_storage.NAME].healthy
    assert healed[object_storage.NAME].pid not in (None, pid)
    body = _client(local_dc).get_object(Bucket=bucket, Key="sebelum.txt")["Body"].read()
    assert body == b"written before the kill"


def test_a_tenants_buckets_follow_its_plan_and_backups_cannot_be_deleted(
    local_dc: LocalDC,
) -> None:
    """Made to the plan of a vital tenant, on the real store: versioned data bucket, backup
    bucket locked by default (COMPLIANCE); a second run changes nothing; a locked backup version
    cannot be deleted, even with the platform's key."""
    fleet = load_fleet(tenant_files(), all_sites())
    planned = plan.storage_of(fleet.tenants["kab-bekasi-rsud"])
    suffix = uuid.uuid4().hex[:6]
    storage = dataclasses.replace(
        planned,
        data_bucket=f"it-{suffix}-{planned.data_bucket}",
        backup_bucket=f"it-{suffix}-{planned.backup_bucket}",
    )
    s3 = _client(local_dc)
    changed = buckets.ensure_buckets(s3, storage)
    print("\n".join(changed))
    assert any("Object Lock" in c for c in changed)
    assert buckets.ensure_buckets(s3, storage) == []
    assert s3.get_bucket_versioning(Bucket=storage.data_bucket)["Status"] == "Enabled"
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=storage.data_bucket)["Rules"]
    expiry = lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"]
    assert expiry == planned.backup.keep_days
    rule = s3.get_object_lock_configuration(Bucket=storage.backup_bucket)
    retention = rule["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", planned.backup.lock_days)

    put = s3.put_object(Bucket=storage.backup_bucket, Key="db/full.tar", Body=b"backup")
    with pytest.raises(ClientError):
        s3.delete_object(
            Bucket=storage.backup_bucket, Key="db/full.tar", VersionId=put["VersionId"]
        )
    body = s3.get_object(Bucket=storage.backup_bucket, Key="db/full.tar")["Body"].read()
    assert body == b"backup"


def test_a_bucket_made_without_object_lock_gets_it(local_dc: LocalDC, bucket: str) -> None:
    """A bucket made before its tenant's plan asked for Object Lock (the fixture's, plain) is
    locked by the next converge, never left as it was."""
    fleet = load_fleet(tenant_files(), all_sites())
    storage = dataclasses.replace(
        plan.storage_of(fleet.tenants["kemendagri"]),
        data_bucket=f"{bucket}-data",
        backup_bucket=bucket,  # made by the fixture, without Object Lock
    )
    s3 = _client(local_dc)
    try:
        changed = buckets.ensure_buckets(s3, storage)
        assert any(c.startswith(f"{bucket}: new objects locked") for c in changed), changed
        found = buckets.read_bucket(s3, bucket)
        assert found is not None
        assert found.object_lock
        assert (found.lock_mode, found.lock_days) == (
            storage.backup.lock_mode.value,
            storage.backup.lock_days,
        )
        assert not buckets.ensure_buckets(s3, storage)  # converged
    finally:
        s3.delete_bucket(Bucket=f"{bucket}-data")


def _writable(s3: Any, bucket: str) -> bool:
    try:
        s3.put_object(Bucket=bucket, Key="probe", Body=b"x")
    except ClientError:
        return False
    return True


def _enforced_until(local_dc: LocalDC, s3: Any, bucket: str, *, writable: bool) -> float:
    """Run the schedule's enforcement until the bucket is (not) writable; the seconds it took.
    SeaweedFS counts a bucket's size from its volume servers' heartbeats: a few seconds late."""
    started, deadline = time.monotonic(), time.monotonic() + 60
    while time.monotonic() < deadline:
        quota.enforce_quotas(local_dc.object_storage_endpoint())
        if _writable(s3, bucket) == writable:
            return time.monotonic() - started
        time.sleep(1)
    pytest.fail(f"{bucket} still {'read-only' if writable else 'writable'} after 60 s")


def test_a_bucket_over_its_quota_is_read_only_until_data_is_removed(
    local_dc: LocalDC, bucket: str
) -> None:
    s3 = _client(local_dc)
    quota.set_quota(local_dc.object_storage_endpoint(), bucket, 1)
    s3.put_object(Bucket=bucket, Key="laporan.pdf", Body=os.urandom(3 * 2**20))
    closed = _enforced_until(local_dc, s3, bucket, writable=False)
    versions = s3.list_object_versions(Bucket=bucket).get("Versions", [])
    for version in versions:  # what an agency does: remove data (every version of it)
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    opened = _enforced_until(local_dc, s3, bucket, writable=True)
    print(f"read-only {closed:.1f}s after going over quota, writable {opened:.1f}s after cleanup")
