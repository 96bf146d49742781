"""Load a site inventory from YAML, validating every field once, with errors that name it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pdn import regions
from pdn.documents import read_yaml
from pdn.inventory.model import Rack, Server, ServerRole, Site

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_TIERS = ("tier-3", "tier-4", "local")


class InventoryError(Exception):
    """The inventory file is invalid; the message names the file and the field to fix."""


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> InventoryError:
        return InventoryError(f"{self.source}: {where}: {problem}")

    def mapping(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def items(self, parent: dict[str, Any], key: str, where: str) -> list[Any]:
        value = parent.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(f"{where}.{key}" if where else key, "expected a non-empty list")
        return value

    def name(self, parent: dict[str, Any], key: str, where: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not _DNS_LABEL.match(value):
            raise self.fail(
                f"{where}.{key}",
                f"{value!r} is not a DNS label (lowercase letters, digits, '-', at most 63)",
            )
        return value

    def text(self, parent: dict[str, Any], key: str, where: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", "expected a non-empty string")
        return value

    def positive(self, parent: dict[str, Any], key: str, where: str) -> int:
        value = parent.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(f"{where}.{key}", f"expected a positive integer, got {value!r}")
        return value

    def unknown_keys(self, parent: dict[str, Any], allowed: set[str], where: str) -> None:
        extra = sorted(set(parent) - allowed)
        if extra:
            raise self.fail(where, f"unknown field(s) {extra}; allowed: {sorted(allowed)}")


def load_site(path: Path) -> Site:
    return parse_site(read_yaml(path, InventoryError), str(path))


def parse_site(document: object, source: str) -> Site:
    r = _Reader(source)
    root = r.mapping(document, "(top level)")
    r.unknown_keys(root, {"site", "halls"}, "(top level)")
    site = r.mapping(root.get("site"), "site")
    r.unknown_keys(site, {"code", "name", "region_code", "tier"}, "site")
    try:
        region = regions.require(site.get("region_code"), regions.Level.REGENCY).code
    except regions.RegionCodeError as err:
        raise r.fail("site.region_code", str(err)) from err
    tier = site.get("tier")
    if tier not in _TIERS:
        raise r.fail("site.tier", f"{tier!r} is not one of {list(_TIERS)}")

    racks: list[Rack] = []
    seen_servers: dict[str, str] = {}
    seen_racks: set[str] = set()
    for h, hall_doc in enumerate(r.items(root, "halls", "")):
        hw = f"halls[{h}]"
        hall = r.mapping(hall_doc, hw)
        r.unknown_keys(hall, {"name", "zone", "racks"}, hw)
        hall_name, zone = r.name(hall, "name", hw), r.name(hall, "zone", hw)
        for k, rack_doc in enumerate(r.items(hall, "racks", hw)):
            rw = f"{hw}.racks[{k}]"
            rack = r.mapping(rack_doc, rw)
            r.unknown_keys(rack, {"name", "power_kw", "servers"}, rw)
            rack_name = r.name(rack, "name", rw)
            if rack_name in seen_racks:
                raise r.fail(f"{rw}.name", f"rack {rack_name!r} is listed twice")
            seen_racks.add(rack_name)
            power = rack.get("power_kw")
            if isinstance(power, bool) or not isinstance(power, int | float) or power <= 0:
                raise r.fail(f"{rw}.power_kw", f"expected a positive number, got {power!r}")
            servers = tuple(
                _server(r, doc, f"{rw}.servers[{s}]", seen_servers)
                for s, doc in enumerate(r.items(rack, "servers", rw))
            )
            racks.append(Rack(rack_name, hall_name, zone, float(power), servers))

    return Site(
        code=r.name(site, "code", "site"),
        name=r.text(site, "name", "site"),
        region_code=region,
        tier=tier,
        racks=tuple(racks),
    )


def _server(r: _Reader, doc: object, where: str, seen: dict[str, str]) -> Server:
    server = r.mapping(doc, where)
    r.unknown_keys(server, {"name", "role", "cpu_cores", "memory_gib", "disk_gib"}, where)
    name = r.name(server, "name", where)
    if name in seen:
        raise r.fail(f"{where}.name", f"server {name!r} is already listed at {seen[name]}")
    seen[name] = where
    role = server.get("role")
    allowed = [x.value for x in ServerRole]
    if role not in allowed:
        raise r.fail(f"{where}.role", f"{role!r} is not one of {allowed}")
    parsed_role = ServerRole(role)
    return Server(
        name=name,
        role=parsed_role,
        cpu_cores=r.positive(server, "cpu_cores", where),
        memory_gib=r.positive(server, "memory_gib", where),
        disk_gib=r.positive(server, "disk_gib", where),
    )
