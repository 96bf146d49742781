"""`pulumi up` of the platform baseline through pulumi-kubernetes against the real local DC."""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from pdn import stacks
from pdn.dc.lifecycle import LocalDC
from tests.integration.dc_fixtures import site_without_clusters

pytestmark = pytest.mark.integration

PLATFORM_NAMESPACES = {
    "pdn-system",
    "pdn-identity",
    "pdn-pki",
    "pdn-storage",
    "pdn-databases",
    "pdn-gis",
    "pdn-backup",
    "pdn-observability",
}
RESTRICTED_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "registry.pdn.go.id/platform/echo:1.0",
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
}


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "pdn-system"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "pdn-platform-critical",
                    "nodeSelector": {"pdn.go.id/pool": "compute"},
                    "containers": [RESTRICTED_CONTAINER],
                },
            },
        },
    }


def test_baseline_up_verify_no_changes_destroy(
    stack: stacks.Stack, local_dc: LocalDC, tmp_path: Path
) -> None:
    with local_dc.api_client() as api:
        _wait_nodes_settled(api)
    stack.set_config("pdn:kubeconfig", local_dc.kubeconfig.read_text(), secret=True)
    # The site's clusters are test_clusters' subject.
    stack.set_plain_config({"pdn:inventory": str(site_without_clusters(tmp_path))})
    left_before = _kubeconfigs_left_in_tmp(local_dc)
    assert set(stack.up()) == {"create"}
    # The provider writes the kubeconfig it is given to a temporary file at every start and
    # never removes it: pdn gives pulumi a TMPDIR of its own and removes it.
    assert _kubeconfigs_left_in_tmp(local_dc) == left_before
    assert set(stack.outputs()["namespaces"]) == PLATFORM_NAMESPACES

    with local_dc.api_client() as api:
        _assert_baseline_exists(api, local_dc)
        _assert_conforming_workload_runs(api, local_dc)
        _assert_nonconforming_pods_refused(api)

    assert set(stack.up()) == {"same"}

    assert set(stack.destroy()) == {"delete"}
    with local_dc.api_client() as api:
        _assert_baseline_gone(api)


def _kubeconfigs_left_in_tmp(local_dc: LocalDC) -> set[Path]:
    """Files in the temporary directory that hold this DC's cluster credentials."""
    key = next(
        line.split(":", 1)[1].strip()
        for line in local_dc.kubeconfig.read_text().splitlines()
        if line.strip().startswith("client-key-data:")
    )
    found = set()
    for path in Path(tempfile.gettempdir()).glob("kubeconfig*"):
        with contextlib.suppress(OSError):
            if key in path.read_text():
                found.add(path)
    return found


def _assert_baseline_exists(api: k8s.ApiClient, local_dc: LocalDC) -> None:
    core, networking = k8s.CoreV1Api(api), k8s.NetworkingV1Api(api)
    for name in PLATFORM_NAMESPACES:
        labels = core.read_namespace(name).metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted", name
        deny = networking.read_namespaced_network_policy("default-deny", name)
        assert deny.spec.policy_types == ["Ingress", "Egress"]
        assert deny.spec.ingress is None
        assert deny.spec.egress is None

    priorities = {p.metadata.name: p for p in k8s.SchedulingV1Api(api).list_priority_class().items}
    assert priorities["pdn-tenant-standard"].global_default is True
    assert priorities["pdn-tenant-batch"].preemption_policy == "Never"
    storage = k8s.StorageV1Api(api).read_storage_class("pdn-standard")
    assert storage.reclaim_policy == "Retain"
    assert storage.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    ingress = networking.read_ingress_class("pdn-public")
    assert ingress.spec.controller == "pdn.go.id/ingress-gateway"

    nodes = {n.metadata.name: n for n in core.list_node().items}
    for _, server in local_dc.site.cluster_view().servers():
        assert nodes[server.name].metadata.labels["pdn.go.id/pool"] == server.role.value
    assert [t.key for t in nodes["a02-s1"].spec.taints] == ["pdn.go.id/pool"]
    assert [t.key for t in nodes["a01-cp1"].spec.taints] == [
        "node-role.kubernetes.io/control-plane"
    ]
    assert not nodes["a01-c1"].spec.taints


def _assert_conforming_workload_runs(api: k8s.ApiClient, local_dc: LocalDC) -> None:
    """The real scheduler places a baseline-conforming Deployment on compute; kwok runs it."""
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    apps.create_namespaced_deployment("pdn-system", _deployment("echo"))
    try:
        _wait(
            lambda: (
                (
                    apps.read_namespaced_deployment_status(
                        "echo", "pdn-system"
                    ).status.available_replicas
                    or 0
                )
                == 3
            ),
            90,
            "deployment echo to have 3 available replicas",
        )
        pods = core.list_namespaced_pod("pdn-system", label_selector="app=echo").items
        compute = {
            s.name for _, s in local_dc.site.cluster_view().servers() if s.role.value == "compute"
        }
        assert {p.spec.node_name for p in pods} <= compute
        assert all(p.spec.priority == 1_000_000 for p in pods)
        assert all(p.status.pod_ip.startswith("198.19.") for p in pods)
    finally:
        apps.delete_namespaced_deployment("echo", "pdn-system")


def _pod(name: str, security_context: dict[str, Any] | None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "sh", "image": "registry.pdn.go.id/debian:12"}
    if security_context is not None:
        container["securityContext"] = security_context
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "pdn-system"},
        "spec": {"containers": [container]},
    }


def _refusal(api: k8s.ApiClient, pod: dict[str, Any]) -> tuple[int, str]:
    with pytest.raises(ApiException) as refused:
        k8s.CoreV1Api(api).create_namespaced_pod("pdn-system", pod)
    return refused.value.status, json.loads(refused.value.body)["message"]


def _assert_nonconforming_pods_refused(api: k8s.ApiClient) -> None:
    # A pod that sets nothing breaks "restricted": PodSecurity admission refuses it.
    status, message = _refusal(api, _pod("defaults", None))
    assert status == 403
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "runAsNonRoot != true" in message
    # Privileged containers are refused cluster-wide before admission (--allow-privileged=false).
    status, message = _refusal(api, _pod("root-shell", {"privileged": True}))
    assert status == 422
    assert "privileged: Forbidden: disallowed by cluster policy" in message


def _wait_nodes_settled(api: k8s.ApiClient, timeout: float = 120.0) -> None:
    """Start from nodes the node lifecycle controller leaves alone: after the DC tests restart
    its components, it may mark nodes unreachable and back, rewriting their taints, and taints
    are an atomic list (its last writer owns all of it, so a pool's taint written by pdn would
    no longer be pdn's to remove)."""
    core = k8s.CoreV1Api(api)
    calm, deadline = 0, time.monotonic() + timeout
    while calm < 3:
        nodes = core.list_node().items
        ready = all(
            any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
            for n in nodes
        )
        marked = [
            t.key for n in nodes for t in n.spec.taints or [] if "node.kubernetes.io/" in t.key
        ]
        calm = calm + 1 if ready and not marked else 0
        assert time.monotonic() < deadline, f"nodes not settled: ready={ready}, taints={marked}"
        time.sleep(1)


def _assert_baseline_gone(api: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api)
    remaining = {n.metadata.name for n in core.list_namespace().items} & PLATFORM_NAMESPACES
    assert not remaining
    names = {p.metadata.name for p in k8s.SchedulingV1Api(api).list_priority_class().items}
    assert not {n for n in names if n.startswith("pdn-")}
    for node in core.list_node().items:
        assert "pdn.go.id/pool" not in node.metadata.labels, node.metadata.name
        owners = [
            (f.manager, f.operation)
            for f in node.metadata.managed_fields or []
            if "f:taints" in str((f.fields_v1 or {}).get("f:spec", {}))
        ]
        assert not node.spec.taints, (node.metadata.name, node.spec.taints, owners)
