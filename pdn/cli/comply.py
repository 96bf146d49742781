"""`pdn comply catalog`: the controls the compliance suite checks and the waivers in force."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from pdn.cli.output import table


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
