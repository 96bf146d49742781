"""Backups and restores of tenants' data against the raw paths, on one scratch DC, in one run.

The example tenants are onboarded (buckets, databases), one of them (a hospital) gets 512 MiB
of files and a ~256 MB MariaDB table. Then, each against its raw path on the same data:
- object backup (`pdn backup run`: the versions held locked here, the contents uploaded to the
  second site) vs a boto3 multipart upload of the same bytes as one plain file, to one site,
  three times each with new content (the medians: the store's ingest varies run to run);
- MariaDB server backup (mariadb-backup streamed to both sites, table checksums) vs
  `mariadb-dump` to a file then a boto3 multipart upload of it, to one site;
- PostgreSQL server backup (pgBackRest fulls into both sites' repositories at once, table
  checksums) vs `pg_dump` to a file then a boto3 upload of it, to one site;
- restore drill of the hospital (every object and table verified) vs `cp` of the same files;
- a restore drill of every example tenant, and the drill's rate per GB.

    python benchmarks/backups.py [--write-readme]
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from common import REPO, onboard_examples, quiet, scratch_dc, settle, write_readme_section

from pdn import regions
from pdn.dataservices import backup, db_backup, runner
from pdn.dataservices.buckets import BucketSpec, specs_of
from pdn.dataservices.plan import storage_of
from pdn.dataservices.sql import connect
from pdn.dc.lifecycle import LocalDC
from pdn.inventory import LOCAL_SITE, all_sites
from pdn.tenants.fleet import load_fleet, tenant_files

SITE = "pdn-local"
HOSPITAL = "kab-bekasi-rsud"
FILES, FILE_MIB = 64, 8
ROUNDS = 3  # of the object backup and its raw path (the store's ingest varies run to run)
RECORDS = 250_000
# _records' rows, the same in MariaDB and PostgreSQL.
RECORD_COLUMNS = (
    "id int primary key, nik char(16), nama varchar(100), alamat varchar(200), tanggal date, "
    "kode varchar(8), isi text"
)
PG_DATABASE = "kemendagri"  # a ministry's database on the DC's PostgreSQL


def _timed(call: Callable[[], object]) -> float:
    """call's seconds, once the machine has settled from the step before (a server flushing
    what was just loaded would otherwise slow whichever path ran first)."""
    settle()
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _records(count: int) -> Iterator[list[tuple[object, ...]]]:
    """Medical records as a hospital keeps them, in batches of 1,000: a 16-digit NIK, a name and
    an address, a date, an ICD-10 code, and ~1 KB of notes. No real data exists to measure on,
    and repeated bytes would flatter the backup's compression: the words are drawn at random
    from the ~48,000 distinct words of the real region list's names, so the rows' text alone
    compresses only 2.2x (a real record's notes repeat far more)."""
    rng = random.Random(20240620)  # noqa: S311 (fixed: every run measures the same rows)
    words = sorted({w.lower() for _, name in regions.every() for w in name.split() if w.isalpha()})
    for start in range(0, count, 1000):
        yield [
            (
                n,
                f"32{rng.randrange(10**14):014d}",
                " ".join(rng.choice(words).title() for _ in range(2)),
                " ".join(rng.choice(words) for _ in range(8)),
                f"20{rng.randrange(10, 26)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                f"{rng.choice('ABCDEIJKMNR')}{rng.randrange(100):02d}.{rng.randrange(10)}",
                " ".join(rng.choice(words) for _ in range(rng.randrange(90, 180))),
            )
            for n in range(start, min(start + 1000, count))
        ]


def _seed_postgresql(pg: db_backup.PostgreSQLServer) -> None:
    """The same records in a ministry's PostgreSQL database (COPY, as the platform admin), then
    the server settled as a backup finds it in service: the table vacuumed (the first read of
    freshly loaded rows sets their hint bits, writing every page and its WAL again: whichever
    path read first would pay for the other) and the WAL archived to both sites."""
    with pg.connect(PG_DATABASE) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE rekam_medis ({RECORD_COLUMNS})")
        with cur.copy("COPY rekam_medis FROM STDIN") as copy:
            for batch in _records(RECORDS):
                for row in batch:
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM (FREEZE, ANALYZE) rekam_medis")
        cur.execute("CHECKPOINT")
        segment = cur.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        deadline = time.monotonic() + 300
        archived = "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"
        while cur.execute(archived).fetchone()[0] < segment:
            if time.monotonic() > deadline:
                raise SystemExit(f"the WAL up to {segment} was not archived in 300 s")
            time.sleep(0.5)
    print(f"PostgreSQL table filled: {RECORDS} medical records, vacuumed, WAL archived", flush=True)


def _seed(dc: LocalDC, scratch: Path, s3: Any) -> tuple[Path, Path, int]:
    """The hospital's files (in its bucket, and as one plain file) and its big table."""
    files = scratch / "files"
    files.mkdir()
    for i in range(FILES):
        (files / f"berkas-{i:03d}.bin").write_bytes(os.urandom(FILE_MIB * 2**20))
    data_bytes = FILES * FILE_MIB * 2**20
    for path in sorted(files.iterdir()):
        s3.upload_file(str(path), f"{HOSPITAL}-data", f"arsip/{path.name}")
    s3.create_bucket(Bucket="bench-raw")
    plain = scratch / "plain.bin"
    with plain.open("wb") as out:
        for path in sorted(files.iterdir()):
            out.write(path.read_bytes())
    print(f"{data_bytes / 2**20:.0f} MiB of files in {HOSPITAL}-data", flush=True)

    admin = dc.database_admin("mariadb")
    with (
        connect(admin.server, admin.user, admin.password, "kab_bekasi_rsud") as conn,
        conn.cursor() as cur,
    ):
        cur.execute(f"CREATE TABLE kab_bekasi_rsud.rekam_medis ({RECORD_COLUMNS}) ENGINE=InnoDB")
        for batch in _records(RECORDS):
            cur.executemany(
                "INSERT INTO kab_bekasi_rsud.rekam_medis VALUES (%s, %s, %s, %s, %s, %s, %s)",
                batch,
            )
            conn.commit()
    print(f"MariaDB table filled: {RECORDS} medical records", flush=True)

    return files, plain, data_bytes


def _dump_and_upload(argv: list[str], env: dict[str, str] | None, dump: Path, s3: Any) -> None:
    """The raw path: a plain dump to a file, then one boto3 upload of it to this site."""
    with dump.open("wb") as out:
        subprocess.run(argv, stdout=out, check=True, env=env)
    s3.upload_file(str(dump), "bench-raw", dump.name)


def _objects(
    sites: runner.Sites, files: Path, plain: Path, *, data: BucketSpec, spec: BucketSpec
) -> dict[str, float]:
    """The bucket's backup against one upload of the same bytes, the median of ROUNDS each:
    after the first, every file of the bucket is written again with new content, so that each
    backup has the whole 512 MiB to copy, as the raw path has."""
    s3 = sites.primary.s3
    backups, raws = [], []
    for round_ in range(ROUNDS):
        key = f"plain-{round_}"
        if round_:
            for path in sorted(files.iterdir()):
                path.write_bytes(os.urandom(FILE_MIB * 2**20))
                s3.upload_file(str(path), f"{HOSPITAL}-data", f"arsip/{path.name}")
        backups.append(
            _timed(
                lambda: backup.back_up_bucket(
                    HOSPITAL, data, spec, sites.primary, [sites.second], progress=quiet
                )
            )
        )
        raws.append(_timed(functools.partial(s3.upload_file, str(plain), "bench-raw", key)))
        print(f"objects: backup {backups[-1]:.1f}s, raw {raws[-1]:.1f}s", flush=True)
    return {
        "objects backup": statistics.median(backups),
        "raw upload": statistics.median(raws),
    }


def _postgresql(sites: runner.Sites, s3: Any, dump: Path) -> dict[str, float]:
    """The same records in PostgreSQL: its server backup against `pg_dump` and one upload."""
    pg = sites.postgresql
    assert pg is not None  # noqa: S101 (the local DC always has it)
    _seed_postgresql(pg)
    settle()
    f = {"pg backup": db_backup.back_up_postgresql(pg, sites.all(), quiet).seconds}
    env = {**os.environ, **pg.libpq_env()}
    f["pg raw"] = _timed(
        lambda: _dump_and_upload(["pg_dump", "--dbname", PG_DATABASE], env, dump, s3)
    )
    f["pg dump bytes"] = float(dump.stat().st_size)
    print(f"postgresql: backup {f['pg backup']:.1f}s, dump+upload {f['pg raw']:.1f}s", flush=True)
    return f


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    f: dict[str, float] = {}
    with scratch_dc(LOCAL_SITE, slot=5) as (dc, scratch):
        dc.up(progress=quiet)
        _env, tenants = onboard_examples(dc, scratch)
        fleet = load_fleet(tenant_files(tenants), all_sites())
        sites = runner.local_sites(dc)
        s3 = sites.primary.s3

        files, plain, data_bytes = _seed(dc, scratch, s3)
        # The hospital's bucket alone, as `pdn backup run` backs it up (its database servers
        # are the next row's).
        data, backup_spec = specs_of(storage_of(fleet.tenants[HOSPITAL]))
        f.update(_objects(sites, files, plain, data=data, spec=backup_spec))

        server = db_backup.MariaDBServer(dc.settings.database_dir / "mariadb" / "mariadbd.sock")
        settle()
        result = db_backup.back_up_mariadb(server, sites.primary, [sites.second], quiet)
        f["db backup"], f["db bytes"] = result.seconds, float(result.bytes)
        f["db stored"] = float(result.stored)
        dump = scratch / "dump.sql"

        mariadb_dump = [
            "mariadb-dump",
            "--no-defaults",
            f"--socket={server.socket}",
            "--user=root",
            "--single-transaction",
            "--all-databases",
        ]
        f["db raw"] = _timed(lambda: _dump_and_upload(mariadb_dump, None, dump, s3))
        print(f"mariadb: backup {f['db backup']:.1f}s, dump+upload {f['db raw']:.1f}s", flush=True)

        f.update(_postgresql(sites, s3, dump))

        settle()
        drilled = runner.drill_tenant(sites, fleet, SITE, HOSPITAL, progress=quiet)
        assert drilled.verified, drilled  # noqa: S101 (a benchmark that restored wrong is void)
        f["drill"] = drilled.seconds
        f["drill bytes"] = float(drilled.bucket.bytes) + f["db bytes"]
        copy = scratch / "copy"
        f["cp"] = _timed(lambda: shutil.copytree(files, copy))
        runner.run(sites, fleet, SITE, progress=quiet)  # every tenant, for their drills
        for slug in sorted(fleet.tenants):
            if SITE in fleet.tenants[slug].sites:
                f[f"drill {slug}"] = runner.drill_tenant(
                    sites, fleet, SITE, slug, progress=quiet
                ).seconds
        f["data bytes"] = float(data_bytes)
    table = render(f)
    print(table)
    if args.write_readme:
        write_readme_section("backups", table)
        print(f"written to {REPO / 'README.md'}")
    return 0


def render(f: dict[str, float]) -> str:
    mib = f["data bytes"] / 2**20
    gb = f["drill bytes"] / 1e9
    drills = ", ".join(
        f"{k.removeprefix('drill ')} {v:.1f} s"
        for k, v in sorted(f.items())
        if k.startswith("drill ") and k != "drill bytes"
    )
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores; one run on a "
            "scratch local DC.",
            "",
            "| what | time | raw path (same data, same run) | time | throughput ratio |",
            "|---|---|---|---|---|",
            f"| object backup of {mib:.0f} MiB (a bucket in `pdn backup run`: read, hash, its "
            f"versions held locked here, uploaded to the second site; median of {ROUNDS}) | "
            f"{f['objects backup']:.1f} s | boto3 multipart upload of the same bytes, one site "
            f"(median of {ROUNDS}) | "
            f"{f['raw upload']:.1f} s | {f['raw upload'] / f['objects backup']:.2f}x |",
            f"| MariaDB server backup ({f['db bytes'] / 2**20:.0f} MiB stream of "
            f"{RECORDS:,} records and the system tables, {f['db stored'] / 2**20:.0f} MiB after "
            "zstd: mariadb-backup to both sites, checksums) | "
            f"{f['db backup']:.1f} s | `mariadb-dump` to a file, then "
            f"boto3 upload, one site | {f['db raw']:.1f} s | {f['db raw'] / f['db backup']:.2f}x |",
            f"| PostgreSQL server backup (the same {RECORDS:,} records, "
            f"{f['pg dump bytes'] / 2**20:.0f} MiB as a dump: pgBackRest full, lz4, into both "
            f"sites' repositories at once, checksums) | {f['pg backup']:.1f} s | `pg_dump` to a "
            "file, then "
            f"boto3 upload, one site | {f['pg raw']:.1f} s | {f['pg raw'] / f['pg backup']:.2f}x |",
            f"| restore drill of {HOSPITAL} ({mib:.0f} MiB of files + its server's backup, every "
            f"checksum) | {f['drill']:.1f} s | `cp -r` of the same files | {f['cp']:.1f} s | "
            f"{f['cp'] / f['drill']:.2f}x |",
            "",
            "The object backup writes one new copy, as the raw path does (this site's copy is "
            "the version the tenant wrote, held locked); the database backups write two, one "
            "per site, the raw path one: per copy kept, the MariaDB backup runs at "
            f"{2 * f['db raw'] / f['db backup']:.2f}x the raw upload and the PostgreSQL backup "
            f"at {2 * f['pg raw'] / f['pg backup']:.2f}x (goal: 0.7x of the raw upload).",
            "",
            f"Restore drill rate: {f['drill'] / gb:.0f} s per GB (goal: under 120). Drill of every "
            f"example tenant: {drills}.",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
