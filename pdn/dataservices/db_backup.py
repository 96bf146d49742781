"""Backups of a site's MariaDB server, with mariadb-backup streamed to the object store of this
site and of the second one, and restore drills of one tenant's database from them.

mariadb-backup copies the whole server (a physical, consistent hot backup): its stream,
compressed by zstd, goes to `mariadb/<stamp>.xbstream.zst` in the platform's database backup
bucket (Object Lock, like every backup), then the table checksums of every tenant database to
`mariadb/<stamp>.json`, written last at every site: a backup without its manifest is
incomplete and never restored. A drill uncompresses and unpacks the latest stream into a scratch
directory, prepares it, starts a scratch server on a socket of its own (no network), and
compares each of the tenant's tables (row count and `CHECKSUM TABLE … EXTENDED`) with what the
manifest recorded at backup time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from pdn.dataservices import backup
from pdn.dataservices.buckets import BucketSpec, ensure_bucket
from pdn.dataservices.errors import DataServiceError

Progress = Callable[[str], None]
DB_BACKUP_BUCKET = "pdn-db-backup"
# The longest lock of any tier (vital: 35 days, COMPLIANCE): a server backup holds them all.
DB_BACKUP_SPEC = BucketSpec(
    DB_BACKUP_BUCKET, object_lock=True, lock_mode="COMPLIANCE", lock_days=35
)
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
START_TIMEOUT = 60
# zstd's default level on every core: a stream of hospital records (393 MiB) was kept as 66 MiB
# at the pace mariadb-backup reads it; each site stores and takes in a fifth of the bytes.
COMPRESS = ("zstd", "-3", "-T0", "-q", "-c")
UNCOMPRESS = ("zstd", "-d", "-q", "-c")


@dataclass(frozen=True)
class MariaDBServer:
    """The local server as its backup reaches it: root over its private socket (as root)."""

    socket: Path


Checksums = dict[str, dict[str, list[int]]]  # database -> table -> [rows, checksum]


def _mariadb(socket: Path, sql: str, *, skip_grants: bool = False) -> list[list[str]]:
    argv = ["mariadb", "--no-defaults", f"--socket={socket}", "--batch", "--skip-column-names"]
    if not skip_grants:
        argv.append("--user=root")
    done = subprocess.run(
        [*argv, "-e", sql], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise DataServiceError(f"mariadb ({socket}): {done.stderr.strip()[-300:]}")
    return [line.split("\t") for line in done.stdout.splitlines() if line]


_IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


def _identifier(name: str) -> str:
    """A schema or table name, quoted into SQL only once it is this plain."""
    if not _IDENTIFIER.match(name):
        raise DataServiceError(f"table or database name {name!r} is not a plain identifier")
    return name


def checksums(socket: Path, databases: list[str] | None = None) -> Checksums:
    """Row count and extended checksum of every table of the databases (default: all but the
    server's own)."""
    names = databases or [
        row[0] for row in _mariadb(socket, "SHOW DATABASES") if row[0] not in SYSTEM_SCHEMAS
    ]
    found: Checksums = {}
    for name in map(_identifier, names):
        tables = [
            _identifier(row[0])
            for row in _mariadb(
                socket,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "  # noqa: S608 (checked name)
                f"'{name}' AND table_type = 'BASE TABLE' ORDER BY table_name",
            )
        ]
        found[name] = {}
        for table in tables:
            count = f"SELECT COUNT(*) FROM `{name}`.`{table}`"  # noqa: S608 (checked names)
            (rows,) = _mariadb(socket, count)
            (check,) = _mariadb(socket, f"CHECKSUM TABLE `{name}`.`{table}` EXTENDED")
            found[name][table] = [int(rows[0]), int(check[1])]
    return found


@dataclass(frozen=True)
class ServerBackup:
    engine: str
    stamp: str
    bytes: int  # the data streamed
    seconds: float
    sites: tuple[str, ...]
    stored: int = 0  # what each site keeps of it (compressed)


def back_up_mariadb(
    server: MariaDBServer, primary: backup.Site, copies: list[backup.Site], progress: Progress
) -> ServerBackup:
    started = time.monotonic()
    run = backup.stamp()
    sites = [primary, *copies]
    for site in sites:
        ensure_bucket(site.s3, DB_BACKUP_SPEC)
    key = f"mariadb/{run}.xbstream.zst"
    with (
        tempfile.TemporaryDirectory(prefix="pdn-mariadb-backup-") as scratch,
        ThreadPoolExecutor(max_workers=len(sites) + 2) as pool,
        (Path(scratch) / "mariadb-backup.log").open("w+b") as log,
        (Path(scratch) / "zstd.log").open("w+b") as packer_log,
    ):
        # Logs go to files: a pipe read only at the end fills up and stalls its writer.
        proc = subprocess.Popen(
            [
                "mariadb-backup",
                "--backup",
                "--stream=xbstream",
                f"--target-dir={scratch}",
                "--user=root",
                f"--socket={server.socket}",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
        )
        packer = subprocess.Popen(
            COMPRESS, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=packer_log
        )
        # The stream is compressed as pgBackRest compresses PostgreSQL's; one read of the
        # compressed stream is uploaded to every site at once through a pipe each; the
        # tables' checksums are taken meanwhile.
        if packer.stdin is None:  # never: a pipe
            raise DataServiceError("zstd has no input")
        streamed = pool.submit(_tee, proc, [packer.stdin])
        pipes = [os.pipe() for _ in sites]
        uploads = [
            pool.submit(_upload_from, site, os.fdopen(read, "rb"), key)
            for site, (read, _) in zip(sites, pipes, strict=True)
        ]
        sums = pool.submit(checksums, server.socket)
        stored = _tee(packer, [os.fdopen(write, "wb") for _, write in pipes])
        count = streamed.result()
        proc.wait(timeout=600)
        packer.wait(timeout=600)
        for upload in uploads:
            upload.result()
        # A compressor that died stopped mariadb-backup (its pipe broke): name the first cause.
        for name, process, output in (("zstd", packer, packer_log), ("mariadb-backup", proc, log)):
            if process.returncode != 0:
                output.seek(0)
                said = output.read().decode(errors="replace").strip()[-400:]
                raise DataServiceError(
                    f"mariadb backup {run} stopped: {name} failed (exit {process.returncode})"
                    f"{': ' + said if said else ''}; no manifest was written, the previous "
                    "backup stays the last complete one"
                )
        tables = sums.result()
    manifest = json.dumps(
        {
            "engine": "mariadb",
            "stamp": run,
            "stream": key,
            "compression": "zstd",
            "bytes": count,
            "stored_bytes": stored,
            "databases": tables,
        },
        indent=1,
    )
    for site in sites:  # last: complete only once the manifest is everywhere
        site.s3.put_object(
            Bucket=DB_BACKUP_BUCKET, Key=f"mariadb/{run}.json", Body=manifest.encode()
        )
    seconds = time.monotonic() - started
    progress(
        f"mariadb: server backup {run}, {count / 2**20:.1f} MiB streamed "
        f"({stored / 2**20:.1f} MiB stored, zstd), at {', '.join(s.name for s in sites)} "
        f"in {seconds:.1f}s"
    )
    return ServerBackup("mariadb", run, count, seconds, tuple(s.name for s in sites), stored)


def _upload_from(site: backup.Site, source: IO[bytes], key: str) -> None:
    with source:
        site.s3.upload_fileobj(source, DB_BACKUP_BUCKET, key)


def _tee(proc: subprocess.Popen[bytes], outputs: list[IO[bytes]]) -> int:
    """Copy the process's output into every output (an upload's pipe, the compressor's input),
    then close them; its size. A reader that is gone (its upload failed, the compressor died)
    stops the process feeding it: it is killed, the error surfaces from the reader."""
    if proc.stdout is None:  # never: stdout is a pipe
        raise DataServiceError(f"{proc.args!r} has no output")
    count = 0
    try:
        while chunk := proc.stdout.read(backup.CHUNK):
            count += len(chunk)
            for out in outputs:
                out.write(chunk)
    except BrokenPipeError:
        proc.kill()
    finally:
        for out in outputs:
            with contextlib.suppress(BrokenPipeError):
                out.close()
    return count


def server_backups(site: backup.Site, engine: str) -> list[str]:
    """The stamps of the complete server backups of engine at site, oldest first."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        keys = backup.current_keys_prefixed(site.s3, DB_BACKUP_BUCKET, f"{engine}/")
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return []
        raise
    return sorted(k.rsplit("/", 1)[-1].removesuffix(".json") for k in keys if k.endswith(".json"))


def server_manifest(site: backup.Site, engine: str, run: str) -> dict[str, Any]:
    body = site.s3.get_object(Bucket=DB_BACKUP_BUCKET, Key=f"{engine}/{run}.json")["Body"]
    loaded: dict[str, Any] = json.loads(body.read())
    return loaded


@dataclass(frozen=True)
class DatabaseDrill:
    engine: str
    database: str
    site: str
    backup: str
    tables: int
    rows: int
    seconds: float
    mismatches: tuple[str, ...]

    @property
    def verified(self) -> bool:
        return not self.mismatches


def _latest(site: backup.Site, database: str) -> tuple[str, dict[str, Any]]:
    """The latest complete server backup at site holding database: its stamp and manifest."""
    runs = server_backups(site, "mariadb")
    if not runs:
        raise DataServiceError(f"no complete mariadb backup at {site.name}: run `pdn backup run`")
    run = runs[-1]
    manifest = server_manifest(site, "mariadb", run)
    if database not in manifest["databases"]:
        raise DataServiceError(f"mariadb backup {run} at {site.name} does not hold {database}")
    return run, manifest


def _unpack(site: backup.Site, manifest: dict[str, Any], data: Path) -> None:
    """The backup's stream from site unpacked into data (uncompressed on the way, unless it
    was made before pdn compressed them: `<stamp>.xbstream`, no stream named)."""
    key = manifest.get("stream", f"mariadb/{manifest['stamp']}.xbstream")
    compressed = manifest.get("compression") == "zstd"
    with (data.parent / "unpack.log").open("w+b") as log:
        unpacker = (
            subprocess.Popen(UNCOMPRESS, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
            if compressed
            else None
        )
        extract = subprocess.Popen(
            ["mbstream", "-x", "-C", str(data)],
            stdin=unpacker.stdout if unpacker else subprocess.PIPE,
            stderr=log,
        )
        feed = unpacker.stdin if unpacker else extract.stdin
        if unpacker is not None and unpacker.stdout is not None:
            unpacker.stdout.close()  # mbstream holds it now: zstd sees a reader that leaves
        if feed is None:  # never: a pipe
            raise DataServiceError("mbstream has no input")
        body = site.s3.get_object(Bucket=DB_BACKUP_BUCKET, Key=key)["Body"]
        try:
            for chunk in backup.chunks(body):
                feed.write(chunk)
        except BrokenPipeError:
            pass  # the unpacker stopped: its exit code says why
        finally:
            with contextlib.suppress(BrokenPipeError):
                feed.close()
        codes = [p.wait(timeout=600) for p in (unpacker, extract) if p is not None]
        if any(codes):
            log.seek(0)
            raise DataServiceError(
                f"could not unpack mariadb backup {key} from {site.name}: "
                f"{log.read().decode(errors='replace').strip()[-300:]}"
            )


@contextlib.contextmanager
def _restored_server(site: backup.Site, manifest: dict[str, Any]) -> Iterator[Path]:
    """The server backup of manifest at site, unpacked, prepared and served by a scratch mariadbd on
    a socket of its own (no network, no grants); yields the socket; all removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="pdn-mariadb-restore-"))
    proc = None
    try:
        data = scratch / "data"
        data.mkdir()
        _unpack(site, manifest, data)
        _run(["mariadb-backup", "--prepare", f"--target-dir={data}"], "mariadb-backup --prepare")
        for path in (scratch, *scratch.rglob("*")):
            shutil.chown(path, "mysql", "mysql")
        socket = scratch / "restore.sock"
        proc = subprocess.Popen(
            [
                "/usr/sbin/mariadbd",
                "--no-defaults",
                "--user=mysql",
                f"--datadir={data}",
                f"--socket={socket}",
                "--skip-networking",  # a socket of its own: nothing reaches it from outside
                "--skip-grant-tables",
                "--skip-log-bin",
                f"--pid-file={scratch / 'restore.pid'}",
                "--innodb-buffer-pool-size=32M",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_socket(socket, proc)
        yield socket
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)


def drill_mariadb(site: backup.Site, database: str, progress: Progress) -> DatabaseDrill:
    """Restore the latest server backup at site into a scratch server and verify database."""
    started = time.monotonic()
    run, manifest = _latest(site, database)
    expected = manifest["databases"][database]
    with _restored_server(site, manifest) as socket:
        got = checksums(socket, [database]).get(database, {})
    result = _compare(
        "mariadb", site, database=database, run=run, checks=(expected, got), started=started
    )
    progress(_drilled(result, run))
    return result


def _compare(
    engine: str,
    site: backup.Site,
    *,
    database: str,
    run: str,
    checks: tuple[dict[str, list[Any]], dict[str, list[Any]]],
    started: float,
) -> DatabaseDrill:
    """The drill's verdict: the tables restored (got) against those recorded (expected)."""
    expected, got = checks
    mismatches = tuple(sorted(t for t in {*expected, *got} if expected.get(t) != got.get(t)))
    return DatabaseDrill(
        engine,
        database,
        site.name,
        run,
        len(expected),
        sum(int(v[0]) for v in expected.values()),
        time.monotonic() - started,
        mismatches,
    )


def _drilled(result: DatabaseDrill, backup_name: str) -> str:
    verdict = "verified" if result.verified else "NOT verified: " + ", ".join(result.mismatches)
    return (
        f"{result.engine} {result.database}: backup {backup_name} from {result.site}: "
        f"{result.tables} table(s), {result.rows} row(s) {verdict} in {result.seconds:.1f}s "
        "(recovery time)"
    )


def restore_mariadb_live(
    site: backup.Site, database: str, live: MariaDBServer, progress: Progress
) -> DatabaseDrill:
    """Put the latest backup of database back on the live server. What it replaces is kept:
    its tables move to `<database>_replaced_<stamp>` (which the tenant's login cannot reach)
    before the backup's are loaded."""
    started = time.monotonic()
    run, manifest = _latest(site, database)
    expected = manifest["databases"][database]
    database = _identifier(database)
    kept = _identifier(f"{database}_replaced_{backup.stamp().replace('.', '')[:15]}")
    with _restored_server(site, manifest) as socket:
        tables = [row[0] for row in _mariadb(live.socket, f"SHOW FULL TABLES FROM `{database}`")]
        _mariadb(live.socket, f"CREATE DATABASE `{kept}`")
        for table in map(_identifier, tables):
            _mariadb(live.socket, f"RENAME TABLE `{database}`.`{table}` TO `{kept}`.`{table}`")
        dump = subprocess.Popen(
            [
                "mariadb-dump",
                "--no-defaults",
                f"--socket={socket}",
                "--single-transaction",
                "--routines",
                "--triggers",
                database,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        load = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={live.socket}", "--user=root", database],
            stdin=dump.stdout,
            capture_output=True,
            timeout=3600,
            check=False,
        )
        _, dump_err = dump.communicate(timeout=60)
        if dump.returncode != 0 or load.returncode != 0:
            raise DataServiceError(
                f"restoring {database}: {(dump_err or load.stderr).decode().strip()[-300:]} "
                f"(the replaced tables are in {kept})"
            )
    got = checksums(live.socket, [database]).get(database, {})
    result = _compare(
        "mariadb", site, database=database, run=run, checks=(expected, got), started=started
    )
    progress(
        f"mariadb {database}: backup {run} from {site.name} restored into the live server in "
        f"{result.seconds:.1f}s ({'verified' if result.verified else 'NOT verified'}); what it "
        f"replaced is kept in {kept}"
    )
    return result


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise DataServiceError(f"{what} failed: {done.stderr.strip()[-400:]}")


def _wait_socket(socket: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DataServiceError(f"the scratch mariadbd exited ({proc.returncode})")
        if socket.exists():
            try:
                _mariadb(socket, "SELECT 1", skip_grants=True)
                return
            except DataServiceError:
                pass
        time.sleep(0.2)
    raise DataServiceError(f"the scratch mariadbd did not answer in {START_TIMEOUT} s")


# PostgreSQL: pgBackRest, one repository per site (repo1 here, repo2 the second site), the WAL
# archived to both continuously. A backup run takes a backup into every repository at once (a
# full one when the repository's last full is a week old or there is none, else an incremental
# one on top of the last: a vital tenant's hourly run does not copy the whole server every hour)
# while it records every database's table checksums, then writes them in
# `postgresql/<run>.json` of the database backup bucket, last, at every site.
FULL_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class PostgreSQLServer:
    """The local server as its backup reaches it: pgBackRest with the DC's configuration, and
    the platform admin's connection for checksums."""

    run_pgbackrest: Callable[..., str]  # (*args) -> stdout, as the server's OS user
    backup_args: Callable[[int], tuple[str, ...]]  # repo -> options of a backup into it
    connect: Callable[[str], Any]  # database -> connection as the platform admin
    libpq_env: Callable[[], dict[str, str]]  # the same, for libpq's tools (TLS verified)


def _pg_checksums(conn: Any) -> dict[str, list[Any]]:
    """table -> [rows, md5 of the rows' md5s in order] for every table of a database."""
    from psycopg import sql  # noqa: PLC0415

    found: dict[str, list[Any]] = {}
    tables = conn.execute(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN "
        "('pg_catalog', 'information_schema') ORDER BY 1, 2"
    ).fetchall()
    for schema, table in tables:
        name = sql.Identifier(schema, table)
        rows, digest = conn.execute(
            sql.SQL(
                "SELECT count(*), "
                "coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') FROM {} t"
            ).format(name)
        ).fetchone()
        found[f"{schema}.{table}"] = [int(rows), str(digest)]
    return found


def pg_database_checksums(server: PostgreSQLServer) -> dict[str, dict[str, list[Any]]]:
    with server.connect("postgres") as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'"
            ).fetchall()
        ]
    found = {}
    for name in names:
        with server.connect(name) as conn:
            found[name] = _pg_checksums(conn)
    return found


def _backup_type(server: PostgreSQLServer, repo: int) -> str:
    """full, or incr when the repository holds a full younger than FULL_EVERY."""
    info = json.loads(server.run_pgbackrest(f"--repo={repo}", "--output=json", "info"))
    fulls = [b for b in (info[0].get("backup") or []) if b.get("type") == "full"] if info else []
    if fulls:
        stopped = datetime.fromtimestamp(int(fulls[-1]["timestamp"]["stop"]), UTC)
        if datetime.now(UTC) - stopped < FULL_EVERY:
            return "incr"
    return "full"


def back_up_postgresql(
    server: PostgreSQLServer, sites: list[backup.Site], progress: Progress
) -> ServerBackup:
    started = time.monotonic()

    def back_up_into(repo: int) -> str:
        kind = _backup_type(server, repo)
        server.run_pgbackrest(*server.backup_args(repo), f"--type={kind}", "backup")
        info = json.loads(server.run_pgbackrest(f"--repo={repo}", "--output=json", "info"))
        return str(info[0]["backup"][-1]["label"])

    # Every site's backup at once (two sites' stores take their copies side by side), and the
    # checksums meanwhile; a site that fails fails the run once all have ended.
    with ThreadPoolExecutor(max_workers=len(sites) + 1) as pool:
        backups = [pool.submit(back_up_into, repo) for repo in range(1, len(sites) + 1)]
        checksums = pool.submit(pg_database_checksums, server)
        labels = [done.result() for done in backups]
        databases = checksums.result()
    run = backup.stamp()
    manifest = json.dumps(
        {
            "engine": "postgresql",
            "stamp": run,
            "labels": {site.name: label for site, label in zip(sites, labels, strict=True)},
            "databases": databases,
        },
        indent=1,
    )
    for site in sites:
        site.s3.put_object(
            Bucket=DB_BACKUP_BUCKET, Key=f"postgresql/{run}.json", Body=manifest.encode()
        )
    seconds = time.monotonic() - started
    progress(
        f"postgresql: server backups {', '.join(labels)} (pgBackRest) at "
        f"{', '.join(s.name for s in sites)} in {seconds:.1f}s"
    )
    return ServerBackup("postgresql", run, 0, seconds, tuple(s.name for s in sites))


def _latest_pg(site: backup.Site, database: str) -> tuple[str, str, dict[str, list[Any]]]:
    """(run, pgBackRest label at site, the database's recorded checksums) of the latest."""
    runs = server_backups(site, "postgresql")
    if not runs:
        raise DataServiceError(
            f"no complete postgresql backup at {site.name}: run `pdn backup run`"
        )
    run = runs[-1]
    manifest = server_manifest(site, "postgresql", run)
    expected = manifest["databases"].get(database)
    if expected is None:
        raise DataServiceError(f"postgresql backup {run} at {site.name} does not hold {database}")
    return run, str(manifest["labels"][site.name]), expected


@contextlib.contextmanager
def _restored_pg(server: PostgreSQLServer, repo: int, label: str) -> Iterator[Path]:
    """Backup `label` of repository `repo` restored into a scratch directory and recovered to
    its end, served by a scratch postgres on a socket of its own (no network, no archiving, so
    it never writes into the live repository); yields the socket's directory."""
    import psycopg  # noqa: PLC0415

    scratch = Path(tempfile.mkdtemp(prefix="pdn-pg-restore-"))
    proc = None
    try:
        data = scratch / "data"
        shutil.chown(scratch, "postgres", "postgres")
        server.run_pgbackrest(
            f"--repo={repo}",
            f"--set={label}",
            f"--pg1-path={data}",
            "--type=immediate",
            "--target-action=promote",
            "--archive-mode=off",
            "restore",
        )
        hba = scratch / "hba.conf"
        hba.write_text("local all all trust\n")  # the socket dir is postgres's alone
        shutil.chown(hba, "postgres", "postgres")
        proc = subprocess.Popen(
            [
                "/usr/lib/postgresql/15/bin/postgres",
                f"-D{data}",
                "-clisten_addresses=",
                f"-cunix_socket_directories={scratch}",
                f"-chba_file={hba}",
                "-cport=5432",
                "-carchive_mode=off",
                "-cssl=off",
                "-cshared_buffers=32MB",
            ],
            user="postgres",
            group="postgres",
            extra_groups=[],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_pg(scratch, proc, psycopg)
        yield scratch
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch_checksums(scratch: Path, database: str) -> dict[str, list[Any]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(
        host=str(scratch), port=5432, user="pdn_admin", dbname=database, autocommit=True
    ) as conn:
        return _pg_checksums(conn)


def drill_postgresql(
    server: PostgreSQLServer,
    site: backup.Site,
    repo: int,
    database: str,
    progress: Progress,
) -> DatabaseDrill:
    """Restore the latest backup in repository `repo` (site's) into a scratch server and
    compare the tenant database's tables with the manifest recorded at backup time."""
    started = time.monotonic()
    run, label, expected = _latest_pg(site, database)
    with _restored_pg(server, repo, label) as scratch:
        got = _scratch_checksums(scratch, database)
    result = _compare(
        "postgresql", site, database=database, run=run, checks=(expected, got), started=started
    )
    progress(_drilled(result, label))
    return result


def restore_postgresql_live(
    server: PostgreSQLServer,
    site: backup.Site,
    repo: int,
    database: str,
    progress: Progress,
) -> DatabaseDrill:
    """Put the latest backup of database back on the live server: restored into a scratch
    server, dumped from it, loaded into a new database of the same name and owner. What it
    replaces is kept: the live database is renamed `<database>_replaced_<stamp>` first (its
    sessions ended), owned by the platform admin, out of the tenant's reach."""
    from psycopg import sql  # noqa: PLC0415

    started = time.monotonic()
    run, label, expected = _latest_pg(site, database)
    owner = f"{database}_owner"
    kept = f"{database}_replaced_{backup.stamp().replace('.', '')[:15].lower()}"
    with _restored_pg(server, repo, label) as scratch:
        dump = scratch / "tenant.dump"
        _run(
            [
                "pg_dump",
                "-Fc",
                f"--host={scratch}",
                "--port=5432",
                "--username=pdn_admin",
                f"--file={dump}",
                database,
            ],
            "pg_dump of the restored database",
        )
        with server.connect("postgres") as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(database), sql.Identifier(kept)
                )
            )
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO CURRENT_USER").format(sql.Identifier(kept))
            )
            conn.execute(
                sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC, {}").format(
                    sql.Identifier(kept), sql.Identifier(owner)
                )
            )
        with server.connect(kept) as inside:  # its tables too: the platform's, not the tenant's
            inside.execute(
                sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(owner))
            )
        with server.connect("postgres") as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                    sql.Identifier(database), sql.Identifier(owner)
                )
            )
            conn.execute(
                sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                    sql.Identifier(database)
                )
            )
        load = subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                f"--role={owner}",
                "--exit-on-error",
                f"--dbname={database}",
                str(dump),
            ],
            env={**os.environ, **server.libpq_env()},
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        if load.returncode != 0:
            raise DataServiceError(
                f"pg_restore into {database}: {load.stderr.strip()[-300:]} (the replaced "
                f"database is {kept})"
            )
    with server.connect(database) as conn:
        got = _pg_checksums(conn)
    result = _compare(
        "postgresql", site, database=database, run=run, checks=(expected, got), started=started
    )
    progress(
        f"postgresql {database}: backup {label} from {site.name} restored into the live server "
        f"in {result.seconds:.1f}s ({'verified' if result.verified else 'NOT verified'}); what "
        f"it replaced is kept as database {kept}"
    )
    return result


def _wait_pg(scratch: Path, proc: subprocess.Popen[bytes], psycopg: Any) -> None:
    """Until the scratch server has recovered and accepts connections."""
    deadline = time.monotonic() + START_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DataServiceError(f"the scratch postgres exited ({proc.returncode})")
        try:
            with psycopg.connect(
                host=str(scratch), port=5432, user="pdn_admin", dbname="postgres", autocommit=True
            ) as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return
        except Exception as err:  # not up yet
            last = err
        time.sleep(0.3)
    raise DataServiceError(f"the scratch postgres did not open in {START_TIMEOUT} s: {last}")
