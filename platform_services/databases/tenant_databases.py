"""`pdn:dataservices:TenantDatabases`: a tenant's databases on a site's database servers, one
per engine its file lists (`databases: [postgresql, mariadb]`), each with its own login."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from pdn.dataservices.databases import database_name
from platform_services.databases.providers import Database

TYPE = "pdn:dataservices:TenantDatabases"


@dataclass(frozen=True)
class TenantDatabasesArgs:
    tenant: str  # its slug
    # engine -> the server (engine, host, port, ca_pem) and the platform's admin on it
    # (admin_user, admin_password: a secret input).
    connections: Mapping[str, Mapping[str, pulumi.Input[Any]]]


class TenantDatabases(pulumi.ComponentResource):
    database: str
    owners: dict[str, pulumi.Output[str]]
    passwords: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: TenantDatabasesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.database = database_name(args.tenant)
        made = {
            engine: Database(
                f"{name}-{engine}", connection, self.database, pulumi.ResourceOptions(parent=self)
            )
            for engine, connection in sorted(args.connections.items())
        }
        self.owners = {engine: db.owner for engine, db in made.items()}
        self.passwords = {engine: pulumi.Output.secret(db.password) for engine, db in made.items()}
        self.register_outputs(
            {"database": self.database, "owners": self.owners, "passwords": self.passwords}
        )
