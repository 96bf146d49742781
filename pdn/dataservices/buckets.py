"""A tenant's buckets on a site's object store, made to its plan (pdn.dataservices.plan) with
the platform's S3 client: idempotent, so it is run again to converge.

- data bucket: versioned; old versions expire after the tier's retention; unfinished multipart
  uploads are cleaned after a week.
- backup bucket: made with Object Lock (it cannot be turned on later), versioned, and every new
  object locked by default for the tier's lock days in its mode (COMPLIANCE: no one can delete
  it early, not even with the platform's key), so a ransomware holding a tenant's or an
  operator's key cannot destroy the backups.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pdn.dataservices.plan import DataServiceError, TenantStorage

INCOMPLETE_UPLOAD_DAYS = 7


def ensure_buckets(s3: Any, storage: TenantStorage) -> list[str]:
    """Make or converge both buckets of a tenant; returns what it changed (empty: nothing)."""
    changed = []
    if _ensure(s3, storage.data_bucket, object_lock=False):
        changed.append(f"{storage.data_bucket}: created")
    if _ensure(s3, storage.backup_bucket, object_lock=True):
        changed.append(f"{storage.backup_bucket}: created with Object Lock")
    for name in (storage.data_bucket, storage.backup_bucket):
        if s3.get_bucket_versioning(Bucket=name).get("Status") != "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            changed.append(f"{name}: versioning enabled")
    policy = storage.backup
    rules = [
        {
            "ID": "pdn-retention",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": policy.keep_days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS},
        }
    ]
    try:
        current_rules = s3.get_bucket_lifecycle_configuration(Bucket=storage.data_bucket)["Rules"]
    except ClientError:  # none yet
        current_rules = None
    if current_rules != rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=storage.data_bucket, LifecycleConfiguration={"Rules": rules}
        )
        changed.append(f"{storage.data_bucket}: old versions expire after {policy.keep_days} days")
    retention = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": policy.lock_mode.value, "Days": policy.lock_days}},
    }
    current = s3.get_object_lock_configuration(Bucket=storage.backup_bucket)
    if current.get("ObjectLockConfiguration") != retention:
        s3.put_object_lock_configuration(
            Bucket=storage.backup_bucket, ObjectLockConfiguration=retention
        )
        changed.append(
            f"{storage.backup_bucket}: new objects locked {policy.lock_days} days "
            f"({policy.lock_mode.value})"
        )
    return changed


def _ensure(s3: Any, name: str, *, object_lock: bool) -> bool:
    """Create the bucket unless it exists; True if it was created. An existing bucket that
    should have Object Lock and has not cannot be fixed: that is an error, never a silent
    backup bucket without immutability."""
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
            raise DataServiceError(f"bucket {name}: {err}") from err
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
        return True
    if object_lock:
        try:
            locked = s3.get_object_lock_configuration(Bucket=name)
        except ClientError:
            locked = {}
        enabled = (locked.get("ObjectLockConfiguration") or {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise DataServiceError(
                f"bucket {name} exists without Object Lock, which cannot be turned on later: "
                "copy its objects to a new bucket made with it, then remove this one"
            )
    return False
