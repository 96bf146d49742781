"""The signing service's processes: with --workers 3 the DC's one PID serves with two more
processes on its socket; stopped (SIGTERM) it stops them; killed (SIGKILL) it takes them with
it, so a restart finds its port free. Real processes, a real HTTPS socket."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pdn.dc import pki
from pdn.tte.site import SiteAuthority
from tests.unit.tte_fixtures import make_authority


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in found.read_text().split()} if found.exists() else set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait(predicate: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout} s")


class Service:
    def __init__(self, tmp: Path) -> None:
        self.site: SiteAuthority = make_authority(tmp / "tte")
        self.ca = pki.ensure_ca(tmp / "pki", "ca", "test CA")
        self.cert = pki.ensure_service_cert(tmp / "pki", self.ca, "tte", "tte", "127.0.0.1")
        self.port = _free_port()
        self.log = tmp / "tte.log"
        self.groups: list[int] = []  # each start's process group: its workers are in it

    def start(self) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable, "-m", "pdn.tte.server", "--site=pdn-local",
            f"--authority={self.site.directory}", "--base-url=https://127.0.0.1",
            "--host=127.0.0.1", f"--port={self.port}", f"--cert={self.cert.cert}",
            f"--key={self.cert.key}", "--issuer=https://127.0.0.1:1/realms/pdn-asn",
            f"--sso-ca={self.ca.cert}", "--workers=3",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            started = subprocess.Popen(
                argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        self.groups.append(started.pid)
        return started

    def answers(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca.cert))
        try:
            with urllib.request.urlopen(
                f"https://127.0.0.1:{self.port}/certs/root.crt", context=context, timeout=5
            ) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    made = Service(tmp_path)
    yield made
    for group in made.groups:  # whatever a failed test left
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def test_stopped_it_stops_its_workers(service: Service) -> None:
    process = service.start()
    _wait(lambda: len(_children(process.pid)) == 2, "two workers")
    _wait(service.answers, "an answer")
    workers = _children(process.pid)
    for _ in range(6):  # new connections, each accepted by whichever process is free
        assert service.answers()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert not any(_alive(pid) for pid in workers)


def test_killed_it_takes_its_workers_and_the_port_is_free_again(service: Service) -> None:
    process = service.start()
    _wait(lambda: len(_children(process.pid)) == 2, "two workers")
    workers = _children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=15)
    _wait(lambda: not any(_alive(pid) for pid in workers), "the workers gone")
    again = service.start()
    _wait(service.answers, "the restarted service answering")
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=15) == 0
