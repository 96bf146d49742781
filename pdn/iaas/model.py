"""A PDN host's size and image: what a tenant file asks for and every backend makes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class HostSize(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


@dataclass(frozen=True)
class Resources:
    cpu_cores: int
    memory_gib: int
    disk_gib: int


SIZES = {
    HostSize.SMALL: Resources(1, 2, 20),
    HostSize.MEDIUM: Resources(2, 4, 40),
    HostSize.LARGE: Resources(4, 8, 80),
}
IMAGES = ("debian-12",)  # the images the national DC serves
