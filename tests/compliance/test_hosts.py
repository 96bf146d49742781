"""Host controls (PDN hosts, estate hosts), over SSH: what each host's own tools say."""

from __future__ import annotations

from typing import Any

import pytest

from pdn.compliance import firewall, packages, timekeeping
from pdn.compliance.targets import Scope

# Where private keys live on a Debian host and its applications.
KEY_DIRS = ("/etc", "/root", "/home", "/srv", "/var/www", "/opt")
PRIVATE_KEY = r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"


SSHD_SETTINGS = "sshd -T 2>/dev/null || /usr/sbin/sshd -T"
# One command per host: each directory that exists, searched. find says 1 when a grep found
# nothing in its batch; anything on stderr is a broken search.
KEY_SEARCH = (
    f'for dir in {" ".join(KEY_DIRS)}; do [ -d "$dir" ] || continue; '
    f'find "$dir" -xdev -type f -perm -o=r -size -64k '
    f"-exec grep -l -m1 -E -e '{PRIVATE_KEY}' {{}} + ; done"
)


@pytest.mark.control("PDN-SSH-1")
@pytest.mark.commands(SSHD_SETTINGS)
def test_ssh_takes_keys_only(host: Any, run_command: Any, record_property: Any) -> None:
    said = run_command(host, SSHD_SETTINGS)
    assert said.rc == 0, f"sshd -T failed ({said.rc}): {said.stderr}"
    settings = dict(line.split(" ", 1) for line in said.stdout.splitlines() if " " in line)
    wanted = {
        "passwordauthentication": {"no"},
        "permitemptypasswords": {"no"},
        "kbdinteractiveauthentication": {"no"},
        "permitrootlogin": {"prohibit-password", "without-password", "no"},
    }
    found = {key: settings.get(key, "?") for key in wanted}
    record_property("evidence", ", ".join(f"{k} {v}" for k, v in found.items()))
    wrong = {k: v for k, v in found.items() if v not in wanted[k]}
    assert not wrong, f"sshd -T: {wrong}"


@pytest.mark.control("PDN-KEYS-1")
@pytest.mark.commands(KEY_SEARCH)
def test_no_secret_is_world_readable(host: Any, run_command: Any, record_property: Any) -> None:
    search = run_command(host, KEY_SEARCH)
    assert not search.stderr, f"the search failed: {search.stderr}"
    readable = sorted(path for path in search.stdout.split("\n") if path)
    record_property(
        "evidence",
        ", ".join(readable) or f"no private key readable by others in {' '.join(KEY_DIRS)}",
    )
    assert not readable, f"private keys readable by others: {readable}"


# What apt reads, and what dpkg has installed; nothing on the host refreshed or written.
PACKAGE_STATE = (
    f"echo '{packages.SOURCES}'; "
    "apt-get indextargets --no-release-info --format '$(SITE)' | sort -u; "
    f"echo '{packages.INSTALLED}'; "
    "dpkg-query -W -f '${db:Status-Abbrev}\\t${Package}\\t${Architecture}\\t${Version}\\n'"
)


@pytest.fixture(scope="session")
def mirror_indexes() -> dict[str, packages.MirrorIndex | packages.MirrorError]:
    """Each DC mirror's index, read once per run (by URL) however many hosts use it."""
    return {}


@pytest.mark.control("PDN-PKG-1")
@pytest.mark.commands(PACKAGE_STATE)
def test_packages_come_from_the_mirror(
    host: Any,
    run_command: Any,
    record_property: Any,
    scope: Scope,
    mirror_indexes: dict[str, packages.MirrorIndex | packages.MirrorError],
) -> None:
    mirror = scope.mirrors.get(str(host.backend.hostname))
    if mirror is None:
        pytest.skip("this run does not know the host's DC mirror (run it by `pdn comply run`)")
    if mirror not in mirror_indexes:
        try:
            mirror_indexes[mirror] = packages.read_index(mirror)
        except packages.MirrorError as err:
            mirror_indexes[mirror] = err
    said = run_command(host, PACKAGE_STATE)
    verdict = packages.judge(said.stdout or said.stderr, mirror, mirror_indexes[mirror])
    record_property("evidence", verdict.evidence)
    assert verdict.passes, verdict.evidence


RULESET = "nft -j list ruleset"


@pytest.mark.control("PDN-NET-1")
@pytest.mark.commands(RULESET)
def test_firewall_denies_by_default(host: Any, run_command: Any, record_property: Any) -> None:
    listing = run_command(host, RULESET)
    if listing.rc == 127:
        record_property("evidence", "nft is not installed: no nftables firewall")
    assert listing.rc == 0, f"{RULESET} failed ({listing.rc}): {listing.stderr.strip()}"
    verdict = firewall.judge(listing.stdout)
    record_property("evidence", verdict.evidence)
    assert verdict.passes, verdict.evidence


AUTH_LOG = "/var/log/auth.log"
# This check's own login (its connection's client address and port, from sshd's SSH_CLIENT) as
# sshd recorded it through the system log; a moment allowed for the logger to write it.
OWN_LOGIN = (
    "set -- $SSH_CLIENT; for _ in $(seq 30); do "
    f'grep -h -e "from $1 port $2 ssh2" {AUTH_LOG} 2>/dev/null | tail -n 1 | grep . && exit 0; '
    "sleep 0.1; done; "
    "echo \"this check's login from $1 port $2 is not in " + AUTH_LOG + '"; '
    'pgrep -x rsyslogd >/dev/null && echo "rsyslogd is running" || echo "rsyslogd is not running"; '
    "exit 1"
)


@pytest.mark.control("PDN-AUDIT-1")
@pytest.mark.commands(OWN_LOGIN)
def test_audit_logging_is_on(host: Any, run_command: Any, record_property: Any) -> None:
    found = run_command(host, OWN_LOGIN)
    said = " ".join(found.stdout.split()) or found.stderr.strip()
    record_property("evidence", said)
    assert found.rc == 0, said


# A host that has just booted may not have its first answer yet: up to 20 s for one (none when
# no chronyd runs to get one).
TIME_SYNC = (
    "pgrep -x chronyd >/dev/null && chronyc -n waitsync 40 0 0 0.5 >/dev/null 2>&1; "
    "chronyc -n -c tracking"
)


@pytest.mark.control("PDN-TIME-1")
@pytest.mark.commands(TIME_SYNC)
def test_time_is_synchronized(host: Any, run_command: Any, record_property: Any) -> None:
    tracking = run_command(host, TIME_SYNC)
    verdict = timekeeping.judge(tracking.stdout or tracking.stderr)
    record_property("evidence", verdict.evidence)
    assert verdict.passes, verdict.evidence
