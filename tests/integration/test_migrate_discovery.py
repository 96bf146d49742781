"""Discovery, assessment and wave planning against the real estate hosts, through the CLI as an
operator runs them: ansible-runner runs the discover playbook over SSH; what it found is read
from the runner's events, checked against its schema, and nothing on the hosts changes."""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pdn.cli.main import main
from pdn.estate.hosts import EstateRuntime
from pdn.migrate.assess import Strategy, assess
from pdn.migrate.discovery import HostDiscovery, discovery_dir, load_discovery
from pdn.migrate.plan import make_plan
from pdn.migrate.runner import migration_state
from tests.integration.estate_fixtures import run_on

pytestmark = pytest.mark.integration


# A login is logged by the host's sshd (the host auditing us, not us changing it); a database
# engine writes its own files when it is read (InnoDB's checkpoints, PostgreSQL's hint bits):
# the databases are compared by their content instead.
ENGINE_FILES = {("var", "log"), ("var", "lib")}
CHECKSUMS = {
    "simpeg-db": "mariadb -N -e 'CHECKSUM TABLE simpeg.pegawai, simpeg.unit_kerja EXTENDED'",
    "portal": "mariadb -N -e 'CHECKSUM TABLE portal.berita EXTENDED'",
    "layanan": 'su postgres -c "psql -At -d layanan -c '
    "'SELECT md5(string_agg(p::text, chr(10) ORDER BY id)) FROM permohonan p'\"",
    "satudata": 'su postgres -c "psql -At -d satudata -c '
    "'SELECT md5(string_agg(p::text, chr(10) ORDER BY kode_wilayah)) FROM penduduk_desa p'\"",
}


def _snapshot(runtime: EstateRuntime) -> dict[str, object]:
    """Every file a host has written (its overlay's upper layer) but logs and database files,
    and every database's content checksum."""
    found: dict[str, object] = {}
    for name, command in CHECKSUMS.items():
        found[f"{name}:checksum"] = run_on(runtime, name, command)
    for _room, host in runtime.estate.hosts():
        upper = runtime.host_dir(host) / "upper"
        for root, _dirs, files in os.walk(upper):
            if Path(root).relative_to(upper).parts[:2] in ENGINE_FILES:
                continue
            for name in files:
                st = os.lstat(Path(root) / name)
                found[f"{host.name}:{Path(root, name).relative_to(upper)}"] = (
                    st.st_size,
                    st.st_mtime_ns,
                    st.st_mode,
                )
    return found


def _worker_connected(runtime: EstateRuntime) -> None:
    """simpeg-app's report worker holds a connection to simpeg-db (it starts at boot, retrying
    each second until the database answers): wait for it, so discovery sees it on the wire."""
    _room, db = runtime.estate.host("simpeg-db")
    deadline = time.monotonic() + 30
    while True:
        if run_on(runtime, "simpeg-app", f"ss -Htn state established dst {db.address}:3306"):
            return
        assert time.monotonic() < deadline, "simpeg-app's worker never reached simpeg-db"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def discovered(agency_estate: EstateRuntime, estate_file: Path) -> dict[str, HostDiscovery]:
    _worker_connected(agency_estate)
    before = _snapshot(agency_estate)
    assert main(["migrate", "discover", "--estate", str(estate_file)]) == 0
    assert _snapshot(agency_estate) == before, "discovery changed a host"
    return load_discovery(agency_estate)


def test_discovery_sees_what_each_host_runs(
    discovered: dict[str, HostDiscovery], agency_estate: EstateRuntime
) -> None:
    assert set(discovered) == {h.name for _r, h in agency_estate.estate.hosts()}
    for name, found in discovered.items():
        assert found.os.id == "debian"
        assert found.os.hostname == name
        assert 22 in {s.port for s in found.listening}
        stored = json.loads((discovery_dir(agency_estate) / f"{name}.json").read_text())
        assert HostDiscovery.model_validate(stored) == found  # the file is the schema's
    db = discovered["simpeg-db"]
    assert {(s.port, s.process) for s in db.listening} >= {(3306, "mariadbd")}
    (server,) = db.databases
    assert server.engine == "mariadb"
    assert server.version.startswith("10.11")
    assert server.databases["simpeg"].tables["pegawai"].rows == 240
    (site,) = discovered["simpeg-app"].web_sites
    assert site.root == "/var/www/simpeg"
    assert site.uploads is not None
    assert site.uploads.files == 8
    assert any(job.line.endswith("-delete") for job in discovered["simpeg-app"].cron)
    (share,) = discovered["arsip"].shares
    assert (share.protocol, share.path) == ("sftp", "/srv/share")
    pg = discovered["satudata"].databases[0]
    assert (pg.engine, pg.version.split(".")[0]) == ("postgresql", "15")
    # No citizen's record left the host: only counts and district prefixes.
    text = (discovery_dir(agency_estate) / "simpeg-db.json").read_text()
    assert not any(len(token) == 16 and token.isdigit() for token in text.split('"'))


def test_a_second_discovery_changes_nothing_either(
    discovered: dict[str, HostDiscovery],
    agency_estate: EstateRuntime,
    estate_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = _snapshot(agency_estate)
    assert main(["migrate", "discover", "--estate", str(estate_file)]) == 0
    assert "changes made on the hosts: 0" in capsys.readouterr().out
    assert _snapshot(agency_estate) == before
    runs = sorted((migration_state(agency_estate) / "runs").iterdir())
    assert len(runs) >= 2  # every run's artifacts are kept
    events = list((runs[-1] / "artifacts").glob("*/job_events/*.json"))
    assert events


def test_assessment_moves_each_workload_and_finds_the_citizen_data(
    discovered: dict[str, HostDiscovery], agency_estate: EstateRuntime
) -> None:
    result = assess(agency_estate.estate, discovered)
    strategies = {(w.host, w.kind, w.name): w.strategy for w in result.workloads}
    assert strategies == {
        ("simpeg-app", "web-app", "simpeg"): Strategy.REHOST,
        ("simpeg-db", "database", "simpeg"): Strategy.REPLATFORM,
        ("layanan", "web-app", "layanan"): Strategy.REHOST,
        ("layanan", "database", "layanan"): Strategy.REPLATFORM,
        ("arsip", "file-share", "/srv/share"): Strategy.REPLATFORM,
        ("portal", "web-app", "portal"): Strategy.REHOST,
        ("portal", "database", "portal"): Strategy.REPLATFORM,
        ("satudata", "database", "satudata"): Strategy.REPLATFORM,
    }
    (app,) = [w for w in result.workloads if w.host == "simpeg-app"]
    assert any("hard-coded database address 198.18.196.11" in n for n in app.notes)
    assert any("local-only state: 8 uploads" in n for n in app.notes)
    assert [(d.source, d.target, d.seen, d.port) for d in result.dependencies] == [
        ("simpeg-app", "simpeg-db", "configuration", None),
        ("simpeg-app", "simpeg-db", "wire", 3306),  # its worker's connection, one way only
    ]
    findings = {(f.host, f.table, f.column): f for f in result.satu_data}
    assert set(findings) == {
        ("simpeg-db", "pegawai", "nik"),
        ("layanan", "permohonan", "nik"),
        ("simpeg-db", "pegawai", "kode_wilayah"),
        ("satudata", "penduduk_desa", "kode_wilayah"),
    }
    assert (
        "240 with a real kecamatan and a valid birth date"
        in findings[("simpeg-db", "pegawai", "nik")].detail
    )
    assert findings[("simpeg-db", "pegawai", "kode_wilayah")].proposals == (
        ("3216", "32.16", "Kabupaten Bekasi"),
    )
    village_codes = findings[("satudata", "penduduk_desa", "kode_wilayah")]
    assert len(village_codes.proposals) == 45  # the BPS-style half of the 90 villages
    assert all(code.count(".") == 3 for _v, code, _n in village_codes.proposals)


def test_waves_keep_every_dependency(
    discovered: dict[str, HostDiscovery],
    agency_estate: EstateRuntime,
    estate_file: Path,
) -> None:
    result = assess(agency_estate.estate, discovered)
    agencies = {h.name: r.agency for r, h in agency_estate.estate.hosts()}
    for max_hosts in (2, 4, 6):
        plan = make_plan(result, agencies, max_hosts)
        assert sorted(h for w in plan.waves for h in w.hosts) == sorted(agencies)
        assert all(len(w.hosts) <= max_hosts for w in plan.waves)
        for source, target in plan.dependencies:
            assert plan.wave_of(source) == plan.wave_of(target)  # they move together
            wave = next(w for w in plan.waves if source in w.hosts)
            assert wave.hosts.index(target) < wave.hosts.index(source)  # the database first
    assert len(make_plan(result, agencies, 2).waves) == 3
    assert main(["migrate", "plan", "--estate", str(estate_file), "--max-hosts", "2"]) == 0
    picture = ET.parse(migration_state(agency_estate) / "plan.svg").getroot()  # noqa: S314 (ours)
    texts = {t.text for t in picture.iter("{http://www.w3.org/2000/svg}text")}
    assert {"Wave 1", "Wave 2", "Wave 3", "simpeg-app", "satudata"} <= texts
    assert main(["migrate", "plan", "--estate", str(estate_file), "--max-hosts", "1"]) == 1


def test_assessing_before_discovery_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], estate_file: Path
) -> None:
    other = tmp_path / "estate.yaml"
    other.write_text(estate_file.read_text().replace("estate: it", "estate: it-undiscovered"))
    assert main(["migrate", "assess", "--estate", str(other)]) == 1
    said = capsys.readouterr().err
    assert "no discovery of simpeg-app" in said
    assert "run `pdn migrate discover` first" in said
    assert main(["migrate", "discover", "--estate", str(other)]) == 1
    assert "is it up? (`pdn estate up`)" in capsys.readouterr().err


def test_rehosted_applications_go_to_the_pdn_hosts_their_tenants_declare(
    discovered: dict[str, HostDiscovery], agency_estate: EstateRuntime
) -> None:
    declared = {"kab-bekasi": {"simpeg": "small"}, "kab-bekasi-disdukcapil": {}}
    result = assess(agency_estate.estate, discovered, declared)
    apps = {w.name: w for w in result.workloads if w.kind == "web-app"}
    assert apps["simpeg"].target == "PDN host kab-bekasi/simpeg (small)"
    assert apps["simpeg"].blockers == ()
    assert apps["layanan"].blockers == (
        "no PDN host for it: declare `hosts: [{name: layanan, size: small}]` in "
        "tenants/kab-bekasi-disdukcapil.yaml, then `pdn tenant up kab-bekasi-disdukcapil`",
    )


def test_a_host_cut_off_is_named_and_the_others_are_still_discovered(
    discovered: dict[str, HostDiscovery],
    agency_estate: EstateRuntime,
    estate_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _room, db = agency_estate.estate.host("simpeg-db")
    files = discovery_dir(agency_estate)
    before = {p.name: p.stat().st_mtime_ns for p in files.iterdir()}
    agency_estate.stop_host(db)  # its whole namespace gone: nothing answers at its address
    try:
        assert main(["migrate", "discover", "--estate", str(estate_file)]) == 1
        said = capsys.readouterr().err
        assert "discovery failed on simpeg-db: unreachable" in said
        assert "the 5 other host(s) were discovered" in said
        after = {p.name: p.stat().st_mtime_ns for p in files.iterdir()}
        assert after["simpeg-db.json"] == before["simpeg-db.json"]  # its last one is kept
        assert all(after[n] > before[n] for n in after if n != "simpeg-db.json")
    finally:
        agency_estate.up()
    assert main(["migrate", "discover", "--estate", str(estate_file)]) == 0
