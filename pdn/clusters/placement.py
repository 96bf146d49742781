"""Which cluster of a site a tenant lives on: the workload cluster of its data's class.

Public and internal data go to the general cluster; confidential and secret data to the
restricted one, which is kept apart (its own control plane, nodes and network). A cluster that
tenants live on cannot leave the inventory: they would have nowhere to run.
"""

from __future__ import annotations

from collections.abc import Iterable

from pdn import inventory
from pdn.clusters.errors import ClusterError
from pdn.tenants.model import Classification, Tenant

CLUSTER_CLASS = {
    Classification.PUBLIC: inventory.ClusterClass.GENERAL,
    Classification.INTERNAL: inventory.ClusterClass.GENERAL,
    Classification.CONFIDENTIAL: inventory.ClusterClass.RESTRICTED,
    Classification.SECRET: inventory.ClusterClass.RESTRICTED,
}


def cluster_class(classification: Classification) -> inventory.ClusterClass:
    return CLUSTER_CLASS[classification]


def workload_cluster(site: inventory.Site, wanted: inventory.ClusterClass) -> str | None:
    """The site's workload cluster of that class (the first, if several), or None."""
    for cluster in site.clusters:
        if (
            cluster.purpose is inventory.ClusterPurpose.WORKLOAD
            and cluster.classification is wanted
        ):
            return cluster.name
    return None


def placements(site: inventory.Site, tenants: Iterable[Tenant]) -> dict[str, str]:
    """Tenant slug -> the cluster it lives on, for the tenants of this site. A site that
    declares no clusters has one, the DC's own: every tenant is there (empty result).
    Raises ClusterError naming every tenant left without a cluster of its class."""
    if not site.clusters:
        return {}
    placed: dict[str, str] = {}
    homeless: dict[inventory.ClusterClass, list[str]] = {}
    for tenant in tenants:
        if site.code not in tenant.sites:
            continue
        wanted = cluster_class(tenant.classification)
        name = workload_cluster(site, wanted)
        if name is None:
            homeless.setdefault(wanted, []).append(f"{tenant.slug} ({tenant.classification.value})")
        else:
            placed[tenant.slug] = name
    if homeless:
        lines = [
            f"site {site.code} has no {wanted.value} workload cluster, and tenants live on it: "
            f"{', '.join(slugs)}. A cluster with tenants cannot be deleted: keep it in the "
            f"inventory, or move those tenants to another site first"
            for wanted, slugs in sorted(homeless.items())
        ]
        raise ClusterError("\n".join(lines))
    return placed
