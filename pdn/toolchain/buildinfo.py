"""Read the build information Go embeds in a binary (what `go version -m` prints), without Go.

An operator host that received the toolchain has no Go; it must still check the binaries that
have no version flag. Go 1.18+ writes a 32-byte header at a 16-byte aligned offset: the magic
`\\xff Go buildinf:`, the pointer size, flags (bit 1: strings inline), then two varint-prefixed
strings: the Go version and the module info (between 16-byte sentinels).
"""

from __future__ import annotations

import mmap
from pathlib import Path

_MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_INLINE = 0x2


class BuildInfoError(ValueError):
    """The file carries no Go build information this reader understands."""


def _varint(data: bytes | mmap.mmap, offset: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise BuildInfoError("malformed varint")


def read(path: Path) -> tuple[str, str]:
    """(Go version, module info lines) of a Go binary."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        offset = data.find(_MAGIC)
        while offset != -1 and offset % 16:
            offset = data.find(_MAGIC, offset + 1)
        if offset == -1:
            raise BuildInfoError(f"{path}: no Go build information")
        if not data[offset + 15] & _INLINE:
            raise BuildInfoError(f"{path}: built by a Go older than 1.18")
        length, cursor = _varint(data, offset + _HEADER)
        version = bytes(data[cursor : cursor + length]).decode()
        length, cursor = _varint(data, cursor + length)
        raw = bytes(data[cursor : cursor + length])
    # The module info sits between two 16-byte sentinels.
    modinfo = raw[16:-16].decode() if len(raw) >= 33 and raw[-17:-16] == b"\n" else raw.decode()
    return version, modinfo


def describe(path: Path) -> str:
    """The text `go version -m PATH` prints: the Go version line, then one line per entry."""
    version, modinfo = read(path)
    lines = [f"{path}: {version}"] + [f"\t{line}" for line in modinfo.splitlines() if line]
    return "\n".join(lines)
