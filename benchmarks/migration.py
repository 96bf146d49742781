"""Migration against raw copies, and a wave of six hosts against one, on one scratch DC with the
example tenants onboarded (their DBaaS databases, buckets and PDN hosts) and a scratch estate of
its own (the demo's hosts on 198.18.202.0/24).

- Bulk: simpeg's tree gets UPLOADS files of UPLOAD_MIB MiB and its database a table of ROWS
  rows; `pdn migrate run` of its wave (simpeg-db, simpeg-app: every table compared, copied and
  compared again; the tree staged and pushed; configuration, services, smoke test) against the
  raw path over the same hops: `mariadb-dump | mariadb` into the same DBaaS database, then
  `rsync -a` of the tree agency host -> controller -> PDN host (goal: within 1.3x).
- Concurrency: a wave of all six hosts of three agencies against one host (layanan: database,
  tree, deploy, smoke) on the demo's own data, measured before simpeg gets the bulk (goal:
  within 2.5x on 2 cores).

Before every timed round the targets are emptied (DBaaS tables dropped, trees and staging
removed, the wave's journal deleted), so each round copies everything. Medians of ROUNDS.

    python benchmarks/migration.py [--write-readme]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from common import onboard_examples, quiet, scratch_dc, write_readme_section

from pdn.dataservices.sql import connect
from pdn.dc.lifecycle import LocalDC
from pdn.estate.hosts import EstateRuntime
from pdn.estate.loader import LOCAL_ESTATE, load_estate
from pdn.inventory import LOCAL_SITE
from pdn.migrate.discovery import discover, load_discovery
from pdn.migrate.runner import migration_state
from pdn.migrate.targets import Targets, load_targets
from pdn.migrate.waves import journal_path, run_wave, work_of

SITE = "pdn-local"
ROUNDS = 2
UPLOADS, UPLOAD_MIB = 48, 4
ROWS = 1_000_000
BULK_GOAL, WAVE_GOAL = 1.3, 2.5
BULK = ["simpeg-db", "simpeg-app"]
ATTENDANCE = (  # a staff attendance table, as SIMPEG systems keep one
    "CREATE TABLE IF NOT EXISTS absensi (id INT PRIMARY KEY, pegawai_id INT, tanggal DATE, "
    "masuk TIME, pulang TIME, catatan VARCHAR(64)); INSERT IGNORE INTO absensi SELECT seq, "
    'seq % 240 + 1, DATE_ADD("2024-01-01", INTERVAL seq % 365 DAY), "07:30:00", "16:00:00", '
    'CONCAT("hadir tepat waktu ", seq) FROM seq_1_to_{rows}'
)
ONE = ["layanan"]


def _estate(path: Path) -> Path:
    document = yaml.safe_load(LOCAL_ESTATE.read_text().replace("198.18.192.", "198.18.202."))
    document["estate"] = "bench-migration"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _on(runtime: EstateRuntime, host: str, command: str) -> str:
    argv = [*runtime.ssh_argv(runtime.estate.host(host)[1]), command]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=1800).stdout


def _seed_bulk(runtime: EstateRuntime) -> int:
    """Bulk data on simpeg: uploads and an attendance table; its size in bytes."""
    _on(
        runtime,
        "simpeg-app",
        f"for i in $(seq {UPLOADS}); do head -c {UPLOAD_MIB}M /dev/urandom "
        '> "/var/www/simpeg/uploads/scan absensi $i.pdf"; done; '
        "chown -R www-data: /var/www/simpeg/uploads",
    )
    _on(runtime, "simpeg-db", f"mariadb simpeg -e '{ATTENDANCE.format(rows=ROWS)}'")
    table = int(
        _on(
            runtime,
            "simpeg-db",
            'mariadb -N -B -e "SELECT data_length FROM information_schema.tables '
            "WHERE table_schema = 'simpeg' AND table_name = 'absensi'\"",
        ).strip()
    )
    return table + UPLOADS * UPLOAD_MIB * 2**20


def _write_plan(runtime: EstateRuntime) -> None:
    """Waves for the benchmark: the bulk unit, one host, all six."""
    everything = [h.name for _r, h in runtime.estate.hosts()]
    waves = [BULK, ONE, everything]
    plan = {"waves": [{"number": n + 1, "hosts": hosts} for n, hosts in enumerate(waves)]}
    migration_state(runtime).mkdir(parents=True, exist_ok=True)
    (migration_state(runtime) / "plan.json").write_text(json.dumps(plan))


def _reset(runtime: EstateRuntime, dc: LocalDC, targets: Targets) -> None:
    """Every target emptied: DBaaS tables, the PDN hosts' trees, the staging, the journals."""
    for tenant in targets.tenants.values():
        for engine, db in tenant.databases.items():
            access = dc.database_admin(engine)
            with connect(access.server, access.user, access.password, db.database) as conn:
                cursor = conn.cursor()
                if engine == "mariadb":
                    cursor.execute("SHOW TABLES")
                    for (table,) in cursor.fetchall():
                        cursor.execute(f"DROP TABLE `{table}`")
                else:
                    cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                    cursor.execute(f"GRANT ALL ON SCHEMA public TO {db.user}")
                conn.commit()
    pool = dc.host_pool()
    for tenant in targets.tenants.values():
        for address in tenant.hosts.values():
            subprocess.run(
                [
                    *pool.ssh_argv(address),
                    "rm -rf /var/www/simpeg /var/www/layanan /var/www/portal",
                ],
                check=True,
                timeout=60,
            )
    shutil.rmtree(migration_state(runtime) / "staging", ignore_errors=True)
    for wave in (1, 2, 3):
        journal_path(runtime, wave).unlink(missing_ok=True)


def _migrate(runtime: EstateRuntime, targets: Targets, wave: int) -> None:
    hosts = json.loads((migration_state(runtime) / "plan.json").read_text())["waves"][wave - 1]
    work = work_of(runtime, hosts["hosts"], load_discovery(runtime), targets)
    result = run_wave(runtime, wave, work, targets)
    if not result.ok:
        raise RuntimeError(f"wave {wave} failed: {[r for r in result.results if not r.ok]}")


def _raw(runtime: EstateRuntime, dc: LocalDC, targets: Targets, scratch: Path) -> None:
    """The same data over the same hops, with the bare tools."""
    db = targets.of("kab-bekasi").databases["mariadb"]
    server = dc.database_admin("mariadb").server
    dump = subprocess.Popen(
        [
            *runtime.ssh_argv(runtime.estate.host("simpeg-db")[1]),
            "mariadb-dump --single-transaction simpeg",
        ],
        stdout=subprocess.PIPE,
    )
    subprocess.run(
        [
            "mariadb",
            "--ssl",
            f"--ssl-ca={targets.dc.ca}",
            f"--host={server.host}",
            f"--port={server.port}",
            f"--user={db.user}",
            db.database,
        ],
        stdin=dump.stdout,
        check=True,
        env={"MYSQL_PWD": db.password, "PATH": "/usr/bin:/bin"},
    )
    if dump.wait() != 0:
        raise SystemExit("raw dump failed")
    staging = scratch / "raw-staging"
    app = runtime.estate.host("simpeg-app")[1]
    estate_ssh = " ".join(runtime.ssh_argv(app)[:-1])
    subprocess.run(
        [
            "rsync",
            "-a",
            f"--rsh={estate_ssh}",
            f"root@{app.address}:/var/www/simpeg/",
            f"{staging}/",
        ],
        check=True,
    )
    address = targets.of("kab-bekasi").hosts["simpeg"]
    pool_ssh = " ".join(dc.host_pool().ssh_argv(address)[:-1])
    subprocess.run(
        ["rsync", "-a", f"--rsh={pool_ssh}", f"{staging}/", f"root@{address}:/var/www/simpeg/"],
        check=True,
    )
    shutil.rmtree(staging)


def _median(call: Callable[[], None], reset: Callable[[], None]) -> float:
    times = []
    for _ in range(ROUNDS):
        reset()
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    with scratch_dc(LOCAL_SITE, slot=7) as (dc, scratch):
        dc.up(progress=quiet)
        env, _tenants = onboard_examples(dc, scratch, host_pool=True)
        runtime = EstateRuntime(load_estate(_estate(scratch / "estate.yaml")))
        try:
            runtime.up()
            discover(runtime)
            _write_plan(runtime)
            targets = load_targets(env, SITE, dc)
            reset = lambda: _reset(runtime, dc, targets)  # noqa: E731
            _migrate(runtime, targets, 3)  # warm: host keys, page cache, ansible's caches
            # Concurrency on the demo's own data, before simpeg gets the bulk.
            figures = {
                "one": _median(lambda: _migrate(runtime, targets, 2), reset),
                "six": _median(lambda: _migrate(runtime, targets, 3), reset),
            }
            volume = _seed_bulk(runtime)
            discover(runtime)
            figures["raw"] = _median(lambda: _raw(runtime, dc, targets, scratch), reset)
            figures["bulk"] = _median(lambda: _migrate(runtime, targets, 1), reset)
        except Exception:
            kept = Path("/tmp/pdn-bench-migration-failed")  # noqa: S108 (for the operator)
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(migration_state(runtime) / "runs", kept)
            print(f"the runs' artifacts are kept in {kept}")
            raise
        finally:
            runtime.down()
    bulk_ratio = figures["bulk"] / figures["raw"]
    wave_ratio = figures["six"] / figures["one"]
    table = "\n".join(
        [
            "| migration (`pdn migrate run`, real hosts, DBaaS, PDN hosts) | seconds | ratio |",
            "|---|---:|---:|",
            f"| raw: `mariadb-dump \\| mariadb` + `rsync -a` over the same hops "
            f"({volume / 2**20:.0f} MiB: {ROWS:,} rows, {UPLOADS} files) | {figures['raw']:.1f} "
            "| 1.00x |",
            f"| `pdn migrate run` of the same (checksums, config, services, smoke) | "
            f"{figures['bulk']:.1f} | {bulk_ratio:.2f}x (goal ≤ {BULK_GOAL}x) |",
            f"| a wave of 1 host (layanan) | {figures['one']:.1f} | 1.00x |",
            f"| a wave of 6 hosts of 3 agencies | {figures['six']:.1f} | "
            f"{wave_ratio:.2f}x (goal ≤ {WAVE_GOAL}x) |",
        ]
    )
    print(table)
    if args.write_readme:
        write_readme_section("migration", table)
    return 0 if bulk_ratio <= BULK_GOAL and wave_ratio <= WAVE_GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
