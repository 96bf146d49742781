"""`pdn up` and `pdn down`: the main job on the local national DC (or another stack)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pdn import pulumi_env, stacks, toolchain
from pdn.cli.output import progress
from pdn.dc import LocalDC
from pdn.inventory import LOCAL_SITE, load_site


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = commands.add_parser(
        "up", help="toolchain, local DC, then `pulumi up` of the platform (idempotent)"
    )
    up.add_argument("--stack", default=stacks.LOCAL_STACK)
    up.add_argument("--inventory", type=Path, default=LOCAL_SITE)
    up.set_defaults(handler=_up)
    down = commands.add_parser("down", help="`pulumi destroy` the platform, then stop the local DC")
    down.add_argument("--stack", default=stacks.LOCAL_STACK)
    down.add_argument("--inventory", type=Path, default=LOCAL_SITE)
    down.set_defaults(handler=_down)


def _up(args: argparse.Namespace) -> int:
    toolchain.build(progress=progress)
    dc = LocalDC(load_site(args.inventory))
    dc.up(progress=progress)
    stacks.up(pulumi_env.environment(), args.stack, kubeconfig=dc.kubeconfig)
    return 0


def _down(args: argparse.Namespace) -> int:
    dc = LocalDC(load_site(args.inventory))
    # The cluster must answer for its objects to be deleted: (re)start it if it is stopped.
    dc.up(progress=progress)
    stacks.destroy(pulumi_env.environment(), args.stack)
    dc.down(progress=progress)
    return 0
