"""Hardware inventories of PDN sites: typed model and validating loader."""

from pdn.inventory.loader import InventoryError, load_site, parse_site
from pdn.inventory.model import Rack, Server, ServerRole, Site

__all__ = ["InventoryError", "Rack", "Server", "ServerRole", "Site", "load_site", "parse_site"]
