"""Passwords the DC makes for its own services: generated once, kept owner-only in a JSON file
of the DC's state, and made again only where one is missing."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path

from pdn.dc.errors import DCError
from pdn.files import write_private


def kept(path: Path, names: Iterable[str]) -> dict[str, str]:
    """name -> password for each of names, from path (the missing ones made and written)."""
    try:
        found = json.loads(path.read_text())
    except FileNotFoundError:
        found = {}
    except (OSError, ValueError) as err:
        raise DCError(f"{path}: unreadable ({err}): remove it and run `pdn dc up`") from err
    wanted = list(names)
    if not set(wanted) <= set(found):
        found = {**found, **{n: found.get(n) or secrets.token_urlsafe(24) for n in wanted}}
        write_private(path, json.dumps(found, indent=2))
    return {name: str(found[name]) for name in wanted}
