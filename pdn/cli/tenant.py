"""`pdn tenant new | validate | list`: agencies as tenants, one file each under tenants/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pdn.cli.output import table


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "tenant", help="agencies as tenants: write, check, list their files"
    )
    actions = parser.add_subparsers(dest="action", required=True)

    validate = actions.add_parser(
        "validate",
        help="check tenant files (default: all of tenants/) against each other, the "
        "region list and the sites; every problem at once",
    )
    validate.add_argument("files", nargs="*", type=Path, help="files to check with the fleet")
    validate.add_argument("--dir", type=Path, default=None, help="the tenants directory")
    validate.set_defaults(handler=_validate)

    listing = actions.add_parser("list", help="the fleet: one line per tenant")
    listing.add_argument("--dir", type=Path, default=None, help="the tenants directory")
    listing.set_defaults(handler=_list)

    new = actions.add_parser("new", help="write a valid tenant file from a few answers")
    new.add_argument(
        "--kind",
        required=True,
        choices=["ministry", "agency", "province", "kabupaten", "kota", "unit"],
    )
    new.add_argument("--region", required=True, help="Kemendagri code, e.g. 32.16")
    new.add_argument("--agency-code", required=True)
    new.add_argument("--owner-email", required=True)
    new.add_argument("--slug", help="default: from the region (prov-…, kab-…, kota-…)")
    new.add_argument("--name", help="default: from the region")
    new.add_argument("--parent")
    new.add_argument("--tier", default="standard", choices=["vital", "standard", "batch"])
    new.add_argument(
        "--classification",
        default="internal",
        choices=["public", "internal", "confidential", "secret"],
    )
    new.add_argument("--site", default="pdn-local")
    new.add_argument("--dir", type=Path, default=None, help="the tenants directory")
    new.set_defaults(handler=_new)

    up = actions.add_parser(
        "up",
        help="roll tenants out to the site's cluster: those named (and what depends on them), "
        "or --all",
    )
    up.add_argument(
        "slugs", nargs="*", help="tenants to roll out (a removed file's slug deletes it)"
    )
    up.add_argument("--all", action="store_true", help="the whole fleet of the site")
    up.add_argument("--site", default="pdn-local")
    up.add_argument("--platform-stack", default="local", help="the stack of the site's platform")
    up.add_argument("--dir", type=Path, default=None, help="the tenants directory")
    up.add_argument(
        "--refresh",
        action="store_true",
        help="read every object back first and put right what was changed by hand",
    )
    up.set_defaults(handler=_up)


def _dir(args: argparse.Namespace) -> Path:
    from pdn.tenants.fleet import TENANTS_DIR  # noqa: PLC0415

    directory: Path = args.dir or TENANTS_DIR
    if not directory.is_dir():
        from pdn.tenants.errors import Problem, TenantError  # noqa: PLC0415

        raise TenantError(
            [Problem(directory, 0, 0, "", "is not a directory: create it or pass --dir")]
        )
    return directory


def _fleet_files(directory: Path, extra: list[Path]) -> list[Path]:
    from pdn.tenants.fleet import tenant_files  # noqa: PLC0415

    chosen = {p.resolve(): p for p in tenant_files(directory)}
    for path in extra:
        chosen[path.resolve()] = path
    return sorted(chosen.values())


def _validate(args: argparse.Namespace) -> int:
    from pdn.inventory import all_sites  # noqa: PLC0415
    from pdn.tenants.errors import TenantError  # noqa: PLC0415
    from pdn.tenants.fleet import load_fleet  # noqa: PLC0415

    files = _fleet_files(_dir(args), args.files)
    try:
        fleet = load_fleet(files, all_sites())
    except TenantError as err:
        for problem in err.problems:
            print(f"{problem}", file=sys.stderr)
        count = len({p.file for p in err.problems})
        print(
            f"pdn: {len(err.problems)} problem(s) in {count} file(s); nothing was changed",
            file=sys.stderr,
        )
        return 1
    print(f"{len(fleet.tenants)} tenant(s) valid: {', '.join(fleet.tenants)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from pdn import regions  # noqa: PLC0415
    from pdn.inventory import all_sites  # noqa: PLC0415
    from pdn.tenants.fleet import load_fleet, tenant_files  # noqa: PLC0415

    fleet = load_fleet(tenant_files(_dir(args)), all_sites())
    rows = []
    for tenant in fleet.tenants.values():
        region = regions.lookup(tenant.region_code)
        rows.append(
            [
                tenant.slug,
                tenant.kind.value,
                f"{tenant.region_code} {region.name if region else '?'}",
                tenant.parent or "-",
                tenant.tier.value,
                tenant.classification.value,
                ",".join(tenant.sites),
                tenant.name,
            ]
        )
    table(
        f"{len(rows)} tenants",
        ["slug", "kind", "region", "parent", "tier", "classification", "sites", "name"],
        rows,
    )
    return 0


def _new(args: argparse.Namespace) -> int:
    from pdn.inventory import all_sites  # noqa: PLC0415
    from pdn.tenants.errors import TenantError  # noqa: PLC0415
    from pdn.tenants.fleet import load_fleet  # noqa: PLC0415
    from pdn.tenants.model import TenantKind  # noqa: PLC0415
    from pdn.tenants.scaffold import NewTenant, render, target  # noqa: PLC0415

    directory = _dir(args)
    slug, text = render(
        NewTenant(
            kind=TenantKind(args.kind),
            region_code=args.region,
            owner_email=args.owner_email,
            agency_code=args.agency_code,
            slug=args.slug,
            name=args.name,
            parent=args.parent,
            tier=args.tier,
            classification=args.classification,
            site=args.site,
        )
    )
    path = target(directory, slug)
    if path.exists():
        print(f"pdn: {path} exists already: edit it, or choose another --slug", file=sys.stderr)
        return 1
    # Checked with the fleet at once: an invalid file does not stay in tenants/.
    path.write_text(text)
    try:
        load_fleet(_fleet_files(directory, []), all_sites())
    except TenantError as err:
        path.unlink()
        for problem in err.problems:
            print(f"{problem}", file=sys.stderr)
        print("pdn: the new tenant was not written", file=sys.stderr)
        return 1
    print(f"wrote {path}; review it, then `pdn tenant up {slug}`")
    return 0


def _up(args: argparse.Namespace) -> int:
    from pdn import pulumi_env  # noqa: PLC0415
    from pdn.cli.output import progress  # noqa: PLC0415
    from pdn.inventory import all_sites  # noqa: PLC0415
    from pdn.state import select  # noqa: PLC0415
    from pdn.tenants.fleet import load_fleet, tenant_files  # noqa: PLC0415
    from pdn.tenants.rollout import roll_out  # noqa: PLC0415

    if bool(args.slugs) == bool(args.all):
        print("pdn: name the tenants to roll out, or --all (not both)", file=sys.stderr)
        return 2
    directory = _dir(args)
    sites = all_sites()
    fleet = load_fleet(tenant_files(directory), sites)  # nothing is touched if invalid
    if args.site not in sites:
        known = ", ".join(sorted(sites))
        print(f"pdn: no site {args.site!r} in the inventory ({known})", file=sys.stderr)
        return 2
    results = roll_out(
        pulumi_env.environment(state=select.configured(sites[args.site])),
        fleet,
        args.site,
        directory,
        slugs=args.slugs or None,
        platform=args.platform_stack,
        refresh=args.refresh,
        progress=progress,
    )
    count = sum(len(r.tenants) for r in results)
    print(f"{count} tenant(s) rolled out to {args.site} in {len(results)} shard stack(s)")
    return 0
