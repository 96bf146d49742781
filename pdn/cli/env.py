"""`pdn env`: print the pulumi environment as shell exports (`eval "$(pdn env)"`)."""

from __future__ import annotations

import argparse
import os
import sys

from pdn import pulumi_env
from pdn.dc.settings import settings_of
from pdn.inventory import LOCAL_SITE, load_site
from pdn.pulumi_env import PASSPHRASE_VARS
from pdn.stacks import stacks_dir
from pdn.state import select
from pdn.state.backends import S3State


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "env", help="print shell exports so `pulumi` runs with the pinned toolchain and state"
    )
    parser.set_defaults(handler=_env)


def _env(args: argparse.Namespace) -> int:
    pulumi_env.require_cli()  # the first thing to fix, before where the state lives
    site = load_site(LOCAL_SITE)
    state = select.configured(site, made=False)
    key_file = state.credentials_file if isinstance(state, S3State) else None
    if select.uses_local_dc() and key_file is not None and not key_file.is_file():
        print(
            "pdn env: the state bucket of the local DC is not made yet: `pdn dc up` makes it "
            "(PDN_STATE_BACKEND=file keeps the state on this disk)",
            file=sys.stderr,
        )
    env = pulumi_env.environment(create=False, state=state)  # reads only: no passphrase made
    sys.stdout.write(env.exports())
    if env.passphrase_file is None and not any(os.environ.get(v) for v in PASSPHRASE_VARS):
        print(
            "pdn env: no stack passphrase yet (`pdn up` makes one); set "
            "PULUMI_CONFIG_PASSPHRASE_FILE to use your own",
            file=sys.stderr,
        )
    # Stack config lives beside the state: pulumi … --config-file "$PDN_STACKS/Pulumi.<stack>.yaml"
    sys.stdout.write(f"export PDN_STACKS={pulumi_env.shell_quote(str(stacks_dir()))}\n")
    kubeconfig = settings_of(site.code).admin_kubeconfig
    if kubeconfig.is_file():  # kubectl then talks to the local DC
        sys.stdout.write(f"export KUBECONFIG={pulumi_env.shell_quote(str(kubeconfig))}\n")
    return 0
