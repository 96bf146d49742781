"""The cluster baseline of a site: platform namespaces, priority tiers, default classes and
the node pools of its inventory."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from infra.cluster.namespaces import PlatformNamespace, PlatformNamespaceArgs
from infra.cluster.node_pools import NodePool, NodePoolArgs
from infra.cluster.platform_classes import PlatformClasses, PlatformClassesArgs
from infra.cluster.priorities import PriorityTiers, PriorityTiersArgs
from infra.tenancy import TenantRoles, TenantRolesArgs
from pdn import inventory

PLATFORM_NAMESPACES = (
    PlatformNamespaceArgs("pdn-system", "platform controllers and operators"),
    PlatformNamespaceArgs("pdn-identity", "single sign-on for every agency"),
    PlatformNamespaceArgs("pdn-pki", "e-signature and certificate services"),
    PlatformNamespaceArgs("pdn-storage", "object storage shared by agencies"),
    PlatformNamespaceArgs("pdn-databases", "PostgreSQL and MariaDB for every agency (DBaaS)"),
    PlatformNamespaceArgs("pdn-gis", "the national base map and geospatial services"),
    PlatformNamespaceArgs("pdn-backup", "backups of every tenant, restores tested"),
    PlatformNamespaceArgs("pdn-observability", "metrics, logs and audit trails"),
)


@dataclass
class ClusterBaselineArgs:
    site: inventory.Site
    namespaces: tuple[PlatformNamespaceArgs, ...] = field(default=PLATFORM_NAMESPACES)
    priorities: PriorityTiersArgs = field(default_factory=PriorityTiersArgs)
    classes: PlatformClassesArgs = field(default_factory=PlatformClassesArgs)
    tenant_roles: TenantRolesArgs = field(default_factory=TenantRolesArgs)


class ClusterBaseline(pulumi.ComponentResource):
    namespaces: pulumi.Output[list[str]]
    priority_classes: pulumi.Output[list[str]]
    storage_class: pulumi.Output[str]
    ingress_class: pulumi.Output[str]
    node_pools: pulumi.Output[dict[str, list[str]]]
    tenant_roles: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: ClusterBaselineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:cluster:Baseline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespaces = [PlatformNamespace(f"{name}-{ns.name}", ns, child) for ns in args.namespaces]
        priorities = PriorityTiers(f"{name}-priorities", args.priorities, child)
        classes = PlatformClasses(f"{name}-classes", args.classes, child)
        tenant_roles = TenantRoles(f"{name}-tenant-roles", args.tenant_roles, child)
        servers = [server for _, server in args.site.servers()]
        pools = {
            role: NodePool(
                f"{name}-pool-{role.value}",
                NodePoolArgs(role=role, servers=tuple(s for s in servers if s.role is role)),
                child,
            )
            for role in inventory.ServerRole
            if any(s.role is role for s in servers)
        }
        self.namespaces = pulumi.Output.all(*[ns.name for ns in namespaces])
        self.priority_classes = priorities.names
        self.storage_class = classes.storage_class
        self.ingress_class = classes.ingress_class
        self.tenant_roles = tenant_roles.names
        self.node_pools = pulumi.Output.all(*[p.nodes for p in pools.values()]).apply(
            lambda nodes: dict(zip([r.value for r in pools], nodes, strict=True))
        )
        self.register_outputs(
            {
                "namespaces": self.namespaces,
                "priority_classes": self.priority_classes,
                "storage_class": self.storage_class,
                "ingress_class": self.ingress_class,
                "node_pools": self.node_pools,
                "tenant_roles": self.tenant_roles,
            }
        )
