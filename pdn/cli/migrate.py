"""`pdn migrate discover|assess|plan`: what runs in the agency server rooms, how each workload
moves, and in which waves (Ansible through ansible-runner; results read from its events)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from pdn.cli.output import progress, table
from pdn.estate.loader import LOCAL_ESTATE

if TYPE_CHECKING:
    from collections.abc import Callable

    from pdn.estate.hosts import EstateRuntime
    from pdn.migrate.targets import Targets
    from pdn.migrate.waves import HostWork, WaveRun


WAVE_ACTIONS = ("run", "verify", "cutover", "rollback", "finalize", "retire")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("migrate", help="move agency workloads into the national DC")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, handler, text in (
        ("discover", _discover, "what every host runs (read-only), one file per host"),
        ("assess", _assess, "how each workload moves, what blocks it, Satu Data findings"),
        ("plan", _plan, "waves from dependencies and agencies, as a table and an SVG"),
        ("run", _run, "move a wave into the national DC (resumes where it stopped)"),
        ("verify", _verify, "check a moved wave on both sides (testinfra; JUnit XML report)"),
        ("cutover", _cutover, "freeze the sources, sync, switch the service names to the DC"),
        ("rollback", _rollback, "carry the DC's writes home, switch the service names back"),
        ("finalize", _finalize, "close a wave's rollback window (its sources may retire)"),
        ("retire", _retire, "stop a finalized wave's agency hosts for good"),
        ("status", _status, "each wave's phase and where its service names point"),
        ("all", _all, "every wave of the plan in order: run, verify, cut over"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument(
            "--estate", type=Path, default=LOCAL_ESTATE, help="estate file (default: %(default)s)"
        )
        if name == "assess":
            action.add_argument(
                "--tenants",
                type=Path,
                help="tenant files, for the PDN hosts they declare (default: tenants/)",
            )
        if name == "plan":
            action.add_argument(
                "--max-hosts", type=int, default=4, help="hosts per wave (default: %(default)s)"
            )
        if name == "all":
            action.add_argument(
                "--inventory", type=Path, default=None, help="the site (default: the local DC)"
            )
        if name in WAVE_ACTIONS:
            action.add_argument("--wave", type=int, required=True, help="the wave")
            action.add_argument(
                "--inventory", type=Path, default=None, help="the site (default: the local DC)"
            )
        if name == "run":
            action.add_argument(
                "--check", action="store_true", help="say what would change, change nothing"
            )
        action.set_defaults(handler=handler)


def _runtime(args: argparse.Namespace) -> EstateRuntime:
    from pdn.estate.hosts import EstateRuntime  # noqa: PLC0415
    from pdn.estate.loader import load_estate  # noqa: PLC0415

    return EstateRuntime(load_estate(args.estate))


def _discover(args: argparse.Namespace) -> int:
    from pdn.migrate.discovery import discover  # noqa: PLC0415

    runtime = _runtime(args)
    progress(f"[discover] {len(list(runtime.estate.hosts()))} hosts of {runtime.estate.name}")
    run = discover(runtime)
    table(
        f"discovery of {runtime.estate.name} ({run.directory})",
        ["host", "agency", "os", "listening", "databases", "sites", "data", "changed"],
        [
            [
                name,
                found.agency,
                found.os.pretty_name,
                ",".join(str(s.port) for s in found.listening),
                ",".join(d for s in found.databases for d in s.databases) or "-",
                ",".join(w.root or "-" for w in found.web_sites if "nginx" in found.processes)
                or "-",
                f"{found.data_bytes / 1e6:.2f} MB",
                str(run.changed.get(name, 0)),
            ]
            for name, found in run.hosts.items()
        ],
    )
    changed = sum(run.changed.values())
    print(f"changes made on the hosts: {changed}; the run's events: {run.artifacts}")
    return 0 if changed == 0 else 1


def _assess(args: argparse.Namespace) -> int:
    from pdn.migrate.assess import assess  # noqa: PLC0415
    from pdn.migrate.discovery import load_discovery  # noqa: PLC0415
    from pdn.migrate.runner import migration_state  # noqa: PLC0415

    runtime = _runtime(args)
    result = assess(runtime.estate, load_discovery(runtime), _declared_hosts(args.tenants))
    table(
        "workloads",
        ["host", "kind", "name", "strategy", "target", "blockers / notes"],
        [
            [w.host, w.kind, w.name, w.strategy.value, w.target, "; ".join(w.blockers + w.notes)]
            for w in result.workloads
        ],
    )
    table(
        "dependencies",
        ["host", "depends on", "seen in", "detail"],
        [[d.source, d.target, d.seen, d.detail] for d in result.dependencies],
    )
    table(
        "Satu Data readiness",
        ["host", "database", "table.column", "finding", "detail"],
        [
            [
                f.host,
                f.database,
                f"{f.table}.{f.column}",
                f.kind,
                f.detail
                + "".join(f"; {value} -> {code} {name}" for value, code, name in f.proposals[:3])
                + (f"; … {len(f.proposals) - 3} more" if len(f.proposals) > 3 else ""),
            ]
            for f in result.satu_data
        ],
    )
    report = migration_state(runtime) / "assessment.json"
    report.write_text(json.dumps(asdict(result), indent=1) + "\n")
    print(f"the assessment: {report}")
    return 0


def _declared_hosts(directory: Path | None) -> dict[str, dict[str, str]]:
    """Per tenant, the PDN hosts its file declares (name -> size), the fleet checked first."""
    from pdn.inventory import all_sites  # noqa: PLC0415
    from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files  # noqa: PLC0415

    fleet = load_fleet(tenant_files(directory or TENANTS_DIR), all_sites())
    return {
        slug: {h.name: h.size.value for h in tenant.hosts} for slug, tenant in fleet.tenants.items()
    }


def _plan(args: argparse.Namespace) -> int:
    from pdn.migrate.assess import assess  # noqa: PLC0415
    from pdn.migrate.discovery import load_discovery  # noqa: PLC0415
    from pdn.migrate.plan import make_plan, write_plan  # noqa: PLC0415
    from pdn.migrate.runner import migration_state  # noqa: PLC0415

    runtime = _runtime(args)
    result = assess(runtime.estate, load_discovery(runtime))
    plan = make_plan(
        result, {h.name: r.agency for r, h in runtime.estate.hosts()}, max_hosts=args.max_hosts
    )
    table(
        f"waves of {runtime.estate.name}",
        ["wave", "hosts, in order", "agencies", "data", "estimate"],
        [
            [
                str(w.number),
                ", ".join(w.hosts),
                ", ".join(w.agencies),
                f"{w.data_bytes / 1e6:.2f} MB",
                f"~{w.minutes:.0f} min",
            ]
            for w in plan.waves
        ],
    )
    as_json, picture = write_plan(plan, migration_state(runtime))
    print(f"the plan: {as_json}; the picture: {picture}")
    return 0


def _switch(args: argparse.Namespace) -> Callable[[dict[str, str]], bool]:
    """How service names are switched: the local DC's DNS server."""
    from pdn.dc import dns  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import LOCAL_SITE, load_site  # noqa: PLC0415

    dc = LocalDC(load_site(args.inventory or LOCAL_SITE))
    return lambda names: dns.set_records(dc.settings, names, dc.supervisor)


def _wave(args: argparse.Namespace) -> tuple[EstateRuntime, Targets, list[HostWork]]:
    """The estate, where its tenants' workloads land (the stacks' outputs), the wave's work."""
    from pdn import pulumi_env  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import LOCAL_SITE, load_site  # noqa: PLC0415
    from pdn.migrate.discovery import load_discovery  # noqa: PLC0415
    from pdn.migrate.targets import load_targets  # noqa: PLC0415
    from pdn.migrate.waves import wave_hosts, work_of  # noqa: PLC0415
    from pdn.state import select  # noqa: PLC0415

    runtime = _runtime(args)
    site = load_site(args.inventory or LOCAL_SITE)
    env = pulumi_env.environment(state=select.configured(site))
    targets = load_targets(env, site.code, LocalDC(site))
    hosts = wave_hosts(runtime, args.wave)
    return runtime, targets, work_of(runtime, hosts, load_discovery(runtime), targets)


def _run(args: argparse.Namespace) -> int:
    from pdn.cli.output import HostProgress  # noqa: PLC0415
    from pdn.migrate.waves import run_wave  # noqa: PLC0415

    runtime, targets, work = _wave(args)
    hosts = [w.host for w in work]
    progress(
        f"[run] wave {args.wave}: {', '.join(hosts)}" + (" (check mode)" if args.check else "")
    )
    with HostProgress({w.host: w.steps() for w in work}) as shown:
        result = run_wave(
            runtime,
            args.wave,
            work,
            targets,
            check=args.check,
            switch=None if args.check else _switch(args),
            on_event=shown.event,
            on_step=lambda r: shown.step(r.host, r.step, r.ok, r.changed, r.detail),
        )
    table(
        f"wave {args.wave}" + (" (check mode: nothing changed)" if args.check else ""),
        ["host", "tenant", "steps done before", "steps run", "changed", "result"],
        [
            [
                w.host,
                w.tenant,
                ",".join(result.skipped.get(w.host, [])) or "-",
                ",".join(r.step for r in result.results if r.host == w.host) or "-",
                str(sum(r.changed for r in result.results if r.host == w.host)),
                next(
                    (
                        f"failed: {r.detail}"
                        for r in result.results
                        if r.host == w.host and not r.ok
                    ),
                    "ok",
                ),
            ]
            for w in work
        ],
    )
    runs = ", ".join(str(r) for r in result.runs) or "-"
    print(f"changed: {result.changed}; the runs' artifacts: {runs}")
    return 0 if result.ok else 1


def _verify(args: argparse.Namespace) -> int:
    from pdn.migrate.verify import verify  # noqa: PLC0415

    runtime, targets, work = _wave(args)
    progress(f"[verify] wave {args.wave}: {', '.join(w.host for w in work)}")
    outcome = verify(runtime, args.wave, work, targets)
    if outcome.failures:
        table(
            f"wave {args.wave}: what differs",
            ["check", "what failed"],
            [[name, said] for name, said in outcome.failures],
        )
    print(f"{outcome.passed} passed, {outcome.failed} failed; the report: {outcome.report}")
    return 0 if outcome.ok else 1


def _summary(title: str, work: list[HostWork], result: WaveRun) -> int:
    table(
        title,
        ["host", "steps", "changed", "result"],
        [
            [
                w.host,
                ",".join(r.step for r in result.results if r.host == w.host) or "-",
                str(sum(r.changed for r in result.results if r.host == w.host)),
                next(
                    (
                        f"failed: {r.detail}"
                        for r in result.results
                        if r.host == w.host and not r.ok
                    ),
                    "ok",
                ),
            ]
            for w in work
        ]
        + [["dns", r.step, str(r.changed), r.detail] for r in result.results if r.host == "dns"],
    )
    runs = ", ".join(str(r) for r in result.runs) or "-"
    print(f"changed: {result.changed}; the runs' artifacts: {runs}")
    return 0 if result.ok else 1


def _cutover(args: argparse.Namespace) -> int:
    from pdn.migrate.verify import verify  # noqa: PLC0415

    runtime, targets, work = _wave(args)
    outcome = verify(runtime, args.wave, work, targets)
    if not outcome.ok:
        print(
            f"wave {args.wave} does not verify ({outcome.failed} failed; {outcome.report}): "
            "`pdn migrate run` it again, then `pdn migrate verify`"
        )
        return 1
    progress(f"[cutover] wave {args.wave}: verified ({outcome.passed} checks), now switching")
    return _switching(args, "cutover", runtime, targets, work)


def _rollback(args: argparse.Namespace) -> int:
    runtime, targets, work = _wave(args)
    return _switching(args, "rollback", runtime, targets, work)


def _switching(
    args: argparse.Namespace,
    action: str,
    runtime: EstateRuntime,
    targets: Targets,
    work: list[HostWork],
) -> int:
    """A cutover or a rollback, shown host by host, then its summary."""
    from pdn.cli.output import HostProgress  # noqa: PLC0415
    from pdn.migrate import waves  # noqa: PLC0415

    order, call = (
        (waves.CUTOVER_STEPS, waves.cutover)
        if action == "cutover"
        else (waves.ROLLBACK_STEPS, waves.rollback)
    )
    steps = {w.host: [s for s in order if s in w.applies()] for w in work}
    with HostProgress(steps) as shown:
        result = call(
            runtime,
            args.wave,
            work,
            targets,
            _switch(args),
            on_event=shown.event,
            on_step=lambda r: shown.step(r.host, r.step, r.ok, r.changed, r.detail),
        )
    return _summary(f"wave {args.wave}: {action}", work, result)


def _finalize(args: argparse.Namespace) -> int:
    from pdn.migrate.waves import finalize  # noqa: PLC0415

    journal = finalize(_runtime(args), args.wave)
    print(f"wave {args.wave} is {journal.phase}: no rollback from here; its hosts may retire")
    return 0


def _retire(args: argparse.Namespace) -> int:
    from pdn.migrate.waves import retire, wave_hosts  # noqa: PLC0415

    runtime = _runtime(args)
    stopped = retire(runtime, args.wave, wave_hosts(runtime, args.wave))
    print(f"wave {args.wave}: retired {', '.join(stopped) or 'nothing (all stopped already)'}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from pdn.dc import dns  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import LOCAL_SITE, load_site  # noqa: PLC0415
    from pdn.migrate.waves import Journal, journal_path, wave_numbers  # noqa: PLC0415

    runtime = _runtime(args)
    settings = LocalDC(load_site(LOCAL_SITE)).settings
    rows = []
    for number, hosts in wave_numbers(runtime):
        journal = Journal.load(journal_path(runtime, number), number)
        names = []
        for host in hosts:
            app = runtime.estate.host(host)[1].app
            if app is not None and app.service:
                try:
                    found = dns.resolve(app.service, settings.listen_host, settings.ports.dns)
                except OSError:
                    found = ["?"]
                names.append(f"{app.service} -> {','.join(found) or '-'}")
        rows.append([str(number), ", ".join(hosts), journal.phase, "; ".join(names) or "-"])
    table(f"waves of {runtime.estate.name}", ["wave", "hosts", "phase", "service names"], rows)
    return 0


def _all(args: argparse.Namespace) -> int:
    """Every wave in the plan's order; a wave already cut over is left as it is; the first
    that fails stops the rest (its hosts are named, and `pdn migrate all` resumes it)."""
    from pdn.migrate.waves import Journal, journal_path, wave_numbers  # noqa: PLC0415

    runtime = _runtime(args)
    for number, _hosts in wave_numbers(runtime):
        phase = Journal.load(journal_path(runtime, number), number).phase
        if phase in ("cut-over", "finalized", "retired"):
            progress(f"[all] wave {number} is {phase}: left as it is")
            continue
        wave_args = argparse.Namespace(**vars(args), wave=number, check=False)
        for step in (_run, _cutover):  # the cutover verifies first
            if step(wave_args) != 0:
                print(f"wave {number} stopped at {step.__name__[1:]}: fix it, then run again")
                return 1
    return _status(args)
