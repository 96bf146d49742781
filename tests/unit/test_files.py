"""The one private-file writer: owner-only from the first byte, atomic, tightening."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pdn.files import open_private_log, private_dir, write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_and_its_dirs_are_owner_only(tmp_path: Path) -> None:
    path = write_private(tmp_path / "a" / "b" / "key", "secret")
    assert path.read_text() == "secret"
    assert _mode(path) == 0o600
    assert _mode(tmp_path / "a" / "b") == 0o700


def test_replacing_a_loose_file_leaves_it_owner_only_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("old")
    path.chmod(0o644)
    tmp_path.chmod(0o755)
    write_private(path, b"new")
    assert path.read_bytes() == b"new"
    assert _mode(path) == 0o600
    assert _mode(tmp_path) == 0o700
    assert [p.name for p in tmp_path.iterdir()] == ["kubeconfig"]


def test_an_existing_loose_directory_is_tightened(tmp_path: Path) -> None:
    loose = tmp_path / "pki"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    private_dir(loose)
    assert _mode(loose) == 0o700


def test_logs_are_owner_only_even_when_they_existed(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "etcd.log"
    log.parent.mkdir()
    log.write_text("before\n")
    log.chmod(0o644)
    fd = open_private_log(log)
    try:
        os.write(fd, b"after\n")
    finally:
        os.close(fd)
    assert log.read_text() == "before\nafter\n"
    assert _mode(log) == 0o600
