"""How the fleet is split into stacks: a fixed number of shards per site, by a stable hash of
the slug, so a tenant never moves between stacks and each stack stays small."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from pdn.tte import SEAL

if TYPE_CHECKING:
    from pdn.tenants.fleet import Fleet

# ~78 tenants (~540 resources) each at 620: every shard up pays a fixed start (engine, provider,
# policy pack, stack reference: ~2 s of CPU) and a targeted run costs the same in a big shard as
# in a small one. Changing it moves tenants between stacks: pdn refuses to roll out over shards
# made with another count.
SHARDS = 8
PROJECT = "pdn-tenants"


def shard_of(slug: str) -> int:
    return zlib.crc32(slug.encode()) % SHARDS


def stack_name(site: str, shard: int) -> str:
    return f"tenants-{site}-{shard:02d}"


def placed_in(fleet: Fleet, site: str, shard: int) -> list[str]:
    """The tenants of fleet that shard `shard` of site holds, sorted."""
    return sorted(
        slug
        for slug, tenant in fleet.tenants.items()
        if site in tenant.sites and shard_of(slug) == shard
    )


# The Pulumi type of a tenant and (role, type) of its children, in creation order: a tenant's
# URNs are known without running the program, so `pdn tenant up SLUG` can target them.
TENANT_TYPE = "pdn:tenancy:Tenant"
CHILDREN = (
    ("namespace", "kubernetes:core/v1:Namespace"),
    ("quota", "kubernetes:core/v1:ResourceQuota"),
    ("limits", "kubernetes:core/v1:LimitRange"),
    ("isolation", "kubernetes:networking.k8s.io/v1:NetworkPolicy"),
    ("tenant-admins", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"),
    ("tenant-readers", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"),
)


# A tenant's share of the site's object store (with data services), its own component.
STORAGE_TYPE = "pdn:dataservices:TenantStorage"
_DYNAMIC = "pulumi-python:dynamic/pdn-object-storage"
STORAGE_CHILDREN = (
    ("data", f"{_DYNAMIC}:Bucket"),
    ("backup", f"{_DYNAMIC}:Bucket"),
    ("s3-user", f"{_DYNAMIC}:User"),
)


def storage_name(slug: str) -> str:
    return f"{slug}-storage"


# Its databases (with data services and engines in its file), a component of their own.
DATABASES_TYPE = "pdn:dataservices:TenantDatabases"
DATABASE_TYPE = "pulumi-python:dynamic/pdn-databases:Database"


def databases_name(slug: str) -> str:
    return f"{slug}-databases"


# Its schema, login and layers in the site's GIS database (with data services and gis_layers).
GIS_TYPE = "pdn:gis:TenantGis"
GIS_LAYERS_TYPE = "pulumi-python:dynamic/pdn-gis:TenantLayers"


def gis_name(slug: str) -> str:
    return f"{slug}-gis"


# Its roles, groups and clients in the site's single sign-on (where the platform runs one).
IDENTITY_TYPE = "pdn:sso:TenantIdentity"
ACCESS_TYPE = "pulumi-python:dynamic/pdn-sso:TenantAccess"
SIGNER_TYPE = "pulumi-python:dynamic/pdn-tte:SignerCertificate"


def identity_name(slug: str) -> str:
    return f"{slug}-identity"


def hosts_name(slug: str) -> str:
    return f"{slug}-hosts"


HOSTS_TYPE = "pdn:iaas:TenantHosts"
# A host's own type, per backend: a dynamic resource over the local pool, or a VirtualMachine.
HOST_TYPES = {
    "local": "pulumi-python:dynamic:Resource",
    "kubevirt": "kubernetes:kubevirt.io/v1:VirtualMachine",
}


def child_names(name: str) -> list[tuple[str, str]]:
    """(Pulumi type, resource name) of a tenant component's children."""
    return [(kind, f"{name}-{role}") for role, kind in CHILDREN]


def provider_name(site: str, cluster_class: str) -> str:
    """A shard stack's provider of the site's cluster for a class of data (general,
    restricted): the tenants of that class are on it."""
    return f"{site}-{cluster_class}-cluster"


def provider_urn(stack: str, site: str, cluster_class: str) -> str:
    """The URN of a shard stack's cluster provider for a class of data."""
    name = provider_name(site, cluster_class)
    return f"urn:pulumi:{stack}::{PROJECT}::pulumi:providers:kubernetes::{name}"


def dynamic_provider_urn(stack: str) -> str:
    """The URN of a shard stack's provider of Python dynamic resources (the S3 ones)."""
    return f"urn:pulumi:{stack}::{PROJECT}::pulumi:providers:pulumi-python::default"


def tenant_urns(
    stack: str,
    slug: str,
    *,
    data_services: bool = False,
    engines: tuple[str, ...] = (),
    hosts: tuple[str, ...] = (),
    host_backend: str | None = None,
    sso: bool = False,
    officials: tuple[str, ...] | None = None,
    gis: bool = False,
) -> list[str]:
    """Every URN of one tenant in its shard stack: its component, then its children (and with
    data services, its storage and databases components and their children; with sso, its
    identity, and with officials (ids; () for none) its signing certificates too; with gis
    and data services, its GIS schema and layers)."""
    prefix = f"urn:pulumi:{stack}::{PROJECT}::"
    urns = [
        f"{prefix}{TENANT_TYPE}::{slug}",
        *(f"{prefix}{TENANT_TYPE}${kind}::{name}" for kind, name in child_names(slug)),
    ]
    if data_services:
        storage = storage_name(slug)
        urns.append(f"{prefix}{STORAGE_TYPE}::{storage}")
        urns += [
            f"{prefix}{STORAGE_TYPE}${kind}::{storage}-{role}" for role, kind in STORAGE_CHILDREN
        ]
        if engines:
            dbs = databases_name(slug)
            urns.append(f"{prefix}{DATABASES_TYPE}::{dbs}")
            urns += [f"{prefix}{DATABASES_TYPE}${DATABASE_TYPE}::{dbs}-{e}" for e in engines]
        if gis:
            name = gis_name(slug)
            urns += [
                f"{prefix}{GIS_TYPE}::{name}",
                f"{prefix}{GIS_TYPE}${GIS_LAYERS_TYPE}::{name}-layers",
            ]
    if hosts and host_backend in HOST_TYPES:
        name = hosts_name(slug)
        urns.append(f"{prefix}{HOSTS_TYPE}::{name}")
        urns += [f"{prefix}{HOSTS_TYPE}${HOST_TYPES[host_backend]}::{name}-{h}" for h in hosts]
    if sso:
        name = identity_name(slug)
        urns += [
            f"{prefix}{IDENTITY_TYPE}::{name}",
            f"{prefix}{IDENTITY_TYPE}${ACCESS_TYPE}::{name}-access",
        ]
        if officials is not None:
            urns += [
                f"{prefix}{IDENTITY_TYPE}${SIGNER_TYPE}::{name}-{holder}"
                for holder in (SEAL, *officials)
            ]
    return urns
