"""Pulumi dynamic providers for the DC's single sign-on (no Keycloak provider builds from the
registries here): a realm, and a tenant's access in one (roles, groups, clients).

Create and update make Keycloak what the inputs say (`pdn.sso`: idempotent); read reports what
Keycloak holds, so a change made by hand in the console (a setting, a removed group, MFA
switched off) shows in `pulumi preview --refresh` and the next `up` puts it back; delete
removes what pdn made for a tenant (a realm is kept: its users are data). The admin's password
is a secret input; client secrets are secret outputs.
"""

from __future__ import annotations

import hashlib
import json
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

from pdn.sso import realms, tenants
from pdn.sso.admin import Admin, AdminLogin, Server

CONNECTION_KEYS = ("server", "admin_user", "admin_password")


def admin_of(props: Mapping[str, Any]) -> Admin:
    """The admin session the connection props (server, admin_user, admin_password) open."""
    server = props["server"]
    return Admin(
        AdminLogin(
            Server(str(server["url"]), str(server["ca_pem"])),
            str(props["admin_user"]),
            str(props["admin_password"]),
        )
    )


def _drift(olds: Mapping[str, Any]) -> list[str]:
    return ["drift"] if olds.get("drift") else []


# A realm.
def _design(expected: Mapping[str, Any]) -> str:
    """A digest of what this pdn makes of a spec: a newer pdn that makes more of the same inputs
    (a client, a mapper) differs, so its first `up` updates what older versions made."""
    return hashlib.sha256(json.dumps(expected, sort_keys=True, default=str).encode()).hexdigest()


def realm_design(props: Mapping[str, Any]) -> str:
    return _design(realms.expected(_realm_spec(props)))


def access_design(props: Mapping[str, Any]) -> str:
    return _design(tenants.expected(_access_spec(props)))


def _realm_spec(props: Mapping[str, Any]) -> realms.RealmSpec:
    by_name = {spec.name: spec for spec in realms.REALMS}
    return by_name[str(props["realm"])]


class RealmProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("realm", *CONNECTION_KEYS) if olds.get(k) != news.get(k)]
        changed += _drift(olds)
        if olds.get("design") != realm_design(news):
            changed.append("design")
        # A realm is never replaced: its users would go with it.
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        realms.ensure(admin_of(props), _realm_spec(props))
        design = realm_design(props)
        return CreateResult(str(props["realm"]), {**props, "design": design, "drift": []})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        realms.ensure(admin_of(news), _realm_spec(news))
        design = realm_design(news)
        return UpdateResult({**news, "design": design, "drift": []})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        seen = realms.observe(admin_of(props), id_)
        if seen is None:
            return ReadResult("", {})
        return ReadResult(id_, {**props, "drift": realms.differences(_realm_spec(props), seen)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """The realm stays, with its users: people's accounts are data, never deleted
        implicitly (a platform made again takes it over); deleting it is an operator's act."""


class Realm(Resource, module="pdn-sso", name="Realm"):
    """One of the DC's realms (`pdn.sso.realms.REALMS`), with its rules and MFA flows."""

    drift: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        connection: Mapping[str, pulumi.Input[Any]],
        realm: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            RealmProvider(), resource_name, {**connection, "realm": realm, "drift": None}, opts
        )


# A tenant's access.
SPEC_KEYS = ("realm", "tenant", "admin_groups", "reader_groups", "applications")


def _access_spec(props: Mapping[str, Any]) -> tenants.TenantAccessSpec:
    return tenants.TenantAccessSpec(
        str(props["realm"]),
        str(props["tenant"]),
        tuple(props["admin_groups"]),
        tuple(props["reader_groups"]),
        tuple(
            tenants.Application(str(a["name"]), str(a["kind"]), tuple(a.get("redirect_uris") or ()))
            for a in props.get("applications") or []
        ),
    )


def _gone(olds: Mapping[str, Any], news: Mapping[str, Any]) -> tenants.TenantAccessSpec:
    """What the old inputs had and the new ones do not (groups, clients) to remove."""
    old, new = _access_spec(olds), _access_spec(news)
    kept_groups = set(new.group_roles())
    kept_clients = {new.client_id(a) for a in new.applications}
    return tenants.TenantAccessSpec(
        old.realm,
        old.tenant,
        tuple(g for g in old.admin_groups if g not in kept_groups),
        tuple(g for g in old.reader_groups if g not in kept_groups),
        tuple(a for a in old.applications if old.client_id(a) not in kept_clients),
    )


class TenantAccessProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in (*SPEC_KEYS, *CONNECTION_KEYS) if olds.get(k) != news.get(k)]
        changed += _drift(olds)
        if olds.get("design") != access_design(news):
            changed.append("design")
        moved = olds.get("realm") != news.get("realm") or olds.get("tenant") != news.get("tenant")
        return DiffResult(
            changes=bool(changed),
            replaces=["tenant"] if moved else [],
            delete_before_replace=True,  # a group name moves with it
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        admin = admin_of(props)
        spec = _access_spec(props)
        secrets = tenants.ensure(admin, spec)
        design = access_design(props)
        return CreateResult(
            f"{spec.realm}/{spec.tenant}",
            {**props, "client_secrets": secrets, "design": design, "drift": []},
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        admin = admin_of(news)
        tenants.delete(admin, _gone(olds, news), roles=False)
        secrets = tenants.ensure(admin, _access_spec(news))
        design = access_design(news)
        return UpdateResult({**news, "client_secrets": secrets, "design": design, "drift": []})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        spec = _access_spec(props)
        seen = tenants.observe(admin_of(props), spec)
        return ReadResult(id_, {**props, "drift": tenants.differences(spec, seen)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        tenants.delete(admin_of(props), _access_spec(props))


class TenantAccess(Resource, module="pdn-sso", name="TenantAccess"):
    """A tenant's roles, groups and application clients in a realm."""

    client_secrets: pulumi.Output[dict[str, str]]
    drift: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        connection: Mapping[str, pulumi.Input[Any]],
        spec: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            TenantAccessProvider(),
            resource_name,
            {**connection, **spec, "client_secrets": None, "drift": None},
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["client_secrets"])
            ),
        )
