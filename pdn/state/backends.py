"""Where Pulumi keeps the platform's state: a DIY backend, on a disk (file) or in an S3 bucket.

Both have one layout (`.pulumi/stacks/<project>/<stack>.json`, locks under
`.pulumi/locks/organization/<project>/<stack>/`), so pdn reads a stack's resources, finds its
stacks and clears a dead process's lock the same way on each, without starting `pulumi` (which
would parse every stack's state while rollouts write theirs).
"""

from __future__ import annotations

import configparser
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from pdn.dataservices.s3 import REGION, client_config
from pdn.files import write_private
from pdn.pulumi_env import PulumiEnvError

LOCKS = ".pulumi/locks/organization"
STACKS = ".pulumi/stacks"
HISTORY = ".pulumi/history"


@dataclass(frozen=True)
class Lock:
    key: str  # where the backend keeps it, relative to its root
    holder: dict[str, Any]  # Pulumi's lock file: pid, hostname, username, timestamp


class StateBackend(Protocol):
    """A DIY backend as pulumi and pdn see it."""

    @property
    def url(self) -> str: ...

    @property
    def description(self) -> str: ...

    def variables(self) -> dict[str, str]:
        """What pulumi needs in its environment to reach the backend (never a secret itself)."""
        ...

    def read(self, key: str) -> bytes | None: ...

    def keys(self, prefix: str) -> list[str]: ...

    def write(self, key: str, data: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def prepare(self, project: str, stack: str) -> None:
        """Put right what would stop the next pulumi command on this stack (not a live lock)."""
        ...


def stack_key(project: str, stack: str) -> str:
    return f"{STACKS}/{project}/{stack}.json"


def stack_names(backend: StateBackend, project: str) -> set[str]:
    prefix = f"{STACKS}/{project}/"
    return {
        key.removeprefix(prefix).removesuffix(".json")
        for key in backend.keys(prefix)
        if key.endswith(".json") and "/" not in key.removeprefix(prefix)
    }


def has_stack(backend: StateBackend, project: str, stack: str) -> bool:
    return backend.read(stack_key(project, stack)) is not None


def checkpoint(backend: StateBackend, project: str, stack: str) -> dict[str, Any]:
    """The stack's latest checkpoint ({} while it has none, or if it cannot be parsed)."""
    raw = backend.read(stack_key(project, stack))
    try:
        state = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    latest = state.get("checkpoint", {}).get("latest") if isinstance(state, dict) else None
    return latest if isinstance(latest, dict) else {}


def last_update(backend: StateBackend, project: str, stack: str) -> dict[str, Any]:
    """The record of the stack's latest update, as `pulumi stack history` shows it ({} before
    the first): read from the backend's history files, named `<stack>-<unix ns>.history.json`."""
    prefix = f"{HISTORY}/{project}/{stack}/"
    stamped = []
    for key in backend.keys(prefix):
        stamp = key.removeprefix(prefix).removesuffix(".history.json").rsplit("-", 1)[-1]
        if key.endswith(".history.json") and stamp.isdigit():
            stamped.append((int(stamp), key))
    raw = backend.read(max(stamped)[1]) if stamped else None
    try:
        record = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def locks(backend: StateBackend, project: str, stack: str) -> list[Lock]:
    found = []
    for key in backend.keys(f"{LOCKS}/{project}/{stack}/"):
        raw = backend.read(key) if key.endswith(".json") else None
        try:
            holder = json.loads(raw) if raw else None
        except ValueError:
            holder = None
        if isinstance(holder, dict):
            found.append(Lock(key, holder))
    return found


@dataclass(frozen=True)
class FileState:
    """State on a disk: one operator's machine (the local default before the DC runs)."""

    root: Path

    @property
    def url(self) -> str:
        return self.root.as_uri()

    @property
    def description(self) -> str:
        return f"file backend {self.root}"

    def variables(self) -> dict[str, str]:
        return {}

    def read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def keys(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in folder.iterdir() if p.is_file())

    def write(self, key: str, data: bytes) -> None:
        write_private(self.root / key, data)

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def walk(self) -> list[str]:
        """Every file the backend holds, as keys."""
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def prepare(self, project: str, stack: str) -> None:
        return None


@dataclass(frozen=True)
class S3State:
    """State in a bucket of a site's object store, reached over verified TLS with an identity
    that reaches that bucket only. Its key is in an AWS shared-credentials file (owner-only),
    named to pulumi by path: no secret in an environment variable or on a command line."""

    bucket: str
    endpoint: str  # https://host:port
    ca_file: Path | None = None  # None: the system's trust store
    credentials_file: Path | None = None  # None: the caller's own AWS configuration
    profile: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.endpoint.startswith("https://"):
            raise PulumiEnvError(
                f"state backend endpoint {self.endpoint!r}: only https:// is accepted (the state "
                "holds every resource's inputs)"
            )

    @classmethod
    def from_url(cls, url: str) -> S3State:
        """An operator's own bucket: s3://BUCKET?endpoint=https://HOST:PORT[&profile=NAME]."""
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.scheme != "s3" or not parts.netloc or "endpoint" not in query:
            raise PulumiEnvError(
                f"state backend {url!r}: expected s3://BUCKET?endpoint=https://HOST:PORT "
                "(with &profile=NAME for a profile of your AWS credentials file)"
            )
        return cls(parts.netloc, query["endpoint"], profile=query.get("profile"))

    @property
    def url(self) -> str:
        query = {
            "endpoint": self.endpoint,
            "s3ForcePathStyle": "true",
            "region": REGION,
            # The store does not send the CRC checksums the SDK now asks for on each response.
            "response_checksum_validation": "when_required",
            "request_checksum_calculation": "when_required",
        }
        if self.profile:
            query["profile"] = self.profile
        return f"s3://{self.bucket}?{urlencode(query)}"

    @property
    def description(self) -> str:
        return f"bucket {self.bucket} at {self.endpoint}"

    def variables(self) -> dict[str, str]:
        env = {"AWS_EC2_METADATA_DISABLED": "true"}  # air-gapped: no instance metadata to ask
        if self.ca_file is not None:
            env["AWS_CA_BUNDLE"] = str(self.ca_file)
        if self.credentials_file is not None:
            env["AWS_SHARED_CREDENTIALS_FILE"] = str(self.credentials_file)
        return env

    def _client(self) -> Any:
        with self._lock:  # one client per backend, made once even when shards start together
            if "s3" not in self._clients:
                self._clients["s3"] = self._make_client()
            return self._clients["s3"]

    def _make_client(self) -> Any:
        import boto3  # noqa: PLC0415  (heavy: only where the state is in a bucket)

        if self.credentials_file is None:
            session = boto3.session.Session(profile_name=self.profile)
        else:  # the same file and profile pulumi is given
            parser = configparser.ConfigParser()
            parser.read(self.credentials_file)
            section = parser[self.profile or "default"]
            session = boto3.session.Session(
                aws_access_key_id=section["aws_access_key_id"],
                aws_secret_access_key=section["aws_secret_access_key"],
            )
        return session.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            verify=str(self.ca_file) if self.ca_file else True,
            config=client_config(read_timeout=30),
        )

    def _call(self, what: str, call: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            return call()
        except ClientError as err:
            raise PulumiEnvError(
                f"state backend {self.description}: {what} refused "
                f"({err.response.get('Error', {}).get('Code', err)}): check the state "
                "identity's key and the bucket (`pdn dc up` makes both on the local DC)"
            ) from err
        except (BotoCoreError, OSError) as err:
            raise PulumiEnvError(
                f"state backend {self.description} cannot be reached ({err}): is the site's "
                "object storage up (`pdn dc status`)?"
            ) from err

    def read(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        def get() -> bytes | None:
            try:
                body: bytes = self._client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return None
                raise
            return body

        result: bytes | None = self._call(f"reading {key}", get)
        return result

    def keys(self, prefix: str) -> list[str]:
        """The objects directly under prefix (the folder-like 0-byte keys ending in / too)."""

        def listing() -> list[str]:
            found: list[str] = []
            pages = self._client().get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                found += [o["Key"] for o in page.get("Contents", [])]
            return sorted(found)

        result: list[str] = self._call(f"listing {prefix}", listing)
        return result

    def write(self, key: str, data: bytes) -> None:
        client = self._client
        self._call(
            f"writing {key}", lambda: client().put_object(Bucket=self.bucket, Key=key, Body=data)
        )

    def delete(self, key: str) -> None:
        self._call(
            f"deleting {key}", lambda: self._client().delete_object(Bucket=self.bucket, Key=key)
        )

    def prepare(self, project: str, stack: str) -> None:
        """SeaweedFS lists a folder whose last file was deleted as a 0-byte object for about two
        minutes; pulumi reads that `…/<stack>/` entry as a lock and fails with "unexpected end
        of JSON input". Remove it unless a real lock file is still inside."""
        folder = f"{LOCKS}/{project}/{stack}/"
        listed = self.keys(folder)
        if folder in listed and not any(k.endswith(".json") for k in listed):
            self.delete(folder)
