"""`pdn up` and `pdn down`: the main job on the local national DC."""

from __future__ import annotations

import argparse
from pathlib import Path

from pdn.cli.output import BuildProgress, progress
from pdn.inventory import LOCAL_SITE

LOCAL_STACK = "local"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = commands.add_parser(
        "up", help="toolchain, local DC, then `pulumi up` of the platform (idempotent)"
    )
    down = commands.add_parser("down", help="`pulumi destroy` the platform, then stop the local DC")
    for parser in (up, down):
        parser.add_argument(
            "--stack",
            default=LOCAL_STACK,
            help="a stack bound to this site's local DC (default: %(default)s)",
        )
        parser.add_argument(
            "--inventory",
            type=Path,
            default=LOCAL_SITE,
            help="the site's hardware inventory (default: %(default)s)",
        )
    up.set_defaults(handler=_up)
    down.set_defaults(handler=_down)


def _up(args: argparse.Namespace) -> int:
    # Imported when the command runs: `pdn --help` stays fast.
    from pdn import pulumi_env, stacks, toolchain  # noqa: PLC0415
    from pdn.dataservices import schedule  # noqa: PLC0415
    from pdn.dataservices.sql import ENGINES  # noqa: PLC0415
    from pdn.dc import volumes  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import all_sites, load_site  # noqa: PLC0415
    from pdn.state import select  # noqa: PLC0415
    from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files  # noqa: PLC0415
    from pdn.tenants.rollout import roll_out  # noqa: PLC0415

    site = load_site(args.inventory)
    # Every tenant file is checked before anything starts: a bad one changes nothing.
    fleet = load_fleet(tenant_files(TENANTS_DIR), all_sites() | {site.code: site})
    with BuildProgress() as reporter:
        toolchain.build(reporter=reporter)
    dc = LocalDC(site)
    state_in_dc = select.uses_local_dc()
    if state_in_dc:
        select.refuse_stranded_file_stacks()  # before the DC starts: nothing to undo
        dc.up(progress=progress)  # the state lives in the DC's object store
    env = pulumi_env.environment(state=select.configured(site))
    stack = stacks.Stack(env, args.stack)
    if stack.exists():  # refuse a stack of another site before anything changes in the DC
        stacks.bind_to_local_dc(stack, site, args.inventory)
    if not state_in_dc:
        dc.up(progress=progress)
    with dc.api_client(break_glass=True) as api:
        for volume in volumes.reclaim_released(api):
            progress(f"[volumes] {volume}: kept from before, bound again to its claim")
    admin = dc.object_storage_admin()
    storage = stacks.ObjectStorageBinding(
        dc.object_storage_endpoint(), admin.access_key, admin.secret_key
    )
    servers = tuple(
        stacks.DatabaseBinding(access.server, access.user, access.password)
        for access in (dc.database_admin(engine) for engine in ENGINES)
    )
    changes = stacks.up_on_local_dc(
        env,
        args.stack,
        site,
        args.inventory,
        dc.kubeconfig,
        object_storage=storage,
        databases=servers,
        cluster_tls=dc.cluster_tls(),
        workload_kubeconfigs=dc.workload_kubeconfigs(),
        host_pool=(dc.settings.host_pool_dir, str(dc.settings.host_network)),
        sso=dc.sso_admin(),
        signing=dc.signing_service(),
        identity_tls=dc.identity_tls(),
        gis=dc.gis_cluster(),
        show=True,
    )
    print(f"stack {args.stack} on {site.code}: {_summary(changes)}")
    results = roll_out(env, fleet, site.code, TENANTS_DIR, platform=args.stack, progress=progress)
    print(
        f"tenants on {site.code}: {sum(len(r.tenants) for r in results)} in {len(results)} shard(s)"
    )
    # The platform runs the backup schedule from now on (stopped with the DC).
    spec = schedule.process_spec(dc.settings, args.inventory, TENANTS_DIR)
    print(f"backup schedule: every {spec.argv[-1]}s, pid {dc.supervisor.start(spec)}")
    return 0


def _down(args: argparse.Namespace) -> int:
    from pdn import pulumi_env, stacks  # noqa: PLC0415
    from pdn.dc import pulumi_state  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import load_site  # noqa: PLC0415
    from pdn.state import select  # noqa: PLC0415
    from pdn.tenants.rollout import tear_down  # noqa: PLC0415

    site = load_site(args.inventory)
    dc = LocalDC(site)
    state_in_dc = select.uses_local_dc()
    if state_in_dc:
        if not pulumi_state.credentials_file(dc.settings).is_file():
            dc.down(progress=progress)  # never brought up: no state, nothing of it to destroy
            return 0
        dc.up(progress=progress)  # its state is in the DC's object store
    env = pulumi_env.environment(state=select.configured(site))
    stack = stacks.Stack(env, args.stack)
    if stack.exists():
        stacks.bind_to_local_dc(stack, site, args.inventory)
        if not state_in_dc:  # the cluster must answer for its objects to be deleted
            dc.up(progress=progress)
        tear_down(env, site.code, progress=progress)  # tenants first, then their platform
        stacks.destroy_on_local_dc(env, args.stack, site, args.inventory, show=True)
    dc.down(progress=progress)
    return 0


def _summary(changes: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in sorted(changes.items())) or "no changes"
