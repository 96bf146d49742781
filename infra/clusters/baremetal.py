"""A site's servers as Metal3 BareMetalHosts on its management cluster, with the BMC credential.

One host per server that Cluster API may make a machine of (every server outside the
management cluster, which must exist before Cluster API does). A host is labelled with the
cluster and pool the inventory puts its server in, which is what the pool's
Metal3MachineTemplate selects; a spare server is registered and inspected, but in no pool.
The host's name is the server's, so the machine Metal3 gives it names the server it stands on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.clusters.machines import HOST_CLUSTER_LABEL, HOST_POOL_LABEL
from pdn import inventory

BARE_METAL_API = "metal3.io/v1alpha1"


@dataclass
class BareMetalHostsArgs:
    site: inventory.Site
    namespace: pulumi.Input[str]
    bmc_username: pulumi.Input[str]
    bmc_password: pulumi.Input[str]


class BareMetalHosts(pulumi.ComponentResource):
    hosts: pulumi.Output[list[str]]
    credentials: pulumi.Output[str]  # the Secret's name

    def __init__(
        self, name: str, args: BareMetalHostsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:clusters:BareMetalHosts", name, None, opts)
        site = args.site
        secret = k8s.core.v1.Secret(
            f"{name}-bmc",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{site.code}-bmc",
                namespace=args.namespace,
                labels={"pdn.go.id/site": site.code},
            ),
            type="Opaque",
            string_data={
                "username": args.bmc_username,
                "password": pulumi.Output.secret(args.bmc_password),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        placed: dict[str, tuple[str, str]] = {}  # server -> (cluster, pool)
        managed_by_hand: set[str] = set()
        for cluster in site.clusters:
            for pool in (cluster.control_plane, *cluster.workers):
                for server in pool.servers:
                    if cluster.purpose is inventory.ClusterPurpose.MANAGEMENT:
                        managed_by_hand.add(server.name)
                    else:
                        placed[server.name] = (cluster.name, pool.name)
        hosts = []
        for rack, server in site.servers():
            if server.name in managed_by_hand or server.bmc is None:
                continue
            labels = {
                "pdn.go.id/site": site.code,
                "pdn.go.id/zone": rack.zone,
                "pdn.go.id/rack": rack.name,
                "pdn.go.id/role": server.role.value,
            }
            if server.name in placed:
                cluster_name, pool_name = placed[server.name]
                labels |= {HOST_CLUSTER_LABEL: cluster_name, HOST_POOL_LABEL: pool_name}
            k8s.apiextensions.CustomResource(
                f"{name}-{server.name}",
                api_version=BARE_METAL_API,
                kind="BareMetalHost",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=server.name, namespace=args.namespace, labels=labels
                ),
                spec={
                    # Off until Metal3 provisions it for a machine.
                    "online": False,
                    "bootMode": "UEFI",
                    "bootMACAddress": server.bmc.boot_mac,
                    "bmc": {
                        "address": server.bmc.address,
                        "credentialsName": secret.metadata.name,
                        "disableCertificateVerification": False,
                    },
                    "automatedCleaningMode": "metadata",
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
            )
            hosts.append(server.name)
        self.hosts = pulumi.Output.from_input(hosts)
        self.credentials = secret.metadata.name
        self.register_outputs({"hosts": self.hosts, "credentials": self.credentials})
