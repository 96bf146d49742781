"""Where pdn keeps things: the clone, a cache (rebuildable) and state (not rebuildable).

Both live outside the clone so a fresh clone reuses a built toolchain and an existing stack.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Rebuildable artefacts: the toolchain, Pulumi's plugin home, build logs."""
    configured = os.environ.get("PDN_CACHE_DIR")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "pdn"


def state_dir() -> Path:
    """State that must survive: Pulumi stacks, secrets passphrase, the local DC."""
    configured = os.environ.get("PDN_STATE_DIR")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "pdn"


def venv_bin() -> Path:
    """The bin/ of the Python environment pdn runs in (the project's venv)."""
    return Path(sys.executable).parent
