"""`pdn:gis:Deployment`: the GIS platform's feature service as a site's cluster runs it in
production (namespace `pdn-gis`).

As the local DC runs it: `pdn-features` (the compiled front: HTTPS, feature queries from
PostGIS) with `gunicorn 'pdn.gis.server:application()'` (pygeoapi, the rest of the API) beside
it in the same pod, reached on the pod's loopback only; both check the DC's SSO tokens. Two
replicas on the compute pool (it keeps no state: the catalogue and the layers are in the site's
PostgreSQL), HTTPS with the site's certificate of its public and in-cluster names; its database
password reaches both containers from a Secret, never from their spec. Pod Security
`restricted`; the namespace admits only HTTPS from tenants and the platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from pdn import inventory
from pdn.gis.reference import SERVICE_ROLE
from pdn.sso import cluster
from pdn.sso.realms import CIVIL_SERVANTS
from platform_services.deployment import workloads
from platform_services.deployment.workloads import ServicePort

TYPE = "pdn:gis:Deployment"
NAMESPACE = "pdn-gis"
SERVICE = "pdn-gis"
HTTPS = 8443
PYGEOAPI = 8080  # on the pod's loopback: the front is its only client
TLS_SECRET = "gis-tls"  # noqa: S105 (a Secret's name)
CREDENTIALS = "gis-credentials"
POSTGRESQL_HOST, POSTGRESQL_PORT = "postgresql.pdn-databases.svc", 5432


def public_host(site: str) -> str:
    return f"gis.{site}.pdn.go.id"


def service_names(site: str) -> tuple[str, ...]:
    short = f"{SERVICE}.{NAMESPACE}.svc"
    return public_host(site), short, f"{short}.cluster.local"


@dataclass(frozen=True)
class GisImages:
    """pdn's own package (pygeoapi and gunicorn pinned in it) and its feature front (the
    toolchain's pdn-features), from the site's registry."""

    registry: str = "registry.pdn.go.id/platform"
    features: str = "pdn-gis:0.1.0"
    front: str = "pdn-features:0.1.0"

    def of(self, name: str) -> str:
        return f"{self.registry}/{getattr(self, name)}"


@dataclass
class GisDeploymentArgs:
    site: inventory.Site
    # The serving certificate of the service's public and in-cluster names (PEM), its key, and
    # the CA that signs it and the site's PostgreSQL and SSO (what it verifies them by).
    tls_cert: pulumi.Input[str]
    tls_key: pulumi.Input[str]
    ca_pem: pulumi.Input[str]
    database_password: pulumi.Input[str]  # the login pdn_gis_service's (secret input)
    replicas: int = 2
    workers: int = 2  # gunicorn processes per pod
    images: GisImages = field(default_factory=GisImages)


class GisDeployment(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: GisDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        host = public_host(args.site.code)
        sso_host, _signing = cluster.public_hosts(args.site.code)
        k8s.core.v1.Secret(
            f"{name}-tls",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=TLS_SECRET, namespace=NAMESPACE),
            type="kubernetes.io/tls",
            string_data={"tls.crt": args.tls_cert, "tls.key": args.tls_key, "ca.crt": args.ca_pem},
            opts=child,
        )
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CREDENTIALS, namespace=NAMESPACE),
            string_data={"database-password": args.database_password},
            opts=child,
        )
        selector = workloads.labels(SERVICE, SERVICE)
        tls, volumes = workloads.mounted({TLS_SECRET: "/etc/pdn/tls"}, {})
        # gunicorn's heartbeat files (the root file system is read-only).
        heartbeats = k8s.core.v1.VolumeMountArgs(name="run", mount_path="/run/pdn")
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="run", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory")
            )
        )
        env = {
            "PDN_GIS_URL": f"https://{host}",
            "PDN_GIS_DB_HOST": POSTGRESQL_HOST,
            "PDN_GIS_DB_PORT": str(POSTGRESQL_PORT),
            "PDN_GIS_DB_USER": SERVICE_ROLE,
            "PDN_GIS_DB_CA": "/etc/pdn/tls/ca.crt",
            "PDN_GIS_ISSUER": f"https://{sso_host}/realms/{CIVIL_SERVANTS}",
            "PDN_GIS_SSO_CA": "/etc/pdn/tls/ca.crt",
        }
        password = {"PDN_GIS_DB_PASSWORD": (CREDENTIALS, "database-password")}
        front = workloads.restricted_container(
            "features",
            args.images.of("front"),
            (),
            (ServicePort("https", HTTPS),),
            cpu="1",
            memory="256Mi",
            env={
                **env,
                "PDN_GIS_LISTEN": f"0.0.0.0:{HTTPS}",  # the pod's address: the policy says who
                "PDN_GIS_TLS_CERT": "/etc/pdn/tls/tls.crt",
                "PDN_GIS_TLS_KEY": "/etc/pdn/tls/tls.key",
                "PDN_GIS_BACKEND": f"http://127.0.0.1:{PYGEOAPI}",
            },
            secret_env=password,
            mounts=tls,
            # /health passes through to pygeoapi: ready when both answer.
            readiness=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path="/health", port=HTTPS, scheme="HTTPS"),
                period_seconds=10,
                failure_threshold=3,
            ),
        )
        pygeoapi = workloads.restricted_container(
            "pygeoapi",
            args.images.of("features"),
            (
                "python",
                "-m",
                "gunicorn",
                "--config=python:pdn.gis.gunicorn_conf",
                f"--bind=127.0.0.1:{PYGEOAPI}",
                f"--workers={args.workers}",
                "--worker-class=gthread",
                "--threads=4",
                "--graceful-timeout=5",
                "--access-logfile=-",
                "--worker-tmp-dir=/run/pdn",
                "pdn.gis.server:application()",
            ),
            (),
            cpu=str(args.workers),
            memory="1Gi",
            env=env,
            secret_env=password,
            mounts=[*tls, heartbeats],
        )
        workloads.rolling(
            f"{name}-features",
            SERVICE,
            namespace=NAMESPACE,
            selector=selector,
            pod=workloads.pod_template(
                selector, front, volumes, run_as=1000, pool="compute", sidecars=[pygeoapi]
            ),
            replicas=args.replicas,
            https=HTTPS,
            service_resource=f"{name}-service",
            opts=child,
            depends_on=[credentials],
        )
        # Tenants' applications and the platform reach it over HTTPS; nothing else does.
        workloads.allow_ingress(
            f"{name}-clients",
            "allow-gis-clients",
            namespace=NAMESPACE,
            selector={workloads.APP: SERVICE},
            ports=[HTTPS],
            peers=[workloads.tenants_peer(), workloads.namespace_peer("pdn-system")],
            opts=child,
        )
        self.url = pulumi.Output.from_input(f"https://{host}")
        self.register_outputs({"url": self.url})
