"""A plugin left running by a killed pulumi is stopped by the next rollout; nothing else is.
Real processes: each 'plugin' is a copy of sleep, adopted by init as a killed engine's are."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pdn import orphans
from pdn.pulumi_env import PulumiEnvironment

SHELL = Path("/bin/sh").resolve()


@pytest.fixture
def env(scratch_env: PulumiEnvironment) -> PulumiEnvironment:
    return scratch_env


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _orphan(executable: Path, address: str, backend: str, scratch: Path) -> int:
    """Start executable (a copy of sh, looping) adopted by init: its parent exits at once, as a
    killed engine leaves its plugins. Returns its PID."""
    pid_file = scratch / f"pid-{time.monotonic_ns()}"
    loop = "while :; do sleep 1; done"
    subprocess.run(
        ["/bin/sh", "-c", f"'{executable}' -c '{loop}' {address} & echo $! > '{pid_file}'"],
        env={"PULUMI_BACKEND_URL": backend, "PATH": "/usr/bin:/bin"},
        start_new_session=True,
        check=True,
    )
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _parent(pid) != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    return pid


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def started() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_only_orphans_of_this_backend_whose_engine_is_gone(
    env: PulumiEnvironment, started: list[int], tmp_path: Path
) -> None:
    plugin = env.pulumi_home / "plugins" / "resource-x-v1.0.0" / "pulumi-resource-x"
    plugin.parent.mkdir(parents=True)
    shutil.copy(SHELL, plugin)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    live_engine = f"127.0.0.1:{listening.getsockname()[1]}"
    dead_engine = f"127.0.0.1:{_closed_port()}"
    with listening:
        # Each recorded as soon as it runs: the fixture stops them even if the test fails.
        for address, backend, executable in (
            (dead_engine, env.backend_url, plugin),  # the orphan
            (live_engine, env.backend_url, plugin),  # its engine still runs
            (dead_engine, "file:///elsewhere", plugin),  # another state's
            (dead_engine, env.backend_url, SHELL),  # not a plugin
        ):
            started.append(_orphan(executable, address, backend, tmp_path))
        orphan, *others = started
        assert all(_parent(pid) == 1 for pid in started)

        assert orphans.reap(env) == [orphan]
        assert not _alive(orphan)
        assert all(_alive(pid) for pid in others)
