"""A tenant file (`tenants/<slug>.yaml`) as a typed, strictly validated model.

Every field is checked by its type here; what needs other files (the parent, the sites, the
region list, the fleet's capacity) is checked in validate.py. Nothing free-form reaches a label,
a name or a command: slugs, codes and group names are patterns, names and contacts are text.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from pdn.iaas.model import SIZES, HostSize

SCHEMA_VERSION = 1
# A namespace is named after the slug: a DNS-1123 label, kept short enough for suffixes.
SLUG_MAX = 40
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", max_length=SLUG_MAX),
]
# Printable text without control characters (no newlines, no escapes in logs or terminals).
Text = Annotated[
    str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]+$", min_length=1, max_length=200)
]
AgencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9.-]{0,19}$")]
# Kemendagri dotted code: format here, existence against the list in validate.py.
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")]
# BPS codes are carried as metadata only (there is no crosswalk): their format is checked.
BpsCode = Annotated[str, StringConstraints(pattern=r"^\d{2}(\d{2}(\d{3}(\d{3})?)?)?$")]
GroupName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9:._-]{0,62}$")]
Email = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=254
    ),
]
Phone = Annotated[str, StringConstraints(pattern=r"^\+62[0-9]{6,13}$")]


class TenantKind(StrEnum):
    MINISTRY = "ministry"  # kementerian
    AGENCY = "agency"  # lembaga / badan (central, non-ministerial)
    PROVINCE = "province"  # pemerintah provinsi
    KABUPATEN = "kabupaten"
    KOTA = "kota"
    UNIT = "unit"  # a dinas, badan or office under one of the above


class Tier(StrEnum):
    """The service tier: default quotas and the priority its workloads run at."""

    VITAL = "vital"  # services citizens cannot do without: never preempted by standard/batch
    STANDARD = "standard"
    BATCH = "batch"  # reports, analytics: preemptible


class Classification(StrEnum):
    """The highest class of data the tenant will hold (PDN baseline, ordered)."""

    PUBLIC = "public"  # informasi publik
    INTERNAL = "internal"  # terbatas: for government use
    CONFIDENTIAL = "confidential"  # rahasia: personal data, NIK
    SECRET = "secret"  # noqa: S105 (a class name: sangat rahasia)

    @property
    def rank(self) -> int:
        return list(Classification).index(self)


class PlatformService(StrEnum):
    """Shared platform services a tenant may reach, with the namespace each runs in."""

    SSO = "sso"
    PKI = "pki"
    STORAGE = "storage"
    GIS = "gis"
    BACKUP = "backup"
    OBSERVABILITY = "observability"

    @property
    def namespace(self) -> str:
        return {"sso": "pdn-identity"}.get(self.value, f"pdn-{self.value}")


class DatabaseEngine(StrEnum):
    """The database services (DBaaS) a tenant may have one database on."""

    POSTGRESQL = "postgresql"
    MARIADB = "mariadb"  # most agency applications are PHP on MySQL


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Contact(_Strict):
    name: Text
    email: Email
    role: Literal["owner", "technical", "security"]
    phone: Phone | None = None


class Quota(_Strict):
    cpu_cores: Annotated[int, Field(ge=1, le=4096)]
    memory_gib: Annotated[int, Field(ge=1, le=65536)]
    storage_gib: Annotated[int, Field(ge=0, le=1048576)]
    object_storage_gib: Annotated[int, Field(ge=0, le=1048576)]
    pods: Annotated[int, Field(ge=1, le=10000)]


TIER_QUOTAS: dict[Tier, Quota] = {
    Tier.VITAL: Quota(
        cpu_cores=32, memory_gib=128, storage_gib=2048, object_storage_gib=4096, pods=100
    ),
    Tier.STANDARD: Quota(
        cpu_cores=8, memory_gib=32, storage_gib=512, object_storage_gib=1024, pods=50
    ),
    Tier.BATCH: Quota(cpu_cores=4, memory_gib=16, storage_gib=256, object_storage_gib=512, pods=20),
}


class Port(_Strict):
    port: Annotated[int, Field(ge=1, le=65535)]
    protocol: Literal["TCP", "UDP"] = "TCP"


def _ports(value: list[Port]) -> list[Port]:
    if len({(p.port, p.protocol) for p in value}) != len(value):
        raise ValueError("a port is listed twice")
    return value


Ports = Annotated[list[Port], Field(min_length=1, max_length=20), AfterValidator(_ports)]


class TenantFlow(_Strict):
    """Reach another tenant's services (that tenant must accept: see `accept_from`)."""

    tenant: Slug
    ports: Ports


class PlatformFlow(_Strict):
    platform: Annotated[PlatformService, Field(strict=False)]
    ports: Ports | None = None  # None: the service's own ports


def _public_network(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"not a network in CIDR form (like 203.0.113.0/24): {err}") from None
    if not network.is_global:
        raise ValueError(
            f"{network} is not a public network: reach other tenants and platform services "
            "by `tenant:` or `platform:` flows, not by address"
        )
    if network.prefixlen < 8:
        raise ValueError(f"{network} is too wide (more than a /8): name the networks you need")
    return str(network)


class EgressFlow(_Strict):
    egress: Annotated[str, AfterValidator(_public_network)]
    ports: Ports


def _flow_kind(value: object) -> str | None:
    if isinstance(value, dict):
        kinds = [k for k in ("tenant", "platform", "egress") if k in value]
        return kinds[0] if len(kinds) == 1 else None
    return None


Flow = Annotated[
    Annotated[TenantFlow, Tag("tenant")]
    | Annotated[PlatformFlow, Tag("platform")]
    | Annotated[EgressFlow, Tag("egress")],
    Discriminator(
        _flow_kind,
        custom_error_type="flow_kind",
        custom_error_message="a flow names exactly one of tenant:, platform: or egress:",
    ),
]


class Groups(_Strict):
    """SSO groups (bound by the SSO issue) that administer and that read the tenant."""

    admins: Annotated[list[GroupName], Field(min_length=1, max_length=20)]
    readers: Annotated[list[GroupName], Field(max_length=20)] = []


def _redirect_uri(value: str) -> str:
    from urllib.parse import urlsplit  # noqa: PLC0415

    parts = urlsplit(value)
    local = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
    if parts.scheme != "https" and not local:
        raise ValueError(
            f"{value!r}: a redirect URI is https:// (http:// only to localhost, for a native "
            "application on the user's machine)"
        )
    if not parts.hostname or "*" in (parts.hostname or "") or parts.fragment:
        raise ValueError(
            f"{value!r}: name the application's host exactly (no wildcard host, no #fragment); "
            "a path may end in /*"
        )
    if "*" in parts.path[:-1] or parts.query:
        raise ValueError(f"{value!r}: only a trailing /* is allowed, and no query")
    return value


RedirectUri = Annotated[str, StringConstraints(max_length=300), AfterValidator(_redirect_uri)]


class ApplicationKind(StrEnum):
    """How an application logs its users in through the DC's single sign-on."""

    CONFIDENTIAL = "confidential"  # a server-side web application, with a client secret
    PUBLIC = "public"  # a browser or mobile application: no secret, PKCE
    SERVICE = "service"  # machine to machine: client credentials, no user


class Application(_Strict):
    """One of the tenant's applications: an OIDC client `<slug>-<name>` in the civil servants'
    realm."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$")]
    kind: Annotated[ApplicationKind, Field(strict=False)]
    redirect_uris: Annotated[list[RedirectUri], Field(max_length=10)] = []

    @model_validator(mode="after")
    def _redirects(self) -> Application:
        if self.kind is ApplicationKind.SERVICE and self.redirect_uris:
            raise ValueError("redirect_uris: a service application logs no user in: remove them")
        if self.kind is not ApplicationKind.SERVICE and not self.redirect_uris:
            raise ValueError(
                f"redirect_uris: a {self.kind.value} application needs at least one (where the "
                "login returns to)"
            )
        return self


class Official(_Strict):
    """An official who signs for the tenant (a bupati, a sekretaris daerah): a signing
    certificate of their own at the DC's e-signature service, beside the tenant's seal."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$")]
    name: Text
    title: Text  # jabatan, as the certificate states it
    email: Email

    @model_validator(mode="after")
    def _not_the_seal(self) -> Official:
        if self.id == "seal":
            raise ValueError("id: 'seal' names the tenant's own certificate: choose another")
        return self


class GisLayer(_Strict):
    """One of the tenant's map layers: a table in its schema of the DC's GIS database (filled
    by `pdn gis load`), published by the DC's feature service (OGC API Features) to the
    tenant's clients and its parents' (their readers read their units), and to anyone only
    with `public: true`."""

    name: Annotated[str, Field(pattern=r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")]
    title: Text
    public: bool = False


class PdnHostSpec(_Strict):
    """A PDN host (a VM) the tenant rehosts a workload on; its size is counted in the quota."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$")]
    size: Annotated[HostSize, Field(strict=False)]
    image: Literal["debian-12"] = "debian-12"


class Tenant(_Strict):
    schema_version: Literal[1] = 1
    slug: Slug
    name: Text
    kind: Annotated[TenantKind, Field(strict=False)]
    agency_code: AgencyCode
    region_code: RegionCode
    bps_code: BpsCode | None = None
    parent: Slug | None = None
    contacts: Annotated[list[Contact], Field(min_length=1, max_length=10)]
    tier: Annotated[Tier, Field(strict=False)]
    quota: Quota | None = None  # None: the tier's quota
    classification: Annotated[Classification, Field(strict=False)]
    sites: Annotated[list[Slug], Field(min_length=1, max_length=4)]
    groups: Groups
    flows: Annotated[list[Flow], Field(max_length=50)] = []
    accept_from: Annotated[list[Slug], Field(max_length=50)] = []  # tenants that may reach us
    # One database per engine listed, with its own login (data services).
    databases: Annotated[
        list[Annotated[DatabaseEngine, Field(strict=False)]], Field(max_length=2)
    ] = []
    # PDN hosts (IaaS) for the workloads it rehosts rather than replatforms.
    hosts: Annotated[list[PdnHostSpec], Field(max_length=20)] = []
    # Its applications' logins through the DC's single sign-on (OIDC clients).
    applications: Annotated[list[Application], Field(max_length=30)] = []
    # Its officials' e-signature certificates (the tenant's own seal is always issued).
    officials: Annotated[list[Official], Field(max_length=100)] = []
    # Its map layers on the DC's GIS platform (PostGIS, OGC API Features).
    gis_layers: Annotated[list[GisLayer], Field(max_length=50)] = []

    @property
    def effective_quota(self) -> Quota:
        return self.quota or TIER_QUOTAS[self.tier]

    @property
    def namespace(self) -> str:
        return self.slug

    def _listed_twice(self) -> str | None:
        """The first list naming one thing twice, as the problem to fix."""
        for field, names, problem in (
            ("applications", [a.name for a in self.applications], "an application name"),
            ("hosts", [h.name for h in self.hosts], "a host name"),
            ("officials", [o.id for o in self.officials], "an official's id"),
            ("officials", [o.email.lower() for o in self.officials], "an official's e-mail"),
            ("gis_layers", [g.name for g in self.gis_layers], "a layer name"),
        ):
            if len(set(names)) != len(names):
                return f"{field}: {problem} is listed twice"
        return None

    @model_validator(mode="after")
    def _own_rules(self) -> Tenant:
        if self.kind is TenantKind.UNIT and self.parent is None:
            raise ValueError(
                "parent: a unit needs one: the tenant it belongs to (`parent: <slug>`)"
            )
        if self.parent == self.slug:
            raise ValueError("parent: a tenant cannot be its own parent")
        if not any(c.role == "owner" for c in self.contacts):
            raise ValueError("contacts: name at least one contact with role: owner")
        if len(set(self.sites)) != len(self.sites):
            raise ValueError("sites: a site is listed twice")
        if len(set(self.databases)) != len(self.databases):
            raise ValueError("databases: an engine is listed twice (one database per engine)")
        if any(f.tenant == self.slug for f in self.flows if isinstance(f, TenantFlow)):
            raise ValueError("flows: a tenant reaches its own namespace without a flow")
        twice = self._listed_twice()
        if twice:
            raise ValueError(twice)
        if set(self.groups.admins) & set(self.groups.readers):
            raise ValueError("groups: a group is both an admin and a reader group: name it once")
        quota = self.effective_quota
        for field, limit in (
            ("cpu_cores", quota.cpu_cores),
            ("memory_gib", quota.memory_gib),
            ("disk_gib", quota.storage_gib),
        ):
            used = sum(getattr(SIZES[h.size], field) for h in self.hosts)
            if used > limit:
                raise ValueError(
                    f"hosts: their {field} add up to {used}, over the quota's {limit}: choose "
                    "smaller sizes, fewer hosts, or a larger quota"
                )
        return self
