"""The schedule's loop: a failing tick is reported and the next one runs; the heartbeat says
how the last one ended. What it drills: the restores its tier says are due."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pdn.dataservices import schedule
from pdn.dataservices.plan import TIER_BACKUP
from pdn.dataservices.runner import StatusRow, drills_due
from pdn.tenants.model import Tier


def test_a_failing_tick_is_reported_and_the_schedule_goes_on(tmp_path: Path) -> None:
    outcomes: list[str | Exception] = [
        RuntimeError("second site down"),
        "backed up 2 due tenant(s): a, b",
    ]

    def tick() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    lines: list[str] = []
    heartbeat = tmp_path / "heartbeat"
    schedule.serve(tick, 0.01, heartbeat, lines.append, ticks=2)
    assert "FAILED: RuntimeError: second site down" in lines[0]
    assert lines[1].endswith("backed up 2 due tenant(s): a, b")
    assert heartbeat.read_text().strip().endswith("backed up 2 due tenant(s): a, b")
    assert heartbeat.stat().st_mode & 0o077 == 0


def _row(
    tenant: str, *, last_good: str | None, drilled_hours_ago: float | None, ok: bool = True
) -> StatusRow:
    age = None if drilled_hours_ago is None else timedelta(hours=drilled_hours_ago)
    return StatusRow(
        tenant, "bucket", last_good, None, TIER_BACKUP[Tier.VITAL], (), "", None, age, ok
    )


def test_drills_are_due_when_never_made_too_old_or_mismatched() -> None:
    rows = [
        _row("fresh", last_good="s", drilled_hours_ago=1),
        _row("never", last_good="s", drilled_hours_ago=None),
        _row("old", last_good="s", drilled_hours_ago=24 * 8),  # vital: a drill a week
        _row("mismatch", last_good="s", drilled_hours_ago=1, ok=False),
        _row("no-backup-yet", last_good=None, drilled_hours_ago=None),  # nothing to drill
    ]
    assert drills_due(rows) == ["mismatch", "never", "old"]
