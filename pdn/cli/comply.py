"""`pdn comply catalog`: the controls the compliance suite checks and the waivers in force."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pdn.cli.output import progress, table
from pdn.estate.loader import LOCAL_ESTATE
from pdn.inventory import LOCAL_SITE

if TYPE_CHECKING:
    from pdn.compliance.catalog import Catalog
    from pdn.compliance.run import Report
    from pdn.estate.hosts import EstateRuntime


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("comply", help="continuous compliance of the estate and the DC")
    actions = parser.add_subparsers(dest="action", required=True)
    catalog = actions.add_parser("catalog", help="the controls, where they come from, the waivers")
    catalog.add_argument(
        "--catalog", type=Path, default=None, help="default: compliance/catalog.yaml"
    )
    catalog.add_argument(
        "--waivers", type=Path, default=None, help="default: compliance/waivers.yaml"
    )
    catalog.set_defaults(handler=_catalog)
    run = actions.add_parser(
        "run",
        help="check the estate's hosts and the DC's clusters, tenants and object stores against "
        "the catalog (JUnit XML and JSON reports)",
    )
    run.add_argument(
        "--estate", type=Path, default=LOCAL_ESTATE, help="estate file (default: %(default)s)"
    )
    run.add_argument(
        "--inventory", type=Path, default=LOCAL_SITE, help="the site (default: the local DC)"
    )
    run.add_argument("--dir", type=Path, default=None, help="the tenants directory")
    run.add_argument(
        "--only",
        choices=("estate", "dc"),
        default=None,
        help="only the agencies' estate, or only the DC (its PDN hosts, clusters, tenants, "
        "stores, endpoints)",
    )
    run.add_argument(
        "--fix",
        action="store_true",
        help="apply the Ansible fix of each failed control that has one (not waived ones), "
        "then check again",
    )
    run.add_argument(
        "--check",
        action="store_true",
        help="with --fix: show what the fixes would change (Ansible check mode), change nothing",
    )
    run.add_argument("--waivers", type=Path, default=None, help="default: compliance/waivers.yaml")
    run.set_defaults(handler=_run)
    browser = actions.add_parser(
        "browser", help="install the browser that keeps each report's screenshot (as root)"
    )
    browser.set_defaults(handler=_browser)


def _catalog(args: argparse.Namespace) -> int:
    from pdn.compliance import catalog as c  # noqa: PLC0415

    found = c.load_catalog(args.catalog or c.CATALOG)
    waivers = c.load_waivers(found, args.waivers or c.WAIVERS)
    table(
        f"controls (catalog {found.version})",
        ["control", "severity", "applies to", "source", "check", "fix"],
        [
            [
                control.id,
                control.severity.value,
                ", ".join(k.value for k in control.applies_to),
                control.source.framework.value
                + (f" {control.source.clause}" if control.source.clause else ""),
                control.check,
                control.fix or "-",
            ]
            for control in found.controls
        ],
    )
    today = datetime.datetime.now(datetime.UTC).date()
    table(
        "waivers",
        ["control", "target", "approver", "expires", "state", "reason"],
        [
            [
                w.control,
                w.target,
                w.approver,
                w.expires.isoformat(),
                "EXPIRED: fails its check" if w.expired(today) else "in force",
                w.reason,
            ]
            for w in waivers
        ],
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from pdn.compliance import catalog as c  # noqa: PLC0415
    from pdn.compliance.run import estate_targets, run  # noqa: PLC0415
    from pdn.compliance.targets import Scope, local_scope, pdn_host_targets  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.estate.hosts import EstateRuntime  # noqa: PLC0415
    from pdn.estate.loader import load_estate  # noqa: PLC0415
    from pdn.inventory import all_sites, load_site  # noqa: PLC0415
    from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files  # noqa: PLC0415

    found = c.load_catalog()
    waivers = c.load_waivers(found, args.waivers or c.WAIVERS)
    if args.check and not args.fix:
        print(
            "pdn: --check goes with --fix (it shows what the fixes would change)", file=sys.stderr
        )
        return 2
    targets = []
    runtimes: dict[str, EstateRuntime] = {}  # how each kind of host is reached by Ansible
    if args.only != "dc":
        runtimes["estate-host"] = EstateRuntime(load_estate(args.estate))
        targets = estate_targets(runtimes["estate-host"])
    scope = Scope()
    if args.only != "estate":
        site = load_site(args.inventory)
        fleet = load_fleet(tenant_files(args.dir or TENANTS_DIR), all_sites() | {site.code: site})
        dc = LocalDC(site)
        pool = dc.host_pool()
        runtimes["pdn-host"] = pool.runtime(pool.allocations())
        targets += pdn_host_targets(dc, fleet)
        scope = local_scope(dc, fleet)
    progress(
        f"[comply] {len(found.controls)} controls; {len(targets)} hosts, "
        f"{len(scope.clusters)} clusters, {len(scope.tenants)} tenants, "
        f"{len(scope.stores)} object stores"
    )
    report = run(targets, found, waivers, scope=scope)
    _show(report)
    if args.fix and not report.ok:
        if not _fix(report, found, runtimes, check=args.check) or args.check:
            return 1
        progress("[comply] checking again")
        report = run(targets, found, waivers, scope=scope)
        _show(report)
    return 0 if report.ok else 1


def _fix(
    report: Report, catalog: Catalog, runtimes: dict[str, EstateRuntime], *, check: bool
) -> bool:
    """The Ansible fixes of report's failures, per kind of host: whether any ran."""
    from pdn.compliance.fix import apply_fixes  # noqa: PLC0415

    ran = False
    for kind, runtime in runtimes.items():
        fixes = apply_fixes(report, catalog, runtime, kind=kind, check=check)
        if fixes.run is None:
            continue
        ran = True
        done = fixes.run
        table(
            f"fixes of {kind}s" + (" (check mode: nothing changed)" if check else ""),
            ["host", "roles", "changed", "failed"],
            [
                [
                    host,
                    ", ".join(roles),
                    str(done.changed.get(host, 0)),
                    done.failed.get(host) or done.unreachable.get(host) or "-",
                ]
                for host, roles in sorted(fixes.roles.items())
            ],
        )
        print(f"fix run: {done.artifacts}")
    if not ran:
        print("no failed control has an Ansible fix")
    return ran


def _show(report: Report) -> None:
    table(
        "compliance",
        ["control", "target", "severity", "outcome", "evidence"],
        [
            [
                r.control,
                r.target,
                r.severity,
                r.outcome.value + (f" (waiver of {r.waiver.approver})" if r.waiver else ""),
                r.evidence[:120],
            ]
            for r in report.results
        ],
    )
    bad = [r for r in report.results if not r.outcome.ok]
    ok = len(report.results) - len(bad)
    print(f"{ok} ok, {len(bad)} failed")
    gaps = report.unchecked
    if gaps:
        print(
            "not checked (no check implements them yet): "
            + ", ".join(f"{g['control']} on {g['kind']}" for g in gaps)
        )
    print(f"reports: {report.html} (for people), {report.json}, {report.junit}")
    if report.screenshot.is_file():
        print(f"screenshot: {report.screenshot}")
    else:
        print("no screenshot: no browser here (`pdn comply browser` installs Debian's chromium)")


def _browser(args: argparse.Namespace) -> int:
    from pdn.compliance.browser import ensure_chromium  # noqa: PLC0415

    print(f"browser: {ensure_chromium(progress)}")
    return 0
