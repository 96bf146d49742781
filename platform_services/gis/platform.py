"""The DC's GIS platform as Pulumi code: `pdn:gis:GisPlatform` (platform stack) makes the PostGIS
database on the site's PostgreSQL and its national reference layer, through a dynamic provider
(`pdn-gis:ReferenceLayer`: no PostgreSQL provider builds from the registries here).

Create and update make the database, PostGIS and the layer as `pdn.gis.reference` says (the
layer reloaded only for another version of the region list, or rows changed by hand); read
reports what the server holds as a `drift` list, so a dropped table or a write grant given by
hand shows in `pulumi preview --refresh`. Delete keeps the database: it holds the agencies'
layers.
"""

from __future__ import annotations

from collections.abc import Mapping
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

from pdn import regions
from pdn.dataservices.sql import Server
from pdn.gis import reference

TYPE = "pdn:gis:GisPlatform"
KEYS = ("server", "admin_user", "admin_password")


def admin_of(props: Mapping[str, Any]) -> reference.GisAdmin:
    """The platform's admin on the server a GIS resource's inputs name."""
    return reference.GisAdmin(
        Server.of(props["server"]), str(props["admin_user"]), str(props["admin_password"])
    )


def _outputs(props: Mapping[str, Any], loaded: int) -> dict[str, Any]:
    want = reference.expected()
    return {
        **props,
        "database": reference.DATABASE,
        "source": want.source,
        "version": want.version,
        "rows": want.rows,
        "loaded": loaded,
        "drift": [],
    }


class ReferenceLayerProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in KEYS if olds.get(k) != news.get(k)]
        if olds.get("drift"):
            changed.append("drift")
        if olds.get("version") != regions.list_digest():  # another region list
            changed.append("version")
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(reference.DATABASE, _outputs(props, reference.ensure(admin_of(props))))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_outputs(news, reference.ensure(admin_of(news))))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        seen = reference.observe(admin_of(props))
        return ReadResult(id_, {**props, "drift": reference.differences(seen)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """The database stays: it holds the agencies' layers (dropping it is an operator's
        act, after their owners agreed)."""


class ReferenceLayer(Resource, module="pdn-gis", name="ReferenceLayer"):
    rows: pulumi.Output[int]
    version: pulumi.Output[str]
    drift: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        props: Mapping[str, pulumi.Input[Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            ReferenceLayerProvider(),
            resource_name,
            {**props, "rows": None, "version": None, "drift": None},
            opts,
        )


@dataclass(frozen=True)
class GisPlatformArgs:
    # The site's PostgreSQL (engine, host, port, ca_pem) and its admin (password: secret).
    server: Mapping[str, pulumi.Input[Any]]
    admin_user: pulumi.Input[str]
    admin_password: pulumi.Input[str]


class GisPlatform(pulumi.ComponentResource):
    database: str
    reference_rows: pulumi.Output[int]
    reference_version: pulumi.Output[str]

    def __init__(
        self, name: str, args: GisPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        layer = ReferenceLayer(
            f"{name}-reference",
            {
                "server": dict(args.server),
                "admin_user": args.admin_user,
                "admin_password": pulumi.Output.secret(args.admin_password),
            },
            pulumi.ResourceOptions(parent=self),
        )
        self.database = reference.DATABASE
        self.reference_rows = layer.rows
        self.reference_version = layer.version
        self.register_outputs(
            {
                "database": self.database,
                "reference_rows": self.reference_rows,
                "reference_version": self.reference_version,
            }
        )
