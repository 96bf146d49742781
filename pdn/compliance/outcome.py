"""What a check's result becomes once waivers are read: a waiver turns a failure into `waived`
until it expires, then the check fails whatever it found (the waiver must be renewed or
removed); a waiver never hides a result: the check's own is kept beside it."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from pdn.compliance.catalog import Waiver


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"  # failed, under a waiver that holds
    WAIVER_EXPIRED = "waiver-expired"  # a failure: the waiver ran out

    @property
    def ok(self) -> bool:
        return self in (Outcome.PASSED, Outcome.WAIVED)


@dataclass(frozen=True)
class Judged:
    outcome: Outcome
    passed: bool  # what the check itself found
    waiver: Waiver | None


def judge(
    control: str,
    target: str,
    passed: bool,
    waivers: tuple[Waiver, ...],
    today: datetime.date,
) -> Judged:
    waiver = next((w for w in waivers if w.control == control and w.target == target), None)
    if waiver is not None and waiver.expired(today):
        return Judged(Outcome.WAIVER_EXPIRED, passed, waiver)
    if passed:
        return Judged(Outcome.PASSED, passed, waiver)
    return Judged(Outcome.WAIVED if waiver else Outcome.FAILED, passed, waiver)
