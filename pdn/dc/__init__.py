"""The local national DC: a PDN site's control plane and nodes, run on this machine."""

from pdn.dc.errors import DCError
from pdn.dc.lifecycle import DCStatus, LocalDC
from pdn.dc.settings import DCSettings

__all__ = ["DCError", "DCSettings", "DCStatus", "LocalDC"]
