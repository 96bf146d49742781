"""The DBaaS gateway forwards bytes both ways, whole, and is seen listening where it binds."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from pdn.dc import gateway


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data[::-1])

    threading.Thread(target=serve, daemon=True).start()
    yield int(server.getsockname()[1])
    server.close()


def test_bytes_pass_both_ways_and_the_probe_sees_it(echo: int) -> None:
    listen = f"127.0.0.1:{_free_port()}"
    assert not gateway.listening(listen)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pdn.dc.gateway", f"{listen}=127.0.0.1:{echo}"],
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not gateway.listening(listen):
            assert proc.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        payload = bytes(range(256)) * 1024
        with socket.create_connection(("127.0.0.1", int(listen.rpartition(":")[2]))) as conn:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
            got = b""
            while data := conn.recv(65536):
                got += data
        # The echo server answers each read reversed: order within reads aside, all came back.
        assert sorted(got) == sorted(payload)
    finally:
        proc.kill()
        proc.wait()
