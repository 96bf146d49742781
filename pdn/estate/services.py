"""What each estate host runs, written into its root before it boots: the init script that
starts its services (no systemd: plain processes, as a host without an init system would), the
servers' settings, the application with its configuration, uploads and cron job, the file share,
and the seed data loaded on first boot.

Applications are written the way agency applications are: their database's address and
password in a PHP file, uploads beside the code, a cron job for housekeeping. That is what
discovery and assessment have to find.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import yaml

from pdn import paths
from pdn.estate import mirror, seed
from pdn.estate.errors import EstateError
from pdn.estate.model import App, Estate, Host, Room, ServiceKind

INIT = "/usr/local/sbin/pdn-host-init"
STATE = "/var/lib/pdn-host"  # the host's own bookkeeping: ready marker, seeded markers
SHARE_USER = "arsip"


def _write(root: Path, path: str, text: str | bytes, mode: int = 0o644) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():  # an absolute link would lead out of the host's root
        target.unlink()
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text)
    target.chmod(mode)


def chroot(root: Path, *argv: str) -> None:
    done = subprocess.run(
        ["chroot", str(root), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise EstateError(f"in {root}: `{' '.join(argv)}` failed: {done.stderr.strip()[-300:]}")


def _app_password(root: Path, app: str) -> str:
    """The app's database password: made once per host, kept in the host (like agencies do)."""
    kept = root / STATE.lstrip("/") / f"{app}.password"
    if kept.is_file():
        return kept.read_text().strip()
    password = secrets.token_urlsafe(18)
    _write(root, f"{STATE}/{app}.password", password + "\n", 0o600)
    return password


def _listens_for_others(room: Room, host: Host, engine: ServiceKind) -> bool:
    return any(
        h.app is not None
        and h.app.database_host == host.name
        and h.app.engine is engine
        and h.name != host.name
        for h in room.hosts
    )


ROLES = paths.REPO_ROOT / "playbooks/roles"
SSH_PORT = 22
SERVICE_PORTS = {ServiceKind.WEB: 80, ServiceKind.MARIADB: 3306, ServiceKind.POSTGRESQL: 5432}


# rsyslog's kernel log input, off: the hosts share this machine's kernel, whose log is not theirs.
KERNEL_LOG = re.compile(r'^module\(load="imklog"\)', re.MULTILINE)
KERNEL_LOG_OFF = '# off in pdn\'s hosts (one kernel for all): module(load="imklog")'


TIME_SERVER_CONFIG = "/etc/chrony/pdn-time-server.conf"


def time_server(estate: Estate) -> ipaddress.IPv4Address:
    """Where the estate's hosts keep time: its first room's gateway (pdn.estate.hosts runs the
    server there). Hosts of other rooms reach it through their own gateway."""
    return estate.rooms[0].gateway


def mirror_address(estate: Estate) -> ipaddress.IPv4Address:
    """Where the estate's package mirror is served (pdn.estate.hosts runs it): beside the time
    server, on the first room's gateway."""
    return estate.rooms[0].gateway


def mirror_url(estate: Estate) -> str:
    return mirror.url(mirror_address(estate))


def prepare_time_server(estate: Estate, root: Path) -> None:
    """The time server's configuration: this machine's clock served to the estate's rooms only,
    at stratum 8 (a local clock, not a reference), with no command socket."""
    _write(
        root,
        TIME_SERVER_CONFIG,
        "\n".join(
            [
                f"# pdn: the time server of estate {estate.name}'s hosts (run with -x: it never",
                "# sets this machine's clock, it serves it).",
                f"bindaddress {time_server(estate)}",
                *[f"allow {room.network}" for room in estate.rooms],
                "local stratum 8",
                "bindcmdaddress /",
                "cmdport 0",
                "pidfile /run/chronyd.pid",
            ]
        )
        + "\n",
    )


def firewall_ports(room: Room, host: Host) -> tuple[int, ...]:
    """The TCP ports the host's firewall lets in: SSH (also the file shares' SFTP), the web, and
    a database only where another host of the room uses it."""
    if host.firewall is not None:
        return tuple(sorted({SSH_PORT, *host.firewall}))
    ports = {SSH_PORT}
    if ServiceKind.WEB in host.services:
        ports.add(SERVICE_PORTS[ServiceKind.WEB])
    for engine in (ServiceKind.MARIADB, ServiceKind.POSTGRESQL):
        if engine in host.services and _listens_for_others(room, host, engine):
            ports.add(SERVICE_PORTS[engine])
    return tuple(sorted(ports))


@functools.cache
def _template(role: str, template: str) -> tuple[dict[str, Any], jinja2.Template]:
    """A compliance role's defaults and template, read once per process (every host renders
    them)."""
    base = ROLES / role
    defaults = yaml.safe_load((base / "defaults/main.yml").read_text())
    loaded = jinja2.Template(
        (base / "templates" / template).read_text(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,  # as Ansible's template module
    )
    return defaults, loaded


def _render(role: str, template: str, variables: dict[str, Any]) -> str:
    """A compliance role's template rendered with its defaults and variables: a host is made
    with the file that `pdn comply run --fix` would put back."""
    defaults, loaded = _template(role, template)
    return str(loaded.render({**defaults, **variables}))


def firewall_ruleset(ports: tuple[int, ...]) -> str:
    """The nftables ruleset a host boots with (the comply_firewall role's)."""
    return _render(
        "comply_firewall", "nftables.conf.j2", {"comply_firewall_tcp_ports": list(ports)}
    )


def chrony_config(estate: Estate) -> str:
    """The host's chrony configuration (the comply_time role's): its estate's time server."""
    return _render(
        "comply_time", "chrony.conf.j2", {"comply_time_servers": [str(time_server(estate))]}
    )


def apt_sources(estate: Estate) -> str:
    """The host's apt sources (the comply_packages role's): its estate's mirror, and no other."""
    mirrors = [mirror_url(estate)]
    return _render("comply_packages", "pdn-mirror.sources.j2", {"comply_packages_mirrors": mirrors})


def _write_apt_sources(estate: Estate, root: Path, mirror_keyring: bytes) -> None:
    defaults, _ = _template("comply_packages", "pdn-mirror.sources.j2")
    _write(root, defaults["comply_packages_sources"], apt_sources(estate))
    _write(root, "/etc/apt/sources.list", defaults["comply_packages_sources_list_text"])
    _write(root, defaults["comply_packages_keyring"], mirror_keyring)


def prepare(  # noqa: PLR0917 (one call site)
    estate: Estate, room: Room, host: Host, root: Path, public_key: str, mirror_keyring: bytes
) -> None:
    """Write the host's own files into its (overlay) root, apt trusting mirror_keyring (the
    estate's mirror's key); idempotent."""
    _write(root, "/etc/hostname", f"{host.name}\n")
    _write(
        root,
        "/etc/hosts",
        "127.0.0.1 localhost\n"
        + "".join(f"{h.address} {h.name}\n" for h in room.hosts)
        + "::1 localhost ip6-localhost ip6-loopback\n",
    )
    _write(root, "/etc/resolv.conf", "# no resolver: an agency room without DNS\n")
    _write(root, "/etc/nftables.conf", firewall_ruleset(firewall_ports(room, host)), 0o755)
    _write(root, "/etc/chrony/chrony.conf", chrony_config(estate))
    _write_apt_sources(estate, root, mirror_keyring)
    rsyslog = (root / "etc/rsyslog.conf").read_text()
    _write(root, "/etc/rsyslog.conf", KERNEL_LOG.sub(KERNEL_LOG_OFF, rsyslog))
    (root / "root/.ssh").mkdir(mode=0o700, parents=True, exist_ok=True)
    (root / "root/.ssh").chmod(0o700)
    _write(root, "/root/.ssh/authorized_keys", public_key, 0o600)
    if not (root / "etc/ssh/ssh_host_ed25519_key").exists():
        chroot(root, "ssh-keygen", "-A")  # its own host keys, not the shared root's
    _write(
        root,
        "/etc/ssh/sshd_config.d/pdn-estate.conf",
        "PasswordAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n",
    )
    lines = [
        "#!/bin/bash",
        "# The host's services, started as a host without systemd would; PID 1 of its namespace.",
        "# A step that fails ends it, and with it the host: `pdn estate up` shows the log.",
        "set -eu",
        "cd /",
        # The firewall first, as Debian's nftables unit loads it before the network is up.
        "/usr/sbin/nft -f /etc/nftables.conf",
        f"mkdir -p /run/sshd {STATE} /var/log/pdn-host",
        # The system log before sshd: its logins go to /var/log/auth.log, as on any Debian host.
        "/usr/sbin/rsyslogd -n &",
        "/usr/sbin/sshd -D >>/var/log/pdn-host/sshd.log 2>&1 &",
        # Time, tracked but never set (-x): every host shares this machine's one clock.
        "/usr/sbin/chronyd -n -x >>/var/log/pdn-host/chronyd.log 2>&1 &",
    ]
    for database in host.databases:
        _write(root, f"{STATE}/seed/{database}.sql", seed.schema_sql(database))
    grants = _grants(room, host, root)
    if ServiceKind.MARIADB in host.services:
        others = _listens_for_others(room, host, ServiceKind.MARIADB)
        bind = "0.0.0.0" if others else "127.0.0.1"  # noqa: S104 (the room's apps reach it)
        _write(root, f"{STATE}/seed/mariadb-grants.sql", grants[ServiceKind.MARIADB])
        lines += [
            "install -d -o mysql -g mysql /run/mysqld",
            f"/usr/sbin/mariadbd --user=mysql --bind-address={bind} "
            ">>/var/log/pdn-host/mariadb.log 2>&1 &",
            "for _ in $(seq 100); do [ -S /run/mysqld/mysqld.sock ] && break; sleep 0.1; done",
            *[
                f"[ -e {STATE}/seeded-{d} ] || {{ mariadb -e 'CREATE DATABASE {d}' && "
                f"mariadb {d} < {STATE}/seed/{d}.sql && touch {STATE}/seeded-{d}; }}"
                for d in host.databases
                if seed.DATABASES[d].engine is ServiceKind.MARIADB
            ],
            f"mariadb < {STATE}/seed/mariadb-grants.sql",
        ]
    if ServiceKind.POSTGRESQL in host.services:
        listen = "*" if _listens_for_others(room, host, ServiceKind.POSTGRESQL) else "127.0.0.1"
        _write(
            root,
            "/etc/postgresql/15/main/conf.d/pdn-estate.conf",
            f"listen_addresses = '{listen}'\n",
        )
        hba = root / "etc/postgresql/15/main/pg_hba.conf"
        line = f"host all all {room.network} scram-sha-256\n"
        if line not in hba.read_text():
            hba.write_text(hba.read_text() + line)
        _write(root, f"{STATE}/seed/postgresql-grants.sql", grants[ServiceKind.POSTGRESQL])
        psql = "su postgres -c"
        lines += [
            "install -d -o postgres -g postgres -m 2775 /run/postgresql",
            f"{psql} '/usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/postgresql/15/main "
            '-o "-c config_file=/etc/postgresql/15/main/postgresql.conf" '
            "-l /var/log/postgresql/postgresql-15-main.log -w start' >/dev/null",
            *[
                f"[ -e {STATE}/seeded-{d} ] || {{ {psql} 'createdb {d}' && "
                f"{psql} 'psql -q -v ON_ERROR_STOP=1 -d {d} -f {STATE}/seed/{d}.sql' "
                f">/dev/null && touch {STATE}/seeded-{d}; }}"
                for d in host.databases
                if seed.DATABASES[d].engine is ServiceKind.POSTGRESQL
            ],
            f"{psql} 'psql -q -v ON_ERROR_STOP=1 -f {STATE}/seed/postgresql-grants.sql' >/dev/null",
        ]
    if host.app is not None:
        _write_app(room, host, host.app, root)
    if host.app is not None and host.app.database_host != host.name:
        # Its report worker holds a connection to the database host, as queue workers do.
        lines.append(
            f"(set +e; while :; do mariadb --defaults-extra-file=/etc/{host.app.name}/worker.cnf "
            "-e 'SELECT SLEEP(3600)' >/dev/null 2>&1; sleep 1; done) &"
            if host.app.engine is ServiceKind.MARIADB
            else f"(set +e; while :; do PGPASSFILE=/etc/{host.app.name}/worker.pgpass psql "
            f"-h {_server_address(room, host.app.database_host)} -U {host.app.name} "
            f"-d {host.app.name} -c 'SELECT pg_sleep(3600)' >/dev/null 2>&1; sleep 1; done) &"
        )
    if ServiceKind.WEB in host.services:
        lines += [
            "install -d /run/php",
            "/usr/sbin/php-fpm8.2 --nodaemonize >>/var/log/pdn-host/php-fpm.log 2>&1 &",
            "/usr/sbin/nginx -g 'daemon off;' >>/var/log/pdn-host/nginx.log 2>&1 &",
        ]
    if ServiceKind.FILE_SHARE in host.services:
        _write_share(host, root, public_key)
    if ServiceKind.CRON in host.services:
        lines.append("/usr/sbin/cron -f >>/var/log/pdn-host/cron.log 2>&1 &")
    lines += [
        # What was deployed onto the host later (a PDN host's application) starts at boot too.
        'for unit in /etc/pdn/boot.d/*; do [ -x "$unit" ] && "$unit" '
        ">>/var/log/pdn-host/boot.log 2>&1 || true; done",
        f"touch {STATE}/ready",
        "while :; do wait; sleep 1; done  # PID 1 reaps what its services leave",
    ]
    _write(root, INIT, "\n".join(lines) + "\n", 0o755)


def _grants(room: Room, host: Host, root: Path) -> dict[ServiceKind, str]:
    """Each app that uses a database of this host gets a login to it (and only it)."""
    mariadb, postgresql = [], []
    for client in room.hosts:
        app = client.app
        if app is None or app.database_host != host.name:
            continue
        password = _app_password(root, app.name)
        if app.engine is ServiceKind.MARIADB:
            where = "localhost" if client.name == host.name else str(client.address)
            mariadb += [
                f"CREATE USER IF NOT EXISTS '{app.name}'@'{where}' IDENTIFIED BY '{password}';",
                f"GRANT ALL ON {app.name}.* TO '{app.name}'@'{where}';",
            ]
        else:
            postgresql += [
                f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app.name}') "
                f"THEN CREATE ROLE {app.name} LOGIN PASSWORD '{password}'; END IF; END$$;",
                f"ALTER DATABASE {app.name} OWNER TO {app.name};",
                f"\\c {app.name}",
                f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {app.name};",
            ]
    return {
        ServiceKind.MARIADB: "\n".join(mariadb) + "\n",
        ServiceKind.POSTGRESQL: "\n".join(postgresql) + "\n",
    }


def _write_app(room: Room, host: Host, app: App, root: Path) -> None:
    server = next(h for h in room.hosts if h.name == app.database_host)
    # Where the app's own host holds its database, it says 127.0.0.1; else the server's address,
    # hard-coded, as agencies' applications do.
    address = "127.0.0.1" if server.name == host.name else str(server.address)
    password = _app_password(server_root(root, host, server), app.name)
    www = f"/var/www/{app.name}"
    table = {"simpeg": "pegawai", "layanan": "permohonan", "portal": "berita"}.get(
        app.name, "information_schema.tables"
    )
    count_query = f"SELECT COUNT(*) FROM {table}"  # noqa: S608 (our own table, in PHP)
    # Port and TLS are optional settings, as in most PHP applications: unset, the engine's
    # default port without TLS (as in the agency's room).
    if app.engine is ServiceKind.MARIADB:
        connect = (
            "$db = mysqli_init();\n"
            "if (defined('DB_SSL_CA')) {\n"
            "    $db->ssl_set(null, null, DB_SSL_CA, null, null);\n"
            "    $db->options(MYSQLI_OPT_SSL_VERIFY_SERVER_CERT, true);\n"
            "}\n"
            "$db->real_connect(DB_HOST, DB_USER, DB_PASSWORD, DB_NAME,\n"
            "    defined('DB_PORT') ? DB_PORT : 3306, null,\n"
            "    defined('DB_SSL_CA') ? MYSQLI_CLIENT_SSL : 0);\n"
            f"$count = $db->query('{count_query}')->fetch_row()[0];\n"
        )
    else:
        connect = (
            '$db = pg_connect("host=" . DB_HOST . " dbname=" . DB_NAME . " user=" . DB_USER'
            ' . " password=" . DB_PASSWORD\n'
            '    . (defined("DB_PORT") ? " port=" . DB_PORT : "")\n'
            '    . (defined("DB_SSL_CA")\n'
            '        ? " sslmode=verify-full sslrootcert=" . DB_SSL_CA : ""));\n'
            f"$count = pg_fetch_row(pg_query($db, '{count_query}'))[0];\n"
        )
    _write(
        root,
        f"{www}/config.php",
        "<?php\n"
        f"define('DB_HOST', '{address}');\n"
        f"define('DB_NAME', '{app.name}');\n"
        f"define('DB_USER', '{app.name}');\n"
        f"define('DB_PASSWORD', '{password}');\n"
        f"define('UPLOAD_DIR', '{www}/uploads');\n",
        0o640,
    )
    _write(
        root,
        f"{www}/index.php",
        "<?php\nrequire __DIR__ . '/config.php';\n"
        + connect
        + f'echo "<h1>{app.name}</h1><p>{table}: $count</p>\\n";\n',
    )
    for name, content in seed.uploads(app.name).items():
        _write(root, f"{www}/uploads/{name}", content)
    _write(
        root,
        "/etc/nginx/sites-enabled/default",
        "server {\n"
        "    listen 80 default_server;\n"
        f"    root {www};\n"
        "    index index.php;\n"
        "    location /uploads/ { autoindex on; }\n"
        "    location ~ \\.php$ {\n"
        "        include snippets/fastcgi-php.conf;\n"
        "        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n"
        "    }\n"
        "}\n",
    )
    _write(
        root,
        f"/etc/cron.d/{app.name}",
        "# Nightly: drop unfinished uploads older than a week.\n"
        f"30 1 * * * www-data find {www}/uploads -name '*.part' -mtime +7 -delete\n",
    )
    if server.name != host.name:  # the worker's login, kept the way agencies keep it
        _write(
            root,
            f"/etc/{app.name}/worker.cnf",
            f"[client]\nhost={address}\nuser={app.name}\npassword={password}\n"
            f"database={app.name}\n",
            0o600,
        )
        _write(
            root,
            f"/etc/{app.name}/worker.pgpass",
            f"{address}:*:{app.name}:{app.name}:{password}\n",
            0o600,
        )
    chroot(root, "chown", "-R", "www-data:www-data", f"{www}/uploads")
    chroot(root, "chgrp", "www-data", f"{www}/config.php")


def _server_address(room: Room, name: str) -> str:
    return str(next(h.address for h in room.hosts if h.name == name))


def server_root(root: Path, host: Host, server: Host) -> Path:
    """The root of `server`, a host of the same estate (roots sit side by side)."""
    return root if server.name == host.name else root.parent.parent / server.name / "merged"


def _write_share(host: Host, root: Path, public_key: str) -> None:
    if not (root / f"home/{SHARE_USER}").exists():
        chroot(root, "useradd", "--create-home", "--shell", "/usr/sbin/nologin", SHARE_USER)
    _write(root, f"/home/{SHARE_USER}/.ssh/authorized_keys", public_key, 0o600)
    for name, content in seed.share_documents(host.name).items():
        _write(root, f"/srv/share/{name}", content, 0o640)
    (root / "srv/share/terbaru").unlink(missing_ok=True)
    os.symlink("arsip 2024", root / "srv/share/terbaru")
    chroot(root, "chown", "-R", f"{SHARE_USER}:{SHARE_USER}", "/srv/share", f"/home/{SHARE_USER}")
    _write(
        root,
        "/etc/ssh/sshd_config.d/pdn-share.conf",
        f"Match User {SHARE_USER}\n    ForceCommand internal-sftp -d /srv/share\n",
    )


__all__ = ["INIT", "STATE", "prepare"]
