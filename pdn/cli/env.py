"""`pdn env`: print the pulumi environment as shell exports (`eval "$(pdn env)"`)."""

from __future__ import annotations

import argparse
import sys

from pdn import pulumi_env
from pdn.dc import DCSettings
from pdn.inventory import LOCAL_SITE, load_site


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "env", help="print shell exports so `pulumi` runs with the pinned toolchain and state"
    )
    parser.set_defaults(handler=_env)


def _env(args: argparse.Namespace) -> int:
    sys.stdout.write(pulumi_env.environment().exports())
    kubeconfig = DCSettings(site_code=load_site(LOCAL_SITE).code).admin_kubeconfig
    if kubeconfig.is_file():  # kubectl then talks to the local DC
        sys.stdout.write(f"export KUBECONFIG='{kubeconfig}'\n")
    return 0
