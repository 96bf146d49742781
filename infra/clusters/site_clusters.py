"""Every cluster a site's inventory declares, made by Cluster API on its management cluster.

The management cluster itself is the one this program talks to: it exists first (on the local
DC it is the DC's own cluster) and holds the other clusters' objects in one namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from infra.clusters.baremetal import BareMetalHosts, BareMetalHostsArgs
from infra.clusters.machines import MachineBackend, Machines
from infra.clusters.managed import ManagedCluster, ManagedClusterArgs
from pdn import inventory
from pdn.clusters.names import NAMESPACE


@dataclass
class SiteClustersArgs:
    site: inventory.Site
    kubeconfig: pulumi.Input[str]  # the management cluster's
    machines: Machines = field(default_factory=Machines)
    # Metal3 only: the login of the site's BMCs (the password a stack secret).
    bmc_username: pulumi.Input[str] | None = None
    bmc_password: pulumi.Input[str] | None = None


class SiteClusters(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    clusters: dict[str, ManagedCluster]
    versions: pulumi.Output[dict[str, str]]
    # cluster -> pool -> server -> machine
    machines: pulumi.Output[dict[str, dict[str, dict[str, str]]]]

    def __init__(
        self, name: str, args: SiteClustersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:clusters:SiteClusters", name, None, opts)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                labels={
                    # Cluster API's objects only; nothing runs here.
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pdn.go.id/purpose": "cluster-api",
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        hosts: list[pulumi.Resource] = []
        if args.machines.backend is MachineBackend.METAL3:
            if args.bmc_username is None or args.bmc_password is None:
                raise ValueError("Metal3 machines need the BMC username and password")
            hosts.append(
                BareMetalHosts(
                    f"{name}-hosts",
                    BareMetalHostsArgs(
                        site=args.site,
                        namespace=namespace.metadata.name,
                        bmc_username=args.bmc_username,
                        bmc_password=args.bmc_password,
                    ),
                    pulumi.ResourceOptions(parent=self),
                )
            )
        self.clusters = {
            cluster.name: ManagedCluster(
                f"{name}-{cluster.name}",
                ManagedClusterArgs(
                    cluster=cluster,
                    site_code=args.site.code,
                    namespace=namespace.metadata.name,
                    kubeconfig=args.kubeconfig,
                    machines=args.machines,
                ),
                pulumi.ResourceOptions(parent=self, depends_on=hosts),
            )
            for cluster in args.site.clusters
            if cluster.purpose is not inventory.ClusterPurpose.MANAGEMENT
        }
        self.namespace = namespace.metadata.name
        self.versions = pulumi.Output.from_input(
            {c.name: c.kubernetes_version for c in args.site.clusters}
        )
        self.machines = pulumi.Output.all(
            **{name: c.machines for name, c in self.clusters.items()}
        ).apply(dict)
        self.register_outputs(
            {"namespace": self.namespace, "versions": self.versions, "machines": self.machines}
        )
