"""`pdn up` and `pdn down`: the main job on a stack (default: the local national DC)."""

from __future__ import annotations

import argparse

from pdn import pulumi_env, stacks, toolchain


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = commands.add_parser("up", help="build the toolchain if needed, then `pulumi up` a stack")
    up.add_argument("--stack", default=stacks.LOCAL_STACK)
    up.set_defaults(handler=_up)
    down = commands.add_parser("down", help="`pulumi destroy` a stack")
    down.add_argument("--stack", default=stacks.LOCAL_STACK)
    down.set_defaults(handler=_down)


def _up(args: argparse.Namespace) -> int:
    toolchain.build(progress=lambda line: print(line, flush=True))
    stacks.up(pulumi_env.environment(), args.stack)
    return 0


def _down(args: argparse.Namespace) -> int:
    stacks.destroy(pulumi_env.environment(), args.stack)
    return 0
