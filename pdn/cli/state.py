"""`pdn state show | migrate`: where the stacks' state lives, and moving it off this disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from pdn.cli.output import table
from pdn.inventory import LOCAL_SITE


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "state", help="the Pulumi state backend (PDN_STATE_BACKEND): show it, migrate to it"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="the configured backend, its stacks and their locks")
    migrate = actions.add_parser(
        "migrate",
        help="move the stacks of this machine's file backend into the site's object store",
    )
    for action in (show, migrate):
        action.add_argument("--inventory", type=Path, default=LOCAL_SITE, help="the site")
    show.set_defaults(handler=_show)
    migrate.set_defaults(handler=_migrate)


def _show(args: argparse.Namespace) -> int:
    from pdn.inventory import load_site  # noqa: PLC0415
    from pdn.state.backends import locks, stack_names  # noqa: PLC0415
    from pdn.state.select import BACKEND_VAR, PROJECTS, choice, configured  # noqa: PLC0415

    backend = configured(load_site(args.inventory))
    rows = []
    for project in PROJECTS:
        for name in sorted(stack_names(backend, project)):
            held = locks(backend, project, name)
            holder = ", ".join(
                f"pid {lock.holder.get('pid')} on {lock.holder.get('hostname')}" for lock in held
            )
            rows.append([project, name, holder or "-"])
    print(f"{BACKEND_VAR}={choice()}: {backend.description}")
    table("stacks", ["project", "stack", "locked by"], rows)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import load_site  # noqa: PLC0415
    from pdn.pulumi_env import file_state_dir  # noqa: PLC0415
    from pdn.state.backends import FileState  # noqa: PLC0415
    from pdn.state.migrate import migrate  # noqa: PLC0415

    target = LocalDC(load_site(args.inventory)).pulumi_state()
    moved = migrate(FileState(file_state_dir()), target)
    if moved.kept_at is None:
        print(f"nothing to move: {file_state_dir()} holds no stacks")
        return 0
    print(
        f"moved {len(moved.stacks)} stack(s) ({', '.join(moved.stacks)}; {moved.files} files) "
        f"into {target.description}; the file backend is kept at {moved.kept_at}"
    )
    return 0
