"""A site's clusters in its inventory: pools drawn from its servers by role and count or by
name, and each mistake one located error."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from pdn.inventory import (
    LOCAL_SITE,
    ClusterClass,
    ClusterPurpose,
    InventoryError,
    parse_site,
)


def _doc(clusters: list[dict[str, Any]]) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(LOCAL_SITE.read_text())
    loaded["clusters"] = clusters
    return loaded


MANAGEMENT = {
    "name": "mgmt",
    "purpose": "management",
    "kubernetes": "v1.34.4",
    "control_plane": {"servers": ["a01-cp1"]},
}
GENERAL = {
    "name": "general",
    "purpose": "workload",
    "classification": "general",
    "kubernetes": "v1.34.4",
    "control_plane": {"servers": ["b01-cp1"]},
    "workers": [{"name": "workers", "role": "compute", "count": 2}],
}


def test_pools_are_drawn_by_name_then_by_role_in_inventory_order() -> None:
    restricted = {
        **GENERAL,
        "name": "restricted",
        "classification": "restricted",
        "control_plane": {"servers": ["a02-c1"]},  # a compute server, named
        "workers": [{"name": "workers", "role": "compute", "count": 1}],
    }
    site = parse_site(_doc([MANAGEMENT, GENERAL, restricted]), "x.yaml")
    mgmt, general, strict = site.clusters
    assert mgmt.purpose is ClusterPurpose.MANAGEMENT
    assert mgmt.classification is None
    assert mgmt.workers == ()
    assert [s.name for s in general.workers[0].servers] == ["a01-c1", "a01-c2"]
    # a02-c1 is named by the later cluster: not drawn by count before it.
    assert [s.name for s in strict.workers[0].servers] == ["b01-c1"]
    assert strict.classification is ClusterClass.RESTRICTED


@pytest.mark.parametrize(
    ("clusters", "field", "says"),
    [
        (
            [MANAGEMENT, {**GENERAL, "control_plane": {"servers": ["a01-cp1"]}}],
            "clusters[1].control_plane.servers[0]",
            "server 'a01-cp1' is already in clusters[0].control_plane",
        ),
        (
            [MANAGEMENT, {**GENERAL, "workers": [{"name": "w", "role": "compute", "count": 9}]}],
            "clusters[1].workers[0].count",
            "9 compute servers asked for; the site has 4 of that role not in another pool",
        ),
        (
            [MANAGEMENT, {**GENERAL, "kubernetes": "v1.29.0"}],
            "clusters[1].kubernetes",
            "v1.29.0 is not supported: pdn runs Kubernetes 1.33, 1.34",
        ),
        (
            [MANAGEMENT, {**GENERAL, "kubernetes": "1.34"}],
            "clusters[1].kubernetes",
            "'1.34' is not a version like v1.34.4",
        ),
        (
            [MANAGEMENT, {**GENERAL, "control_plane": {"servers": ["b01-cp2"]}}],
            "clusters[1].control_plane.servers[0]",
            "no server 'b01-cp2' in this site; did you mean b01-cp1",
        ),
        (
            [MANAGEMENT, {**GENERAL, "classification": "secret"}],
            "clusters[1].classification",
            "'secret' is not one of ['general', 'restricted']",
        ),
        (
            [{**MANAGEMENT, "classification": "general"}],
            "clusters[0].classification",
            "only workload clusters hold tenants' data",
        ),
        (
            [GENERAL],
            "clusters",
            "a site has one management cluster; found none",
        ),
        (
            [MANAGEMENT, {**GENERAL, "name": "mgmt"}],
            "clusters[1].name",
            "cluster 'mgmt' is listed twice",
        ),
        (
            [
                MANAGEMENT,
                {**GENERAL, "control_plane": {"role": "compute", "count": 2}, "workers": []},
            ],
            "clusters[1].control_plane",
            "2 control-plane machines: etcd needs an odd number",
        ),
        (
            [
                MANAGEMENT,
                {
                    **GENERAL,
                    "workers": [
                        {"name": "w", "role": "compute", "count": 1, "servers": ["a01-c1"]}
                    ],
                },
            ],
            "clusters[1].workers[0]",
            "give either servers: [names] or role: and count:, not both",
        ),
    ],
)
def test_each_mistake_is_one_located_error(
    clusters: list[dict[str, Any]], field: str, says: str
) -> None:
    with pytest.raises(InventoryError) as err:
        parse_site(_doc(clusters), "sites/x.yaml")
    assert str(err.value).startswith(f"sites/x.yaml: {field}: ")
    assert says in str(err.value)


def test_a_site_without_clusters_has_none() -> None:
    loaded: dict[str, Any] = yaml.safe_load(LOCAL_SITE.read_text())
    del loaded["clusters"]
    assert parse_site(loaded, "x.yaml").clusters == ()
