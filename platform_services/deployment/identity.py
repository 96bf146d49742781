"""`pdn:identity:Deployment`: single sign-on and the e-signature service as a site's cluster
runs them in production.

Keycloak (`pdn-identity`): the version the local DC runs, built for PostgreSQL once into the
image (`kc.sh build --db=postgres --health-enabled=true`, as `pdn.dc.sso` builds it), started
`--optimized`; two replicas on the compute pool sharing their caches over JGroups (JDBC_PING:
they find each other through the database, no API access), HTTPS only with the site's
certificate, its data in the site's PostgreSQL over verified TLS; the database password and the
bootstrap admin's reach it from Secrets, never from its spec.

The signing service (`pdn-pki`): `python -m pdn.tte.server` as the DC runs it, one replica (its
site CA's registry has one writer; in production its keys sit in the site's HSM) on a storage
server's local volume, several worker processes in its pod.

Both pass Pod Security `restricted`; each namespace admits only what these services need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from pdn import inventory
from pdn.dc import sso as dc_sso
from pdn.sso import cluster
from pdn.sso.realms import CIVIL_SERVANTS
from platform_services.deployment import workloads
from platform_services.deployment.workloads import ServicePort, StatefulRole

TYPE = "pdn:identity:Deployment"
KEYCLOAK = cluster.KEYCLOAK_SERVICE
SIGNING = cluster.SIGNING_SERVICE
HTTPS, MANAGEMENT, JGROUPS, JGROUPS_FD = 8443, 9000, 7800, 57800
TLS_SECRET = "identity-tls"  # noqa: S105 (a Secret's name)
POSTGRESQL = "postgresql.pdn-databases.svc:5432"


@dataclass(frozen=True)
class IdentityImages:
    """Pinned to what the local DC runs (Keycloak from Maven Central, pdn's own package),
    served by the site's registry."""

    registry: str = "registry.pdn.go.id/platform"
    keycloak: str = f"keycloak:{dc_sso.VERSION}"
    signing: str = "pdn-tte:0.1.0"

    def of(self, name: str) -> str:
        return f"{self.registry}/{getattr(self, name)}"


@dataclass
class IdentityDeploymentArgs:
    site: inventory.Site
    # The serving certificate of the services' public and in-cluster names (PEM), its key and
    # the CA that signs it (for the signing service to trust Keycloak).
    tls_cert: pulumi.Input[str]
    tls_key: pulumi.Input[str]
    ca_pem: pulumi.Input[str]
    # Keycloak's login on the site's PostgreSQL and its bootstrap admin (secret inputs).
    database_password: pulumi.Input[str]
    admin_user: pulumi.Input[str]
    admin_password: pulumi.Input[str]
    keycloak_replicas: int = 2
    signing_workers: int = 4
    signing_volume_gib: int = 10
    storage_class: str = "pdn-standard"
    images: IdentityImages = field(default_factory=IdentityImages)


class IdentityDeployment(pulumi.ComponentResource):
    urls: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: IdentityDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        sso_host, signing_host = cluster.public_hosts(args.site.code)
        for namespace in (cluster.IDENTITY_NAMESPACE, cluster.PKI_NAMESPACE):
            k8s.core.v1.Secret(
                f"{name}-tls-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=TLS_SECRET, namespace=namespace),
                type="kubernetes.io/tls",
                string_data={
                    "tls.crt": args.tls_cert,
                    "tls.key": args.tls_key,
                    "ca.crt": args.ca_pem,  # what Keycloak verifies PostgreSQL by
                },
                opts=child,
            )
        self._keycloak(name, args, sso_host, child)
        self._signing(name, args, sso_host, signing_host, child)
        self._network(name, child)
        self.urls = pulumi.Output.from_input(
            {"sso": f"https://{sso_host}", "signing": f"https://{signing_host}"}
        )
        self.register_outputs({"urls": self.urls})

    @staticmethod
    def _keycloak(
        name: str, args: IdentityDeploymentArgs, host: str, opts: pulumi.ResourceOptions
    ) -> None:
        namespace = cluster.IDENTITY_NAMESPACE
        credentials = k8s.core.v1.Secret(
            f"{name}-keycloak-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="keycloak-credentials", namespace=namespace),
            string_data={
                "database-password": args.database_password,
                "admin-user": args.admin_user,
                "admin-password": args.admin_password,
            },
            opts=opts,
        )
        selector = workloads.labels(KEYCLOAK, KEYCLOAK)
        ports = (
            ServicePort("https", HTTPS),
            ServicePort("management", MANAGEMENT),
            ServicePort("jgroups", JGROUPS),
            ServicePort("jgroups-fd", JGROUPS_FD),
        )
        mounts, volumes = workloads.mounted({TLS_SECRET: "/etc/pdn/tls"}, {})
        # Its working files (the read-only root holds the built distribution).
        mounts.append(k8s.core.v1.VolumeMountArgs(name="data", mount_path="/opt/keycloak/data"))
        volumes.append(
            k8s.core.v1.VolumeArgs(name="data", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())
        )
        container = workloads.restricted_container(
            KEYCLOAK,
            args.images.of("keycloak"),
            (
                "start",
                "--optimized",
                "--cache=ispn",
                "--cache-stack=jdbc-ping",  # peers found through the database
                f"--hostname=https://{host}",
                f"--https-port={HTTPS}",
                "--http-enabled=false",
                "--https-certificate-file=/etc/pdn/tls/tls.crt",
                "--https-certificate-key-file=/etc/pdn/tls/tls.key",
                f"--http-management-port={MANAGEMENT}",
                f"--db-url=jdbc:postgresql://{POSTGRESQL}/keycloak?sslmode=verify-full"
                "&sslrootcert=/etc/pdn/tls/ca.crt",
                "--db-username=keycloak",
            ),
            ports,
            cpu="2",
            memory="2Gi",
            env={"JAVA_OPTS_KC_HEAP": "-XX:MaxRAMPercentage=70"},
            secret_env={
                "KC_DB_PASSWORD": ("keycloak-credentials", "database-password"),
                "KC_BOOTSTRAP_ADMIN_USERNAME": ("keycloak-credentials", "admin-user"),
                "KC_BOOTSTRAP_ADMIN_PASSWORD": ("keycloak-credentials", "admin-password"),
            },
            mounts=mounts,
            readiness=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(
                    path="/health/ready", port=MANAGEMENT, scheme="HTTPS"
                ),
                period_seconds=10,
                failure_threshold=3,
            ),
        )
        # One at a time: the other keeps every session (the caches are replicated).
        workloads.rolling(
            f"{name}-keycloak",
            KEYCLOAK,
            namespace=namespace,
            selector=selector,
            pod=workloads.pod_template(selector, container, volumes, run_as=1000, pool="compute"),
            replicas=args.keycloak_replicas,
            https=HTTPS,
            service_resource=f"{name}-keycloak-service",
            opts=opts,
            depends_on=[credentials],
        )

    @staticmethod
    def _signing(
        name: str,
        args: IdentityDeploymentArgs,
        sso_host: str,
        host: str,
        opts: pulumi.ResourceOptions,
    ) -> None:
        namespace = cluster.PKI_NAMESPACE
        k8s.core.v1.ConfigMap(
            f"{name}-signing-trust",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="sso-ca", namespace=namespace),
            data={"ca.crt": args.ca_pem},
            opts=opts,
        )
        storage = [s for _, s in args.site.servers() if s.role is inventory.ServerRole.STORAGE]
        # Retained: the site CA's key and registry are never deleted with a stack.
        kept = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
        for server in storage:  # whichever storage server the pod lands on has its volume
            workloads.local_volume(
                f"{name}-pv",
                server.name,
                SIGNING,  # the role the StatefulSet's claim selects
                gib=args.signing_volume_gib,
                storage_class=args.storage_class,
                opts=kept,
            )
        role = StatefulRole(
            SIGNING,
            args.images.of("signing"),
            (
                "python",
                "-m",
                "pdn.tte.server",
                f"--site={args.site.code}",
                "--authority=/var/lib/pdn/tte",
                f"--base-url=https://{host}",
                "--host=0.0.0.0",  # the pod's own address: the policy admits who may reach it
                f"--port={HTTPS}",
                "--cert=/etc/pdn/tls/tls.crt",
                "--key=/etc/pdn/tls/tls.key",
                f"--issuer=https://{sso_host}/realms/{CIVIL_SERVANTS}",
                "--sso-ca=/etc/pdn/sso-ca/ca.crt",
                f"--workers={args.signing_workers}",
            ),
            (ServicePort("https", HTTPS),),
            replicas=1,
            volume_gib=args.signing_volume_gib,
            mount_path="/var/lib/pdn/tte",
            run_as=1000,
            pool="storage",
            cpu=str(args.signing_workers),
            memory="1Gi",
            secrets={TLS_SECRET: "/etc/pdn/tls"},
            config_maps={"sso-ca": "/etc/pdn/sso-ca"},
        )
        workloads.stateful(
            f"{name}-signing",
            role,
            namespace=namespace,
            part_of=SIGNING,
            storage_class=args.storage_class,
            opts=opts,
        )
        workloads.client_service(
            f"{name}-signing-service",
            SIGNING,
            namespace=namespace,
            selector=workloads.labels(SIGNING, SIGNING),
            ports=role.ports,
            opts=opts,
        )

    @staticmethod
    def _network(name: str, opts: pulumi.ResourceOptions) -> None:
        """Users reach both over HTTPS (through the site's ingress, and tenants' applications
        from their namespaces); Keycloak's replicas reach each other's JGroups ports; nothing
        else (each namespace denies by default)."""
        clients = [workloads.tenants_peer(), workloads.namespace_peer("pdn-system")]
        for namespace, selector, peers in (
            (
                cluster.IDENTITY_NAMESPACE,
                KEYCLOAK,
                [*clients, workloads.namespace_peer(cluster.PKI_NAMESPACE)],
            ),
            (cluster.PKI_NAMESPACE, SIGNING, clients),
        ):
            workloads.allow_ingress(
                f"{name}-{selector}-clients",
                f"allow-{selector}-clients",
                namespace=namespace,
                selector={workloads.APP: selector},
                ports=[HTTPS],
                peers=peers,
                opts=opts,
            )
        workloads.allow_ingress(
            f"{name}-keycloak-peers",
            "allow-keycloak-peers",
            namespace=cluster.IDENTITY_NAMESPACE,
            selector={workloads.APP: KEYCLOAK},
            ports=[JGROUPS, JGROUPS_FD],
            peers=[workloads.same_service_peer(KEYCLOAK)],
            opts=opts,
        )
