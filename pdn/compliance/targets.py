"""What `pdn comply run` checks: hosts (the estate's and the DC's PDN hosts, over SSH), the
clusters (through their API), the tenants (their files and what onboarding made of them on
their cluster), the object stores (S3) and every TLS endpoint. Chosen at run time from the
running DC, the estate and the tenant files; hosts reach the suite as testinfra's --hosts, the
rest as a Scope handed to it in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

if TYPE_CHECKING:
    from pdn.dataservices.runner import StatusRow
    from pdn.dataservices.s3 import Endpoint
    from pdn.dc.lifecycle import LocalDC
    from pdn.tenants.fleet import Fleet
    from pdn.tenants.model import Tenant


@dataclass(frozen=True)
class HostTarget:
    """A host checked over SSH: an agency's (estate-host) or one of the DC's PDN hosts."""

    kind: str  # pdn-host, estate-host
    name: str
    address: str
    key: Path
    known_hosts: Path
    agency: str = ""  # whose host it is: the tenant it serves or its room moves to
    mirror: str = ""  # the DC's package mirror its apt must read (its URL)

    @property
    def alias(self) -> str:
        return f"{self.kind}.{self.name}"


def pdn_host_targets(dc: LocalDC, fleet: Fleet) -> list[HostTarget]:
    """The DC's PDN hosts (IaaS), each the tenant's whose file declares it."""
    from pdn.estate.services import mirror_url  # noqa: PLC0415

    pool = dc.host_pool()
    key, known_hosts = pool.ssh_identity()
    owners = {f"{t.slug}-{h.name}": t.slug for t in fleet.tenants.values() for h in t.hosts}
    allocations = pool.allocations()
    mirror = mirror_url(pool.runtime(allocations).estate)
    return [
        HostTarget("pdn-host", name, address, key, known_hosts, owners.get(name, ""), mirror)
        for name, address in sorted(allocations.items())
    ]


@dataclass(frozen=True)
class ClusterTarget:
    name: str
    kubeconfig: Path  # the platform admin's (RBAC-bound; may impersonate, as the audits need)
    audit_log: Path | None  # where its API server writes its audit events, if pdn can read it

    @property
    def target(self) -> str:
        return f"cluster/{self.name}"

    def api_client(self, *, user: str | None = None, group: str | None = None) -> Any:
        """A client as the platform admin, or acting as user of group (impersonation)."""
        api = k8s_config.new_client_from_config(config_file=str(self.kubeconfig))
        if user is not None:
            api.set_default_header("Impersonate-User", user)
        if group is not None:
            api.set_default_header("Impersonate-Group", group)
        return api

    def server(self) -> tuple[str, str]:
        """The API server's URL and the CA file that signs it, from the kubeconfig."""
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return str(configuration.host), str(configuration.ssl_ca_cert)


@dataclass(frozen=True)
class TenantTarget:
    tenant: Tenant
    cluster: ClusterTarget  # the cluster its data class placed it on
    peers: tuple[Tenant, ...]  # every other tenant on that cluster
    units: tuple[str, ...]  # the tenants below it, which its readers may read

    @property
    def target(self) -> str:
        return f"tenant/{self.tenant.slug}"


@dataclass(frozen=True)
class StoreTarget:
    name: str
    endpoint: Endpoint
    admin: Callable[[], Any]  # a boto3 S3 client with the platform admin's key

    @property
    def target(self) -> str:
        return f"object-storage/{self.name}"


@dataclass(frozen=True)
class TlsTarget:
    """An endpoint that must speak TLS: host and port, the CA that signs it, and the protocol
    that asks for TLS first (openssl's -starttls: postgres, mysql), if any."""

    name: str
    host: str
    port: int
    ca: Path
    starttls: str | None = None

    @property
    def target(self) -> str:
        return f"tls-endpoint/{self.name}"


@dataclass(eq=False)  # a pytest plugin: registered by identity
class Scope:
    """Everything a run checks besides hosts; backups: the backup status of every tenant (read
    once per run, when a backup control asks)."""

    clusters: list[ClusterTarget] = field(default_factory=list)
    tenants: list[TenantTarget] = field(default_factory=list)
    stores: list[StoreTarget] = field(default_factory=list)
    endpoints: list[TlsTarget] = field(default_factory=list)
    backups: Callable[[], list[StatusRow]] | None = None
    mirrors: dict[str, str] = field(default_factory=dict)  # host alias -> its DC mirror's URL

    # The suite's test argument each kind of target is given as.
    def by_argument(self) -> dict[str, list[Any]]:
        return {
            "cluster": self.clusters,
            "tenant": self.tenants,
            "store": self.stores,
            "endpoint": self.endpoints,
        }


def local_scope(dc: LocalDC, fleet: Fleet) -> Scope:
    """The local DC's clusters and object stores, and the fleet's tenants of its site."""
    from pdn.clusters.placement import placements  # noqa: PLC0415
    from pdn.dataservices import runner  # noqa: PLC0415
    from pdn.dc import object_storage  # noqa: PLC0415

    clusters = {
        None: ClusterTarget(dc.site.code, dc.kubeconfig, dc.settings.log_dir / "audit.log"),
    } | {
        name: ClusterTarget(
            name, plane.settings.admin_kubeconfig, plane.settings.log_dir / "audit.log"
        )
        for name, plane in dc.workload_planes.items()
    }
    here = [t for t in fleet.tenants.values() if dc.site.code in t.sites]
    placed = placements(dc.site, here)
    tenants = [
        TenantTarget(
            tenant,
            clusters[placed.get(tenant.slug)],
            tuple(
                t
                for t in here
                if t.slug != tenant.slug and placed.get(t.slug) == placed.get(tenant.slug)
            ),
            tuple(fleet.units(tenant.slug)),
        )
        for tenant in here
    ]
    stores = [
        StoreTarget(
            store.name,
            dc.object_storage_endpoint(store),
            lambda store=store: dc.object_storage_client(store),  # type: ignore[misc]
        )
        for store in object_storage.STORES
    ]

    def backups() -> list[StatusRow]:
        return runner.status(runner.local_sites(dc), fleet, dc.site.code)

    return Scope(list(clusters.values()), tenants, stores, tls_endpoints(dc, clusters), backups)


def tls_endpoints(dc: LocalDC, clusters: dict[str | None, ClusterTarget]) -> list[TlsTarget]:
    """Every endpoint the DC serves: each cluster's API server, each object store's S3, each
    database server."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    from pdn.dataservices import sql  # noqa: PLC0415
    from pdn.dc import control_plane, object_storage  # noqa: PLC0415

    ca = control_plane.credential_paths(dc.settings).ca.cert
    found = []
    for cluster in clusters.values():
        server, cluster_ca = cluster.server()  # a workload cluster has a CA of its own
        url = urlsplit(server)
        found.append(
            TlsTarget(f"api-{cluster.name}", url.hostname or "", url.port or 443, Path(cluster_ca))
        )
    for store in object_storage.STORES:
        url = urlsplit(dc.object_storage_endpoint(store).url)
        found.append(TlsTarget(f"s3-{store.name}", url.hostname or "", url.port or 443, Path(ca)))
    for engine, starttls in ((sql.POSTGRESQL, "postgres"), (sql.MARIADB, "mysql")):
        database = dc.database_admin(engine).server
        found.append(TlsTarget(engine, database.host, database.port, Path(ca), starttls))
    return found
