"""pdn's testinfra suites (tests/migration, tests/compliance) run in pdn's own process: what they
check is handed to them by a plugin, in memory; every run writes its JUnit XML report."""

from __future__ import annotations

from pathlib import Path

import pytest


def run_suite(
    suite: Path,
    junit: Path,
    plugins: list[object],
    args: list[str] | None = None,
    *,
    quiet: bool = True,
) -> None:
    pytest.main(
        [
            str(suite),
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(suite),
            "-o",
            "addopts=",
            "-o",
            "junit_family=xunit1",
            f"--junitxml={junit}",
            *(args or []),
            *(["-q", "--no-header", "--tb=line"] if quiet else ["-v"]),
        ],
        plugins=plugins,
    )
