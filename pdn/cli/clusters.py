"""`pdn clusters status`: the site's clusters as its inventory declares them and as Cluster API
reports them on the management cluster."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pdn.cli.output import table
from pdn.inventory import LOCAL_SITE

if TYPE_CHECKING:
    from pdn.clusters.status import ClusterStatus, PoolStatus


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("clusters", help="the site's Kubernetes clusters")
    actions = parser.add_subparsers(dest="action", required=True)
    status = actions.add_parser(
        "status",
        help="each cluster: its version, its pools' machines, what Cluster API reports",
    )
    status.add_argument(
        "--inventory",
        type=Path,
        default=LOCAL_SITE,
        help="site hardware inventory (default: %(default)s)",
    )
    status.add_argument(
        "--kubeconfig",
        type=Path,
        help="the site's management cluster (default: the local DC of the inventory's site)",
    )
    status.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from kubernetes import client as k8s  # noqa: PLC0415 (slow to import)
    from kubernetes import config as k8s_config  # noqa: PLC0415

    from pdn.clusters.errors import ClusterError  # noqa: PLC0415
    from pdn.clusters.status import read_status  # noqa: PLC0415
    from pdn.dc.settings import settings_of  # noqa: PLC0415
    from pdn.inventory import load_site  # noqa: PLC0415

    site = load_site(args.inventory)
    if not site.clusters:
        print(f"{site.code}: the inventory declares no clusters (one cluster: the DC's own)")
        return 0
    kubeconfig = args.kubeconfig or settings_of(site.code).admin_kubeconfig
    if not kubeconfig.is_file():
        raise ClusterError(f"no kubeconfig at {kubeconfig}: run `pdn dc up` (or pass --kubeconfig)")
    with k8s_config.new_client_from_config(config_file=str(kubeconfig)) as api:
        rows = read_status(api, site)
        try:
            management = k8s.VersionApi(api).get_code().git_version
        except k8s.ApiException:
            management = "?"
    table(
        f"clusters of {site.code}",
        ["cluster", "purpose", "class", "version", "available", "pools (machines/servers)", "note"],
        [
            [
                "management",
                "management",
                "-",
                management,
                "-",
                "-",
                "this cluster runs Cluster API",
            ],
            *(_row(r) for r in rows),
        ],
    )
    return 0 if all(r.settled for r in rows) else 1


def _pool(pool: PoolStatus) -> str:
    versions = ",".join(
        f"{v}:{n}" if len(pool.versions) > 1 else v for v, n in pool.versions.items()
    )
    return f"{pool.name} {pool.available}/{pool.wanted}" + (f" {versions}" if versions else "")


def _row(row: ClusterStatus) -> list[str]:
    return [
        row.name,
        row.purpose,
        row.classification,
        row.version,
        row.available,
        "; ".join(_pool(p) for p in row.pools),
        row.problem or ("" if row.settled else "rolling out"),
    ]
