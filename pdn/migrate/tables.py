"""A database's tables seen from the migration controller, on either side of a move: an agency
host's server over SSH (through its local socket, as its administrator) or a DBaaS server over
TLS (as the tenant's own login). Used by the database_sync module (which runs on the controller
with pdn's Python) and by `pdn migrate verify`.

A table's checksum is an order-free sum of one SHA-256 per row, each row as the same engine's
client prints it, so both sides of one engine compare whatever order rows come back in.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Any

MODULUS = 2**256
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
            args = ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.database, "-c", sql]
            argv = self.argv("psql", args)
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

    def checksum(self, table: str) -> TableSum:
        if self.engine == MARIADB:
            sql = f"SELECT * FROM `{table}`"  # noqa: S608 (a name the server listed)
        else:
            sql = f'SELECT md5(t::text) FROM public."{table}" t'  # noqa: S608
        total, rows = 0, 0
        for line in self.query(sql).split(b"\n"):
            if line:
                rows += 1
                total = (total + int.from_bytes(hashlib.sha256(line).digest(), "big")) % MODULUS
        return TableSum(rows, f"{total:064x}")

    def checksums(self) -> dict[str, TableSum]:
        return {t: self.checksum(t) for t in self.tables()}

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
