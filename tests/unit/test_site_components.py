"""The site -> rack -> server pool graph, under Pulumi mocks."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest

from infra.site import Site, SiteArgs, capacity_by_role
from pdn.inventory import LOCAL_SITE, load_site
from tests.unit.conftest import RecordingMocks

LOCAL = load_site(LOCAL_SITE)


@pulumi.runtime.test
def test_site_outputs_capacity_per_role(pulumi_mocks: RecordingMocks) -> Any:
    site = Site("pdn-local", SiteArgs(site=LOCAL))

    def check(values: list[Any]) -> None:
        code, region, zones, count, capacity = values
        assert (code, region, zones, count) == ("pdn-local", "32.16", ["zone-a", "zone-b"], 8)
        assert capacity["compute"] == {
            "servers": 4,
            "cpu_cores": 256,
            "memory_gib": 2048,
            "disk_gib": 7680,
        }
        assert capacity["storage"]["disk_gib"] == 122880
        assert capacity["control-plane"]["servers"] == 2

    return pulumi.Output.all(
        site.code, site.region_code, site.zones, site.server_count, site.capacity
    ).apply(check)


@pulumi.runtime.test
def test_graph_is_site_then_racks_then_pools(pulumi_mocks: RecordingMocks) -> Any:
    site = Site("pdn-local", SiteArgs(site=LOCAL))
    racks = list(site.racks.values())
    pools = [pool for rack in racks for pool in rack.pools.values()]

    def check(urns: list[str]) -> None:
        rack_urns, pool_urns = urns[: len(racks)], urns[len(racks) :]
        # A child's URN type is its parent's type, '$', its own type.
        assert [u.split("::")[-1] for u in rack_urns] == [
            "pdn-local-a01",
            "pdn-local-a02",
            "pdn-local-b01",
        ]
        assert all("::pdn:infra:Site$pdn:infra:Rack::" in u for u in rack_urns)
        assert sorted(u.split("::")[-1] for u in pool_urns) == [
            "pdn-local-a01-compute",
            "pdn-local-a01-control-plane",
            "pdn-local-a02-compute",
            "pdn-local-a02-storage",
            "pdn-local-b01-compute",
            "pdn-local-b01-control-plane",
            "pdn-local-b01-storage",
        ]
        assert all("::pdn:infra:Rack$pdn:infra:ServerPool::" in u for u in pool_urns)

    return pulumi.Output.all(*[r.urn for r in racks], *[p.urn for p in pools]).apply(check)


@pulumi.runtime.test
def test_pool_outputs_sum_its_servers(pulumi_mocks: RecordingMocks) -> Any:
    site = Site("pdn-local", SiteArgs(site=LOCAL))
    pool = site.racks["a01"].pools["compute"]

    def check(values: list[Any]) -> None:
        assert values == [["a01-c1", "a01-c2"], "compute", 128, 1024, 3840, "zone-b"]

    return pulumi.Output.all(
        pool.servers,
        pool.role,
        pool.cpu_cores,
        pool.memory_gib,
        pool.disk_gib,
        site.racks["b01"].zone,
    ).apply(check)


@pulumi.runtime.test
def test_bmc_password_is_a_secret_output(pulumi_mocks: RecordingMocks) -> Any:
    site = Site("pdn-local", SiteArgs(site=LOCAL, bmc_password="s3cret-bmc"))
    password = site.bmc_password
    assert password is not None

    async def check() -> None:
        assert await password.is_secret(), "the BMC password must be marked secret"
        assert await password.future() == "s3cret-bmc"

    return asyncio.ensure_future(check())


@pulumi.runtime.test
def test_no_bmc_password_no_output(pulumi_mocks: RecordingMocks) -> None:
    site = Site("pdn-local", SiteArgs(site=LOCAL))
    assert site.bmc_password is None


def test_capacity_counts_every_server_once() -> None:
    totals = capacity_by_role(LOCAL)
    assert sum(row["servers"] for row in totals.values()) == 8
    assert sum(row["cpu_cores"] for row in totals.values()) == sum(
        s.cpu_cores for _, s in LOCAL.servers()
    )


@pytest.mark.parametrize(
    ("rack", "pools", "servers"),
    [
        # What the committed local inventory holds, written out: a pool per role present only.
        ("a01", {"control-plane": 1, "compute": 2}, 3),
        ("a02", {"storage": 1, "compute": 1}, 2),
        ("b01", {"control-plane": 1, "compute": 1, "storage": 1}, 3),
    ],
)
@pulumi.runtime.test
def test_every_rack_has_one_pool_per_role_present(
    pulumi_mocks: RecordingMocks, rack: str, pools: dict[str, int], servers: int
) -> Any:
    site = Site("pdn-local", SiteArgs(site=LOCAL))
    created = site.racks[rack].pools
    assert set(created) == set(pools)
    assert sum(pools.values()) == servers
    roles = list(created)

    def check(members: list[list[str]]) -> None:
        assert {role: len(m) for role, m in zip(roles, members, strict=True)} == pools

    return pulumi.Output.all(*[created[r].servers for r in roles]).apply(check)
