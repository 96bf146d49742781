"""Playbooks of playbooks/ run through ansible-runner against an estate's hosts; what happened is
read from the runner's events and stats, never from its output. Every run keeps its artifacts
(events, stdout, the inventory it used) under the estate's migration state."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
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


def inventory(runtime: EstateRuntime) -> dict[str, Any]:
    """The estate as an Ansible inventory: a group per room, its agency as a host variable."""
    ssh_args = (
        f"-o UserKnownHostsFile={runtime.known_hosts} -o StrictHostKeyChecking=accept-new "
        "-o BatchMode=yes -o ConnectTimeout=10"
    )
    return {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(runtime.key),
                "ansible_ssh_common_args": ssh_args,
                "ansible_python_interpreter": "/usr/bin/python3",
            },
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
            },
        }
    }


def run_playbook(
    runtime: EstateRuntime,
    playbook: str,
    *,
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
    check: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> PlaybookRun:
    if not runtime.key.exists():
        raise MigrateError(
            f"no SSH key for estate {runtime.estate.name}: is it up? (`pdn estate up`)"
        )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    private = migration_state(runtime) / "runs" / f"{stamp}-{Path(playbook).stem}"
    private.mkdir(parents=True)

    def handler(event: dict[str, Any]) -> bool:
        if on_event is not None:
            on_event(event)
        return True  # keep every event in the artifacts

    result = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(PLAYBOOKS),
        playbook=playbook,
        inventory=inventory(runtime),
        extravars=extravars or {},
        limit=limit,
        cmdline="--check" if check else None,
        envvars={
            # ansible-playbook is the one of pdn's own environment.
            "PATH": f"{paths.venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(PLAYBOOKS / "collections"),
            "ANSIBLE_ROLES_PATH": str(PLAYBOOKS / "roles"),
            "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
            "ANSIBLE_HOME": str(private / "ansible-home"),
            # SSH connections kept open between runs (ControlPersist), as an operator's are.
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(runtime.ssh_control),
        },
        forks=max(1, len(list(runtime.estate.hosts()))),
        quiet=True,
        event_handler=handler,
        timeout=1800,
    )
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
        said = " / ".join(
            line.strip() for line in str(result.stdout.read()).splitlines()[-3:] if line.strip()
        )
        raise MigrateError(
            f"{playbook} did not run ({run.status}): {said or 'no output'}; the run: {private}"
        )
    return run
