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
from pdn.cli.main import main
from pdn.dc import cluster_api
from pdn.dc.lifecycle import LocalDC
from pdn.inventory import LOCAL_SITE
from pdn.pulumi_env import PulumiEnvError

pytestmark = pytest.mark.integration

NAMESPACE = "pdn-clusters"
CLUSTER = "it-general"
OLD, NEW = "v1.33.7", "v1.34.4"


def _inventory(
    path: Path, version: str, workers: int | list[str], *, restricted: bool = True
) -> Path:
    """The local site plus a rack of its own, with a general workload cluster whose workers are
    that rack's first servers, and a restricted one (where the example tenants with personal
    data live). Its workload clusters hold the same servers of the local site as the session
    DC's do, so that the DC's own cluster has the same servers in both (the baseline there
    labels exactly the DC's Nodes)."""
    site = yaml.safe_load(LOCAL_SITE.read_text())
    site["halls"][0]["racks"].append(
        {
            "name": "it1",
            "power_kw": 10,
            "servers": [
                {
                    "name": f"it1-c{i}",
                    "role": "compute",
                    "cpu_cores": 32,
                    "memory_gib": 128,
                    "disk_gib": 960,
                }
                for i in range(1, 4)
            ],
        }
    )
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
            "control_plane": {"servers": ["a01-c2"]},
            "workers": [
                {
                    "name": "workers",
                    "servers": workers
                    if isinstance(workers, list)
                    else [f"it1-c{i}" for i in range(1, workers + 1)],
                }
            ],
        },
    ]
    held_by_restricted = {"name": "it-restricted", "servers": ["b01-cp1", "a02-c1"]}
    if restricted:
        site["clusters"].append(
            {
                "name": held_by_restricted["name"],
                "purpose": "workload",
                "classification": "restricted",
                "kubernetes": NEW,
                "control_plane": {"servers": ["b01-cp1"]},
                "workers": [{"name": "workers", "servers": ["a02-c1"]}],
            }
        )
    else:  # its servers stay out of the DC's own cluster: retired with it
        for hall in site["halls"]:
            for rack in hall["racks"]:
                rack["servers"] = [
                    s for s in rack["servers"] if s["name"] not in held_by_restricted["servers"]
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


def _all_clusters(api: k8s.ApiClient) -> list[Any]:
    listed = k8s.CustomObjectsApi(api).list_namespaced_custom_object(
        "cluster.x-k8s.io", "v1beta2", NAMESPACE, "clusters"
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
    stack: stacks.Stack, local_dc: LocalDC, tmp_path: Path, capsys: pytest.CaptureFixture[str]
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
    _assert_status_shows_settled(inventory, local_dc, capsys)

    _inventory(inventory, OLD, workers=3)  # back down: refused before anything changes
    with pytest.raises(PulumiEnvError) as refused:
        stack.up()
    assert f"cluster {CLUSTER}: {NEW} -> {OLD} goes back" in str(refused.value)
    with local_dc.api_client() as api:
        assert {m["version"] for m in _machines(api)} == {NEW}

    _assert_servers_are_retired_by_name(stack, inventory, local_dc)

    _inventory(inventory, NEW, workers=1)  # shrink: it1-c2's machine drained and removed
    assert set(stack.up()) == {"update", "same"}
    with local_dc.api_client() as api:
        assert len([m for m in _machines(api) if m["role"] == "workers"]) == 1
    assert set(_bound(stack)) == {"it1-c1"}

    _assert_deleting_a_cluster_with_tenants_is_refused(stack, inventory, local_dc)

    assert set(stack.destroy()) == {"delete"}
    with local_dc.api_client() as api:
        assert _all_clusters(api) == []
        assert _machines(api) == []


def _bound(stack: stacks.Stack) -> dict[str, str]:
    """server -> machine of the cluster's workers, as the stack exports it."""
    return dict(stack.outputs()["cluster_machines"][CLUSTER]["workers"])


def _assert_servers_are_retired_by_name(
    stack: stacks.Stack, inventory: Path, local_dc: LocalDC
) -> None:
    """A server out of its pool takes its own machine with it, whichever Cluster API would
    have picked; with a spare in its place, the replacement stands on the spare."""
    before = _bound(stack)
    assert sorted(before) == ["it1-c1", "it1-c2", "it1-c3"]
    assert len(set(before.values())) == 3
    with local_dc.api_client() as api:
        labelled = {m["name"]: m for m in _machines(api)}
    assert set(before.values()) <= set(labelled)

    _inventory(inventory, NEW, workers=["it1-c1", "it1-c3"])  # retire it1-c2
    assert set(stack.up()) == {"update", "same"}
    after = _bound(stack)
    assert after == {"it1-c1": before["it1-c1"], "it1-c3": before["it1-c3"]}
    with local_dc.api_client() as api:
        workers = {m["name"] for m in _machines(api) if m["role"] == "workers"}
    assert workers == set(after.values())  # it1-c2's machine is gone, nothing else
    assert set(stack.up()) == {"same"}

    _inventory(inventory, NEW, workers=["it1-c1", "it1-c2"])  # it1-c3 out, the spare in
    assert set(stack.up()) == {"update", "same"}
    swapped = _bound(stack)
    assert swapped["it1-c1"] == before["it1-c1"]
    assert swapped["it1-c2"] not in before.values()  # a new machine, on the spare
    with local_dc.api_client() as api:
        workers = {m["name"] for m in _machines(api) if m["role"] == "workers"}
    assert workers == set(swapped.values())
    assert set(stack.up()) == {"same"}


def _assert_status_shows_settled(
    inventory: Path, local_dc: LocalDC, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = str(local_dc.kubeconfig)
    status = ["clusters", "status", "--inventory", str(inventory), "--kubeconfig", kubeconfig]
    assert main(status) == 0
    shown = capsys.readouterr().out
    assert f"{CLUSTER} " in shown
    assert f"control-plane 1/1 {NEW}; workers 3/3 {NEW}" in shown
    assert "it-restricted " in shown


def _assert_deleting_a_cluster_with_tenants_is_refused(
    stack: stacks.Stack, inventory: Path, local_dc: LocalDC
) -> None:
    """The restricted cluster out of the inventory: refused, as the example tenants with
    personal data live on it; nothing is deleted."""
    _inventory(inventory, NEW, workers=1, restricted=False)
    with pytest.raises(PulumiEnvError) as refused:
        stack.up()
    said = str(refused.value)
    assert "site pdn-local has no restricted workload cluster, and tenants live on it" in said
    assert "kab-bekasi-rsud (confidential)" in said
    with local_dc.api_client() as api:
        names = {c["metadata"]["name"] for c in _all_clusters(api)}
    assert names == {CLUSTER, "it-restricted"}
