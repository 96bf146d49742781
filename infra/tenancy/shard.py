"""One shard of the tenant fleet on one site, as a Pulumi program: the site's cluster from the
platform stack (a stack reference), one `pdn:tenancy:Tenant` per tenant of the shard, exports.

A function of an already checked fleet, so that `pdn tenant up` runs it inside its own process
(Pulumi's inline programs) with the fleet it validated once, instead of every shard's program
starting Python, importing the SDKs and reading all 620 files again; `tenancy/__main__.py` runs
the same function when the stack is driven by the plain CLI.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.iaas.tenant_hosts import HostBackend, TenantHosts, TenantHostsArgs
from infra.tenancy.tenant import Tenant, TenantArgs
from pdn.clusters.placement import cluster_class
from pdn.dataservices.plan import storage_of
from pdn.tenants.fleet import Fleet
from pdn.tenants.model import Classification
from pdn.tenants.render import render
from pdn.tenants.shards import (
    databases_name,
    gis_name,
    hosts_name,
    identity_name,
    placed_in,
    provider_name,
    storage_name,
)
from platform_services.databases.tenant_databases import TenantDatabases, TenantDatabasesArgs
from platform_services.gis.tenant_gis import LayerArgs, TenantGis, TenantGisArgs
from platform_services.object_storage.tenant_storage import TenantStorage, TenantStorageArgs
from platform_services.sso.identity import (
    ApplicationArgs,
    Connection,
    OfficialArgs,
    SignersArgs,
    SigningService,
    TenantIdentity,
    TenantIdentityArgs,
)

# pulumi_kubernetes loads its API groups lazily, with importlib's LazyLoader, which is not
# thread-safe before Python 3.12; `pdn tenant up` runs shard programs on threads, and two of them
# loading one group at once saw it half-made ("no attribute 'ObjectMetaArgs'"). The groups a
# tenant uses are loaded here, on the thread that imports this module (20 ms): by asking for an
# attribute (pulumi's lazy module leaves `dir()` and other introspection unloaded).
for _group in ("meta", "core", "networking", "rbac"):
    hasattr(importlib.import_module(f"pulumi_kubernetes.{_group}").v1, "pdn_loaded")


def shard_program(
    fleet: Fleet,
    site: str,
    shard: int,
    platform_stack: str,
    only: Collection[str] | None = None,
    *,
    data_services: bool = False,
    hosts: dict[str, str] | None = None,
    sso: bool = False,
    signing: bool = False,
    previous: Mapping[str, Any] | None = None,
) -> Callable[[], None]:
    """The program of shard `shard` of `site`; platform_stack is the fully qualified name of the
    stack that exports the site's kubeconfig. With `only`, it makes those tenants alone: for a
    run that targets them (`--target`), so the others' objects, neither made nor targeted, are
    left as they are and cost nothing, however many the shard holds. With data_services, each
    tenant also gets its share of the site's object store (the platform stack exports it); with
    sso, its roles, groups and clients in the site's single sign-on; with signing too, its
    seal's and officials' certificates at the site's e-signature service.
    previous: the shard's outputs before a targeted run; the tenants it does not make keep
    theirs (an export replaces the whole output)."""

    def program() -> None:
        platform = pulumi.StackReference(platform_stack)
        clusters = _ClusterProviders(platform, site)
        placed = placed_in(fleet, site, shard)
        made = placed if only is None else [s for s in placed if s in only]
        kept = _Kept(previous or {}, [s for s in placed if s not in made])
        for slug in made:
            Tenant(
                slug,
                TenantArgs(render(fleet, slug, site)),
                pulumi.ResourceOptions(provider=clusters.of(fleet.tenants[slug].classification)),
            )
        if data_services:
            _storage(platform, fleet, made, kept)
            _databases(platform, fleet, made, kept)
            _gis(platform, fleet, made, kept)
        if hosts and hosts.get("backend"):
            _hosts(fleet, made, hosts, clusters, kept)
        if sso:
            _identities(platform, fleet, made, kept, signing=signing)
        # From the fleet, not from the tenants made: a targeted run exports the whole shard too.
        pulumi.export("tenants", placed)
        pulumi.export("namespaces", {slug: fleet.tenants[slug].namespace for slug in placed})

    return program


@dataclass(frozen=True)
class _Kept:
    """The last run's outputs of the shard's tenants a targeted run does not make."""

    outputs: Mapping[str, Any]
    slugs: list[str]

    def of(self, key: str) -> dict[str, Any]:
        found = self.outputs.get(key) or {}
        return {slug: found[slug] for slug in self.slugs if slug in found}


class _ClusterProviders:
    """One Kubernetes provider per cluster class the shard's tenants use: the site's workload
    cluster of that class (the platform stack exports their kubeconfigs), or, on a site that
    declares no clusters, the site's one cluster."""

    def __init__(self, platform: pulumi.StackReference, site: str) -> None:
        self._site = site
        self._workload = platform.get_output("workload_kubeconfigs")
        self._site_cluster = platform.require_output("kubeconfig")
        self._providers: dict[str, k8s.Provider] = {}

    def of(self, classification: Classification) -> k8s.Provider:
        wanted = cluster_class(classification).value
        if wanted not in self._providers:
            kubeconfig: pulumi.Output[str] = pulumi.Output.all(
                self._workload, self._site_cluster
            ).apply(functools.partial(_pick, wanted))
            self._providers[wanted] = k8s.Provider(
                provider_name(self._site, wanted),
                kubeconfig=kubeconfig,  # secret: made of the platform stack's secret outputs
                enable_server_side_apply=True,
            )
        return self._providers[wanted]


def _pick(wanted: str, found: list[Any]) -> str:
    workload, site_cluster = found
    if workload is None:  # a site without clusters: its one cluster
        return str(site_cluster)
    if wanted not in workload:
        raise pulumi.RunError(
            f"the platform stack has no {wanted} workload cluster to reach (is its "
            "pdn:clusterKubeconfigs set?)"
        )
    return str(workload[wanted])


def _storage(platform: pulumi.StackReference, fleet: Fleet, slugs: list[str], kept: _Kept) -> None:
    endpoint = platform.require_output("object_storage")
    admin = platform.require_output("object_storage_admin")
    connection = {
        "endpoint": endpoint,
        "admin_access_key": pulumi.Output.secret(admin["access_key"]),
        "admin_secret_key": pulumi.Output.secret(admin["secret_key"]),
    }
    shares = {
        slug: TenantStorage(
            storage_name(slug),
            TenantStorageArgs(slug, storage_of(fleet.tenants[slug]), connection),
        )
        for slug in slugs
    }
    # For the migration tooling: where each tenant's data goes, with its own key (secret).
    pulumi.export(
        "object_storage",
        kept.of("object_storage")
        | {
            slug: {
                "endpoint": endpoint["url"],
                "data_bucket": share.data_bucket,
                "backup_bucket": share.backup_bucket,
                "access_key_id": share.access_key_id,
            }
            for slug, share in shares.items()
        },
    )
    pulumi.export(
        "object_storage_secret_keys",
        pulumi.Output.secret(
            kept.of("object_storage_secret_keys")
            | {slug: s.secret_access_key for slug, s in shares.items()}
        ),
    )


def _hosts(
    fleet: Fleet,
    slugs: list[str],
    hosts: dict[str, str],
    clusters: _ClusterProviders,
    kept: _Kept,
) -> None:
    """Each tenant's PDN hosts (IaaS), from its tenant file, on the platform's host backend."""
    backend = HostBackend(hosts["backend"])
    made = {}
    for slug in slugs:
        tenant = fleet.tenants[slug]
        if not tenant.hosts:
            continue
        made[slug] = TenantHosts(
            hosts_name(slug),
            TenantHostsArgs(
                tenant=slug,
                namespace=tenant.namespace,
                hosts=list(tenant.hosts),
                backend=backend,
                pool=hosts.get("pool"),
                network=hosts.get("network"),
            ),
            pulumi.ResourceOptions(
                provider=clusters.of(tenant.classification)
                if backend is HostBackend.KUBEVIRT
                else None
            ),
        )
    # For the migration tooling: where each tenant's hosts answer.
    pulumi.export(
        "host_addresses",
        kept.of("host_addresses") | {slug: h.addresses for slug, h in made.items()},
    )


def _databases(
    platform: pulumi.StackReference, fleet: Fleet, slugs: list[str], kept: _Kept
) -> None:
    servers = platform.require_output("databases")
    admins = platform.require_output("database_admins")
    made = {}
    for slug in slugs:
        engines = [e.value for e in fleet.tenants[slug].databases]
        if not engines:
            continue
        connections = {
            engine: {
                "server": servers[engine],
                "admin_user": admins[engine]["user"],
                "admin_password": pulumi.Output.secret(admins[engine]["password"]),
            }
            for engine in engines
        }
        made[slug] = TenantDatabases(databases_name(slug), TenantDatabasesArgs(slug, connections))
    # For the migration tooling: each tenant's databases and logins (passwords secret).
    pulumi.export(
        "databases",
        kept.of("databases")
        | {
            slug: {
                engine: {
                    "host": servers[engine]["host"],
                    "port": servers[engine]["port"],
                    "database": dbs.database,
                    "user": owner,
                }
                for engine, owner in dbs.owners.items()
            }
            for slug, dbs in made.items()
        },
    )
    pulumi.export(
        "database_passwords",
        pulumi.Output.secret(
            kept.of("database_passwords") | {slug: dbs.passwords for slug, dbs in made.items()}
        ),
    )


def _gis(platform: pulumi.StackReference, fleet: Fleet, slugs: list[str], kept: _Kept) -> None:
    """Each tenant's schema, login and published layers in the site's GIS database (on its
    PostgreSQL), for the tenants whose file lists `gis_layers`."""
    servers = platform.require_output("databases")
    admins = platform.require_output("database_admins")
    made = {}
    for slug in slugs:
        tenant = fleet.tenants[slug]
        if not tenant.gis_layers:
            continue
        made[slug] = TenantGis(
            gis_name(slug),
            TenantGisArgs(
                tenant=slug,
                layers=[LayerArgs(x.name, x.title, x.public) for x in tenant.gis_layers],
                ancestors=fleet.ancestors(slug),
                server=servers["postgresql"],
                admin_user=admins["postgresql"]["user"],
                admin_password=pulumi.Output.secret(admins["postgresql"]["password"]),
            ),
        )
    # For `pdn gis load` and the agencies' GIS clients: schema, login, collections.
    pulumi.export(
        "gis",
        kept.of("gis")
        | {
            slug: {"schema": g.schema, "user": g.owner, "collections": g.collections}
            for slug, g in made.items()
        },
    )
    pulumi.export(
        "gis_passwords",
        pulumi.Output.secret(kept.of("gis_passwords") | {s: g.password for s, g in made.items()}),
    )


def _identities(
    platform: pulumi.StackReference,
    fleet: Fleet,
    slugs: list[str],
    kept: _Kept,
    *,
    signing: bool,
) -> None:
    server = platform.require_output("sso")
    admin = platform.require_output("sso_admin")
    connection = Connection(
        server["url"], server["ca_pem"], admin["user"], pulumi.Output.secret(admin["password"])
    )
    service = None
    if signing:
        found = platform.require_output("signing")
        service = SigningService(found["url"], found["ca_pem"])
    made = {}
    for slug in slugs:
        tenant = fleet.tenants[slug]
        signers = (
            None
            if service is None
            else SignersArgs(
                service,
                tenant.name,
                tuple(OfficialArgs(o.id, o.name, o.title, o.email) for o in tenant.officials),
            )
        )
        made[slug] = TenantIdentity(
            identity_name(slug),
            TenantIdentityArgs(
                tenant=slug,
                admin_groups=tuple(tenant.groups.admins),
                reader_groups=tuple(tenant.groups.readers),
                applications=tuple(
                    ApplicationArgs(a.name, a.kind.value, tuple(a.redirect_uris))
                    for a in tenant.applications
                ),
                connection=connection,
                signers=signers,
            ),
        )
    # For the tenants' applications: their client ids, and secrets (secret).
    pulumi.export(
        "sso_clients", kept.of("sso_clients") | {s: i.client_ids for s, i in made.items()}
    )
    pulumi.export(
        "sso_client_secrets",
        pulumi.Output.secret(
            kept.of("sso_client_secrets") | {s: i.client_secrets for s, i in made.items()}
        ),
    )
    if signing:  # each tenant's signing certificates: holder (seal, official id) -> serial
        pulumi.export(
            "signing_certificates",
            kept.of("signing_certificates") | {s: i.certificates for s, i in made.items()},
        )
