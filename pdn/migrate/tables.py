"""A database's tables seen from the migration controller, on either side of a move: an agency
host's server over SSH (through its local socket, as its administrator) or a DBaaS server over
TLS (as the tenant's own login). Used by the database_sync module (which runs on the controller
with pdn's Python) and by `pdn migrate verify`.

A table's checksum is computed by its own server, so no row crosses the network to be checked:
an order-free sum of one 64-bit hash per row (MariaDB: half the MD5 of its columns QUOTE()d;
PostgreSQL: hashtextextended of the row's text), each row as the same engine renders it, with
the session's time zone and formats fixed, so both sides of one engine compare whatever order
rows are stored in and wherever the servers run.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

PG_BIN = "/usr/lib/postgresql/15/bin"
MARIADB, POSTGRESQL = "mariadb", "postgresql"


class TableError(RuntimeError):
    """A client could not read or write a side: what it said, and where."""


@dataclass(frozen=True)
class TableSum:
    rows: int
    checksum: str


@dataclass(frozen=True)
class Endpoint:
    """ssh: the argv that reaches an agency host (its server as the administrator); otherwise
    host/port/user/ca reach a server over TLS with password."""

    engine: str
    database: str
    ssh: tuple[str, ...] = ()
    host: str = ""
    port: int = 0
    user: str = ""
    ca: str = ""
    password: str = field(default="", repr=False)

    @staticmethod
    def of(engine: str, spec: dict[str, Any], password: str | None) -> Endpoint:
        return Endpoint(
            engine,
            str(spec["database"]),
            tuple(spec.get("ssh") or ()),
            str(spec.get("host", "")),
            int(spec.get("port", 0)),
            str(spec.get("user", "")),
            str(spec.get("ca", "")),
            password or "",
        )

    def where(self) -> str:
        place = self.ssh[-1] if self.ssh else f"{self.host}:{self.port}"
        return f"{place} ({self.database})"

    def argv(self, tool: str, args: list[str]) -> list[str]:
        """A client tool against this endpoint."""
        if self.ssh:
            inner = (
                [tool, *args]
                if self.engine == MARIADB
                else ["runuser", "-u", "postgres", "--", tool, *args]
            )
            return [*self.ssh, shlex.join(inner)]
        if self.engine == MARIADB:
            return [
                tool,
                "--ssl",
                f"--ssl-ca={self.ca}",
                "--ssl-verify-server-cert",
                f"--host={self.host}",
                f"--port={self.port}",
                f"--user={self.user}",
                *args,
            ]
        return [f"{PG_BIN}/{tool}", *args]

    def env(self) -> dict[str, str]:
        """The client's environment: the password is never on a command line."""
        env = dict(os.environ)
        if self.ssh:
            return env
        if self.engine == MARIADB:
            env["MYSQL_PWD"] = self.password
        else:
            env.update(
                PGHOST=self.host,
                PGPORT=str(self.port),
                PGUSER=self.user,
                PGPASSWORD=self.password,
                PGSSLMODE="verify-full",
                PGSSLROOTCERT=self.ca,
            )
        return env

    def query(self, sql: str) -> bytes:
        if self.engine == MARIADB:
            argv = self.argv("mariadb", ["-N", "-B", self.database, "-e", sql])
        else:
            args = ["-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", self.database]
            argv = self.argv("psql", [*args, "-c", sql])
        done = subprocess.run(argv, capture_output=True, env=self.env(), timeout=3600, check=False)
        if done.returncode != 0:
            raise TableError(f"{argv[0]} on {self.where()}: {done.stderr.decode()[-400:]}")
        return done.stdout

    def tables(self) -> list[str]:
        if self.engine == MARIADB:
            sql = (
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        else:
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        return [t for t in self.query(sql).decode().split("\n") if t]

    def checksums(self) -> dict[str, TableSum]:
        return self.sums(self.tables())

    def sums(self, tables: list[str]) -> dict[str, TableSum]:
        """Rows and checksum of each table (that the server lists), in one query."""
        if not tables:
            return {}
        self._check_names(tables)
        if self.engine == MARIADB:
            columns = self._columns(tables)
            selects = [_mariadb_sum(t, columns[t]) for t in tables]
            settings = "SET time_zone = '+00:00'; "
        else:
            selects = [_pg_sum(t) for t in tables]
            settings = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
            settings += "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 1; "
        found = {}
        for line in self.query(settings + " UNION ALL ".join(selects)).decode().split("\n"):
            if line.count("\t") == 2:  # psql 15 prints each SET's tag too
                table, rows, total = line.split("\t")
                found[table] = TableSum(int(rows), f"{int(total) % 2**64:016x}")
        return found

    def quick_sums(self, tables: list[str]) -> dict[str, str]:
        """MariaDB's own CHECKSUM TABLE of each table (a sum of one CRC32 per row as stored, so
        ten times faster, but equal only between servers that store rows alike); {} elsewhere."""
        if self.engine != MARIADB or not tables:
            return {}
        self._check_names(tables)
        listed = ", ".join(f"`{t}`" for t in tables)
        found = {}
        for line in self.query(f"CHECKSUM TABLE {listed} EXTENDED").decode().split("\n"):
            if line:
                name, value = line.split("\t")
                found[name.split(".", 1)[1]] = value
        return found

    def _check_names(self, tables: list[str]) -> None:
        for name in tables:
            if set(name) & set("`'\"\\\t\n"):
                raise TableError(
                    f"table {name!r} of {self.where()}: its name has a quote or a tab; "
                    "rename it at the agency before it moves"
                )

    def _columns(self, tables: list[str]) -> dict[str, list[str]]:
        listed = ", ".join(f"'{t}'" for t in tables)
        sql = (
            "SELECT table_name, JSON_ARRAYAGG(column_name ORDER BY ordinal_position) "  # noqa: S608 (checked names)
            "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name IN "
            f"({listed}) GROUP BY table_name"
        )
        found: dict[str, list[str]] = {}
        for line in self.query(sql).decode().split("\n"):
            if line:
                table, names = line.split("\t", 1)
                found[table] = json.loads(names)
        return found

    def dump(self, tables: list[str], *, data_only: bool) -> list[str]:
        if self.engine == MARIADB:
            args = [
                "--single-transaction",
                "--skip-lock-tables",
                "--skip-add-locks",
                "--skip-disable-keys",
                "--skip-comments",
                *(["--no-create-info"] if data_only else []),
                self.database,
                *tables,
            ]
            return self.argv("mariadb-dump", args)
        args = [
            "--no-owner",
            "--no-privileges",
            *(["--data-only"] if data_only else []),
            *(f"--table=public.{t}" for t in tables),
            self.database,
        ]
        return self.argv("pg_dump", args)

    def load(self) -> list[str]:
        if self.engine == MARIADB:
            return self.argv("mariadb", [self.database])
        return self.argv("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.database])

    def quoted(self, table: str) -> str:
        return f"`{table}`" if self.engine == MARIADB else f'public."{table}"'


def _mariadb_sum(table: str, columns: list[str]) -> str:
    quoted = (c.replace("`", "``") for c in columns)
    row = "MD5(CONCAT_WS(',', " + ", ".join(f"QUOTE(`{c}`)" for c in quoted) + "))"
    total = f"COALESCE(SUM(CAST(CONV(SUBSTRING({row}, 1, 16), 16, 10) AS UNSIGNED)), 0)"
    return f"SELECT '{table}', COUNT(*), {total} FROM `{table}`"  # noqa: S608 (checked names)


def _pg_sum(table: str) -> str:
    # The 64-bit text hash hash partitioning relies on: stable across servers and versions.
    total = "COALESCE(sum(hashtextextended(t::text, 0)::numeric), 0)"
    return f"SELECT '{table}', count(*), {total} FROM public.\"{table}\" t"  # noqa: S608


def copy_table(source: Endpoint, destination: Endpoint, table: str, *, exists: bool) -> int:
    """One table, source to destination, in one transaction on the destination: an existing
    table emptied and refilled (its owner and grants kept), a missing one created. Bytes moved."""
    # A PostgreSQL source frozen for cutover is read-only by default: a rollback writes it.
    prefix = "" if source.engine == MARIADB else "SET default_transaction_read_only = off;\n"
    suffix = ""
    if exists:
        begin = "SET autocommit=0;\n" if source.engine == MARIADB else "BEGIN;\n"
        empty = f"DELETE FROM {destination.quoted(table)};\n"  # noqa: S608 (a listed name)
        prefix, suffix = prefix + begin + empty, "COMMIT;\n"
    dump = subprocess.Popen(
        source.dump([table], data_only=exists),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=source.env(),
    )
    load = subprocess.Popen(
        destination.load(),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=destination.env(),
    )
    if dump.stdout is None or dump.stderr is None or load.stdin is None or load.stderr is None:
        raise TableError("no pipes to the clients")  # asked for above: never
    moved = 0
    try:
        load.stdin.write(prefix.encode())
        while chunk := dump.stdout.read(1 << 16):
            moved += len(chunk)
            load.stdin.write(chunk)
        if dump.wait() == 0:  # an incomplete dump is never committed
            load.stdin.write(suffix.encode())
        load.stdin.close()
    except BrokenPipeError:
        pass
    dump_err = dump.stderr.read().decode()[-400:]
    load_err = load.stderr.read().decode()[-400:]
    if dump.wait() != 0:
        load.kill()
        load.wait()
        raise TableError(f"dumping {table} from {source.where()}: {dump_err}")
    if load.wait() != 0:
        raise TableError(f"loading {table} into {destination.where()}: {load_err}")
    return moved


@dataclass(frozen=True)
class Synced:
    copied: list[str]  # tables copied (or, in check mode, that would be)
    moved: int  # bytes
    only_on_destination: list[str]


def sync_database(source: Endpoint, destination: Endpoint, *, check: bool = False) -> Synced:
    """Make destination's tables equal to source's: only those that differ are copied, each in
    one transaction, three at a time; every copied table is then proven equal. Tables the
    destination lacks are copied while the others are compared (there is nothing to compare
    them with).

    Tables are compared by MariaDB's quick checksum first where both sides have it: equal there,
    they are equal; otherwise (or on PostgreSQL) by the row count and content checksum."""
    tables = source.tables()
    present = set(destination.tables())
    missing = [t for t in tables if t not in present]
    there = [t for t in tables if t in present]
    with ThreadPoolExecutor(max_workers=2) as sums, ThreadPoolExecutor(max_workers=3) as copies:
        quick = sums.submit(source.quick_sums, tables)
        quick_there = sums.submit(destination.quick_sums, there)
        created = [
            copies.submit(copy_table, source, destination, t, exists=False)
            for t in ([] if check else missing)
        ]
        wanted = quick.result()
        differ = _differ(source, destination, there, wanted, quick_there.result())
        if not check:
            created += [
                copies.submit(copy_table, source, destination, t, exists=True) for t in differ
            ]
        moved = sum(copy.result() for copy in created)
    if check:
        return Synced(sorted(missing + differ), 0, sorted(present - set(tables)))
    copied = sorted(missing + differ)
    wrong = _differ(source, destination, copied, wanted, destination.quick_sums(copied))
    if wrong:
        raise TableError(
            f"after the copy, {', '.join(wrong)} still differ on {destination.where()}: "
            "a writer on the source? stop it and run again"
        )
    return Synced(copied, moved, sorted(present - set(tables)))


def _differ(
    source: Endpoint,
    destination: Endpoint,
    tables: list[str],
    quick: dict[str, str],
    quick_there: dict[str, str],
) -> list[str]:
    """Of tables, those whose content differs: equal quick sums settle it, else full sums."""
    unsure = [t for t in tables if t not in quick or quick_there.get(t) != quick[t]]
    if not unsure:
        return []
    with ThreadPoolExecutor(max_workers=2) as pool:
        wanted = pool.submit(source.sums, unsure)
        found = pool.submit(destination.sums, unsure)
        return [t for t in unsure if found.result().get(t) != wanted.result()[t]]
