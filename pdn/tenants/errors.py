"""The tenants' error type: every problem of every file, one located line each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    file: Path
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        where = f"{self.file}:{self.line}:{self.column}:" if self.line else f"{self.file}:"
        return f"{where}{field} {self.message}"


class TenantError(Exception):
    """One or more tenant files are invalid; every problem is listed, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


__all__ = ["Problem", "TenantError"]
