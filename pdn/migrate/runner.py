"""Playbooks of playbooks/ run through ansible-runner against an estate's hosts; what happened is
read from the runner's events and stats, never from its output. Every run keeps its artifacts
(events, stdout, the inventory it used) under the estate's migration state."""

from __future__ import annotations

import datetime
import os
import re
import shlex
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from pdn import paths
from pdn.estate.hosts import EstateRuntime
from pdn.migrate.errors import MigrateError

PLAYBOOKS = paths.REPO_ROOT / "playbooks"


@dataclass
class PlaybookRun:
    artifacts: Path
    status: str
    # host -> task action -> the module's result (the `res` of its runner_on_ok event)
    results: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # host -> what failed
    unreachable: dict[str, str] = field(default_factory=dict)


def migration_state(runtime: EstateRuntime) -> Path:
    return paths.state_dir() / "migrate" / runtime.estate.name


@dataclass(frozen=True)
class PdnHosts:
    """The national DC's hosts a playbook also reaches (the wave's targets): name -> address,
    and the host pool's SSH identity."""

    addresses: dict[str, str]
    key: Path
    known_hosts: Path


def _ssh_args(known_hosts: Path) -> str:
    return (
        f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=accept-new "
        "-o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3"
    )


def inventory(runtime: EstateRuntime, targets: PdnHosts | None = None) -> dict[str, Any]:
    """The estate as an Ansible inventory: a group per room, its agency as a host variable; the
    controller itself (the venv's Python: its modules use pdn's clients); the PDN hosts."""
    children: dict[str, Any] = {
        "controller": {
            "hosts": {
                "localhost": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                }
            }
        }
    }
    if targets is not None:
        children["pdn_hosts"] = {
            "vars": {
                "ansible_ssh_private_key_file": str(targets.key),
                "ansible_ssh_common_args": _ssh_args(targets.known_hosts),
            },
            "hosts": {name: {"ansible_host": a} for name, a in targets.addresses.items()},
        }
    return {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(runtime.key),
                "ansible_ssh_common_args": _ssh_args(runtime.known_hosts),
                "ansible_python_interpreter": "/usr/bin/python3",
            },
            "children": children
            | {
                "estate": {
                    "children": {
                        room.name.replace("-", "_"): {
                            "hosts": {
                                host.name: {
                                    "ansible_host": str(host.address),
                                    "pdn_agency": room.agency,
                                    "pdn_room": room.name,
                                }
                                for host in room.hosts
                            }
                        }
                        for room in runtime.estate.rooms
                    }
                }
            },
        }
    }


@contextmanager
def serving_secrets(secrets: dict[str, str], directory: Path) -> Iterator[Path | None]:
    """A socket that answers the playbook's secret lookups (pdn.migrate.secret) while it runs;
    its directory is root's alone, and it is gone when the run ends."""
    if not secrets:
        yield None
        return
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"secrets-{os.getpid()}.sock"
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    path.chmod(0o600)
    server.listen(16)
    stop = threading.Event()

    def answer() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                name = conn.makefile("rb").readline().decode().strip()
                value = secrets.get(name)
                conn.sendall(b"-\n" if value is None else b"+" + value.encode() + b"\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join()
        server.close()
        path.unlink(missing_ok=True)


def run_playbook(
    runtime: EstateRuntime,
    playbook: str,
    *,
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
    check: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    targets: PdnHosts | None = None,
    secrets: dict[str, str] | None = None,
    private: Path | None = None,
) -> PlaybookRun:
    """Secrets are served to the playbook's lookups while it runs, never written down. The run's
    artifacts go to private (default: a new run_dir)."""
    if not runtime.key.exists():
        raise MigrateError(
            f"no SSH key for estate {runtime.estate.name}: is it up? (`pdn estate up`)"
        )
    private = private or run_dir(runtime, playbook)
    private.mkdir(parents=True)
    (private / "tmp").mkdir(mode=0o700)

    def handler(event: dict[str, Any]) -> bool:
        if on_event is not None:
            on_event(event)
        return True  # keep every event in the artifacts

    with serving_secrets(secrets or {}, migration_state(runtime) / "secrets") as socket_path:
        result = _run(
            private,
            playbook,
            runtime,
            extravars=extravars,
            limit=limit,
            check=check,
            handler=handler,
            targets=targets,
            socket_path=socket_path,
        )
    return _read(result, private, playbook)


def run_dir(runtime: EstateRuntime, playbook: str) -> Path:
    """Where a new run of playbook keeps its artifacts (not yet made)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return migration_state(runtime) / "runs" / f"{stamp}-{Path(playbook).stem}"


def _run(
    private: Path,
    playbook: str,
    runtime: EstateRuntime,
    *,
    extravars: dict[str, Any] | None,
    limit: str | None,
    check: bool,
    handler: Callable[[dict[str, Any]], bool],
    targets: PdnHosts | None,
    socket_path: Path | None,
) -> Any:
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(PLAYBOOKS),
        playbook=playbook,
        inventory=inventory(runtime, targets),
        extravars=extravars or {},
        limit=limit,
        cmdline="--check" if check else None,
        envvars={
            # ansible-playbook is the one of pdn's own environment, bound to this process.
            "PATH": os.pathsep.join(
                [str(_bound_playbook(private)), str(paths.venv_bin()), os.environ.get("PATH", "")]
            ),
            "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(PLAYBOOKS / "collections"),
            "ANSIBLE_ROLES_PATH": str(PLAYBOOKS / "roles"),
            "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
            # And the modules run on this host unpack themselves there, not in /tmp: a run
            # killed by PID leaves what it unpacked with its artifacts.
            "TMPDIR": str(private / "tmp"),
            "ANSIBLE_HOME": str(private / "ansible-home"),
            # SSH connections kept open between runs (ControlPersist), as an operator's are.
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(runtime.ssh_control),
            # Where the lookups ask for secrets (the path is no secret).
            **({"PDN_MIGRATE_SECRETS": str(socket_path)} if socket_path else {}),
        },
        forks=max(1, len(list(runtime.estate.hosts()))),
        quiet=True,
        event_handler=handler,
        timeout=1800,
    )


def _bound_playbook(private: Path) -> Path:
    """A directory whose ansible-playbook (first on the runner's PATH) starts pdn's bound to
    this process: it stops when this process dies (a kill by PID of
    `pdn migrate run` would otherwise leave it running on: it is in a session of its own)."""
    launcher = private / "bin" / "ansible-playbook"
    launcher.parent.mkdir(exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pdn.migrate.playbook_child",
        str(os.getpid()),
        str(paths.venv_bin() / "ansible-playbook"),
    ]
    launcher.write_text(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n')
    launcher.chmod(0o700)
    return launcher.parent


def _read(result: Any, private: Path, playbook: str) -> PlaybookRun:
    run = PlaybookRun(artifacts=private, status=str(result.status))
    for event in result.events:
        data = event.get("event_data") or {}
        host = data.get("host")
        if host is None:
            continue
        action = str(data.get("task_action", ""))
        if event["event"] == "runner_on_ok":
            run.results.setdefault(host, {})[action] = dict(data.get("res") or {})
        elif event["event"] == "runner_on_failed" and not data.get("ignore_errors"):
            res = data.get("res") or {}
            run.failed[host] = f"{data.get('task')}: {res.get('msg') or res.get('stderr', '')}"
        elif event["event"] == "runner_on_unreachable":
            run.unreachable[host] = str((data.get("res") or {}).get("msg", "unreachable"))
    stats = result.stats or {}
    run.changed = {host: int(n) for host, n in (stats.get("changed") or {}).items()}
    if run.status != "successful" and not (run.failed or run.unreachable):
        lines = [
            re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            for line in str(result.stdout.read()).splitlines()
        ]
        # Ansible's own error lines (a dead worker, a broken role), else the last lines.
        errors = [line for line in lines if "ERROR" in line or line.startswith("fatal")]
        said = " / ".join((errors or [line for line in lines if line])[-3:])
        raise MigrateError(
            f"{playbook} did not run ({run.status}): {said or 'no output'}; the run: {private}"
        )
    return run
