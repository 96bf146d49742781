"""A migrated wave, checked on both sides (testinfra over SSH to the agency hosts and the PDN
hosts; DBaaS and object storage from the controller). Run by `pdn migrate verify --wave N`,
which hands the wave over as the `wave_context` fixture and parametrizes each control over
what the wave moved. Control ids are recorded on every test (JUnit properties)."""

from __future__ import annotations

import functools
import json
import shlex
from typing import Any

import boto3
import testinfra
from botocore.config import Config

from pdn.migrate.tables import Endpoint
from pdn.migrate.verify import WaveContext
from pdn.migrate.waves import DatabaseMove, HostWork

# Run on a host: each entry under a root with its type, mode, owner, group, size, content hash
# and link target (names as they are: spaces, non-ASCII).
LISTING = r"""
import hashlib, json, os, stat, sys
root, out = sys.argv[1], {}
for base, dirs, files in os.walk(root):
    for name in dirs + files:
        path = os.path.join(base, name)
        st = os.lstat(path)
        kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f"
        entry = {"type": kind, "mode": f"{stat.S_IMODE(st.st_mode):04o}", "uid": st.st_uid,
                 "gid": st.st_gid}
        if kind == "l":
            entry["target"] = os.readlink(path)
        elif kind == "f":
            entry["size"] = st.st_size
            with open(path, "rb") as handle:
                entry["sha256"] = hashlib.sha256(handle.read()).hexdigest()
        out[os.path.relpath(path, root)] = entry
print(json.dumps(out))
"""
GET = "python3 -c " + shlex.quote(
    "import urllib.request; "
    "print(urllib.request.urlopen('http://127.0.0.1/', timeout=10).read().decode())"
)


@functools.cache
def _host(ssh_config: str, name: str) -> Any:
    return testinfra.get_host(f"ssh://{name}", ssh_config=ssh_config)


def _on(context: WaveContext, name: str) -> Any:
    return _host(str(context.ssh_config), name)


def _listing(host: Any, root: str) -> dict[str, dict[str, Any]]:
    listed: dict[str, dict[str, Any]] = json.loads(
        host.check_output(f"python3 -c {shlex.quote(LISTING)} {shlex.quote(root)}")
    )
    return listed


def _control(record_property: Any, control: str, title: str) -> None:
    record_property("control", control)
    record_property("title", title)


def test_the_service_runs_on_its_pdn_host(
    app: HostWork, wave_context: WaveContext, record_property: Any
) -> None:
    _control(record_property, "MIG-1", "the application is served on its PDN host")
    assert app.app is not None
    target = _on(wave_context, app.app.target)
    assert target.process.filter(comm="nginx"), "nginx is not running"
    assert target.process.filter(comm="php-fpm8.2"), "PHP-FPM is not running"
    assert target.socket("tcp://0.0.0.0:80").is_listening


def test_the_application_answers_with_the_same_content(
    app: HostWork, wave_context: WaveContext, record_property: Any
) -> None:
    _control(record_property, "MIG-2", "the application answers as at the agency")
    assert app.app is not None
    source = _on(wave_context, app.host).check_output(GET)
    target = _on(wave_context, app.app.target).check_output(GET)
    record_property("answer", target[:200])
    assert target == source


def test_every_table_has_the_same_rows_and_checksum(
    database: tuple[HostWork, DatabaseMove], wave_context: WaveContext, record_property: Any
) -> None:
    _control(record_property, "MIG-3", "every table: same row count and content checksum")
    work, move = database
    source = Endpoint(
        move.engine, move.source, ssh=("ssh", "-F", str(wave_context.ssh_config), work.host)
    )
    db = wave_context.targets.of(work.tenant).databases[move.engine]
    target = Endpoint(
        move.engine,
        db.database,
        host=db.host,
        port=db.port,
        user=db.user,
        ca=str(wave_context.targets.dc.ca),
        password=db.password,
    )
    wanted = source.checksums()
    assert wanted, f"{move.source} on {work.host} has no table"
    present = set(target.tables())
    found = target.sums([t for t in wanted if t in present])
    record_property("tables", json.dumps({t: s.rows for t, s in wanted.items()}))
    assert found == wanted


def test_the_application_files_are_equal(
    app: HostWork, wave_context: WaveContext, record_property: Any
) -> None:
    _control(record_property, "MIG-4", "files equal: content, mode, owner, names, symlinks")
    assert app.app is not None
    source = _listing(_on(wave_context, app.host), app.app.root)
    target = _listing(_on(wave_context, app.app.target), app.app.root)
    config = app.app.config.removeprefix(app.app.root.rstrip("/") + "/")
    # The configuration was rewritten to DBaaS: its other settings, mode and owner are kept.
    for listing in (source, target):
        listing[config] = {k: v for k, v in listing[config].items() if k not in ("size", "sha256")}
    record_property("entries", str(len(source)))
    assert target == source
    kept = [
        line
        for host in (app.host, app.app.target)
        for line in [
            "\n".join(
                line
                for line in _on(wave_context, host).file(app.app.config).content_string.splitlines()
                if not line.startswith("define('DB_")
            )
        ]
    ]
    assert kept[0] == kept[1]


def test_the_file_share_is_in_the_tenants_bucket(
    share: tuple[HostWork, str], wave_context: WaveContext, record_property: Any
) -> None:
    _control(record_property, "MIG-5", "the file share in object storage, with its metadata")
    work, path = share
    storage = wave_context.targets.of(work.tenant).storage
    assert storage is not None
    source = {
        rel: entry
        for rel, entry in _listing(_on(wave_context, work.host), path).items()
        if entry["type"] != "d"
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=storage.endpoint,
        aws_access_key_id=storage.access_key_id,
        aws_secret_access_key=storage.secret_access_key,
        region_name="us-east-1",
        verify=str(wave_context.targets.dc.ca),
        config=Config(s3={"addressing_style": "path"}),
    )
    prefix = f"migrated/{work.host}{path}/"
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            meta = s3.head_object(Bucket=storage.bucket, Key=item["Key"])["Metadata"]
            found[item["Key"].removeprefix(prefix)] = meta
    record_property("objects", str(len(found)))
    assert found.keys() == source.keys()
    for rel, entry in source.items():
        meta = found[rel]
        assert (meta["mode"], meta["uid"], meta["gid"]) == (
            entry["mode"],
            str(entry["uid"]),
            str(entry["gid"]),
        ), rel
        if entry["type"] == "l":
            assert meta["symlink"].encode("ascii").decode("unicode_escape") == entry["target"]
        else:
            assert meta["sha256"] == entry["sha256"], rel
