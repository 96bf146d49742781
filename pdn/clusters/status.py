"""Each cluster of a site's inventory beside what Cluster API reports for it: the version the
inventory asks for and the versions its machines run, each pool's machines, and why a cluster
is not available when it is not."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s
from urllib3.exceptions import HTTPError

from pdn import inventory
from pdn.clusters.errors import ClusterError
from pdn.clusters.names import CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, NAMESPACE, POOL_LABEL

CONTROL_PLANE = "control-plane"


@dataclass(frozen=True)
class PoolStatus:
    name: str
    wanted: int  # servers the inventory gives the pool
    machines: int = 0  # Cluster API's machines, not being deleted
    available: int = 0
    versions: dict[str, int] = field(default_factory=dict)  # version -> machines


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    purpose: str  # "-" for a cluster Cluster API has and the inventory does not
    classification: str
    version: str  # what the inventory asks for ("-" when not in it)
    available: str  # the Cluster's Available condition: True, False, Unknown, or "absent"
    phase: str
    pools: tuple[PoolStatus, ...]
    problem: str | None = None  # the first condition that is not as it should be

    @property
    def settled(self) -> bool:
        """Available, and every pool at its size and version."""
        return self.available == "True" and all(
            p.machines == p.available == p.wanted and p.versions == {self.version: p.wanted}
            for p in self.pools
        )


def _conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj.get("status", {}).get("conditions") or [])


def _problem(obj: dict[str, Any]) -> str | None:
    for condition in _conditions(obj):
        if condition["type"] == "Available" and condition["status"] != "True":
            message = " ".join(str(condition.get("message") or condition["reason"]).split())
            return message[:200]
    return None


def _pool(name: str, wanted: int, machines: list[dict[str, Any]]) -> PoolStatus:
    alive = [m for m in machines if "deletionTimestamp" not in m["metadata"]]
    versions: dict[str, int] = {}
    for machine in alive:
        version = str(machine["spec"].get("version"))
        versions[version] = versions.get(version, 0) + 1
    available = sum(
        1
        for m in alive
        for c in _conditions(m)
        if c["type"] == "Available" and c["status"] == "True"
    )
    return PoolStatus(name, wanted, len(alive), available, versions)


def _list(api: k8s.ApiClient, group: str, plural: str) -> list[dict[str, Any]]:
    listed = k8s.CustomObjectsApi(api).list_namespaced_custom_object(
        group, "v1beta2", NAMESPACE, plural
    )
    return list(listed["items"])


def read_status(api: k8s.ApiClient, site: inventory.Site) -> list[ClusterStatus]:
    """One row per cluster of the inventory (the management cluster is the one asked) and per
    cluster Cluster API still has that the inventory no longer lists (one being deleted)."""
    try:
        clusters = {c["metadata"]["name"]: c for c in _list(api, "cluster.x-k8s.io", "clusters")}
        machines = _list(api, "cluster.x-k8s.io", "machines")
    except k8s.ApiException as err:
        if err.status == 404:  # no Cluster API (no CRDs) on this cluster
            raise ClusterError(
                f"{api.configuration.host} runs no Cluster API: is it the site's management "
                "cluster? (the local DC's runs it from `pdn dc up`)"
            ) from err
        said = json.loads(err.body or "{}").get("message", err.reason)
        raise ClusterError(f"the management cluster refused: HTTP {err.status} {said}") from err
    except (HTTPError, OSError) as err:
        raise ClusterError(
            f"cannot reach the management cluster at {api.configuration.host} ({err}): is the "
            "DC up (`pdn dc status`)?"
        ) from err
    by_pool: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for machine in machines:
        labels = machine["metadata"].get("labels") or {}
        pool = CONTROL_PLANE if CONTROL_PLANE_LABEL in labels else labels.get(POOL_LABEL, "?")
        by_pool.setdefault((labels.get(CLUSTER_NAME_LABEL, "?"), pool), []).append(machine)

    rows = []
    for cluster in site.clusters:
        if cluster.purpose is inventory.ClusterPurpose.MANAGEMENT:
            continue
        found = clusters.pop(cluster.name, None)
        pools = tuple(
            _pool(pool.name, len(pool.servers), by_pool.get((cluster.name, pool.name), []))
            for pool in (cluster.control_plane, *cluster.workers)
        )
        rows.append(
            ClusterStatus(
                name=cluster.name,
                purpose=cluster.purpose.value,
                classification=cluster.classification.value if cluster.classification else "-",
                version=cluster.kubernetes_version,
                available=_available(found),
                phase=str(found.get("status", {}).get("phase", "-")) if found else "-",
                pools=pools,
                problem=_problem(found) if found else "not made yet: run `pdn up`",
            )
        )
    for name, leftover in sorted(clusters.items()):
        pools = tuple(
            _pool(pool, 0, listed)
            for (owner, pool), listed in sorted(by_pool.items())
            if owner == name
        )
        deleting = "deletionTimestamp" in leftover["metadata"]
        rows.append(
            ClusterStatus(
                name=name,
                purpose="-",
                classification="-",
                version="-",
                available=_available(leftover),
                phase=str(leftover.get("status", {}).get("phase", "-")),
                pools=pools,
                problem="being deleted" if deleting else "not in the inventory",
            )
        )
    return rows


def _available(cluster: dict[str, Any] | None) -> str:
    if cluster is None:
        return "absent"
    for condition in _conditions(cluster):
        if condition["type"] == "Available":
            return str(condition["status"])
    return "Unknown"
