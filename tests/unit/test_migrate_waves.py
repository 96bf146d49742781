"""A wave's work and its journal, without hosts: what moves where, what the DC lacks (named,
with the fix), which steps each host takes, and a journal that survives a kill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pdn.estate.hosts import EstateRuntime
from pdn.estate.loader import LOCAL_ESTATE, load_estate
from pdn.migrate.discovery import HostDiscovery
from pdn.migrate.errors import MigrateError
from pdn.migrate.targets import DCAccess, from_outputs
from pdn.migrate.waves import Journal, work_of

ACCESS = DCAccess(Path("/ca.crt"), "198.18.208.1", Path("/key"), Path("/known_hosts"))


def _found(host: str, **parts: Any) -> HostDiscovery:
    document: dict[str, Any] = {
        "schema_": "pdn.discovery/v1",
        "host": host,
        "agency": "?",
        "room": "?",
        "address": "198.18.192.10",
        "os": {
            "id": "debian",
            "version_id": "12",
            "pretty_name": "Debian GNU/Linux 12 (bookworm)",
            "kernel": "6",
            "hostname": host,
        },
        "packages": {},
        "processes": [],
        "listening": [],
        "connections": [],
        "disks": {"root_total": 1, "root_used": 1, "trees": []},
        "cron": [],
        "web_sites": [],
        "databases": [],
        "shares": [],
    }
    document.update(parts)
    return HostDiscovery.model_validate(document)


def _discovery() -> dict[str, HostDiscovery]:
    site = {
        "config": "/etc/nginx/sites-enabled/default",
        "listen": ["80"],
        "root": "/var/www/simpeg",
        "database_endpoints": [{"file": "/var/www/simpeg/config.php", "host": "198.18.192.11"}],
    }
    db = {"engine": "mariadb", "version": "10.11.6", "databases": {"simpeg": {"tables": {}}}}
    return {
        "simpeg-app": _found("simpeg-app", processes=["nginx"], web_sites=[site]),
        "simpeg-db": _found("simpeg-db", databases=[db]),
    }


def _outputs(**tenant: Any) -> list[dict[str, Any]]:
    out: dict[str, Any] = {
        "tenants": ["kab-bekasi"],
        "databases": {
            "kab-bekasi": {
                "mariadb": {
                    "host": "127.0.0.1",
                    "port": 13306,
                    "database": "kab_bekasi",
                    "user": "kab_bekasi",
                }
            }
        },
        "database_passwords": {"kab-bekasi": {"mariadb": "s3cret"}},
        "host_addresses": {"kab-bekasi": {"simpeg": "198.18.208.3"}},
    }
    out.update(tenant)
    return [out]


def _runtime(tmp_path: Path) -> EstateRuntime:
    return EstateRuntime(load_estate(LOCAL_ESTATE), tmp_path)


def test_the_app_goes_to_its_tenants_pdn_host_and_its_database_to_dbaas(tmp_path: Path) -> None:
    targets = from_outputs(ACCESS, _outputs())
    app, db = work_of(_runtime(tmp_path), ["simpeg-app", "simpeg-db"], _discovery(), targets)
    assert app.app is not None
    assert (app.app.target, app.app.target_address, app.app.engine) == (
        "kab-bekasi-simpeg",
        "198.18.208.3",
        "mariadb",
    )
    assert app.service == "simpeg.bekasikab.go.id"
    assert app.steps() == ["stage", "deploy", "smoke"]
    assert [(d.source, d.target) for d in db.databases] == [("simpeg", "kab_bekasi")]
    assert db.steps() == ["database"]
    assert "stop" not in db.applies()
    assert {"freeze", "carry-home", "thaw"} <= set(db.applies())
    assert repr(targets.of("kab-bekasi").databases["mariadb"]).count("s3cret") == 0


@pytest.mark.parametrize(
    ("outputs", "says"),
    [
        (
            {"databases": {}},
            "tenant kab-bekasi has no mariadb database: add `databases: [mariadb]` to "
            "tenants/kab-bekasi.yaml, then `make up`",
        ),
        (
            {"host_addresses": {}},
            "tenant kab-bekasi has no PDN host simpeg: add `hosts: [{name: simpeg, size: small}]`",
        ),
    ],
)
def test_what_the_dc_lacks_is_named_with_its_fix(
    tmp_path: Path, outputs: dict[str, Any], says: str
) -> None:
    targets = from_outputs(ACCESS, _outputs(**outputs))
    with pytest.raises(MigrateError, match="the wave cannot move yet") as raised:
        work_of(_runtime(tmp_path), ["simpeg-app", "simpeg-db"], _discovery(), targets)
    assert says in str(raised.value)


def test_an_agency_not_onboarded_is_named(tmp_path: Path) -> None:
    targets = from_outputs(ACCESS, _outputs(tenants=[]))
    with pytest.raises(MigrateError, match=r"tenant kab-bekasi has no stack outputs"):
        work_of(_runtime(tmp_path), ["simpeg-db"], _discovery(), targets)


def test_the_journal_is_whole_after_every_record(tmp_path: Path) -> None:
    path = tmp_path / "waves" / "wave-1.json"
    journal = Journal.load(path, 1)
    assert (journal.phase, journal.done) == ("planned", {})
    journal.record("simpeg-db", "database", 1, tmp_path)
    again = Journal.load(path, 1)
    assert again.completed("simpeg-db", "database")
    assert not again.completed("simpeg-app", "stage")
    assert json.loads(path.read_text())["wave"] == 1
    assert not path.with_suffix(".partial").exists()
