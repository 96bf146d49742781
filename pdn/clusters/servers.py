"""Which inventory server each of a pool's machines stands on, and retiring one.

Cluster API's machines have no identity of their own: a pool is a count. The inventory names
servers, so pdn binds each machine to a server of its pool (the label `pdn.go.id/server`).
Retiring a server is then exact: its machine is marked with Cluster API's delete-machine
annotation before the pool shrinks, so the MachineSet (or kubeadm control plane) drains and
deletes that machine and no other; where the pool keeps its size (a spare put in its place),
the marked machine is deleted and Cluster API makes its replacement, which the binder gives
the spare.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s

from pdn.clusters.errors import ClusterError
from pdn.clusters.names import (
    CLUSTER_NAME_LABEL,
    CONTROL_PLANE_LABEL,
    DELETE_MACHINE_ANNOTATION,
    NAMESPACE,
    POOL_LABEL,
    SERVER_LABEL,
)

CONTROL_PLANE_POOL = "control-plane"
GROUP, VERSION = "cluster.x-k8s.io", "v1beta2"
METAL3_HOST_ANNOTATION = "metal3.io/BareMetalHost"  # CAPM3's: namespace/host


@dataclass(frozen=True)
class PoolRef:
    cluster: str
    pool: str  # "control-plane" or a worker pool's name

    @property
    def selector(self) -> str:
        own = (
            CONTROL_PLANE_LABEL
            if self.pool == CONTROL_PLANE_POOL
            else f"{POOL_LABEL}={self.pool},!{CONTROL_PLANE_LABEL}"
        )
        return f"{CLUSTER_NAME_LABEL}={self.cluster},{own}"

    def __str__(self) -> str:
        return f"cluster {self.cluster}, pool {self.pool}"


def retirement_problem(pool: PoolRef, old: Sequence[str], new: Sequence[str]) -> str | None:
    """None when the servers can go from `old` to `new` in one `pulumi up`, else what to do."""
    retired = [s for s in old if s not in new]
    if pool.pool == CONTROL_PLANE_POOL and retired and len(old) == 1:
        return (
            f"{pool}: retiring {retired[0]} would stop the cluster's only control-plane "
            f"machine (and its etcd): give the control plane three servers first, run "
            f"`pulumi up`, then take {retired[0]} out"
        )
    return None


def _machines(api: k8s.ApiClient, pool: PoolRef) -> list[dict[str, Any]]:
    try:
        listed = k8s.CustomObjectsApi(api).list_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, "machines", label_selector=pool.selector
        )
    except k8s.ApiException as err:
        raise ClusterError(
            f"{pool}: the management cluster refused to list its machines: HTTP {err.status} "
            f"{err.reason}"
        ) from err
    return sorted(
        listed["items"],
        key=lambda m: (m["metadata"]["creationTimestamp"], m["metadata"]["name"]),
    )


def _alive(machines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in machines if "deletionTimestamp" not in m["metadata"]]


def _server(machine: dict[str, Any]) -> str | None:
    return (machine["metadata"].get("labels") or {}).get(SERVER_LABEL)


def _patch(api: k8s.ApiClient, name: str, metadata: dict[str, Any]) -> None:
    try:
        k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
            GROUP, VERSION, NAMESPACE, "machines", name, {"metadata": metadata}
        )
    except k8s.ApiException as err:
        if err.status != 404:  # gone meanwhile: nothing left to mark
            raise ClusterError(f"machine {name}: HTTP {err.status} {err.reason}") from err


def retire(
    api: k8s.ApiClient, pool: PoolRef, retired: Sequence[str], *, replace: bool
) -> list[str]:
    """Mark the machines of the retired servers for deletion (the pool then shrinks by them);
    with `replace` (the pool keeps its size) delete them too, so Cluster API replaces each.
    Returns the machines marked."""
    marked = []
    for machine in _alive(_machines(api, pool)):
        if _server(machine) not in retired:
            continue
        name = machine["metadata"]["name"]
        _patch(api, name, {"annotations": {DELETE_MACHINE_ANNOTATION: "retired"}})
        marked.append(name)
        if replace:
            try:
                k8s.CustomObjectsApi(api).delete_namespaced_custom_object(
                    GROUP, VERSION, NAMESPACE, "machines", name
                )
            except k8s.ApiException as err:
                if err.status != 404:
                    raise ClusterError(
                        f"{pool}: cannot delete machine {name} of a retired server: HTTP "
                        f"{err.status} {err.reason}"
                    ) from err
    return marked


def _available(machine: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Available" and c["status"] == "True"
        for c in machine.get("status", {}).get("conditions") or []
    )


def settle(
    api: k8s.ApiClient,
    pool: PoolRef,
    count: int,
    version: str,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """Wait until the pool has exactly `count` machines, none being deleted, each available at
    `version`: a replaced machine is not caught by the pool object's own wait (its size did not
    change). Returns them, oldest first."""
    deadline = clock() + timeout
    while True:
        machines = _machines(api, pool)
        alive = _alive(machines)
        ready = [m for m in alive if _available(m) and m["spec"].get("version") == version]
        if len(machines) == len(alive) == len(ready) == count:
            return alive
        if clock() > deadline:
            raise ClusterError(
                f"{pool}: after {timeout:.0f} s, {len(ready)} of {count} machines are available "
                f"at {version} and {len(machines) - len(alive)} still being deleted: see "
                "`pdn clusters status`"
            )
        time.sleep(1)


def await_available(
    api: k8s.ApiClient,
    cluster: str,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Wait until the Cluster reports Available. Its controller sums up the control plane, the
    workers and its own probe of the workload API server a little after the machines settle,
    and `pulumi up` is done only when the cluster is usable as a whole."""
    deadline = clock() + timeout
    while True:
        try:
            obj = k8s.CustomObjectsApi(api).get_namespaced_custom_object(
                GROUP, VERSION, NAMESPACE, "clusters", cluster
            )
        except k8s.ApiException as err:
            raise ClusterError(f"cluster {cluster}: HTTP {err.status} {err.reason}") from err
        condition = next(
            (c for c in obj.get("status", {}).get("conditions") or [] if c["type"] == "Available"),
            None,
        )
        if condition is not None and condition["status"] == "True":
            return
        if clock() > deadline:
            why = " ".join(str((condition or {}).get("message") or "no condition yet").split())
            raise ClusterError(
                f"cluster {cluster}: after {timeout:.0f} s it is still not Available ({why[:300]}):"
                " see `pdn clusters status`"
            )
        time.sleep(1)


def metal3_host(api: k8s.ApiClient, machine: dict[str, Any]) -> str | None:
    """On bare metal the server is a fact, not a choice: the BareMetalHost (named after its
    server) that CAPM3 gave the machine's Metal3Machine. None elsewhere, or not yet given."""
    ref = machine["spec"].get("infrastructureRef") or {}
    if ref.get("kind") != "Metal3Machine":
        return None
    try:
        metal3_machine = k8s.CustomObjectsApi(api).get_namespaced_custom_object(
            "infrastructure.cluster.x-k8s.io", "v1beta1", NAMESPACE, "metal3machines", ref["name"]
        )
    except k8s.ApiException as err:
        if err.status == 404:
            return None
        raise ClusterError(f"metal3machine {ref['name']}: HTTP {err.status} {err.reason}") from err
    host = (metal3_machine["metadata"].get("annotations") or {}).get(METAL3_HOST_ANNOTATION)
    return host.rpartition("/")[2] if host else None


def bind(
    api: k8s.ApiClient, pool: PoolRef, servers: Sequence[str], machines: list[dict[str, Any]]
) -> dict[str, str]:
    """Give each machine a server of the pool: the host Metal3 gave it; otherwise the server it
    has (while still in the pool), and new machines the free servers in inventory order.
    Returns server -> machine."""
    if len(machines) > len(servers):
        raise ClusterError(
            f"{pool}: {len(machines)} machines for {len(servers)} servers; wait for Cluster API "
            "to finish scaling, then run `pulumi up` again"
        )
    bound: dict[str, str] = {}
    unbound = []
    for machine in machines:
        server = metal3_host(api, machine) or _server(machine)
        if server is not None and server != _server(machine):
            _patch(api, machine["metadata"]["name"], {"labels": {SERVER_LABEL: server}})
        if server is not None and server in servers and server not in bound:
            bound[server] = machine["metadata"]["name"]
        else:
            unbound.append(machine)
    free = iter(s for s in servers if s not in bound)
    for machine, server in zip(unbound, free, strict=False):
        name = machine["metadata"]["name"]
        _patch(api, name, {"labels": {SERVER_LABEL: server}})
        bound[server] = name
    return {s: bound[s] for s in servers if s in bound}
