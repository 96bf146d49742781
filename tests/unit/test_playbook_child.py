"""ansible-playbook as pdn starts it ends with the pdn process that runs it: killed by PID, the
migration leaves no playbook running on (it sits in a session of its own, out of reach of a
kill of the process group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen(
    [sys.executable, "-m", "pdn.migrate.playbook_child", str(os.getpid()), "/bin/sleep", "300"],
    start_new_session=True,  # as pexpect starts it: out of the parent's process group
)
print(child.pid, flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_playbook_stops_when_pdn_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{child}/cmdline").read_text().startswith("/bin/sleep"):
            assert time.monotonic() < deadline, "the playbook never started"
            time.sleep(0.05)
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, "the playbook ran on after pdn was killed"
            time.sleep(0.05)
    finally:
        for pid in (parent.pid, child):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_playbook_whose_pdn_is_gone_does_not_start() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pdn.migrate.playbook_child", "1", "/bin/true"],
        check=False,
        timeout=30,
    )
    assert done.returncode == 1
