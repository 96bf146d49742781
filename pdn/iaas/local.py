"""The local DC's PDN hosts: made the way the estate's hosts are (a network namespace on the
hosts' bridge, an overlay of the cached Debian root, its own namespaces, sshd), on a network of
the DC's (198.18.208.0/24 by default), reachable over SSH with the pool's key.

The pool's state is files: which address each host has (allocations.json), each host's root,
and in it /etc/pdn/host.json, what the host is (tenant, name, size, image). A host whose process
is gone, or whose host.json says something else, is what Pulumi's read sees as gone or drifted.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pdn.estate import network
from pdn.estate.hosts import EstateRuntime
from pdn.estate.model import Estate, Host, Room
from pdn.iaas.errors import HostError
from pdn.iaas.model import IMAGES, SIZES, HostSize

HOST_NETWORK = ipaddress.IPv4Network("198.18.208.0/24")
HOST_FILE = "etc/pdn/host.json"
# A PDN host is an application host: its firewall lets in SSH and the web it serves.
APPLICATION_PORTS = (22, 80, 443)


@dataclass(frozen=True)
class PdnHost:
    tenant: str
    name: str
    size: HostSize
    image: str
    address: str

    @property
    def key(self) -> str:
        return f"{self.tenant}-{self.name}"


class LocalHostPool:
    def __init__(self, directory: Path, subnet: ipaddress.IPv4Network = HOST_NETWORK) -> None:
        self.directory = directory
        self.subnet = subnet

    @contextmanager
    def _locked(self) -> Iterator[dict[str, str]]:
        """allocations.json (host key -> address), under a lock: shards run in parallel."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.directory / "allocations.json"
            allocations: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
            yield allocations
            path.write_text(json.dumps(allocations, indent=1, sort_keys=True) + "\n")

    def _estate(self, allocations: dict[str, str]) -> Estate:
        hosts = tuple(
            Host(key, ipaddress.IPv4Address(address), (), firewall=APPLICATION_PORTS)
            for key, address in sorted(allocations.items())
        )
        return Estate(self.name, (Room("hosts", "pdn", self.subnet, hosts),))

    @property
    def name(self) -> str:
        """The pool's own name, from its directory: its bridge, links and namespaces are named
        from it, so two DCs' pools on one machine (an operator's, a test's) never share one."""
        return "hosts-" + hashlib.sha256(str(self.directory.resolve()).encode()).hexdigest()[:6]

    def runtime(self, allocations: dict[str, str]) -> EstateRuntime:
        return EstateRuntime(self._estate(allocations), self.directory / "runtime")

    def create(self, tenant: str, name: str, size: HostSize, image: str) -> PdnHost:
        if image not in IMAGES:
            raise HostError(f"image {image!r} is not served here; one of {list(IMAGES)}")
        key = f"{tenant}-{name}"
        with self._locked() as allocations:
            if key not in allocations:
                taken = set(allocations.values())
                free = (
                    str(a) for a in list(self.subnet.hosts())[1:] if str(a) not in taken
                )  # the first is the gateway
                address = next(free, None)
                if address is None:
                    raise HostError(f"no free address left in {self.subnet} for {key}")
                allocations[key] = address
            runtime = self.runtime(allocations)
            runtime.up()
            host = PdnHost(tenant, name, size, image, allocations[key])
            self._write(runtime, host)
            return host

    def _write(self, runtime: EstateRuntime, host: PdnHost) -> None:
        _room, found = runtime.estate.host(host.key)
        path = runtime.root(found) / HOST_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        resources = SIZES[host.size]
        path.write_text(
            json.dumps(
                {
                    "tenant": host.tenant,
                    "name": host.name,
                    "size": host.size.value,
                    "image": host.image,
                    "cpu_cores": resources.cpu_cores,
                    "memory_gib": resources.memory_gib,
                    "disk_gib": resources.disk_gib,
                },
                indent=1,
            )
            + "\n"
        )

    def read(self, tenant: str, name: str) -> PdnHost | None:
        """The host as it is now; None when it is gone (not running, or its root removed)."""
        key = f"{tenant}-{name}"
        with self._locked() as allocations:
            if key not in allocations:
                return None
            runtime = self.runtime(allocations)
            _room, found = runtime.estate.host(key)
            if runtime.pid(found) is None:
                return None
            try:
                said = json.loads((runtime.root(found) / HOST_FILE).read_text())
            except (OSError, ValueError):
                return None
            return PdnHost(
                said["tenant"],
                said["name"],
                HostSize(said["size"]),
                said["image"],
                allocations[key],
            )

    def resize(self, tenant: str, name: str, size: HostSize, image: str) -> PdnHost:
        key = f"{tenant}-{name}"
        with self._locked() as allocations:
            if key not in allocations:
                raise HostError(f"no PDN host {key} to resize")
            runtime = self.runtime(allocations)
            runtime.up()  # a host stopped behind our back is started again
            host = PdnHost(tenant, name, size, image, allocations[key])
            self._write(runtime, host)
            return host

    def delete(self, tenant: str, name: str) -> None:
        key = f"{tenant}-{name}"
        with self._locked() as allocations:
            if key not in allocations:
                return
            runtime = self.runtime(allocations)
            _room, found = runtime.estate.host(key)
            runtime.remove_host(found)
            del allocations[key]
            if not allocations:  # the last host: the bridge and the pool's key go too
                runtime.down()

    def runtime_of(self, host: PdnHost) -> Path:
        """The root of a host (what its administrator would change by hand)."""
        with self._locked() as allocations:
            runtime = self.runtime(allocations)
            return runtime.root(runtime.estate.host(host.key)[1])

    def allocations(self) -> dict[str, str]:
        """Every host of the pool: its key (tenant-name) -> its address."""
        if not (self.directory / "allocations.json").exists():
            return {}
        with self._locked() as allocations:
            return dict(allocations)

    def ssh_identity(self) -> tuple[Path, Path]:
        """The pool's SSH key and known hosts file (what an operator's tools log in with)."""
        runtime = self.runtime({})
        return runtime.key, runtime.known_hosts

    def ssh_argv(self, address: str) -> list[str]:
        with self._locked() as allocations:
            runtime = self.runtime(allocations)
            key = next(k for k, a in allocations.items() if a == address)
            return runtime.ssh_argv(runtime.estate.host(key)[1])

    def start(self) -> bool:
        """Boot every allocated host that is not running (the DC coming up): True if any."""
        if not (self.directory / "allocations.json").exists():
            return False
        with self._locked() as allocations:
            runtime = self.runtime(allocations)
            stopped = [h for _r, h in runtime.estate.hosts() if runtime.pid(h) is None]
            if stopped:
                runtime.up()
            return bool(stopped)

    def stop(self) -> bool:
        """Stop every host by PID and take its namespace and mount down, keeping its root (the
        DC going down): True if any ran."""
        if not (self.directory / "allocations.json").exists():
            return False
        with self._locked() as allocations:
            runtime = self.runtime(allocations)
            running = [h for _r, h in runtime.estate.hosts() if runtime.pid(h) is not None]
            runtime.close_connections()
            for _room, host in runtime.estate.hosts():
                runtime.stop_host(host)
                runtime.unmount(host)
                network.remove_host_network(runtime.estate, host)
            runtime.stop_gateway_services()
            for room in runtime.estate.rooms:
                network.remove_bridge(runtime.estate, room)
            return bool(running)
