"""A Pulumi dynamic provider for a tenant's database on a site's PostgreSQL or MariaDB (the
Pulumi PostgreSQL and MySQL providers do not build from the registries here): create, read (a
dropped database, a widened or removed login, a changed password, PUBLIC given CONNECT: each
shows in `pulumi preview --refresh`), update and delete (the login goes, the data stays).

The tenant's password is generated here, at create, and is a secret output; the platform
admin's password reaches the provider as a secret input.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
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

from pdn.dataservices import databases
from pdn.dataservices.sql import Server

KEYS = ("server", "admin_user", "admin_password", "database")


def _server(props: dict[str, Any]) -> Server:
    return Server.of(props["server"])


def _admin(props: dict[str, Any]) -> databases.Admin:
    return databases.Admin(_server(props), str(props["admin_user"]), str(props["admin_password"]))


def _outs(props: dict[str, Any], password: str, *, in_sync: bool = True) -> dict[str, Any]:
    engine = _server(props).engine
    return {
        **props,
        "owner": databases.owner_name(engine, str(props["database"])),
        "password": password,
        "in_sync": in_sync,
    }


class DatabaseProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in KEYS if olds.get(k) != news.get(k)]
        if olds.get("in_sync") is False:  # read found it changed behind Pulumi's back
            changed.append("in_sync")
        old_server, new_server = olds.get("server") or {}, news.get("server") or {}
        moved = old_server.get("engine") != new_server.get("engine") or olds.get(
            "database"
        ) != news.get("database")
        return DiffResult(
            changes=bool(changed),
            replaces=["database"] if moved else [],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        password = secrets.token_urlsafe(24)
        databases.ensure(_admin(props), str(props["database"]), password)
        return CreateResult(str(props["database"]), _outs(props, password))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        password = str(olds.get("password") or "") or secrets.token_urlsafe(24)
        databases.ensure(_admin(news), str(news["database"]), password)
        return UpdateResult(_outs(news, password))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        state = databases.read(_admin(props), id_)
        if not state.database_exists:
            return ReadResult("", {})
        password = str(props.get("password") or "")
        in_sync = (
            state.owner_exists
            and state.owned_by_owner
            and not state.public_can_connect
            and state.tls_required
            and databases.login_works(_server(props), id_, password)
        )
        return ReadResult(id_, _outs(props, password, in_sync=in_sync))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        databases.drop_access(_admin(props), id_)


class Database(Resource, module="pdn-databases", name="Database"):
    """A tenant's database and its own login on one server (engine in `server`)."""

    owner: pulumi.Output[str]
    password: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        connection: Mapping[str, pulumi.Input[Any]],
        database: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            DatabaseProvider(),
            resource_name,
            {**connection, "database": database, "owner": None, "password": None},
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["password"])
            ),
        )
