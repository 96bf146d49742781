"""The inventory's servers as Kubernetes Nodes, which kwok then drives like real kubelets."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from pdn.dc.control_plane import KWOK_NODE_ANNOTATION, KWOK_USER, PLATFORM_ADMINS_GROUP
from pdn.inventory import Rack, Server, Site

LABEL_PREFIX = "pdn.go.id"
MAX_PODS = 110


def node_manifest(site: Site, rack: Rack, server: Server) -> dict[str, Any]:
    """A Node as the server's kubelet would register it: capacity, topology, identity."""
    capacity = {
        "cpu": str(server.cpu_cores),
        "memory": f"{server.memory_gib}Gi",
        "ephemeral-storage": f"{server.disk_gib}Gi",
        "pods": str(MAX_PODS),
    }
    # What a kubelet keeps back for the system; the rest is allocatable.
    allocatable = {
        "cpu": f"{server.cpu_cores * 1000 - 500}m",
        "memory": f"{server.memory_gib * 1024 - 1024}Mi",
        "ephemeral-storage": f"{int(server.disk_gib * 0.9)}Gi",
        "pods": str(MAX_PODS),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": server.name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake"},
            "labels": {
                "kubernetes.io/hostname": server.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/region": site.code,
                "topology.kubernetes.io/zone": rack.zone,
                f"{LABEL_PREFIX}/site": site.code,
                f"{LABEL_PREFIX}/hall": rack.hall,
                f"{LABEL_PREFIX}/rack": rack.name,
                f"{LABEL_PREFIX}/role": server.role.value,
                "type": "kwok",
            },
        },
        "status": {"capacity": capacity, "allocatable": allocatable},
    }


def register(api: k8s.ApiClient, site: Site) -> None:
    """Make the cluster's Nodes match the inventory: new servers join, changed ones are updated
    (labels, capacity), servers gone from the inventory leave. Nodes not made here stay."""
    core = k8s.CoreV1Api(api)
    existing = {n.metadata.name: n for n in core.list_node().items}
    wanted = {server.name: (rack, server) for rack, server in site.servers()}
    for name, node in existing.items():
        ours = (node.metadata.annotations or {}).get(KWOK_NODE_ANNOTATION) == "fake"
        if ours and name not in wanted:
            core.delete_node(name)
    for name, (rack, server) in wanted.items():
        manifest = node_manifest(site, rack, server)
        node = existing.get(name)
        if node is None:
            core.create_node(manifest)
        else:
            labels = manifest["metadata"]["labels"]
            current = node.metadata.labels or {}
            if any(current.get(key) != value for key, value in labels.items()):
                core.patch_node(name, {"metadata": {"labels": labels}})
        # Capacity is status: set it the way a kubelet does, through the status subresource.
        if node is None or dict(node.status.capacity or {}) != manifest["status"]["capacity"]:
            core.patch_node_status(name, {"status": manifest["status"]})


NODE_LEASE_NAMESPACE = "kube-node-lease"


def release_leases(api: k8s.ApiClient, site: Site) -> None:
    """Drop the node leases of a kwok that is gone. Each kwok holds them under a new identity,
    so a restarted one would otherwise wait for the old leases to expire before it runs pods."""
    coordination = k8s.CoordinationV1Api(api)
    for _, server in site.servers():
        try:
            coordination.delete_namespaced_lease(server.name, NODE_LEASE_NAMESPACE)
        except ApiException as err:
            if err.status != 404:
                raise


def not_ready(api: k8s.ApiClient, site: Site) -> list[str]:
    """Inventory servers whose Node is missing or not Ready."""
    nodes = {n.metadata.name: n for n in k8s.CoreV1Api(api).list_node().items}
    waiting = []
    for _, server in site.servers():
        node = nodes.get(server.name)
        conditions = (node.status.conditions or []) if node is not None else []
        if not any(c.type == "Ready" and c.status == "True" for c in conditions):
            waiting.append(server.name)
    return waiting


KWOK_CLUSTER_ROLE: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "pdn:kwok"},
    "rules": [
        {
            "apiGroups": [""],
            "resources": ["nodes"],
            "verbs": ["get", "list", "watch", "update", "patch"],
        },
        {
            "apiGroups": [""],
            "resources": ["nodes/status", "pods/status"],
            "verbs": ["get", "update", "patch"],
        },
        {
            "apiGroups": [""],
            "resources": ["pods"],
            "verbs": ["get", "list", "watch", "update", "patch", "delete"],
        },
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "list", "watch", "create", "update", "patch"],
        },
        {
            "apiGroups": ["", "events.k8s.io"],
            "resources": ["events"],
            "verbs": ["create", "patch", "update"],
        },
    ],
}


PLATFORM_ADMINS_BINDING: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": PLATFORM_ADMINS_GROUP, "labels": {"pdn.go.id/managed-by": "pdn-dc"}},
    "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "cluster-admin",
    },
    "subjects": [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": PLATFORM_ADMINS_GROUP}
    ],
}


def grant_platform_admins(break_glass: k8s.ApiClient) -> None:
    """Bind the platform admins' group to cluster-admin (as kubeadm binds kubeadm:cluster-admins
    with super-admin.conf); revoking this binding revokes the platform's admin identity."""
    rbac = k8s.RbacAuthorizationV1Api(break_glass)
    _apply(
        lambda: rbac.create_cluster_role_binding(PLATFORM_ADMINS_BINDING),
        lambda: rbac.replace_cluster_role_binding(PLATFORM_ADMINS_GROUP, PLATFORM_ADMINS_BINDING),
    )


def grant_kwok(api: k8s.ApiClient) -> None:
    """kwok plays every kubelet: allow it just what kubelets do to nodes, pods and leases."""
    rbac = k8s.RbacAuthorizationV1Api(api)
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "pdn:kwok"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "pdn:kwok",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": KWOK_USER}],
    }
    _apply(
        lambda: rbac.create_cluster_role(KWOK_CLUSTER_ROLE),
        lambda: rbac.replace_cluster_role("pdn:kwok", KWOK_CLUSTER_ROLE),
    )
    _apply(
        lambda: rbac.create_cluster_role_binding(binding),
        lambda: rbac.replace_cluster_role_binding("pdn:kwok", binding),
    )


def _apply(create: Any, replace: Any) -> None:
    try:
        create()
    except ApiException as err:
        if err.status != 409:
            raise
        replace()
