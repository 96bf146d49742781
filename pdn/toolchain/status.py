"""What the toolchain has: each binary, its version, where it came from, what is missing."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pdn.toolchain.builder import (
    ToolchainError,
    bin_dir,
    component_dir,
    go_version,
    is_built,
    verify_binary,
)
from pdn.toolchain.components import COMPONENTS, Binary


@dataclass(frozen=True)
class BinaryStatus:
    component: str
    binary: str
    path: Path | None
    version: str
    origin: str  # "built here from …", "found on PATH at …", or "missing"

    @property
    def present(self) -> bool:
        return self.path is not None


def status() -> list[BinaryStatus]:
    go = go_version()
    view = bin_dir(go)
    rows: list[BinaryStatus] = []
    for comp in COMPONENTS:
        built = is_built(comp, go)
        for binary in comp.binaries:
            built_path = component_dir(comp, go) / "bin" / binary.name
            if built and built_path.is_file():
                version = _version_or_error(built_path, binary)
                rows.append(
                    BinaryStatus(
                        comp.name,
                        binary.name,
                        view / binary.name,
                        version,
                        f"built here from {comp.origin}",
                    )
                )
                continue
            on_path = _pinned_on_path(binary, view)
            if on_path is not None:
                path, version = on_path
                rows.append(
                    BinaryStatus(
                        comp.name,
                        binary.name,
                        path,
                        version,
                        f"found on PATH at the pinned version ({path})",
                    )
                )
            else:
                rows.append(
                    BinaryStatus(
                        comp.name,
                        binary.name,
                        None,
                        "-",
                        f"missing: run `pdn toolchain build {comp.name}`",
                    )
                )
    return rows


def _version_or_error(path: Path, binary: Binary) -> str:
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
