"""The GIS database and the national reference layer of administrative regions.

One PostGIS database (`pdn_gis`) on the data services' PostgreSQL holds every agency's layers,
a schema per tenant. The platform makes it and its PostGIS extension (a tenant's role cannot:
creating the extension needs a superuser), and loads the reference layer into the schema
`reference`: every province, kabupaten/kota, kecamatan and desa/kelurahan of the Kemendagri
list pdn validates region codes with (`pdn.regions`: 91,599 regions), keyed by its dotted
code, with its name, level and parent. Every role may read it; nobody but the platform writes
it. Its boundaries (`geom`) stay empty until a licensed boundary source is loaded: none is
invented.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from pdn import regions
from pdn.dataservices import sql
from pdn.gis.errors import GisError

DATABASE = "pdn_gis"
SCHEMA = "reference"  # the queries below name it and the table literally
TABLE = f"{SCHEMA}.regions"
LAYER = "regions"
# The feature service's login: it reads the catalogue, the reference layer and (through each
# tenant's reader role) the tenants' layers. The DC gives it a password (`pdn dc up`); in
# production the deployment's Secret does.
SERVICE_ROLE = "pdn_gis_service"

# Built from this module's constants only.
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {TABLE} (
    code text PRIMARY KEY
        CHECK (code ~ '^[0-9]{{2}}([.][0-9]{{2}}([.][0-9]{{2}}([.][0-9]{{4}})?)?)?$'),
    name text NOT NULL,
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    parent text REFERENCES {TABLE} (code),
    geom geometry(MultiPolygon, 4326)
);
CREATE INDEX IF NOT EXISTS regions_parent ON {TABLE} (parent);
CREATE INDEX IF NOT EXISTS regions_geom ON {TABLE} USING gist (geom);
CREATE TABLE IF NOT EXISTS {SCHEMA}.sources (
    layer text PRIMARY KEY,
    source text NOT NULL,
    version text NOT NULL,
    rows integer NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE {TABLE} IS 'Indonesia''s administrative regions by Kemendagri code';
REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC;
GRANT USAGE ON SCHEMA {SCHEMA} TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO PUBLIC;
CREATE SCHEMA IF NOT EXISTS catalogue;
CREATE TABLE IF NOT EXISTS catalogue.layers (
    collection text PRIMARY KEY,
    tenant text NOT NULL,
    layer text NOT NULL,
    title text NOT NULL,
    public boolean NOT NULL DEFAULT false,
    readers text[] NOT NULL,
    table_schema text NOT NULL,
    table_name text NOT NULL,
    UNIQUE (table_schema, table_name)
);
COMMENT ON TABLE catalogue.layers IS 'The tenants'' layers the feature service publishes';
REVOKE ALL ON SCHEMA catalogue FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA catalogue FROM PUBLIC;
"""  # noqa: S608
SERVICE_GRANTS = f"""
GRANT CONNECT ON DATABASE {DATABASE} TO {SERVICE_ROLE};
GRANT USAGE ON SCHEMA catalogue TO {SERVICE_ROLE};
GRANT SELECT ON catalogue.layers TO {SERVICE_ROLE};
"""


@dataclass(frozen=True)
class GisAdmin:
    """The platform's admin on the site's PostgreSQL (a superuser: it makes the extension)."""

    server: sql.Server
    user: str
    password: str

    def connect(self, database: str = DATABASE) -> Any:
        return sql.connect(self.server, self.user, self.password, database)

    def __repr__(self) -> str:  # never the password
        return f"GisAdmin({self.server.host}:{self.server.port}, {self.user!r})"


@dataclass(frozen=True)
class ReferenceState:
    """What the GIS database holds, as read back."""

    postgis: str | None  # the extension's version
    source: str | None
    version: str | None
    rows: int
    by_level: dict[int, int] = field(default_factory=dict)
    public_read: bool = False
    public_write: bool = False


@functools.cache  # 91,599 regions sorted: once per process, not at every diff
def expected() -> ReferenceState:
    counts: dict[int, int] = {}
    for code, _name in regions.every():
        level = code.count(".") + 1
        counts[level] = counts.get(level, 0) + 1
    return ReferenceState(
        postgis="3.3",
        source=regions.SOURCE,
        version=regions.list_digest(),
        rows=sum(counts.values()),
        by_level=counts,
        public_read=True,
        public_write=False,
    )


def ensure(admin: GisAdmin) -> int:
    """The database, its PostGIS and the reference layer as this pdn's list says; the rows
    loaded (0 when the layer was already this version)."""
    with admin.connect("postgres") as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if found.fetchone() is None:
            conn.execute(f"CREATE DATABASE {DATABASE} ENCODING 'UTF8' TEMPLATE template0")
            conn.execute(f"REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC")
    with admin.connect() as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except Exception as err:
            raise GisError(
                f"PostGIS cannot be made in {DATABASE} ({err}): install the server's PostGIS "
                "package (Debian: postgresql-15-postgis-3; `pdn dc up` does on the local DC)"
            ) from err
        conn.execute(DDL)
        found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (SERVICE_ROLE,))
        if found.fetchone() is None:  # its login is the DC's (or the deployment's) to give
            conn.execute(f"CREATE ROLE {SERVICE_ROLE} NOLOGIN")
        conn.execute(SERVICE_GRANTS)
        held = conn.execute(
            "SELECT version FROM reference.sources WHERE layer = %s", (LAYER,)
        ).fetchone()
        (count,) = conn.execute("SELECT count(*) FROM reference.regions").fetchone()
        if held is not None and held[0] == regions.list_digest() and count == expected().rows:
            return 0
        return _load(conn)  # another version, or rows changed by hand


def _load(conn: Any) -> int:
    rows = regions.every()
    with conn.transaction():
        conn.execute(f"TRUNCATE {TABLE}")
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY {TABLE} (code, name, level, parent) FROM STDIN") as copy,
        ):
            for code, name in rows:
                parent = code.rpartition(".")[0] or None
                copy.write_row((code, name, code.count(".") + 1, parent))
        conn.execute(
            "INSERT INTO reference.sources (layer, source, version, rows) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (layer) DO UPDATE SET source = EXCLUDED.source,"
            " version = EXCLUDED.version, rows = EXCLUDED.rows, loaded_at = now()",
            (LAYER, regions.SOURCE, regions.list_digest(), len(rows)),
        )
    return len(rows)


def database_exists(admin: GisAdmin) -> bool:
    with admin.connect("postgres") as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        return found.fetchone() is not None


def observe(admin: GisAdmin) -> ReferenceState | None:
    """What the database holds; None when it does not exist."""
    if not database_exists(admin):
        return None
    with admin.connect() as conn:
        ext = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
        ).fetchone()
        table = conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0]
        if ext is None or table is None:
            return ReferenceState(ext[0] if ext else None, None, None, 0)
        source = conn.execute(
            "SELECT source, version FROM reference.sources WHERE layer = %s", (LAYER,)
        ).fetchone()
        counts = dict(conn.execute("SELECT level, count(*) FROM reference.regions GROUP BY level"))
        read, write = conn.execute(
            "SELECT has_table_privilege('public', %s, 'SELECT'),"
            " has_table_privilege('public', %s, 'INSERT, UPDATE, DELETE, TRUNCATE')",
            (TABLE, TABLE),
        ).fetchone()
        return ReferenceState(
            postgis=".".join(str(ext[0]).split(".")[:2]),
            source=source[0] if source else None,
            version=source[1] if source else None,
            rows=sum(counts.values()),
            by_level={int(k): int(v) for k, v in counts.items()},
            public_read=bool(read),
            public_write=bool(write),
        )


def differences(seen: ReferenceState | None) -> list[str]:
    """What differs from this pdn's reference layer, each as `what: held -> wanted`."""
    want = expected()
    if seen is None:
        return [f"database {DATABASE}: missing -> present"]
    return [
        f"{name}: {getattr(seen, name)!r} -> {getattr(want, name)!r}"
        for name in (
            "postgis",
            "source",
            "version",
            "rows",
            "by_level",
            "public_read",
            "public_write",
        )
        if getattr(seen, name) != getattr(want, name)
    ]
