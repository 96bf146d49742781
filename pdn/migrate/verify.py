"""`pdn migrate verify --wave N`: the testinfra suite of tests/migration run against a wave's
sources (the agency hosts) and targets (the PDN hosts, DBaaS, the tenants' buckets), in this
process: what it needs, secrets included, is handed to it in memory, never through a file.
Every run writes a JUnit XML report under the estate's migration state."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pdn import paths
from pdn.estate.hosts import EstateRuntime
from pdn.migrate.runner import migration_state
from pdn.migrate.targets import Targets
from pdn.migrate.waves import HostWork
from pdn.suites import run_suite

SUITE = paths.REPO_ROOT / "tests" / "migration"


@dataclass
class WaveContext:
    """What the suite checks: the wave's work, where it landed, how to reach both sides."""

    runtime: EstateRuntime
    wave: int
    work: list[HostWork]
    targets: Targets
    ssh_config: Path


@dataclass
class Outcome:
    passed: int
    failed: int
    report: Path
    failures: list[tuple[str, str]]  # (test id, what failed)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0


def write_ssh_config(runtime: EstateRuntime, work: list[HostWork], targets: Targets) -> Path:
    """Each side by name, with its own key (testinfra's SSH backend reads it)."""
    lines = []
    common = [
        "    User root",
        "    BatchMode yes",
        "    StrictHostKeyChecking accept-new",
        "    ConnectTimeout 10",
        "    ServerAliveInterval 5",
    ]
    for w in work:
        lines += [
            f"Host {w.host}",
            f"    HostName {w.address}",
            f"    IdentityFile {runtime.key}",
            f"    UserKnownHostsFile {runtime.known_hosts}",
            *common,
        ]
        if w.app is not None:
            lines += [
                f"Host {w.app.target}",
                f"    HostName {w.app.target_address}",
                f"    IdentityFile {targets.dc.host_key}",
                f"    UserKnownHostsFile {targets.dc.host_known_hosts}",
                *common,
            ]
    path = migration_state(runtime) / "verify" / "ssh_config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


class _Plugin:
    def __init__(self, context: WaveContext) -> None:
        self.context = context
        self.failures: list[tuple[str, str]] = []
        self.passed = 0

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        work = self.context.work
        if "app" in metafunc.fixturenames:
            apps = [w for w in work if w.app is not None]
            metafunc.parametrize("app", apps, ids=[w.host for w in apps])
        if "database" in metafunc.fixturenames:
            dbs = [(w, d) for w in work for d in w.databases]
            metafunc.parametrize("database", dbs, ids=[f"{w.host}:{d.source}" for w, d in dbs])
        if "share" in metafunc.fixturenames:
            shares = [(w, s) for w in work for s in w.shares]
            metafunc.parametrize("share", shares, ids=[f"{w.host}:{s}" for w, s in shares])

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" and report.passed:
            self.passed += 1
        elif report.failed:
            self.failures.append((report.nodeid.split("::")[-1], str(report.longrepr)[-600:]))


def verify(
    runtime: EstateRuntime, wave: int, work: list[HostWork], targets: Targets, *, quiet: bool = True
) -> Outcome:
    context = WaveContext(runtime, wave, work, targets, write_ssh_config(runtime, work, targets))
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    report = migration_state(runtime) / "verify" / f"wave-{wave}-{stamp}.xml"
    plugin = _Plugin(context)
    run_suite(SUITE, report, [plugin], quiet=quiet)
    return Outcome(plugin.passed, len(plugin.failures), report, plugin.failures)
