"""Which locked versions a backup run extends, and what it does with one that is gone. (The
store's side, that a lock holds against the tenant's and the platform's keys, is proven on the
real store by tests/integration/test_tenant_backups.py.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from pdn.dataservices import backup
from pdn.dataservices.buckets import BucketSpec

DATA = BucketSpec("kab-bekasi-data", object_lock=True, lock_mode="COMPLIANCE", lock_days=14)


class _Retentions:
    """An S3 client's put_object_retention: records each call; a version in gone is 404."""

    def __init__(self, gone: set[str]) -> None:
        self.gone = gone
        self.calls: list[tuple[str, str, datetime]] = []

    def put_object_retention(self, **kwargs: Any) -> None:
        if kwargs["VersionId"] in self.gone:
            raise ClientError(
                {
                    "Error": {"Code": "NoSuchVersion"},
                    "ResponseMetadata": {"HTTPStatusCode": 404},
                },
                "PutObjectRetention",
            )
        self.calls.append(
            (kwargs["Key"], kwargs["Retention"]["Mode"], kwargs["Retention"]["RetainUntilDate"])
        )


def _entry(version: str, locked_for: timedelta | None) -> backup.Entry:
    until = "" if locked_for is None else (datetime.now(UTC) + locked_for).isoformat()
    return backup.Entry(10, "e", "s", version, until)


def test_only_versions_whose_lock_ends_within_the_lock_days_are_extended() -> None:
    manifest = backup.Manifest("kab-bekasi", "run", DATA.name, versions_at="pdn-local")
    manifest.objects = {
        "soon": _entry("v1", timedelta(days=3)),
        "fresh": _entry("v2", timedelta(days=13, hours=23)),  # just written: default lock
        "far": _entry("v3", timedelta(days=20)),
        "unread": _entry("v4", None),
        "copied": _entry("", None),  # no version: a copy in the backup bucket
    }
    far = manifest.objects["far"]
    s3 = _Retentions(gone=set())
    started = datetime.now(UTC)
    with ThreadPoolExecutor(2) as pool:
        assert backup._hold(s3, DATA, manifest, pool) == []
    assert sorted(key for key, _, _ in s3.calls) == ["fresh", "soon", "unread"]
    for key, mode, until in s3.calls:
        assert mode == "COMPLIANCE"
        assert until >= started + timedelta(days=21)  # lock days and half again
        assert manifest.objects[key].locked_until == until.isoformat()
    assert manifest.objects["far"] == far  # held long enough: not touched


def test_a_version_that_is_gone_is_returned_to_be_backed_up_afresh() -> None:
    manifest = backup.Manifest("kab-bekasi", "run", DATA.name, versions_at="pdn-local")
    manifest.objects = {"a": _entry("v1", timedelta(days=1)), "b": _entry("v2", timedelta(0))}
    s3 = _Retentions(gone={"v2"})
    with ThreadPoolExecutor(2) as pool:
        assert backup._hold(s3, DATA, manifest, pool) == ["b"]
    assert [key for key, _, _ in s3.calls] == ["a"]
