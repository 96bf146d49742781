"""The `pdn` operator CLI: the jobs around `pulumi` itself."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from pdn.cli import (
    backup,
    clusters,
    comply,
    dc,
    env,
    estate,
    gis,
    migrate,
    stack,
    state,
    tenant,
    toolchain,
    tte,
)
from pdn.clusters.errors import ClusterError
from pdn.compliance.errors import ComplianceError
from pdn.dataservices.errors import DataServiceError
from pdn.dc.errors import DCError
from pdn.estate.errors import EstateError
from pdn.gis.errors import GisError
from pdn.inventory import InventoryError
from pdn.migrate.errors import MigrateError
from pdn.pulumi_env import PulumiEnvError
from pdn.regions import RegionCodeError
from pdn.tenants.errors import TenantError
from pdn.toolchain.errors import ToolchainError
from pdn.tte.errors import TteError

# Domain errors carry a message that tells the user what to fix: print it, no traceback.
USER_ERRORS = (
    ToolchainError,
    PulumiEnvError,
    InventoryError,
    DCError,
    TenantError,
    RegionCodeError,
    DataServiceError,
    ClusterError,
    EstateError,
    MigrateError,
    ComplianceError,
    TteError,
    GisError,
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pdn", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for module in (
        toolchain,
        dc,
        env,
        stack,
        state,
        tenant,
        backup,
        clusters,
        estate,
        migrate,
        comply,
        tte,
        gis,
    ):
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
    except BrokenPipeError:  # its reader left (`pdn … | head`): nothing more to say, no error
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail too
        return 141  # 128 + SIGPIPE, as a shell reports it
    except Exception as err:  # a bug, not a user error: one line, the traceback on request
        if os.environ.get("PDN_DEBUG") == "1":
            raise
        print(
            f"pdn: internal error ({err.__class__.__name__}: {err}); "
            "run again with PDN_DEBUG=1 for the traceback, and report it",
            file=sys.stderr,
        )
        return 70  # EX_SOFTWARE
    return code


if __name__ == "__main__":
    sys.exit(main())
