"""The MariaDB backup's stream plumbing on real processes (`cat` and `sh` stand in for
mariadb-backup and zstd): every byte reaches every reader once, and a process that dies midway
stops the one feeding it instead of leaving it blocked on a full pipe."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from pdn.dataservices import db_backup


def _reader(fd: int, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with os.fdopen(fd, "rb") as source:
            into.append(source.read())

    thread = threading.Thread(target=read)
    thread.start()
    return thread


def test_the_stream_reaches_every_site_whole(tmp_path: Path) -> None:
    data = os.urandom(3 * 2**20 + 17)
    (tmp_path / "stream").write_bytes(data)
    source = subprocess.Popen(["cat", str(tmp_path / "stream")], stdout=subprocess.PIPE)
    packer = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    pumped: list[int] = []
    assert packer.stdin is not None
    feed = packer.stdin
    pump = threading.Thread(target=lambda: pumped.append(db_backup._tee(source, [feed])))
    pump.start()
    pipes = [os.pipe() for _ in range(2)]
    received: list[list[bytes]] = [[], []]
    readers = [_reader(read, got) for (read, _), got in zip(pipes, received, strict=True)]
    stored = db_backup._tee(packer, [os.fdopen(write, "wb") for _, write in pipes])
    pump.join()
    for reader in readers:
        reader.join()
    assert (pumped, stored) == ([len(data)], len(data))
    assert received == [[data], [data]]
    assert (source.wait(), packer.wait()) == (0, 0)


def test_a_compressor_that_dies_stops_the_backup_feeding_it() -> None:
    # An endless source, and a "compressor" that dies at once: without the pump's stop, the
    # source would block forever on its full pipe.
    source = subprocess.Popen(["cat", "/dev/zero"], stdout=subprocess.PIPE)
    packer = subprocess.Popen(
        ["sh", "-c", "kill -9 $$"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert packer.stdin is not None
        db_backup._tee(source, [packer.stdin])
        assert source.wait(timeout=10) == -9
        assert packer.wait(timeout=10) == -9
    finally:
        source.kill()


def test_a_site_whose_upload_is_gone_stops_the_stream() -> None:
    packer = subprocess.Popen(["cat", "/dev/zero"], stdout=subprocess.PIPE)
    read, write = os.pipe()
    os.close(read)  # the upload to this site failed and let go of its end
    try:
        db_backup._tee(packer, [os.fdopen(write, "wb")])
        assert packer.wait(timeout=10) == -9
    finally:
        packer.kill()
