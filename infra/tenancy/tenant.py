"""`pdn:tenancy:Tenant`: one agency on one site's cluster, from its rendered manifests."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.core.v1 import LimitRange, Namespace, ResourceQuota
from pulumi_kubernetes.networking.v1 import NetworkPolicy
from pulumi_kubernetes.rbac.v1 import RoleBinding

from pdn.tenants.render import TenantManifests
from pdn.tenants.shards import TENANT_TYPE


@dataclass(frozen=True)
class TenantArgs:
    manifests: TenantManifests


class Tenant(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TENANT_TYPE, name, None, opts)
        m = args.manifests
        namespace = Namespace(
            f"{name}-namespace",
            metadata=m.namespace["metadata"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        ResourceQuota(
            f"{name}-quota", metadata=m.quota["metadata"], spec=m.quota["spec"], opts=inside
        )
        LimitRange(
            f"{name}-limits", metadata=m.limits["metadata"], spec=m.limits["spec"], opts=inside
        )
        NetworkPolicy(
            f"{name}-isolation",
            metadata=m.isolation["metadata"],
            spec=m.isolation["spec"],
            opts=inside,
        )
        for binding in m.bindings:
            RoleBinding(
                f"{name}-{binding['metadata']['name']}",
                metadata=binding["metadata"],
                role_ref=binding["roleRef"],
                subjects=binding["subjects"],
                opts=inside,
            )
        self.namespace = namespace.metadata.apply(lambda meta: str(meta["name"]))
        self.register_outputs({"namespace": self.namespace})
