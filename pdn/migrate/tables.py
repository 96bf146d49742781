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
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

PG_BIN = "/usr/lib/postgresql/15/bin"
MARIADB, POSTGRESQL = "mariadb", "postgresql"
# MariaDB column types whose values travel as LOAD DATA text exactly: their text form is what
# the server stores, and none can outgrow a packet once escaped. Other types (floats, BLOBs,
# BIT, spatial, long texts) and generated columns go through mariadb-dump's INSERTs.
STRING_TYPES = frozenset(
    ["char", "varchar", "tinytext", "text", "enum", "set", "binary", "varbinary"]
)
# (Their text has no tab, newline or backslash to escape.)
NUMBER_AND_TIME_TYPES = frozenset(
    [
        "tinyint",
        "smallint",
        "mediumint",
        "int",
        "bigint",
        "decimal",
        "date",
        "datetime",
        "timestamp",
        "time",
        "year",
    ]
)
TEXT_SAFE_TYPES = STRING_TYPES | NUMBER_AND_TIME_TYPES


class TableError(RuntimeError):
    """A client could not read or write a side: what it said, and where."""


@dataclass(frozen=True)
class TableSum:
    rows: int
    checksum: str


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # information_schema's: int, varchar, ...
    generated: bool = False

    @property
    def quoted(self) -> str:
        return "`" + self.name.replace("`", "``") + "`"


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
            selects = [_mariadb_sum(t, [c.name for c in columns[t]]) for t in tables]
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

    def _columns(self, tables: list[str]) -> dict[str, list[Column]]:
        """Each MariaDB table's columns, in order (names checked by the caller)."""
        listed = ", ".join(f"'{t}'" for t in tables)
        sql = (
            "SELECT table_name, JSON_ARRAYAGG(JSON_ARRAY(column_name, data_type, extra) "  # noqa: S608 (checked names)
            "ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = "
            f"DATABASE() AND table_name IN ({listed}) GROUP BY table_name"
        )
        found: dict[str, list[Column]] = {}
        for line in self.query(sql).decode().split("\n"):
            if line:
                table, described = line.split("\t", 1)
                found[table] = [
                    Column(name, kind, "GENERATED" in extra)
                    for name, kind, extra in json.loads(described)
                ]
        return found

    def text_columns(self, tables: list[str]) -> dict[str, list[Column]]:
        """Of a MariaDB server's tables, those whose every column can travel as LOAD DATA text
        (TEXT_SAFE_TYPES, none generated), each with its columns in order."""
        if self.engine != MARIADB or not tables:
            return {}
        self._check_names(tables)
        return {
            table: columns
            for table, columns in self._columns(tables).items()
            if all(c.data_type in TEXT_SAFE_TYPES and not c.generated for c in columns)
        }

    def select_text(self, table: str, columns: list[Column]) -> list[str]:
        """A client that prints table's rows in LOAD DATA's default text format: tab between
        fields, newline after rows, backslash escapes, \\N for NULL. The escaping is done by
        the server, with CHAR() codes so that no sql_mode changes what a literal means; values
        leave as stored (binary character set), in UTC."""
        backslash = "CHAR(92)"

        def field(column: Column) -> str:
            escaped = column.quoted
            if column.data_type in STRING_TYPES:  # numbers and dates have nothing to escape
                for code, letter in ((92, 92), (9, ord("t")), (10, ord("n")), (0, ord("0"))):
                    escaped = (
                        f"REPLACE({escaped}, CHAR({code}), CONCAT({backslash}, CHAR({letter})))"
                    )
            return f"IFNULL({escaped}, CONCAT({backslash}, 'N'))"

        select = (
            "SET time_zone = '+00:00'; SELECT "  # noqa: S608 (checked names)
            + ", ".join(field(c) for c in columns)
            + f" FROM `{table}`"
        )
        args = ["--quick", "--raw", "-N", "-B", "--default-character-set=binary"]
        return self.argv("mariadb", [*args, self.database, "-e", select])

    def load_text(self) -> list[str]:
        """A client that reads statements on stdin and may LOAD DATA LOCAL (only from a server
        whose certificate the DC's CA signed: a server can ask a LOCAL client for any file)."""
        args = ["--local-infile=1", "--default-character-set=binary", self.database]
        return self.argv("mariadb", args)

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


def copy_table(
    source: Endpoint,
    destination: Endpoint,
    table: str,
    *,
    exists: bool,
    columns: list[Column] | None = None,
) -> int:
    """One table, source to destination, in one transaction on the destination: an existing
    table emptied and refilled (its owner and grants kept), a missing one created. Bytes moved.
    columns: a MariaDB table's, when they can all travel as text (Endpoint.text_columns): its
    rows are then loaded with LOAD DATA, which the server takes in ~40% less time than the
    INSERTs of a dump (how MySQL Shell's and mydumper's loaders move tables)."""
    if (
        columns is not None
        and source.engine == destination.engine == MARIADB
        and not destination.ssh
    ):
        return _load_table(source, destination, table, columns, exists=exists)
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


def _load_table(
    source: Endpoint, destination: Endpoint, table: str, columns: list[Column], *, exists: bool
) -> int:
    """A MariaDB table's rows as text into LOAD DATA, in one transaction. The rows reach the
    destination's client through a FIFO and its statements through stdin: COMMIT is sent only
    once the source's client has ended well, so rows cut short (or pdn killed) end the client
    without it, and the server rolls the load back."""
    # A missing table is made first, as the source defines it.
    definition = b"" if exists else _definition(source, table)
    listed = ", ".join(c.quoted for c in columns)
    with tempfile.TemporaryDirectory(prefix="pdn-load-") as scratch:
        fifo = os.path.join(scratch, "rows")
        os.mkfifo(fifo, 0o600)
        statements = [
            # As mariadb-dump's header: a 0 in an AUTO_INCREMENT column stays 0, and tables
            # copied side by side do not wait on each other's keys. (Not unique_checks = 0 as
            # well: with both off, InnoDB's bulk load into an empty table took 25% longer.)
            "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00', "
            "foreign_key_checks = 0;",
            "SET autocommit = 0;",
            *([f"DELETE FROM `{table}`;"] if exists else []),  # noqa: S608 (a listed name)
            f"LOAD DATA LOCAL INFILE '{fifo}' INTO TABLE `{table}` CHARACTER SET binary "
            f"({listed});",
        ]
        load = subprocess.Popen(
            destination.load_text(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=destination.env(),
        )
        rows = subprocess.Popen(
            source.select_text(table, columns),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=source.env(),
        )
        if load.stdin is None or load.stderr is None or rows.stdout is None or rows.stderr is None:
            raise TableError("no pipes to the clients")  # asked for above: never
        try:
            load.stdin.write(definition + "\n".join(statements).encode() + b"\n")
            load.stdin.flush()
        except BrokenPipeError:
            pass
        moved = _feed(rows.stdout, fifo, load)
        if moved < 0:
            rows.kill()
        read = rows.wait() == 0
        rows_err = rows.stderr.read().decode()[-400:]
        try:
            if read and moved >= 0:
                load.stdin.write(b"COMMIT;\n")
            load.stdin.close()
        except BrokenPipeError:
            pass
        load_err = load.stderr.read().decode()[-400:]
        if load.wait() != 0 or moved < 0:
            raise TableError(f"loading {table} into {destination.where()}: {load_err}")
        if not read:
            raise TableError(f"reading {table} on {source.where()}: {rows_err}")
        return moved


def _definition(source: Endpoint, table: str) -> bytes:
    argv = source.argv("mariadb-dump", ["--no-data", "--skip-comments", source.database, table])
    done = subprocess.run(argv, capture_output=True, env=source.env(), timeout=600, check=False)
    if done.returncode != 0:
        raise TableError(
            f"reading {table}'s definition on {source.where()}: {done.stderr.decode()[-400:]}"
        )
    return done.stdout


def _feed(rows: Any, fifo: str, load: subprocess.Popen[bytes]) -> int:
    """Copy rows into fifo once the loading client opens it; bytes copied, or -1 if the client
    ended without opening it (a statement before LOAD DATA failed)."""
    while True:
        try:
            out = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # ENXIO: no reader yet
            if load.poll() is not None:
                rows.close()
                return -1
            time.sleep(0.005)
    os.set_blocking(out, True)
    moved = 0
    try:
        while chunk := rows.read(1 << 16):
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view) :]
            moved += len(chunk)
    except BrokenPipeError:
        return -1
    finally:
        os.close(out)
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
    with ThreadPoolExecutor(max_workers=3) as sums, ThreadPoolExecutor(max_workers=3) as copies:
        quick = sums.submit(source.quick_sums, tables)
        quick_there = sums.submit(destination.quick_sums, there)
        texts = {} if check else sums.submit(_text_columns, source, destination, tables).result()
        created = [
            copies.submit(copy_table, source, destination, t, exists=False, columns=texts.get(t))
            for t in ([] if check else missing)
        ]
        wanted = quick.result()
        differ = _differ(source, destination, there, wanted, quick_there.result())
        if not check:
            created += [
                copies.submit(copy_table, source, destination, t, exists=True, columns=texts.get(t))
                for t in differ
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


def _text_columns(
    source: Endpoint, destination: Endpoint, tables: list[str]
) -> dict[str, list[Column]]:
    """The tables that may be loaded as text (see copy_table): none unless both sides are
    MariaDB and the destination is a server this controller's client reaches (its LOCAL file,
    a FIFO here, is read where the client runs: not on a host reached over SSH, as a rollback
    carries tables home) that takes LOAD DATA LOCAL."""
    if source.engine != MARIADB or destination.engine != MARIADB or destination.ssh:
        return {}
    if not tables:
        return {}
    if destination.query("SELECT @@local_infile").strip() != b"1":
        return {}
    return source.text_columns(tables)


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
