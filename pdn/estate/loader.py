"""Read an estate file (estate/*.yaml): every mistake one located line that says what to fix."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from pdn import paths
from pdn.documents import read_yaml
from pdn.estate.errors import EstateError
from pdn.estate.model import App, Estate, Host, Room, ServiceKind
from pdn.estate.seed import DATABASES

ESTATE_DIR = paths.REPO_ROOT / "estate"
LOCAL_ESTATE = ESTATE_DIR / "local.yaml"
# Inside the range kept for test and demo networks, never this machine's own.
ESTATE_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ENGINES = (ServiceKind.MARIADB, ServiceKind.POSTGRESQL)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> EstateError:
        return EstateError(f"{self.source}: {where}: {problem}")

    def mapping(self, value: object, where: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        extra = sorted(set(value) - allowed)
        if extra:
            raise self.fail(where, f"unknown field(s) {extra}; allowed: {sorted(allowed)}")
        return value

    def items(self, parent: dict[str, Any], key: str, where: str) -> list[Any]:
        value = parent.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(f"{where}.{key}", "expected a non-empty list")
        return value

    def label(self, parent: dict[str, Any], key: str, where: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not _LABEL.match(value):
            raise self.fail(
                f"{where}.{key}",
                f"{value!r} is not a DNS label (lowercase letters, digits, '-', at most 63)",
            )
        return value


def load_estate(path: Path) -> Estate:
    return parse_estate(read_yaml(path, EstateError), str(path))


def parse_estate(document: object, source: str) -> Estate:
    r = _Reader(source)
    root = r.mapping(document, "(top level)", {"estate", "rooms"})
    name = r.label(root, "estate", "(top level)")
    rooms: list[Room] = []
    seen_hosts: dict[str, str] = {}
    for i, doc in enumerate(r.items(root, "rooms", "(top level)")):
        room = _room(r, doc, f"rooms[{i}]", seen_hosts)
        for other in rooms:
            if other.network.overlaps(room.network):
                raise r.fail(
                    f"rooms[{i}].network",
                    f"{room.network} overlaps room {other.name}'s {other.network}",
                )
            if other.name == room.name:
                raise r.fail(f"rooms[{i}].name", f"room {room.name!r} is listed twice")
        rooms.append(room)
    return Estate(name, tuple(rooms))


def _room(r: _Reader, doc: object, where: str, seen_hosts: dict[str, str]) -> Room:
    room = r.mapping(doc, where, {"name", "agency", "network", "hosts"})
    name = r.label(room, "name", where)
    agency = r.label(room, "agency", where)
    try:
        network = ipaddress.IPv4Network(str(room.get("network")))
    except ValueError as err:
        raise r.fail(f"{where}.network", f"{room.get('network')!r}: {err}") from err
    if not network.subnet_of(ESTATE_RANGE):
        raise r.fail(f"{where}.network", f"{network} is outside {ESTATE_RANGE}")
    if network.num_addresses < 8:
        raise r.fail(f"{where}.network", f"{network} is too small for a room (a /29 at least)")
    hosts = tuple(
        _host(r, h, f"{where}.hosts[{j}]", network, seen_hosts)
        for j, h in enumerate(r.items(room, "hosts", where))
    )
    addresses: dict[ipaddress.IPv4Address, str] = {}
    for j, host in enumerate(hosts):
        if host.address in addresses:
            raise r.fail(
                f"{where}.hosts[{j}].address",
                f"{host.address} is already {addresses[host.address]}'s",
            )
        addresses[host.address] = host.name
    by_name = {h.name: h for h in hosts}
    for j, host in enumerate(hosts):
        if host.app is None:
            continue
        at = f"{where}.hosts[{j}].app"
        server = by_name.get(host.app.database_host)
        if server is None:
            raise r.fail(
                f"{at}.database_host",
                f"no host {host.app.database_host!r} in room {name} (an app reaches the "
                f"databases of its own room: {sorted(by_name)})",
            )
        if host.app.engine not in server.services:
            raise r.fail(
                f"{at}.database_host",
                f"{server.name} runs no {host.app.engine.value} (its services: "
                f"{[s.value for s in server.services]})",
            )
        if host.app.name not in server.databases:
            raise r.fail(
                f"{at}.name",
                f"{server.name} serves no database {host.app.name!r} (its databases: "
                f"{list(server.databases)})",
            )
    return Room(name, agency, network, hosts)


def _host(
    r: _Reader,
    doc: object,
    where: str,
    network: ipaddress.IPv4Network,
    seen: dict[str, str],
) -> Host:
    host = r.mapping(doc, where, {"name", "address", "services", "app", "databases"})
    name = r.label(host, "name", where)
    if name in seen:
        raise r.fail(f"{where}.name", f"host {name!r} is already listed at {seen[name]}")
    seen[name] = where
    try:
        address = ipaddress.IPv4Address(str(host.get("address")))
    except ValueError as err:
        raise r.fail(f"{where}.address", f"{host.get('address')!r}: {err}") from err
    usable = list(network.hosts())
    if address not in network or address in (network.network_address + 1, usable[-1] + 1):
        raise r.fail(
            f"{where}.address",
            f"{address} is not a host address of the room's network {network} (the first, "
            f"{network.network_address + 1}, is its gateway)",
        )
    services = []
    allowed = [k.value for k in ServiceKind]
    for k, value in enumerate(r.items(host, "services", where)):
        if value not in allowed:
            raise r.fail(f"{where}.services[{k}]", f"{value!r} is not one of {allowed}")
        services.append(ServiceKind(value))
    databases = host.get("databases") or []
    if not isinstance(databases, list):
        raise r.fail(f"{where}.databases", "expected a list of database names")
    for k, database in enumerate(databases):
        if database not in DATABASES:
            raise r.fail(
                f"{where}.databases[{k}]",
                f"{database!r} is not a seeded database; one of {sorted(DATABASES)}",
            )
        engine = DATABASES[database].engine
        if engine not in services:
            raise r.fail(
                f"{where}.databases[{k}]",
                f"{database} is a {engine.value} database and {name} runs no {engine.value}",
            )
    app = None
    if "app" in host:
        a = r.mapping(host["app"], f"{where}.app", {"name", "engine", "database_host", "service"})
        engine_name = a.get("engine")
        if engine_name not in [e.value for e in ENGINES]:
            raise r.fail(
                f"{where}.app.engine", f"{engine_name!r} is not one of mariadb, postgresql"
            )
        if ServiceKind.WEB not in services:
            raise r.fail(f"{where}.app", f"an app needs the web service on {name}")
        app = App(
            r.label(a, "name", f"{where}.app"),
            ServiceKind(engine_name),
            r.label(a, "database_host", f"{where}.app") if "database_host" in a else name,
            _service_name(r, a, f"{where}.app") if "service" in a else None,
        )
    return Host(name, address, tuple(services), app, tuple(databases))


def _service_name(r: _Reader, app: dict[str, Any], where: str) -> str:
    """The name citizens reach the application by: a domain name of DNS labels."""
    value = app.get("service")
    labels = value.split(".") if isinstance(value, str) else []
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise r.fail(
            f"{where}.service",
            f"{value!r} is not a domain name (DNS labels joined by dots: simpeg.bekasikab.go.id)",
        )
    return str(value)
