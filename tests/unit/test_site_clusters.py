"""The site's clusters as Cluster API objects, under Pulumi mocks."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra.clusters import (
    SiteClusters,
    SiteClustersArgs,
    WorkloadClusters,
    WorkloadClustersArgs,
)
from infra.clusters.managed import wait_for_machines
from infra.clusters.server_binding import ServerRetirementProvider
from infra.clusters.version_gate import version_step_problem
from pdn.inventory import LOCAL_SITE, load_site
from tests.unit.conftest import RecordingMocks, run_program

SITE = load_site(LOCAL_SITE)


def _of_kind(mocks: RecordingMocks, kind: str) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["name"]: r.inputs
        for r in mocks.resources
        if r.typ.endswith(f":{kind}") and r.typ.startswith("kubernetes:")
    }


def _site_clusters() -> dict[str, Any]:
    clusters = SiteClusters(
        "pdn-local-clusters", SiteClustersArgs(site=SITE, kubeconfig="kubeconfig")
    )
    return {"versions": clusters.versions, "namespace": clusters.namespace}


def test_every_cluster_but_the_management_one_is_made_by_cluster_api(
    pulumi_mocks: RecordingMocks,
) -> None:
    outputs = run_program(_site_clusters)
    assert outputs["versions"] == {
        "management": "v1.34.4",
        "shared-services": "v1.34.4",
        "general": "v1.34.4",
        "restricted": "v1.34.4",
    }
    clusters = _of_kind(pulumi_mocks, "Cluster")
    assert sorted(clusters) == ["general", "restricted", "shared-services"]
    for name, cluster in clusters.items():
        assert cluster["metadata"]["namespace"] == outputs["namespace"] == "pdn-clusters"
        assert cluster["spec"]["controlPlaneRef"]["name"] == f"{name}-control-plane"
        assert cluster["spec"]["infrastructureRef"] == {
            "apiGroup": "infrastructure.cluster.x-k8s.io",
            "kind": "DevCluster",
            "name": name,
        }
    labels = clusters["restricted"]["metadata"]["labels"]
    assert labels["pdn.go.id/classification"] == "restricted"
    assert labels["pdn.go.id/cluster-purpose"] == "workload"
    # CAPD panics on a DevCluster without annotations.
    for dev_cluster in _of_kind(pulumi_mocks, "DevCluster").values():
        assert dev_cluster["metadata"]["annotations"]


def test_pools_are_sized_by_their_servers_and_wait_for_every_machine(
    pulumi_mocks: RecordingMocks,
) -> None:
    run_program(_site_clusters)
    control_planes = _of_kind(pulumi_mocks, "KubeadmControlPlane")
    general_cp = control_planes["general-control-plane"]
    assert general_cp["spec"]["replicas"] == 1
    assert general_cp["spec"]["version"] == "v1.34.4"
    waits = json.loads(general_cp["metadata"]["annotations"]["pulumi.com/waitFor"])
    assert "jsonpath={.status.version}=v1.34.4" in waits
    assert "jsonpath={.status.availableReplicas}=1" in waits
    deployments = _of_kind(pulumi_mocks, "MachineDeployment")
    assert sorted(deployments) == [
        "general-workers",
        "shared-services-services",
        "shared-services-storage",
    ]
    assert deployments["shared-services-storage"]["spec"]["replicas"] == 2
    workers = deployments["general-workers"]
    assert workers["spec"]["replicas"] == 1
    assert workers["spec"]["template"]["spec"]["version"] == "v1.34.4"
    assert workers["metadata"]["annotations"]["pulumi.com/waitFor"] == wait_for_machines(
        1, "v1.34.4"
    )
    bootstrap = _of_kind(pulumi_mocks, "KubeadmConfigTemplate")["general-workers"]
    kubelet = bootstrap["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]
    assert kubelet["kubeletExtraArgs"] == [
        {"name": "node-labels", "value": "pdn.go.id/pool=workers"}
    ]


def test_machine_templates_are_named_by_their_content(pulumi_mocks: RecordingMocks) -> None:
    """Cluster API's machine templates are immutable: a changed template gets a new name."""
    run_program(_site_clusters)
    templates = _of_kind(pulumi_mocks, "DevMachineTemplate")
    refs = {
        d["spec"]["template"]["spec"]["infrastructureRef"]["name"]
        for d in _of_kind(pulumi_mocks, "MachineDeployment").values()
    }
    refs |= {
        c["spec"]["machineTemplate"]["spec"]["infrastructureRef"]["name"]
        for c in _of_kind(pulumi_mocks, "KubeadmControlPlane").values()
    }
    assert refs == set(templates)
    assert all(name.rsplit("-", 1)[1].isalnum() for name in templates)


def test_a_site_without_clusters_makes_none(pulumi_mocks: RecordingMocks) -> None:
    site = load_site(LOCAL_SITE)
    bare = type(site)(site.code, site.name, site.region_code, site.tier, site.racks)

    def program() -> dict[str, Any]:
        args = SiteClustersArgs(site=bare, kubeconfig="kubeconfig")
        return {"versions": SiteClusters("x", args).versions}

    assert run_program(program)["versions"] == {}
    assert not _of_kind(pulumi_mocks, "Cluster")


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("v1.33.7", "v1.33.9", None),
        ("v1.33.7", "v1.34.4", None),
        ("v1.34.4", "v1.34.4", None),
        ("v1.33.7", "v1.35.0", "skips a minor version; upgrade one minor at a time: set v1.34.x"),
        ("v1.34.4", "v1.33.7", "goes back; Kubernetes clusters cannot be downgraded"),
        ("v1.34.4", "v1.34.1", "goes back"),
    ],
)
def test_a_cluster_moves_one_minor_version_up_at_a_time(
    old: str, new: str, says: str | None
) -> None:
    problem = version_step_problem("general", old, new)
    if says is None:
        assert problem is None
    else:
        assert problem is not None
        assert problem.startswith(f"cluster general: {old} -> {new} ")
        assert says in problem


def test_each_workload_cluster_gets_the_baseline_on_its_own_servers(
    pulumi_mocks: RecordingMocks,
) -> None:
    kubeconfigs = {"general": "kubeconfig-of-general", "restricted": "kubeconfig-of-restricted"}

    def program() -> dict[str, Any]:
        workloads = WorkloadClusters(
            "pdn-local-workloads",
            WorkloadClustersArgs(site=SITE, kubeconfigs=pulumi.Output.from_input(kubeconfigs)),
        )
        return {"by_class": workloads.kubeconfigs_by_class}

    assert run_program(program)["by_class"] == kubeconfigs
    providers = [r for r in pulumi_mocks.resources if r.typ == "pulumi:providers:kubernetes"]
    assert sorted(p.name for p in providers) == [
        "pdn-local-workloads-general-cluster",
        "pdn-local-workloads-restricted-cluster",
    ]
    patched = {
        r.name: r.inputs["metadata"]["name"]
        for r in pulumi_mocks.resources
        if r.typ == "kubernetes:core/v1:NodePatch"
    }
    general = {v for k, v in patched.items() if k.startswith("pdn-local-workloads-general-")}
    restricted = {v for k, v in patched.items() if k.startswith("pdn-local-workloads-restricted-")}
    assert general == {"a01-c2", "a02-c1"}
    assert restricted == {"b01-cp1"}


def test_each_pool_has_its_servers_retired_before_and_bound_after_it_is_sized(
    pulumi_mocks: RecordingMocks,
) -> None:
    run_program(_site_clusters)
    dynamic = {
        r.name: r.inputs for r in pulumi_mocks.resources if r.typ.startswith("pulumi-python:")
    }
    general = "pdn-local-clusters-general"
    for pool, servers in (("control-plane", ["a01-c2"]), ("workers", ["a02-c1"])):
        retirement = dynamic[f"{general}-{pool}-retirement"]
        binding = dynamic[f"{general}-{pool}-servers"]
        assert (retirement["cluster"], retirement["pool"]) == ("general", pool)
        assert retirement["servers"] == binding["servers"] == servers
        assert binding["version"] == "v1.34.4"
    storage = dynamic["pdn-local-clusters-shared-services-storage-servers"]
    assert storage["servers"] == ["a02-s1", "b01-s1"]  # drawn by role and count


@pytest.mark.parametrize(
    ("pool", "old", "new", "says"),
    [
        ("workers", ["c1", "c2", "c3"], ["c1", "c3"], None),
        ("workers", ["c1"], ["c2"], None),  # a spare in its place
        ("control-plane", ["p1", "p2", "p3"], ["p1", "p2", "p4"], None),
        ("control-plane", ["p1"], ["p1"], None),
        ("control-plane", ["p1"], ["p2"], "would stop the cluster's only control-plane machine"),
    ],
)
def test_a_server_is_retired_unless_it_holds_the_only_control_plane(
    pool: str, old: list[str], new: list[str], says: str | None
) -> None:
    check = ServerRetirementProvider().check(
        {"cluster": "general", "pool": pool, "servers": old},
        {"cluster": "general", "pool": pool, "servers": new},
    )
    failures = [f.reason for f in check.failures or []]
    if says is None:
        assert failures == []
    else:
        (reason,) = failures
        assert reason.startswith(f"cluster general, pool {pool}: retiring p1 ")
        assert says in reason
        assert "give the control plane three servers first" in reason
