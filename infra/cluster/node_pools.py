"""Node pools derived from the inventory: one per server role, labelled and tainted so
workloads select (or are kept off) them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from pdn import inventory
from pdn.clusters.names import POOL_LABEL

# Roles whose nodes only take pods that tolerate them; compute takes everything else.
DEDICATED_TAINTS: dict[inventory.ServerRole, tuple[str, str]] = {
    inventory.ServerRole.CONTROL_PLANE: ("node-role.kubernetes.io/control-plane", ""),
    inventory.ServerRole.STORAGE: (POOL_LABEL, "storage"),
    inventory.ServerRole.GPU: (POOL_LABEL, "gpu"),
}


@dataclass
class NodePoolArgs:
    role: inventory.ServerRole
    servers: tuple[inventory.Server, ...]


class NodePool(pulumi.ComponentResource):
    role: pulumi.Output[str]
    nodes: pulumi.Output[list[str]]
    tainted: pulumi.Output[bool]

    def __init__(
        self, name: str, args: NodePoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:cluster:NodePool", name, None, opts)
        taint = DEDICATED_TAINTS.get(args.role)
        taints = (
            [k8s.core.v1.TaintPatchArgs(key=taint[0], value=taint[1], effect="NoSchedule")]
            if taint
            else None
        )
        for server in args.servers:
            k8s.core.v1.NodePatch(
                f"{name}-{server.name}",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                    name=server.name,
                    labels={
                        POOL_LABEL: args.role.value,
                        f"node-role.kubernetes.io/{args.role.value}": "",
                    },
                ),
                spec=k8s.core.v1.NodeSpecPatchArgs(taints=taints) if taints else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.role = pulumi.Output.from_input(args.role.value)
        self.nodes = pulumi.Output.from_input([s.name for s in args.servers])
        self.tainted = pulumi.Output.from_input(taint is not None)
        self.register_outputs({"role": self.role, "nodes": self.nodes, "tainted": self.tainted})
