"""Backups of a tenant's object data, kept where ransomware cannot reach them: at this site in
its data bucket's own locked versions, and at a second PDN site in its backup bucket (Object
Lock: each backup object is undeletable for the tier's lock days).

At this site the data bucket locks every version it takes (pdn.dataservices.buckets), so the
version a run reads is already an immutable copy: the run names it in its manifest and keeps it
locked at least the tier's lock days past the run (a tenant's key can overwrite or hide an
object, never remove a locked version), instead of storing the same bytes a second time on the
same store. Contents without a version (a bucket that was never versioned) are copied into the
backup bucket here too.

Layout of a backup bucket, the same at every site:
- `objects/<sha256>`: each distinct object content once (content-addressed: a run uploads only
  what no earlier run holds, and a stored copy is never overwritten by a different content);
  at this site only the contents no locked version holds;
- `catalog/objects/<stamp>.json`: the manifest of one run (every key of the data bucket with its
  size, ETag and sha256), written last, at every site: a run that is interrupted leaves no
  manifest, so the previous one stays the last good backup;
- `catalog/runs/<stamp>.json`: the run's journal (started; then complete or failed), so that
  `pdn backup status` says what happened to a run that left no manifest;
- `catalog/drills/<stamp>.json`: each restore drill's result and measured recovery time.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import io
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from botocore.exceptions import ClientError

from pdn.dataservices.buckets import BucketSpec, ensure_bucket
from pdn.dataservices.errors import DataServiceError

Progress = Callable[[str], None]
CHUNK = 8 * 2**20
WORKERS = 4  # objects in flight: the store, not pdn, is the limit
SPOOL = 64 * 2**20  # objects up to this size are hashed in memory
COPY_IN_ONE = 5 * 2**30  # S3's limit of a single-request copy


def stamp(now: datetime | None = None) -> str:
    """A run's identity: UTC time to the millisecond, sortable as text."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z"


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Site:
    """A PDN site's object store, as the platform reaches it (an S3 client with its key)."""

    name: str
    s3: Any


@dataclass(frozen=True)
class Entry:
    size: int
    etag: str
    sha256: str
    version: str = ""  # the data bucket's locked version holding it at versions_at ("": none)
    locked_until: str = ""  # that version's retention (ISO 8601), as last set or read


@dataclass
class Manifest:
    tenant: str
    stamp: str
    bucket: str
    objects: dict[str, Entry] = field(default_factory=dict)
    versions_at: str = ""  # the site whose data bucket holds the entries' versions

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.objects.values())

    def to_json(self) -> str:
        return json.dumps(
            {
                "tenant": self.tenant,
                "stamp": self.stamp,
                "bucket": self.bucket,
                "versions_at": self.versions_at,
                "objects": {k: vars(e) for k, e in sorted(self.objects.items())},
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        return cls(
            raw["tenant"],
            raw["stamp"],
            raw["bucket"],
            {k: Entry(**v) for k, v in raw["objects"].items()},
            raw.get("versions_at", ""),  # "": a run that copied every content at every site
        )


@dataclass(frozen=True)
class RunResult:
    tenant: str
    stamp: str
    objects: int
    uploaded: int  # contents not held by an earlier run
    bytes_read: int
    seconds: float
    sites: tuple[str, ...]


def _put_json(s3: Any, bucket: str, key: str, document: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=document.encode(), ContentType="application/json")


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise
    return True


def _keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield str(item["Key"])


def current_keys(s3: Any, bucket: str) -> list[str]:
    return list(_keys(s3, bucket, ""))


def current_keys_prefixed(s3: Any, bucket: str, prefix: str) -> list[str]:
    return list(_keys(s3, bucket, prefix))


def manifests(site: Site, backup_bucket: str) -> list[str]:
    """The stamps of the complete runs at site, oldest first."""
    try:
        keys = list(_keys(site.s3, backup_bucket, "catalog/objects/"))
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return []
        raise
    return sorted(k.rsplit("/", 1)[-1].removesuffix(".json") for k in keys)


def read_manifest(site: Site, backup_bucket: str, run: str) -> Manifest:
    body = site.s3.get_object(Bucket=backup_bucket, Key=f"catalog/objects/{run}.json")["Body"]
    return Manifest.from_json(body.read().decode())


def journal(site: Site, backup_bucket: str, kind: str = "runs") -> list[dict[str, Any]]:
    """Every run's (or drill's) last journal entry at site, oldest first."""
    found = []
    try:
        keys = sorted(_keys(site.s3, backup_bucket, f"catalog/{kind}/"))
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return []
        raise
    for key in keys:
        body = site.s3.get_object(Bucket=backup_bucket, Key=key)["Body"].read()
        # A drill's document is kept under the time it was made.
        found.append({"stamp": key.rsplit("/", 1)[-1].removesuffix(".json"), **json.loads(body)})
    return found


def chunks(body: Any) -> Iterator[bytes]:
    while chunk := body.read(CHUNK):
        yield chunk


@dataclass(frozen=True)
class _Read:
    """One object as a run read it: its content, and what identifies it."""

    content: IO[bytes]
    sha256: str
    size: int
    version: str  # "" when the bucket gave none (never versioned: "null")
    locked_until: str


def _content(got: dict[str, Any]) -> tuple[IO[bytes], str, int]:
    """A get_object answer's body (open, at its start), its sha256 and size: up to SPOOL bytes
    read in one piece into memory (one copy, hashed in one call: an 8 MiB object written chunk
    by chunk into a spool cost more of pdn's CPU than its TLS), larger ones into a file."""
    if int(got.get("ContentLength") or 0) <= SPOOL:
        whole = got["Body"].read()  # botocore checks the length the store announced
        # BytesIO shares the bytes: read() whole gives them back, no copy.
        return io.BytesIO(whole), hashlib.sha256(whole).hexdigest(), len(whole)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (returned open)
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks(got["Body"]):
        digest.update(chunk)
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    return spool, digest.hexdigest(), size


def _read_object(s3: Any, bucket: str, key: str) -> _Read:
    """The object's content, with its sha256, size, version and retention."""
    got = s3.get_object(Bucket=bucket, Key=key)
    content, sha256, size = _content(got)
    version = str(got.get("VersionId") or "")
    until = got.get("ObjectLockRetainUntilDate")
    return _Read(
        content,
        sha256,
        size,
        "" if version == "null" else version,
        until.isoformat() if until else "",
    )


def _back_up_object(
    primary: Site,
    copies: list[Site],
    data: BucketSpec,
    bucket: str,
    item: tuple[str, str],
    *,
    copier: ThreadPoolExecutor,
) -> tuple[Entry, int]:
    """One object into the backup at every site. At this site the locked version read is the
    copy; without one (an unlocked or never versioned bucket), a server-side copy of what was
    read into the backup bucket (no bytes through pdn). Elsewhere an upload, at the same time
    as that copy (the copy is the store's work, the upload pdn's). item: (key, ETag listed).
    (entry, uploads)"""
    key, etag = item
    read = _read_object(primary.s3, data.name, key)
    pinned = data.object_lock and bool(read.version)
    target = f"objects/{read.sha256}"

    def at_this_site() -> int:
        if pinned or _exists(primary.s3, bucket, target):
            return 0
        source = {"Bucket": data.name, "Key": key}
        if read.version:
            source["VersionId"] = read.version
        if read.size <= COPY_IN_ONE:  # one request; larger ones are copied in parts
            primary.s3.copy_object(CopySource=source, Bucket=bucket, Key=target)
        else:
            primary.s3.copy(source, bucket, target)
        return 1

    with read.content:
        copied = copier.submit(at_this_site)
        uploads = _store(read.content, read.sha256, read.size, copies, bucket)
        uploads += copied.result()
    entry = Entry(
        read.size,
        etag,
        read.sha256,
        read.version if pinned else "",
        read.locked_until if pinned else "",
    )
    return entry, uploads


def _hold(s3: Any, data: BucketSpec, manifest: Manifest, pool: ThreadPoolExecutor) -> list[str]:
    """Keep every version the manifest names locked at least the tier's lock days from now: a
    version whose lock ends sooner is locked half as long again past that (so each is extended
    about once per half its lock, not on every run). Returns the keys whose version is gone
    (a lock ran out before a run came): the run backs them up afresh."""
    now = datetime.now(UTC)
    needed = now + timedelta(days=data.lock_days)
    until = needed + timedelta(days=data.lock_days / 2)
    due = [
        (key, entry)
        for key, entry in manifest.objects.items()
        if entry.version
        and (not entry.locked_until or datetime.fromisoformat(entry.locked_until) < needed)
    ]

    def hold(item: tuple[str, Entry]) -> str | None:
        key, entry = item
        try:
            s3.put_object_retention(
                Bucket=data.name,
                Key=key,
                VersionId=entry.version,
                Retention={"Mode": data.lock_mode, "RetainUntilDate": until},
            )
        except ClientError as err:
            if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return key
            raise
        manifest.objects[key] = dataclasses.replace(entry, locked_until=until.isoformat())
        return None

    return [key for key in pool.map(hold, due) if key is not None]


class _Unclosable:
    """A file that boto3 may close after an upload, kept open for the next site's upload."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        return self.raw.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        pass


def _store(content: IO[bytes], sha: str, size: int, sites: list[Site], bucket: str) -> int:
    """Upload one content to each site that does not hold it yet; returns the uploads. A
    content held in memory goes in one request (a managed upload costs three, and threads),
    with its sha256 as the S3 checksum: the store refuses the content if it arrives otherwise
    (BadDigest). The checksum header is signed; the body is not hashed again to sign it (see
    pdn.dataservices.s3.client_config)."""
    uploads = 0
    for site in sites:
        if not _exists(site.s3, bucket, f"objects/{sha}"):
            content.seek(0)
            if size <= SPOOL:
                site.s3.put_object(
                    Bucket=bucket,
                    Key=f"objects/{sha}",
                    Body=content.read(),
                    ChecksumSHA256=base64.b64encode(bytes.fromhex(sha)).decode(),
                )
            else:
                site.s3.upload_fileobj(_Unclosable(content), bucket, f"objects/{sha}")
            uploads += 1
    return uploads


def _unchanged_since(
    primary: Site, data_bucket: str, last: Manifest | None, manifest: Manifest
) -> list[tuple[str, str]]:
    """Put the objects unchanged since the last run (same ETag and size) into manifest, as the
    last run recorded them (their versions only if held at this site); returns the others, as
    (key, ETag)."""
    same_site = last is not None and last.versions_at == primary.name
    changed = []
    for page in primary.s3.get_paginator("list_objects_v2").paginate(Bucket=data_bucket):
        for item in page.get("Contents", []):
            key, etag, size = item["Key"], item["ETag"].strip('"'), int(item["Size"])
            known = last.objects.get(key) if last else None
            if known is not None and known.etag == etag and known.size == size:
                manifest.objects[key] = known if same_site else Entry(size, etag, known.sha256)
            else:
                changed.append((key, etag))
    return changed


def back_up_bucket(
    tenant: str,
    data: BucketSpec,
    backup_spec: BucketSpec,
    primary: Site,
    copies: list[Site],
    *,
    progress: Progress = print,
    fail_after: int | None = None,
) -> RunResult:
    """One backup run of the data bucket: its locked versions named at primary (or copied into
    the backup bucket there), its contents uploaded to the backup bucket at every copy site.
    fail_after: stop (as a crash would) after that many uploads, for the fault tests."""
    started = time.monotonic()
    run = stamp()
    sites = [primary, *copies]
    for site in copies:  # the second site's backup bucket, made like the first (idempotent)
        ensure_bucket(site.s3, backup_spec)
    bucket = backup_spec.name
    running = json.dumps({"tenant": tenant, "stamp": run, "status": "running"})
    for site in sites:
        _put_json(site.s3, bucket, f"catalog/runs/{run}.json", running)
    previous = manifests(primary, bucket)
    last = read_manifest(primary, bucket, previous[-1]) if previous else None
    manifest = Manifest(tenant, run, data.name, versions_at=primary.name)
    uploaded = bytes_read = 0
    try:
        changed = _unchanged_since(primary, data.name, last, manifest)
        with (
            ThreadPoolExecutor(max_workers=WORKERS) as pool,
            ThreadPoolExecutor(max_workers=WORKERS) as copier,
        ):
            refetched = False
            while changed:
                stored = pool.map(
                    lambda item: _back_up_object(
                        primary, copies, data, bucket, item, copier=copier
                    ),
                    changed,
                )
                for (key, _), (entry, uploads) in zip(changed, stored, strict=True):
                    bytes_read += entry.size
                    uploaded += uploads
                    manifest.objects[key] = entry
                    if fail_after is not None and uploaded >= fail_after:
                        raise DataServiceError(f"backup of {tenant} stopped (fault)")
                gone = _hold(primary.s3, data, manifest, pool) if data.object_lock else []
                if gone and refetched:  # read afresh and gone again: not a lock run out
                    raise DataServiceError(
                        f"backup of {tenant}: the versions of {', '.join(gone[:5])} vanish "
                        f"from {data.name} as soon as they are read: check the bucket's lock"
                    )
                changed, refetched = [(key, manifest.objects[key].etag) for key in gone], True
        for site in sites:  # last: the run counts only once its manifest is everywhere
            _put_json(site.s3, bucket, f"catalog/objects/{run}.json", manifest.to_json())
    except Exception as err:
        failed = json.dumps(
            {"tenant": tenant, "stamp": run, "status": "failed", "error": str(err)[:500]}
        )
        for site in sites:
            # The site may be what failed: there, status says the run never finished.
            with contextlib.suppress(Exception):
                _put_json(site.s3, bucket, f"catalog/runs/{run}.json", failed)
        raise
    seconds = time.monotonic() - started
    done = json.dumps(
        {
            "tenant": tenant,
            "stamp": run,
            "status": "complete",
            "objects": len(manifest.objects),
            "bytes": manifest.total_bytes,
            "seconds": round(seconds, 3),
        }
    )
    for site in sites:
        _put_json(site.s3, bucket, f"catalog/runs/{run}.json", done)
    progress(
        f"{tenant}: {len(manifest.objects)} object(s), {uploaded} new upload(s), "
        f"{bytes_read / 2**20:.1f} MiB read, at {', '.join(s.name for s in sites)} "
        f"in {seconds:.1f}s"
    )
    return RunResult(
        tenant,
        run,
        len(manifest.objects),
        uploaded,
        bytes_read,
        seconds,
        tuple(s.name for s in sites),
    )


@dataclass(frozen=True)
class DrillResult:
    tenant: str
    site: str
    backup: str  # the stamp of the run restored
    objects: int
    bytes: int
    seconds: float
    mismatches: tuple[str, ...]  # keys whose restored content differs from the manifest

    @property
    def verified(self) -> bool:
        return not self.mismatches


def restore_bucket(
    site: Site,
    backup_bucket: str,
    target: Site,
    target_bucket: str,
    *,
    run: str | None = None,
) -> DrillResult:
    """Restore a run (the latest by default) of the backup at site into target_bucket on
    target, checking every object's sha256 against the manifest as it is written."""
    started = time.monotonic()
    runs = manifests(site, backup_bucket)
    if not runs:
        raise DataServiceError(f"{backup_bucket} at {site.name}: no complete backup to restore")
    chosen = run or runs[-1]
    manifest = read_manifest(site, backup_bucket, chosen)
    mismatches = []
    for key, entry in sorted(manifest.objects.items()):
        try:
            if entry.version and manifest.versions_at == site.name:  # the locked version
                got = site.s3.get_object(Bucket=manifest.bucket, Key=key, VersionId=entry.version)
            else:
                got = site.s3.get_object(Bucket=backup_bucket, Key=f"objects/{entry.sha256}")
        except ClientError as err:
            if err.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
                raise
            mismatches.append(key)  # gone: the drill says which
            continue
        content, sha256, _ = _content(got)
        with content:
            if sha256 != entry.sha256:
                mismatches.append(key)
                continue
            target.s3.upload_fileobj(content, target_bucket, key)
    return DrillResult(
        manifest.tenant,
        site.name,
        chosen,
        len(manifest.objects),
        manifest.total_bytes,
        time.monotonic() - started,
        tuple(mismatches),
    )


def verify_bucket(s3: Any, bucket: str, manifest: Manifest) -> list[str]:
    """The keys of manifest whose content in bucket differs (or is missing), by sha256."""
    wrong = []
    for key, entry in sorted(manifest.objects.items()):
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError:
            wrong.append(key)
            continue
        digest = hashlib.sha256()
        for chunk in chunks(body):
            digest.update(chunk)
        if digest.hexdigest() != entry.sha256:
            wrong.append(key)
    return wrong


def record_drill(sites: list[Site], backup_bucket: str, result: DrillResult) -> None:
    record_document(
        sites,
        backup_bucket,
        {**vars(result), "mismatches": list(result.mismatches), "data_set": "bucket"},
    )


def record_document(sites: list[Site], backup_bucket: str, document: dict[str, Any]) -> None:
    """A drill's result, in the tenant's backup catalog at every site."""
    text = json.dumps(document, default=str)
    for site in sites:
        _put_json(site.s3, backup_bucket, f"catalog/drills/{stamp()}.json", text)
