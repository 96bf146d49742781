"""The `pdn` operator CLI: the jobs around `pulumi` itself."""

from __future__ import annotations

import argparse
import sys

from pdn.cli import dc, env, stack, toolchain
from pdn.dc import DCError
from pdn.inventory import InventoryError
from pdn.pulumi_env import PulumiEnvError
from pdn.toolchain import ToolchainError

# Domain errors carry a message that tells the user what to fix: print it, no traceback.
USER_ERRORS = (ToolchainError, PulumiEnvError, InventoryError, DCError)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pdn", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for module in (toolchain, dc, env, stack):
        module.register(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except USER_ERRORS as err:
        print(f"pdn: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
