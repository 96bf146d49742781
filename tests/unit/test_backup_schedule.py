"""The schedule's loop: a failing tick is reported and the next one runs; the heartbeat says
how the last one ended."""

from __future__ import annotations

from pathlib import Path

from pdn.dataservices import schedule


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
