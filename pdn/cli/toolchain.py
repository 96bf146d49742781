"""`pdn toolchain build | status`."""

from __future__ import annotations

import argparse

from pdn import toolchain
from pdn.cli.output import progress


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("toolchain", help="build and inspect the pinned binaries")
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="build missing binaries from the Go module proxy")
    build.add_argument("components", nargs="*", help="only these components (default: all)")
    build.add_argument("--force", action="store_true", help="rebuild even when already built")
    build.set_defaults(handler=_build)
    status = actions.add_parser("status", help="each binary, its version, origin, what is missing")
    status.set_defaults(handler=_status)


def _build(args: argparse.Namespace) -> int:
    toolchain.build(args.components or None, progress=progress, force=args.force)
    print(f"toolchain ready: {toolchain.bin_dir()}")
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = toolchain.status()
    width = max(len(r.binary) for r in rows)
    for row in rows:
        print(f"{row.binary:<{width}}  {row.version:<44.44}  {row.origin}")
    missing = [r.binary for r in rows if not r.present or r.version.startswith("BROKEN")]
    if missing:
        print(f"missing or broken: {', '.join(missing)}")
        return 1
    print(f"all {len(rows)} binaries present in {toolchain.bin_dir()}")
    return 0
