"""The DC's Debian mirror, which its hosts (and an estate's, through their room's gateway) take
every package from: the packages the hosts' root was made of (kept from its build,
pdn.estate.rootfs), plus what the DC publishes later (a security update), indexed as a Debian
archive (Packages, Release), signed with the mirror's own key, and served over HTTP by nginx in
a root of its own on the first room's gateway, beside the time server.

apt on a host trusts only that key (Signed-By), so a package reaches it only from the mirror. The
key lives in the state of the estate (or host pool) the mirror serves, made with it and gone with
it, never leaving this machine but as its public half (a production mirror keeps its key in the
DC's HSM).
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import ipaddress
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pdn.estate import rootfs
from pdn.estate.errors import EstateError
from pdn.files import private_dir

COMPONENT = "main"
ARCHITECTURE = "amd64"
SERVED = "/srv/mirror"  # in the mirror server's root; the archive is at <SERVED>/debian
ARCHIVE = f"{SERVED}/debian"
POOL = f"{ARCHIVE}/pool/{COMPONENT}"  # the root's packages (bound in from the cache, read-only)
UPDATES = f"{ARCHIVE}/pool/updates"  # what the DC published since (in the server's own root)
NGINX_CONFIG = "/etc/nginx/pdn-mirror.conf"
KEY_NAME = "PDN local DC package mirror <mirror@pdn.go.id>"
GPG_TIMEOUT = 60


def url(address: ipaddress.IPv4Address) -> str:
    """The archive's URL, as a host's apt names it."""
    return f"http://{address}/debian"


# The signing key.
def _gpg(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    gpg = shutil.which("gpg")
    if gpg is None:
        raise EstateError("gpg is missing: install it (Debian: `apt-get install gnupg`)")
    try:
        done = subprocess.run(
            [gpg, "--batch", "--homedir", str(home), "--pinentry-mode", "loopback", *args],
            capture_output=True,
            check=False,
            timeout=GPG_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as err:
        raise EstateError(f"gpg {' '.join(args[:2])} did not finish in {GPG_TIMEOUT} s") from err
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()[-300:]
        raise EstateError(f"gpg {' '.join(args[:2])} failed ({done.returncode}): {said}")
    return done


@contextlib.contextmanager
def _signing_key(home: Path) -> Iterator[Path]:
    """The mirror key's GnuPG home, made once (an Ed25519 signing key without a passphrase:
    the state directory is root's alone), held under a lock; the agent gpg starts for it is
    stopped afterwards, so no process outlives the signing."""
    private_dir(home)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (home / "pdn-mirror.gpg").is_file():
                _gpg(home, "--passphrase", "", "--quick-gen-key", KEY_NAME, "ed25519", "sign",
                     "never")  # fmt: skip
                exported = _gpg(home, "--export", KEY_NAME).stdout
                (home / "pdn-mirror.gpg.tmp").write_bytes(exported)
                (home / "pdn-mirror.gpg.tmp").rename(home / "pdn-mirror.gpg")
            yield home
        finally:
            gpgconf = shutil.which("gpgconf")
            if gpgconf is not None:
                subprocess.run(
                    [gpgconf, "--homedir", str(home), "--kill", "gpg-agent"],
                    capture_output=True,
                    check=False,
                    timeout=GPG_TIMEOUT,
                    stdin=subprocess.DEVNULL,
                )


def public_keyring(home: Path) -> Path:
    """The public half (an OpenPGP keyring) of the mirror key kept in home: what hosts' apt
    trusts the mirror by."""
    with _signing_key(home):
        return home / "pdn-mirror.gpg"


# The index.
def _paragraph(deb: Path, filename: str) -> str:
    """The deb's entry in Packages: its control fields, where it is, its size and digests."""
    try:
        control = subprocess.run(
            ["dpkg-deb", "--field", str(deb)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        ).stdout
    except subprocess.CalledProcessError as err:
        raise EstateError(f"{deb} is not a Debian package: {err.stderr.strip()}") from err
    data = deb.read_bytes()
    return (
        control.rstrip("\n")
        + f"\nFilename: {filename}\nSize: {len(data)}\n"
        + f"MD5sum: {hashlib.md5(data, usedforsecurity=False).hexdigest()}\n"
        + f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
    )


def _pool_index(pool: Path) -> str:
    """The root's pool's entries, made once per pool (400 packages: a few seconds) and kept
    beside it."""
    kept = pool.with_name(pool.name + ".Packages")
    if kept.is_file():
        return kept.read_text()
    text = "\n".join(
        _paragraph(deb, f"pool/{COMPONENT}/{deb.name}") for deb in sorted(pool.glob("*.deb"))
    )
    scratch = kept.with_name(f"{kept.name}.{os.getpid()}")
    scratch.write_text(text)
    scratch.rename(kept)
    return text


def write_archive(root: Path, pool: Path, key: Path) -> None:
    """The archive's index in the mirror server's root: Packages (the pool's and the published
    updates'), Release with their digests, signed with the key kept in key (InRelease,
    Release.gpg)."""
    archive = root / ARCHIVE.lstrip("/")
    updates = root / UPDATES.lstrip("/")
    updates.mkdir(parents=True, exist_ok=True)
    (root / POOL.lstrip("/")).mkdir(parents=True, exist_ok=True)  # where the pool is bound
    entries = [_pool_index(pool)] + [
        _paragraph(deb, f"pool/updates/{deb.name}") for deb in sorted(updates.glob("*.deb"))
    ]
    packages = "\n".join(e for e in entries if e).encode()
    suite = archive / "dists" / rootfs.SUITE
    index = f"{COMPONENT}/binary-{ARCHITECTURE}"
    (suite / index).mkdir(parents=True, exist_ok=True)
    files = {
        f"{index}/Packages": packages,
        f"{index}/Packages.gz": gzip.compress(packages, mtime=0),
    }
    for name, data in files.items():
        (suite / name).write_bytes(data)
    date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S UTC")
    release = "\n".join(
        [
            "Origin: PDN",
            "Label: PDN mirror",
            f"Suite: {rootfs.SUITE}",
            f"Codename: {rootfs.SUITE}",
            f"Date: {date}",
            f"Architectures: {ARCHITECTURE}",
            f"Components: {COMPONENT}",
            "Description: Debian packages of the national DC's hosts, as the DC publishes them",
            "SHA256:",
            *[f" {hashlib.sha256(d).hexdigest()} {len(d)} {n}" for n, d in files.items()],
        ]
    )
    (suite / "Release").write_text(release + "\n")
    with _signing_key(key) as home:
        for argv in (
            ["--clearsign", "-o", str(suite / "InRelease.new")],
            ["--detach-sign", "--armor", "-o", str(suite / "Release.gpg.new")],
        ):
            _gpg(home, "--yes", "--digest-algo", "SHA512", "--local-user", KEY_NAME, *argv,
                 str(suite / "Release"))  # fmt: skip
    # Each signature replaces its file at once: a host reading mid-way sees the old or the new.
    (suite / "InRelease.new").rename(suite / "InRelease")
    (suite / "Release.gpg.new").rename(suite / "Release.gpg")


def publish(root: Path, pool: Path, key: Path, debs: list[Path]) -> list[str]:
    """Publish debs (a security update, an agency's packaged application) on the mirror whose
    server root is root, then re-index and re-sign it; the packages' file names."""
    updates = root / UPDATES.lstrip("/")
    updates.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        _paragraph(deb, deb.name)  # refuse what is not a package before anything changes
    names = []
    for deb in debs:
        shutil.copyfile(deb, updates / deb.name)
        (updates / deb.name).chmod(0o644)
        names.append(deb.name)
    write_archive(root, pool, key)
    return names


def nginx_config(address: ipaddress.IPv4Address) -> str:
    """nginx serving the archive (files only) on address, in the foreground as its root's PID 1."""
    return f"""# pdn: the DC's package mirror, served to its hosts' rooms only
user www-data;
worker_processes 1;
daemon off;
pid /run/nginx-mirror.pid;
error_log /var/log/nginx/mirror-error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/mirror-access.log;
    sendfile on;
    server_tokens off;
    server {{
        listen {address}:80;
        root {SERVED};
        autoindex on;
        location / {{ limit_except GET {{ deny all; }} }}
    }}
}}
"""


def prepare(root: Path, address: ipaddress.IPv4Address, pool: Path, key: Path) -> None:
    """The mirror server's root: nginx's configuration and the archive's signed index."""
    config = root / NGINX_CONFIG.lstrip("/")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(nginx_config(address))
    write_archive(root, pool, key)
