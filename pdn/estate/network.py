"""An estate's networks: a bridge per server room (its gateway address on it), a network
namespace per host joined to its room's bridge by a veth pair. Every prefix is checked against
this machine's routes first: a room on this machine's own network would cut it off.
"""

from __future__ import annotations

import hashlib
import subprocess

from pdn.dc import network as dc_network
from pdn.dc.errors import DCError
from pdn.estate.errors import EstateError
from pdn.estate.model import Estate, Host, Room


def _short(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]


def bridge_name(estate: Estate, room: Room) -> str:
    return f"pdnb{_short(estate.name, room.name)}"  # interface names: 15 characters at most


def veth_name(estate: Estate, host: Host) -> str:
    return f"pdnv{_short(estate.name, host.name)}"


def namespace_name(estate: Estate, host: Host) -> str:
    return f"pdn-{estate.name}-{host.name}"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["ip", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as err:
        raise EstateError("the `ip` command is missing: install iproute2") from err
    if check and done.returncode != 0:
        raise EstateError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")
    return done


def check_routes(estate: Estate) -> None:
    """Refuse a room whose network overlaps a route of this machine that is not its own."""
    try:
        existing = dc_network.routes()
    except DCError as err:
        raise EstateError(str(err)) from err
    for room in estate.rooms:
        ours = bridge_name(estate, room)
        for route in existing:
            if route.device != ours and route.network.overlaps(room.network):
                raise EstateError(
                    f"room {room.name}: its network {room.network} overlaps this machine's route "
                    f"{route.network} on {route.device}: give the room another network in "
                    "198.18.0.0/15 (the estate file's rooms[].network)"
                )


def link_exists(name: str) -> bool:
    return ip("link", "show", "dev", name, check=False).returncode == 0


def namespace_exists(name: str) -> bool:
    listed = ip("netns", "list", check=False).stdout.split("\n")
    return any(line.split(" ")[0] == name for line in listed)


def ensure_bridge(estate: Estate, room: Room) -> None:
    name = bridge_name(estate, room)
    if not link_exists(name):
        ip("link", "add", name, "type", "bridge")
    gateway = f"{room.gateway}/{room.network.prefixlen}"
    if gateway not in ip("-4", "-o", "addr", "show", "dev", name).stdout:
        ip("addr", "add", gateway, "dev", name)
    ip("link", "set", name, "up")


def ensure_host_network(estate: Estate, room: Room, host: Host) -> None:
    namespace, veth = namespace_name(estate, host), veth_name(estate, host)
    if not namespace_exists(namespace):
        ip("netns", "add", namespace)
    if not link_exists(veth):
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
    ip("link", "set", veth, "master", bridge_name(estate, room), "up")
    inside = ("-n", namespace)
    address = f"{host.address}/{room.network.prefixlen}"
    if address not in ip(*inside, "-4", "-o", "addr", "show", "dev", "eth0").stdout:
        ip(*inside, "addr", "add", address, "dev", "eth0")
    ip(*inside, "link", "set", "eth0", "up")
    ip(*inside, "link", "set", "lo", "up")
    if "default" not in ip(*inside, "-4", "route", "show").stdout:
        ip(*inside, "route", "add", "default", "via", str(room.gateway))


def remove_host_network(estate: Estate, host: Host) -> None:
    namespace = namespace_name(estate, host)
    if namespace_exists(namespace):
        ip("netns", "del", namespace)  # takes the veth pair with it
    # The namespace's deletion takes its veth asynchronously: gone meanwhile is fine.
    ip("link", "del", veth_name(estate, host), check=False)
    if link_exists(veth_name(estate, host)):
        raise EstateError(f"cannot delete {veth_name(estate, host)}, {host.name}'s link")


def remove_bridge(estate: Estate, room: Room) -> None:
    if link_exists(bridge_name(estate, room)):
        ip("link", "del", bridge_name(estate, room))
