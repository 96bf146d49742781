"""What the toolchain has: each binary, its version, where it came from, what is missing.

Read from the install dir and its manifest: no Go needed (an operator host may have none).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdn.toolchain.builder import (
    bin_dir,
    load_manifest,
    sha256_file,
    verify_binary,
)
from pdn.toolchain.components import COMPONENTS, Binary, Component
from pdn.toolchain.errors import ToolchainError


@dataclass(frozen=True)
class BinaryStatus:
    component: str
    binary: str
    path: Path | None
    version: str  # the version line, or "BROKEN: …"
    origin: str  # "built here from …", "imported from …", "found on PATH at …", "missing: …"

    @property
    def present(self) -> bool:
        return self.path is not None

    @property
    def broken(self) -> bool:
        return self.version.startswith("BROKEN")


def status() -> list[BinaryStatus]:
    view = bin_dir()
    manifest = load_manifest() or {}
    files: dict[str, dict[str, str]] = manifest.get("files", {})
    rows: list[BinaryStatus] = []
    for comp in COMPONENTS:
        for binary in comp.binaries:
            path = view / binary.name
            entry = files.get(f"bin/{binary.name}")
            if entry is not None and path.is_file():
                rows.append(
                    BinaryStatus(
                        comp.name,
                        binary.name,
                        path,
                        _checked_version(path, binary, entry["sha256"]),
                        origin(manifest, comp),
                    )
                )
                continue
            on_path = _pinned_on_path(binary, view)
            if on_path is not None:
                found, version = on_path
                rows.append(
                    BinaryStatus(
                        comp.name,
                        binary.name,
                        found,
                        version,
                        f"found on PATH at the pinned version ({found})",
                    )
                )
            else:
                rows.append(
                    BinaryStatus(
                        comp.name,
                        binary.name,
                        None,
                        "-",
                        f"missing: run `pdn toolchain build {comp.name}` (needs Go) "
                        "or `pdn toolchain import FILE`",
                    )
                )
    return rows


def origin(manifest: dict[str, Any], comp: Component) -> str:
    where = manifest.get("origin", "built here")
    built = f"{comp.origin} with {manifest.get('go', '?')}"
    if where == "built here":
        return f"built here from {built}"
    return f"{where}; built on {manifest.get('built_on', '?')} from {built}"


def _checked_version(path: Path, binary: Binary, sha256: str) -> str:
    if sha256_file(path) != sha256:
        return "BROKEN: its sha256 differs from the manifest (changed since it was installed)"
    try:
        return verify_binary(path, binary)
    except ToolchainError as err:
        return f"BROKEN: {err}"


def _pinned_on_path(binary: Binary, exclude: Path) -> tuple[Path, str] | None:
    search = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != exclude
    )
    found = shutil.which(binary.name, path=search)
    if found is None:
        return None
    try:
        return Path(found), verify_binary(Path(found), binary)
    except ToolchainError:
        return None
