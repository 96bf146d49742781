#!/usr/bin/python3
"""Ansible module: what an agency host runs, read without changing anything on it.

OS, packages, processes, listening sockets and the connections between hosts (from /proc),
disk use, cron jobs, web sites (nginx roots and the database addresses their configuration
names), databases (MariaDB over its socket as root, PostgreSQL as its superuser): each database's
tables with their rows and size, and per column a profile for Satu Data readiness, computed here
so that no citizen's record leaves the host: how many values look like a NIK, the distinct
six-digit district prefixes with counts, how many carry a valid DDMMYY birth date, and the
distinct values that look like region codes.

Read-only: queries in read-only transactions, files opened for reading. Supports check mode
(it changes nothing in either mode).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import socket
import struct
import subprocess

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: host_discovery
short_description: Discover what an agency host runs, read-only
description:
  - Reports OS, packages, processes, sockets, connections, disk use, cron jobs, web sites and
    databases (tables, rows, sizes, Satu Data column profiles) of the host it runs on.
options:
  sample_rows:
    description: Rows per table read for column profiles.
    type: int
    default: 2000
author: pdn
"""

NIK = re.compile(r"^\d{16}$")
REGION = re.compile(r"^\d{2}(\.?\d{2}(\.?\d{2,3}(\.?\d{3,4})?)?)?$")
DB_HOST_KEYS = re.compile(
    r"""(?:DB_HOST|db_host|host)['"]?\s*[,=>:]+\s*['"]?([0-9]{1,3}(?:\.[0-9]{1,3}){3}|[a-z0-9.-]+)""",
)
TCP_STATES = {"01": "established", "0A": "listen"}


def _run(argv, timeout=60):
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _os():
    release = {}
    with open("/etc/os-release", encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.strip().partition("=")
            if key:
                release[key] = value.strip('"')
    return {
        "id": release.get("ID", ""),
        "version_id": release.get("VERSION_ID", ""),
        "pretty_name": release.get("PRETTY_NAME", ""),
        "kernel": os.uname().release,
        "hostname": socket.gethostname(),
    }


def _packages():
    listed = _run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"])
    found = {}
    for line in (listed or "").splitlines():
        name, version, status = [*line.split("\t"), "", ""][:3]
        if status == "installed":
            found[name] = version
    return found


def _processes():
    """pid -> (command name, socket inodes it holds)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="utf-8") as handle:
                name = handle.read().strip()
            inodes = set()
            for fd in os.listdir(f"/proc/{entry}/fd"):
                target = os.readlink(f"/proc/{entry}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
        found[int(entry)] = (name, inodes)
    return found


def _address(hex_address):
    ip_hex, port_hex = hex_address.split(":")
    ip = socket.inet_ntoa(struct.pack("<I", int(ip_hex, 16)))
    return ip, int(port_hex, 16)


def _sockets(processes):
    owner = {inode: name for name, inodes in processes.values() for inode in inodes}
    listening, connections = [], []
    with open("/proc/net/tcp", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            fields = line.split()
            state = TCP_STATES.get(fields[3])
            if state is None:
                continue
            local, remote = _address(fields[1]), _address(fields[2])
            process = owner.get(fields[9], "")
            if state == "listen":
                listening.append({"address": local[0], "port": local[1], "process": process})
            else:
                connections.append(
                    {
                        "local": f"{local[0]}:{local[1]}",
                        "remote": f"{remote[0]}:{remote[1]}",
                        "process": process,
                    }
                )
    unique = {(s["address"], s["port"], s["process"]): s for s in listening}
    return sorted(unique.values(), key=lambda s: (s["port"], s["address"])), connections


def _disks():
    found = []
    for path in ("/", "/var/lib/mysql", "/var/lib/postgresql", "/var/www", "/srv"):
        if os.path.isdir(path):
            found.append({"path": path, "bytes": _tree_bytes(path)})
    usage = shutil.disk_usage("/")
    return {"root_total": usage.total, "root_used": usage.used, "trees": found}


def _tree_bytes(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _cron():
    jobs = []
    for directory in ("/etc/cron.d",):
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if name.startswith("."):
                continue
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as f:
                for raw in f:
                    line = raw.strip()
                    if line and not line.startswith("#") and not re.match(r"^\w+=", line):
                        jobs.append({"file": os.path.join(directory, name), "line": line})
    return jobs


def _web_sites():
    sites = []
    enabled = "/etc/nginx/sites-enabled"
    if not os.path.isdir(enabled):
        return sites
    for name in sorted(os.listdir(enabled)):
        with open(os.path.join(enabled, name), encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        root = re.search(r"^\s*root\s+([^;]+);", text, re.MULTILINE)
        listen = re.findall(r"^\s*listen\s+([^;]+);", text, re.MULTILINE)
        site = {"config": os.path.join(enabled, name), "listen": listen, "root": None}
        if root:
            site["root"] = root.group(1).strip()
            site.update(_app(site["root"]))
        sites.append(site)
    return sites


def _app(root):
    """The application under a web root: its language, size, uploads, and the database
    endpoints its configuration names (hard-coded addresses are what blocks a move)."""
    files, size, endpoints, uploads = 0, 0, [], None
    for path, dirs, names in os.walk(root):
        if os.path.basename(path) == "uploads":
            uploads = {"path": path, "files": len(names), "bytes": _tree_bytes(path)}
            dirs[:] = []
            continue
        for name in names:
            full = os.path.join(path, name)
            files += 1
            size += os.lstat(full).st_size
            if name.endswith(".php") and os.path.getsize(full) < 1_000_000:
                with open(full, encoding="utf-8", errors="replace") as handle:
                    for match in DB_HOST_KEYS.finditer(handle.read()):
                        endpoints.append({"file": full, "host": match.group(1)})
    language = "php" if any(n.endswith(".php") for n in os.listdir(root)) else "static"
    return {
        "language": language,
        "files": files,
        "bytes": size,
        "uploads": uploads,
        "database_endpoints": endpoints,
    }


def _valid_birth(value):
    day, month, year = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if day > 40:
        day -= 40
    for century in (1900, 2000):
        try:
            datetime.date(century + year, month, day)
            return True
        except ValueError:
            continue
    return False


def _profile(values):
    """A column's Satu Data profile from its sampled values (no value itself leaves the host,
    except region-code-like values, which are not personal)."""
    texts = [str(v) for v in values if v is not None]
    niks = [t for t in texts if NIK.match(t)]
    prefixes = {}
    for t in niks:
        prefixes[t[:6]] = prefixes.get(t[:6], 0) + 1
    regionish = sorted({t for t in texts if REGION.match(t) and not NIK.match(t)})
    return {
        "sampled": len(texts),
        "nik_like": len(niks),
        "nik_valid_birth": sum(1 for t in niks if _valid_birth(t)),
        "nik_prefixes": prefixes,
        "region_like": len([t for t in texts if REGION.match(t) and not NIK.match(t)]),
        "region_values": regionish[:200],
    }


def _table(count_and_rows, columns):
    """A table's row count and its columns' profiles from one query's output: the count on the
    first line, then the sampled rows (tab-separated, in column order)."""
    lines = count_and_rows or [["0"]]
    rows = [r for r in lines[1:] if len(r) == len(columns)]
    profiles = {
        name: {"type": data_type, **_profile([r[i] for r in rows if r[i] not in ("NULL", "")])}
        for i, (name, data_type) in enumerate(columns)
    }
    return int(lines[0][0]), profiles


def _columns_by_table(listed):
    found = {}
    for schema, table, column, data_type in listed or []:
        found.setdefault((schema, table), []).append((column, data_type))
    return found


def _mariadb(sample_rows):
    if not os.path.exists("/run/mysqld/mysqld.sock"):
        return None

    def query(sql, database=None):
        argv = ["mariadb", "--batch", "--skip-column-names"]
        if database:
            argv.append(database)
        out = _run([*argv, "-e", f"SET SESSION TRANSACTION READ ONLY; {sql}"])
        if out is None:
            return None
        return [line.split("\t") for line in out.splitlines()]

    version = query("SELECT VERSION()")
    system = "('mysql', 'information_schema', 'performance_schema', 'sys')"
    sizes = query(
        "SELECT table_schema, table_name, data_length + index_length FROM "
        "information_schema.tables WHERE table_type = 'BASE TABLE' AND "
        f"table_schema NOT IN {system}"
    )
    columns = _columns_by_table(
        query(
            "SELECT table_schema, table_name, column_name, data_type FROM "
            f"information_schema.columns WHERE table_schema NOT IN {system} "
            "ORDER BY table_schema, table_name, ordinal_position"
        )
    )
    databases = {}
    for schema, table, size in sizes or []:
        listed = columns.get((schema, table), [])
        rows, profiles = _table(
            query(
                f"SELECT COUNT(*) FROM `{table}`; SELECT * FROM `{table}` LIMIT {int(sample_rows)}",
                schema,
            ),
            listed,
        )
        databases.setdefault(schema, {"tables": {}})["tables"][table] = {
            "rows": rows,
            "bytes": int(size or 0),
            "columns": profiles,
        }
    return {
        "engine": "mariadb",
        "version": version[0][0] if version else "",
        "databases": databases,
    }


def _postgresql(sample_rows):
    if not os.path.isdir("/run/postgresql") or not any(
        n.startswith(".s.PGSQL") for n in os.listdir("/run/postgresql")
    ):
        return None

    def query(database, *sql):
        argv = ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-At", "-F", "\t"]
        argv += ["-d", database, "-c", "SET default_transaction_read_only = on"]
        for statement in sql:
            argv += ["-c", statement]
        out = _run(argv)
        if out is None:
            return None
        return [line.split("\t") for line in out.splitlines() if line != "SET"]

    version = query("postgres", "SHOW server_version")
    names = query(
        "postgres",
        "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'",
    )
    databases = {}
    for (name,) in names or []:
        sizes = query(
            name,
            "SELECT schemaname, relname, pg_total_relation_size(relid) FROM pg_stat_user_tables",
        )
        columns = _columns_by_table(
            query(
                name,
                "SELECT table_schema, table_name, column_name, data_type FROM "
                "information_schema.columns WHERE table_schema NOT IN "
                "('pg_catalog', 'information_schema') "
                "ORDER BY table_schema, table_name, ordinal_position",
            )
        )
        entry = databases.setdefault(name, {"tables": {}})
        for schema, table, size in sizes or []:
            qualified = f'"{schema}"."{table}"'
            rows, profiles = _table(
                query(
                    name,
                    f"SELECT count(*) FROM {qualified}",
                    f"SELECT * FROM {qualified} LIMIT {int(sample_rows)}",
                ),
                columns.get((schema, table), []),
            )
            entry["tables"][table if schema == "public" else f"{schema}.{table}"] = {
                "rows": rows,
                "bytes": int(size or 0),
                "columns": profiles,
            }
    return {
        "engine": "postgresql",
        "version": version[0][0] if version else "",
        "databases": databases,
    }


def _shares():
    found = []
    config = "/etc/ssh/sshd_config.d"
    if os.path.isdir(config):
        for name in sorted(os.listdir(config)):
            with open(os.path.join(config, name), encoding="utf-8") as handle:
                text = handle.read()
            for user, path in re.findall(
                r"Match User (\S+)\s+ForceCommand internal-sftp -d (\S+)", text
            ):
                found.append(
                    {"protocol": "sftp", "user": user, "path": path, "bytes": _tree_bytes(path)}
                )
    return found


def main():
    module = AnsibleModule(
        argument_spec={"sample_rows": {"type": "int", "default": 2000}},
        supports_check_mode=True,
    )
    processes = _processes()
    listening, connections = _sockets(processes)
    databases = [
        found
        for found in (
            _mariadb(module.params["sample_rows"]),
            _postgresql(module.params["sample_rows"]),
        )
        if found is not None
    ]
    module.exit_json(
        changed=False,
        discovery={
            "schema": "pdn.discovery/v1",
            "os": _os(),
            "packages": _packages(),
            "processes": sorted({name for name, _inodes in processes.values()}),
            "listening": listening,
            "connections": connections,
            "disks": _disks(),
            "cron": _cron(),
            "web_sites": _web_sites(),
            "databases": databases,
            "shares": _shares(),
        },
    )


if __name__ == "__main__":
    main()
