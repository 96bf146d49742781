"""Plugins a killed `pulumi` left running.

The engine starts each provider and policy pack in a process group of its own: when a rollout
is SIGKILLed (its whole process group), they are adopted by init and run on, each holding
~100 MB, waiting for an engine that is gone. The next rollout stops them, by PID, and only
them: adopted by init, a Pulumi plugin by its executable (one of this environment's plugins,
or its policy pack), started for this environment's state backend, and the engine address it
was given no longer answering.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pdn.dc.processes import port_in_use, terminate
from pdn.pulumi_env import PulumiEnvironment

ENGINE_ADDRESS = re.compile(r"^127\.0\.0\.1:(\d+)$")
POLICY_MAIN = "__main__.py"


def reap(
    env: PulumiEnvironment, policy_dirs: tuple[Path, ...] = (), timeout: float = 5.0
) -> list[int]:
    """Stop the orphaned plugins of env; returns their PIDs."""
    found = [pid for pid in _candidates() if _is_orphaned_plugin(pid, env, policy_dirs)]
    for pid in found:
        terminate(pid, timeout, group=False)  # the plugin alone: its group may be another's
    return found


def _candidates() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _is_orphaned_plugin(pid: int, env: PulumiEnvironment, policy_dirs: tuple[Path, ...]) -> bool:
    proc = Path(f"/proc/{pid}")
    try:
        if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) != 1:
            return False
        argv = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0")]
        environ = (proc / "environ").read_bytes().split(b"\0")
        exe = Path(os.readlink(proc / "exe"))
        cwd = Path(os.readlink(proc / "cwd"))
    except (OSError, ValueError, IndexError):
        return False
    if f"PULUMI_BACKEND_URL={env.backend_url}".encode() not in environ:
        return False
    plugin = exe.is_relative_to(env.pulumi_home / "plugins") or (
        POLICY_MAIN in argv and any(cwd == d.resolve() for d in policy_dirs)
    )
    ports = [int(m.group(1)) for a in argv if (m := ENGINE_ADDRESS.match(a))]
    return plugin and bool(ports) and not any(port_in_use("127.0.0.1", p) for p in ports)
