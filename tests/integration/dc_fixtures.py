"""A local DC for integration tests: its own addresses, ports and state, so a DC an operator
runs on the same machine is left alone. Stopped and purged at the end, even on failure."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import yaml

from pdn.dc import DCSettings
from pdn.dc.lifecycle import LocalDC
from pdn.dc.settings import Ports
from pdn.inventory import LOCAL_SITE, Site, load_site

TEST_PORTS = Ports(
    etcd_client=22379,
    etcd_peer=22380,
    etcd_metrics=22381,
    apiserver=26443,
    controller_manager=20257,
    scheduler=20259,
    kwok=20247,
    s3=28333,
    s3_https=28334,
    s3_grpc=28335,
    storage_master=28336,
    storage_master_grpc=28337,
    storage_volume=28338,
    storage_volume_grpc=28339,
    storage_filer=28340,
    storage_filer_grpc=28341,
    postgresql=25432,
    mariadb=23306,
    dns=25353,
    sso=28443,
    sso_management=28444,
    tte=28480,
    gis=28490,
    gis_backend=28491,
    capi_webhook=29443,
    capi_health=29453,
    capi_diagnostics=29463,
    workload_planes=32000,
    capd_debug=29000,
    capd_clusters=29001,
)


def isolated_settings(site: Site, state_root: Path, slot: int = 0) -> DCSettings:
    """Settings for test DC number `slot` (distinct interface, address and ports per slot)."""
    offset = 100 * slot
    ports = Ports(**{k: v + offset for k, v in vars(TEST_PORTS).items()})
    return DCSettings(
        site_code=site.code,
        interface=f"pdn-it{slot}",
        advertise_address=ipaddress.IPv4Address(f"198.19.{254 - slot}.1"),
        host_network=ipaddress.IPv4Network(f"198.18.{210 + slot}.0/24"),
        ports=ports,
        state_root=state_root,
    )


def running_dc(state_root: Path) -> Iterator[LocalDC]:
    site = load_site(LOCAL_SITE)
    dc = LocalDC(site, isolated_settings(site, state_root))
    try:
        dc.up(progress=lambda _: None)
        yield dc
    finally:
        dc.down(purge=True, progress=lambda _: None)


def site_without_clusters(directory: Path) -> Path:
    """The local DC's own cluster as an inventory without clusters (its servers alone): for
    tests of other parts of the platform program on that cluster, which then need not wait
    for Cluster API to make machines."""
    site = yaml.safe_load(LOCAL_SITE.read_text())
    own = {s.name for _, s in load_site(LOCAL_SITE).cluster_view().servers()}
    site.pop("clusters", None)
    for hall in site["halls"]:
        for rack in hall["racks"]:
            rack["servers"] = [s for s in rack["servers"] if s["name"] in own]
        hall["racks"] = [rack for rack in hall["racks"] if rack["servers"]]
    path = directory / "local-without-clusters.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path
