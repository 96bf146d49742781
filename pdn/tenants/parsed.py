"""Tenant files already parsed and checked, kept by their content: `pdn tenant up SLUG` checks
the whole fleet before it touches anything, and parsing 620 unchanged files took 0.2-0.45 s of
a one-tenant change. A file is parsed again when its bytes, or the code and region list that
check it, change; a file with problems is never kept (its errors are always fresh).

The cache is pdn's own (its cache dir, owner-only), read once per run; an unreadable cache is
ignored and rewritten."""

from __future__ import annotations

import hashlib
import pickle
from functools import cache
from pathlib import Path

from pdn import paths, regions
from pdn.documents import Located
from pdn.files import write_private
from pdn.tenants.model import Tenant

# The code whose answer is kept: a change to any of it parses every file again.
_CHECKED_BY = ("documents.py", "regions.py", "tenants/model.py", "tenants/loader.py")
Parsed = tuple[Tenant, Located]
MAX_KEPT = 2000  # the national fleet (~620) several times over; ~1.3 KB each


@cache
def _code_key() -> str:
    digest = hashlib.sha256(regions.SOURCE.encode())
    for name in _CHECKED_BY:
        digest.update((Path(__file__).parents[1] / name).read_bytes())
    return digest.hexdigest()[:16]


def content_key(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class ParsedFiles:
    """The kept files of one run: `get` before parsing, `put` what parsed cleanly, `save`."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or paths.cache_dir() / "tenant-files") / f"{_code_key()}.pickle"
        self._kept: dict[str, Parsed] = {}
        self._used: dict[str, Parsed] = {}
        try:
            loaded = pickle.loads(self.path.read_bytes())  # noqa: S301  (pdn's own owner-only cache)
        except Exception:  # absent, cut short, or from another pdn: parse again
            loaded = {}
        if isinstance(loaded, dict):
            self._kept = loaded

    def get(self, raw: bytes) -> Parsed | None:
        key = content_key(raw)
        found = self._kept.get(key)
        if found is not None:
            self._used[key] = found
        return found

    def put(self, raw: bytes, parsed: Parsed) -> None:
        self._used[content_key(raw)] = parsed

    def save(self) -> None:
        """Keep what this run parsed, after what it used and the newest of the rest (a checkout
        of another branch, a scratch fleet): at most MAX_KEPT files."""
        if self._used.keys() <= self._kept.keys():
            return
        rest = {k: v for k, v in self._kept.items() if k not in self._used}
        merged = list({**rest, **self._used}.items())[-MAX_KEPT:]
        write_private(self.path, pickle.dumps(dict(merged), protocol=pickle.HIGHEST_PROTOCOL))
