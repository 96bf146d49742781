"""A tenant's data class picks its cluster; a cluster with tenants cannot be deleted."""

from __future__ import annotations

import dataclasses

import pytest

from pdn.clusters import ClusterError
from pdn.clusters.placement import placements
from pdn.inventory import LOCAL_SITE, ClusterClass, all_sites, load_site
from pdn.tenants.fleet import load_fleet, tenant_files

SITE = load_site(LOCAL_SITE)
TENANTS = list(load_fleet(tenant_files(), all_sites()).tenants.values())


def test_each_example_tenant_lives_on_the_cluster_of_its_data_class() -> None:
    placed = placements(SITE, TENANTS)
    assert placed == {
        "kab-bekasi": "general",  # internal
        "prov-jawa-barat": "general",  # internal
        "kab-bekasi-disdukcapil": "restricted",  # confidential: NIK
        "kab-bekasi-rsud": "restricted",
        "kemendagri": "restricted",
    }


def test_a_site_without_clusters_keeps_every_tenant_on_its_one_cluster() -> None:
    assert placements(dataclasses.replace(SITE, clusters=()), TENANTS) == {}


def test_removing_a_cluster_that_tenants_live_on_is_refused_with_their_names() -> None:
    without_restricted = dataclasses.replace(
        SITE,
        clusters=tuple(c for c in SITE.clusters if c.classification is not ClusterClass.RESTRICTED),
    )
    with pytest.raises(ClusterError) as refused:
        placements(without_restricted, TENANTS)
    message = str(refused.value)
    assert message.startswith("site pdn-local has no restricted workload cluster")
    for slug in ("kab-bekasi-disdukcapil", "kab-bekasi-rsud", "kemendagri"):
        assert f"{slug} (confidential)" in message
    assert "kab-bekasi (internal)" not in message
    assert "A cluster with tenants cannot be deleted" in message


def test_tenants_of_other_sites_do_not_hold_a_cluster() -> None:
    elsewhere = [t.model_copy(update={"sites": ["pdn-cikarang"]}) for t in TENANTS]
    bare = dataclasses.replace(SITE, clusters=SITE.clusters[:1])  # the management one only
    assert placements(bare, elsewhere) == {}
