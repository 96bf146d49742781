"""`pdn migrate run` against the real estate and the real local DC: each wave's databases land in
the tenants' DBaaS databases, the file share in the tenant's bucket, the applications on the
tenants' PDN hosts, where they answer as at the agency, from DBaaS. A run killed midway by PID
resumes from its journal; a host cut off midway fails alone and its resumed run completes; a
second run, and a check-mode run, change nothing; no secret is written on the controller."""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from pdn.dataservices import sql
from pdn.dc import dns
from pdn.estate import network
from pdn.estate.hosts import EstateRuntime
from pdn.migrate.assess import assess
from pdn.migrate.discovery import discover, load_discovery
from pdn.migrate.errors import MigrateError
from pdn.migrate.plan import make_plan, write_plan
from pdn.migrate.runner import migration_state
from pdn.migrate.tables import MARIADB, Endpoint, TableError, copy_table, sync_database
from pdn.migrate.targets import Targets, load_targets
from pdn.migrate.verify import verify
from pdn.migrate.waves import (
    HostWork,
    Journal,
    StepResult,
    Switch,
    cutover,
    finalize,
    journal_path,
    retire,
    rollback,
    run_wave,
    wave_hosts,
    work_of,
)
from tests.integration.conftest import SITE, Onboarded, plaintext_leaks
from tests.integration.estate_fixtures import run_on

pytestmark = pytest.mark.integration

ROWS = {  # source host, database, table
    ("simpeg-db", "mariadb", "simpeg", "pegawai"),
    ("portal", "mariadb", "portal", "berita"),
    ("layanan", "postgresql", "layanan", "permohonan"),
    ("satudata", "postgresql", "satudata", "penduduk_desa"),
}


@pytest.fixture(scope="module")
def planned(agency_estate: EstateRuntime, onboarded: Onboarded) -> Targets:
    """The estate discovered and planned in waves of three hosts (as `pdn migrate discover`
    and `plan --max-hosts 3` do); where its tenants' workloads land."""
    assert len(discover(agency_estate).hosts) == len(list(agency_estate.estate.hosts()))
    agencies = {h.name: r.agency for r, h in agency_estate.estate.hosts()}
    plan = make_plan(assess(agency_estate.estate, load_discovery(agency_estate)), agencies, 3)
    write_plan(plan, migration_state(agency_estate))
    return load_targets(onboarded.env, SITE, onboarded.dc)


def _waves(runtime: EstateRuntime) -> list[int]:
    plan = json.loads((migration_state(runtime) / "plan.json").read_text())
    return [w["number"] for w in plan["waves"]]


def _work(runtime: EstateRuntime, wave: int, targets: Targets) -> list[HostWork]:
    return work_of(runtime, wave_hosts(runtime, wave), load_discovery(runtime), targets)


def _page(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/", timeout=10) as answer:
        return str(answer.read().decode())


def _count(onboarded: Onboarded, engine: str, database: str, table: str) -> int:
    access = onboarded.dc.database_admin(engine)
    with sql.connect(access.server, access.user, access.password, database) as conn:
        cursor = conn.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 (our own table names)
        return int(cursor.fetchone()[0])


def _source_count(runtime: EstateRuntime, host: str, engine: str, db: str, table: str) -> int:
    query = f"SELECT COUNT(*) FROM {table}"  # noqa: S608
    if engine == "mariadb":
        return int(run_on(runtime, host, f"mariadb -N -B {db} -e '{query}'"))
    return int(run_on(runtime, host, f"runuser -u postgres -- psql -At -d {db} -c '{query}'"))


@pytest.fixture(scope="module")
def killed_then_resumed(
    planned: Targets, agency_estate: EstateRuntime, estate_file: Path, onboarded: Onboarded
) -> dict[str, list[str]]:
    """Wave 1 run in a process of its own, killed (with its ansible-playbook) by PID once a
    step is recorded, then run again here: what the second run skipped, per host."""
    journal = journal_path(agency_estate, 1)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.migrate_child",
            str(estate_file),
            str(agency_estate.state),
            str(onboarded.dc.settings.state_root),
            "1",
        ],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (journal.exists() and Journal.load(journal, 1).done):
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    # Its ansible-playbook (in a session of its own) stops with it, rather than running on.
    deadline = time.monotonic() + 30
    while left := _playbooks_of(agency_estate):
        assert time.monotonic() < deadline, f"ansible-playbook ran on after the kill: {left}"
        time.sleep(0.2)
    before = Journal.load(journal, 1)
    assert before.phase == "migrating"
    result = run_wave(agency_estate, 1, _work(agency_estate, 1, planned), planned)
    assert result.ok, [r for r in result.results if not r.ok]
    assert Journal.load(journal, 1).phase == "migrated"
    # Nothing recorded before the kill ran again.
    for host, steps in before.done.items():
        assert set(steps) <= set(result.skipped[host])
        assert not [r for r in result.results if r.host == host and r.step in steps]
    return result.skipped


def test_a_run_killed_midway_resumes_and_moves_wave_one(
    killed_then_resumed: dict[str, list[str]], planned: Targets, agency_estate: EstateRuntime
) -> None:
    assert any(killed_then_resumed.values()), "the kill came before any step was recorded"
    for work in _work(agency_estate, 1, planned):
        assert Journal.load(journal_path(agency_estate, 1), 1).done[work.host].keys() == set(
            work.steps()
        )


def test_every_wave_moves_and_the_applications_answer_from_the_dc(
    killed_then_resumed: dict[str, list[str]],
    planned: Targets,
    agency_estate: EstateRuntime,
    onboarded: Onboarded,
) -> None:
    for wave in _waves(agency_estate)[1:]:
        result = run_wave(agency_estate, wave, _work(agency_estate, wave, planned), planned)
        assert result.ok, [r for r in result.results if not r.ok]
    apps = 0
    for wave in _waves(agency_estate):
        for work in _work(agency_estate, wave, planned):
            if work.app is None:
                continue
            apps += 1
            page = _page(work.app.target_address)
            assert page == _page(work.address)
            assert f"<h1>{work.app.name}</h1>" in page
    assert apps == 3
    for host, engine, source, table in ROWS:
        room, _ = agency_estate.estate.host(host)
        target = planned.of(room.agency).databases[engine].database
        assert _count(onboarded, engine, target, table) == _source_count(
            agency_estate, host, engine, source, table
        )


def test_the_file_share_is_in_the_tenants_bucket_with_its_metadata(
    killed_then_resumed: dict[str, list[str]], planned: Targets, agency_estate: EstateRuntime
) -> None:
    room, _ = agency_estate.estate.host("arsip")
    storage = planned.of(room.agency).storage
    assert storage is not None
    s3 = boto3.client(
        "s3",
        endpoint_url=storage.endpoint,
        aws_access_key_id=storage.access_key_id,
        aws_secret_access_key=storage.secret_access_key,
        region_name="us-east-1",
        verify=str(planned.dc.ca),
        config=Config(s3={"addressing_style": "path"}),
    )
    prefix = "migrated/arsip/srv/share/"
    wave = next(w for w in _waves(agency_estate) if "arsip" in wave_hosts(agency_estate, w))
    if Journal.load(journal_path(agency_estate, wave), wave).phase != "migrated":
        assert run_wave(agency_estate, wave, _work(agency_estate, wave, planned), planned).ok
    listed = s3.list_objects_v2(Bucket=storage.bucket, Prefix=prefix)["Contents"]
    keys = {o["Key"].removeprefix(prefix) for o in listed}
    on_host = set(run_on(agency_estate, "arsip", "cd /srv/share && find . ! -type d").split("\n"))
    assert keys == {k.removeprefix("./") for k in on_host}
    link = s3.head_object(Bucket=storage.bucket, Key=prefix + "terbaru")["Metadata"]
    assert link["symlink"] == "arsip 2024"
    document = s3.head_object(Bucket=storage.bucket, Key=prefix + "arsip 2024/nota dinas.pdf")
    mode, uid = run_on(
        agency_estate, "arsip", "stat -c '%a %u' '/srv/share/arsip 2024/nota dinas.pdf'"
    ).split()
    assert document["Metadata"]["mode"] == f"{int(mode, 8):04o}"
    assert document["Metadata"]["uid"] == uid


def test_a_second_run_and_a_check_run_change_nothing(
    killed_then_resumed: dict[str, list[str]], planned: Targets, agency_estate: EstateRuntime
) -> None:
    for wave in _waves(agency_estate):
        work = _work(agency_estate, wave, planned)
        again = run_wave(agency_estate, wave, work, planned)
        assert again.ok
        assert again.results == []  # every step is recorded as done
        checked = run_wave(agency_estate, wave, work, planned, check=True)
        assert checked.ok, [r for r in checked.results if not r.ok]
        assert {r.step for r in checked.results} == {s for w in work for s in w.steps()}
        assert checked.changed == 0, [r for r in checked.results if r.changed]


def _playbooks_of(runtime: EstateRuntime) -> list[int]:
    """The ansible-playbook processes of this estate's migration runs."""
    state = str(migration_state(runtime)).encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"ansible-playbook" in cmdline and state in cmdline:
            found.append(int(proc.name))
    return found


def test_a_host_cut_off_midway_fails_alone_and_its_resumed_run_completes(
    killed_then_resumed: dict[str, list[str]], planned: Targets, agency_estate: EstateRuntime
) -> None:
    """layanan is cut off once its database is copied: its next step fails (the SSH
    keepalive gives up), the journal keeps the copy; back on the network, the run goes on
    from there, and a check run then finds everything equal."""
    wave = next(w for w in _waves(agency_estate) if "layanan" in wave_hosts(agency_estate, w))
    journal = journal_path(agency_estate, wave)
    state = Journal.load(journal, wave)
    state.done.pop("layanan", None)
    state.phase = "migrating"
    state.save()
    _room, layanan = agency_estate.estate.host("layanan")
    veth = network.veth_name(agency_estate.estate, layanan)
    work = [w for w in _work(agency_estate, wave, planned) if w.host == "layanan"]

    def cut(result: StepResult) -> None:
        if result.step == "database":
            network.ip("link", "set", veth, "down")

    try:
        first = run_wave(agency_estate, wave, work, planned, on_step=cut)
    finally:
        network.ip("link", "set", veth, "up")
    assert [(r.step, r.ok) for r in first.results] == [("database", True), ("stage", False)]
    assert Journal.load(journal, wave).done["layanan"].keys() == {"database"}
    resumed = run_wave(agency_estate, wave, work, planned)
    assert resumed.ok, [r for r in resumed.results if not r.ok]
    assert [r.step for r in resumed.results] == ["stage", "deploy", "smoke"]
    checked = run_wave(agency_estate, wave, work, planned, check=True)
    assert checked.ok
    assert checked.changed == 0


def _switch(onboarded: Onboarded) -> Switch:
    return lambda names: dns.set_records(onboarded.dc.settings, names, onboarded.dc.supervisor)


def _resolve(onboarded: Onboarded, name: str) -> list[str]:
    settings = onboarded.dc.settings
    return dns.resolve(name, settings.listen_host, settings.ports.dns)


def test_verify_passes_and_names_a_table_that_differs(
    killed_then_resumed: dict[str, list[str]],
    planned: Targets,
    agency_estate: EstateRuntime,
    onboarded: Onboarded,
) -> None:
    work = _work(agency_estate, 1, planned)
    outcome = verify(agency_estate, 1, work, planned)
    assert outcome.ok, outcome.failures
    assert outcome.report.is_file()
    assert 'name="control" value="MIG-3"' in outcome.report.read_text()
    db = planned.of("kab-bekasi").databases["mariadb"]
    server = onboarded.dc.database_admin("mariadb").server
    with sql.connect(server, db.user, db.password, db.database) as conn:
        conn.cursor().execute("UPDATE pegawai SET nama = 'Diubah' WHERE id = 7")
        conn.commit()
    try:
        tampered = verify(agency_estate, 1, work, planned)
        assert [name for name, _ in tampered.failures] == [
            "test_every_table_has_the_same_rows_and_checksum[simpeg-db:simpeg]"
        ]
    finally:  # the run puts it right: its step compares, finds the table differs, copies it
        state = Journal.load(journal_path(agency_estate, 1), 1)
        state.done["simpeg-db"].pop("database")
        state.save()
        assert run_wave(agency_estate, 1, work, planned).changed == 1
    assert verify(agency_estate, 1, work, planned).ok


VARIED = r"""
SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';
CREATE TABLE ragam (
  id INT AUTO_INCREMENT PRIMARY KEY, n BIGINT NULL, d DECIMAL(12,3), tgl DATE,
  ts TIMESTAMP NULL, dt DATETIME(6), jam TIME, th YEAR, teks VARCHAR(200), panjang TEXT,
  status ENUM('aktif','nonaktif'), hak SET('baca','tulis'), kode BINARY(4),
  mentah VARBINARY(16), nol INT NULL
) DEFAULT CHARSET=utf8mb4;
INSERT INTO ragam VALUES
  (0, -9223372036854775808, -123456789.125, '2024-02-29', '2024-06-20 01:02:03',
   '1999-12-31 23:59:59.999999', '-838:59:59', 2024,
   'Jl. Merdeka No. 1\tRT 02\nRW 03 \\ C:\\data ''kutip'' "ganda"\r',
   'Kabupaten Bekasi — 日本 🙂', 'aktif', 'baca,tulis', X'00090A5C', X'00FF5C4E', 0),
  (7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'NULL', '\\N', NULL, NULL, NULL, NULL, NULL),
  (8, 0, 0, '0000-00-00', NULL, '0000-00-00 00:00:00', '00:00:00', 0000, '', '', '', '',
   '', '', NULL);
CREATE TABLE ukur (id INT PRIMARY KEY, suhu FLOAT, curah DOUBLE, titik POINT NULL);
INSERT INTO ukur VALUES
  (1, 31.4159, 2.718281828459045, POINT(106.99, -6.24)), (2, NULL, -0.0, NULL);
"""
# Every column of ragam as the hex of its text (NULL as 'null'): no client's printing in
# the way.
ROW_HEX = (
    "SELECT CONCAT_WS('|', id, IFNULL(HEX(CONCAT(n)), 'null'), IFNULL(HEX(CONCAT(d)), "
    "'null'), IFNULL(HEX(CONCAT(tgl)), 'null'), IFNULL(HEX(CONCAT(ts)), 'null'), "
    "IFNULL(HEX(CONCAT(dt)), 'null'), IFNULL(HEX(CONCAT(jam)), 'null'), "
    "IFNULL(HEX(CONCAT(th)), 'null'), IFNULL(HEX(CONCAT(teks)), 'null'), "
    "IFNULL(HEX(CONCAT(panjang)), 'null'), IFNULL(HEX(CONCAT(status)), 'null'), "
    "IFNULL(HEX(CONCAT(hak)), 'null'), IFNULL(HEX(CONCAT(kode)), 'null'), "
    "IFNULL(HEX(CONCAT(mentah)), 'null'), IFNULL(HEX(CONCAT(nol)), 'null')) FROM ragam "
    "ORDER BY id"
)


def test_every_kind_of_value_survives_the_copy_and_a_cut_copy_changes_nothing(
    killed_then_resumed: dict[str, list[str]],
    planned: Targets,
    agency_estate: EstateRuntime,
    onboarded: Onboarded,
) -> None:
    """Tables of every column type the LOAD DATA path takes (tabs, newlines, backslashes, NULL
    beside the strings 'NULL' and '\\N', zero dates, an AUTO_INCREMENT 0, binary bytes, UTF-8),
    and one it leaves to the dump (floats, a point), copied to DBaaS: equal, value for value.
    Then a copy whose source is cut midway leaves the table as it was."""
    ssh = agency_estate.ssh_argv(agency_estate.estate.host("simpeg-db")[1])
    db = planned.of("kab-bekasi").databases["mariadb"]
    server = onboarded.dc.database_admin("mariadb").server
    source = Endpoint(MARIADB, "simpeg", tuple(ssh))
    destination = Endpoint(
        MARIADB,
        db.database,
        (),
        server.host,
        server.port,
        db.user,
        str(planned.dc.ca),
        db.password,
    )
    on_source = [
        *ssh,
        "mariadb --default-character-set=utf8mb4 simpeg",
    ]
    subprocess.run(on_source, input=VARIED.encode(), check=True, timeout=60)

    def dropped() -> None:
        drop = b"DROP TABLE IF EXISTS ragam, ukur;"
        subprocess.run(on_source, input=drop, check=True, timeout=60)
        with sql.connect(server, db.user, db.password, db.database) as conn:
            conn.cursor().execute(drop.decode())
            conn.commit()

    try:
        assert sorted(source.text_columns(["ragam", "ukur"])) == ["ragam"]  # ukur: the dump
        synced = sync_database(source, destination)
        assert sorted(synced.copied) == ["ragam", "ukur"]
        wanted = subprocess.run(
            [*ssh, f'mariadb -N -B simpeg -e "{ROW_HEX}"'],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
        with sql.connect(server, db.user, db.password, db.database) as conn:
            cursor = conn.cursor()
            cursor.execute(ROW_HEX)
            copied = [row[0] for row in cursor.fetchall()]
        print("ragam, source and DBaaS:", *zip(wanted, copied, strict=True), sep="\n  ")
        assert copied == wanted
        assert len(copied) == 3
        assert destination.sums(["ragam", "ukur"]) == source.sums(["ragam", "ukur"])
        assert not sync_database(source, destination).copied  # a second sync: equal

        # The source cut after 100 bytes of rows (and failing): nothing is committed.
        cut = (
            "sh",
            "-c",
            f'{shlex.join(ssh)} "$1" | head -c 100; exit 3',
            "sh",
        )
        subprocess.run(on_source, input=b"DELETE FROM ragam WHERE id = 8;", check=True)
        columns = source.text_columns(["ragam"])["ragam"]
        with pytest.raises(TableError, match="reading ragam"):
            copy_table(
                Endpoint(MARIADB, "simpeg", cut), destination, "ragam", exists=True, columns=columns
            )
        with sql.connect(server, db.user, db.password, db.database) as conn:
            cursor = conn.cursor()
            cursor.execute(ROW_HEX)
            assert [row[0] for row in cursor.fetchall()] == copied  # the three rows, as before
    finally:
        dropped()


def test_cutover_switches_the_names_and_rollback_carries_the_dcs_writes_home(
    killed_then_resumed: dict[str, list[str]],
    planned: Targets,
    agency_estate: EstateRuntime,
    onboarded: Onboarded,
) -> None:
    work = _work(agency_estate, 1, planned)
    app = next(w for w in work if w.app is not None)
    assert app.app is not None
    assert app.service == "simpeg.bekasikab.go.id"
    with pytest.raises(MigrateError, match="needs it cut-over"):
        finalize(agency_estate, 1)
    done = cutover(agency_estate, 1, work, planned, _switch(onboarded))
    assert done.ok, [r for r in done.results if not r.ok]
    assert _resolve(onboarded, app.service) == [app.app.target_address]
    assert _page(_resolve(onboarded, app.service)[0]) == _page(app.address)
    # The agency host is read-only now: its database and its tree.
    with pytest.raises(subprocess.CalledProcessError):
        run_on(agency_estate, "simpeg-app", "touch /var/www/simpeg/uploads/x")
    with pytest.raises(MigrateError, match="cut-over"):
        run_wave(agency_estate, 1, work, planned)
    again = cutover(agency_estate, 1, work, planned, _switch(onboarded))
    assert again.ok
    assert again.changed == 0
    # Writes in the national DC after cutover: a row, an upload (a name with a space).
    db = planned.of("kab-bekasi").databases["mariadb"]
    server = onboarded.dc.database_admin("mariadb").server
    with sql.connect(server, db.user, db.password, db.database) as conn:
        conn.cursor().execute(
            "INSERT INTO pegawai (id, nip, nik, nama) VALUES "
            "(9001, '199001012020121001', '3216014101900001', 'Pegawai Setelah Cutover')"
        )
        conn.commit()
    pool = onboarded.dc.host_pool()
    upload = "/var/www/simpeg/uploads/surat setelah cutover.pdf"
    subprocess.run(
        [*pool.ssh_argv(app.app.target_address), f"echo baru > '{upload}'"],
        check=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    # Cutting over again never syncs the agency's frozen copy over the DC's writes.
    assert cutover(agency_estate, 1, work, planned, _switch(onboarded)).changed == 0
    assert _count(onboarded, "mariadb", db.database, "pegawai") == 241
    back = rollback(agency_estate, 1, work, planned, _switch(onboarded))
    assert back.ok, [r for r in back.results if not r.ok]
    assert _resolve(onboarded, app.service) == [app.address]
    assert "pegawai: 241" in _page(app.address)
    assert run_on(agency_estate, "simpeg-app", f"cat '{upload}'") == "baru"
    assert _source_count(agency_estate, "simpeg-db", "mariadb", "simpeg", "pegawai") == 241
    # Home and writable again; rolling back again never carries the DC's copy over the
    # agency's own writes made since.
    run_on(agency_estate, "simpeg-app", "echo lagi > /var/www/simpeg/uploads/after-rollback.txt")
    assert rollback(agency_estate, 1, work, planned, _switch(onboarded)).changed == 0
    assert run_on(agency_estate, "simpeg-app", "cat /var/www/simpeg/uploads/after-rollback.txt")
    run_on(agency_estate, "simpeg-app", "rm /var/www/simpeg/uploads/after-rollback.txt")


def test_every_wave_is_cut_over_then_finalized_and_only_then_retired(
    killed_then_resumed: dict[str, list[str]],
    planned: Targets,
    agency_estate: EstateRuntime,
    onboarded: Onboarded,
) -> None:
    for wave in _waves(agency_estate):
        work = _work(agency_estate, wave, planned)
        assert run_wave(agency_estate, wave, work, planned, switch=_switch(onboarded)).ok
        assert verify(agency_estate, wave, work, planned).ok
        assert cutover(agency_estate, wave, work, planned, _switch(onboarded)).ok
        for w in work:
            if w.app is not None and w.service:
                address = _resolve(onboarded, w.service)
                assert address == [w.app.target_address]
                assert f"<h1>{w.app.name}</h1>" in _page(address[0])
    last = _waves(agency_estate)[-1]
    hosts = wave_hosts(agency_estate, last)
    # A PostgreSQL wave home and back: a request filed in DBaaS after cutover comes home, and
    # the agency's database takes writes again.
    assert "layanan" in hosts
    work = _work(agency_estate, last, planned)
    db = planned.of("kab-bekasi-disdukcapil").databases["postgresql"]
    server = onboarded.dc.database_admin("postgresql").server
    with sql.connect(server, db.user, db.password, db.database) as conn:
        conn.cursor().execute(
            "INSERT INTO permohonan (id, nik, nama, jenis, status) VALUES "
            "(9001, '3216014101900001', 'Warga Setelah Cutover', 'KTP-el', 'diajukan')"
        )
        conn.commit()
    back = rollback(agency_estate, last, work, planned, _switch(onboarded))
    assert back.ok, [r for r in back.results if not r.ok]
    assert _source_count(agency_estate, "layanan", "postgresql", "layanan", "permohonan") == 321
    run_on(
        agency_estate,
        "layanan",
        "runuser -u postgres -- psql -d layanan -c 'DELETE FROM permohonan WHERE id = 9002'",
    )
    assert run_wave(agency_estate, last, work, planned, switch=_switch(onboarded)).ok
    assert cutover(agency_estate, last, work, planned, _switch(onboarded)).ok
    with pytest.raises(MigrateError, match="needs it finalized"):
        retire(agency_estate, last, hosts)
    finalize(agency_estate, last)
    with pytest.raises(MigrateError, match="rollback window is closed"):
        rollback(
            agency_estate, last, _work(agency_estate, last, planned), planned, _switch(onboarded)
        )
    assert sorted(retire(agency_estate, last, hosts)) == sorted(hosts)
    assert all(agency_estate.pid(agency_estate.estate.host(h)[1]) is None for h in hosts)


def test_no_secret_is_written_on_the_controller(
    killed_then_resumed: dict[str, list[str]],
    planned: Targets,
    onboarded: Onboarded,
    agency_estate: EstateRuntime,
) -> None:
    """Not in the runs' artifacts (events, the environment ansible-runner records), the
    staging, the journal, the state or the DC's logs: only on the PDN hosts, the targets."""
    secrets = [
        value
        for tenant in planned.tenants.values()
        for value in [db.password for db in tenant.databases.values()]
        + ([tenant.storage.secret_access_key] if tenant.storage else [])
    ]
    assert secrets
    # The agencies' own files in the staging are root's alone.
    staging = migration_state(agency_estate) / "staging"
    assert stat.S_IMODE(staging.stat().st_mode) == 0o700
    leaks, searched = plaintext_leaks(onboarded, secrets, homes=set())
    assert searched > 0
    assert leaks == []
