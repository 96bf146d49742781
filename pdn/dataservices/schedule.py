"""The backup schedule the platform runs: every few minutes, back up the tenants that are due,
then drill the restores that are due (compliance PDN-BACKUP-2 asks for a recent verified one).

What is due comes from each tenant's tier (its periods) and the catalog (its last good backup,
its last drill), so the schedule holds no state of its own: stopped for a day, it backs up
everything on its first tick; run twice, the second finds nothing due. Tenant files are read
again on every tick (a new agency is picked up, a broken file skips that tick and says so). In
production this is a CronJob of the platform (`platform_services/deployment`); on the local
DC it is one of the DC's processes, started by `pdn up`, stopped with the DC, its PID and log
beside the others.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings
from pdn.files import write_private

NAME = "backup-scheduler"
EVERY_SECONDS = 300  # the shortest tier period is an hour: a backup is at most 5 min late


def heartbeat_file(settings: DCSettings) -> Path:
    return settings.run_dir / f"{NAME}.heartbeat"


def serve(
    tick: Callable[[], str],
    every: float,
    heartbeat: Path,
    progress: Callable[[str], None],
    ticks: int | None = None,
) -> None:
    """Run tick every `every` seconds (ticks: how many, None: until stopped). A failing tick is
    reported and the next one runs: a second site down for an hour must not stop the schedule.
    The heartbeat file records the last tick's end and outcome."""
    done = 0
    while ticks is None or done < ticks:
        started = time.monotonic()
        try:
            outcome = tick()
        except Exception as err:
            outcome = f"FAILED: {err.__class__.__name__}: {err}"
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        progress(f"{stamp} {outcome}")
        write_private(heartbeat, f"{stamp} {outcome}\n")
        done += 1
        if ticks is None or done < ticks:
            time.sleep(max(0.0, every - (time.monotonic() - started)))


def process_spec(
    settings: DCSettings, inventory: Path, tenants_dir: Path, every: float = EVERY_SECONDS
) -> ProcessSpec:
    """The schedule as a process of the local DC: `pdn backup schedule`, reaching this DC (its
    state root) and the tenants of tenants_dir."""
    argv = (
        sys.executable,
        "-m",
        "pdn.cli.main",
        "backup",
        "schedule",
        "--inventory",
        str(inventory.resolve()),
        "--dir",
        str(tenants_dir.resolve()),
        "--every",
        str(every),
    )
    heartbeat = heartbeat_file(settings)
    limit = every * 2 + 600  # a tick may back up many tenants

    def problem() -> str | None:
        try:
            age = time.time() - heartbeat.stat().st_mtime
        except FileNotFoundError:
            return "no tick has finished yet"
        return None if age <= limit else f"last tick ended {age:.0f}s ago"

    env = {**os.environ, "PDN_STATE_DIR": str(settings.state_root)}
    return ProcessSpec(NAME, argv, (), problem, env=env)
