"""One shard of the tenant fleet on one site, when the stack is driven by the plain pulumi CLI
(`pdn tenant up` runs the same program inline): read config, load and check the fleet, run it."""

from pathlib import Path

import pulumi

from infra.tenancy.shard import shard_program
from pdn.inventory import all_sites
from pdn.tenants.errors import TenantError
from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files

config = pulumi.Config("pdn")
try:
    fleet = load_fleet(tenant_files(Path(config.get("tenantsDir") or TENANTS_DIR)), all_sites())
except TenantError as err:  # every problem, one line each; nothing is touched
    raise pulumi.RunError(f"the tenant files are invalid:\n{err}") from err

shard_program(
    fleet,
    config.require("site"),
    config.require_int("shard"),
    config.require("platformStack"),
    data_services=config.get_bool("dataServices") or False,
    sso=config.get_bool("sso") or False,
    signing=config.get_bool("signing") or False,
    hosts={
        key: value
        for key in ("backend", "pool", "network")
        if (value := config.get(f"host{key.capitalize()}")) is not None
    },
)()
