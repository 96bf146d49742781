"""A tenant's place in the civil servants' realm, from its tenant file:

- two realm roles, `tenant:<slug>:admin` (holding MFA_ROLE: its holders log in with a second
  factor) and `tenant:<slug>:readonly`;
- its groups (`groups.admins`, `groups.readers`), each holding one of those roles and marked as
  the tenant's (attribute `pdn.go.id/tenant`). The clusters see a member's groups as
  `oidc:<group>`, which the tenant's RoleBindings name;
- an OIDC client per application it lists, `<slug>-<name>`: confidential (a web application
  with a secret), public (a browser or mobile application, PKCE), or service (machine to
  machine: client credentials only). Keycloak makes a confidential client's secret.

Users are never made or removed here: people join a tenant's groups, through the realm's
federation or its admins. Deleting a tenant's access removes its roles, groups and clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pdn.sso import clients
from pdn.sso.admin import Admin, quote
from pdn.sso.errors import SsoError
from pdn.sso.realms import GIS_AUDIENCE, MFA_ROLE, SIGNING_AUDIENCE

TENANT_ATTRIBUTE = "pdn.go.id/tenant"
# What a server-side client's tokens carry for the platform's services: the tenant they act
# for, and the e-signature service as an audience (it signs only for the tenant named).
TENANT_CLAIM = "pdn_tenant"


@dataclass(frozen=True)
class Application:
    name: str
    kind: str  # confidential | public | service
    redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class TenantAccessSpec:
    realm: str
    tenant: str
    admin_groups: tuple[str, ...]
    reader_groups: tuple[str, ...]
    applications: tuple[Application, ...] = ()

    @property
    def admin_role(self) -> str:
        return f"tenant:{self.tenant}:admin"

    @property
    def reader_role(self) -> str:
        return f"tenant:{self.tenant}:readonly"

    def group_roles(self) -> dict[str, str]:
        roles = {g: self.reader_role for g in self.reader_groups}
        roles.update({g: self.admin_role for g in self.admin_groups})  # admin wins
        return roles

    def client_id(self, app: Application) -> str:
        return f"{self.tenant}-{app.name}"


def client_representation(spec: TenantAccessSpec, app: Application) -> dict[str, Any]:
    confidential, public = app.kind == "confidential", app.kind == "public"
    return {
        "clientId": spec.client_id(app),
        "name": f"{app.name} ({spec.tenant})",
        "protocol": "openid-connect",
        "enabled": True,
        "publicClient": public,
        "standardFlowEnabled": confidential or public,
        "directAccessGrantsEnabled": False,
        "implicitFlowEnabled": False,
        "serviceAccountsEnabled": app.kind == "service",
        "redirectUris": sorted(app.redirect_uris),
        "webOrigins": ["+"] if public else [],
        "attributes": {
            "pkce.code.challenge.method": "S256" if public else "",
            TENANT_ATTRIBUTE: spec.tenant,
        },
        # A browser or mobile application never acts for the tenant at the platform.
        "protocolMappers": [] if public else _platform_mappers(spec.tenant),
    }


def _platform_mappers(tenant: str) -> list[dict[str, Any]]:
    only_access = {"access.token.claim": "true", "id.token.claim": "false"}
    return [
        {
            "name": "pdn-tenant",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-hardcoded-claim-mapper",
            "config": {
                "claim.name": TENANT_CLAIM,
                "claim.value": tenant,
                "jsonType.label": "String",
                "userinfo.token.claim": "false",
                **only_access,
            },
        },
        {
            "name": "pdn-tte-audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {"included.custom.audience": SIGNING_AUDIENCE, **only_access},
        },
        {
            "name": "pdn-gis-audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {"included.custom.audience": GIS_AUDIENCE, **only_access},
        },
    ]


def _client_view(client: dict[str, Any]) -> dict[str, Any]:
    return {
        **clients.view(client),
        "tenant": (client.get("attributes") or {}).get(TENANT_ATTRIBUTE),
    }


# Reading.
def observe(admin: Admin, spec: TenantAccessSpec) -> dict[str, Any]:
    """What Keycloak holds of the tenant's access, in `expected`'s shape."""
    realm = spec.realm
    roles: dict[str, Any] = {}
    for role in (spec.admin_role, spec.reader_role):
        held = admin.find(f"/{realm}/roles/{quote(role)}")
        if held is None:
            roles[role] = None
            continue
        composites = (
            admin.get(f"/{realm}/roles/{quote(role)}/composites") if held.get("composite") else []
        )
        roles[role] = sorted(c["name"] for c in composites)
    groups: dict[str, Any] = {}
    for group in spec.group_roles():
        held = _group(admin, realm, group)
        if held is None:
            groups[group] = None
            continue
        mapped = admin.get(f"/{realm}/groups/{held['id']}/role-mappings/realm")
        groups[group] = {
            "tenant": (held.get("attributes") or {}).get(TENANT_ATTRIBUTE, [None])[0],
            "roles": sorted(r["name"] for r in mapped),
        }
    made: dict[str, Any] = {}
    for app in spec.applications:
        held = clients.find(admin, realm, spec.client_id(app))
        made[spec.client_id(app)] = None if held is None else _client_view(held)
    return {"roles": roles, "groups": groups, "clients": made}


def expected(spec: TenantAccessSpec) -> dict[str, Any]:
    return {
        "roles": {spec.admin_role: [MFA_ROLE], spec.reader_role: []},
        "groups": {
            group: {"tenant": spec.tenant, "roles": [role]}
            for group, role in spec.group_roles().items()
        },
        "clients": {
            spec.client_id(app): _client_view(client_representation(spec, app))
            for app in spec.applications
        },
    }


def differences(spec: TenantAccessSpec, seen: dict[str, Any]) -> list[str]:
    want = expected(spec)
    found = []
    for part, items in want.items():
        for key, value in items.items():
            if seen.get(part, {}).get(key) != value:
                found.append(f"{part} {key}: {seen.get(part, {}).get(key)!r} -> {value!r}")
    return found


def _group(admin: Admin, realm: str, name: str) -> dict[str, Any] | None:
    found = admin.get(f"/{realm}/groups", search=name, exact="true", briefRepresentation="false")
    return next((g for g in found if g["name"] == name), None)


# Making.
def _made(found: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if found is None:
        raise SsoError(f"single sign-on: {what} was created but cannot be found")
    return found


def ensure(admin: Admin, spec: TenantAccessSpec) -> dict[str, str]:
    """Make the tenant's roles, groups and clients as its spec says; the secrets of its
    confidential and service clients, by client id."""
    realm = spec.realm
    for role, composites in ((spec.admin_role, [MFA_ROLE]), (spec.reader_role, [])):
        if admin.find(f"/{realm}/roles/{quote(role)}") is None:
            admin.call(
                "POST",
                f"/{realm}/roles",
                {"name": role, "description": f"{role.split(':')[-1]} of tenant {spec.tenant}"},
            )
        held = admin.get(f"/{realm}/roles/{quote(role)}/composites")
        held_names = {c["name"] for c in held}
        extra = [c for c in held if c["name"] not in composites]
        if extra:
            admin.call("DELETE", f"/{realm}/roles/{quote(role)}/composites", extra)
        missing = [
            admin.get(f"/{realm}/roles/{quote(c)}") for c in composites if c not in held_names
        ]
        if missing:
            admin.call("POST", f"/{realm}/roles/{quote(role)}/composites", missing)
    for group, role in spec.group_roles().items():
        _ensure_group(admin, spec, group, role)
    secrets: dict[str, str] = {}
    for app in spec.applications:
        client_id = spec.client_id(app)
        wanted = client_representation(spec, app)
        held = clients.find(admin, realm, client_id)
        if held is None:
            admin.call("POST", f"/{realm}/clients", wanted)
            held = _made(clients.find(admin, realm, client_id), f"client {client_id!r}")
        else:
            owner = (held.get("attributes") or {}).get(TENANT_ATTRIBUTE)
            if owner not in (None, spec.tenant):
                raise SsoError(f"client {client_id!r} in realm {realm} belongs to tenant {owner!r}")
            if _client_view(held) != _client_view(wanted):
                attributes = {**(held.get("attributes") or {}), **wanted["attributes"]}
                settings = {k: v for k, v in wanted.items() if k != "protocolMappers"}
                admin.call(
                    "PUT",
                    f"/{realm}/clients/{held['id']}",
                    {**held, **settings, "attributes": attributes},
                )
                clients.ensure_mappers(admin, realm, held, wanted["protocolMappers"])
        if app.kind != "public":
            secret = admin.get(f"/{realm}/clients/{held['id']}/client-secret")
            secrets[client_id] = str(secret["value"])
    return secrets


def _ensure_group(admin: Admin, spec: TenantAccessSpec, group: str, role: str) -> None:
    realm = spec.realm
    held = _group(admin, realm, group)
    if held is None:
        admin.call(
            "POST",
            f"/{realm}/groups",
            {"name": group, "attributes": {TENANT_ATTRIBUTE: [spec.tenant]}},
        )
        held = _made(_group(admin, realm, group), f"group {group!r}")
    owner = (held.get("attributes") or {}).get(TENANT_ATTRIBUTE, [None])[0]
    if owner not in (None, spec.tenant):
        raise SsoError(
            f"group {group!r} in realm {realm} belongs to tenant {owner!r}: a group administers "
            "or reads one tenant only; name another group in the tenant file"
        )
    if owner is None:
        admin.call(
            "PUT",
            f"/{realm}/groups/{held['id']}",
            {
                **held,
                "attributes": {**(held.get("attributes") or {}), TENANT_ATTRIBUTE: [spec.tenant]},
            },
        )
    mapped = admin.get(f"/{realm}/groups/{held['id']}/role-mappings/realm")
    extra = [r for r in mapped if r["name"] != role]
    if extra:
        admin.call("DELETE", f"/{realm}/groups/{held['id']}/role-mappings/realm", extra)
    if all(r["name"] != role for r in mapped):
        admin.call(
            "POST",
            f"/{realm}/groups/{held['id']}/role-mappings/realm",
            [admin.get(f"/{realm}/roles/{quote(role)}")],
        )


def delete(admin: Admin, spec: TenantAccessSpec, *, roles: bool = True) -> None:
    """The tenant's clients, groups (their members leave them) and, with roles, its roles."""
    realm = spec.realm
    for app in spec.applications:
        held = clients.find(admin, realm, spec.client_id(app))
        if held is not None:
            admin.call("DELETE", f"/{realm}/clients/{held['id']}", missing_ok=True)
    for group in spec.group_roles():
        held = _group(admin, realm, group)
        if (
            held is not None
            and (held.get("attributes") or {}).get(TENANT_ATTRIBUTE, [None])[0] == spec.tenant
        ):
            admin.call("DELETE", f"/{realm}/groups/{held['id']}", missing_ok=True)
    for role in (spec.admin_role, spec.reader_role) if roles else ():
        admin.call("DELETE", f"/{realm}/roles/{quote(role)}", missing_ok=True)
