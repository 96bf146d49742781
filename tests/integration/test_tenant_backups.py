"""Backups of tenants' object data on the real stores of two sites, proven by restores: a
drill that verifies every checksum, the ransomware drill (a tenant's data encrypted in place
with its own key, then restored from the immutable copy), an interrupted backup that leaves the
previous one usable, and a second site that is down."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pdn.dataservices import backup, db_backup, runner, schedule
from pdn.dataservices.plan import DataServiceError
from pdn.dataservices.s3 import Endpoint, client
from pdn.dataservices.sql import connect
from pdn.dc import object_storage
from pdn.inventory import LOCAL_SITE
from pdn.tenants.rollout import existing_shards, shard_stack
from tests.integration.conftest import SITE, Onboarded

pytestmark = pytest.mark.integration
TENANT = "kab-bekasi-rsud"
ZSTD_MAGIC = bytes.fromhex("28b52ffd")


def _tenant_s3(onboarded: Onboarded, slug: str) -> tuple[Any, str]:
    for shard in existing_shards(onboarded.env, SITE):
        outputs = shard_stack(onboarded.env, SITE, shard).outputs(show_secrets=True)
        share = (outputs.get("object_storage") or {}).get(slug)
        if share:
            key = outputs["object_storage_secret_keys"][slug]
            endpoint = onboarded.dc.object_storage_endpoint()
            return client(endpoint, share["access_key_id"], key), share["data_bucket"]
    raise AssertionError(f"no object storage output for {slug}")


def _contents(s3: Any, bucket: str) -> dict[str, str]:
    return {
        key: hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
        for key in backup.current_keys(s3, bucket)
    }


def _tenant_db(onboarded: Onboarded, slug: str) -> Any:
    """A connection to the tenant's MariaDB database with its own login."""
    for shard in existing_shards(onboarded.env, SITE):
        outputs = shard_stack(onboarded.env, SITE, shard).outputs(show_secrets=True)
        info = ((outputs.get("databases") or {}).get(slug) or {}).get("mariadb")
        if info:
            password = outputs["database_passwords"][slug]["mariadb"]
            server = onboarded.dc.database_admin("mariadb").server
            return connect(server, info["user"], password, info["database"])
    raise AssertionError(f"no mariadb database output for {slug}")


def _rows(conn: Any) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute("SELECT id, nama, diagnosa FROM pasien ORDER BY id")
        return list(cur.fetchall())


@pytest.fixture
def sites(onboarded: Onboarded) -> Iterator[runner.Sites]:
    yield runner.local_sites(onboarded.dc)
    onboarded.dc.up(progress=lambda _: None)  # a test may have stopped a site


@pytest.fixture
def tenant_data(onboarded: Onboarded) -> dict[str, str]:
    """Files an agency keeps (names with spaces and non-ASCII, one of 6 MiB), written with the
    tenant's own key; their sha256 by key."""
    s3, bucket = _tenant_s3(onboarded, TENANT)
    files = {
        "rekam medis/pasien-0001.pdf": os.urandom(300_000),
        "rekam medis/pasien-0002 (salinan).pdf": os.urandom(120_000),
        "laporan/Laporan Tahunan 2025 — ringkasan.docx": os.urandom(6 * 2**20),
        "foto/ruang operasi ü.jpg": os.urandom(50_000),
    }
    for key, body in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return _contents(s3, bucket)


@pytest.fixture
def tenant_rows(onboarded: Onboarded) -> list[tuple[Any, ...]]:
    """A hospital's patient table in its MariaDB database, written with its own login."""
    with _tenant_db(onboarded, TENANT) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS pasien")
        cur.execute(
            "CREATE TABLE pasien (id int primary key, nama varchar(80), diagnosa text) "
            "CHARACTER SET utf8mb4"
        )
        cur.executemany(
            "INSERT INTO pasien VALUES (%s, %s, %s)",
            [(i, f"Pasien {i} — Bekasi", f"diagnosa nomor {i} ü") for i in range(1, 501)],
        )
        return _rows(conn)


def test_a_backup_is_at_both_sites_and_a_drill_verifies_it(
    onboarded: Onboarded, sites: runner.Sites, tenant_data: dict[str, str]
) -> None:
    (result,) = runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)
    assert result.sites == (SITE, f"{SITE}-second-site")
    assert result.objects == len(tenant_data)
    # This site's copy is the data bucket's own locked versions, each held at least the tier's
    # lock days past the run; the second site holds every content in its backup bucket.
    data, backup_spec = runner._specs(onboarded.fleet(), TENANT)
    manifest = backup.read_manifest(sites.primary, backup_spec.name, result.stamp)
    assert manifest.versions_at == SITE
    held_until = backup.parse_stamp(result.stamp) + timedelta(days=data.lock_days)
    for key, entry in manifest.objects.items():
        assert entry.version, key
        head = sites.primary.s3.head_object(Bucket=data.name, Key=key, VersionId=entry.version)
        assert head["ObjectLockMode"] == data.lock_mode
        assert head["ObjectLockRetainUntilDate"] >= held_until
    assert not backup.current_keys_prefixed(sites.primary.s3, backup_spec.name, "objects/")
    stored = backup.current_keys_prefixed(sites.second.s3, backup_spec.name, "objects/")
    assert {f"objects/{e.sha256}" for e in manifest.objects.values()} <= set(stored)
    again = runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)[0]
    assert again.uploaded == 0  # nothing changed: nothing is copied twice
    for site in sites.all():
        drilled = runner.drill(
            sites, onboarded.fleet(), SITE, TENANT, from_site=site.name, progress=print
        )
        assert drilled.verified
        assert drilled.objects == len(tenant_data)
        print(f"recovery time of {TENANT} from {site.name}: {drilled.seconds:.2f}s")
    (row,) = [
        r
        for r in runner.status(sites, onboarded.fleet(), SITE)
        if r.tenant == TENANT and r.data_set.startswith("bucket")
    ]
    assert row.state == "OK", row
    assert row.sites == (SITE, f"{SITE}-second-site")
    assert row.last_drill is not None
    assert "verified" in row.last_drill


def test_ransomware_drill(
    onboarded: Onboarded,
    sites: runner.Sites,
    tenant_data: dict[str, str],
    tenant_rows: list[tuple[Any, ...]],
) -> None:
    """Encrypt the tenant's live data in place with its own key, as ransomware holding that key
    would, try to destroy the backups with it and with the platform's key (this site's: the
    data bucket's locked versions; the second site's: its backup bucket); restore from this
    site's immutable copy; nothing written up to the last backup is lost."""
    (good,) = runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)
    s3, bucket = _tenant_s3(onboarded, TENANT)
    cipher = AESGCM(AESGCM.generate_key(bit_length=256))
    for key in tenant_data:
        plain = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(Bucket=bucket, Key=key, Body=cipher.encrypt(os.urandom(12), plain, None))
    s3.put_object(Bucket=bucket, Key="BACA_SAYA_UNTUK_DEKRIPSI.txt", Body=b"bayar 10 BTC")
    with _tenant_db(onboarded, TENANT) as conn, conn.cursor() as cur:  # and its database
        for row_id, nama, diagnosa in tenant_rows:
            sealed = cipher.encrypt(os.urandom(12), f"{nama}|{diagnosa}".encode(), None).hex()
            cur.execute(
                "UPDATE pasien SET nama = %s, diagnosa = %s WHERE id = %s",
                (sealed[:80], sealed, row_id),
            )
        assert _rows(conn) != tenant_rows
    assert all(_contents(s3, bucket)[k] != tenant_data[k] for k in tenant_data)
    backup_bucket = f"{TENANT}-backup"
    with pytest.raises(ClientError):  # the tenant's key does not reach its backups
        s3.list_objects_v2(Bucket=backup_bucket)
    manifest = backup.read_manifest(sites.primary, backup_bucket, good.stamp)
    for key, entry in manifest.objects.items():  # nor removes the versions they name
        for who in (s3, sites.primary.s3):
            with pytest.raises(ClientError, match="AccessDenied"):
                who.delete_object(Bucket=bucket, Key=key, VersionId=entry.version)
            with pytest.raises(ClientError, match="AccessDenied"):  # nor shortens their lock
                who.put_object_retention(
                    Bucket=bucket,
                    Key=key,
                    VersionId=entry.version,
                    Retention={
                        "Mode": "COMPLIANCE",
                        "RetainUntilDate": datetime.now(UTC) + timedelta(hours=1),
                    },
                )
    for site in sites.all():  # nor does the platform's: the locked versions stay
        for page in site.s3.get_paginator("list_object_versions").paginate(Bucket=backup_bucket):
            version = page["Versions"][0]
            with pytest.raises(ClientError):
                site.s3.delete_object(
                    Bucket=backup_bucket, Key=version["Key"], VersionId=version["VersionId"]
                )
            break
    started = time.monotonic()
    runner.restore_live(sites, onboarded.fleet(), SITE, TENANT, from_site=SITE, progress=print)
    print(f"ransomware drill: {TENANT} recovered in {time.monotonic() - started:.2f}s")
    assert _contents(s3, bucket) == tenant_data  # the ransom note is gone from view too
    with _tenant_db(onboarded, TENANT) as conn:
        assert _rows(conn) == tenant_rows  # every row as it was at the backup
    versions = s3.list_object_versions(Bucket=bucket, Prefix="rekam medis/pasien-0001.pdf")
    assert len(versions["Versions"]) >= 3  # the encrypted one is kept, as an older version


def test_an_interrupted_backup_leaves_the_previous_one_usable(
    onboarded: Onboarded, sites: runner.Sites, tenant_data: dict[str, str]
) -> None:
    (good,) = runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)
    s3, bucket = _tenant_s3(onboarded, TENANT)
    s3.put_object(Bucket=bucket, Key="baru/a.bin", Body=os.urandom(1000))
    s3.put_object(Bucket=bucket, Key="baru/b.bin", Body=os.urandom(1000))
    data, backup_spec = runner._specs(onboarded.fleet(), TENANT)
    with pytest.raises(DataServiceError, match="stopped"):
        backup.back_up_bucket(
            TENANT, data, backup_spec, sites.primary, [sites.second], fail_after=1
        )
    (row,) = [
        r
        for r in runner.status(sites, onboarded.fleet(), SITE)
        if r.tenant == TENANT and r.data_set.startswith("bucket")
    ]
    assert row.last_good == good.stamp
    assert "failed" in row.note
    print(f"status after the interrupted run: {row.state} {row.note}")
    drilled = runner.drill(sites, onboarded.fleet(), SITE, TENANT, progress=print)
    assert drilled.verified
    assert drilled.backup == good.stamp


def test_a_backup_copied_before_the_data_bucket_was_locked_still_restores_here(
    onboarded: Onboarded, sites: runner.Sites, tenant_data: dict[str, str]
) -> None:
    """Backups made while this site copied every content into the backup bucket (a data bucket
    without Object Lock, as before it had one): the next run keeps naming those copies for
    what has not changed, and both runs drill from this site."""
    data, backup_spec = runner._specs(onboarded.fleet(), TENANT)
    unlocked = dataclasses.replace(data, object_lock=False)
    old = backup.back_up_bucket(
        TENANT, unlocked, backup_spec, sites.primary, [sites.second], progress=print
    )
    copied = backup.read_manifest(sites.primary, backup_spec.name, old.stamp)
    assert not any(e.version for e in copied.objects.values())
    here = backup.current_keys_prefixed(sites.primary.s3, backup_spec.name, "objects/")
    assert {f"objects/{e.sha256}" for e in copied.objects.values()} <= set(here)
    s3, bucket = _tenant_s3(onboarded, TENANT)
    s3.put_object(Bucket=bucket, Key="baru/surat.pdf", Body=os.urandom(2000))
    new = backup.back_up_bucket(
        TENANT, data, backup_spec, sites.primary, [sites.second], progress=print
    )
    mixed = backup.read_manifest(sites.primary, backup_spec.name, new.stamp)
    assert mixed.objects["baru/surat.pdf"].version  # the new one: its locked version
    assert not any(mixed.objects[k].version for k in tenant_data)  # the rest: the old copies
    drilled = runner.drill(sites, onboarded.fleet(), SITE, TENANT, from_site=SITE, progress=print)
    assert drilled.verified
    assert drilled.backup == new.stamp
    assert drilled.objects == len(mixed.objects)


def test_a_second_site_that_is_down_is_a_clear_error(
    onboarded: Onboarded, sites: runner.Sites
) -> None:
    onboarded.dc.supervisor.stop(object_storage.SECOND_SITE.name)
    with pytest.raises(DataServiceError, match="second-site's object store does not answer"):
        runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)


def test_an_endpoint_that_does_not_speak_tls_is_a_clear_error(
    onboarded: Onboarded, sites: runner.Sites
) -> None:
    plain = object_storage.ports_of(onboarded.dc.settings, object_storage.SECOND_SITE).s3
    admin = onboarded.dc.object_storage_admin(object_storage.SECOND_SITE)
    endpoint = onboarded.dc.object_storage_endpoint(object_storage.SECOND_SITE)
    cleartext = Endpoint(f"https://127.0.0.1:{plain}", endpoint.ca_pem)  # its plain-HTTP port
    second = backup.Site(sites.second.name, client(cleartext, admin.access_key, admin.secret_key))
    misconfigured = dataclasses.replace(sites, second=second)
    with pytest.raises(DataServiceError, match="does not speak TLS with a certificate") as err:
        runner.run(misconfigured, onboarded.fleet(), SITE, [TENANT], progress=print)
    assert "check the endpoint's port (the https one) and its CA" in str(err.value)


def test_bad_requests_name_what_to_fix(onboarded: Onboarded, sites: runner.Sites) -> None:
    with pytest.raises(DataServiceError, match="not tenants of"):
        runner.run(sites, onboarded.fleet(), SITE, ["kab-tidak-ada"], progress=print)
    with pytest.raises(DataServiceError, match="backups are kept at"):
        runner.drill(sites, onboarded.fleet(), SITE, TENANT, from_site="pdn-batam")


def test_a_database_backup_is_restored_and_verified_from_either_site(
    onboarded: Onboarded, sites: runner.Sites, tenant_rows: list[tuple[Any, ...]]
) -> None:
    runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)
    for site in sites.all():
        drilled = runner.drill_tenant(
            sites, onboarded.fleet(), SITE, TENANT, from_site=site.name, progress=print
        )
        assert drilled.verified
        (database,) = drilled.databases
        assert database.rows >= len(tenant_rows)
        print(f"recovery time of {TENANT}'s data sets from {site.name}: {drilled.seconds:.2f}s")
    rows = runner.status(sites, onboarded.fleet(), SITE)
    (db_row,) = [r for r in rows if r.tenant == TENANT and r.data_set.startswith("mariadb")]
    assert db_row.state == "OK", db_row
    assert db_row.last_drill is not None
    for site in sites.all():  # each site keeps the stream compressed
        run = db_backup.server_backups(site, "mariadb")[-1]
        manifest = db_backup.server_manifest(site, "mariadb", run)
        stored = site.s3.get_object(Bucket=db_backup.DB_BACKUP_BUCKET, Key=manifest["stream"])
        assert stored["Body"].read(4) == ZSTD_MAGIC
        assert stored["ContentLength"] == manifest["stored_bytes"] < manifest["bytes"]
        print(f"{site.name}: {manifest['bytes']} bytes streamed, {stored['ContentLength']} kept")


def _server_backup_by_hand(
    onboarded: Onboarded, site: backup.Site, stream: bytes, manifest: dict[str, Any]
) -> str:
    """A complete server backup at site made outside pdn's current code: stream and manifest."""
    run = backup.stamp()
    key = manifest.get("stream", f"mariadb/{run}.xbstream")
    site.s3.put_object(Bucket=db_backup.DB_BACKUP_BUCKET, Key=key, Body=stream)
    body = json.dumps({"engine": "mariadb", "stamp": run, **manifest}).encode()
    site.s3.put_object(Bucket=db_backup.DB_BACKUP_BUCKET, Key=f"mariadb/{run}.json", Body=body)
    return run


def test_a_server_backup_from_before_compression_restores_and_a_broken_one_is_refused(
    onboarded: Onboarded, sites: runner.Sites, tenant_rows: list[tuple[Any, ...]]
) -> None:
    database = TENANT.replace("-", "_")
    socket = onboarded.dc.settings.database_dir / "mariadb" / "mariadbd.sock"
    with tempfile.TemporaryDirectory() as scratch:
        plain = subprocess.run(
            [
                "mariadb-backup",
                "--backup",
                "--stream=xbstream",
                f"--target-dir={scratch}",
                "--user=root",
                f"--socket={socket}",
            ],
            capture_output=True,
            check=True,
            timeout=600,
        ).stdout
    tables = db_backup.checksums(socket, [database])
    # As pdn wrote them before it compressed: `<stamp>.xbstream`, no compression named.
    old = _server_backup_by_hand(
        onboarded, sites.primary, plain, {"bytes": len(plain), "databases": tables}
    )
    drilled = db_backup.drill_mariadb(sites.primary, database, print)
    assert (drilled.backup, drilled.verified) == (old, True)
    assert drilled.rows >= len(tenant_rows)

    # A compressed stream cut short: the drill says which backup could not be unpacked.
    packed = _compressed(plain)
    cut = packed[: len(packed) // 2]
    broken = _server_backup_by_hand(
        onboarded,
        sites.primary,
        cut,
        {
            "stream": f"mariadb/{backup.stamp()}-cut.xbstream.zst",
            "compression": "zstd",
            "bytes": len(plain),
            "stored_bytes": len(cut),
            "databases": tables,
        },
    )
    with pytest.raises(DataServiceError, match=r"could not unpack mariadb backup .*-cut\.xbstream"):
        db_backup.drill_mariadb(sites.primary, database, print)
    assert db_backup.server_backups(sites.primary, "mariadb")[-1] == broken
    # The next backup is the latest again, and verified.
    runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)
    assert db_backup.drill_mariadb(sites.primary, database, print).verified


def test_a_server_backup_whose_compressor_dies_midway_is_not_a_backup(
    onboarded: Onboarded, sites: runner.Sites, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)
    before = {site.name: db_backup.server_backups(site, "mariadb") for site in sites.all()}
    # A compressor SIGKILLed after 100 kB (as the OOM killer would): the stream stops.
    monkeypatch.setattr(db_backup, "COMPRESS", ("sh", "-c", "head -c 100000; kill -9 $$"))
    assert sites.mariadb is not None
    with pytest.raises(DataServiceError, match=r"zstd failed \(exit -9\).*no manifest") as err:
        db_backup.back_up_mariadb(sites.mariadb, sites.primary, [sites.second], print)
    print(f"the error: {err.value}")
    assert {site.name: db_backup.server_backups(site, "mariadb") for site in sites.all()} == before
    drilled = db_backup.drill_mariadb(sites.second, TENANT.replace("-", "_"), print)
    assert (drilled.backup, drilled.verified) == (before[sites.second.name][-1], True)


def _compressed(data: bytes) -> bytes:
    return subprocess.run(
        list(db_backup.COMPRESS), input=data, capture_output=True, check=True, timeout=600
    ).stdout


def test_a_postgresql_database_is_restored_by_pgbackrest_from_either_site(
    onboarded: Onboarded, sites: runner.Sites
) -> None:
    """kemendagri's population registry on PostgreSQL: pgBackRest's backup in each site's
    repository (full, then incremental), restored into a scratch server and compared table by
    table."""
    slug = "kemendagri"
    found = [
        (info, outputs["database_passwords"][slug]["postgresql"])
        for shard in existing_shards(onboarded.env, SITE)
        for outputs in [shard_stack(onboarded.env, SITE, shard).outputs(show_secrets=True)]
        for info in [((outputs.get("databases") or {}).get(slug) or {}).get("postgresql")]
        if info
    ]
    ((info, password),) = found
    server = onboarded.dc.database_admin("postgresql").server
    with connect(server, info["user"], password, info["database"]) as conn:
        conn.execute("DROP TABLE IF EXISTS penduduk")
        conn.execute("CREATE TABLE penduduk (nik char(16) PRIMARY KEY, nama text, kode text)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO penduduk VALUES (%s, %s, %s)",
                [(f"3216{i:012d}", f"Warga {i} — Jawa Barat", "32.16") for i in range(2000)],
            )
    runner.run(sites, onboarded.fleet(), SITE, [slug], progress=print)
    for site in sites.all():
        drilled = runner.drill_tenant(
            sites, onboarded.fleet(), SITE, slug, from_site=site.name, progress=print
        )
        assert drilled.verified
        (database,) = drilled.databases
        assert (database.engine, database.rows) == ("postgresql", 2000)
    rows = runner.status(sites, onboarded.fleet(), SITE)
    (row,) = [r for r in rows if r.tenant == slug and r.data_set.startswith("postgresql")]
    assert row.state == "OK", row
    assert row.sites == (SITE, f"{SITE}-second-site")
    # The next run within the week is incremental (on top of the last backup, not a second
    # copy of the whole server), and restores with what it depends on, from either site.
    with connect(server, info["user"], password, info["database"]) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO penduduk VALUES (%s, %s, %s)",
            [(f"3217{i:012d}", f"Warga {i} — Bandung Barat", "32.17") for i in range(500)],
        )
    runner.run(sites, onboarded.fleet(), SITE, [slug], progress=print)
    for site in sites.all():
        latest = db_backup.server_backups(site, "postgresql")[-1]
        label = db_backup.server_manifest(site, "postgresql", latest)["labels"][site.name]
        assert label.endswith("I"), label  # pgBackRest's label of an incremental backup
        drilled = runner.drill_tenant(
            sites, onboarded.fleet(), SITE, slug, from_site=site.name, progress=print
        )
        assert drilled.verified
        assert [d.rows for d in drilled.databases] == [2500]
    # Ransomware with the tenant's own login: every name encrypted, then put back from the
    # second site's repository; the damaged database is kept aside, out of the tenant's reach.
    with connect(server, info["user"], password, info["database"]) as conn:
        before = conn.execute("SELECT nik, nama FROM penduduk ORDER BY nik").fetchall()
        conn.execute("UPDATE penduduk SET nama = md5(nama || random()::text)")
    runner.restore_live(
        sites, onboarded.fleet(), SITE, slug, from_site=f"{SITE}-second-site", progress=print
    )
    with connect(server, info["user"], password, info["database"]) as conn:
        assert conn.execute("SELECT nik, nama FROM penduduk ORDER BY nik").fetchall() == before
    admin = onboarded.dc.database_admin("postgresql")
    with connect(admin.server, admin.user, admin.password) as conn:
        kept = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'kemendagri_replaced_%'"
        ).fetchall()
    assert kept, "the replaced database is kept"
    with pytest.raises(DataServiceError):
        connect(server, info["user"], password, kept[0][0])


def test_a_schedule_backs_up_only_what_is_due(onboarded: Onboarded, sites: runner.Sites) -> None:
    runner.run(sites, onboarded.fleet(), SITE, [TENANT], progress=print)
    # Just backed up: not due for its tier's period (2 h for standard).
    assert runner.run(sites, onboarded.fleet(), SITE, [TENANT], due=True, progress=print) == []


def test_the_platform_schedule_backs_up_what_is_due_as_a_dc_process(
    onboarded: Onboarded, sites: runner.Sites
) -> None:
    dc = onboarded.dc
    spec = schedule.process_spec(dc.settings, LOCAL_SITE, onboarded.tenants_dir, every=3)
    log = dc.supervisor.log_file(schedule.NAME)
    log.unlink(missing_ok=True)
    pid = dc.supervisor.start(spec)  # as `pdn up` starts it
    try:
        deadline, ticks = time.monotonic() + 300, list[str]()
        while len(ticks) < 2 and time.monotonic() < deadline:
            assert dc.supervisor.pid(schedule.NAME) == pid, log.read_text()[-2000:]
            time.sleep(1)
            text = log.read_text() if log.is_file() else ""
            ticks = [line for line in text.splitlines() if re.match(r"\d{4}-\d\d-\d\dT", line)]
        print("\n".join(ticks))
        assert len(ticks) >= 2, "no two ticks within 300 s"
        assert "FAILED" not in ticks[0]
        assert "quotas enforced; backed up" in ticks[0]
        assert "NOT VERIFIED" not in ticks[0]
        # The first left nothing due: every backup taken, every drill due done.
        assert ticks[1].endswith(" backed up 0 due tenant(s): none; drilled 0: none")
        assert spec.probe() is None  # its heartbeat is fresh
        # What the schedule did, as an operator checks it: nothing is due any more.
        assert runner.run(sites, onboarded.fleet(), SITE, due=True, progress=print) == []
        assert runner.drills_due(runner.status(sites, onboarded.fleet(), SITE)) == []
    finally:
        assert dc.supervisor.stop(schedule.NAME)
    assert dc.supervisor.pid(schedule.NAME) is None
