"""`pdn env`: print the pulumi environment as shell exports (`eval "$(pdn env)"`)."""

from __future__ import annotations

import argparse
import sys

from pdn import pulumi_env


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "env", help="print shell exports so `pulumi` runs with the pinned toolchain and state"
    )
    parser.set_defaults(handler=_env)


def _env(args: argparse.Namespace) -> int:
    sys.stdout.write(pulumi_env.environment().exports())
    return 0
