"""Hardware inventories of PDN sites: typed model and validating loader."""

from pdn import paths
from pdn.inventory.loader import InventoryError, load_site, parse_site
from pdn.inventory.model import Rack, Server, ServerRole, Site

# The site the local national DC runs by default.
LOCAL_SITE = paths.REPO_ROOT / "infra" / "inventory" / "local.yaml"

__all__ = [
    "LOCAL_SITE",
    "InventoryError",
    "Rack",
    "Server",
    "ServerRole",
    "Site",
    "load_site",
    "parse_site",
]
