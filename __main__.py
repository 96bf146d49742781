"""The pdn Pulumi program: read config, load the inventory, wire components, export."""

from pathlib import Path

import pulumi

from infra.site import Site, SiteArgs
from pdn.inventory import load_site

config = pulumi.Config("pdn")
site_inventory = load_site(Path(config.require("inventory")))

site = Site(
    site_inventory.code,
    SiteArgs(site=site_inventory, bmc_password=config.get_secret("bmcPassword")),
)

pulumi.export("site", site.code)
pulumi.export("region_code", site.region_code)
pulumi.export("zones", site.zones)
pulumi.export("server_count", site.server_count)
pulumi.export("capacity", site.capacity)
if site.bmc_password is not None:
    pulumi.export("bmc_password", site.bmc_password)
