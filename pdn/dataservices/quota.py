"""Bucket quotas on SeaweedFS, through its admin plane (S3 has no call for them): set with
`weed shell` (`s3.bucket.quota`), read from the filer's listing of /buckets.

SeaweedFS enforces a quota when `s3.bucket.quota.enforce -apply` runs (the platform's schedule
runs it, `enforce_quotas`): a bucket over its quota is then read-only until data is removed or
the quota raised. Ceph RGW, the alternative in production, enforces bucket quotas on each write.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from pdn.dataservices.errors import DataServiceError
from pdn.dataservices.s3 import Endpoint

MIB = 2**20
SHELL_TIMEOUT = 60


def weed_binary() -> Path:
    from pdn import paths  # noqa: PLC0415

    return paths.venv_bin() / "weed"


def _shell(endpoint: Endpoint, commands: str) -> str:
    if not endpoint.master or not endpoint.filer:
        raise DataServiceError(
            f"object storage {endpoint.url}: no admin plane (master and filer) is configured, "
            "so bucket quotas cannot be set"
        )
    # host:port.grpcPort: the shell otherwise dials gRPC on port + 10000 and waits forever.
    argv = [str(weed_binary()), "shell", f"-master={endpoint.master}", f"-filer={endpoint.filer}"]
    try:
        done = subprocess.run(
            argv,
            input=f"{commands}\nexit\n",
            capture_output=True,
            text=True,
            timeout=SHELL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise DataServiceError(
            f"object storage admin ({endpoint.master}): `weed shell` did not finish in "
            f"{SHELL_TIMEOUT} s: is the store running (`pdn dc status`)?"
        ) from err
    if done.returncode != 0:
        raise DataServiceError(
            f"object storage admin ({endpoint.master}): `weed shell` failed: "
            f"{(done.stderr or done.stdout).strip()[-300:]}"
        )
    # It reports on stderr as often as on stdout.
    return f"{done.stdout}\n{done.stderr}"


def set_quota(endpoint: Endpoint, bucket: str, quota_mib: int) -> None:
    """quota_mib 0 removes the quota."""
    op = f"-op=set -sizeMB={quota_mib}" if quota_mib > 0 else "-op=remove"
    out = _shell(endpoint, f"s3.bucket.quota -name={bucket} {op}")
    if "error" in out.lower() or bucket not in out:
        raise DataServiceError(f"bucket {bucket}: the quota was not set: {out.strip()[-300:]}")


def read_quota(endpoint: Endpoint, bucket: str) -> int | None:
    """The bucket's quota in MiB (0: none), or None if there is no such bucket. One entry is
    read, not the whole listing: the listing starts just before the bucket's name (bucket
    names hold only [a-z0-9-], all sorted before "~")."""
    host, _, port_grpc = endpoint.filer.rpartition(":")
    port = port_grpc.split(".")[0]
    before = bucket[:-1] + chr(ord(bucket[-1]) - 1) + "~"
    url = f"http://{host}:{port}/buckets/?limit=1&lastFileName={before}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            entries = json.load(response).get("Entries") or []
    except (OSError, ValueError) as err:
        raise DataServiceError(f"object storage admin ({endpoint.filer}): {err}") from err
    if not entries or entries[0].get("FullPath") != f"/buckets/{bucket}":
        return None
    return int(entries[0].get("Quota") or 0) // MIB


def enforce_quotas(endpoint: Endpoint) -> str:
    """Make buckets over their quota read-only (and those back under it writable again)."""
    return _shell(endpoint, "s3.bucket.quota.enforce -apply")
