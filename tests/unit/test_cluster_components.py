"""The cluster baseline under Pulumi mocks: what it would create, with which settings."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pulumi
import pytest

from infra.cluster import ClusterBaseline, ClusterBaselineArgs, PlatformNamespace
from infra.cluster.namespaces import PlatformNamespaceArgs
from pdn.inventory import LOCAL_SITE, load_site
from pdn.paths import REPO_ROOT
from tests.unit.conftest import RecordingMocks, run_program

SITE = load_site(LOCAL_SITE)


def _of_type(mocks: RecordingMocks, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
    return [r for r in mocks.resources if r.typ == typ]


def _baseline() -> dict[str, Any]:
    baseline = ClusterBaseline("pdn-local-baseline", ClusterBaselineArgs(site=SITE))
    return {
        "namespaces": baseline.namespaces,
        "priority_classes": baseline.priority_classes,
        "storage_class": baseline.storage_class,
        "ingress_class": baseline.ingress_class,
        "node_pools": baseline.node_pools,
    }


def test_namespaces_enforce_restricted_and_deny_by_default(pulumi_mocks: RecordingMocks) -> None:
    names = run_program(_baseline)["namespaces"]
    assert "pdn-system" in names
    assert "pdn-identity" in names
    namespaces = _of_type(pulumi_mocks, "kubernetes:core/v1:Namespace")
    assert len(namespaces) == len(names)
    for ns in namespaces:
        labels = ns.inputs["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    policies = _of_type(pulumi_mocks, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    deny = [p for p in policies if p.inputs["metadata"]["name"] == "default-deny"]
    assert sorted(p.inputs["metadata"]["namespace"] for p in deny) == sorted(names)
    for policy in deny:
        assert policy.inputs["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert policy.inputs["spec"]["podSelector"] == {}
        assert "ingress" not in policy.inputs["spec"]
        assert "egress" not in policy.inputs["spec"]


def test_one_default_priority_and_batch_never_preempts(pulumi_mocks: RecordingMocks) -> None:
    assert len(run_program(_baseline)["priority_classes"]) == 4
    classes = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in _of_type(pulumi_mocks, "kubernetes:scheduling.k8s.io/v1:PriorityClass")
    }
    assert [n for n, c in classes.items() if c["globalDefault"]] == ["pdn-tenant-standard"]
    assert classes["pdn-tenant-batch"]["preemptionPolicy"] == "Never"
    assert classes["pdn-platform-critical"]["value"] > classes["pdn-tenant-vital"]["value"]


def test_storage_retains_data_and_classes_are_default(pulumi_mocks: RecordingMocks) -> None:
    outputs = run_program(_baseline)
    assert (outputs["storage_class"], outputs["ingress_class"]) == ("pdn-standard", "pdn-public")
    (storage,) = _of_type(pulumi_mocks, "kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage.inputs["reclaimPolicy"] == "Retain"
    assert storage.inputs["volumeBindingMode"] == "WaitForFirstConsumer"
    annotations = storage.inputs["metadata"]["annotations"]
    assert annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    (ingress,) = _of_type(pulumi_mocks, "kubernetes:networking.k8s.io/v1:IngressClass")
    assert ingress.inputs["metadata"]["annotations"] == {
        "ingressclass.kubernetes.io/is-default-class": "true"
    }


def test_node_pools_follow_the_inventory(pulumi_mocks: RecordingMocks) -> None:
    pools = run_program(_baseline)["node_pools"]
    assert pools == {
        "control-plane": ["a01-cp1", "b01-cp1"],
        "compute": ["a01-c1", "a01-c2", "a02-c1", "b01-c1"],
        "storage": ["a02-s1", "b01-s1"],
    }
    patches = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in _of_type(pulumi_mocks, "kubernetes:core/v1:NodePatch")
    }
    assert set(patches) == {n for names in pools.values() for n in names}
    assert patches["a01-c1"]["metadata"]["labels"] == {
        "pdn.go.id/pool": "compute",
        "node-role.kubernetes.io/compute": "",
    }
    assert "spec" not in patches["a01-c1"]
    assert patches["a02-s1"]["spec"]["taints"] == [
        {"key": "pdn.go.id/pool", "value": "storage", "effect": "NoSchedule"}
    ]
    assert patches["b01-cp1"]["spec"]["taints"][0]["key"] == (
        "node-role.kubernetes.io/control-plane"
    )


def test_an_unknown_pod_security_level_is_refused() -> None:
    with pytest.raises(ValueError, match="pod_security 'strict' is not one of"):
        PlatformNamespace("x", PlatformNamespaceArgs("x", "test", pod_security="strict"))


def test_the_groups_shards_use_are_loaded_before_shards_run_on_threads() -> None:
    # pulumi_kubernetes loads groups lazily, which is not thread-safe on Python 3.11: a shard
    # program must find them loaded (a half-made module has no ObjectMetaArgs yet).
    code = (
        "import sys, infra.tenancy.shard; "
        "print(all(type(sys.modules[f'pulumi_kubernetes.{g}.v1']).__name__ == 'module' "
        "for g in ('meta', 'core', 'networking', 'rbac')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout.strip()
    assert loaded == "True"
