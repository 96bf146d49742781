"""The one rule of Kubernetes upgrades that Cluster API does not enforce in full: a cluster moves
up one minor version at a time and never back. (The kubeadm control plane's webhook refuses a
skipped minor, but lets a version go down, which kubeadm and etcd do not support.)

A dynamic provider, because the rule compares the version in the stack's state with the one the
inventory now asks for: its check sees both, so a bad step fails at preview, before any object
changes. It runs in Pulumi's python provider process and touches nothing outside the state.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)


def _parts(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.lstrip("v").split(".")
    return int(major), int(minor), int(patch)


def version_step_problem(cluster: str, old: str, new: str) -> str | None:
    """None when old -> new is a step Kubernetes supports, else what to do instead."""
    before, after = _parts(old), _parts(new)
    if after < before:
        return (
            f"cluster {cluster}: {old} -> {new} goes back; Kubernetes clusters cannot be "
            f"downgraded: keep {old} (or a newer version) in the inventory"
        )
    if after[:2] > (before[0], before[1] + 1):
        step = f"v{before[0]}.{before[1] + 1}"
        return (
            f"cluster {cluster}: {old} -> {new} skips a minor version; upgrade one minor at a "
            f"time: set {step}.x first, run `pulumi up`, then {new}"
        )
    return None


class VersionGateProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        old, new = olds.get("version"), str(news["version"])
        problem = version_step_problem(str(news["cluster"]), str(old), new) if old else None
        return CheckResult(news, [CheckFailure("version", problem)] if problem else [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("cluster", "version") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=["cluster"] * ("cluster" in changed))

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=str(props["cluster"]), outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


class VersionGate(Resource):
    """The Kubernetes version a cluster is at, as the stack last applied it."""

    version: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        cluster: str,
        version: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            VersionGateProvider(), resource_name, {"cluster": cluster, "version": version}, opts
        )
