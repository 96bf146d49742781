"""A tenant's share of the GIS database: its schema, its roles, and its layers in the catalogue
the feature service publishes from.

- `t_<slug>` (underscores): the tenant's schema, owned by `gis_<slug>`, the tenant's login (a
  password of its own, verified TLS only, like every login on the DC's PostgreSQL): it makes
  its layers' tables there (`pdn gis load` does, as that role), and nowhere else;
- `gis_<slug>_read` (no login): SELECT on every table of the schema, made now or later
  (default privileges). It is granted to the feature service's login and to the tenant's
  ancestors' logins (a province reads its kabupaten's layers), and to no one else;
- `catalogue.layers`: the layers the tenant file declares (collection `<slug>.<layer>`, title,
  public or not, who may read it). The feature service publishes a declared layer once its
  table exists; anonymously only when public.

Removing a tenant's GIS takes its login and its layers out of the catalogue; its schema and its
data stay (dropping them is the owners' decision, like a tenant's databases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql as pgsql

from pdn.dataservices.databases import database_name, scram_verifier
from pdn.gis import reference
from pdn.gis.errors import GisError


@dataclass(frozen=True)
class Layer:
    name: str  # as in the tenant file (hyphens)
    title: str
    public: bool = False


@dataclass(frozen=True)
class TenantGisSpec:
    tenant: str
    layers: tuple[Layer, ...]
    ancestors: tuple[str, ...] = ()  # parent first: their logins read this tenant's layers

    @property
    def schema(self) -> str:
        return schema_name(self.tenant)

    @property
    def owner(self) -> str:
        return owner_role(self.tenant)

    @property
    def reader(self) -> str:
        return f"{self.owner}_read"

    @property
    def readers(self) -> tuple[str, ...]:
        """Who may read its layers through the feature service: itself and its ancestors."""
        return (self.tenant, *self.ancestors)


def schema_name(slug: str) -> str:
    return f"t_{database_name(slug)}"


def owner_role(slug: str) -> str:
    return f"gis_{database_name(slug)}"


def table_name(layer: str) -> str:
    return layer.replace("-", "_")


def collection_id(slug: str, layer: str) -> str:
    """The layer's collection at the feature service."""
    return f"{slug}.{layer}"


def _role_exists(conn: Any, role: str) -> bool:
    found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    return found is not None


def ensure(admin: reference.GisAdmin, spec: TenantGisSpec, password: str) -> None:
    """The tenant's roles, schema, grants and catalogue entries as spec says (idempotent);
    memberships of its reader role given by hand to anyone else are taken back."""
    if not password:
        raise GisError(f"{spec.tenant}: the GIS login needs a password")
    with admin.connect() as conn, conn.transaction():
        verifier = pgsql.Literal(scram_verifier(password))
        if _role_exists(conn, spec.owner):
            conn.execute(
                pgsql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                    pgsql.Identifier(spec.owner), verifier
                )
            )
        else:
            conn.execute(
                pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    pgsql.Identifier(spec.owner), verifier
                )
            )
        if not _role_exists(conn, spec.reader):
            conn.execute(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(pgsql.Identifier(spec.reader)))
        owner, reader, schema = (
            pgsql.Identifier(n) for n in (spec.owner, spec.reader, spec.schema)
        )
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {owner}",
            "CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner}",
            "ALTER SCHEMA {schema} OWNER TO {owner}",
            "REVOKE ALL ON SCHEMA {schema} FROM PUBLIC",
            "GRANT USAGE ON SCHEMA {schema} TO {reader}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}"
            " GRANT SELECT ON TABLES TO {reader}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {reader}",
        ):
            conn.execute(
                pgsql.SQL(statement).format(
                    db=pgsql.Identifier(reference.DATABASE),
                    owner=owner,
                    reader=reader,
                    schema=schema,
                )
            )
        wanted = {reference.SERVICE_ROLE}
        for ancestor in spec.ancestors:
            role = owner_role(ancestor)
            if not _role_exists(conn, role):  # its own ensure gives it a login
                conn.execute(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(pgsql.Identifier(role)))
            wanted.add(role)
        held = set(_members(conn, spec.reader))
        for role in sorted(wanted - held):
            conn.execute(pgsql.SQL("GRANT {} TO {}").format(reader, pgsql.Identifier(role)))
        for role in sorted(held - wanted):
            conn.execute(pgsql.SQL("REVOKE {} FROM {}").format(reader, pgsql.Identifier(role)))
        _catalogue(conn, spec)


def _members(conn: Any, role: str) -> list[str]:
    rows = conn.execute(
        "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid"
        " JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = %s ORDER BY 1",
        (role,),
    )
    return [str(name) for (name,) in rows]


def _catalogue(conn: Any, spec: TenantGisSpec) -> None:
    conn.execute("DELETE FROM catalogue.layers WHERE tenant = %s", (spec.tenant,))
    for layer in spec.layers:
        conn.execute(
            "INSERT INTO catalogue.layers"
            " (collection, tenant, layer, title, public, readers, table_schema, table_name)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                collection_id(spec.tenant, layer.name),
                spec.tenant,
                layer.name,
                layer.title,
                layer.public,
                list(spec.readers),
                spec.schema,
                table_name(layer.name),
            ),
        )


def expected(spec: TenantGisSpec) -> dict[str, Any]:
    return {
        "login": True,
        "schema_owner": spec.owner,
        "public_usage": False,
        "reader_members": sorted(
            {reference.SERVICE_ROLE, *(owner_role(a) for a in spec.ancestors)}
        ),
        "layers": sorted(
            [collection_id(spec.tenant, x.name), x.title, x.public, list(spec.readers)]
            for x in spec.layers
        ),
    }


def observe(admin: reference.GisAdmin, spec: TenantGisSpec) -> dict[str, Any] | None:
    """What the database holds of the tenant, in `expected`'s shape (None: no database)."""
    if not reference.database_exists(admin):  # not the reference layer's counts, per tenant
        return None
    with admin.connect() as conn:
        login = conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (spec.owner,)
        ).fetchone()
        schema = conn.execute(
            "SELECT pg_get_userbyid(nspowner), has_schema_privilege('public', nspname, 'USAGE')"
            " FROM pg_namespace WHERE nspname = %s",
            (spec.schema,),
        ).fetchone()
        layers = conn.execute(
            "SELECT collection, title, public, readers FROM catalogue.layers WHERE tenant = %s",
            (spec.tenant,),
        ).fetchall()
        return {
            "login": bool(login and login[0]),
            "schema_owner": schema[0] if schema else None,
            "public_usage": bool(schema and schema[1]),
            "reader_members": _members(conn, spec.reader),
            "layers": sorted([c, t, p, list(r)] for c, t, p, r in layers),
        }


def differences(seen: dict[str, Any] | None, spec: TenantGisSpec) -> list[str]:
    want = expected(spec)
    if seen is None:
        return [f"database {reference.DATABASE}: missing -> present"]
    return [f"{k}: {seen.get(k)!r} -> {v!r}" for k, v in want.items() if seen.get(k) != v]


def retire(admin: reference.GisAdmin, spec: TenantGisSpec) -> None:
    """The tenant leaves the GIS: its login and its catalogue entries go; its schema and
    data stay."""
    with admin.connect() as conn, conn.transaction():
        conn.execute("DELETE FROM catalogue.layers WHERE tenant = %s", (spec.tenant,))
        if _role_exists(conn, spec.owner):
            conn.execute(pgsql.SQL("ALTER ROLE {} NOLOGIN").format(pgsql.Identifier(spec.owner)))
        if _role_exists(conn, spec.reader) and _role_exists(conn, reference.SERVICE_ROLE):
            conn.execute(
                pgsql.SQL("REVOKE {} FROM {}").format(
                    pgsql.Identifier(spec.reader), pgsql.Identifier(reference.SERVICE_ROLE)
                )
            )


def layer_tables(admin: reference.GisAdmin, slug: str) -> dict[str, int]:
    """The tenant's loaded layers: table -> features."""
    schema = schema_name(slug)
    with admin.connect() as conn:
        tables = [
            str(t)
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
            )
        ]
        return {
            t: int(
                conn.execute(
                    pgsql.SQL("SELECT count(*) FROM {}.{}").format(
                        pgsql.Identifier(schema), pgsql.Identifier(t)
                    )
                ).fetchone()[0]
            )
            for t in tables
        }
