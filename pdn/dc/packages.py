"""The database servers of the local DC, from Debian bookworm's packages: PostgreSQL 15 with
PostGIS 3.3 and pgBackRest 2.45, MariaDB 10.11 with mariadb-backup. Installed by `pdn dc up`
when missing, with apt (the one registry that has them), each pinned to its release line and
checked after.

Installing must not start anything: Debian's maintainer scripts start each server's default
instance, which pdn does not use (it runs its own, on loopback, with its own data directories).
A policy-rc.d that refuses every start is in place while apt runs (if none was there already).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pdn.dc.errors import DCError

# Package -> the version prefix it is pinned to (its release line in bookworm: point releases
# are security fixes, and the mirror keeps only the newest one).
PINNED = {
    "postgresql-15": "15.",
    "postgresql-15-postgis-3": "3.3.",  # PostGIS for the GIS platform (pdn.gis)
    "pgbackrest": "2.45-",
    "mariadb-server": "1:10.11.",
    "mariadb-client": "1:10.11.",
    "mariadb-backup": "1:10.11.",
    "dnsmasq-base": "2.90-",  # the agencies' service names (pdn.dc.dns)
    "zstd": "1.5.4+",  # MariaDB server backups are compressed (pdn.dataservices.db_backup)
}
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
INSTALL_TIMEOUT = 1200


@dataclass(frozen=True)
class Installed:
    package: str
    version: str  # "" when not installed


def installed(packages: tuple[str, ...] = tuple(PINNED)) -> list[Installed]:
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status} ${Version}\n", *packages],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as err:
        raise DCError(
            "dpkg-query is missing: the local DC's database servers come from Debian's "
            f"packages ({', '.join(packages)}); run it on Debian bookworm"
        ) from err
    found = {}
    for line in done.stdout.splitlines():
        name, status, *version = line.split()
        found[name] = version[0] if status == "installed" and version else ""
    return [Installed(p, found.get(p, "")) for p in packages]


def _off_pin(state: list[Installed], pinned: dict[str, str]) -> list[str]:
    return [
        f"{i.package} {i.version} (pinned to {pinned[i.package]}*)"
        for i in state
        if i.version and not i.version.startswith(pinned[i.package])
    ]


def ensure(
    progress: Callable[[str], None],
    pinned: dict[str, str] | None = None,
    needed_by: str = "the local DC (`pdn dc up`)",
) -> list[Installed]:
    """Install what is missing of pinned (default: the DC's); refuse a version off its pin.
    Needs root (as `pdn dc up` does)."""
    pinned = PINNED if pinned is None else pinned
    state = installed(tuple(pinned))
    missing = [i.package for i in state if not i.version]
    if missing:
        if os.geteuid() != 0:
            raise DCError(
                f"{needed_by} needs Debian packages {', '.join(missing)}: run it as root, or "
                f"`apt-get install {' '.join(missing)}`"
            )
        started = time.monotonic()
        progress(f"installing {', '.join(missing)} from Debian (apt, nothing started)")
        _apt_install(missing)
        state = installed(tuple(pinned))
        progress(f"installed in {time.monotonic() - started:.0f}s")
    still = [i.package for i in state if not i.version]
    if still:
        raise DCError(f"apt did not install {', '.join(still)}: see `apt-get install` output")
    wrong = _off_pin(state, pinned)
    if wrong:
        raise DCError(
            f"installed off their pins: {'; '.join(wrong)}: install the pinned release line "
            "(its PINNED table) or move the pin after testing"
        )
    return state


def _apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    guard = not POLICY_RC_D.exists()
    if guard:  # refuse every service start while apt runs
        POLICY_RC_D.write_text("#!/bin/sh\n# pdn: no service starts while installing\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
        done = _run(argv, env)
        if done.returncode != 0 and "Unable to locate package" in done.stdout + done.stderr:
            _run(["apt-get", "update", "-q"], env)  # a fresh machine has no package lists
            done = _run(argv, env)
        if done.returncode != 0:
            raise DCError(
                f"`{' '.join(argv)}` failed (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-500:]}"
            )
    finally:
        if guard:
            POLICY_RC_D.unlink(missing_ok=True)


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise DCError(f"`{' '.join(argv)}` did not finish in {INSTALL_TIMEOUT} s") from err
