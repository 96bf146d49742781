"""`pdn tte issue | revoke | list`: the local DC's e-signature certificates (its site CA issues
them; the signing service signs with them)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pdn.cli.output import table
from pdn.inventory import LOCAL_SITE

if TYPE_CHECKING:
    from pdn.dc.settings import DCSettings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("tte", help="e-signature certificates of the local DC's site CA")
    parser.add_argument("--inventory", type=Path, default=LOCAL_SITE, help="the site (local DC)")
    actions = parser.add_subparsers(dest="action", required=True)
    issue = actions.add_parser(
        "issue", help="a signing certificate for a tenant (or one of its officials); rotates"
    )
    issue.add_argument("slug", help="the tenant (its file in tenants/)")
    issue.add_argument(
        "--official", help="the id of one of the tenant file's officials (default: its seal)"
    )
    issue.set_defaults(handler=_issue)
    revoke = actions.add_parser("revoke", help="revoke a certificate by serial (hex)")
    revoke.add_argument("serial")
    revoke.add_argument("--reason", default="key_compromise", help="an RFC 5280 reason")
    revoke.set_defaults(handler=_revoke)
    listing = actions.add_parser("list", help="every certificate the site CA issued")
    listing.set_defaults(handler=_list)


def _dc_settings(args: argparse.Namespace) -> DCSettings:
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.inventory import load_site  # noqa: PLC0415

    return LocalDC(load_site(args.inventory)).settings


def _issue(args: argparse.Namespace) -> int:
    from pdn.dc import tte  # noqa: PLC0415
    from pdn.inventory import all_sites  # noqa: PLC0415
    from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files  # noqa: PLC0415
    from pdn.tte.errors import TteError  # noqa: PLC0415

    fleet = load_fleet(tenant_files(TENANTS_DIR), all_sites())
    tenant = fleet.tenants.get(args.slug)
    if tenant is None:
        raise TteError(f"no tenant {args.slug!r} in {TENANTS_DIR}: see `pdn tenant list`")
    if args.official is None:
        issued = tte.issue_for_tenant(_dc_settings(args), tenant.slug, tenant.name)
    else:
        official = next((o for o in tenant.officials if o.id == args.official), None)
        if official is None:
            listed = ", ".join(o.id for o in tenant.officials) or "none"
            raise TteError(
                f"tenant {tenant.slug} lists no official {args.official!r} (its officials: "
                f"{listed}): add them to its file first"
            )
        issued = tte.issue_for_tenant(
            _dc_settings(args),
            tenant.slug,
            official.name,
            official=official.id,
            email=official.email,
            title=official.title,
        )
    print(f"issued {issued.serial}: {issued.subject}, valid until {issued.not_after}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from pdn.dc import tte  # noqa: PLC0415

    entry = tte.authority(_dc_settings(args)).revoke(args.serial, args.reason)
    print(f"revoked {entry.serial} ({entry.reason}) at {entry.revoked_at}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from pdn.dc import tte  # noqa: PLC0415

    rows = [
        [
            e.serial[:16],
            e.role,
            e.tenant or "-",
            e.official or "-",
            e.not_after[:10],
            e.revoked_at[:19] if e.revoked_at else "valid",
        ]
        for e in tte.authority(_dc_settings(args)).registry()
    ]
    table(
        "e-signature certificates",
        ["serial", "role", "tenant", "official", "until", "status"],
        rows,
    )
    return 0
