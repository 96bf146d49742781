"""`pdn estate up|status|down|publish`: the agency server rooms to consolidate, as real hosts
(network namespaces with their own root, sshd and services) for tests and the local demo, and
the packages their mirror serves."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pdn.cli.output import table
from pdn.estate.loader import LOCAL_ESTATE

if TYPE_CHECKING:
    from pdn.estate.hosts import EstateRuntime


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("estate", help="the agency server rooms (real test hosts)")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, handler, text in (
        ("up", _up, "build and start the estate's hosts (the Debian root is made once, cached)"),
        ("status", _status, "each host: running, ssh, services ready"),
        ("down", _down, "stop every host by PID and remove its root, namespace and bridge"),
        ("publish", _publish, "publish packages on the estate's mirror (its hosts then see them)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument(
            "--estate",
            type=Path,
            default=LOCAL_ESTATE,
            help="estate file (default: %(default)s)",
        )
        action.set_defaults(handler=handler)
        if name == "publish":
            action.add_argument("debs", type=Path, nargs="+", metavar="DEB", help="a .deb file")


def _runtime(args: argparse.Namespace) -> EstateRuntime:
    from pdn.estate.hosts import EstateRuntime  # noqa: PLC0415
    from pdn.estate.loader import load_estate  # noqa: PLC0415

    return EstateRuntime(load_estate(args.estate))


def _show(runtime: EstateRuntime) -> int:
    rows = runtime.status()
    table(
        f"estate {runtime.estate.name}",
        ["host", "room", "address", "pid", "ssh", "services"],
        [
            [
                r.name,
                r.room,
                r.address,
                str(r.pid or "-"),
                "answers" if r.ssh else "-",
                "ready" if r.ready else "-",
            ]
            for r in rows
        ],
    )
    return 0 if all(r.ssh and r.ready for r in rows) else 1


def _up(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    runtime.up()
    return _show(runtime)


def _status(args: argparse.Namespace) -> int:
    return _show(_runtime(args))


def _down(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    runtime.down()
    print(f"estate {runtime.estate.name}: every host stopped and removed")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from pdn.estate.errors import EstateError  # noqa: PLC0415
    from pdn.estate.services import mirror_url  # noqa: PLC0415

    missing = [str(deb) for deb in args.debs if not deb.is_file()]
    if missing:
        raise EstateError(f"no such package file: {', '.join(missing)}")
    runtime = _runtime(args)
    names = runtime.publish(list(args.debs))
    print(
        f"estate {runtime.estate.name}: published {', '.join(names)} on its mirror "
        f"{mirror_url(runtime.estate)}; hosts see them at their next `apt-get update`"
    )
    return 0
