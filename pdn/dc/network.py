"""The DC's addresses: inside 198.18.0.0/15, checked against this machine's routes before use."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pdn.dc.errors import DCError
from pdn.dc.settings import DC_RANGE, DCSettings


@dataclass(frozen=True)
class Route:
    network: ipaddress.IPv4Network
    device: str


def routes() -> list[Route]:
    """This machine's IPv4 routes, all tables (default routes left out: they overlap anything)."""
    proc = _ip("-4", "-json", "route", "show", "table", "all")
    if proc.returncode != 0:
        raise DCError(f"cannot read the routing table (`ip -4 route`): {proc.stderr.strip()}")
    return parse_routes(proc.stdout)


def parse_routes(ip_json: str) -> list[Route]:
    """Routes from `ip -4 -json route show table all`."""
    found = []
    for entry in json.loads(ip_json or "[]"):
        dst = entry.get("dst", "")
        if dst in ("default", "") or entry.get("type") in ("broadcast", "local"):
            continue
        network = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
        found.append(Route(network, entry.get("dev", "")))
    return found


def check_addresses(settings: DCSettings, existing: list[Route]) -> None:
    """Refuse any DC prefix outside 198.18.0.0/15 or overlapping a route the DC does not own."""
    prefixes = {
        "advertise address": ipaddress.IPv4Network(settings.advertise_address),
        "service CIDR": settings.service_cidr,
        "pod CIDR": settings.pod_cidr,
    }
    for label, prefix in prefixes.items():
        if not prefix.subnet_of(DC_RANGE):
            raise DCError(f"the {label} {prefix} is outside {DC_RANGE}, the range kept for the DC")
        for route in existing:
            if route.device != settings.interface and route.network.overlaps(prefix):
                raise DCError(
                    f"the {label} {prefix} overlaps this machine's route {route.network} "
                    f"on {route.device}: choose another prefix inside {DC_RANGE}"
                )
    if settings.service_cidr.overlaps(settings.pod_cidr):
        raise DCError(f"service CIDR {settings.service_cidr} overlaps pod CIDR {settings.pod_cidr}")


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["ip", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as err:
        raise DCError(
            "the `ip` command is missing: install iproute2 (Debian: `apt-get install iproute2`); "
            "the local DC puts its address on an interface with it"
        ) from err
    except subprocess.TimeoutExpired as err:
        raise DCError(f"`ip {' '.join(args)}` did not answer within 30s") from err


def interface_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def ensure_advertise_address(settings: DCSettings) -> None:
    """A port-less interface holding the advertise address (idempotent)."""
    check_addresses(settings, routes())
    name = settings.interface
    if not interface_exists(name):
        made = _ip("link", "add", name, "type", "dummy")
        if made.returncode != 0:
            # Kernels without the dummy module (sandboxes): an empty bridge serves the same.
            made = _ip("link", "add", name, "type", "bridge")
        if made.returncode != 0:
            raise DCError(
                f"cannot create the interface {name}: {made.stderr.strip()} "
                "(the local DC needs root or CAP_NET_ADMIN for its address)"
            )
    address = f"{settings.advertise_address}/32"
    shown = _ip("-4", "-json", "addr", "show", "dev", name)
    current = {
        f"{a['local']}/{a['prefixlen']}"
        for link in json.loads(shown.stdout or "[]")
        for a in link.get("addr_info", [])
    }
    if address not in current:
        added = _ip("addr", "add", address, "dev", name)
        if added.returncode != 0:
            raise DCError(f"cannot put {address} on {name}: {added.stderr.strip()}")
    _ip("link", "set", name, "up")


def remove_advertise_address(settings: DCSettings) -> None:
    if interface_exists(settings.interface):
        removed = _ip("link", "del", settings.interface)
        if removed.returncode != 0:
            raise DCError(f"cannot remove {settings.interface}: {removed.stderr.strip()}")
