"""The hardware inventory of a PDN site, as typed, validated values."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum


class ServerRole(StrEnum):
    """What a server is for; it decides the node pool it joins."""

    CONTROL_PLANE = "control-plane"
    COMPUTE = "compute"
    STORAGE = "storage"
    GPU = "gpu"


@dataclass(frozen=True)
class Bmc:
    """A server's out-of-band management: how Metal3 powers and images it."""

    address: str  # e.g. redfish-virtualmedia://10.10.1.11/redfish/v1/Systems/1
    boot_mac: str  # the NIC it PXE/virtual-media boots from, lowercase aa:bb:cc:dd:ee:ff


@dataclass(frozen=True)
class Server:
    name: str
    role: ServerRole
    cpu_cores: int
    memory_gib: int
    disk_gib: int
    bmc: Bmc | None = None  # required where Metal3 makes the site's machines


@dataclass(frozen=True)
class Rack:
    name: str
    hall: str
    zone: str
    power_kw: float
    servers: tuple[Server, ...]

    def roles(self) -> tuple[ServerRole, ...]:
        """The roles present in this rack, in a stable order."""
        return tuple(role for role in ServerRole if any(s.role is role for s in self.servers))

    def pool(self, role: ServerRole) -> tuple[Server, ...]:
        return tuple(s for s in self.servers if s.role is role)


class ClusterPurpose(StrEnum):
    MANAGEMENT = "management"  # runs Cluster API, which makes and runs the others
    SHARED_SERVICES = "shared-services"  # the platform services every agency uses
    WORKLOAD = "workload"  # tenants


class ClusterClass(StrEnum):
    """The data a workload cluster may hold: general (public, internal) or restricted
    (confidential, secret). A tenant's classification picks its cluster."""

    GENERAL = "general"
    RESTRICTED = "restricted"


@dataclass(frozen=True)
class NodePool:
    name: str  # "control-plane" for the control plane
    servers: tuple[Server, ...]  # the machines, in the order they are drawn


@dataclass(frozen=True)
class Cluster:
    name: str
    purpose: ClusterPurpose
    kubernetes_version: str  # vMAJOR.MINOR.PATCH
    control_plane: NodePool
    workers: tuple[NodePool, ...]
    classification: ClusterClass | None = None  # workload clusters only
    # The control plane's stable address (a VIP or DNS name): required on bare metal.
    endpoint: str | None = None

    def servers(self) -> Iterator[Server]:
        for pool in (self.control_plane, *self.workers):
            yield from pool.servers


@dataclass(frozen=True)
class Site:
    code: str  # DNS-safe, used in resource names and node labels
    name: str
    region_code: str  # Kemendagri code of the kabupaten/kota the site stands in
    tier: str
    racks: tuple[Rack, ...]
    clusters: tuple[Cluster, ...] = ()

    def servers(self) -> Iterator[tuple[Rack, Server]]:
        for rack in self.racks:
            for server in rack.servers:
                yield rack, server

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(sorted({rack.zone for rack in self.racks}))

    def workload_clusters(self) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.purpose is ClusterPurpose.WORKLOAD)

    def restricted_to(self, names: Collection[str]) -> Site:
        """The same site with only these servers (racks without any dropped) and no clusters:
        the hardware one cluster's nodes stand on."""
        racks = tuple(
            replace(rack, servers=kept)
            for rack in self.racks
            if (kept := tuple(s for s in rack.servers if s.name in names))
        )
        return replace(self, racks=racks, clusters=())

    def cluster_view(self, cluster: str | None = None) -> Site:
        """The servers of one workload cluster; None: those of the site's own cluster, the
        management cluster's and the shared-services cluster's (which it hosts on the local
        DC). A site without clusters has one: every server. A server in no cluster is spare:
        a node of none."""
        if cluster is None:
            if not self.clusters:
                return self
            own = {
                s.name
                for c in self.clusters
                if c.purpose is not ClusterPurpose.WORKLOAD
                for s in c.servers()
            }
            return self.restricted_to(own)
        (found,) = [c for c in self.workload_clusters() if c.name == cluster]
        return self.restricted_to({s.name for s in found.servers()})
