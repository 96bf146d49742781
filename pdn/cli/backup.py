"""`pdn backup run | status` and `pdn restore drill | apply`: tenants' backups on the local DC,
at its site and at the second site, and the restores that prove them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pdn.cli.output import progress, table
from pdn.inventory import LOCAL_SITE

if TYPE_CHECKING:
    from pdn.dataservices.runner import Sites
    from pdn.tenants.fleet import Fleet


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--inventory", type=Path, default=LOCAL_SITE, help="the site (local DC)")
    common.add_argument("--dir", type=Path, default=None, help="the tenants directory")
    parser = commands.add_parser("backup", help="back up tenants' data at two sites; status")
    actions = parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", parents=[common], help="back up tenants (default: all)")
    run.add_argument("slugs", nargs="*", help="tenants to back up (default: every one)")
    run.add_argument(
        "--due",
        action="store_true",
        help="only those whose last backup is as old as their tier's period (for a schedule)",
    )
    run.set_defaults(handler=_run)
    status = actions.add_parser(
        "status", parents=[common], help="per tenant and data set: last good backup, age, sites"
    )
    status.set_defaults(handler=_status)
    schedule = actions.add_parser(
        "schedule",
        parents=[common],
        help="the platform's schedule, in the foreground: back up what is due, every --every s",
    )
    schedule.add_argument("--every", type=float, default=300.0, help="seconds between ticks")
    schedule.set_defaults(handler=_schedule)

    restore = commands.add_parser("restore", help="restore a tenant's latest backup")
    steps = restore.add_subparsers(dest="action", required=True)
    for name, text in (
        ("drill", "restore into a scratch target, verify every checksum, record the time"),
        ("apply", "restore into the tenant's live data (needs --into-live)"),
    ):
        step = steps.add_parser(name, parents=[common], help=text)
        step.add_argument("slug", help="the tenant")
        step.add_argument("--from-site", help="the site whose copy is used (default: this one)")
        if name == "apply":
            step.add_argument(
                "--into-live",
                action="store_true",
                help="yes: overwrite the live data (what it replaces is kept as older versions)",
            )
        step.set_defaults(handler=_drill if name == "drill" else _apply)


def _context(args: argparse.Namespace) -> tuple[Sites, Fleet, str]:
    from pdn.dataservices.runner import local_sites  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import all_sites, load_site  # noqa: PLC0415
    from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files  # noqa: PLC0415

    site = load_site(args.inventory)
    fleet = load_fleet(tenant_files(args.dir or TENANTS_DIR), all_sites() | {site.code: site})
    sites = local_sites(LocalDC(site))
    return sites, fleet, site.code


def _run(args: argparse.Namespace) -> int:
    from pdn.dataservices import runner  # noqa: PLC0415

    sites, fleet, site = _context(args)
    results = runner.run(sites, fleet, site, args.slugs or None, due=args.due, progress=progress)
    print(f"{len(results)} tenant(s) backed up at {', '.join(s.name for s in sites.all())}")
    return 0


def _schedule(args: argparse.Namespace) -> int:
    from pdn.dataservices import quota, runner, schedule  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import load_site  # noqa: PLC0415

    if args.every < 1:
        print("pdn: --every must be at least 1 second", file=sys.stderr)
        return 2

    dc = LocalDC(load_site(args.inventory))

    def tick() -> str:
        # Quotas first: SeaweedFS holds a bucket over its quota read-only only once this runs.
        quota.enforce_quotas(dc.object_storage_endpoint())
        sites, fleet, site = _context(args)  # tenant files read again: new agencies join
        results = runner.run(sites, fleet, site, due=True, progress=progress)
        backed_up = ", ".join(r.tenant for r in results) or "none"
        # Then the restore drills that prove the backups, each as often as its tier asks.
        drilled = []
        for slug in runner.drills_due(runner.status(sites, fleet, site)):
            result = runner.drill_tenant(sites, fleet, site, slug, progress=progress)
            drilled.append(slug if result.verified else f"{slug} (NOT VERIFIED)")
        return (
            f"quotas enforced; backed up {len(results)} due tenant(s): {backed_up}; "
            f"drilled {len(drilled)}: {', '.join(drilled) or 'none'}"
        )

    settings = dc.settings
    schedule.serve(tick, args.every, schedule.heartbeat_file(settings), progress)
    return 0


def _status(args: argparse.Namespace) -> int:
    from pdn.dataservices import runner  # noqa: PLC0415

    sites, fleet, site = _context(args)
    rows = runner.status(sites, fleet, site)
    table(
        f"backups of the tenants of {site}",
        (
            "tenant",
            "data set",
            "state",
            "last good",
            "age",
            "tier allows",
            "at",
            "last drill",
            "note",
        ),
        [
            (
                r.tenant,
                r.data_set,
                r.state,
                r.last_good or "-",
                _age(r.age.total_seconds()) if r.age is not None else "-",
                _age(r.policy.stale_after.total_seconds()),
                ", ".join(r.sites) or "-",
                r.last_drill or "-",
                r.note or "",
            )
            for r in rows
        ],
    )
    print(_schedule_state(args))
    return 0 if all(r.state in ("OK", "WARN") for r in rows) else 1


def _schedule_state(args: argparse.Namespace) -> str:
    from pdn.dataservices import schedule  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import load_site  # noqa: PLC0415

    dc = LocalDC(load_site(args.inventory))
    pid = dc.supervisor.pid(schedule.NAME)
    try:
        last = schedule.heartbeat_file(dc.settings).read_text().strip()
    except FileNotFoundError:
        last = "none yet"
    if pid is None:
        return f"schedule: NOT RUNNING (`pdn up` starts it); last tick: {last}"
    return f"schedule: running (pid {pid}); last tick: {last}"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _drill(args: argparse.Namespace) -> int:
    from pdn.dataservices import runner  # noqa: PLC0415

    sites, fleet, site = _context(args)
    result = runner.drill_tenant(
        sites, fleet, site, args.slug, from_site=args.from_site, progress=progress
    )
    print(
        f"{args.slug}: {'every data set verified' if result.verified else 'NOT VERIFIED'}; "
        f"recovery time {result.seconds:.1f}s"
    )
    return 0 if result.verified else 1


def _apply(args: argparse.Namespace) -> int:

    from pdn.dataservices import runner  # noqa: PLC0415

    if not args.into_live:
        print(
            "pdn: this overwrites the tenant's live data with its latest backup: say so with "
            "--into-live (what it replaces is kept as older versions), or run `pdn restore "
            "drill` to restore into a scratch target instead",
            file=sys.stderr,
        )
        return 2
    sites, fleet, site = _context(args)
    runner.restore_live(sites, fleet, site, args.slug, from_site=args.from_site, progress=progress)
    return 0
