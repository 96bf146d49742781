"""ansible-playbook as pdn starts it: bound to the pdn process that runs it. When that process
dies (killed by PID, its terminal gone), the playbook is told to stop (SIGTERM) instead of going
on unattended beside the run that resumes it.

    python -m pdn.migrate.playbook_child PARENT_PID ANSIBLE_PLAYBOOK [ARGS...]
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    parent, playbook, *args = argv
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        print(f"pdn: prctl: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 1
    if os.getppid() != int(parent):  # it died before the binding held
        return 1
    os.execv(playbook, [playbook, *args])  # noqa: S606 (the playbook pdn runs, as it is)
    return 1  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
