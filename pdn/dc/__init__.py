"""The local national DC: a PDN site's control plane and nodes, run on this machine.

`LocalDC` lives in pdn.dc.lifecycle (it imports the Kubernetes client: CLI commands import it
only when they run).
"""

from pdn.dc.errors import DCError
from pdn.dc.settings import DCSettings

__all__ = ["DCError", "DCSettings"]
