"""The one way pdn writes files that must stay private (keys, kubeconfigs, passphrases, logs):
atomically, owner-only, and tightening what is already there."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Make path (and missing parents) owner-only; an existing directory is tightened."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(PRIVATE_DIR)
    return path


def write_private(path: Path, content: str | bytes, *, mode: int = PRIVATE_FILE) -> Path:
    """Replace path with content in one step: readers see the old file or the new one, never a
    part, and the new file is owner-only from its first byte."""
    private_dir(path.parent)
    data = content.encode() if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return path


def tighten(path: Path, mode: int = PRIVATE_FILE) -> None:
    """An existing file made owner-only (files written before pdn wrote them private)."""
    if path.exists() and stat.S_IMODE(path.stat().st_mode) & ~mode:
        path.chmod(mode)


def open_private_log(path: Path) -> int:
    """A file descriptor appending to an owner-only log (an existing log is tightened)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return fd
