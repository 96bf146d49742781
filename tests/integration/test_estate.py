"""The agency estate as real hosts: each its own namespace, root, hostname, sshd and services,
reached over SSH and HTTP like a server room's machines; a host killed by PID comes back with its
data; nothing is left once the estate is down; a room on this machine's own network is refused."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest

from pdn.cli.main import main
from pdn.estate.hosts import EstateRuntime
from pdn.estate.loader import load_estate
from pdn.estate.network import bridge_name, namespace_name
from pdn.estate.seed import DATABASES
from tests.integration.estate_fixtures import run_on, write_test_estate

pytestmark = pytest.mark.integration


def _page(runtime: EstateRuntime, host: str) -> str:
    _room, found = runtime.estate.host(host)
    with urllib.request.urlopen(f"http://{found.address}/", timeout=10) as answer:
        return str(answer.read().decode())


def test_each_host_is_a_server_of_its_own(agency_estate: EstateRuntime) -> None:
    for _room, host in agency_estate.estate.hosts():
        assert run_on(agency_estate, host.name, "hostname") == host.name
        addresses = run_on(agency_estate, host.name, "ip -4 -o addr show dev eth0")
        assert f"inet {host.address}/" in addresses
    # Its own processes only: PID 1 is the host's init, no process of another host is seen.
    processes = run_on(agency_estate, "simpeg-db", "ps -e -o pid=,comm=").splitlines()
    assert processes[0].split() == ["1", "pdn-host-init"]
    assert any(line.split()[1] == "mariadbd" for line in processes)
    assert not any(line.split()[1] in ("nginx", "postgres") for line in processes)


def test_the_agencies_applications_answer_with_their_data(agency_estate: EstateRuntime) -> None:
    # simpeg-app reads its staff table on simpeg-db, across the room's network.
    assert f"pegawai: {DATABASES['simpeg'].rows}" in _page(agency_estate, "simpeg-app")
    assert f"permohonan: {DATABASES['layanan'].rows}" in _page(agency_estate, "layanan")
    assert f"berita: {DATABASES['portal'].rows}" in _page(agency_estate, "portal")
    count = run_on(
        agency_estate,
        "satudata",
        "su postgres -c \"psql -tAc 'SELECT count(*) FROM penduduk_desa' satudata\"",
    )
    assert count == str(DATABASES["satudata"].rows)
    config = run_on(agency_estate, "simpeg-app", "cat /var/www/simpeg/config.php")
    _room, db = agency_estate.estate.host("simpeg-db")
    assert f"define('DB_HOST', '{db.address}');" in config  # hard-coded, as agencies do
    assert "simpeg" in run_on(agency_estate, "simpeg-app", "cat /etc/cron.d/simpeg")
    uploads = run_on(agency_estate, "simpeg-app", "ls /var/www/simpeg/uploads")
    assert "SK Bupati No. 12 Tahun 2024.pdf" in uploads.splitlines()
    # The file share: SFTP only, for its user.
    _room, arsip = agency_estate.estate.host("arsip")
    listing = subprocess.run(
        ["sftp", "-b", "-", *agency_estate.ssh_argv(arsip, "arsip")[1:]],
        input="ls\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "arsip 2024" in listing
    assert "terbaru" in listing


def test_a_host_killed_by_pid_comes_back_with_its_data(agency_estate: EstateRuntime) -> None:
    before = {s.name: s.pid for s in agency_estate.status()}
    _room, db = agency_estate.estate.host("simpeg-db")
    run_on(
        agency_estate, "simpeg-db", "mariadb -e \"INSERT INTO simpeg.unit_kerja VALUES (9, 'Uji')\""
    )
    agency_estate.stop_host(db)  # a power cut: its whole PID namespace goes
    down = {s.name: s for s in agency_estate.status()}
    assert down["simpeg-db"].pid is None
    assert not down["simpeg-db"].ssh
    assert main(["estate", "status", "--estate", "/dev/null"]) == 1  # not a valid estate file

    after = {s.name: s for s in agency_estate.up()}
    assert all(s.ssh and s.ready for s in after.values())
    assert after["simpeg-db"].pid != before["simpeg-db"]
    assert {n: s.pid for n, s in after.items() if n != "simpeg-db"} == {
        n: pid for n, pid in before.items() if n != "simpeg-db"
    }  # the others were left alone
    rows = run_on(
        agency_estate,
        "simpeg-db",
        "mariadb -N -e 'SELECT nama FROM simpeg.unit_kerja WHERE id = 9'",
    )
    assert rows == "Uji"  # the write survived; the seed was not loaded again
    assert f"pegawai: {DATABASES['simpeg'].rows}" in _page(agency_estate, "simpeg-app")


def _leftovers(runtime: EstateRuntime) -> list[str]:
    found = []
    mounts = Path("/proc/self/mountinfo").read_text()
    if str(runtime.state) in mounts:
        found.append("a mount")
    namespaces = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    for room, host in runtime.estate.hosts():
        if namespace_name(runtime.estate, host) in namespaces:
            found.append(f"namespace of {host.name}")
        if bridge_name(runtime.estate, room) in links:
            found.append(f"bridge of {room.name}")
    if runtime.state.exists():
        found.append(str(runtime.state))
    for proc in Path("/proc").iterdir():  # e.g. an SSH client keeping a connection open
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if proc.name.isdigit() and str(runtime.state) in command:
            found.append(f"process {proc.name}: {command[:80]}")
    return found


def test_an_estate_goes_without_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its own estate (other networks, other name), through the CLI as an operator runs it."""
    estate_file = write_test_estate(tmp_path / "estate.yaml", name="it-gone")
    text = estate_file.read_text().replace("198.18.196.", "198.18.197.")
    estate_file.write_text(text)
    runtime = EstateRuntime(load_estate(estate_file))
    try:
        assert main(["estate", "up", "--estate", str(estate_file)]) == 0
        assert "simpeg-app" in capsys.readouterr().out
        pids = [s.pid for s in runtime.status() if s.pid]
        assert len(pids) == 6
        assert main(["migrate", "discover", "--estate", str(estate_file)]) == 0  # SSH kept open
        assert main(["estate", "down", "--estate", str(estate_file)]) == 0
        assert _leftovers(runtime) == []
        assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
        assert main(["estate", "status", "--estate", str(estate_file)]) == 1
    finally:
        runtime.down()


def test_a_room_on_a_network_in_use_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estate_file = write_test_estate(tmp_path / "estate.yaml", name="it-clash")
    estate_file.write_text(estate_file.read_text().replace("198.18.196.", "198.18.198."))
    subprocess.run(["ip", "link", "add", "pdnitclash", "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "addr", "add", "198.18.198.1/24", "dev", "pdnitclash"], check=True)
        subprocess.run(["ip", "link", "set", "pdnitclash", "up"], check=True)
        assert main(["estate", "up", "--estate", str(estate_file)]) == 1
        said = capsys.readouterr().err
        assert said.startswith("pdn: room bkpsdm-bekasi: its network 198.18.198.0/26 overlaps")
        assert "198.18.198.0/24 on pdnitclash" in said
        assert _leftovers(EstateRuntime(load_estate(estate_file))) == []
    finally:
        subprocess.run(["ip", "link", "del", "pdnitclash"], check=False)
