"""`pdn migrate discover`: what every host of an estate runs, gathered by the discover playbook
(read-only), checked against its schema and written one file per host, with a summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from pdn.estate.hosts import EstateRuntime
from pdn.migrate.errors import MigrateError
from pdn.migrate.runner import migration_state, run_playbook

DISCOVERY_ACTION = "pdn.migrate.host_discovery"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OsInfo(_Strict):
    id: str
    version_id: str
    pretty_name: str
    kernel: str
    hostname: str


class Listening(_Strict):
    address: str
    port: int
    process: str


class Connection(_Strict):
    local: str
    remote: str
    process: str


class Tree(_Strict):
    path: str
    bytes: int


class Disks(_Strict):
    root_total: int
    root_used: int
    trees: list[Tree]


class CronJob(_Strict):
    file: str
    line: str


class Uploads(_Strict):
    path: str
    files: int
    bytes: int


class Endpoint(_Strict):
    file: str
    host: str


class WebSite(_Strict):
    config: str
    listen: list[str]
    root: str | None
    language: str | None = None
    files: int | None = None
    bytes: int | None = None
    uploads: Uploads | None = None
    database_endpoints: list[Endpoint] = []


class ColumnProfile(_Strict):
    type: str
    sampled: int
    nik_like: int
    nik_valid_birth: int
    nik_prefixes: dict[str, int]
    region_like: int
    region_values: list[str]


class Table(_Strict):
    rows: int
    bytes: int
    columns: dict[str, ColumnProfile]


class Database(_Strict):
    tables: dict[str, Table]


class DatabaseServer(_Strict):
    engine: str
    version: str
    databases: dict[str, Database]


class Share(_Strict):
    protocol: str
    user: str
    path: str
    bytes: int


class HostDiscovery(_Strict):
    """One host's discovery file (`pdn.discovery/v1`)."""

    schema_: str
    host: str
    agency: str
    room: str
    address: str
    os: OsInfo
    packages: dict[str, str]
    processes: list[str]
    listening: list[Listening]
    connections: list[Connection]
    disks: Disks
    cron: list[CronJob]
    web_sites: list[WebSite]
    databases: list[DatabaseServer]
    shares: list[Share]

    @property
    def data_bytes(self) -> int:
        """What has to move: databases, uploads, shares."""
        tables = sum(
            t.bytes for s in self.databases for d in s.databases.values() for t in d.tables.values()
        )
        uploads = sum(w.uploads.bytes for w in self.web_sites if w.uploads)
        return tables + uploads + sum(s.bytes for s in self.shares)


@dataclass(frozen=True)
class DiscoveryRun:
    hosts: dict[str, HostDiscovery]
    changed: dict[str, int]  # host -> tasks that reported a change (0: nothing touched)
    directory: Path
    artifacts: Path


def discovery_dir(runtime: EstateRuntime) -> Path:
    return migration_state(runtime) / "discovery"


def discover(
    runtime: EstateRuntime,
    *,
    limit: str | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> DiscoveryRun:
    run = run_playbook(runtime, "discover.yml", limit=limit, on_event=on_event)
    directory = discovery_dir(runtime)
    directory.mkdir(parents=True, exist_ok=True)
    found: dict[str, HostDiscovery] = {}
    for room, host in runtime.estate.hosts():
        result = run.results.get(host.name, {}).get(DISCOVERY_ACTION)
        if result is None:
            continue  # not in --limit
        raw = dict(result["discovery"])
        document = {
            "schema_": raw.pop("schema"),
            "host": host.name,
            "agency": room.agency,
            "room": room.name,
            "address": str(host.address),
            **raw,
        }
        try:
            parsed = HostDiscovery.model_validate(document)
        except ValidationError as err:
            raise MigrateError(
                f"{host.name}: its discovery does not match pdn.discovery/v1: {err}"
            ) from err
        (directory / f"{host.name}.json").write_text(
            json.dumps(parsed.model_dump(mode="json"), indent=1, sort_keys=True) + "\n"
        )
        found[host.name] = parsed
    # What was reached is written; what was not is named (its last discovery is kept as it was).
    problems = [f"{h}: unreachable ({why})" for h, why in sorted(run.unreachable.items())] + [
        f"{h}: {why}" for h, why in sorted(run.failed.items())
    ]
    if problems:
        raise MigrateError(
            f"discovery failed on {'; '.join(problems)}; the {len(found)} other host(s) were "
            f"discovered (the run's events: {run.artifacts}/artifacts). Is the host up? "
            "(`pdn estate status`)"
        )
    return DiscoveryRun(found, run.changed, directory, run.artifacts)


def load_discovery(runtime: EstateRuntime) -> dict[str, HostDiscovery]:
    """Every host's discovery file, each checked against the schema."""
    directory = discovery_dir(runtime)
    found = {}
    for _room, host in runtime.estate.hosts():
        path = directory / f"{host.name}.json"
        if not path.is_file():
            raise MigrateError(
                f"no discovery of {host.name} ({path}): run `pdn migrate discover` first"
            )
        try:
            found[host.name] = HostDiscovery.model_validate_json(path.read_text())
        except ValidationError as err:
            raise MigrateError(f"{path}: not a pdn.discovery/v1 file: {err}") from err
    return found
