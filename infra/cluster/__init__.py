"""The Kubernetes baseline every cluster of a PDN site runs before any tenant arrives."""

from infra.cluster.baseline import ClusterBaseline, ClusterBaselineArgs
from infra.cluster.namespaces import PlatformNamespace, PlatformNamespaceArgs
from infra.cluster.node_pools import NodePool, NodePoolArgs
from infra.cluster.platform_classes import PlatformClasses, PlatformClassesArgs
from infra.cluster.priorities import PriorityTiers, PriorityTiersArgs

__all__ = [
    "ClusterBaseline",
    "ClusterBaselineArgs",
    "NodePool",
    "NodePoolArgs",
    "PlatformClasses",
    "PlatformClassesArgs",
    "PlatformNamespace",
    "PlatformNamespaceArgs",
    "PriorityTiers",
    "PriorityTiersArgs",
]
