"""`pdn gis load | layers`: tenants' map layers on the local DC's GIS platform."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pdn.cli.output import table
from pdn.inventory import LOCAL_SITE

if TYPE_CHECKING:
    from pdn.gis.reference import GisAdmin
    from pdn.tenants.model import Tenant


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("gis", help="tenants' map layers on the DC's GIS platform")
    parser.add_argument("--inventory", type=Path, default=LOCAL_SITE, help="the site (local DC)")
    parser.add_argument("--dir", type=Path, default=None, help="the tenants directory")
    actions = parser.add_subparsers(dest="action", required=True)
    load = actions.add_parser(
        "load", help="load a GeoPackage, GeoJSON or shapefile into a tenant's layer"
    )
    load.add_argument("slug", help="the tenant (its file lists the layer under gis_layers)")
    load.add_argument("file", type=Path, help="a .gpkg, .geojson/.json or .shp")
    load.add_argument("--layer", required=True, help="the layer's name in the tenant's file")
    load.add_argument("--source-layer", help="which layer of a file holding several")
    load.add_argument(
        "--region-field",
        help="the attribute holding each feature's Kemendagri region code (default: "
        "kode_wilayah, when the file has it)",
    )
    load.add_argument(
        "--replace", action="store_true", help="yes: swap in this file's features for the layer's"
    )
    load.set_defaults(handler=_load)
    layers = actions.add_parser("layers", help="every tenant's declared layers, loaded or not")
    layers.set_defaults(handler=_layers)


def _tenant(args: argparse.Namespace) -> Tenant:
    from pdn.gis.errors import GisError  # noqa: PLC0415
    from pdn.inventory import all_sites  # noqa: PLC0415
    from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files  # noqa: PLC0415

    directory = args.dir or TENANTS_DIR
    fleet = load_fleet(tenant_files(directory), all_sites())
    tenant = fleet.tenants.get(args.slug)
    if tenant is None:
        raise GisError(f"no tenant {args.slug!r} in {directory}: see `pdn tenant list`")
    return tenant


def _admin(args: argparse.Namespace) -> GisAdmin:
    from pdn.dataservices.sql import POSTGRESQL  # noqa: PLC0415
    from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415
    from pdn.gis.reference import GisAdmin  # noqa: PLC0415
    from pdn.inventory import load_site  # noqa: PLC0415

    access = LocalDC(load_site(args.inventory)).database_admin(POSTGRESQL)
    return GisAdmin(access.server, access.user, access.password)


def _load(args: argparse.Namespace) -> int:
    from pdn.gis import load  # noqa: PLC0415
    from pdn.gis.errors import GisError  # noqa: PLC0415

    tenant = _tenant(args)
    if args.layer not in {x.name for x in tenant.gis_layers}:
        listed = ", ".join(x.name for x in tenant.gis_layers) or "none"
        raise GisError(
            f"{tenant.slug} declares no layer {args.layer!r} (its gis_layers: {listed}): "
            "add it to its file and run `pdn tenant up` first"
        )
    done = load.load(
        _admin(args),
        tenant.slug,
        args.layer,
        args.file,
        source_layer=args.source_layer,
        region_field=args.region_field,
        replace=args.replace,
    )
    verb = "replaced" if done.replaced else "loaded"
    print(
        f"{verb} {done.collection}: {done.features} {done.geometry_type} feature(s) from "
        f"{done.source_crs} into {done.table} in {done.seconds:.1f} s"
    )
    return 0


def _layers(args: argparse.Namespace) -> int:
    from pdn.gis import tenants  # noqa: PLC0415
    from pdn.inventory import all_sites  # noqa: PLC0415
    from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files  # noqa: PLC0415

    fleet = load_fleet(tenant_files(args.dir or TENANTS_DIR), all_sites())
    admin = _admin(args)
    rows = []
    for slug, tenant in sorted(fleet.tenants.items()):
        if not tenant.gis_layers:
            continue
        loaded = tenants.layer_tables(admin, slug)
        for layer in tenant.gis_layers:
            features = loaded.get(tenants.table_name(layer.name))
            rows.append(
                [
                    tenants.collection_id(slug, layer.name),
                    "public" if layer.public else "tenant and parents",
                    "not loaded" if features is None else str(features),
                    layer.title,
                ]
            )
    table("GIS layers", ["collection", "readers", "features", "title"], rows)
    return 0
