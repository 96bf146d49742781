"""The root filesystem every estate host boots from: Debian bookworm, made once by debootstrap
with the packages a typical agency server room runs, cached by its recipe and shared read-only
(each host gets an overlay of its own).

debootstrap and the packages come from Debian's mirror (the one registry that has them);
nothing is started while they install: a policy-rc.d in the new root refuses every start, or the
packages' scripts would start MariaDB and PostgreSQL in this machine's own namespaces.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pdn import paths
from pdn.estate.errors import EstateError

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What an agency server room runs: web (nginx, PHP-FPM), databases (MariaDB 10.11, PostgreSQL
# 15), cron, and SSH (with SFTP, the file shares).
PACKAGES = (
    "openssh-server",
    "python3",
    "sudo",
    "cron",
    "procps",
    "rsync",  # what the migration copies trees with
    "iproute2",
    "nftables",  # the host firewall (PDN-NET-1), loaded at boot as Debian's unit does
    "rsyslog",  # the host's logs, its logins among them (PDN-AUDIT-1)
    "chrony",  # the host's time (PDN-TIME-1), and the estate's time server
    "python3-apt",  # what Ansible's apt module drives apt with (PDN-PKG-1's fix)
    "nginx-light",
    "php8.2-fpm",
    "php8.2-mysql",
    "php8.2-pgsql",
    "mariadb-server",
    "mariadb-client",
    "postgresql-15",
)
BUILD_TIMEOUT = 1800


@dataclass(frozen=True)
class Recipe:
    suite: str = SUITE
    mirror: str = MIRROR
    packages: tuple[str, ...] = PACKAGES

    @property
    def key(self) -> str:
        text = json.dumps([self.suite, self.mirror, sorted(self.packages)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_root() -> Path:
    return paths.cache_dir() / "estate"


def rootfs_dir(recipe: Recipe = Recipe()) -> Path:
    return cache_root() / f"rootfs-{recipe.key}"


def pool_dir(recipe: Recipe = Recipe()) -> Path:
    """Every .deb the root was made of, kept from its build: what the DC's mirror serves
    (pdn.estate.mirror)."""
    return cache_root() / f"pool-{recipe.key}"


def _run(argv: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except subprocess.TimeoutExpired as err:
        raise EstateError(f"{what} did not finish within {timeout:.0f} s") from err
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise EstateError(f"{what} failed (exit {done.returncode}): {' / '.join(said)}")


def ensure_debootstrap() -> str:
    found = shutil.which("debootstrap")
    if found:
        return found
    _run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "debootstrap"],
        "installing debootstrap from Debian (`apt-get install debootstrap`)",
        600,
    )
    found = shutil.which("debootstrap")
    if not found:
        raise EstateError("debootstrap is still missing after apt-get installed it")
    return found


def ensure_rootfs(recipe: Recipe = Recipe()) -> Path:
    """The cached root for this recipe, built first if missing (a minute or two, once), and
    the pool of packages it was made of."""
    target = rootfs_dir(recipe)
    if (target / ".pdn-rootfs").is_file() and pool_dir(recipe).is_dir():
        return target
    debootstrap = ensure_debootstrap()
    cache_root().mkdir(parents=True, exist_ok=True)
    for stale in cache_root().glob(".building-*"):  # a build killed midway: ~1 GB each
        if not Path(f"/proc/{stale.name.rsplit('-', 1)[-1]}").exists():
            shutil.rmtree(stale, ignore_errors=True)
    scratch = cache_root() / f".building-{recipe.key}-{os.getpid()}"
    pool = cache_root() / f".building-pool-{recipe.key}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(pool, ignore_errors=True)
    started = time.monotonic()
    try:
        # minbase first: the packages' scripts need a policy-rc.d before they run.
        _run(
            [debootstrap, "--variant=minbase", recipe.suite, str(scratch), recipe.mirror],
            f"debootstrap {recipe.suite} from {recipe.mirror}",
            BUILD_TIMEOUT,
        )
        policy = scratch / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\n# estate hosts start their services themselves\nexit 101\n")
        policy.chmod(0o755)
        _run(
            [
                "chroot",
                str(scratch),
                "apt-get",
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                *recipe.packages,
            ],
            f"installing {len(recipe.packages)} packages into the estate root",
            BUILD_TIMEOUT,
        )
        # debootstrap's packages and apt's are both left in apt's archive: the mirror's pool.
        pool.mkdir(mode=0o755)
        for deb in (scratch / "var/cache/apt/archives").glob("*.deb"):
            shutil.move(deb, pool / deb.name)
            (pool / deb.name).chmod(0o644)
        _run(["chroot", str(scratch), "apt-get", "clean"], "apt-get clean", 120)
        for key in (scratch / "etc/ssh").glob("ssh_host_*"):
            key.unlink()  # each host makes its own
        (scratch / ".pdn-rootfs").write_text(
            json.dumps(
                {
                    "recipe": recipe.key,
                    "packages": list(recipe.packages),
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
        )
        if not pool_dir(recipe).exists():  # else another pdn built it meanwhile: keep theirs
            pool.rename(pool_dir(recipe))
        if not target.exists():
            scratch.rename(target)
    finally:
        for left in (scratch, pool):
            if left.exists():
                shutil.rmtree(left, ignore_errors=True)
    return target
