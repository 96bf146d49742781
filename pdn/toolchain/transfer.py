"""Carry a built toolchain to hosts with neither Go nor registries (an air-gapped DC).

`export` writes the installed toolchain and its manifest (every file's sha256) into one tar
archive; `import_` checks the archive against the manifest and this checkout's pins, runs each
binary's version check, and only then installs it, atomically, in place of what was there.
"""

from __future__ import annotations

import datetime
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

from pdn.toolchain.builder import (
    MANIFEST,
    MANIFEST_FORMAT,
    install_dir,
    load_manifest,
    pins_key,
    sha256_file,
    verify_binary,
    write_json_atomic,
)
from pdn.toolchain.components import COMPONENTS
from pdn.toolchain.errors import ToolchainError

ARCHIVE_ROOT = "pdn-toolchain"


def _compressed(path: Path) -> bool:
    if path.name.endswith((".tar.gz", ".tgz")):
        return True
    if path.name.endswith(".tar"):
        return False
    raise ToolchainError(f"{path}: name the archive *.tar or *.tar.gz")


def _open(path: Path, writing: bool, target: Path | None = None) -> tarfile.TarFile:
    name = target or path
    if writing:
        # Fast gzip: the binaries barely compress, and the transfer is what matters.
        if _compressed(path):
            return tarfile.open(name, "w:gz", compresslevel=1)
        return tarfile.open(name, "w:")
    return tarfile.open(name, "r:gz") if _compressed(path) else tarfile.open(name, "r:")


def export(archive: Path) -> dict[str, Any]:
    """Write the installed toolchain (complete, unmodified) to archive; returns its manifest."""
    manifest = load_manifest()
    if manifest is None:
        raise ToolchainError("no toolchain is installed here: run `pdn toolchain build` first")
    missing = [c.name for c in COMPONENTS if c.name not in manifest["components"]]
    if missing:
        raise ToolchainError(
            f"the toolchain is incomplete ({', '.join(missing)} missing): "
            "run `pdn toolchain build` before exporting it"
        )
    root = install_dir()
    for relative, entry in manifest["files"].items():
        if sha256_file(root / relative) != entry["sha256"]:
            raise ToolchainError(f"{root / relative} changed since it was installed: rebuild it")
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    try:
        with _open(archive, writing=True, target=partial) as tar:
            tar.add(root / MANIFEST, f"{ARCHIVE_ROOT}/{MANIFEST}")
            for relative in sorted(manifest["files"]):
                tar.add(root / relative, f"{ARCHIVE_ROOT}/{relative}")
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise ToolchainError(f"cannot write {archive}: {err.strerror}") from err
    partial.replace(archive)
    return manifest


def import_(archive: Path) -> dict[str, Any]:
    """Verify archive and install it as this checkout's toolchain; returns the new manifest."""
    try:
        tar = _open(archive, writing=False)
    except FileNotFoundError as err:
        raise ToolchainError(f"{archive}: no such file") from err
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ToolchainError(f"{archive} is not a toolchain archive ({err})") from err
    root = install_dir()
    staging = root.with_name(root.name + ".importing")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with tar:
            manifest = _read_manifest(tar, archive)
            _extract(tar, manifest, staging, archive)
        _verify(staging, manifest, archive)
        manifest["origin"] = f"imported from {archive.name} on {_today()}"
        write_json_atomic(staging / MANIFEST, manifest)
        old = root.with_name(root.name + ".replaced")
        shutil.rmtree(old, ignore_errors=True)
        if root.exists():
            root.rename(old)
        staging.rename(root)
        shutil.rmtree(old, ignore_errors=True)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ToolchainError(f"{archive} is damaged: {err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        member = tar.extractfile(f"{ARCHIVE_ROOT}/{MANIFEST}")
    except KeyError:
        member = None
    if member is None:
        raise ToolchainError(f"{archive} has no {ARCHIVE_ROOT}/{MANIFEST}: not a pdn toolchain")
    try:
        manifest: dict[str, Any] = json.loads(member.read())
    except ValueError as err:
        raise ToolchainError(f"{archive}: its manifest is not JSON ({err})") from err
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ToolchainError(
            f"{archive}: manifest format {manifest.get('format')!r}, this pdn reads "
            f"{MANIFEST_FORMAT}: export it with the same pdn version"
        )
    if manifest.get("pins") != pins_key():
        raise ToolchainError(
            f"{archive} was built from other pins ({manifest.get('pins')}) than this checkout's "
            f"({pins_key()}): export it from a host on the same commit"
        )
    return manifest


def _extract(tar: tarfile.TarFile, manifest: dict[str, Any], staging: Path, archive: Path) -> None:
    wanted = {f"{ARCHIVE_ROOT}/{relative}" for relative in manifest["files"]}
    members = [m for m in tar.getmembers() if m.name in wanted]
    strays = [m.name for m in tar.getmembers() if m.isfile() and m.name not in wanted]
    unexpected = sorted(set(strays) - {f"{ARCHIVE_ROOT}/{MANIFEST}"})
    if unexpected:
        raise ToolchainError(f"{archive} holds files its manifest does not list: {unexpected[:3]}")
    missing = sorted(wanted - {m.name for m in members})
    if missing:
        raise ToolchainError(f"{archive} lacks files its manifest lists: {missing[:3]}")
    staging.mkdir(parents=True)
    for member in members:
        if not member.isfile():
            raise ToolchainError(f"{archive}: {member.name} is not a regular file")
        member.name = member.name.removeprefix(f"{ARCHIVE_ROOT}/")
        tar.extract(member, staging, filter="data")


def _verify(staging: Path, manifest: dict[str, Any], archive: Path) -> None:
    for relative, entry in sorted(manifest["files"].items()):
        if sha256_file(staging / relative) != entry["sha256"]:
            raise ToolchainError(
                f"{archive}: {relative} does not match its sha256 in the manifest "
                "(damaged in transfer or altered): export it again"
            )
    for comp in COMPONENTS:
        for binary in comp.binaries:
            verify_binary(staging / "bin" / binary.name, binary)


def _today() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
