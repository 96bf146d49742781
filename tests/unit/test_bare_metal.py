"""The production path of clusters as code: a site's servers as Metal3 BareMetalHosts and its
pools as Metal3 machine templates, under Pulumi mocks; and what the inventory must say first."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.clusters import MachineBackend, MachineImage, Machines, SiteClusters, SiteClustersArgs
from pdn.clusters.baremetal import bare_metal_problems
from pdn.inventory import INVENTORY_DIR, InventoryError, load_site, parse_site
from tests.unit.conftest import RecordingMocks, run_program

CIKARANG = INVENTORY_DIR / "cikarang.yaml"
IMAGE = MachineImage("https://images.pdn.go.id/ubuntu-24.04-k8s-v1.34.4.qcow2", "ab" * 32)


def _cikarang() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CIKARANG.read_text())
    return loaded


def _first_server(doc: dict[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = doc["halls"][0]["racks"][0]["servers"][1]
    return server


def _render(pulumi_mocks: RecordingMocks) -> dict[str, list[dict[str, Any]]]:
    site = load_site(CIKARANG)

    def program() -> dict[str, Any]:
        clusters = SiteClusters(
            "cikarang",
            SiteClustersArgs(
                site=site,
                kubeconfig="kubeconfig",
                machines=Machines(MachineBackend.METAL3, IMAGE),
                bmc_username="pdn-metal3",
                bmc_password="bmc-secret",
            ),
        )
        return {"versions": clusters.versions}

    run_program(program)
    kinds: dict[str, list[dict[str, Any]]] = {}
    for r in pulumi_mocks.resources:
        if r.typ.startswith("kubernetes:"):
            kinds.setdefault(r.typ.rpartition(":")[2], []).append(r.inputs)
    return kinds


def test_every_server_cluster_api_may_use_is_a_bare_metal_host(
    pulumi_mocks: RecordingMocks,
) -> None:
    kinds = _render(pulumi_mocks)
    site = load_site(CIKARANG)
    (management,) = [c for c in site.clusters if c.name == "management"]
    by_hand = {s.name for s in management.servers()}
    hosts = {h["metadata"]["name"]: h for h in kinds["BareMetalHost"]}
    assert set(hosts) == {s.name for _, s in site.servers()} - by_hand
    (secret,) = kinds["Secret"]
    assert secret["metadata"]["name"] == "pdn-cikarang-bmc"
    host = hosts["h1r01-c1"]
    assert host["apiVersion"] == "metal3.io/v1alpha1"
    assert host["spec"]["bmc"] == {
        "address": "redfish-virtualmedia://h1r01-c1.bmc.cikarang.pdn.go.id/redfish/v1/Systems/1",
        "credentialsName": "pdn-cikarang-bmc",
        "disableCertificateVerification": False,
    }
    assert host["spec"]["bootMACAddress"] == "0c:c4:7a:00:00:02"
    assert host["spec"]["online"] is False
    # Each pooled host carries the cluster and pool its pool's template selects.
    (general,) = [c for c in site.clusters if c.name == "general"]
    for pool in (general.control_plane, *general.workers):
        for server in pool.servers:
            labels = hosts[server.name]["metadata"]["labels"]
            assert (labels["pdn.go.id/cluster"], labels["pdn.go.id/pool"]) == (
                "general",
                pool.name,
            )
    templates = {t["metadata"]["name"]: t for t in kinds["Metal3MachineTemplate"]}
    (workers,) = [t for name, t in templates.items() if name.startswith("general-workers-")]
    spec = workers["spec"]["template"]["spec"]
    assert spec["hostSelector"] == {
        "matchLabels": {"pdn.go.id/cluster": "general", "pdn.go.id/pool": "workers"}
    }
    assert spec["image"]["url"] == IMAGE.url
    assert spec["image"]["checksumType"] == "sha256"


def test_the_control_plane_answers_at_its_endpoint(pulumi_mocks: RecordingMocks) -> None:
    kinds = _render(pulumi_mocks)
    (cluster,) = [c for c in kinds["Metal3Cluster"] if c["metadata"]["name"] == "general"]
    assert cluster["spec"]["controlPlaneEndpoint"] == {
        "host": "general.k8s.cikarang.pdn.go.id",
        "port": 6443,
    }
    (kcp,) = [
        k for k in kinds["KubeadmControlPlane"] if k["metadata"]["name"].startswith("general-")
    ]
    config = kcp["spec"]["kubeadmConfigSpec"]
    assert (
        "general.k8s.cikarang.pdn.go.id" in config["clusterConfiguration"]["apiServer"]["certSANs"]
    )
    labels = config["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"][0]["value"]
    assert "metal3.io/uuid={{ ds.meta_data.uuid }}" in labels


def test_the_committed_sites_are_ready_for_metal3() -> None:
    assert bare_metal_problems(load_site(CIKARANG)) == []


def test_what_metal3_lacks_is_named_per_cluster_and_server() -> None:
    doc = _cikarang()
    del doc["clusters"][2]["endpoint"]
    del _first_server(doc)["bmc"]
    doc["halls"][0]["racks"][0]["servers"][2]["bmc"]["boot_mac"] = "0c:c4:7a:00:00:04"
    problems = bare_metal_problems(parse_site(doc, "cikarang.yaml"))
    assert problems == [
        "cluster general: no endpoint: give the control plane's VIP or DNS name "
        "(clusters[].endpoint)",
        "server h1r01-c1 (cluster shared-services): no bmc: give its bmc.address and bmc.boot_mac",
        "server h1r01-c3: bmc.boot_mac 0c:c4:7a:00:00:04 is also h1r01-c2's",
    ]


@pytest.mark.parametrize(
    ("bmc", "where", "says"),
    [
        (
            {"address": "http://10.1.1.1", "boot_mac": "0c:c4:7a:00:00:02"},
            "bmc.address",
            "is not a BMC address Metal3 drives",
        ),
        (
            {"address": "redfish://", "boot_mac": "0c:c4:7a:00:00:02"},
            "bmc.address",
            "is not a BMC address",
        ),
        (
            {"address": "ipmi://10.1.1.1:623", "boot_mac": "0c:c4:7a:00:00"},
            "bmc.boot_mac",
            "is not a MAC address",
        ),
        (
            {"address": "ipmi://10.1.1.1", "boot_mac": "0c:c4:7a:00:00:02", "user": "x"},
            "bmc",
            "unknown field(s) ['user']",
        ),
    ],
)
def test_a_bad_bmc_is_one_located_error(bmc: dict[str, Any], where: str, says: str) -> None:
    doc = _cikarang()
    _first_server(doc)["bmc"] = bmc
    with pytest.raises(InventoryError) as raised:
        parse_site(doc, "cikarang.yaml")
    said = str(raised.value)
    assert said.startswith(f"cikarang.yaml: halls[0].racks[0].servers[1].{where}: "), said
    assert says in said


def test_a_bad_endpoint_is_one_located_error() -> None:
    doc = _cikarang()
    doc["clusters"][2]["endpoint"] = "https://general.k8s:6443"
    with pytest.raises(InventoryError) as raised:
        parse_site(doc, "cikarang.yaml")
    assert str(raised.value).startswith("cikarang.yaml: clusters[2].endpoint: 'https://")


def test_an_upper_case_mac_is_kept_lowercase(tmp_path: Path) -> None:
    doc = copy.deepcopy(_cikarang())
    _first_server(doc)["bmc"]["boot_mac"] = "0C:C4:7A:00:00:02"
    (site := tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    server = next(s for _, s in load_site(site).servers() if s.name == "h1r01-c1")
    assert server.bmc is not None
    assert server.bmc.boot_mac == "0c:c4:7a:00:00:02"
