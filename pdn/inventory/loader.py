"""Load a site inventory from YAML, validating every field once, with errors that name it."""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pdn import regions
from pdn.documents import read_yaml
from pdn.inventory.model import (
    Bmc,
    Cluster,
    ClusterClass,
    ClusterPurpose,
    NodePool,
    Rack,
    Server,
    ServerRole,
    Site,
)

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_TIERS = ("tier-3", "tier-4", "local")
_VERSION = re.compile(r"^v(?P<minor>1\.\d+)\.\d+$")
# The Kubernetes minors pdn builds and Cluster API v1.14 runs as workload clusters.
SUPPORTED_MINORS = ("1.33", "1.34")
# The BMC address schemes of Metal3's baremetal-operator (its user guide's table of drivers).
BMC_SCHEMES = frozenset(
    {
        *(
            f"{driver}{transport}"
            for driver in (
                "redfish",
                "redfish-virtualmedia",
                "idrac",
                "idrac-redfish",
                "idrac-virtualmedia",
            )
            for transport in ("", "+http", "+https")
        ),
        "ipmi",
        "ilo4",
        "ilo4-virtualmedia",
        "ilo5",
        "ilo5-redfish",
        "ilo5-virtualmedia",
        "irmc",
    }
)
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
E = TypeVar("E", bound=StrEnum)


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
    r.unknown_keys(root, {"site", "halls", "clusters"}, "(top level)")
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
        clusters=_clusters(r, root, tuple(s for rack in racks for s in rack.servers)),
    )


def _clusters(r: _Reader, root: dict[str, Any], servers: tuple[Server, ...]) -> tuple[Cluster, ...]:
    """The site's clusters, their pools drawn from its servers: those named first, then by role
    and count from the servers no pool has taken, in inventory order (name the servers of a pool
    whose machines must not move when an earlier pool grows)."""
    if "clusters" not in root:
        return ()
    docs = r.items(root, "clusters", "")
    by_name = {s.name: s for s in servers}
    taken: dict[str, str] = {}  # server → the pool that has it
    for c, doc in enumerate(docs):  # named servers first, wherever they are listed
        for where, pool in _pool_docs(r, doc, f"clusters[{c}]"):
            for n, name in enumerate(pool.get("servers") or []):
                if name not in by_name:
                    near = difflib.get_close_matches(str(name), by_name, n=3)
                    hint = f"; did you mean {', '.join(near)}?" if near else ""
                    raise r.fail(f"{where}.servers[{n}]", f"no server {name!r} in this site{hint}")
                if name in taken:
                    raise r.fail(
                        f"{where}.servers[{n}]", f"server {name!r} is already in {taken[name]}"
                    )
                taken[name] = where
    clusters: list[Cluster] = []
    seen: set[str] = set()
    for c, doc in enumerate(docs):
        where = f"clusters[{c}]"
        cluster = r.mapping(doc, where)
        r.unknown_keys(
            cluster,
            {
                "name",
                "purpose",
                "classification",
                "kubernetes",
                "endpoint",
                "control_plane",
                "workers",
            },
            where,
        )
        name = r.name(cluster, "name", where)
        if name in seen:
            raise r.fail(f"{where}.name", f"cluster {name!r} is listed twice")
        seen.add(name)
        purpose = _choice(r, cluster, "purpose", ClusterPurpose, where)
        classification = None
        if purpose is ClusterPurpose.WORKLOAD:
            classification = _choice(r, cluster, "classification", ClusterClass, where)
        elif "classification" in cluster:
            raise r.fail(f"{where}.classification", "only workload clusters hold tenants' data")
        version = _kubernetes_version(r, cluster, where)
        pools = [
            _pool(r, pool, pw, by_name=by_name, taken=taken, servers=servers)
            for pw, pool in _pool_docs(r, cluster, where)
        ]
        clusters.append(
            Cluster(
                name,
                purpose,
                version,
                pools[0],
                tuple(pools[1:]),
                classification,
                _endpoint(r, cluster, where),
            )
        )
    managers = [c.name for c in clusters if c.purpose is ClusterPurpose.MANAGEMENT]
    if len(managers) != 1:
        raise r.fail("clusters", f"a site has one management cluster; found {managers or 'none'}")
    return tuple(clusters)


def _pool_docs(r: _Reader, doc: object, where: str) -> list[tuple[str, dict[str, Any]]]:
    cluster = r.mapping(doc, where)
    found = [
        (
            f"{where}.control_plane",
            r.mapping(cluster.get("control_plane"), f"{where}.control_plane"),
        )
    ]
    for w, pool in enumerate(cluster.get("workers") or []):
        found.append((f"{where}.workers[{w}]", r.mapping(pool, f"{where}.workers[{w}]")))
    return found


def _pool(
    r: _Reader,
    pool: dict[str, Any],
    where: str,
    *,
    by_name: dict[str, Server],
    taken: dict[str, str],
    servers: tuple[Server, ...],
) -> NodePool:
    control_plane = where.endswith(".control_plane")
    allowed = {"role", "count", "servers"} | (set() if control_plane else {"name"})
    r.unknown_keys(pool, allowed, where)
    name = "control-plane" if control_plane else r.name(pool, "name", where)
    if "servers" in pool:
        if "role" in pool or "count" in pool:
            raise r.fail(where, "give either servers: [names] or role: and count:, not both")
        named = pool["servers"]
        if not isinstance(named, list) or not named:
            raise r.fail(f"{where}.servers", "expected a non-empty list of server names")
        drawn = tuple(by_name[n] for n in named)
    else:
        role = _choice(r, pool, "role", ServerRole, where)
        count = r.positive(pool, "count", where)
        free = [s for s in servers if s.role is role and s.name not in taken]
        if count > len(free):
            raise r.fail(
                f"{where}.count",
                f"{count} {role.value} servers asked for; the site has {len(free)} of that role "
                f"not in another pool ({sum(s.role is role for s in servers)} in all)",
            )
        drawn = tuple(free[:count])
        for server in drawn:
            taken[server.name] = where
    if control_plane and len(drawn) % 2 == 0:
        raise r.fail(where, f"{len(drawn)} control-plane machines: etcd needs an odd number")
    return NodePool(name, drawn)


def _choice(r: _Reader, parent: dict[str, Any], key: str, kind: type[E], where: str) -> E:
    value = parent.get(key)
    allowed = [x.value for x in kind]
    if value not in allowed:
        raise r.fail(f"{where}.{key}", f"{value!r} is not one of {allowed}")
    return kind(value)


def _kubernetes_version(r: _Reader, cluster: dict[str, Any], where: str) -> str:
    value = cluster.get("kubernetes")
    match = _VERSION.match(value) if isinstance(value, str) else None
    if match is None or not isinstance(value, str):
        raise r.fail(f"{where}.kubernetes", f"{value!r} is not a version like v1.34.4")
    if match["minor"] not in SUPPORTED_MINORS:
        raise r.fail(
            f"{where}.kubernetes",
            f"{value} is not supported: pdn runs Kubernetes {', '.join(SUPPORTED_MINORS)}",
        )
    return value


def _server(r: _Reader, doc: object, where: str, seen: dict[str, str]) -> Server:
    server = r.mapping(doc, where)
    r.unknown_keys(server, {"name", "role", "cpu_cores", "memory_gib", "disk_gib", "bmc"}, where)
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
        bmc=_bmc(r, server["bmc"], f"{where}.bmc") if "bmc" in server else None,
    )


def _endpoint(r: _Reader, cluster: dict[str, Any], where: str) -> str | None:
    if "endpoint" not in cluster:
        return None
    endpoint = r.text(cluster, "endpoint", where)
    if not _HOST.match(endpoint):
        raise r.fail(
            f"{where}.endpoint",
            f"{endpoint!r} is not a host name or IPv4 address (no scheme, no port)",
        )
    return endpoint


def _bmc(r: _Reader, doc: object, where: str) -> Bmc:
    bmc = r.mapping(doc, where)
    r.unknown_keys(bmc, {"address", "boot_mac"}, where)
    address = r.text(bmc, "address", where)
    scheme, _, rest = address.partition("://")
    if scheme not in BMC_SCHEMES or not rest or not _HOST.match(rest.split("/")[0].split(":")[0]):
        raise r.fail(
            f"{where}.address",
            f"{address!r} is not a BMC address Metal3 drives: <scheme>://<host>[:port][/path] "
            f"with scheme one of {sorted(BMC_SCHEMES)}",
        )
    mac = r.text(bmc, "boot_mac", where)
    if not _MAC.match(mac):
        raise r.fail(f"{where}.boot_mac", f"{mac!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    return Bmc(address, mac.lower())
