"""Hardware inventories of PDN sites: typed model and validating loader."""

from pdn import paths
from pdn.inventory.loader import InventoryError, load_site, parse_site
from pdn.inventory.model import (
    Bmc,
    Cluster,
    ClusterClass,
    ClusterPurpose,
    NodePool,
    Rack,
    Server,
    ServerRole,
    Site,
)

INVENTORY_DIR = paths.REPO_ROOT / "infra" / "inventory"
# The site the local national DC runs by default.
LOCAL_SITE = INVENTORY_DIR / "local.yaml"


def all_sites() -> dict[str, Site]:
    """Every site of the committed inventories, by code."""
    return {
        site.code: site for site in (load_site(p) for p in sorted(INVENTORY_DIR.glob("*.yaml")))
    }


__all__ = [
    "INVENTORY_DIR",
    "LOCAL_SITE",
    "Bmc",
    "Cluster",
    "ClusterClass",
    "ClusterPurpose",
    "InventoryError",
    "NodePool",
    "Rack",
    "Server",
    "ServerRole",
    "Site",
    "all_sites",
    "load_site",
    "parse_site",
]
