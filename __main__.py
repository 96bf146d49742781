"""The pdn Pulumi program: read config, load the inventory, wire components, export."""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from infra.cluster import ClusterBaseline, ClusterBaselineArgs
from infra.clusters import (
    MachineBackend,
    MachineImage,
    Machines,
    SiteClusters,
    SiteClustersArgs,
    WorkloadClusters,
    WorkloadClustersArgs,
)
from infra.site import Site, SiteArgs
from pdn.clusters import ClusterError
from pdn.clusters.baremetal import bare_metal_problems
from pdn.clusters.placement import placements
from pdn.inventory import InventoryError, all_sites, load_site
from pdn.tenants.errors import TenantError
from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files
from platform_services.deployment import Deployment as DataServices
from platform_services.deployment import DeploymentArgs as DataServicesArgs
from platform_services.deployment.gis import GisDeployment, GisDeploymentArgs
from platform_services.deployment.identity import IdentityDeployment, IdentityDeploymentArgs
from platform_services.gis.platform import GisPlatform, GisPlatformArgs
from platform_services.sso.identity import Connection, SingleSignOn, SingleSignOnArgs

config = pulumi.Config("pdn")
try:
    site_inventory = load_site(Path(config.require("inventory")))
except InventoryError as err:  # one located line, not a traceback
    raise pulumi.RunError(str(err)) from err
# A stack is bound to one site (`pdn up` writes pdn:site): another site's inventory is refused.
bound_site = config.get("site")
if bound_site is not None and bound_site != site_inventory.code:
    raise pulumi.RunError(
        f"this stack is bound to site {bound_site!r}, but pdn:inventory is site "
        f"{site_inventory.code!r}: use the stack of that site"
    )
# Where the site's tenants live: the workload cluster of their data's class. A cluster that
# tenants live on cannot leave the inventory.
try:
    fleet = load_fleet(
        tenant_files(Path(config.get("tenantsDir") or TENANTS_DIR)),
        # Checked against the committed sites, as the tenant stacks check them.
        {site_inventory.code: site_inventory, **all_sites()},
    )
    tenant_clusters = placements(site_inventory, fleet.tenants.values())
except (TenantError, ClusterError) as err:
    raise pulumi.RunError(str(err)) from err
# The site's cluster; set by `pdn up` from the local DC, or by the operator for a real site.
kubeconfig = config.get_secret("kubeconfig")

site = Site(
    site_inventory.code,
    SiteArgs(site=site_inventory, bmc_password=config.get_secret("bmcPassword")),
)

pulumi.export("site", site.code)
pulumi.export("region_code", site.region_code)
pulumi.export("zones", site.zones)
pulumi.export("server_count", site.server_count)
pulumi.export("capacity", site.capacity)

if kubeconfig is not None:
    cluster = k8s.Provider(
        f"{site_inventory.code}-cluster",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
    )
    # The site's own cluster: the management cluster, which hosts the shared services too.
    baseline = ClusterBaseline(
        f"{site_inventory.code}-baseline",
        ClusterBaselineArgs(site=site_inventory.cluster_view()),
        pulumi.ResourceOptions(providers=[cluster], depends_on=[site]),
    )
    pulumi.export("namespaces", baseline.namespaces)
    pulumi.export("priority_classes", baseline.priority_classes)
    pulumi.export("storage_class", baseline.storage_class)
    pulumi.export("ingress_class", baseline.ingress_class)
    pulumi.export("node_pools", baseline.node_pools)
    pulumi.export("tenant_roles", baseline.tenant_roles)
    if site_inventory.clusters:
        # This cluster is the site's management cluster: Cluster API there makes the others,
        # from the site's servers through Metal3 in production (pdn:machineBackend metal3).
        backend = MachineBackend(config.get("machineBackend") or "in-memory")
        machines = Machines(backend)
        if backend is MachineBackend.METAL3:
            if problems := bare_metal_problems(site_inventory):
                raise pulumi.RunError("; ".join(problems))
            machines = Machines(
                backend,
                MachineImage(
                    config.require("machineImageUrl"), config.require("machineImageSha256")
                ),
            )
        clusters = SiteClusters(
            f"{site_inventory.code}-clusters",
            SiteClustersArgs(
                site=site_inventory,
                kubeconfig=kubeconfig,
                machines=machines,
                bmc_username=config.get("bmcUsername") or "pdn-metal3",
                bmc_password=config.require_secret("bmcPassword")
                if backend is MachineBackend.METAL3
                else None,
            ),
            pulumi.ResourceOptions(providers=[cluster], depends_on=[baseline]),
        )
        pulumi.export("clusters", clusters.versions)
        # Which machine stands on which server: what retiring a server acts on.
        pulumi.export("cluster_machines", clusters.machines)
        pulumi.export("tenant_clusters", tenant_clusters)
        # The workload clusters tenants land on, each with the baseline. Their kubeconfigs:
        # from `pdn up` on the local DC (its real control plane per workload cluster).
        workload_kubeconfigs = config.get_secret_object("clusterKubeconfigs")
        if workload_kubeconfigs is None:
            pulumi.log.warn(
                "no pdn:clusterKubeconfigs (a secret object, cluster name -> kubeconfig): the "
                "workload clusters are made, but get no baseline and take no tenants (`pdn up` "
                "sets it on the local DC)"
            )
        else:
            workloads = WorkloadClusters(
                f"{site_inventory.code}-workloads",
                WorkloadClustersArgs(site=site_inventory, kubeconfigs=workload_kubeconfigs),
                pulumi.ResourceOptions(depends_on=[clusters]),
            )
            # For the tenant stacks: the cluster a tenant's data class picks.
            pulumi.export("workload_kubeconfigs", workloads.kubeconfigs_by_class)
    # For the tenant stacks (tenancy/), through a stack reference: the cluster they onboard to.
    pulumi.export("kubeconfig", pulumi.Output.secret(kubeconfig))

# The site's object store, for the tenant stacks: where it answers (plain) and the platform's
# key on it (secret), from which each tenant gets its buckets and its own key.
object_storage_url = config.get("objectStorageUrl")

# The data services as the cluster runs them in production (on the local DC, kwok runs their
# pods while the real servers run as the DC's processes; the config above says which one the
# tenants use).
cluster_tls_cert = config.get("dataServicesTlsCert")
if kubeconfig is not None and cluster_tls_cert is not None and object_storage_url is not None:
    data_services = DataServices(
        f"{site_inventory.code}-data-services",
        DataServicesArgs(
            site=site_inventory.cluster_view(),
            tls_cert=cluster_tls_cert,
            tls_key=config.require_secret("dataServicesTlsKey"),
            s3_admin_access_key=config.require_secret("objectStorageAccessKey"),
            s3_admin_secret_key=config.require_secret("objectStorageSecretKey"),
        ),
        pulumi.ResourceOptions(providers=[cluster], depends_on=[baseline]),
    )
    pulumi.export(
        "data_services_cluster",
        {"endpoints": data_services.endpoints, "volumes": data_services.volumes},
    )
if object_storage_url is not None:
    pulumi.export(
        "object_storage",
        {
            "url": object_storage_url,
            "ca_pem": config.require("objectStorageCa"),
            "master": config.get("objectStorageMaster") or "",
            "filer": config.get("objectStorageFiler") or "",
        },
    )
    pulumi.export(
        "object_storage_admin",
        pulumi.Output.secret(
            {
                "access_key": config.require_secret("objectStorageAccessKey"),
                "secret_key": config.require_secret("objectStorageSecretKey"),
            }
        ),
    )

# The site's database servers (DBaaS), for the tenant stacks: each engine's endpoint (plain)
# and the platform's admin login on it (secret).
database_servers = {
    engine: endpoint
    for engine in ("postgresql", "mariadb")
    if (endpoint := config.get(f"{engine}Endpoint")) is not None
}
if database_servers:
    database_ca = config.require("databaseCa")
    pulumi.export(
        "databases",
        {
            engine: {
                "engine": engine,
                "host": endpoint.rsplit(":", 1)[0],
                "port": int(endpoint.rsplit(":", 1)[1]),
                "ca_pem": database_ca,
            }
            for engine, endpoint in database_servers.items()
        },
    )
    pulumi.export(
        "database_admins",
        pulumi.Output.secret(
            {
                engine: {
                    "user": config.require("databaseAdminUser"),
                    "password": config.require_secret(f"{engine}AdminPassword"),
                }
                for engine in database_servers
            }
        ),
    )

# The GIS platform on the site's PostgreSQL: the PostGIS database every agency's layers live in,
# and the national reference layer of administrative regions.
if "postgresql" in database_servers:
    gis_host, gis_port = database_servers["postgresql"].rsplit(":", 1)
    gis = GisPlatform(
        f"{site_inventory.code}-gis",
        GisPlatformArgs(
            server={
                "engine": "postgresql",
                "host": gis_host,
                "port": int(gis_port),
                "ca_pem": config.require("databaseCa"),
            },
            admin_user=config.require("databaseAdminUser"),
            admin_password=config.require_secret("postgresqlAdminPassword"),
        ),
    )
    pulumi.export(
        "gis",
        {
            "database": gis.database,
            "reference": {"rows": gis.reference_rows, "version": gis.reference_version},
        },
    )

# The site's single sign-on: its realms (civil servants, citizens) with their rules, and for
# the tenant stacks where it answers and the platform's admin on it (secret).
sso_url = config.get("ssoUrl")
if sso_url is not None:
    sso_admin_user = config.require("ssoAdminUser")
    sso_admin_password = config.require_secret("ssoAdminPassword")
    single_sign_on = SingleSignOn(
        f"{site_inventory.code}-sso",
        SingleSignOnArgs(
            Connection(sso_url, config.require("ssoCa"), sso_admin_user, sso_admin_password)
        ),
    )
    pulumi.export(
        "sso",
        {"url": sso_url, "ca_pem": config.require("ssoCa"), "issuers": single_sign_on.issuers},
    )
    pulumi.export(
        "sso_admin",
        pulumi.Output.secret({"user": sso_admin_user, "password": sso_admin_password}),
    )

# The site's e-signature service, where the tenant stacks have their signing certificates
# issued (by the SSO's registrar client).
signing_url = config.get("signingUrl")
if signing_url is not None:
    pulumi.export("signing", {"url": signing_url, "ca_pem": config.require("signingCa")})

# Both as the cluster runs them in production (on the local DC, kwok runs their pods while the
# real ones run as the DC's processes).
identity_tls_cert = config.get("identityTlsCert")
if kubeconfig is not None and identity_tls_cert is not None and sso_url is not None:
    identity = IdentityDeployment(
        f"{site_inventory.code}-identity",
        IdentityDeploymentArgs(
            site=site_inventory.cluster_view(),
            tls_cert=identity_tls_cert,
            tls_key=config.require_secret("identityTlsKey"),
            ca_pem=config.require("ssoCa"),
            database_password=config.require_secret("ssoDatabasePassword"),
            admin_user=config.require("ssoAdminUser"),
            admin_password=config.require_secret("ssoAdminPassword"),
        ),
        pulumi.ResourceOptions(providers=[cluster], depends_on=[baseline]),
    )
    pulumi.export("identity_cluster", {"urls": identity.urls})

# The GIS feature service as the cluster runs it in production (kwok runs its pods on the local
# DC, where the real one is the DC's process).
gis_tls_cert = config.get("gisTlsCert")
if kubeconfig is not None and gis_tls_cert is not None and sso_url is not None:
    gis_service = GisDeployment(
        f"{site_inventory.code}-gis-service",
        GisDeploymentArgs(
            site=site_inventory.cluster_view(),
            tls_cert=gis_tls_cert,
            tls_key=config.require_secret("gisTlsKey"),
            ca_pem=config.require("ssoCa"),
            database_password=config.require_secret("gisDatabasePassword"),
        ),
        pulumi.ResourceOptions(providers=[cluster], depends_on=[baseline]),
    )
    pulumi.export("gis_cluster", {"url": gis_service.url})
