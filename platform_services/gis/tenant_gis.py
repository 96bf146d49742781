"""`pdn:gis:TenantGis` (on a tenant's shard stack): the tenant's schema, roles and published
layers in the DC's GIS database, from its file's `gis_layers`, through a dynamic provider
(`pdn-gis:TenantLayers`; no PostgreSQL provider builds from the registries here).

Create generates the tenant's GIS login password (a secret output, never elsewhere); read
reports what differs on the server (a login taken away, PUBLIC given the schema, the reader
role granted to another tenant, a layer's entry changed by hand) as `drift`, shown by
`pulumi preview --refresh` and put right by the next update; delete takes the login and the
catalogue entries, and keeps the schema and its data.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

from pdn.gis import tenants
from platform_services.gis.platform import admin_of

TYPE = "pdn:gis:TenantGis"
KEYS = ("server", "admin_user", "admin_password", "tenant", "layers", "ancestors")


def _spec(props: Mapping[str, Any]) -> tenants.TenantGisSpec:
    return tenants.TenantGisSpec(
        str(props["tenant"]),
        tuple(
            tenants.Layer(str(x["name"]), str(x["title"]), bool(x["public"]))
            for x in props.get("layers") or []
        ),
        tuple(str(a) for a in props.get("ancestors") or []),
    )


def _outputs(props: Mapping[str, Any], password: str) -> dict[str, Any]:
    spec = _spec(props)
    return {
        **props,
        "schema": spec.schema,
        "owner": spec.owner,
        "password": password,
        "collections": [tenants.collection_id(spec.tenant, x.name) for x in spec.layers],
        "drift": [],
    }


class TenantLayersProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in KEYS if olds.get(k) != news.get(k)]
        if olds.get("drift"):
            changed.append("drift")
        return DiffResult(
            changes=bool(changed),
            replaces=["tenant"] if olds.get("tenant") != news.get("tenant") else [],
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        password = secrets.token_urlsafe(24)
        tenants.ensure(admin_of(props), _spec(props), password)
        return CreateResult(_spec(props).schema, _outputs(props, password))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        password = str(olds.get("password") or secrets.token_urlsafe(24))
        before, after = _spec(olds), _spec(news)
        tenants.ensure(admin_of(news), after, password)
        if before.tenant != after.tenant:
            tenants.retire(admin_of(olds), before)
        return UpdateResult(_outputs(news, password))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        spec = _spec(props)
        drift = tenants.differences(tenants.observe(admin_of(props), spec), spec)
        return ReadResult(id_, {**props, "drift": drift})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        tenants.retire(admin_of(props), _spec(props))


class TenantLayers(Resource, module="pdn-gis", name="TenantLayers"):
    schema: pulumi.Output[str]
    owner: pulumi.Output[str]
    password: pulumi.Output[str]
    collections: pulumi.Output[list[str]]
    drift: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        props: Mapping[str, pulumi.Input[Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            TenantLayersProvider(),
            resource_name,
            {
                **props,
                "schema": None,
                "owner": None,
                "password": None,
                "collections": None,
                "drift": None,
            },
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["password"])
            ),
        )


@dataclass(frozen=True)
class LayerArgs:
    name: str
    title: str
    public: bool = False


@dataclass(frozen=True)
class TenantGisArgs:
    tenant: str  # its slug
    layers: Sequence[LayerArgs]
    ancestors: Sequence[str]  # parent first: their logins read this tenant's layers
    # The site's PostgreSQL (engine, host, port, ca_pem) and its admin (password: secret).
    server: pulumi.Input[Mapping[str, Any]]
    admin_user: pulumi.Input[str]
    admin_password: pulumi.Input[str]


class TenantGis(pulumi.ComponentResource):
    schema: pulumi.Output[str]
    owner: pulumi.Output[str]
    password: pulumi.Output[str]
    collections: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: TenantGisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        layers = TenantLayers(
            f"{name}-layers",
            {
                "server": args.server,
                "admin_user": args.admin_user,
                "admin_password": pulumi.Output.secret(args.admin_password),
                "tenant": args.tenant,
                "layers": [
                    {"name": x.name, "title": x.title, "public": x.public} for x in args.layers
                ],
                "ancestors": list(args.ancestors),
            },
            pulumi.ResourceOptions(parent=self),
        )
        self.schema = layers.schema
        self.owner = layers.owner
        self.password = pulumi.Output.secret(layers.password)
        self.collections = layers.collections
        self.register_outputs(
            {
                "schema": self.schema,
                "owner": self.owner,
                "password": self.password,
                "collections": self.collections,
            }
        )
