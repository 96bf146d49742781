"""A tenant's databases on a site's database servers, with the platform admin's connection:
one database and one login role per tenant and engine, least privilege, TLS required.

- PostgreSQL: role `<name>_owner` (LOGIN, nothing else: no CREATEDB, CREATEROLE, superuser),
  database `<name>` it owns, `CONNECT` and `TEMPORARY` revoked from PUBLIC, so no other role
  connects to it (checked on the real server).
- MariaDB: user `'<name>'@'127.0.0.1'` with `REQUIRE SSL`, all privileges on `<name>`.* only
  (no GRANT OPTION, nothing global).

`read_*` returns what the server holds, so a change by hand is seen; a password cannot be read
back, so `login_works` tries it. Deleting a tenant's access drops its role or user and never its
database: deleting agency data is never implicit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from pdn.dataservices.errors import DataServiceError
from pdn.dataservices.sql import MARIADB, POSTGRESQL, Server, connect

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def database_name(slug: str) -> str:
    """The tenant's database (and MariaDB user) name: its slug with underscores, checked."""
    name = slug.replace("-", "_")
    if not _NAME.match(name):
        raise DataServiceError(
            f"database name {name!r} (from {slug!r}): a lowercase letter, then up to 47 "
            "lowercase letters, digits or underscores"
        )
    return name


def scram_verifier(password: str, *, iterations: int = 4096) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of password (RFC 7677), made here so that the
    plaintext never reaches the server, where an error would log the statement holding it."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def native_password_hash(password: str) -> str:
    """MariaDB's mysql_native_password hash (`IDENTIFIED BY PASSWORD`), for the same reason."""
    inner = hashlib.sha1(password.encode()).digest()  # noqa: S324 (the protocol's hash)
    return "*" + hashlib.sha1(inner).hexdigest().upper()  # noqa: S324


def owner_name(engine: str, database: str) -> str:
    return f"{database}_owner" if engine == POSTGRESQL else database


@dataclass(frozen=True)
class DatabaseState:
    """What a server holds for a tenant's database."""

    database_exists: bool
    owner_exists: bool
    owned_by_owner: bool  # PostgreSQL: the database's owner; MariaDB: the user's grant
    public_can_connect: bool  # PostgreSQL; MariaDB: the user reaches more than its database
    tls_required: bool


@dataclass(frozen=True)
class Admin:
    server: Server
    user: str
    password: str

    def connect(self) -> Any:
        return connect(self.server, self.user, self.password)


def ensure(admin: Admin, database: str, password: str) -> None:
    """Make or converge the database and its owner (with this password)."""
    if admin.server.engine == POSTGRESQL:
        _ensure_postgresql(admin, database, password)
    else:
        _ensure_mariadb(admin, database, password)


def _ensure_postgresql(admin: Admin, database: str, password: str) -> None:
    from psycopg import sql  # noqa: PLC0415

    owner = owner_name(POSTGRESQL, database)
    with admin.connect() as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(
                "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS PASSWORD {}"
            ).format(sql.SQL(verb), sql.Identifier(owner), sql.Literal(scram_verifier(password)))
        )
        found = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if found is None:
            # The platform admin must be able to hand the database over: a member of the role.
            conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)))
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(database), sql.Identifier(owner)
                )
            )
        elif found[0] != owner:
            conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)))
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(database), sql.Identifier(owner)
                )
            )
        conn.execute(
            sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                sql.Identifier(database)
            )
        )
        conn.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(owner)
            )
        )


def _ensure_mariadb(admin: Admin, database: str, password: str) -> None:
    user = owner_name(MARIADB, database)
    with admin.connect() as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE DATABASE IF NOT EXISTS `{database}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        hashed = native_password_hash(password)
        cur.execute(
            f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY PASSWORD %s REQUIRE SSL",
            (hashed,),
        )
        cur.execute(
            f"ALTER USER '{user}'@'127.0.0.1' IDENTIFIED BY PASSWORD %s REQUIRE SSL", (hashed,)
        )
        # Whatever it was given by hand goes; then exactly its database.
        cur.execute(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{user}'@'127.0.0.1'")
        cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'127.0.0.1'")


def read(admin: Admin, database: str) -> DatabaseState:
    if admin.server.engine == POSTGRESQL:
        return _read_postgresql(admin, database)
    return _read_mariadb(admin, database)


def _read_postgresql(admin: Admin, database: str) -> DatabaseState:
    owner = owner_name(POSTGRESQL, database)
    with admin.connect() as conn:
        role = conn.execute(
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls OR rolreplication "
            "FROM pg_roles WHERE rolname = %s",
            (owner,),
        ).fetchone()
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba), "
            "has_database_privilege('public', oid, 'CONNECT') "
            "FROM pg_database WHERE datname = %s",
            (database,),
        ).fetchone()
    return DatabaseState(
        database_exists=row is not None,
        owner_exists=role is not None and not role[0],  # a widened role reads as drift
        owned_by_owner=row is not None and row[0] == owner,
        public_can_connect=row is not None and bool(row[1]),
        tls_required=True,  # pg_hba.conf of the server: hostssl only
    )


def _read_mariadb(admin: Admin, database: str) -> DatabaseState:
    user = owner_name(MARIADB, database)
    with admin.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (database,))
        exists = cur.fetchone() is not None
        cur.execute(
            "SELECT ssl_type FROM mysql.user WHERE user = %s AND host = '127.0.0.1'", (user,)
        )
        found = cur.fetchone()
        grants: list[str] = []
        if found is not None:
            cur.execute(f"SHOW GRANTS FOR '{user}'@'127.0.0.1'")
            grants = [str(g[0]) for g in cur.fetchall()]
    wanted = f"GRANT ALL PRIVILEGES ON `{database}`.* TO `{user}`@`127.0.0.1`"
    others = [g for g in grants if not g.startswith("GRANT USAGE ON *.*") and g != wanted]
    return DatabaseState(
        database_exists=exists,
        owner_exists=found is not None,
        owned_by_owner=wanted in grants,
        public_can_connect=bool(others),  # the user reaches more than its database
        tls_required=found is not None and found[0] in ("ANY", "X509", "SPECIFIED"),
    )


def login_works(server: Server, database: str, password: str) -> bool:
    try:
        with connect(server, owner_name(server.engine, database), password, database):
            return True
    except DataServiceError:
        return False


def drop_access(admin: Admin, database: str) -> None:
    """Drop the tenant's login (its database and data stay); gone already is not an error."""
    owner = owner_name(admin.server.engine, database)
    if admin.server.engine == MARIADB:
        with admin.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{owner}'@'127.0.0.1'")
        return
    from psycopg import sql  # noqa: PLC0415

    with admin.connect() as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone() is None:
            return
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)))
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    if found is not None:
        # The tenant's tables stay, owned by the platform admin from now on.
        with connect(admin.server, admin.user, admin.password, database) as inside:
            inside.execute(
                sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(owner))
            )
            inside.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(owner)))
    with admin.connect() as conn:
        if found is not None:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO CURRENT_USER").format(sql.Identifier(database))
            )
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(owner)))
