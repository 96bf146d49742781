"""The site's workload clusters as the program reaches them: one Kubernetes provider per
cluster, from its kubeconfig, and the cluster baseline on each, on that cluster's servers."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.cluster import ClusterBaseline, ClusterBaselineArgs
from pdn import inventory


def _kubeconfig_of(found: Any, cluster: str) -> str:
    if not isinstance(found, dict) or not isinstance(found.get(cluster), str):
        raise pulumi.RunError(f"cluster {cluster}: no kubeconfig in pdn:clusterKubeconfigs")
    return str(found[cluster])


@dataclass
class WorkloadClustersArgs:
    site: inventory.Site
    # Cluster name -> kubeconfig (secret): on the local DC, each workload cluster's own
    # control plane.
    kubeconfigs: pulumi.Output[Any]


class WorkloadClusters(pulumi.ComponentResource):
    """Tenants' clusters: the baseline on each; their kubeconfigs by data class, for the
    tenant stacks (a tenant's class picks its cluster)."""

    kubeconfigs_by_class: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: WorkloadClustersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:clusters:WorkloadClusters", name, None, opts)
        by_class: dict[str, pulumi.Output[str]] = {}
        for workload in args.site.workload_clusters():
            kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
                args.kubeconfigs.apply(functools.partial(_kubeconfig_of, cluster=workload.name))
            )
            provider = k8s.Provider(
                f"{name}-{workload.name}-cluster",
                kubeconfig=kubeconfig,
                enable_server_side_apply=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            ClusterBaseline(
                f"{name}-{workload.name}-baseline",
                ClusterBaselineArgs(site=args.site.cluster_view(workload.name)),
                pulumi.ResourceOptions(parent=self, providers=[provider]),
            )
            if workload.classification is not None:
                by_class.setdefault(workload.classification.value, kubeconfig)
        gathered = pulumi.Output.all(**by_class) if by_class else pulumi.Output.from_input({})
        self.kubeconfigs_by_class = pulumi.Output.secret(gathered)
        self.register_outputs({"kubeconfigs_by_class": self.kubeconfigs_by_class})
