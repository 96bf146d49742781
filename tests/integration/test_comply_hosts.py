"""`pdn comply run` on real estate hosts over SSH: the clean estate passes; hosts seeded with
weak SSH settings, a world-readable private key, a firewall switched off, a stopped logger and
NTP daemon, and a second package source fail exactly those controls, with evidence, in the JUnit
XML and the JSON report; a waiver holds the failure until it expires; `--fix` puts them right,
and the kernel then drops what the firewall does not allow. The estate's package mirror: what
the DC publishes there shows on every host as behind until the fix installs it; a package the
agency installed by hand shows as not from the mirror; a mirror killed by PID fails every host
until it is started again."""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pdn.cli.main import main
from pdn.compliance.catalog import load_catalog, parse_waivers
from pdn.compliance.fix import apply_fixes, fixes_for
from pdn.compliance.outcome import Outcome
from pdn.compliance.run import Report, estate_targets, run
from pdn.compliance.targets import HostTarget
from pdn.estate import rootfs
from pdn.estate.hosts import EstateRuntime
from tests.integration.estate_fixtures import build_deb, rebuilt, run_on

WEAK_SSH = "/etc/ssh/sshd_config.d/00-agency.conf"
FIXED_SSH = "/etc/ssh/sshd_config.d/00-pdn-hardening.conf"
LEFT_KEY = "/var/www/portal/.deploy_key"
TODAY = datetime.datetime.now(datetime.UTC).date()
HOST_CONTROLS = (
    "PDN-SSH-1",
    "PDN-KEYS-1",
    "PDN-PKG-1",
    "PDN-NET-1",
    "PDN-AUDIT-1",
    "PDN-TIME-1",
)
AGENCY_REPOSITORY = "http://repo.agency.example/debian"
STRAY_PORT = 9999
STRAY_LISTENER = (
    f"setsid python3 -m http.server {STRAY_PORT} --directory /tmp "
    ">/dev/null 2>&1 </dev/null & sleep 0.5"
)
SEEDED = {
    ("PDN-SSH-1", "estate-host/simpeg-app"),
    ("PDN-KEYS-1", "estate-host/portal"),
    ("PDN-NET-1", "estate-host/simpeg-db"),
    ("PDN-AUDIT-1", "estate-host/layanan"),
    ("PDN-TIME-1", "estate-host/arsip"),
    ("PDN-PKG-1", "estate-host/satudata"),
}


def _failed(report: Report) -> set[tuple[str, str]]:
    return {(r.control, r.target) for r in report.results if not r.outcome.ok}


def _connects(address: str, port: int) -> bool:
    """A TCP connection from pdn's side is accepted (a dropped SYN times out)."""
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


def test_a_clean_estate_passes(agency_estate: EstateRuntime, tmp_path: Path) -> None:
    targets = estate_targets(agency_estate)
    report = run(targets, load_catalog(), (), runs=tmp_path)
    assert _failed(report) == set(), [r for r in report.results if not r.outcome.ok]
    # Every host control on every host: one result each.
    assert {(r.control, r.target) for r in report.results} == {
        (control, f"estate-host/{t.name}") for control in HOST_CONTROLS for t in targets
    }
    evidence = {(r.control, r.target): r.evidence for r in report.results}
    # Each host's firewall lets in what it serves: simpeg-db its MariaDB (simpeg-app's database).
    assert "tcp in 22, 80" in evidence[("PDN-NET-1", "estate-host/portal")]
    assert "tcp in 22, 3306" in evidence[("PDN-NET-1", "estate-host/simpeg-db")]
    # Every package of every host from the estate's mirror (its first room's gateway).
    mirror = f"http://{agency_estate.estate.rooms[0].gateway}/debian"
    assert (
        f"each from the DC's mirror {mirror}, none behind it"
        in (evidence[("PDN-PKG-1", "estate-host/arsip")])
    )
    # Every control that applies to a host is checked: nothing is left in "not checked".
    assert json.loads(report.json.read_text())["unchecked"] == []
    assert "not checked: 0" in report.html.read_text()


@pytest.fixture
def seeded(agency_estate: EstateRuntime) -> Iterator[EstateRuntime]:
    """simpeg-app takes passwords over SSH; portal left a deploy key readable by everyone;
    simpeg-db's firewall was switched off (and something listens on a port nobody allowed);
    layanan's system logger was stopped, so nobody's login there is recorded; arsip's NTP
    daemon was stopped; satudata's apt also reads the agency's own repository."""
    try:
        run_on(agency_estate, "simpeg-app", f"printf 'PasswordAuthentication yes\\n' > {WEAK_SSH}")
        run_on(agency_estate, "simpeg-db", "nft flush ruleset")
        run_on(agency_estate, "simpeg-db", STRAY_LISTENER)
        run_on(agency_estate, "layanan", "pkill -x rsyslogd")
        run_on(agency_estate, "arsip", "pkill -x chronyd")
        run_on(
            agency_estate,
            "satudata",
            f"echo 'deb {AGENCY_REPOSITORY} bookworm main' >> /etc/apt/sources.list",
        )
        run_on(
            agency_estate,
            "portal",
            f"ssh-keygen -q -t ed25519 -N '' -f {LEFT_KEY} && chmod 0644 {LEFT_KEY}",
        )
        yield agency_estate
    finally:
        run_on(agency_estate, "simpeg-app", f"rm -f {WEAK_SSH} {FIXED_SSH}")
        run_on(agency_estate, "portal", f"rm -f {LEFT_KEY} {LEFT_KEY}.pub")
        run_on(agency_estate, "simpeg-db", f"pkill -f 'http[.]server {STRAY_PORT}' || true")
        run_on(agency_estate, "simpeg-db", "nft -f /etc/nftables.conf")
        run_on(agency_estate, "layanan", "pgrep -x rsyslogd || /usr/sbin/rsyslogd")
        run_on(agency_estate, "arsip", "pgrep -x chronyd || /usr/sbin/chronyd -x")
        run_on(agency_estate, "satudata", "sed -i '/repo[.]agency/d' /etc/apt/sources.list")


def test_a_seeded_estate_fails_exactly_the_seeded_controls(
    seeded: EstateRuntime, tmp_path: Path
) -> None:
    catalog = load_catalog()
    report = run(estate_targets(seeded), catalog, (), runs=tmp_path)
    assert _failed(report) == SEEDED
    evidence = {(r.control, r.target): r.evidence for r in report.results}
    assert "passwordauthentication yes" in evidence[("PDN-SSH-1", "estate-host/simpeg-app")]
    assert LEFT_KEY in evidence[("PDN-KEYS-1", "estate-host/portal")]
    assert "no input filter chain" in evidence[("PDN-NET-1", "estate-host/simpeg-db")]
    assert "rsyslogd is not running" in evidence[("PDN-AUDIT-1", "estate-host/layanan")]
    assert "Cannot talk to daemon" in evidence[("PDN-TIME-1", "estate-host/arsip")]
    assert f"apt also reads {AGENCY_REPOSITORY}" in evidence[("PDN-PKG-1", "estate-host/satudata")]
    # Every other host keeps time with the estate's time server (its first room's gateway).
    gateway = str(seeded.estate.rooms[0].gateway)
    assert f"synchronised: reference {gateway}" in evidence[("PDN-TIME-1", "estate-host/portal")]
    # A host that records logins shows this run's own.
    assert "Accepted publickey for root from" in evidence[("PDN-AUDIT-1", "estate-host/portal")]
    # JUnit XML for CI: each failure carries its control and target as properties.
    junit = ET.parse(report.junit).getroot()  # noqa: S314 (the report this run wrote)
    failing = {
        (props["control"], props["target"])
        for case in junit.iter("testcase")
        if case.find("failure") is not None
        for props in [{p.get("name"): p.get("value") for p in case.iter("property")}]
    }
    assert failing == _failed(report)
    as_json = json.loads(report.json.read_text())
    assert as_json["ok"] is False
    assert len(as_json["results"]) == len(report.results)

    waiver = {
        "control": "PDN-SSH-1",
        "target": "estate-host/simpeg-app",
        "reason": "the agency's backup tool logs in with a password until wave 2 moves it",
        "approver": "Kepala Pusat Data Nasional",
        "expires": TODAY + datetime.timedelta(days=7),
    }
    waivers = parse_waivers({"waivers": [waiver]}, "waivers.yaml", catalog)
    held = run(estate_targets(seeded), catalog, waivers, runs=tmp_path)
    assert _failed(held) == SEEDED - {("PDN-SSH-1", "estate-host/simpeg-app")}
    ssh = next(r for r in held.results if r.control == "PDN-SSH-1" and "simpeg-app" in r.target)
    assert (ssh.outcome, ssh.passed) == (Outcome.WAIVED, False)  # the check's own result kept
    expired = run(
        estate_targets(seeded),
        catalog,
        waivers,
        today=TODAY + datetime.timedelta(days=8),
        runs=tmp_path,
    )
    assert ("PDN-SSH-1", "estate-host/simpeg-app") in _failed(expired)


def test_fix_puts_the_seeded_hosts_right_and_a_second_fix_changes_nothing(
    seeded: EstateRuntime, tmp_path: Path
) -> None:
    catalog, targets = load_catalog(), estate_targets(seeded)
    report = run(targets, catalog, (), runs=tmp_path)
    assert _failed(report) == SEEDED
    assert fixes_for(report, catalog) == {
        "simpeg-app": ["comply_ssh"],
        "portal": ["comply_keys"],
        "simpeg-db": ["comply_firewall"],
        "layanan": ["comply_logging"],
        "arsip": ["comply_time"],
        "satudata": ["comply_packages"],
    }
    database = str(seeded.estate.host("simpeg-db")[1].address)
    assert _connects(database, STRAY_PORT)  # nothing stops it while the firewall is off
    # Check mode: says what it would change, and changes nothing.
    dry = apply_fixes(report, catalog, seeded, check=True)
    assert dry.run is not None
    assert not dry.run.failed
    assert dry.run.changed.get("simpeg-app", 0) > 0
    assert dry.run.changed.get("portal", 0) > 0
    assert dry.run.changed.get("simpeg-db", 0) > 0
    assert dry.run.changed.get("layanan", 0) > 0
    assert dry.run.changed.get("arsip", 0) > 0
    assert dry.run.changed.get("satudata", 0) > 0
    assert _failed(run(targets, catalog, (), runs=tmp_path)) == SEEDED
    # The fix, through ansible-runner; then every control passes.
    fixed = apply_fixes(report, catalog, seeded)
    assert fixed.run is not None
    assert not fixed.run.failed
    assert not fixed.run.unreachable
    assert _failed(run(targets, catalog, (), runs=tmp_path)) == set()
    # The running sshd took the new settings (the handler's SIGHUP), not only the files.
    log = run_on(seeded, "simpeg-app", "cat /var/log/auth.log")
    assert "Received SIGHUP; restarting." in log
    assert run_on(seeded, "portal", f"stat -c %a {LEFT_KEY}").strip() == "640"
    # The kernel drops what the firewall does not allow; what simpeg-app needs still comes in.
    assert not _connects(database, STRAY_PORT)
    assert _connects(database, 3306)
    # Idempotent: the same fixes again change nothing.
    again = apply_fixes(report, catalog, seeded)
    assert again.run is not None
    assert again.run.changed.get("simpeg-app", 0) == 0
    assert again.run.changed.get("portal", 0) == 0
    assert again.run.changed.get("simpeg-db", 0) == 0
    assert again.run.changed.get("layanan", 0) == 0
    assert again.run.changed.get("arsip", 0) == 0
    assert again.run.changed.get("satudata", 0) == 0


def test_a_host_that_cannot_be_reached_fails_every_control(
    agency_estate: EstateRuntime, tmp_path: Path
) -> None:
    """A host that does not answer is not left out of the report: each of its controls fails."""
    gone = HostTarget(
        "estate-host",
        "gone",
        "198.18.196.250",
        agency_estate.key,
        agency_estate.known_hosts,
        mirror=estate_targets(agency_estate)[0].mirror,
    )
    report = run([gone], load_catalog(), (), runs=tmp_path)
    assert {(r.control, r.target, r.outcome) for r in report.results} == {
        (control, "estate-host/gone", Outcome.FAILED) for control in HOST_CONTROLS
    }
    assert not report.ok


def _package_evidence(report: Report) -> dict[str, str]:
    return {r.target: r.evidence for r in report.results if r.control == "PDN-PKG-1"}


def test_what_the_mirror_publishes_reaches_every_host_through_the_fix(
    agency_estate: EstateRuntime,
    estate_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """satudata's agency installed its own tool by hand (not from the mirror); then the DC
    publishes that tool, packaged, and a security update of a package every host has (`pdn
    estate publish`): every host is behind until the fix installs them from the mirror."""
    catalog, targets = load_catalog(), estate_targets(agency_estate)
    tool = build_deb(tmp_path, "agency-tool", "1.0")
    pool = rootfs.pool_dir()
    update = rebuilt(next(pool.glob("sensible-utils_*.deb")), tmp_path, "+pdn1")
    satudata = agency_estate.estate.host("satudata")[1]
    try:
        subprocess.run(
            ["scp", *agency_estate.ssh_argv(satudata)[1:-1], str(tool),
             f"root@{satudata.address}:/tmp/"],
            capture_output=True, check=True, timeout=30, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        run_on(agency_estate, "satudata", f"dpkg -i /tmp/{tool.name}")
        report = run(targets, catalog, (), runs=tmp_path)
        assert _failed(report) == {("PDN-PKG-1", "estate-host/satudata")}
        assert _package_evidence(report)["estate-host/satudata"].endswith(
            "1 not from the mirror: agency-tool 1.0"
        )
        packaged = build_deb(tmp_path / "dc", "agency-tool", "1.1")
        publish = ["estate", "publish", "--estate", str(estate_file)]
        assert main([*publish, str(packaged), str(update)]) == 0
        assert f"published {packaged.name}, {update.name} on its mirror" in (
            capsys.readouterr().out
        )
        behind = run(targets, catalog, (), runs=tmp_path)
        assert _failed(behind) == {("PDN-PKG-1", f"estate-host/{t.name}") for t in targets}
        new_version = update.name.split("_")[1]
        assert (
            "1 behind the mirror: sensible-utils "
            in _package_evidence(behind)["estate-host/portal"]
        )
        assert f"(mirror: {new_version})" in _package_evidence(behind)["estate-host/portal"]
        assert "agency-tool 1.0 (mirror: 1.1)" in _package_evidence(behind)["estate-host/satudata"]
        # Check mode reads the mirror's index, shows every host would change, installs nothing.
        dry = apply_fixes(behind, catalog, agency_estate, check=True)
        assert dry.run is not None
        assert not dry.run.failed
        assert all(dry.run.changed.get(t.name, 0) > 0 for t in targets), dry.run.changed
        assert _failed(run(targets, catalog, (), runs=tmp_path)) == _failed(behind)
        fixed = apply_fixes(behind, catalog, agency_estate)
        assert fixed.run is not None
        assert not fixed.run.failed
        assert _failed(run(targets, catalog, (), runs=tmp_path)) == set()
        assert run_on(agency_estate, "satudata", "cat /usr/share/agency-tool/VERSION") == "1.1"
        assert (
            run_on(agency_estate, "arsip", "dpkg-query -W -f '${Version}' sensible-utils")
            == new_version
        )
    finally:
        for _room, host in agency_estate.estate.hosts():  # each as current as the mirror
            run_on(agency_estate, host.name, "apt-get -q update && apt-get -q -y upgrade")
        run_on(agency_estate, "satudata", "dpkg --purge agency-tool; rm -f /tmp/*.deb")


def test_a_mirror_killed_by_pid_fails_every_host_until_it_is_up_again(
    agency_estate: EstateRuntime, tmp_path: Path
) -> None:
    catalog, targets = load_catalog(), estate_targets(agency_estate)
    pid = agency_estate.pid(agency_estate.mirror)
    assert pid is not None
    try:
        os.kill(pid, signal.SIGKILL)
        report = run(targets, catalog, (), runs=tmp_path)
        assert _failed(report) == {("PDN-PKG-1", f"estate-host/{t.name}") for t in targets}
        gateway = agency_estate.estate.rooms[0].gateway
        for evidence in _package_evidence(report).values():
            assert evidence == (
                f"the DC's mirror could not be read: http://{gateway}/debian/dists/bookworm/"
                "InRelease: [Errno 111] Connection refused"
            )
    finally:
        agency_estate.up()  # starts what is not running: the mirror
    assert agency_estate.pid(agency_estate.mirror) not in {None, pid}
    assert _failed(run(targets, catalog, (), runs=tmp_path)) == set()


def test_a_file_that_is_not_a_package_is_refused_by_the_mirror(
    agency_estate: EstateRuntime,
    estate_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Refused before anything changes: the archive's signed index stays as it was."""
    signed = agency_estate.root(agency_estate.mirror) / "srv/mirror/debian/dists/bookworm/InRelease"
    before = signed.read_bytes()
    broken = tmp_path / "agency-tool_2.0_all.deb"
    broken.write_text("<html>404 Not Found</html>\n")  # what a failed download leaves
    good = build_deb(tmp_path, "agency-tool", "2.0+good")
    assert main(["estate", "publish", "--estate", str(estate_file), str(good), str(broken)]) == 1
    said = capsys.readouterr().err
    assert said.startswith(f"pdn: {broken} is not a Debian package: dpkg-deb")
    assert signed.read_bytes() == before
    updates = agency_estate.root(agency_estate.mirror) / "srv/mirror/debian/pool/updates"
    assert not list(updates.glob("agency-tool_2.0*"))
