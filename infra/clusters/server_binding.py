"""A pool's servers as Pulumi sees them: the retirement before the pool is resized, the binding
of machines to servers after it (see pdn.clusters.servers).

Dynamic providers, because both compare the servers in the stack's state with those the
inventory now lists: a retirement that would stop a cluster fails at preview. They reach the
management cluster with the program's kubeconfig, which is left out of their diffs (a new
credential is not a change of servers).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pulumi
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from pdn.clusters import servers as pool_servers


@contextmanager
def _api(kubeconfig: str) -> Iterator[k8s.ApiClient]:
    with k8s_config.new_client_from_config_dict(yaml.safe_load(kubeconfig)) as api:
        yield api


def _pool(props: dict[str, Any]) -> pool_servers.PoolRef:
    return pool_servers.PoolRef(str(props["cluster"]), str(props["pool"]))


def _diff(olds: dict[str, Any], news: dict[str, Any], keys: Sequence[str]) -> DiffResult:
    changed = [k for k in keys if olds.get(k) != news.get(k)]
    identity: list[str] = [k for k in ("cluster", "pool") if k in changed]
    return DiffResult(changes=bool(changed), replaces=identity, delete_before_replace=True)


class ServerRetirementProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        old = olds.get("servers")
        problem = (
            pool_servers.retirement_problem(_pool(news), list(old), list(news["servers"]))
            if old is not None and olds.get("cluster") == news["cluster"]
            else None
        )
        return CheckResult(news, [CheckFailure("servers", problem)] if problem else [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return _diff(olds, news, ("cluster", "pool", "servers"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['cluster']}/{props['pool']}", outs=props)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        old, new = list(olds["servers"]), list(news["servers"])
        retired = [s for s in old if s not in new]
        if retired:
            with _api(str(news["kubeconfig"])) as api:
                pool_servers.retire(api, _pool(news), retired, replace=len(new) >= len(old))
        return UpdateResult(outs=news)


class ServerBindingProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return _diff(olds, news, ("cluster", "pool", "servers", "version"))

    def _bind(self, props: dict[str, Any]) -> dict[str, Any]:
        pool, servers = _pool(props), list(props["servers"])
        with _api(str(props["kubeconfig"])) as api:
            machines = pool_servers.settle(
                api,
                pool,
                len(servers),
                str(props["version"]),
                timeout=float(props["timeout_seconds"]),
            )
            bound = pool_servers.bind(api, pool, servers, machines)
            pool_servers.await_available(api, pool.cluster, timeout=float(props["timeout_seconds"]))
            return {**props, "machines": bound}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['cluster']}/{props['pool']}", outs=self._bind(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._bind(news))


class ServerRetirement(Resource):
    """The servers a pool had when the stack last applied it; a server gone from the inventory
    has its machine marked (or replaced) before the pool is resized."""

    def __init__(
        self,
        resource_name: str,
        *,
        cluster: str,
        pool: str,
        servers: Sequence[str],
        kubeconfig: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"cluster": cluster, "pool": pool, "servers": list(servers)}
        super().__init__(
            ServerRetirementProvider(),
            resource_name,
            {**props, "kubeconfig": pulumi.Output.secret(kubeconfig)},
            opts,
        )


class ServerBinding(Resource):
    """Which machine stands on which server of a pool, once the pool has settled and the
    cluster is available."""

    machines: pulumi.Output[dict[str, str]]  # server -> machine

    def __init__(
        self,
        resource_name: str,
        *,
        cluster: str,
        pool: str,
        servers: Sequence[str],
        version: str,
        kubeconfig: pulumi.Input[str],
        timeout_seconds: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "cluster": cluster,
            "pool": pool,
            "servers": list(servers),
            "version": version,
            "timeout_seconds": timeout_seconds,
            "machines": None,
        }
        super().__init__(
            ServerBindingProvider(),
            resource_name,
            {**props, "kubeconfig": pulumi.Output.secret(kubeconfig)},
            opts,
        )
