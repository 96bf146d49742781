"""A PDN host of the local DC as a Pulumi resource: a dynamic provider over the local host pool
(pdn.iaas.local), with the whole lifecycle: create, read (a host deleted or changed behind
Pulumi's back shows in `pulumi preview --refresh`), update (a new size), delete."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from pdn.iaas.local import LocalHostPool, PdnHost
from pdn.iaas.model import SIZES, HostSize

REPLACED_BY = (
    "tenant",
    "name",
    "image",
    "pool",
    "network",
)  # a new host; a size is changed in place


def _pool(props: dict[str, Any]) -> LocalHostPool:
    return LocalHostPool(Path(str(props["pool"])), ipaddress.IPv4Network(str(props["network"])))


def _outs(props: dict[str, Any], host: PdnHost) -> dict[str, Any]:
    resources = SIZES[host.size]
    return {
        **props,
        "size": host.size.value,
        "image": host.image,
        "address": host.address,
        "cpu_cores": resources.cpu_cores,
        "memory_gib": resources.memory_gib,
        "disk_gib": resources.disk_gib,
    }


class LocalHostProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        host = _pool(props).create(
            str(props["tenant"]), str(props["name"]), HostSize(props["size"]), str(props["image"])
        )
        return CreateResult(id_=f"{host.tenant}/{host.name}", outs=_outs(props, host))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        host = _pool(props).read(str(props["tenant"]), str(props["name"]))
        if host is None:  # gone behind Pulumi's back: the next `up` makes it again
            return ReadResult(id_="", outs={})
        return ReadResult(id_=id_, outs=_outs(props, host))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("size", *REPLACED_BY) if olds.get(k) != news.get(k)]
        return DiffResult(
            changes=bool(changed),
            replaces=[k for k in changed if k in REPLACED_BY],
            delete_before_replace=True,
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        host = _pool(news).resize(
            str(news["tenant"]), str(news["name"]), HostSize(news["size"]), str(news["image"])
        )
        return UpdateResult(outs=_outs(news, host))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        _pool(props).delete(str(props["tenant"]), str(props["name"]))


class LocalHost(Resource):
    address: pulumi.Output[str]
    size: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        tenant: str,
        name: str,
        size: HostSize,
        image: str,
        pool: str,
        network: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            LocalHostProvider(),
            resource_name,
            {
                "tenant": tenant,
                "name": name,
                "size": size.value,
                "image": image,
                "pool": pool,
                "network": network,
                "address": None,
                "cpu_cores": None,
                "memory_gib": None,
                "disk_gib": None,
            },
            opts,
        )
