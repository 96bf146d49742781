"""Clusters as code on the real management cluster: the local DC runs Cluster API's own
controllers (core, kubeadm bootstrap and control plane, CAPD in-memory machines), and `pulumi up`
of the platform program makes, grows, upgrades, shrinks and deletes a cluster through them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from pdn import stacks
from pdn.dc import cluster_api
from pdn.dc.lifecycle import LocalDC
from pdn.inventory import LOCAL_SITE
from pdn.pulumi_env import PulumiEnvError

pytestmark = pytest.mark.integration

NAMESPACE = "pdn-clusters"
CLUSTER = "it-general"
OLD, NEW = "v1.33.7", "v1.34.4"


def _inventory(path: Path, version: str, workers: int) -> Path:
    """The local site, with a management cluster and one workload cluster of its servers."""
    site = yaml.safe_load(LOCAL_SITE.read_text())
    site["clusters"] = [
        {
            "name": "management",
            "purpose": "management",
            "kubernetes": NEW,
            "control_plane": {"servers": ["a01-cp1"]},
        },
        {
            "name": CLUSTER,
            "purpose": "workload",
            "classification": "general",
            "kubernetes": version,
            "control_plane": {"servers": ["b01-cp1"]},
            "workers": [{"name": "workers", "role": "compute", "count": workers}],
        },
    ]
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


def _objects(api: k8s.ApiClient, plural: str, group: str = "cluster.x-k8s.io") -> list[Any]:
    listed = k8s.CustomObjectsApi(api).list_namespaced_custom_object(
        group,
        "v1beta2",
        NAMESPACE,
        plural,
        label_selector=f"cluster.x-k8s.io/cluster-name={CLUSTER}",
    )
    return list(listed["items"])


def _machines(api: k8s.ApiClient) -> list[dict[str, Any]]:
    """(role, version, phase, created) of each machine Cluster API runs for the cluster."""
    return [
        {
            "role": "control-plane"
            if "cluster.x-k8s.io/control-plane" in m["metadata"]["labels"]
            else m["metadata"]["labels"].get("pdn.go.id/pool"),
            "version": m["spec"]["version"],
            "phase": m.get("status", {}).get("phase"),
            "created": m["metadata"]["creationTimestamp"],
            "name": m["metadata"]["name"],
            "deleting": "deletionTimestamp" in m["metadata"],
        }
        for m in _objects(api, "machines")
    ]


def _condition(obj: dict[str, Any], kind: str) -> str | None:
    for condition in obj.get("status", {}).get("conditions", []):
        if condition["type"] == kind:
            return str(condition["status"])
    return None


def test_cluster_api_runs_on_the_management_cluster_with_its_webhooks(
    local_dc: LocalDC,
) -> None:
    """Every webhook points at its manager on loopback (no Service, no cert-manager), and
    answers: the kubeadm control plane's webhook refuses an even control plane."""
    documents = cluster_api.manifests(local_dc.settings, local_dc.settings.pki_dir / "ca.crt")
    crds = [d for d in documents if d["kind"] == "CustomResourceDefinition"]
    assert len(crds) == 29
    for crd in crds:
        served = [v["name"] for v in crd["spec"]["versions"] if v["served"]]
        if "v1beta2" in served:
            assert crd["metadata"]["labels"]["cluster.x-k8s.io/v1beta2"] == "v1beta2"
    hooks = [
        h for d in documents if d["kind"].endswith("WebhookConfiguration") for h in d["webhooks"]
    ]
    assert hooks
    webhook_ports = {local_dc.settings.ports.capi_webhook + p.offset for p in cluster_api.PROVIDERS}
    assert {h["clientConfig"]["url"].split("/")[2] for h in hooks} == {
        f"127.0.0.1:{port}" for port in webhook_ports
    }
    with local_dc.api_client() as api:
        registered = k8s.AdmissionregistrationV1Api(api).list_validating_webhook_configuration()
        names = {c.metadata.name for c in registered.items}
        assert "pdn-capi-kubeadm-control-plane-validating" in names
        even = {
            "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
            "kind": "KubeadmControlPlane",
            "metadata": {"name": "it-even", "namespace": "default"},
            "spec": {
                "replicas": 2,
                "version": NEW,
                "machineTemplate": {
                    "spec": {
                        "infrastructureRef": {
                            "apiGroup": "infrastructure.cluster.x-k8s.io",
                            "kind": "DevMachineTemplate",
                            "name": "none",
                        }
                    }
                },
            },
        }
        with pytest.raises(k8s.ApiException) as refused:
            k8s.CustomObjectsApi(api).create_namespaced_custom_object(
                "controlplane.cluster.x-k8s.io",
                "v1beta2",
                "default",
                "kubeadmcontrolplanes",
                even,
            )
    said = json.loads(refused.value.body)["message"]
    assert 'admission webhook "validation.kubeadmcontrolplane' in said
    assert "even" in said
    health = {c.name: c for c in local_dc.status().components}
    for provider in cluster_api.PROVIDERS:
        assert health[provider.binary].healthy, health[provider.binary]


def test_a_cluster_is_made_grown_upgraded_shrunk_and_deleted_by_pulumi_up(
    stack: stacks.Stack, local_dc: LocalDC, tmp_path: Path
) -> None:
    inventory = tmp_path / "site.yaml"
    stack.set_config("pdn:kubeconfig", local_dc.kubeconfig.read_text(), secret=True)
    stack.set_plain_config({"pdn:inventory": str(_inventory(inventory, OLD, workers=1))})
    assert set(stack.up()) == {"create"}
    with local_dc.api_client() as api:
        (cluster,) = [c for c in _objects(api, "clusters") if c["metadata"]["name"] == CLUSTER]
        assert _condition(cluster, "Available") == "True"
        machines = _machines(api)
    assert sorted((m["role"], m["version"], m["phase"]) for m in machines) == [
        ("control-plane", OLD, "Running"),
        ("workers", OLD, "Running"),
    ]

    _inventory(inventory, OLD, workers=3)  # grow the pool
    assert set(stack.up()) == {"update", "same"}
    with local_dc.api_client() as api:
        workers = [m for m in _machines(api) if m["role"] == "workers"]
    assert [(m["version"], m["phase"]) for m in workers] == [(OLD, "Running")] * 3

    _inventory(inventory, NEW, workers=3)  # one minor up: control plane first, then workers
    assert set(stack.up()) == {"update", "same"}
    with local_dc.api_client() as api:
        machines = _machines(api)
        (control_plane,) = _objects(api, "kubeadmcontrolplanes", "controlplane.cluster.x-k8s.io")
    assert {(m["version"], m["phase"]) for m in machines} == {(NEW, "Running")}, machines
    assert len(machines) == 4
    assert control_plane["status"]["version"] == NEW
    (new_cp,) = [m for m in machines if m["role"] == "control-plane"]
    assert all(new_cp["created"] <= m["created"] for m in machines if m["role"] == "workers")
    assert set(stack.up()) == {"same"}

    _inventory(inventory, OLD, workers=3)  # back down: refused before anything changes
    with pytest.raises(PulumiEnvError) as refused:
        stack.up()
    assert f"cluster {CLUSTER}: {NEW} -> {OLD} goes back" in str(refused.value)
    with local_dc.api_client() as api:
        assert {m["version"] for m in _machines(api)} == {NEW}

    _inventory(inventory, NEW, workers=1)  # shrink: two machines drained and removed
    assert set(stack.up()) == {"update", "same"}
    with local_dc.api_client() as api:
        assert len([m for m in _machines(api) if m["role"] == "workers"]) == 1

    assert set(stack.destroy()) == {"delete"}
    with local_dc.api_client() as api:
        assert _objects(api, "clusters") == []
        assert _machines(api) == []
