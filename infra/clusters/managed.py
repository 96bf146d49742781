"""A site's cluster as Cluster API objects on its management cluster.

Explicit objects, not a ClusterClass: one KubeadmControlPlane for the control plane pool and one
MachineDeployment per worker pool, so a pool of the inventory is a pool Cluster API scales.
Each waits, through pulumi-kubernetes' `pulumi.com/waitFor`, until Cluster API reports every
machine up to date and available; the workers depend on the control plane, so an upgrade rolls
the control plane first, then the workers. The kubeadm control plane's own webhook refuses a
version that skips a minor, and pdn's version gate one that goes back, so such an inventory fails
at preview.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.clusters.machines import Machines, template_name
from infra.clusters.server_binding import ServerBinding, ServerRetirement
from infra.clusters.version_gate import VersionGate
from pdn import inventory
from pdn.clusters.names import CLUSTER_NAME_LABEL, POOL_LABEL

CLUSTER_API = "cluster.x-k8s.io/v1beta2"
CONTROL_PLANE_API = "controlplane.cluster.x-k8s.io/v1beta2"
BOOTSTRAP_API = "bootstrap.cluster.x-k8s.io/v1beta2"
# Creating machines is quick on the local DC; bare metal takes its time to boot and image.
READY_TIMEOUT_SECONDS = 1800
CONTROL_PLANE_POOL = "control-plane"


def _group(api_version: str) -> str:
    return api_version.partition("/")[0]


def _registration(labels: str) -> dict[str, Any]:
    """How a machine's kubelet registers: its node labelled (pool; host on bare metal)."""
    return {"nodeRegistration": {"kubeletExtraArgs": [{"name": "node-labels", "value": labels}]}}


def wait_for_machines(count: int, version: str, *extra: str) -> str:
    """The `pulumi.com/waitFor` value: `count` machines, every one at `version`, up to date and
    available. The count at the version is what ends a rollout: Cluster API's up-to-date count
    can still be the old one for a moment after the controller has seen the change (the
    provider waits for status.observedGeneration as well)."""
    checks = [
        f"jsonpath={{.status.{field_}}}={count}"
        for field_ in ("replicas", "upToDateReplicas", "availableReplicas")
    ]
    if count:
        checks.append(f'jsonpath={{.status.versions[?(@.version=="{version}")].replicas}}={count}')
    return json.dumps([*checks, *extra])


@dataclass
class ManagedClusterArgs:
    cluster: inventory.Cluster
    site_code: str
    namespace: pulumi.Input[str]
    # The management cluster's, for binding machines to servers and retiring servers.
    kubeconfig: pulumi.Input[str]
    machines: Machines = field(default_factory=Machines)
    # The workload cluster's own networks (each cluster is its own network).
    pod_cidr: str = "198.18.0.0/17"
    service_cidr: str = "198.18.128.0/20"
    labels: dict[str, str] = field(default_factory=dict)


class ManagedCluster(pulumi.ComponentResource):
    """One cluster of the inventory: its Cluster, control plane and worker pools."""

    cluster_name: pulumi.Output[str]
    kubernetes_version: pulumi.Output[str]
    control_plane_machines: pulumi.Output[int]
    pools: pulumi.Output[dict[str, int]]
    machines: pulumi.Output[dict[str, dict[str, str]]]  # pool -> server -> machine

    def __init__(
        self, name: str, args: ManagedClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:clusters:ManagedCluster", name, None, opts)
        cluster, kinds = args.cluster, args.machines.kinds
        version = cluster.kubernetes_version
        labels = {
            "pdn.go.id/site": args.site_code,
            "pdn.go.id/cluster-purpose": cluster.purpose.value,
            **(
                {"pdn.go.id/classification": cluster.classification.value}
                if cluster.classification
                else {}
            ),
            **args.labels,
        }
        child = pulumi.ResourceOptions(parent=self)
        timeouts = pulumi.CustomTimeouts(
            create=f"{READY_TIMEOUT_SECONDS}s", update=f"{READY_TIMEOUT_SECONDS}s"
        )

        def meta(
            object_name: str, annotations: dict[str, str] | None = None
        ) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(
                name=object_name,
                namespace=args.namespace,
                labels={CLUSTER_NAME_LABEL: cluster.name, **labels},
                annotations=annotations,
            )

        infrastructure = k8s.apiextensions.CustomResource(
            f"{name}-infrastructure",
            api_version=kinds.api_version,
            kind=kinds.cluster_kind,
            # CAPD panics on a DevCluster without annotations.
            metadata=meta(cluster.name, {"pdn.go.id/managed-by": "pulumi"}),
            spec=args.machines.cluster_spec(cluster.endpoint),
            opts=child,
        )
        capi_cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version=CLUSTER_API,
            kind="Cluster",
            metadata=meta(cluster.name),
            spec={
                "clusterNetwork": {
                    "pods": {"cidrBlocks": [args.pod_cidr]},
                    "services": {"cidrBlocks": [args.service_cidr]},
                    "serviceDomain": "cluster.local",
                },
                "controlPlaneRef": {
                    "apiGroup": _group(CONTROL_PLANE_API),
                    "kind": "KubeadmControlPlane",
                    "name": f"{cluster.name}-{CONTROL_PLANE_POOL}",
                },
                "infrastructureRef": {
                    "apiGroup": _group(kinds.api_version),
                    "kind": kinds.cluster_kind,
                    "name": cluster.name,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[infrastructure]),
        )
        after_cluster = pulumi.ResourceOptions(
            parent=self, depends_on=[capi_cluster], custom_timeouts=timeouts
        )

        def machine_template(pool: str) -> tuple[k8s.apiextensions.CustomResource, str]:
            spec = args.machines.template_spec(cluster.name, pool)
            object_name = template_name(f"{cluster.name}-{pool}", spec)
            template = k8s.apiextensions.CustomResource(
                f"{name}-{pool}-machines",
                api_version=kinds.api_version,
                kind=kinds.machine_template_kind,
                metadata=meta(object_name),
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
            )
            return template, object_name

        gate = VersionGate(f"{name}-version", cluster.name, version, child)
        control_plane_config: dict[str, Any] = {
            "clusterConfiguration": {
                "apiServer": {
                    "certSANs": [
                        "localhost",
                        "127.0.0.1",
                        *([cluster.endpoint] if cluster.endpoint else []),
                    ]
                },
            },
        }
        if cp_node_labels := args.machines.node_labels(None):
            registration = _registration(cp_node_labels)
            control_plane_config |= {
                "initConfiguration": registration,
                "joinConfiguration": registration,
            }

        def retirement(pool: str, servers: tuple[inventory.Server, ...]) -> ServerRetirement:
            return ServerRetirement(
                f"{name}-{pool}-retirement",
                cluster=cluster.name,
                pool=pool,
                servers=[s.name for s in servers],
                kubeconfig=args.kubeconfig,
                opts=child,
            )

        def binding(
            pool: str, servers: tuple[inventory.Server, ...], resized: pulumi.Resource
        ) -> pulumi.Output[dict[str, str]]:
            return ServerBinding(
                f"{name}-{pool}-servers",
                cluster=cluster.name,
                pool=pool,
                servers=[s.name for s in servers],
                version=version,
                kubeconfig=args.kubeconfig,
                timeout_seconds=READY_TIMEOUT_SECONDS,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[resized]),
            ).machines

        cp_template, cp_template_name = machine_template(CONTROL_PLANE_POOL)
        cp_count = len(cluster.control_plane.servers)
        control_plane = k8s.apiextensions.CustomResource(
            f"{name}-control-plane",
            api_version=CONTROL_PLANE_API,
            kind="KubeadmControlPlane",
            metadata=meta(
                f"{cluster.name}-{CONTROL_PLANE_POOL}",
                {
                    "pulumi.com/waitFor": wait_for_machines(
                        cp_count,
                        version,
                        f"jsonpath={{.status.version}}={version}",
                        "condition=Available",
                    )
                },
            ),
            spec={
                "replicas": cp_count,
                "version": version,
                "machineTemplate": {
                    "spec": {
                        "infrastructureRef": {
                            "apiGroup": _group(kinds.api_version),
                            "kind": kinds.machine_template_kind,
                            "name": cp_template_name,
                        }
                    }
                },
                "kubeadmConfigSpec": control_plane_config,
            },
            opts=pulumi.ResourceOptions.merge(
                after_cluster,
                pulumi.ResourceOptions(
                    depends_on=[
                        cp_template,
                        gate,
                        retirement(CONTROL_PLANE_POOL, cluster.control_plane.servers),
                    ]
                ),
            ),
        )
        machines = {
            CONTROL_PLANE_POOL: binding(
                CONTROL_PLANE_POOL, cluster.control_plane.servers, control_plane
            )
        }
        pools: dict[str, int] = {}
        for pool in cluster.workers:
            template, template_object = machine_template(pool.name)
            bootstrap = k8s.apiextensions.CustomResource(
                f"{name}-{pool.name}-bootstrap",
                api_version=BOOTSTRAP_API,
                kind="KubeadmConfigTemplate",
                metadata=meta(f"{cluster.name}-{pool.name}"),
                spec={
                    "template": {
                        "spec": {
                            "joinConfiguration": _registration(args.machines.node_labels(pool.name))
                        }
                    }
                },
                opts=child,
            )
            count = len(pool.servers)
            pools[pool.name] = count
            deployment = k8s.apiextensions.CustomResource(
                f"{name}-{pool.name}",
                api_version=CLUSTER_API,
                kind="MachineDeployment",
                metadata=meta(
                    f"{cluster.name}-{pool.name}",
                    {"pulumi.com/waitFor": wait_for_machines(count, version)},
                ),
                spec={
                    "clusterName": cluster.name,
                    "replicas": count,
                    "selector": {
                        "matchLabels": {
                            CLUSTER_NAME_LABEL: cluster.name,
                            POOL_LABEL: pool.name,
                        }
                    },
                    "template": {
                        "metadata": {
                            "labels": {
                                CLUSTER_NAME_LABEL: cluster.name,
                                POOL_LABEL: pool.name,
                            }
                        },
                        "spec": {
                            "clusterName": cluster.name,
                            "version": version,
                            "bootstrap": {
                                "configRef": {
                                    "apiGroup": _group(BOOTSTRAP_API),
                                    "kind": "KubeadmConfigTemplate",
                                    "name": f"{cluster.name}-{pool.name}",
                                }
                            },
                            "infrastructureRef": {
                                "apiGroup": _group(kinds.api_version),
                                "kind": kinds.machine_template_kind,
                                "name": template_object,
                            },
                        },
                    },
                },
                # Workers after the control plane: created once it is up, upgraded once it is.
                opts=pulumi.ResourceOptions.merge(
                    after_cluster,
                    pulumi.ResourceOptions(
                        depends_on=[
                            control_plane,
                            template,
                            bootstrap,
                            retirement(pool.name, pool.servers),
                        ]
                    ),
                ),
            )
            machines[pool.name] = binding(pool.name, pool.servers, deployment)
        self.cluster_name = pulumi.Output.from_input(cluster.name)
        self.kubernetes_version = pulumi.Output.from_input(version)
        self.control_plane_machines = pulumi.Output.from_input(cp_count)
        self.pools = pulumi.Output.from_input(pools)
        self.machines = pulumi.Output.all(**machines).apply(dict)
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "kubernetes_version": self.kubernetes_version,
                "control_plane_machines": self.control_plane_machines,
                "pools": self.pools,
                "machines": self.machines,
            }
        )
