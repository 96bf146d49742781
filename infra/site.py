"""A PDN site's hardware as Pulumi components: site -> rack -> server pool.

The graph exists before any cluster does, so later components (node pools, clusters) attach to
the racks and pools that really host them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from pdn import inventory


@dataclass
class ServerPoolArgs:
    rack: inventory.Rack
    role: inventory.ServerRole


class ServerPool(pulumi.ComponentResource):
    """The servers of one role in one rack."""

    role: pulumi.Output[str]
    servers: pulumi.Output[list[str]]
    cpu_cores: pulumi.Output[int]
    memory_gib: pulumi.Output[int]
    disk_gib: pulumi.Output[int]

    def __init__(
        self, name: str, args: ServerPoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:infra:ServerPool", name, None, opts)
        members = args.rack.pool(args.role)
        self.role = pulumi.Output.from_input(args.role.value)
        self.servers = pulumi.Output.from_input([s.name for s in members])
        self.cpu_cores = pulumi.Output.from_input(sum(s.cpu_cores for s in members))
        self.memory_gib = pulumi.Output.from_input(sum(s.memory_gib for s in members))
        self.disk_gib = pulumi.Output.from_input(sum(s.disk_gib for s in members))
        self.register_outputs(
            {
                "role": self.role,
                "servers": self.servers,
                "cpu_cores": self.cpu_cores,
                "memory_gib": self.memory_gib,
                "disk_gib": self.disk_gib,
            }
        )


@dataclass
class RackArgs:
    rack: inventory.Rack


class Rack(pulumi.ComponentResource):
    """One rack: where it stands (hall, zone), its power budget and a pool per server role."""

    hall: pulumi.Output[str]
    zone: pulumi.Output[str]
    power_kw: pulumi.Output[float]
    server_count: pulumi.Output[int]
    pools: dict[str, ServerPool]

    def __init__(
        self, name: str, args: RackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:infra:Rack", name, None, opts)
        rack = args.rack
        self.pools = {
            role.value: ServerPool(
                f"{name}-{role.value}",
                ServerPoolArgs(rack=rack, role=role),
                pulumi.ResourceOptions(parent=self),
            )
            for role in rack.roles()
        }
        self.hall = pulumi.Output.from_input(rack.hall)
        self.zone = pulumi.Output.from_input(rack.zone)
        self.power_kw = pulumi.Output.from_input(rack.power_kw)
        self.server_count = pulumi.Output.from_input(len(rack.servers))
        self.register_outputs(
            {
                "hall": self.hall,
                "zone": self.zone,
                "power_kw": self.power_kw,
                "server_count": self.server_count,
            }
        )


@dataclass
class SiteArgs:
    site: inventory.Site
    # Password of the site's out-of-band management (BMC) network; kept secret in state.
    bmc_password: pulumi.Input[str] | None = None


class Site(pulumi.ComponentResource):
    """A national DC site: its racks and the capacity it offers per server role."""

    code: pulumi.Output[str]
    region_code: pulumi.Output[str]
    zones: pulumi.Output[list[str]]
    server_count: pulumi.Output[int]
    capacity: pulumi.Output[dict[str, dict[str, int]]]
    bmc_password: pulumi.Output[str] | None
    racks: dict[str, Rack]

    def __init__(
        self, name: str, args: SiteArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:infra:Site", name, None, opts)
        site = args.site
        self.racks = {
            rack.name: Rack(
                f"{name}-{rack.name}", RackArgs(rack=rack), pulumi.ResourceOptions(parent=self)
            )
            for rack in site.racks
        }
        self.code = pulumi.Output.from_input(site.code)
        self.region_code = pulumi.Output.from_input(site.region_code)
        self.zones = pulumi.Output.from_input(list(site.zones))
        self.server_count = pulumi.Output.from_input(sum(len(r.servers) for r in site.racks))
        self.capacity = pulumi.Output.from_input(capacity_by_role(site))
        self.bmc_password = (
            None if args.bmc_password is None else pulumi.Output.secret(args.bmc_password)
        )
        outputs: dict[str, object] = {
            "code": self.code,
            "region_code": self.region_code,
            "zones": self.zones,
            "server_count": self.server_count,
            "capacity": self.capacity,
        }
        if self.bmc_password is not None:
            outputs["bmc_password"] = self.bmc_password
        self.register_outputs(outputs)


def capacity_by_role(site: inventory.Site) -> dict[str, dict[str, int]]:
    """Servers, cores, memory and disk the site offers per role."""
    totals: dict[str, dict[str, int]] = {}
    for _, server in site.servers():
        row = totals.setdefault(
            server.role.value, {"servers": 0, "cpu_cores": 0, "memory_gib": 0, "disk_gib": 0}
        )
        row["servers"] += 1
        row["cpu_cores"] += server.cpu_cores
        row["memory_gib"] += server.memory_gib
        row["disk_gib"] += server.disk_gib
    return totals
