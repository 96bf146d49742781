"""OIDC clients in a realm, for both the realms' own (`kubernetes`) and the tenants': finding
one, the flags compared when reading one back, and its protocol mappers put right by name."""

from __future__ import annotations

from typing import Any

from pdn.sso.admin import Admin

# The switches of a client that pdn sets and reads back.
FLAGS = (
    "enabled",
    "publicClient",
    "standardFlowEnabled",
    "directAccessGrantsEnabled",
    "implicitFlowEnabled",
    "serviceAccountsEnabled",
)


def find(admin: Admin, realm: str, client_id: str) -> dict[str, Any] | None:
    found = admin.get(f"/{realm}/clients", clientId=client_id)
    return found[0] if found else None


def view(client: dict[str, Any]) -> dict[str, Any]:
    """What pdn compares of a client: its flags, redirect URIs, PKCE and protocol mappers."""
    return {
        **{k: bool(client.get(k)) for k in FLAGS},
        "redirectUris": sorted(client.get("redirectUris") or []),
        "pkce": (client.get("attributes") or {}).get("pkce.code.challenge.method") or "",
        "mappers": sorted(mapper_view(m) for m in client.get("protocolMappers") or []),
    }


def mapper_view(mapper: dict[str, Any]) -> list[str]:
    """A protocol mapper as compared: its name, type and the value it puts in tokens."""
    config = mapper.get("config") or {}
    value = (
        config.get("claim.value")
        or config.get("included.custom.audience")
        or config.get("included.client.audience")
        or config.get("claim.name")
        or ""
    )
    return [str(mapper.get("name")), str(mapper.get("protocolMapper")), str(value)]


def ensure_mappers(
    admin: Admin, realm: str, held: dict[str, Any], wanted: list[dict[str, Any]]
) -> None:
    """The client's protocol mappers exactly as wanted (by name): others removed."""
    base = f"/{realm}/clients/{held['id']}/protocol-mappers/models"
    existing = {m["name"]: m for m in held.get("protocolMappers") or []}
    names = {m["name"] for m in wanted}
    for name, mapper in existing.items():
        if name not in names:
            admin.call("DELETE", f"{base}/{mapper['id']}")
    for mapper in wanted:
        old = existing.get(mapper["name"])
        if old is None:
            admin.call("POST", base, mapper)
        elif mapper_view(old) != mapper_view(mapper):
            admin.call("PUT", f"{base}/{old['id']}", {**mapper, "id": old["id"]})
