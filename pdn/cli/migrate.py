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
    from pdn.estate.hosts import EstateRuntime


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("migrate", help="move agency workloads into the national DC")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, handler, text in (
        ("discover", _discover, "what every host runs (read-only), one file per host"),
        ("assess", _assess, "how each workload moves, what blocks it, Satu Data findings"),
        ("plan", _plan, "waves from dependencies and agencies, as a table and an SVG"),
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
