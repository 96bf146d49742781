"""The local DC's database servers (DBaaS): PostgreSQL 15 and MariaDB 10.11 from Debian's
packages (pdn.dc.packages), each its own instance on loopback, TLS only, with a certificate from
the DC's CA, as the site's database service answers in production.

- Data lives in settings.database_dir (under /var/lib/pdn), owned by the server's own
  unprivileged user: PostgreSQL refuses to run as root, and the DC's state dir sits in root's
  home where those users cannot reach.
- The platform's admin on each (`pdn_admin`, a generated password kept owner-only in the DC's
  state) reaches it over TLS with a password; nothing listens on a unix socket for others, and
  a plain-TCP login is refused (pg_hba `hostnossl … reject`; MariaDB
  `require_secure_transport`).
"""

from __future__ import annotations

import hashlib
import json
import pwd
import secrets
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pdn.dataservices import sql
from pdn.dataservices.sql import MARIADB, POSTGRESQL, Server
from pdn.dc import passwords, pki
from pdn.dc.errors import DCError
from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings
from pdn.files import private_dir, write_private

NAMES = (POSTGRESQL, MARIADB)
ADMIN = "pdn_admin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVICE_USER = {POSTGRESQL: "postgres", MARIADB: "mysql"}
CERT_FILE = "databases"
PG_HBA = (
    "# pdn: TLS and a password, from loopback; anything else is refused. The one exception:\n"
    "# pgBackRest, run as the OS user postgres, as pdn_admin on the server's private socket\n"
    "# (its directory is postgres's alone).\n"
    "local all pdn_admin peer map=pdn-backup\n"
    "hostssl all all 127.0.0.1/32 scram-sha-256\n"
    "hostnossl all all 0.0.0.0/0 reject\n"
)
PG_IDENT = "pdn-backup postgres pdn_admin\n"
STANZA = "pdn"
DB_BACKUP_BUCKET = "pdn-db-backup"


@dataclass(frozen=True)
class BackupRepository:
    """An object store pgBackRest writes PostgreSQL's backups and WAL to (one per site)."""

    host: str
    port: int
    access_key: str
    secret_key: str


def pgbackrest_conf(settings: DCSettings) -> Path:
    return settings.database_dir / POSTGRESQL / "pgbackrest.conf"


def _pgbackrest_conf_text(settings: DCSettings, repos: list[BackupRepository]) -> str:
    pg = settings.database_dir / POSTGRESQL
    lines = ["[global]"]
    for n, repo in enumerate(repos, start=1):
        lines += [
            f"repo{n}-type=s3",
            f"repo{n}-path=/postgresql",
            f"repo{n}-s3-bucket={DB_BACKUP_BUCKET}",
            f"repo{n}-s3-endpoint={repo.host}",
            f"repo{n}-storage-port={repo.port}",
            f"repo{n}-s3-region=id-pdn-1",
            f"repo{n}-s3-key={repo.access_key}",
            f"repo{n}-s3-key-secret={repo.secret_key}",
            f"repo{n}-s3-uri-style=path",
            # TLS only (pgBackRest speaks nothing else to S3), verified against the DC's CA.
            f"repo{n}-storage-ca-file={pg / 'ca.crt'}",
            # Fulls (and what depends on them) kept as long as the longest tier keeps its
            # backups (vital: 35 days), whatever the number of runs in between.
            f"repo{n}-retention-full-type=time",
            f"repo{n}-retention-full=35",
        ]
    lines += [
        "process-max=2",
        "compress-type=lz4",
        "start-fast=y",
        "archive-check=y",
        # A store that does not answer fails a WAL push in seconds, not minutes: the server
        # retries it, and its shutdown is not held up by an archiver waiting on a dead store.
        "io-timeout=15",
        "archive-timeout=30",
        f"log-path={pg / 'pgbackrest' / 'log'}",
        f"lock-path={pg / 'pgbackrest' / 'lock'}",
        f"spool-path={pg / 'pgbackrest' / 'spool'}",
        "log-level-console=warn",
        "log-level-file=info",
        "",
        f"[{STANZA}]",
        f"pg1-path={pg / 'data'}",
        f"pg1-port={settings.ports.postgresql}",
        f"pg1-socket-path={pg / 'run'}",
        f"pg1-user={ADMIN}",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class DatabaseAccess:
    """The platform admin's login on one server."""

    server: Server
    user: str
    password: str


def _admins_file(settings: DCSettings) -> Path:
    return settings.root / "databases" / "admins.json"


def _admins(settings: DCSettings) -> dict[str, str]:
    """Each engine's admin password, made once, owner-only (root)."""
    return passwords.kept(_admins_file(settings), NAMES)


def server(settings: DCSettings, engine: str, ca: Path) -> Server:
    """The server as its clients see it; ca: the DC's CA certificate."""
    port = settings.ports.postgresql if engine == POSTGRESQL else settings.ports.mariadb
    return Server(engine, settings.listen_host, port, ca.read_text())


def admin_access(settings: DCSettings, engine: str, ca: Path) -> DatabaseAccess:
    path = _admins_file(settings)
    try:
        password = json.loads(path.read_text())[engine]
    except (OSError, ValueError, KeyError) as err:
        raise DCError(f"{path}: no {engine} admin password ({err}): run `pdn dc up`") from err
    return DatabaseAccess(server(settings, engine, ca), ADMIN, password)


def _problem(settings: DCSettings, engine: str, ca: Path) -> str | None:
    access = admin_access(settings, engine, ca)
    return sql.problem(access.server, access.user, access.password)


def _owned_dir(path: Path, user: str) -> Path:
    """path, owner-only, owned by user (made if missing)."""
    private_dir(path)
    entry = pwd.getpwnam(user)
    shutil.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def _owned_file(path: Path, content: str | bytes, user: str) -> None:
    """path with content, owner-only, owned by user; left alone when it already is (every
    `dc up` calls this for each file: a healthy DC's is not rewritten)."""
    data = content.encode() if isinstance(content, str) else content
    entry = pwd.getpwnam(user)
    try:
        current = path.stat()
        same = (current.st_uid, current.st_gid) == (entry.pw_uid, entry.pw_gid)
        if same and stat.S_IMODE(current.st_mode) == 0o600 and path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    write_private(path, data)
    shutil.chown(path, entry.pw_uid, entry.pw_gid)


def claim_data(settings: DCSettings) -> Path | None:
    """Bind the servers' data directory (outside the state root) to this DC's state: an id
    kept in both. Data a DC left whose state is gone (its state directory removed, then made
    again at the same path) does not open with this state's admin passwords: it is moved
    aside, never deleted, and where to is returned. Data made before the id existed is taken
    as this state's unless the state is new."""
    mine = settings.root / "databases" / "dc-id"
    new_state = not _admins_file(settings).exists()
    if not mine.is_file():
        write_private(mine, secrets.token_hex(16) + "\n")
    ident = mine.read_text().strip()
    root = settings.database_dir
    theirs = root / "dc-id"
    moved = None
    if root.is_dir() and any(root.iterdir()):
        found = theirs.read_text().strip() if theirs.is_file() else None
        if found != ident and (found is not None or new_state):
            if running := _servers_on(root):
                raise DCError(
                    f"{root} holds database data of a DC whose state is gone, and its servers "
                    f"still run (pid {', '.join(map(str, running))}): stop them (kill PID), "
                    "then run `pdn dc up` again"
                )
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            moved = root.with_name(f"{root.name}.orphaned-{stamp}")
            root.rename(moved)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # each server's own directory in it is 0700
    theirs.write_text(ident + "\n")  # not a secret; the directory stays readable to the servers
    return moved


def _servers_on(root: Path) -> list[int]:
    """The processes whose command line names a path under root (its database servers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(root).encode() + b"/" in cmdline:
                found.append(int(entry.name))
    return sorted(found)


def ensure_files(
    settings: DCSettings, ca: pki.KeyPair, repos: list[BackupRepository] | None = None
) -> Path | None:
    """Each server's data directory (initialised once), its certificate and key (owned by the
    server's user), its access rules and the admin login; pgBackRest's configuration with the
    backup repositories (owner-only: it holds their keys). Returns where data left by a DC
    whose state is gone was moved (claim_data), if it was."""
    gateway_address = str(settings.host_network.network_address + 1)
    cert = pki.ensure_cert(
        settings.pki_dir,
        ca,
        pki.CertSpec(
            CERT_FILE,
            "pdn databases",
            # The PDN hosts reach the servers at their network's gateway (pdn.dc.gateway).
            dns_names=("localhost", "127.0.0.1", gateway_address),
            ip_addresses=("127.0.0.1", gateway_address),
            server=True,
        ),
    )
    moved = claim_data(settings)  # before the passwords: a new state is told by their absence
    passwords = _admins(settings)
    root = settings.database_dir
    for name in NAMES:
        user = SERVICE_USER[name]
        home = _owned_dir(root / name, user)
        _owned_file(home / "server.crt", cert.cert.read_bytes(), user)
        _owned_file(home / "server.key", cert.key.read_bytes(), user)
        _owned_file(home / "ca.crt", ca.cert.read_bytes(), user)
    _init_postgresql(root / POSTGRESQL, passwords[POSTGRESQL])
    pg = root / POSTGRESQL
    subs = ["run", "pgbackrest", "pgbackrest/log", "pgbackrest/lock", "pgbackrest/spool"]
    subs += [f"pgbackrest/lock/repo{n}" for n in range(1, len(repos or []) + 1)]
    for sub in subs:
        _owned_dir(pg / sub, SERVICE_USER[POSTGRESQL])
    _owned_file(pgbackrest_conf(settings), _pgbackrest_conf_text(settings, repos or []), "postgres")
    _init_mariadb(root / MARIADB, passwords[MARIADB])
    return moved


def _run_as(user: str, argv: list[str], what: str, timeout: float = 120) -> str:
    """Run argv as user (its own group only); its stdout, or DCError saying what failed."""
    entry = pwd.getpwnam(user)
    try:
        done = subprocess.run(
            argv,
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
            cwd="/",
        )
    except subprocess.TimeoutExpired as err:
        raise DCError(f"{what}: did not finish in {timeout:.0f} s") from err
    if done.returncode != 0:
        raise DCError(
            f"{what} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}"
        )
    return done.stdout


def _init_postgresql(home: Path, password: str) -> None:
    user = SERVICE_USER[POSTGRESQL]
    _owned_file(home / "pg_hba.conf", PG_HBA, user)
    _owned_file(home / "pg_ident.conf", PG_IDENT, user)
    data = home / "data"
    if (data / "PG_VERSION").is_file():
        return
    shutil.rmtree(data, ignore_errors=True)  # a half-made one from an interrupted first run
    pwfile = home / ".initdb-password"
    _owned_file(pwfile, password, user)
    try:
        _run_as(
            user,
            [
                str(PG_BIN / "initdb"),
                f"--pgdata={data}",
                f"--username={ADMIN}",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--data-checksums",  # pgBackRest verifies pages with them
            ],
            "initdb (PostgreSQL)",
        )
    finally:
        pwfile.unlink(missing_ok=True)


def _init_mariadb(home: Path, password: str) -> None:
    user = SERVICE_USER[MARIADB]
    # Run at every start: the admin exists with this password, over TLS only. The file holds
    # the password, owner-only (mysql), like the store's key file.
    sql = (
        f"CREATE USER IF NOT EXISTS '{ADMIN}'@'127.0.0.1' IDENTIFIED BY '{password}' "
        "REQUIRE SSL;\n"
        f"ALTER USER '{ADMIN}'@'127.0.0.1' IDENTIFIED BY '{password}' REQUIRE SSL;\n"
        f"GRANT ALL PRIVILEGES ON *.* TO '{ADMIN}'@'127.0.0.1' WITH GRANT OPTION;\n"
    )
    _owned_file(home / "init.sql", sql, user)
    data = home / "data"
    if (data / "mysql").is_dir():
        return
    shutil.rmtree(data, ignore_errors=True)
    _run_as(
        user,
        [
            "/usr/bin/mariadb-install-db",
            "--no-defaults",
            f"--datadir={data}",
            "--skip-test-db",  # else a `test` database anyone may write
            "--auth-root-authentication-method=socket",
            f"--user={user}",
        ],
        "mariadb-install-db",
    )


def process_specs(settings: DCSettings, ca: Path) -> list[ProcessSpec]:
    """The two servers; ca: the DC's CA certificate (for their probes)."""
    home = settings.database_dir
    host, p = settings.listen_host, settings.ports
    pg, maria = home / POSTGRESQL, home / MARIADB
    postgresql = ProcessSpec(
        POSTGRESQL,
        (
            str(PG_BIN / "postgres"),
            f"-D{pg / 'data'}",
            f"-clisten_addresses={host}",
            f"-cport={p.postgresql}",
            # Clients: TCP with TLS only. The socket is for pgBackRest, in postgres's own dir.
            f"-cunix_socket_directories={pg / 'run'}",
            f"-chba_file={pg / 'pg_hba.conf'}",
            f"-cident_file={pg / 'pg_ident.conf'}",
            "-carchive_mode=on",
            f"-carchive_command=pgbackrest --config={pgbackrest_conf(settings)} "
            f"--stanza={STANZA} archive-push %p",
            "-carchive_timeout=300",
            "-cssl=on",
            f"-cssl_cert_file={pg / 'server.crt'}",
            f"-cssl_key_file={pg / 'server.key'}",
            "-cssl_min_protocol_version=TLSv1.2",
            "-cpassword_encryption=scram-sha-256",
            "-cshared_buffers=64MB",
            "-clogging_collector=off",  # to stderr: the DC's log of it
        ),
        (p.postgresql,),
        lambda: _problem(settings, POSTGRESQL, ca),
        cwd=pg,
        user=SERVICE_USER[POSTGRESQL],
    )
    mariadb = ProcessSpec(
        MARIADB,
        (
            "/usr/sbin/mariadbd",
            "--no-defaults",  # not /etc/mysql: this instance's settings are all here
            "--basedir=/usr",
            f"--datadir={maria / 'data'}",
            f"--bind-address={host}",
            f"--port={p.mariadb}",
            f"--socket={maria / 'mariadbd.sock'}",
            f"--pid-file={maria / 'mariadbd.pid'}",
            f"--init-file={maria / 'init.sql'}",
            f"--ssl-cert={maria / 'server.crt'}",
            f"--ssl-key={maria / 'server.key'}",
            f"--ssl-ca={maria / 'ca.crt'}",
            "--require-secure-transport=ON",
            "--tls-version=TLSv1.2,TLSv1.3",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=64M",
            "--log-bin=mariadb-bin",  # point-in-time recovery and mariadb-backup's position
            "--server-id=1",
        ),
        (p.mariadb,),
        lambda: _problem(settings, MARIADB, ca),
        cwd=maria,
        user=SERVICE_USER[MARIADB],
    )
    return [postgresql, mariadb]


def repo_database(repo: int) -> str:
    """The database a backup into repo connects to (see backup_args)."""
    return "postgres" if repo == 1 else f"pdn_backup_repo{repo}"


def backup_args(settings: DCSettings, repo: int) -> tuple[str, ...]:
    """pgBackRest's options for a backup into repo that may run beside the other sites'.
    pgBackRest 2.45 allows one backup per stanza: a lock file, and an advisory lock taken in
    the database it connects to. PostgreSQL since 9.6 runs non-exclusive backups side by side,
    and pgBackRest 2.53 locks per stanza and repository and no longer takes the advisory lock
    (pgbackrest/pgbackrest#2389); here each repository gets its own lock directory and its own
    connection database, which is the same: a second backup into one repository is still
    refused, two into two run at once."""
    lock = settings.database_dir / POSTGRESQL / "pgbackrest" / "lock" / f"repo{repo}"
    return (f"--repo={repo}", f"--lock-path={lock}", f"--pg1-database={repo_database(repo)}")


def run_pgbackrest(settings: DCSettings, *args: str, timeout: float = 3600) -> str:
    """pgBackRest with this DC's configuration, as postgres (it reads the data directory)."""
    argv = ["pgbackrest", f"--config={pgbackrest_conf(settings)}", f"--stanza={STANZA}", *args]
    return _run_as(SERVICE_USER[POSTGRESQL], argv, f"`pgbackrest {' '.join(args)}`", timeout)


def ensure_backup_repository(
    settings: DCSettings, ca: Path, s3_clients: Callable[[], list[Any]]
) -> None:
    """The database backup bucket on every site's store (Object Lock, made once), pgBackRest's
    stanza in it (idempotent), so WAL archiving works from the first minute, and each further
    repository's connection database (see backup_args); ca: the DC's CA certificate."""
    from pdn.dataservices.buckets import BucketSpec, ensure_bucket  # noqa: PLC0415

    # Done once per configuration (a healthy DC's `dc up` stays fast); a new repository or key
    # changes the configuration and runs it again.
    conf = pgbackrest_conf(settings)
    marker = conf.with_name("stanza.done")
    # The salt: a DC set up before the repositories' own databases makes them once.
    digest = hashlib.sha256(conf.read_bytes() + b"repo databases").hexdigest()
    if marker.is_file() and marker.read_text() == digest:
        return
    spec = BucketSpec(DB_BACKUP_BUCKET, object_lock=True, lock_mode="COMPLIANCE", lock_days=35)
    clients = s3_clients()  # made only when there is work: boto3 is slow to start
    for s3 in clients:
        ensure_bucket(s3, spec)
    run_pgbackrest(settings, "stanza-create", timeout=300)
    for repo in range(2, len(clients) + 1):
        _ensure_repo_database(settings, ca, repo_database(repo))
    write_private(marker, digest)


def _ensure_repo_database(settings: DCSettings, ca: Path, name: str) -> None:
    """An empty database for a repository's backups to connect to, made once."""
    from psycopg import sql as pgsql  # noqa: PLC0415

    from pdn.dataservices import sql  # noqa: PLC0415

    access = admin_access(settings, POSTGRESQL, ca)
    with sql.connect(access.server, access.user, access.password) as conn:
        made = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if made.fetchone() is None:
            conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))


def purge(settings: DCSettings) -> None:
    shutil.rmtree(settings.database_dir, ignore_errors=True)
