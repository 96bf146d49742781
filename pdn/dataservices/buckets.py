"""A tenant's buckets on a site's object store, made to its plan (pdn.dataservices.plan) with
the platform's S3 client: idempotent, so it is run again to converge, and readable back, so a
change made behind the platform's back shows as drift.

- data bucket: versioned, with Object Lock: every version it takes is locked for the tier's lock
  days in its mode, so that the versions a backup names are this site's immutable copy (see
  pdn.dataservices.backup); old versions expire after the tier's retention once unlocked;
  unfinished multipart uploads are cleaned after a week; a quota.
- backup bucket: made with Object Lock, versioned, and every new object locked by default for
  the tier's lock days in its mode (COMPLIANCE: no one can delete it early, not even with the
  platform's key), so a ransomware holding a tenant's or an operator's key cannot destroy the
  backups.

Object Lock is turned on for a bucket made without it (S3 allows it on a versioned bucket, and
so do SeaweedFS and Ceph RGW); a store that refuses is an error, never a bucket silently left
unlocked.

No call here deletes a bucket with data in it: removing a tenant keeps its data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from pdn.dataservices.plan import DataServiceError, TenantStorage

INCOMPLETE_UPLOAD_DAYS = 7


@dataclass(frozen=True)
class BucketSpec:
    """One bucket as the platform wants it (and, read back, as the store has it)."""

    name: str
    object_lock: bool
    versioning: bool = True
    noncurrent_days: int = 0  # old versions expire after this (0: lifecycle not managed)
    lock_mode: str = ""  # default retention of new objects (with object_lock)
    lock_days: int = 0
    quota_mib: int = 0  # 0: none

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def specs_of(storage: TenantStorage) -> tuple[BucketSpec, BucketSpec]:
    """The tenant's (data, backup) buckets."""
    policy = storage.backup
    data = BucketSpec(
        storage.data_bucket,
        object_lock=True,
        noncurrent_days=policy.keep_days,
        lock_mode=policy.lock_mode.value,
        lock_days=policy.lock_days,
        quota_mib=storage.quota_gib * 1024,
    )
    backup = BucketSpec(
        storage.backup_bucket,
        object_lock=True,
        lock_mode=policy.lock_mode.value,
        lock_days=policy.lock_days,
    )
    return data, backup


def _lifecycle(days: int) -> list[dict[str, Any]]:
    return [
        {
            "ID": "pdn-retention",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS},
        }
    ]


def ensure_bucket(s3: Any, spec: BucketSpec) -> list[str]:
    """Make or converge one bucket (all but its quota, set on the admin plane); returns what it
    changed (empty: nothing)."""
    changed = []
    if _ensure(s3, spec.name, object_lock=spec.object_lock):
        changed.append(f"{spec.name}: created" + (" with Object Lock" if spec.object_lock else ""))
    if spec.versioning and s3.get_bucket_versioning(Bucket=spec.name).get("Status") != "Enabled":
        s3.put_bucket_versioning(Bucket=spec.name, VersioningConfiguration={"Status": "Enabled"})
        changed.append(f"{spec.name}: versioning enabled")
    if spec.noncurrent_days and _noncurrent_days(s3, spec.name) != spec.noncurrent_days:
        s3.put_bucket_lifecycle_configuration(
            Bucket=spec.name, LifecycleConfiguration={"Rules": _lifecycle(spec.noncurrent_days)}
        )
        changed.append(f"{spec.name}: old versions expire after {spec.noncurrent_days} days")
    if spec.object_lock and _retention(s3, spec.name) != (spec.lock_mode, spec.lock_days):
        try:
            s3.put_object_lock_configuration(
                Bucket=spec.name,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": spec.lock_mode, "Days": spec.lock_days}},
                },
            )
        except ClientError as err:
            raise DataServiceError(
                f"bucket {spec.name}: the store refused to lock its objects ({err}): copy its "
                "objects to a new bucket made with Object Lock, then remove this one"
            ) from err
        changed.append(f"{spec.name}: new objects locked {spec.lock_days} days ({spec.lock_mode})")
    return changed


def ensure_buckets(s3: Any, storage: TenantStorage) -> list[str]:
    """Make or converge both buckets of a tenant; returns what it changed (empty: nothing)."""
    return [change for spec in specs_of(storage) for change in ensure_bucket(s3, spec)]


def read_bucket(s3: Any, name: str, quota_mib: int = 0) -> BucketSpec | None:
    """The bucket as the store has it (quota_mib as read on the admin plane), None if absent."""
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return None
        raise DataServiceError(f"bucket {name}: {err}") from err
    lock_mode, lock_days = _retention(s3, name)
    return BucketSpec(
        name,
        object_lock=_lock_enabled(s3, name),
        versioning=s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled",
        noncurrent_days=_noncurrent_days(s3, name),
        lock_mode=lock_mode,
        lock_days=lock_days,
        quota_mib=quota_mib,
    )


def delete_empty_bucket(s3: Any, name: str) -> bool:
    """Delete the bucket if it holds no object version at all; False (kept) otherwise."""
    try:
        listing = s3.list_object_versions(Bucket=name, MaxKeys=1)
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return True
        raise
    if listing.get("Versions") or listing.get("DeleteMarkers"):
        return False
    s3.delete_bucket(Bucket=name)
    return True


def _noncurrent_days(s3: Any, name: str) -> int:
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    except ClientError:  # none
        return 0
    if rules != _lifecycle(_days_in(rules)):
        return -1  # a rule the platform did not write: drift
    return _days_in(rules)


def _days_in(rules: list[dict[str, Any]]) -> int:
    try:
        return int(rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"])
    except (IndexError, KeyError, TypeError, ValueError):
        return -1


def _lock_enabled(s3: Any, name: str) -> bool:
    try:
        locked = s3.get_object_lock_configuration(Bucket=name)
    except ClientError:
        return False
    return (locked.get("ObjectLockConfiguration") or {}).get("ObjectLockEnabled") == "Enabled"


def _retention(s3: Any, name: str) -> tuple[str, int]:
    try:
        config = s3.get_object_lock_configuration(Bucket=name).get("ObjectLockConfiguration")
    except ClientError:
        return "", 0
    default = ((config or {}).get("Rule") or {}).get("DefaultRetention") or {}
    return str(default.get("Mode", "")), int(default.get("Days", 0))


def _ensure(s3: Any, name: str, *, object_lock: bool) -> bool:
    """Create the bucket unless it exists; True if it was created."""
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
            raise DataServiceError(f"bucket {name}: {err}") from err
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
        return True
    return False
