"""`pdn dc up | status | down`: the local national DC site."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pdn.cli.output import progress, table
from pdn.inventory import LOCAL_SITE

if TYPE_CHECKING:
    from pdn.dc.lifecycle import DCStatus, LocalDC


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("dc", help="run the local national DC from a site inventory")
    site = argparse.ArgumentParser(add_help=False)
    site.add_argument(
        "--inventory",
        type=Path,
        default=LOCAL_SITE,
        help="site hardware inventory (default: %(default)s)",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser(
        "up", parents=[site], help="start what is down, heal what is stopping or unhealthy"
    )
    up.set_defaults(handler=_up)
    status = actions.add_parser(
        "status", parents=[site], help="per component: process, port, health; nodes Ready"
    )
    status.set_defaults(handler=_status)
    down = actions.add_parser(
        "down", parents=[site], help="stop every process by PID, remove the DC address"
    )
    down.add_argument("--purge", action="store_true", help="also delete etcd data and the PKI")
    down.set_defaults(handler=_down)


def _dc(args: argparse.Namespace) -> LocalDC:
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415 (the Kubernetes client is slow to import)
    from pdn.inventory import load_site  # noqa: PLC0415

    return LocalDC(load_site(args.inventory))


def _up(args: argparse.Namespace) -> int:
    dc = _dc(args)
    status = dc.up(progress=progress)
    print(f"local DC {dc.site.code} is up; kubeconfig: {dc.kubeconfig}")
    return 0 if status.healthy else 1


def _status(args: argparse.Namespace) -> int:
    status = _dc(args).status()
    show(status)
    return 0 if status.healthy else 1


def show(status: DCStatus) -> None:
    rows = []
    for c in status.components:
        state = "healthy" if c.healthy else f"UNHEALTHY: {c.problem or 'port closed'}"
        rows.append([c.name, str(c.pid or "-"), "open" if c.port_open else "closed", state])
    ready = status.nodes_total - len(status.nodes_not_ready)
    not_ready = (
        f" (not Ready: {', '.join(status.nodes_not_ready)})" if status.nodes_not_ready else ""
    )
    rows.append(["nodes", "", "", f"{ready}/{status.nodes_total} Ready{not_ready}"])
    rows.append(
        [
            "advertise address",
            "",
            "",
            "present" if status.advertise_address_present else "absent",
        ]
    )
    table("local DC", ["component", "pid", "port", "state"], rows)


def _down(args: argparse.Namespace) -> int:
    _dc(args).down(purge=args.purge, progress=progress)
    return 0
