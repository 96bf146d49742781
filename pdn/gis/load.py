"""`pdn gis load`: a GeoPackage, GeoJSON or shapefile into one of a tenant's declared layers.

The file is read whole (pyogrio: GDAL) and checked before anything is written: a CRS it
declares, a geometry on every feature, every geometry valid (OGC simple features), every
feature inside Indonesia once reprojected to WGS 84 (a wrong or missing CRS lands features
elsewhere), attribute names that make columns, and the Kemendagri code of each feature's region
(`kode_wilayah`, or the attribute `region_field` names) in the list pdn validates codes with.
Every problem is reported at once, each with its feature number; nothing is written then.

The table is written as the tenant's own login (the platform's admin `SET ROLE`s to it), so the
tenant owns it and its reader role reads it; it is built beside the old one and swapped in one
transaction, so the feature service never serves half a layer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import sql as pgsql

from pdn import regions
from pdn.gis import tenants
from pdn.gis.errors import GisError
from pdn.gis.reference import GisAdmin

DRIVERS = {"GPKG": "GeoPackage", "GeoJSON": "GeoJSON", "ESRI Shapefile": "shapefile"}
REGION_COLUMN = "kode_wilayah"
# Indonesia and its waters, with a margin (WGS 84 degrees): west, south, east, north.
INDONESIA = (94.0, -12.0, 142.0, 7.0)
RESERVED = {"fid", "geom"}
SHOWN = 20  # problems listed; the rest are counted
_TYPES = {"i": "bigint", "u": "bigint", "f": "double precision", "b": "boolean"}


@dataclass(frozen=True)
class Features:
    """A file's features, checked, in WGS 84."""

    driver: str
    crs: str
    columns: list[tuple[str, str]]  # (name, PostgreSQL type)
    rows: list[tuple[Any, ...]]  # attribute values, in columns' order
    wkb: list[bytes]
    geometry_type: str  # PostGIS's: Point, MultiPolygon, … or Geometry when mixed


@dataclass(frozen=True)
class Loaded:
    collection: str
    table: str
    features: int
    source_crs: str
    geometry_type: str
    replaced: bool
    seconds: float


def _problems(path: Path, found: list[str]) -> GisError:
    more = f"\n  … and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    listed = "\n".join(f"  {p}" for p in found[:SHOWN])
    return GisError(f"{path}: {len(found)} problem(s), nothing loaded:\n{listed}{more}")


def read(path: Path, source_layer: str | None = None, region_field: str | None = None) -> Features:
    """The file's features, checked; GisError listing every problem otherwise."""
    import pyogrio  # noqa: PLC0415
    import shapely  # noqa: PLC0415

    driver, source = _open(path, source_layer)
    try:
        meta, _fids, wkb, fields = pyogrio.raw.read(path, layer=source_layer, force_2d=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise GisError(f"{path}: GDAL cannot read its features ({err})") from None
    columns, problems = _columns([str(n) for n in meta["fields"]], meta["dtypes"], region_field)
    geoms, found = _geometries(shapely.from_wkb(wkb), source)
    problems += found
    rows = list(zip(*fields, strict=True)) if fields else [() for _ in range(len(geoms))]
    problems += _regions(rows, columns)
    if not len(geoms):
        problems.append("no features")
    if problems:
        raise _problems(path, problems)
    kinds = set(shapely.get_type_id(geoms).tolist())
    return Features(
        DRIVERS[driver],
        source.to_string(),
        columns,
        [tuple(_plain(v) for v in row) for row in rows],
        [bytes(b) for b in shapely.to_wkb(geoms, include_srid=False)],
        _GEOMETRY_TYPES.get(kinds.pop(), "Geometry") if len(kinds) == 1 else "Geometry",
    )


_GEOMETRY_TYPES = {
    0: "Point",
    1: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
}


def _open(path: Path, source_layer: str | None) -> tuple[str, Any]:
    """The file's driver and CRS (a pyproj CRS), or GisError."""
    import pyogrio  # noqa: PLC0415
    from pyproj import CRS  # noqa: PLC0415
    from pyproj.exceptions import CRSError  # noqa: PLC0415

    if not path.is_file():
        raise GisError(f"{path}: no such file")
    try:
        layers = [str(name) for name, _kind in pyogrio.list_layers(path)]
        if source_layer is None and len(layers) > 1:
            raise GisError(f"{path} holds {len(layers)} layers ({', '.join(layers)}): name one")
        info = pyogrio.read_info(path, layer=source_layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise GisError(
            f"{path}: not a GeoPackage, GeoJSON or shapefile GDAL can read ({err})"
        ) from None
    driver = str(info.get("driver"))
    if driver not in DRIVERS:
        raise GisError(f"{path}: a {driver} file; load a GeoPackage, GeoJSON or shapefile")
    if not info.get("crs"):
        raise GisError(
            f"{path}: no coordinate reference system (a shapefile needs its .prj beside it): "
            "declare the CRS the coordinates are in"
        )
    try:
        return driver, CRS.from_user_input(info["crs"])
    except CRSError as err:
        raise GisError(f"{path}: its CRS {info['crs']!r} is not one PROJ knows ({err})") from None


def _columns(
    names: list[str], dtypes: Any, region_field: str | None
) -> tuple[list[tuple[str, str]], list[str]]:
    import numpy as np  # noqa: PLC0415

    problems: list[str] = []
    renamed = {region_field: REGION_COLUMN} if region_field else {}
    if region_field and region_field not in names:
        problems.append(f"region_field {region_field!r}: no such attribute ({', '.join(names)})")
    columns: list[tuple[str, str]] = []
    for name, dtype in zip(names, dtypes, strict=True):
        column = renamed.get(name, name).lower()
        if column in RESERVED or not column.isidentifier() or len(column) > 63:
            problems.append(
                f"attribute {name!r}: not usable as a column (letters, digits, underscores; "
                f"not {', '.join(sorted(RESERVED))}): rename it in the file"
            )
        kind = np.dtype(dtype).kind
        columns.append((column, "timestamptz" if kind == "M" else _TYPES.get(kind, "text")))
    if len({c for c, _ in columns}) != len(columns):
        problems.append("attributes: two of them name one column (names are case-insensitive)")
    return columns, problems


def _geometries(geoms: Any, source: Any) -> tuple[Any, list[str]]:
    """The geometries in WGS 84, and what is wrong with them: missing, invalid, outside."""
    import numpy as np  # noqa: PLC0415
    import shapely  # noqa: PLC0415
    from pyproj import Transformer  # noqa: PLC0415

    problems: list[str] = []
    absent = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems += [f"feature {i + 1}: no geometry" for i in np.flatnonzero(absent)]
    for i in np.flatnonzero(~absent & ~shapely.is_valid(geoms)):
        problems.append(f"feature {i + 1}: invalid geometry ({shapely.is_valid_reason(geoms[i])})")
    to_wgs84 = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    geoms = shapely.transform(
        geoms, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))
    )
    bounds = shapely.bounds(geoms)
    west, south, east, north = INDONESIA
    inside = (
        (bounds[:, 0] >= west)
        & (bounds[:, 1] >= south)
        & (bounds[:, 2] <= east)
        & (bounds[:, 3] <= north)
    )
    for i in np.flatnonzero(~absent & ~inside):
        problems.append(
            f"feature {i + 1}: lies at ({bounds[i, 0]:.4f}, {bounds[i, 1]:.4f}) in WGS 84, "
            f"outside Indonesia: are the coordinates in {source.name}?"
        )
    return geoms, problems


def _regions(rows: list[tuple[Any, ...]], columns: list[tuple[str, str]]) -> list[str]:
    at = next((k for k, (c, _) in enumerate(columns) if c == REGION_COLUMN), None)
    if at is None:
        return []
    problems = []
    for i, row in enumerate(rows):
        try:
            regions.require(row[at])
        except regions.RegionCodeError as err:
            problems.append(f"feature {i + 1}: {REGION_COLUMN}: {err}")
    return problems


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value psycopg writes (NaN and NaT as NULL)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write(
    admin: GisAdmin,
    tenant: str,
    layer: str,
    features: Features,
    *,
    replace: bool = False,
) -> tuple[bool, int]:
    """The features as the layer's table, owned by the tenant; (replaced, features)."""
    schema, table = tenants.schema_name(tenant), tenants.table_name(layer)
    building = f"{table}__loading"
    role = tenants.owner_role(tenant)
    with admin.connect() as conn, conn.transaction():
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if found is None:
            raise GisError(
                f"{tenant} has no GIS schema yet: list the layer under gis_layers in its file "
                f"and run `pdn tenant up {tenant}`"
            )
        exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",)).fetchone()[0]
        if exists is not None and not replace:
            raise GisError(
                f"layer {layer} of {tenant} is loaded already: --replace swaps in this file's "
                "features (in one transaction)"
            )
        conn.execute(pgsql.SQL("SET LOCAL ROLE {}").format(pgsql.Identifier(role)))
        qualified = pgsql.Identifier(schema, building)
        conn.execute(pgsql.SQL("DROP TABLE IF EXISTS {}").format(qualified))
        columns = pgsql.SQL("").join(
            pgsql.SQL(", {} {}").format(pgsql.Identifier(name), pgsql.SQL(kind))
            for name, kind in features.columns
        )
        conn.execute(
            pgsql.SQL(
                "CREATE TABLE {} (fid bigint PRIMARY KEY{}, geom geometry({}, 4326) NOT NULL)"
            ).format(qualified, columns, pgsql.SQL(features.geometry_type))
        )
        names = pgsql.SQL(", ").join(
            pgsql.Identifier(n) for n in ["fid", *(c for c, _ in features.columns), "geom"]
        )
        with (
            conn.cursor() as cur,
            cur.copy(pgsql.SQL("COPY {} ({}) FROM STDIN").format(qualified, names)) as copy,
        ):
            for i, (row, wkb) in enumerate(zip(features.rows, features.wkb, strict=True)):
                copy.write_row((i + 1, *row, f"SRID=4326;{wkb.hex()}"))
        indexes: list[tuple[str, pgsql.Composable]] = [("geom", pgsql.SQL("USING gist (geom)"))]
        if REGION_COLUMN in {c for c, _ in features.columns}:
            indexes.append(("region", pgsql.SQL("({})").format(pgsql.Identifier(REGION_COLUMN))))
        for suffix, how in indexes:
            conn.execute(
                pgsql.SQL("CREATE INDEX {} ON {} {}").format(
                    pgsql.Identifier(f"{building}_{suffix}"), qualified, how
                )
            )
        conn.execute(pgsql.SQL("DROP TABLE IF EXISTS {}").format(pgsql.Identifier(schema, table)))
        conn.execute(
            pgsql.SQL("ALTER TABLE {} RENAME TO {}").format(qualified, pgsql.Identifier(table))
        )
        for suffix, _how in indexes:  # the old table's went with it: its names are free
            conn.execute(
                pgsql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    pgsql.Identifier(schema, f"{building}_{suffix}"),
                    pgsql.Identifier(f"{table}_{suffix}"),
                )
            )
        conn.execute(
            pgsql.SQL("COMMENT ON TABLE {} IS {}").format(
                pgsql.Identifier(schema, table),
                pgsql.Literal(f"{features.driver} in {features.crs}, loaded by pdn gis load"),
            )
        )
    with admin.connect() as conn:
        conn.execute(pgsql.SQL("ANALYZE {}").format(pgsql.Identifier(schema, table)))
    return exists is not None, len(features.wkb)


def load(
    admin: GisAdmin,
    tenant: str,
    layer: str,
    path: Path,
    *,
    source_layer: str | None = None,
    region_field: str | None = None,
    replace: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Loaded:
    started = clock()
    features = read(path, source_layer, region_field)
    replaced, count = write(admin, tenant, layer, features, replace=replace)
    return Loaded(
        tenants.collection_id(tenant, layer),
        f"{tenants.schema_name(tenant)}.{tenants.table_name(layer)}",
        count,
        features.crs,
        features.geometry_type,
        replaced,
        clock() - started,
    )
