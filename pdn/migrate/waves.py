"""`pdn migrate run --wave N`: a wave's hosts moved into the national DC, step by step, each
step an Ansible playbook (playbooks/migrate-<step>.yml) run by ansible-runner over every host of
the wave that still needs it, concurrently.

Steps, in order: `database` (each database into the tenant's DBaaS database, table by table,
checked by checksums), `stage` (the application's tree and the file shares pulled to the
controller's staging, by checksum), `share` (a file share into the tenant's bucket, with mode,
owner and symlinks as object metadata), `deploy` (the application onto the tenant's PDN host,
its configuration rewritten to DBaaS), `smoke` (the PDN host answers as the source does).

A journal per wave records each host's completed steps as they complete; an interrupted run
(killed, a host cut off) resumes from there: completed steps are not run again, and a step that
was cut short is run again from its start, which every step allows (each compares before it
copies). Every run's artifacts are kept under the estate's migration state.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pdn.estate.hosts import EstateRuntime
from pdn.files import private_dir
from pdn.migrate.discovery import HostDiscovery
from pdn.migrate.errors import MigrateError
from pdn.migrate.runner import PdnHosts, PlaybookRun, migration_state, run_dir, run_playbook
from pdn.migrate.targets import Targets

STEPS = ("database", "stage", "share", "deploy", "smoke")
# The order of playbooks/migrate.yml's plays and steps: first each host's own steps, every host at
# its own pace; then those that need every host's own done.
PLAYBOOK_ORDER = (
    ("freeze", "database", "stage", "share", "deploy", "stop", "thaw-files"),
    ("smoke", "carry-home", "thaw"),
)
ORDER = PLAYBOOK_ORDER[0] + PLAYBOOK_ORDER[1]
WWW_USER = "www-data"


@dataclass(frozen=True)
class AppMove:
    name: str
    root: str  # its tree, the same path on the PDN host
    config: str  # the file naming its database, rewritten on the PDN host
    engine: str
    target: str  # the PDN host's inventory name (<tenant>-<name>)
    target_address: str


@dataclass(frozen=True)
class DatabaseMove:
    engine: str
    source: str  # the database on the agency host
    target: str  # the tenant's DBaaS database


@dataclass(frozen=True)
class HostWork:
    host: str
    address: str
    tenant: str
    app: AppMove | None = None
    databases: tuple[DatabaseMove, ...] = ()
    shares: tuple[str, ...] = ()
    service: str | None = None  # the app's service name (DNS), switched at cutover

    def applies(self) -> list[str]:
        """Every step this host takes part in: the copy's, the cutover's, the rollback's."""
        moves = bool(self.databases or self.app or self.shares)
        extra = ["freeze", "thaw-files", "carry-home", "thaw"] if moves else []
        return [*self.steps(), *extra, *(["stop"] if self.app is not None else [])]

    def steps(self) -> list[str]:
        wanted = {
            "database": bool(self.databases),
            "stage": self.app is not None or bool(self.shares),
            "share": bool(self.shares),
            "deploy": self.app is not None,
            "smoke": self.app is not None,
        }
        return [s for s in STEPS if wanted[s]]


@dataclass
class Journal:
    """What a wave has done: per host, its completed steps; the wave's phase."""

    path: Path
    wave: int
    phase: str = "planned"  # planned, migrating, migrated (later: cut-over, rolled-back, final)
    done: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @staticmethod
    def load(path: Path, wave: int) -> Journal:
        if not path.exists():
            return Journal(path, wave)
        raw = json.loads(path.read_text())
        return Journal(path, wave, raw["phase"], raw["done"])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(
            json.dumps({"wave": self.wave, "phase": self.phase, "done": self.done}, indent=1) + "\n"
        )
        os.replace(partial, self.path)  # a kill leaves the old journal or the new, whole

    def completed(self, host: str, step: str) -> bool:
        return step in self.done.get(host, {})

    def record(self, host: str, step: str, changed: int, run: Path) -> None:
        self.done.setdefault(host, {})[step] = {
            "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "changed": changed,
            "run": str(run),
        }
        self.save()


def journal_path(runtime: EstateRuntime, wave: int) -> Path:
    return migration_state(runtime) / "waves" / f"wave-{wave}.json"


def wave_numbers(runtime: EstateRuntime) -> list[tuple[int, list[str]]]:
    """The plan's waves: number and hosts."""
    plan_file = migration_state(runtime) / "plan.json"
    if not plan_file.exists():
        raise MigrateError(f"no plan for estate {runtime.estate.name}: `pdn migrate plan` first")
    return [(w["number"], list(w["hosts"])) for w in json.loads(plan_file.read_text())["waves"]]


def wave_hosts(runtime: EstateRuntime, wave: int) -> list[str]:
    plan_file = migration_state(runtime) / "plan.json"
    if not plan_file.exists():
        raise MigrateError(f"no plan for estate {runtime.estate.name}: `pdn migrate plan` first")
    waves = json.loads(plan_file.read_text())["waves"]
    for found in waves:
        if found["number"] == wave:
            return list(found["hosts"])
    raise MigrateError(f"the plan has waves 1 to {len(waves)}; there is no wave {wave}")


def work_of(
    runtime: EstateRuntime, hosts: list[str], found: dict[str, HostDiscovery], targets: Targets
) -> list[HostWork]:
    """What moves from each host and where it lands; whatever is missing in the DC is named,
    with how to add it, before anything moves."""
    problems: list[str] = []
    work = []
    for name in hosts:
        room, host = runtime.estate.host(name)
        seen = found.get(name)
        if seen is None:
            raise MigrateError(f"{name} has not been discovered: `pdn migrate discover` first")
        tenant = targets.of(room.agency)

        def database_of(engine: str, name: str = name, slug: str = room.agency) -> str | None:
            return _tenant_database(targets, name, slug, engine, problems)

        databases = tuple(
            DatabaseMove(server.engine, source, target)
            for server in seen.databases
            for source in sorted(server.databases)
            if (target := database_of(server.engine)) is not None
        )
        app = None
        for site in seen.web_sites if "nginx" in seen.processes else []:
            if site.root is None or not site.database_endpoints:
                continue
            app_name = site.root.rstrip("/").rsplit("/", 1)[-1]
            engine = _engine_of(site.database_endpoints[0].host, name, found, runtime)
            address = tenant.hosts.get(app_name)
            if address is None:
                problems.append(
                    f"{name}: tenant {room.agency} has no PDN host {app_name}: add "
                    f"`hosts: [{{name: {app_name}, size: small}}]` to tenants/{room.agency}.yaml,"
                    " then `make up`"
                )
                continue
            if engine is None or database_of(engine) is None:
                problems.append(f"{name}: cannot tell which database engine {app_name} uses")
                continue
            app = AppMove(
                app_name,
                site.root,
                site.database_endpoints[0].file,
                engine,
                f"{room.agency}-{app_name}",
                address,
            )
        shares = tuple(s.path for s in seen.shares)
        if shares and tenant.storage is None:
            problems.append(
                f"{name}: tenant {room.agency} has no object storage for its file share"
            )
        service = host.app.service if host.app is not None and app is not None else None
        work.append(HostWork(name, str(host.address), room.agency, app, databases, shares, service))
    if problems:
        raise MigrateError("the wave cannot move yet:\n  " + "\n  ".join(problems))
    return work


def _tenant_database(
    targets: Targets, host: str, slug: str, engine: str, problems: list[str]
) -> str | None:
    db = targets.of(slug).databases.get(engine)
    if db is None:
        problems.append(
            f"{host}: tenant {slug} has no {engine} database: add "
            f"`databases: [{engine}]` to tenants/{slug}.yaml, then `make up`"
        )
        return None
    return db.database


def _engine_of(
    endpoint: str, host: str, found: dict[str, HostDiscovery], runtime: EstateRuntime
) -> str | None:
    """The engine of the database server an application's configuration names."""
    server = host if endpoint in ("127.0.0.1", "localhost") else None
    for _room, other in runtime.estate.hosts():
        if endpoint in (str(other.address), other.name):
            server = other.name
    engines = {s.engine for s in found[server].databases} if server in found else set()
    return engines.pop() if len(engines) == 1 else None


@dataclass
class StepResult:
    host: str
    step: str
    ok: bool
    changed: int
    detail: str = ""


@dataclass
class WaveRun:
    wave: int
    results: list[StepResult]
    skipped: dict[str, list[str]]  # host -> steps already done before this run
    runs: list[Path]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def changed(self) -> int:
        return sum(r.changed for r in self.results)


def extravars(work: list[HostWork], runtime: EstateRuntime, targets: Targets) -> dict[str, Any]:
    """What the playbooks are told (no secret: those are looked up while they run)."""
    staging = private_dir(migration_state(runtime) / "staging")  # agencies' files: root's alone
    return {
        "migrate_work": {w.host: _host_vars(w, targets) for w in work},
        "migrate_staging": str(staging),
        "migrate_ca": str(targets.dc.ca),
        "migrate_gateway": targets.dc.gateway,
        "migrate_estate_ssh": _ssh(runtime.key, runtime.known_hosts),
        "migrate_pdn_ssh": _ssh(targets.dc.host_key, targets.dc.host_known_hosts),
    }


def _ssh(key: Path, known_hosts: Path) -> list[str]:
    """The ssh command (without its destination) the controller's modules reach hosts with."""
    return [
        "ssh",
        "-i",
        str(key),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ServerAliveInterval=5",  # a host cut off midway is given up in 15 s, not hours
        "-o",
        "ServerAliveCountMax=3",
    ]


def _host_vars(work: HostWork, targets: Targets) -> dict[str, Any]:
    tenant = targets.of(work.tenant)
    found: dict[str, Any] = {"address": work.address, "tenant": work.tenant}
    found["databases"] = [
        {
            "engine": d.engine,
            "source": d.source,
            "target": {
                "host": tenant.databases[d.engine].host,
                "port": tenant.databases[d.engine].port,
                "database": d.target,
                "user": tenant.databases[d.engine].user,
                "ca": str(targets.dc.ca),
            },
            "secret": f"db:{work.tenant}:{d.engine}",
        }
        for d in work.databases
    ]
    if work.app is not None:
        db = tenant.databases[work.app.engine]
        found["app"] = asdict(work.app) | {
            "database": {
                "host": targets.dc.gateway,
                "port": db.port,
                "name": db.database,
                "user": db.user,
            },
            "secret": f"db:{work.tenant}:{work.app.engine}",
        }
    if work.shares and tenant.storage is not None:
        found["shares"] = list(work.shares)
        found["storage"] = {
            "endpoint": tenant.storage.endpoint,
            "bucket": tenant.storage.bucket,
            "access_key_id": tenant.storage.access_key_id,
            "prefix": f"migrated/{work.host}",
            "secret": f"s3:{work.tenant}",
        }
    return found


def secrets_of(work: list[HostWork], targets: Targets) -> dict[str, str]:
    found = {}
    for w in work:
        tenant = targets.of(w.tenant)
        for engine, db in tenant.databases.items():
            found[f"db:{w.tenant}:{engine}"] = db.password
        if tenant.storage is not None:
            found[f"s3:{w.tenant}"] = tenant.storage.secret_access_key
    return found


@dataclass
class Steps:
    """How steps run: one playbook (playbooks/migrate.yml) over the hosts they apply to (and that
    have not failed), what is already done skipped; each step that completes is seen from the
    runner's events as it completes, recorded then, and reported."""

    runtime: EstateRuntime
    work: list[HostWork]
    targets: Targets
    check: bool = False
    on_event: Callable[[dict[str, Any]], None] | None = None
    on_step: Callable[[StepResult], None] | None = None
    results: list[StepResult] = field(default_factory=list)
    runs: list[Path] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)

    def run(self, steps: tuple[str, ...], journal: Journal | None = None) -> None:
        """Of steps, each host's own at its own pace, then those that need every host's own done
        (PLAYBOOK_ORDER); with a journal, a host's recorded steps are skipped (but in check
        mode) and each one that completes is recorded."""
        plan = {
            w.host: [
                s
                for s in ORDER
                if s in steps
                and s in w.applies()
                and (self.check or journal is None or not journal.completed(w.host, s))
            ]
            for w in self.work
            if w.host not in self.failed
        }
        hosts = [host for host, left in plan.items() if left]
        if not hosts:
            return
        private = run_dir(self.runtime, "migrate.yml")
        tracker = StepTracker(self, {h: plan[h] for h in hosts}, journal, private)
        run = run_playbook(
            self.runtime,
            "migrate.yml",
            extravars=extravars(self.work, self.runtime, self.targets) | {"migrate_steps": plan},
            limit=",".join(hosts),
            check=self.check,
            on_event=tracker.event,
            targets=PdnHosts(
                {w.app.target: w.app.target_address for w in self.work if w.app is not None},
                self.targets.dc.host_key,
                self.targets.dc.host_known_hosts,
            ),
            secrets=secrets_of(self.work, self.targets),
            private=private,
        )
        self.runs.append(run.artifacts)
        tracker.finish(run)


@dataclass
class StepTracker:
    """A run's events, host by host: the step a host is in, what it changed; a step's mark
    (set when it completes) records it; a failure fails the host in the step it was in."""

    steps: Steps
    left: dict[str, list[str]]  # host -> its steps not yet done, in order
    journal: Journal | None
    private: Path
    changed: dict[str, int] = field(default_factory=dict)

    def event(self, event: dict[str, Any]) -> None:
        if self.steps.on_event is not None:
            self.steps.on_event(event)
        data = event.get("event_data") or {}
        host = str(data.get("host"))
        if not self.left.get(host):
            return
        res = data.get("res") or {}
        kind = event.get("event")
        if kind == "runner_on_ok":
            self.changed[host] = self.changed.get(host, 0) + bool(res.get("changed"))
            done = (res.get("ansible_facts") or {}).get("migrate_step_done")
            if done == self.left[host][0]:
                self._report(StepResult(host, done, True, self.changed.pop(host, 0)))
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            said = f"{data.get('task')}: {res.get('msg') or res.get('stderr', '')}"
            self._report(StepResult(host, self.left[host][0], False, 0, said))
        elif kind == "runner_on_unreachable":
            said = f"unreachable: {res.get('msg', '')}"
            self._report(StepResult(host, self.left[host][0], False, 0, said))

    def finish(self, run: PlaybookRun) -> None:
        """A host whose steps neither completed nor failed (never reached: a run that ended
        early) fails in its first step left, with the run named."""
        for host, left in self.left.items():
            if left:
                said = f"did not run (the run: {run.artifacts}, {run.status})"
                self._report(StepResult(host, left[0], False, 0, said))

    def _report(self, result: StepResult) -> None:
        steps = self.steps
        steps.results.append(result)
        if result.ok:
            self.left[result.host].pop(0)
            if self.journal is not None and not steps.check:
                self.journal.record(result.host, result.step, result.changed, self.private)
        else:
            self.left[result.host] = []
            steps.failed.add(result.host)
        if steps.on_step is not None:
            steps.on_step(result)


def _open(runtime: EstateRuntime, wave: int, allowed: tuple[str, ...], action: str) -> Journal:
    journal = Journal.load(journal_path(runtime, wave), wave)
    if journal.phase not in allowed:
        raise MigrateError(
            f"wave {wave} is {journal.phase}: {action} needs it "
            + " or ".join(allowed)
            + NEXT.get(journal.phase, "")
        )
    return journal


NEXT = {
    "planned": " (`pdn migrate run` first)",
    "migrating": " (`pdn migrate run` again: it resumes)",
    "migrated": " (`pdn migrate cutover` next)",
    "cutting-over": " (`pdn migrate cutover` again: it resumes)",
    "cut-over": ": its data now lives in the national DC (`pdn migrate rollback` to go home)",
    "rolling-back": " (`pdn migrate rollback` again: it resumes)",
    "rolled-back": ": the agency serves it from home again (`pdn migrate run` moves it anew)",
    "finalized": ": its rollback window is closed",
    "retired": ": its agency hosts are retired",
}


Switch = Callable[[dict[str, str]], bool]  # service name -> address; True if any changed


def run_wave(
    runtime: EstateRuntime,
    wave: int,
    work: list[HostWork],
    targets: Targets,
    *,
    check: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    switch: Switch | None = None,
) -> WaveRun:
    journal = _open(
        runtime, wave, ("planned", "migrating", "migrated", "rolled-back"), "`pdn migrate run`"
    )
    skipped = {w.host: [s for s in w.steps() if journal.completed(w.host, s)] for w in work}
    if not check:
        journal.phase = "migrating"
        journal.save()
        if switch is not None:  # the DC's DNS serves the names from now on, at home until cutover
            switch({w.service: w.address for w in work if w.app and w.service})
    steps = Steps(runtime, work, targets, check, on_event, on_step)
    steps.run(STEPS, journal)
    if not check and not steps.failed:
        journal.phase = "migrated"
        journal.save()
    return WaveRun(wave, steps.results, skipped, steps.runs)


# A cutover: the sources frozen, what changed since the copy synced (every step again: each
# copies only what differs), then the service names switched to the national DC.
CUTOVER_STEPS = ("freeze", *STEPS)
# A rollback: the DC's copies stopped, the sources' files opened, every write made in the DC
# carried home, the sources opened for writing, the names switched home.
ROLLBACK_STEPS = ("stop", "thaw-files", "carry-home", "thaw")


def cutover(
    runtime: EstateRuntime,
    wave: int,
    work: list[HostWork],
    targets: Targets,
    switch: Switch,
    *,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> WaveRun:
    journal = _open(runtime, wave, ("migrated", "cutting-over", "cut-over"), "a cutover")
    steps = Steps(runtime, work, targets, on_event=on_event, on_step=on_step)
    if journal.phase == "cut-over":
        # Done: the DC holds the data now, and writes made there since must never be synced
        # over again. The sources stay frozen and the names are checked, nothing more.
        steps.run(("freeze",))
    else:
        journal.phase = "cutting-over"
        journal.save()
        steps.run(CUTOVER_STEPS)
    names = {w.service: w.app.target_address for w in work if w.app and w.service}
    return _switched(steps, journal, switch, names, "cut-over")


def rollback(
    runtime: EstateRuntime,
    wave: int,
    work: list[HostWork],
    targets: Targets,
    switch: Switch,
    *,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> WaveRun:
    journal = _open(runtime, wave, ("cut-over", "rolling-back", "rolled-back"), "a rollback")
    steps = Steps(runtime, work, targets, on_event=on_event, on_step=on_step)
    if journal.phase != "rolled-back":  # once home, the agency's own writes are never overwritten
        journal.phase = "rolling-back"
        journal.save()
        steps.run(ROLLBACK_STEPS)
    names = {w.service: w.address for w in work if w.app and w.service}
    # A later run copies again (only what differs).
    return _switched(steps, journal, switch, names, "rolled-back", forget=True)


def _switched(
    steps: Steps,
    journal: Journal,
    switch: Switch,
    names: dict[str, str],
    phase: str,
    *,
    forget: bool = False,
) -> WaveRun:
    """Once every host's steps succeeded: the service names switched, the wave in its phase."""
    if not steps.failed:
        if switch(names):
            steps.results.append(StepResult("dns", "switch", True, len(names), ", ".join(names)))
        journal.phase = phase
        if forget:
            journal.done = {}
        journal.save()
    return WaveRun(journal.wave, steps.results, {}, steps.runs)


def finalize(runtime: EstateRuntime, wave: int) -> Journal:
    """The rollback window closes: the agency hosts may be retired from now on."""
    journal = _open(runtime, wave, ("cut-over", "finalized"), "finalizing")
    journal.phase = "finalized"
    journal.save()
    return journal


def retire(runtime: EstateRuntime, wave: int, hosts: list[str]) -> list[str]:
    """The wave's agency hosts stopped for good (their roots kept for the record)."""
    journal = _open(runtime, wave, ("finalized", "retired"), "retiring its hosts")
    stopped = []
    for name in hosts:
        _room, host = runtime.estate.host(name)
        if runtime.pid(host) is not None:
            runtime.stop_host(host)
            stopped.append(name)
    journal.phase = "retired"
    journal.save()
    return stopped
