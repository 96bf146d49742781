"""The supervisor with real processes: PID files, stop by PID, clear errors."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pdn.dc import DCError, processes
from pdn.dc.processes import ProcessSpec, Supervisor, port_in_use


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path / "run", tmp_path / "logs")
    yield sup
    for pid_file in (tmp_path / "run").glob("*.pid"):
        sup.stop(pid_file.stem)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server(port: int) -> ProcessSpec:
    argv = (sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port))
    return ProcessSpec(
        "web", argv, (port,), lambda: None if port_in_use("127.0.0.1", port) else "closed"
    )


def test_start_is_idempotent_and_stop_leaves_nothing(supervisor: Supervisor) -> None:
    spec = _server(_free_port())
    pid = supervisor.start(spec)
    supervisor.wait_healthy(spec, timeout=20)
    assert supervisor.start(spec) == pid
    assert supervisor.pid("web") == pid
    assert supervisor.stop("web") is True
    assert supervisor.pid("web") is None
    assert not Path(f"/proc/{pid}").exists()
    assert not port_in_use("127.0.0.1", spec.ports[0])
    assert supervisor.stop("web") is False


def test_a_port_in_use_is_named(supervisor: Supervisor) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(DCError, match=rf"port 127\.0\.0\.1:{port} for web is already in use"):
            supervisor.start(_server(port))


def test_a_process_that_dies_shows_its_log(supervisor: Supervisor) -> None:
    argv = (sys.executable, "-c", "import sys; print('bad flag --nope'); sys.exit(3)")
    spec = ProcessSpec("broken", argv, (), lambda: "never healthy")
    supervisor.start(spec)
    with pytest.raises(DCError, match="broken exited while starting") as err:
        supervisor.wait_healthy(spec, timeout=20)
    assert "bad flag --nope" in str(err.value)


def test_a_stale_pid_file_is_not_trusted(supervisor: Supervisor, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir(parents=True)
    supervisor.pid_file("etcd").write_text(f"1 {tmp_path}/bin/etcd\n")
    assert supervisor.pid("etcd") is None
    assert supervisor.stop("etcd") is False


def test_a_missing_binary_says_how_to_get_it(supervisor: Supervisor, tmp_path: Path) -> None:
    spec = ProcessSpec("etcd", (str(tmp_path / "bin" / "etcd"),), (), lambda: None)
    with pytest.raises(DCError, match="run `pdn toolchain build`"):
        supervisor.start(spec)


def test_a_process_ignoring_sigterm_is_killed(supervisor: Supervisor) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    spec = ProcessSpec("stubborn", (sys.executable, "-c", code), (), lambda: None)
    pid = supervisor.start(spec)
    supervisor.wait_healthy(spec, timeout=20)
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    assert supervisor.stop("stubborn", timeout=1) is True
    assert time.monotonic() - started < 5
    assert not Path(f"/proc/{pid}").exists()
    assert not supervisor.pid_file("stubborn").exists()


def test_health_is_remembered_per_pid(supervisor: Supervisor) -> None:
    spec = _server(_free_port())
    pid = supervisor.start(spec)
    assert not supervisor.was_healthy("web", pid)
    supervisor.wait_healthy(spec, timeout=20)
    assert supervisor.was_healthy("web", pid)
    assert not supervisor.was_healthy("web", pid + 1)
    supervisor.stop("web")
    assert not supervisor.healthy_file("web").exists()


def test_the_wait_after_sigkill_has_a_deadline(
    supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ProcessSpec(
        "stuck", (sys.executable, "-c", "import time; time.sleep(600)"), (), lambda: None
    )
    pid = supervisor.start(spec)
    supervisor.wait_healthy(spec, timeout=20)
    # As a process in uninterruptible sleep looks: signals change nothing.
    monkeypatch.setattr(processes, "alive", lambda _pid: True)
    monkeypatch.setattr(processes, "KILL_DEADLINE", 0.5)
    with pytest.raises(DCError, match=rf"stuck \(pid {pid}\) is still there 0s after SIGKILL"):
        supervisor.stop("stuck", timeout=0.2)
    assert supervisor.pid_file("stuck").exists()  # kept: the process may still be there
    monkeypatch.undo()
    assert not processes.alive(pid)  # SIGKILL was sent for real; this reaps it
    supervisor.stop("stuck")
