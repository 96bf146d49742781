"""`pdn comply run`: the compliance suite (tests/compliance) over the targets chosen now, in this
process; each result judged against the waivers; a JUnit XML report for CI, a JSON report for
machines and an HTML report for people (with its screenshot), kept per run under pdn's state
(compliance/runs/<time>/).

Hosts are reached over SSH, one session each (pdn.compliance.host_batch: every host check's
command at once in it), which stays open as the host's multiplexed connection (ControlMaster)
for anything else asked of it, and is closed when the run ends."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pdn import paths
from pdn.compliance import browser, html
from pdn.compliance.catalog import Catalog, Waiver
from pdn.compliance.errors import ComplianceError
from pdn.compliance.outcome import Judged, Outcome, judge
from pdn.compliance.targets import HostTarget, Scope
from pdn.estate.hosts import EstateRuntime
from pdn.estate.services import mirror_url
from pdn.files import private_dir
from pdn.suites import run_suite

SUITE = paths.REPO_ROOT / "tests" / "compliance"
CLOSING = 16  # connections told to exit at once


@dataclass
class Result:
    control: str
    target: str
    severity: str
    title: str
    outcome: Outcome
    passed: bool  # what the check found, whatever a waiver says
    evidence: str
    waiver: Waiver | None = None
    agency: str = ""  # whose target it is ("" for the platform's own)


@dataclass
class Report:
    directory: Path
    results: list[Result] = field(default_factory=list)
    # Controls applicable to a kind of target checked, with no check for it (see unchecked).
    unchecked: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.outcome.ok for r in self.results)

    @property
    def junit(self) -> Path:
        return self.directory / "junit.xml"

    @property
    def json(self) -> Path:
        return self.directory / "report.json"

    @property
    def html(self) -> Path:
        return self.directory / "report.html"

    @property
    def screenshot(self) -> Path:
        return self.directory / "report.png"


def target_of(alias: str) -> str:
    """A target's name in the report, <kind>/<name>: a host's from its SSH alias <kind>.<name>,
    any other target's is its test id already."""
    if "/" in alias:
        return alias
    kind, _, name = alias.partition(".")
    return f"{kind}/{name}" if name else f"host/{alias}"


def estate_targets(runtime: EstateRuntime) -> list[HostTarget]:
    return [
        HostTarget(
            "estate-host",
            host.name,
            str(host.address),
            runtime.key,
            runtime.known_hosts,
            room.agency,
            mirror_url(runtime.estate),
        )
        for room, host in runtime.estate.hosts()
    ]


def runs_dir() -> Path:
    return paths.state_dir() / "compliance" / "runs"


def write_ssh_config(targets: list[HostTarget], directory: Path, control: Path) -> Path:
    """Each host by its alias, through one multiplexed connection (its socket in control)."""
    lines = []
    for t in targets:
        lines += [
            f"Host {t.alias}",
            f"    HostName {t.address}",
            "    User root",
            f"    IdentityFile {t.key}",
            f"    UserKnownHostsFile {t.known_hosts}",
            "    StrictHostKeyChecking accept-new",
            "    BatchMode yes",
            "    ConnectTimeout 10",
            "    ServerAliveInterval 5",
            # X25519 first: the post-quantum hybrid (OpenSSH's default) costs ~70 ms of CPU
            # per handshake, most of a check run's time over many hosts; what crosses this
            # connection is settings and file names, not agency data.
            "    KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,"
            "sntrup761x25519-sha512@openssh.com",
            "    ControlMaster auto",
            f"    ControlPath {control}/%C",
            "    ControlPersist 60",
        ]
    path = directory / "ssh_config"
    path.write_text("\n".join(lines) + "\n")
    return path


class _Collector:
    """Each test's result, named by its control (the catalog's check) and its target (the
    host it ran on), even where it failed before it could say so itself (a host unreachable
    in setup): no result goes missing from the report."""

    def __init__(self, catalog: Catalog) -> None:
        self.controls = {c.check: c.id for c in catalog.controls}
        self.found: list[tuple[dict[str, str], bool, str]] = []  # properties, passed, failure
        self.broken: list[str] = []  # test files that could not be collected

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.broken.append(f"{report.nodeid}: {str(report.longrepr)[-400:]}")

    def pytest_runtest_logreport(self, report: Any) -> None:
        if not (report.when == "call" or (report.when == "setup" and report.failed)):
            return
        test, _, param = report.nodeid.split("::")[-1].partition("[")
        properties = {str(k): str(v) for k, v in report.user_properties}
        properties.setdefault("control", self.controls.get(test, test))
        properties.setdefault("target", target_of(param.rstrip("]").removeprefix("ssh://")))
        said = "" if report.passed else str(report.longrepr)[-400:]
        self.found.append((properties, bool(report.passed), said))


def run(
    targets: list[HostTarget],
    catalog: Catalog,
    waivers: tuple[Waiver, ...],
    *,
    scope: Scope | None = None,
    today: datetime.date | None = None,
    runs: Path | None = None,
    quiet: bool = True,
    screenshot: bool = True,
) -> Report:
    """The suite over the hosts targets and what scope holds (clusters, tenants, stores), each
    result judged against waivers (as of today); its reports kept in a new directory of runs
    (default: pdn's state)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    report = Report(private_dir((runs or runs_dir()) / stamp))
    # The sockets' paths must stay short (a Unix socket's is at most 107 bytes).
    control = Path(tempfile.mkdtemp(prefix="pdn-comply-"))
    ssh_config = write_ssh_config(targets, report.directory, control)
    try:
        found = _suite(report, catalog, ssh_config, targets, scope or Scope(), quiet)
    finally:
        _disconnect(targets, ssh_config)
        shutil.rmtree(control, ignore_errors=True)
    day = today or datetime.datetime.now(datetime.UTC).date()
    agencies = {f"{t.kind}/{t.name}": t.agency for t in targets}
    agencies |= {t.target: t.tenant.slug for t in (scope.tenants if scope else [])}
    document = _judge(report, found, catalog, waivers, agencies, day=day, stamp=stamp)
    report.html.write_text(html.render(document, catalog, previous_run(report.directory)))
    if screenshot and browser.available():  # the page as people saw it, kept with the run
        browser.screenshot(report.html, report.screenshot)
    return report


def unchecked(results: list[Result], catalog: Catalog) -> list[dict[str, str]]:
    """Controls that apply to a kind of target this run checked but have no result for it:
    no check implements them for that kind yet. The report names them, so a gap in coverage
    is never read as compliance."""
    kinds = {r.target.partition("/")[0] for r in results}
    done = {(r.control, r.target.partition("/")[0]) for r in results}
    return [
        {"control": control.id, "kind": kind.value, "title": control.title}
        for control in catalog.controls
        for kind in control.applies_to
        if kind.value in kinds and (control.id, kind.value) not in done
    ]


def previous_run(directory: Path) -> dict[str, Any] | None:
    """The JSON report of the run before the one in directory (runs are named by their time)."""
    earlier = sorted(
        d for d in directory.parent.iterdir() if d.name < directory.name and d.is_dir()
    )
    for candidate in reversed(earlier):
        try:
            found: dict[str, Any] = json.loads((candidate / "report.json").read_text())
        except (OSError, ValueError):
            continue  # a run that never finished its report
        return found
    return None


def _disconnect(targets: list[HostTarget], ssh_config: Path) -> None:
    """The connections end with the run (each master told to exit)."""

    def exit_one(target: HostTarget) -> None:
        subprocess.run(
            ["ssh", "-F", str(ssh_config), "-O", "exit", target.alias],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )

    with ThreadPoolExecutor(max_workers=max(1, min(CLOSING, len(targets)))) as pool:
        list(pool.map(exit_one, targets))


def _suite(  # noqa: PLR0917 (one private call site)
    report: Report,
    catalog: Catalog,
    ssh_config: Path,
    targets: list[HostTarget],
    scope: Scope,
    quiet: bool,
) -> list[tuple[dict[str, str], bool, str]]:
    """What the suite found: each result's properties, whether it passed, what failed."""
    collector = _Collector(catalog)
    hosts = ",".join(f"ssh://{t.alias}" for t in targets)
    # Without hosts, testinfra would run the host controls on this machine: none are run.
    args = (
        [f"--ssh-config={ssh_config}", f"--hosts={hosts}"]
        if targets
        else [f"--ignore={SUITE / 'test_hosts.py'}"]
    )
    # Each host's mirror, for the package check (hosts reach the suite as SSH aliases only).
    scope = replace(scope, mirrors=scope.mirrors | {t.alias: t.mirror for t in targets if t.mirror})
    run_suite(SUITE, report.junit, [collector, scope], args, quiet=quiet)
    if collector.broken:
        raise ComplianceError(
            "the compliance suite is broken (a check cannot be trusted to run): "
            + "; ".join(collector.broken)
        )
    return collector.found


def _judge(
    report: Report,
    found: list[tuple[dict[str, str], bool, str]],
    catalog: Catalog,
    waivers: tuple[Waiver, ...],
    agencies: dict[str, str],
    *,
    day: datetime.date,
    stamp: str,
) -> dict[str, Any]:
    """The results judged onto report, written as its JSON report; that document returned."""
    for properties, passed, said in found:
        control = catalog.control(properties["control"])
        target = properties.get("target", "-")
        judged: Judged = judge(control.id, target, passed, waivers, day)
        report.results.append(
            Result(
                control.id,
                target,
                control.severity.value,
                control.title,
                judged.outcome,
                passed,
                properties.get("evidence", "") or said,
                judged.waiver,
                agencies.get(target, ""),
            )
        )
    report.unchecked = unchecked(report.results, catalog)
    text = json.dumps(
        {
            "catalog": catalog.version,
            "at": stamp,
            "ok": report.ok,
            "results": [asdict(r) for r in report.results],
            "unchecked": report.unchecked,
        },
        indent=1,
        default=str,
    )
    report.json.write_text(text + "\n")
    found_document: dict[str, Any] = json.loads(text)  # as the HTML report and later runs read it
    return found_document
