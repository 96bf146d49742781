"""The DC's single sign-on as Pulumi components: `pdn:sso:SingleSignOn` (the realms, on the
platform stack) and `pdn:sso:TenantIdentity` (on its shard stack: a tenant's roles, groups and
clients in the civil servants' realm, and, where the DC signs, its seal's and officials'
signing certificates)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from pdn.sso import realms
from pdn.tte import SEAL
from pdn.tte.registrar import Holder
from platform_services.sso.providers import Realm, TenantAccess
from platform_services.tte.providers import SignerCertificate

SSO_TYPE = "pdn:sso:SingleSignOn"
TENANT_TYPE = "pdn:sso:TenantIdentity"


@dataclass(frozen=True)
class Connection:
    """Keycloak (its public URL and CA) and the platform's admin on it (password: secret)."""

    url: pulumi.Input[str]
    ca_pem: pulumi.Input[str]
    admin_user: pulumi.Input[str]
    admin_password: pulumi.Input[str]

    def props(self) -> dict[str, pulumi.Input[Any]]:
        return {
            "server": {"url": self.url, "ca_pem": self.ca_pem},
            "admin_user": self.admin_user,
            "admin_password": pulumi.Output.secret(self.admin_password),
        }


@dataclass(frozen=True)
class SingleSignOnArgs:
    connection: Connection
    realms: tuple[str, ...] = tuple(spec.name for spec in realms.REALMS)


class SingleSignOn(pulumi.ComponentResource):
    issuers: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: SingleSignOnArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(SSO_TYPE, name, None, opts)
        made = {
            realm: Realm(
                f"{name}-{realm}",
                args.connection.props(),
                realm,
                pulumi.ResourceOptions(parent=self),
            )
            for realm in args.realms
        }
        # Each realm's issuer, once the realm exists: what the API servers and applications trust.
        self.issuers = {
            realm: pulumi.Output.all(args.connection.url, resource.id).apply(
                lambda found: f"{str(found[0]).rstrip('/')}/realms/{found[1]}"
            )
            for realm, resource in made.items()
        }
        self.register_outputs({"issuers": self.issuers})


@dataclass(frozen=True)
class ApplicationArgs:
    name: str
    kind: str
    redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class SigningService:
    """The DC's e-signature service (its URL and CA), where the registrar issues."""

    url: pulumi.Input[str]
    ca_pem: pulumi.Input[str]


@dataclass(frozen=True)
class OfficialArgs:
    id: str
    name: str
    title: str
    email: str


@dataclass(frozen=True)
class SignersArgs:
    """Who signs for the tenant: its seal (in its name) and its officials."""

    service: SigningService
    seal_name: str
    officials: tuple[OfficialArgs, ...] = ()


@dataclass(frozen=True)
class TenantIdentityArgs:
    tenant: str
    admin_groups: tuple[str, ...]
    reader_groups: tuple[str, ...]
    applications: tuple[ApplicationArgs, ...]
    connection: Connection
    realm: str = realms.CIVIL_SERVANTS
    signers: SignersArgs | None = None


class TenantIdentity(pulumi.ComponentResource):
    client_ids: list[str]
    client_secrets: pulumi.Output[Mapping[str, str]]
    certificates: dict[str, pulumi.Output[str]]  # holder (seal, official id) -> serial

    def __init__(
        self, name: str, args: TenantIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TENANT_TYPE, name, None, opts)
        access = TenantAccess(
            f"{name}-access",
            args.connection.props(),
            {
                "realm": args.realm,
                "tenant": args.tenant,
                "admin_groups": list(args.admin_groups),
                "reader_groups": list(args.reader_groups),
                "applications": [
                    {"name": a.name, "kind": a.kind, "redirect_uris": list(a.redirect_uris)}
                    for a in args.applications
                ],
            },
            pulumi.ResourceOptions(parent=self),
        )
        self.client_ids = [f"{args.tenant}-{a.name}" for a in args.applications]
        self.client_secrets = pulumi.Output.secret(access.client_secrets)
        self.certificates = {}
        if args.signers is not None:
            service = {"url": args.signers.service.url, "ca_pem": args.signers.service.ca_pem}
            holders = [Holder(args.tenant, args.signers.seal_name)] + [
                Holder(args.tenant, o.name, o.id, o.title, o.email) for o in args.signers.officials
            ]
            for holder in holders:
                role = holder.official or SEAL
                made = SignerCertificate(
                    f"{name}-{role}",
                    service,
                    args.connection.props(),
                    holder,
                    # Issued once the tenant's clients exist (they sign with its seal).
                    pulumi.ResourceOptions(parent=self, depends_on=[access]),
                )
                self.certificates[role] = made.serial
        self.register_outputs(
            {
                "client_ids": self.client_ids,
                "client_secrets": self.client_secrets,
                "certificates": self.certificates,
            }
        )
