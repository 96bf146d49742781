"""Addresses, ports and paths of a local DC site. Everything stays in 198.18.0.0/15 or loopback."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from pdn import paths
from pdn.dc.errors import DCError

# RFC 2544 benchmarking range: never routed, reserved here for the DC and its test hosts.
DC_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
ADVERTISE_ADDRESS = ipaddress.IPv4Address("198.19.255.1")
SERVICE_CIDR = ipaddress.IPv4Network("198.19.0.0/20")
POD_CIDR = ipaddress.IPv4Network("198.19.64.0/18")
HOST_NETWORK = ipaddress.IPv4Network("198.18.208.0/24")


@dataclass(frozen=True)
class Ports:
    etcd_client: int = 12379
    etcd_peer: int = 12380
    etcd_metrics: int = 12381
    apiserver: int = 16443
    controller_manager: int = 10257
    scheduler: int = 10259
    kwok: int = 10247
    # Object storage (SeaweedFS): S3 over TLS for clients, plain S3 on loopback for probes, and
    # every internal listener set (its gRPC ports default to HTTP port + 10000).
    s3: int = 18333
    s3_https: int = 18334
    s3_grpc: int = 18335
    storage_master: int = 18336
    storage_master_grpc: int = 18337
    storage_volume: int = 18338
    storage_volume_grpc: int = 18339
    storage_filer: int = 18340
    storage_filer_grpc: int = 18341
    # Databases (DBaaS), TLS only.
    postgresql: int = 15432
    mariadb: int = 13306
    # The agencies' service names (dnsmasq).
    dns: int = 15353
    # Single sign-on (Keycloak): HTTPS, and its management port (health).
    sso: int = 18443
    sso_management: int = 18444
    # The e-signature service (signing API, TSA, OCSP, CRLs): HTTPS.
    tte: int = 18480
    # The GIS platform's feature service (OGC API Features): HTTPS; pygeoapi behind it, on
    # loopback.
    gis: int = 18490
    gis_backend: int = 18491
    # Cluster API's managers, one port of each range per manager (core, bootstrap, control
    # plane, CAPD); CAPD's fixed ports are in pdn.dc.cluster_api.
    capi_webhook: int = 19443
    capi_health: int = 19453
    capi_diagnostics: int = 19463
    # CAPD's in-memory workload API servers: a debug listener, and one listener per cluster
    # from capd_clusters up (20 clusters per DC).
    capd_debug: int = 19000
    capd_clusters: int = 19001
    # The workload clusters' own control planes: 10 ports each from here (see for_cluster).
    workload_planes: int = 31000


DATABASE_ROOT = Path("/var/lib/pdn/dc")


@dataclass(frozen=True)
class DCSettings:
    site_code: str
    interface: str = "pdn-dc0"
    # The apiserver advertises this address (on a dummy interface) and listens on loopback only.
    advertise_address: ipaddress.IPv4Address = ADVERTISE_ADDRESS
    service_cidr: ipaddress.IPv4Network = SERVICE_CIDR
    pod_cidr: ipaddress.IPv4Network = POD_CIDR
    # The PDN hosts' network (IaaS): a bridge of the DC, the first address its gateway.
    host_network: ipaddress.IPv4Network = HOST_NETWORK
    ports: Ports = field(default_factory=Ports)
    listen_host: str = "127.0.0.1"
    state_root: Path = field(default_factory=paths.state_dir)
    # A workload cluster's own control plane in this DC (None: the DC's cluster itself).
    cluster: str | None = None

    @property
    def root(self) -> Path:
        site = self.state_root / "dc" / self.site_code
        return site if self.cluster is None else site / "clusters" / self.cluster

    def for_cluster(self, name: str, index: int) -> DCSettings:
        """The settings of workload cluster `name`'s control plane, the index-th of the site:
        its own state (PKI, etcd, kubeconfigs, logs) under the DC's, and its own ports; the
        DC's address, networks and host."""
        base = self.ports.workload_planes + 10 * index
        ports = replace(
            self.ports,
            etcd_client=base,
            etcd_peer=base + 1,
            etcd_metrics=base + 2,
            apiserver=base + 3,
            controller_manager=base + 4,
            scheduler=base + 5,
            kwok=base + 6,
        )
        return replace(self, cluster=name, ports=ports)

    @property
    def pki_dir(self) -> Path:
        return self.root / "pki"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def object_storage_dir(self) -> Path:
        return self.root / "object-storage"

    @property
    def database_dir(self) -> Path:
        """The database servers' data: outside the state root, which sits in root's home (0700),
        where their unprivileged users could not reach it; one per site and state root."""
        digest = hashlib.sha256(str(self.state_root.resolve()).encode()).hexdigest()[:8]
        return DATABASE_ROOT / f"{self.site_code}-{digest}"

    @property
    def etcd_data_dir(self) -> Path:
        return self.root / "etcd"

    @property
    def admin_kubeconfig(self) -> Path:
        """The platform's admin: RBAC-bound (group pdn:platform-admins), revocable."""
        return self.root / "kubeconfigs" / "admin.kubeconfig"

    @property
    def super_admin_kubeconfig(self) -> Path:
        """Break-glass (system:masters): only to restore the platform admins' binding."""
        return self.root / "kubeconfigs" / "super-admin.kubeconfig"

    def kubeconfig(self, component: str) -> Path:
        return self.root / "kubeconfigs" / f"{component}.kubeconfig"

    @property
    def apiserver_url(self) -> str:
        return f"https://{self.listen_host}:{self.ports.apiserver}"

    @property
    def first_service_ip(self) -> ipaddress.IPv4Address:
        return self.service_cidr.network_address + 1

    @property
    def host_pool_dir(self) -> Path:
        """The PDN hosts of the DC (IaaS): their allocations and roots."""
        return self.root / "hosts"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    def to_json(self) -> str:
        if self.cluster is not None:
            raise ValueError("only the DC's own settings are kept in its settings file")
        fields = {k: str(v) for k, v in vars(self).items() if k not in ("ports", "cluster")}
        return json.dumps({**fields, "ports": vars(self.ports)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DCSettings:
        raw = json.loads(text)
        return cls(
            site_code=raw["site_code"],
            interface=raw["interface"],
            advertise_address=ipaddress.IPv4Address(raw["advertise_address"]),
            service_cidr=ipaddress.IPv4Network(raw["service_cidr"]),
            pod_cidr=ipaddress.IPv4Network(raw["pod_cidr"]),
            host_network=ipaddress.IPv4Network(raw.get("host_network", str(HOST_NETWORK))),
            ports=Ports(**raw["ports"]),
            listen_host=raw["listen_host"],
            state_root=Path(raw["state_root"]),
        )


def settings_of(site_code: str) -> DCSettings:
    """The settings the site's DC was brought up with (its addresses and ports, which a test or
    a benchmark may have moved), else the defaults: every command then reaches the DC that runs."""
    default = DCSettings(site_code=site_code)
    try:
        return DCSettings.from_json(default.settings_file.read_text())
    except FileNotFoundError:
        return default
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DCError(
            f"{default.settings_file}: unreadable ({err}); remove it and run `pdn dc up`"
        ) from err
