"""gunicorn's settings for the feature service (`--config python:pdn.gis.gunicorn_conf`).

Its workers die with the master: SIGKILLed (by an operator, the OOM killer), the master cannot
stop them, and they would keep the port, so `pdn dc up` could not start the service again.
prctl(PR_SET_PDEATHSIG) has the kernel kill each worker when its parent goes."""

from __future__ import annotations

import ctypes
import os
import signal
from typing import Any

PR_SET_PDEATHSIG = 1  # prctl(2)


def post_fork(_server: Any, _worker: Any) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(1)
    if os.getppid() == 1:  # the master died before the signal was set
        os._exit(0)
