"""Detached server processes with PID files and one log each; stopped by PID, never by name."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdn.dc.errors import DCError
from pdn.files import open_private_log, private_dir, write_private

HealthProbe = Callable[[], str | None]  # None when healthy, else what is wrong
KILL_DEADLINE = 10.0  # after SIGKILL; longer means the process is stuck in the kernel


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    ports: tuple[int, ...]
    probe: HealthProbe
    cwd: Path | None = None  # for a program that reads its config files from where it runs
    user: str | None = None  # a server that refuses to run as root (PostgreSQL) runs as this
    env: Mapping[str, str] | None = None  # None: pdn's own environment
    start_timeout: float | None = None  # None: the DC's default (a minute)


def _as_user(user: str | None) -> dict[str, Any]:
    """Popen's arguments to run as user (its own group, no supplementary groups)."""
    if user is None:
        return {}
    return {"user": user, "group": user, "extra_groups": []}


class Supervisor:
    """Starts and stops the DC's processes; state is the PID files, so any pdn run can stop them."""

    def __init__(self, run_dir: Path, log_dir: Path, host: str = "127.0.0.1") -> None:
        self.run_dir, self.log_dir, self.host = run_dir, log_dir, host

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def healthy_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.healthy"

    def was_healthy(self, name: str, pid: int) -> bool:
        """Whether this process (this PID) has passed its health check before: then failing it
        now means it is stopping or broken, not still starting."""
        try:
            return int(self.healthy_file(name).read_text().strip()) == pid
        except (OSError, ValueError):
            return False

    def pid(self, name: str) -> int | None:
        """The PID of a running process of ours, or None (a stale PID file is not trusted)."""
        path = self.pid_file(name)
        try:
            recorded = path.read_text().split()
            pid, binary = int(recorded[0]), recorded[1]
        except (OSError, ValueError, IndexError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        zombie = stat.rsplit(")", 1)[1].split()[0] == "Z"
        return pid if cmdline == binary and not zombie else None

    def _recorded_alive(self, name: str) -> bool:
        # Right after the fork /proc shows the parent's cmdline until exec: trust the PID file.
        try:
            return alive(int(self.pid_file(name).read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            return False

    def settle(self, name: str, timeout: float = KILL_DEADLINE) -> None:
        """Wait for a process of ours that is exiting to be gone. A multi-threaded server's
        leader turns zombie while its other threads still hold its sockets: its ports are not
        free yet, and not another program's."""
        try:
            pid = int(self.pid_file(name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        if self.pid(name) is not None:
            return
        deadline = time.monotonic() + timeout
        while _exiting(pid) and time.monotonic() < deadline:
            alive(pid)  # reaps it when it is our child
            time.sleep(0.05)

    def start(self, spec: ProcessSpec) -> int:
        running = self.pid(spec.name)
        if running is not None:
            return running
        self.settle(spec.name)
        binary = spec.argv[0]
        if not os.access(binary, os.X_OK):
            raise DCError(f"{binary} is missing: run `pdn toolchain build`")
        for port in spec.ports:
            if port_in_use(self.host, port):
                raise DCError(
                    f"port {self.host}:{port} for {spec.name} is already in use by another "
                    f"program: stop it (see `ss -ltnp 'sport = :{port}'`) and run again"
                )
        private_dir(self.run_dir)
        log = open_private_log(self.log_file(spec.name))  # logs name users, hosts, paths
        try:
            proc = subprocess.Popen(
                spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                cwd=spec.cwd,
                env=spec.env,
                **_as_user(spec.user),
            )
        finally:
            os.close(log)
        write_private(self.pid_file(spec.name), f"{proc.pid} {binary}\n", mode=0o644)
        return proc.pid

    def wait_healthy(self, spec: ProcessSpec, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        problem: str | None = "not probed yet"
        while time.monotonic() < deadline:
            if not self._recorded_alive(spec.name):
                last = tail(self.log_file(spec.name), 1)[-300:]
                raise DCError(
                    f"{spec.name} exited while starting (its log ends: {last!r}); "
                    f"the whole log: {self.log_file(spec.name)}"
                )
            problem = spec.probe()
            if problem is None:
                pid = self.pid_file(spec.name).read_text().split()[0]
                self.healthy_file(spec.name).write_text(f"{pid}\n")
                return
            time.sleep(0.25)
        raise DCError(
            f"{spec.name} did not become healthy within {timeout:.0f}s ({problem}); "
            f"see {self.log_file(spec.name)}"
        )

    def stop(self, name: str, timeout: float = 20.0) -> bool:
        """Stop the process (and its process group) by PID: SIGTERM, SIGKILL after `timeout`.
        True if one was running; DCError if it outlives SIGKILL by KILL_DEADLINE."""
        pid = self.pid(name)
        if pid is None:
            self.pid_file(name).unlink(missing_ok=True)
            self.healthy_file(name).unlink(missing_ok=True)
            return False
        if not terminate(pid, timeout):
            raise DCError(
                f"{name} (pid {pid}) is still there {KILL_DEADLINE:.0f}s after SIGKILL, "
                f"stuck in the kernel (see `cat /proc/{pid}/stack`); its PID file is kept"
            )
        self.pid_file(name).unlink(missing_ok=True)
        self.healthy_file(name).unlink(missing_ok=True)
        return True


def terminate(pid: int, timeout: float, *, group: bool = True) -> bool:
    """Stop pid (with its process group, unless group=False) by PID: SIGTERM, SIGKILL after
    `timeout`. True once it is gone; False if it outlives SIGKILL by KILL_DEADLINE."""
    _signal(pid, signal.SIGTERM, group)
    if _wait_gone(pid, timeout):
        if group:  # a child left behind (a server's helper) would hold what the next one needs
            _signal(pid, signal.SIGKILL, group)
        return True
    _signal(pid, signal.SIGKILL, group)
    return _wait_gone(pid, KILL_DEADLINE)


def _signal(pid: int, sig: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _exiting(pid: int) -> bool:
    """True while any thread of pid still runs (its files, sockets included, are still open)."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" or len(threads) > 1


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        # Our own child: reap it. A zombie leader whose threads are still exiting cannot be
        # reaped yet (that takes moments), so wait, but not forever. Not ours: init reaps it.
        deadline = time.monotonic() + KILL_DEADLINE
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
            except ChildProcessError:
                break
            time.sleep(0.01)
        return False
    return True


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 15) -> str:
    try:
        kept = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
        return "\n".join(kept[-lines:])
    except OSError:
        return "(no log)"
