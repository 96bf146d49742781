"""`pdn:tenancy:TenantRoles`: the ClusterRoles every tenant's groups are bound to, once per
cluster (part of the platform baseline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.rbac.v1 import ClusterRole

from pdn.tenants.render import CLUSTER_ROLES


@dataclass(frozen=True)
class TenantRolesArgs:
    roles: tuple[dict[str, Any], ...] = field(default=CLUSTER_ROLES)


class TenantRoles(pulumi.ComponentResource):
    names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: TenantRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:tenancy:TenantRoles", name, None, opts)
        roles = [
            ClusterRole(
                f"{name}-{role['metadata']['name'].split(':')[-1]}",
                metadata=role["metadata"],
                rules=role["rules"],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role in args.roles
        ]
        self.names = pulumi.Output.all(*[r.metadata.apply(lambda m: str(m["name"])) for r in roles])
        self.register_outputs({"names": self.names})
