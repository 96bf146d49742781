"""Inventory servers become Nodes that announce what the hardware has."""

from __future__ import annotations

from pdn.dc.nodes import node_manifest
from pdn.inventory import LOCAL_SITE, load_site

SITE = load_site(LOCAL_SITE)


def test_node_carries_topology_and_kwok_annotation() -> None:
    rack = next(r for r in SITE.racks if r.name == "b01")
    server = next(s for s in rack.servers if s.name == "b01-s1")
    node = node_manifest(SITE, rack, server)
    meta = node["metadata"]
    assert meta["name"] == "b01-s1"
    assert meta["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    assert meta["labels"]["topology.kubernetes.io/zone"] == "zone-b"
    assert meta["labels"]["topology.kubernetes.io/region"] == "pdn-local"
    assert meta["labels"]["pdn.go.id/rack"] == "b01"
    assert meta["labels"]["pdn.go.id/hall"] == "hall-b"
    assert meta["labels"]["pdn.go.id/role"] == "storage"


def test_capacity_is_the_hardware_and_allocatable_keeps_a_reserve() -> None:
    rack = SITE.racks[0]
    server = rack.servers[1]  # a01-c1: 64 cores, 512 GiB, 1920 GiB
    status = node_manifest(SITE, rack, server)["status"]
    assert status["capacity"] == {
        "cpu": "64",
        "memory": "512Gi",
        "ephemeral-storage": "1920Gi",
        "pods": "110",
    }
    assert status["allocatable"]["cpu"] == "63500m"
    assert status["allocatable"]["memory"] == f"{512 * 1024 - 1024}Mi"
