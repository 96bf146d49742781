"""A wave's work and its journal, without hosts: what moves where, what the DC lacks (named,
with the fix), which steps each host takes, and a journal that survives a kill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pdn.estate.hosts import EstateRuntime
from pdn.estate.loader import LOCAL_ESTATE, load_estate
from pdn.migrate.discovery import HostDiscovery
from pdn.migrate.errors import MigrateError
from pdn.migrate.runner import PlaybookRun
from pdn.migrate.targets import DCAccess, from_outputs
from pdn.migrate.waves import (
    CUTOVER_STEPS,
    ORDER,
    PLAYBOOK_ORDER,
    ROLLBACK_STEPS,
    STEPS,
    Journal,
    StepResult,
    Steps,
    StepTracker,
    work_of,
)

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


def _event(kind: str, host: str, **res: Any) -> dict[str, Any]:
    return {"event": kind, "event_data": {"host": host, "task": "a task", "res": res}}


def _mark(host: str, step: str) -> dict[str, Any]:
    return _event("runner_on_ok", host, changed=False, ansible_facts={"migrate_step_done": step})


def test_each_step_is_recorded_when_its_mark_is_seen_and_a_failure_stops_its_host(
    tmp_path: Path,
) -> None:
    """The journal is written as the run goes (a kill loses no completed step); what a step
    changed is its own; a failure fails the host in the step it was in, and nothing after."""
    targets = from_outputs(ACCESS, _outputs())
    work = work_of(_runtime(tmp_path), ["simpeg-app", "simpeg-db"], _discovery(), targets)
    seen: list[StepResult] = []
    steps = Steps(_runtime(tmp_path), work, targets, on_step=seen.append)
    journal = Journal.load(tmp_path / "wave-1.json", 1)
    left = {"simpeg-db": ["database"], "simpeg-app": ["stage", "deploy", "smoke"]}
    tracker = StepTracker(steps, left, journal, tmp_path / "run")
    for event in [
        _event("runner_on_ok", "simpeg-app", changed=True),
        _event("runner_on_ok", "simpeg-db", changed=True),
        _mark("simpeg-app", "stage"),
    ]:
        tracker.event(event)
    # Recorded as soon as its mark is seen, while the run goes on.
    assert Journal.load(tmp_path / "wave-1.json", 1).done.keys() == {"simpeg-app"}
    for event in [
        _event("runner_on_ok", "simpeg-app", changed=True),
        _event("runner_on_ok", "simpeg-app", changed=True),
        _mark("simpeg-app", "deploy"),
        _event("runner_on_unreachable", "simpeg-db", msg="Connection timed out"),
        _event("runner_on_ok", "kab-bekasi-simpeg", changed=True),  # not a wave host: ignored
    ]:
        tracker.event(event)
    tracker.finish(PlaybookRun(tmp_path / "run", "failed"))
    assert [(r.host, r.step, r.ok, r.changed) for r in seen] == [
        ("simpeg-app", "stage", True, 1),
        ("simpeg-app", "deploy", True, 2),
        ("simpeg-db", "database", False, 0),
        ("simpeg-app", "smoke", False, 0),  # never reached: the run ended
    ]
    assert "unreachable: Connection timed out" in seen[2].detail
    assert steps.failed == {"simpeg-db", "simpeg-app"}
    again = Journal.load(tmp_path / "wave-1.json", 1)
    assert again.done["simpeg-app"].keys() == {"stage", "deploy"}
    assert "simpeg-db" not in again.done


def test_the_playbook_takes_the_steps_in_the_order_the_journal_expects() -> None:
    """pdn records a step when its mark is seen and expects each host's steps in PLAYBOOK_ORDER:
    the playbook's plays list them so (a looped include would not keep the order under the free
    strategy), and every step ends with its own mark."""
    playbooks = Path(__file__).resolve().parents[2] / "playbooks"
    plays = yaml.safe_load((playbooks / "migrate.yml").read_text())
    listed = tuple(
        tuple(task["ansible.builtin.include_role"]["tasks_from"] for task in play["tasks"])
        for play in plays
    )
    assert listed == PLAYBOOK_ORDER
    assert plays[0]["strategy"] == "ansible.builtin.free"
    for play in plays:
        for task in play["tasks"]:
            step = task["ansible.builtin.include_role"]["tasks_from"]
            assert task["when"] == f"'{step}' in migrate_steps[inventory_hostname] | default([])"
            tasks = yaml.safe_load((playbooks / "roles/migrate/tasks" / f"{step}.yml").read_text())
            assert tasks[-1]["ansible.builtin.set_fact"] == {"migrate_step_done": step}
    assert set(ORDER) >= {*STEPS, *CUTOVER_STEPS, *ROLLBACK_STEPS}
