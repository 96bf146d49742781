"""`pdn env`: print the pulumi environment as shell exports (`eval "$(pdn env)"`)."""

from __future__ import annotations

import argparse
import os
import sys

from pdn import pulumi_env
from pdn.dc import DCSettings
from pdn.inventory import LOCAL_SITE, load_site
from pdn.pulumi_env import PASSPHRASE_VARS
from pdn.stacks import stacks_dir


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "env", help="print shell exports so `pulumi` runs with the pinned toolchain and state"
    )
    parser.set_defaults(handler=_env)


def _env(args: argparse.Namespace) -> int:
    env = pulumi_env.environment(create=False)  # reads only: no passphrase made here
    sys.stdout.write(env.exports())
    if env.passphrase_file is None and not any(os.environ.get(v) for v in PASSPHRASE_VARS):
        print(
            "pdn env: no stack passphrase yet (`pdn up` makes one); set "
            "PULUMI_CONFIG_PASSPHRASE_FILE to use your own",
            file=sys.stderr,
        )
    # Stack config lives beside the state: pulumi … --config-file "$PDN_STACKS/Pulumi.<stack>.yaml"
    sys.stdout.write(f"export PDN_STACKS={pulumi_env.shell_quote(str(stacks_dir()))}\n")
    kubeconfig = DCSettings(site_code=load_site(LOCAL_SITE).code).admin_kubeconfig
    if kubeconfig.is_file():  # kubectl then talks to the local DC
        sys.stdout.write(f"export KUBECONFIG={pulumi_env.shell_quote(str(kubeconfig))}\n")
    return 0
