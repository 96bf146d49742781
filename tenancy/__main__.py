"""One shard of the tenant fleet on one site: read config, load and check the fleet, wire one
`pdn:tenancy:Tenant` per tenant of this shard, export. The site's cluster comes from the
platform stack, through a stack reference."""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from infra.tenancy import Tenant, TenantArgs
from pdn.inventory import all_sites
from pdn.tenants.errors import TenantError
from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files
from pdn.tenants.render import render
from pdn.tenants.shards import shard_of

config = pulumi.Config("pdn")
site = config.require("site")
shard = config.require_int("shard")
platform = pulumi.StackReference(config.require("platformStack"))
try:
    fleet = load_fleet(tenant_files(Path(config.get("tenantsDir") or TENANTS_DIR)), all_sites())
except TenantError as err:  # every problem, one line each; nothing is touched
    raise pulumi.RunError(f"the tenant files are invalid:\n{err}") from err

cluster = k8s.Provider(
    f"{site}-cluster",
    kubeconfig=platform.require_output("kubeconfig"),
    enable_server_side_apply=True,
)
placed = sorted(
    slug
    for slug, tenant in fleet.tenants.items()
    if site in tenant.sites and shard_of(slug) == shard
)
tenants = {
    slug: Tenant(
        slug, TenantArgs(render(fleet, slug, site)), pulumi.ResourceOptions(provider=cluster)
    )
    for slug in placed
}
pulumi.export("tenants", placed)
pulumi.export("namespaces", {slug: t.namespace for slug, t in tenants.items()})
