"""An estate's hosts, running: each its own network namespace on its room's bridge, its own root
(an overlay of the cached Debian root), hostname, PID and mount namespaces, sshd and services.

A host's PID 1 is the init script of services.py, run by `unshare --pid --kill-child` inside
`ip netns exec`; pdn records the unshare's PID, so stopping a host is one kill by PID: its PID
namespace dies with every process in it. Then the overlay is unmounted, the namespace deleted
(the veth pair with it), and once no host is left, the room bridges and the state go too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pdn import paths
from pdn.dc.processes import alive, terminate
from pdn.estate import mirror, network, rootfs, services
from pdn.estate.errors import EstateError
from pdn.estate.model import Estate, Host
from pdn.files import open_private_log, private_dir

BOOT_TIMEOUT = 120.0
TIME_SERVER = "time-server"
MIRROR = "mirror"
GATEWAY_SERVICES = (TIME_SERVER, MIRROR)  # not hosts of the estate's: never one's name


@dataclass(frozen=True)
class HostStatus:
    name: str
    room: str
    address: str
    pid: int | None
    ssh: bool  # its sshd answers
    ready: bool  # its services started and seeded


# The device nodes a host gets from this machine; the rest of its /dev is its own (a tmpfs), so
# what it makes there (its logger's /dev/log socket) is never this machine's or another host's.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
STD_STREAMS = ("stdin", "stdout", "stderr")


def _own_dev(dev: Path) -> str:
    """Shell commands giving a host its own /dev: a tmpfs with this machine's harmless nodes
    bound in, its own pseudo-terminals (a new devpts instance) and shared memory."""
    return " && ".join(
        [
            f"mount -t tmpfs -o mode=755,nosuid tmpfs {dev}",
            *[f"touch {dev}/{d} && mount --bind /dev/{d} {dev}/{d}" for d in DEVICES],
            f"mkdir -p {dev}/pts {dev}/shm",
            f"mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts {dev}/pts",
            f"ln -s pts/ptmx {dev}/ptmx",
            f"mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs {dev}/shm",
            f"ln -s /proc/self/fd {dev}/fd",
            *[f"ln -s /proc/self/fd/{n} {dev}/{name}" for n, name in enumerate(STD_STREAMS)],
        ]
    )


def _mounted(path: Path) -> bool:
    target = str(path.resolve())
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        return any(line.split()[4] == target for line in mounts)


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=60, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        raise EstateError(f"{what} failed: {done.stderr.strip()}")


def ssh_answers(address: str, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


class EstateRuntime:
    """Builds, reports and removes one estate's hosts; its state is files under
    ~/.local/state/pdn/estate/<estate>, so any pdn run can stop what another started."""

    def __init__(self, estate: Estate, state: Path | None = None) -> None:
        self.estate = estate
        self.state = state or paths.state_dir() / "estate" / estate.name

    # Where things are.
    def host_dir(self, host: Host) -> Path:
        if host.name in GATEWAY_SERVICES:
            return self.state / host.name
        return self.state / "hosts" / host.name

    def root(self, host: Host) -> Path:
        return self.host_dir(host) / "merged"

    def pid_file(self, host: Host) -> Path:
        return self.host_dir(host) / "host.pid"

    @property
    def key(self) -> Path:
        return self.state / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state / "known_hosts"

    @property
    def ssh_control(self) -> Path:
        """Where SSH clients keep their connections to the hosts open (ControlPersist)."""
        return self.state / "ssh-control"

    def close_connections(self) -> None:
        """End every kept-open SSH connection to the estate's hosts (by its control socket)."""
        if not self.ssh_control.is_dir():
            return
        for control in self.ssh_control.iterdir():
            subprocess.run(
                ["ssh", "-o", f"ControlPath={control}", "-O", "exit", "estate-host"],
                capture_output=True,
                check=False,
                timeout=10,
                stdin=subprocess.DEVNULL,
            )

    def pid(self, host: Host) -> int | None:
        try:
            pid = int(self.pid_file(host).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive(pid) else None

    def ensure_key(self) -> str:
        """The operator's SSH key for the estate (made once); returns the public key."""
        private_dir(self.state)
        if not self.key.exists():
            _run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "pdn-estate",
                    "-f",
                    str(self.key),
                ],
                "making the estate's SSH key",
            )
        return self.key.with_suffix(".pub").read_text()

    def ssh_argv(self, host: Host, user: str = "root") -> list[str]:
        return [
            "ssh",
            "-i",
            str(self.key),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "ConnectTimeout=5",
            f"{user}@{host.address}",
        ]

    # Up.
    def up(self) -> list[HostStatus]:
        network.check_routes(self.estate)
        lower = rootfs.ensure_rootfs()
        public_key = self.ensure_key()
        pending = [(room, host) for room, host in self.estate.hosts() if self.pid(host) is None]
        for _room, host in pending:  # every root first: an app's host writes its server's
            self._mount(host, lower)
        keyring = self.mirror_keyring().read_bytes()
        for room, host in pending:
            services.prepare(self.estate, room, host, self.root(host), public_key, keyring)
        for room in self.estate.rooms:
            network.ensure_bridge(self.estate, room)
        self._start_gateway_services(lower)  # on a gateway: after the bridges
        for room, host in pending:
            network.ensure_host_network(self.estate, room, host)
            self._boot(host)
        for _room, host in pending:
            self._wait_ready(host)
        return self.status()

    def _mount(self, host: Host, lower: Path) -> None:
        base = self.host_dir(host)
        for part in ("upper", "work", "merged"):
            (base / part).mkdir(parents=True, exist_ok=True)
        if not _mounted(base / "merged"):
            _run(
                [
                    "mount",
                    "-t",
                    "overlay",
                    "overlay",
                    "-o",
                    f"lowerdir={lower},upperdir={base / 'upper'},workdir={base / 'work'}",
                    str(base / "merged"),
                ],
                f"mounting {host.name}'s root",
            )

    def _boot(self, host: Host) -> None:
        root = self.root(host)
        (root / services.STATE.lstrip("/") / "ready").unlink(missing_ok=True)
        self._spawn(
            host, services.INIT, ["ip", "netns", "exec", network.namespace_name(self.estate, host)]
        )

    def _spawn(
        self, host: Host, init: str, inside: list[str], binds: tuple[tuple[Path, str], ...] = ()
    ) -> None:
        """Start init in the host's root with its own mount, UTS, IPC and PID namespaces (its
        network is what inside enters), binds (a directory of this machine's, where in the root)
        mounted read-only in it; its unshare's PID recorded."""
        root = self.root(host)
        bound = "".join(
            f"mount --bind {source} {root}{where} && mount -o remount,bind,ro {root}{where} && "
            for source, where in binds
        )
        script = (
            f"hostname {host.name} && mount -t proc proc {root}/proc && {bound}"
            f"{_own_dev(root / 'dev')} && mount -t tmpfs -o mode=755 tmpfs {root}/run && "
            f"mount -t tmpfs tmpfs {root}/tmp && "  # noqa: S108 (the host's own /tmp)
            f"exec chroot {root} {init}"
        )
        log = open_private_log(self.host_dir(host) / "host.log")
        try:
            proc = subprocess.Popen(
                [
                    *inside,
                    "unshare",
                    "--mount",
                    "--uts",
                    "--ipc",
                    "--pid",
                    "--fork",
                    "--kill-child",
                    "--",
                    "/bin/sh",
                    "-c",
                    script,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(log)
        self.pid_file(host).write_text(f"{proc.pid}\n")

    @property
    def time_server(self) -> Host:
        """The estate's time server: chronyd in this machine's network namespace on the first
        room's gateway (an agency room's router; for the DC's host pool, the DC itself), in a
        root of its own like a host's. It serves this machine's clock and never sets it."""
        return Host(TIME_SERVER, services.time_server(self.estate), ())

    @property
    def mirror_key(self) -> Path:
        """Where the mirror's signing key is kept (made with the estate, gone with it)."""
        return self.state / "mirror-key"

    def mirror_keyring(self) -> Path:
        """The mirror key's public half: what the hosts' apt trusts it by."""
        return mirror.public_keyring(self.mirror_key)

    @property
    def mirror(self) -> Host:
        """The estate's package mirror (pdn.estate.mirror): nginx beside the time server."""
        return Host(MIRROR, services.mirror_address(self.estate), ())

    def _start_gateway_services(self, lower: Path) -> None:
        server = self.time_server
        if self.pid(server) is None:
            self._mount(server, lower)
            services.prepare_time_server(self.estate, self.root(server))
            self._spawn(server, f"/usr/sbin/chronyd -d -x -f {services.TIME_SERVER_CONFIG}", [])
        server = self.mirror
        if self.pid(server) is None:
            self._mount(server, lower)
            mirror.prepare(self.root(server), server.address, rootfs.pool_dir(), self.mirror_key)
            self._spawn(
                server,
                f"/usr/sbin/nginx -c {mirror.NGINX_CONFIG}",
                [],
                ((rootfs.pool_dir(), mirror.POOL),),
            )

    def publish(self, debs: list[Path]) -> list[str]:
        """Publish debs on the estate's mirror (its hosts see them at their next apt update)."""
        if self.pid(self.mirror) is None:
            raise EstateError(f"the mirror of estate {self.estate.name} is not running: up first")
        return mirror.publish(self.root(self.mirror), rootfs.pool_dir(), self.mirror_key, debs)

    def _wait_ready(self, host: Host) -> None:
        ready = self.root(host) / services.STATE.lstrip("/") / "ready"
        deadline = time.monotonic() + BOOT_TIMEOUT
        while not (ready.exists() and ssh_answers(str(host.address))):
            if self.pid(host) is None:
                log = (self.host_dir(host) / "host.log").read_text(errors="replace")[-400:]
                raise EstateError(
                    f"host {host.name} stopped while booting; its log ends: {log!r} (the "
                    f"services' logs: {self.root(host)}/var/log/pdn-host/)"
                )
            if time.monotonic() > deadline:
                raise EstateError(
                    f"host {host.name} was not ready within {BOOT_TIMEOUT:.0f} s (services "
                    f"{'started' if ready.exists() else 'still starting'}, ssh "
                    f"{'answers' if ssh_answers(str(host.address)) else 'silent'}); see "
                    f"{self.root(host)}/var/log/pdn-host/"
                )
            time.sleep(0.2)

    # Status.
    def status(self) -> list[HostStatus]:
        rows = []
        for room, host in self.estate.hosts():
            pid = self.pid(host)
            ready = (
                pid is not None
                and (self.root(host) / services.STATE.lstrip("/") / "ready").exists()
            )
            rows.append(
                HostStatus(
                    host.name,
                    room.name,
                    str(host.address),
                    pid,
                    pid is not None and ssh_answers(str(host.address)),
                    ready,
                )
            )
        return rows

    # Down.
    def stop_host(self, host: Host) -> None:
        """Power the host off: SIGKILL to its unshare (which ignores SIGTERM while it waits),
        whose --kill-child takes the host's PID 1 and so its whole PID namespace."""
        pid = self.pid(host)
        if pid is not None and not terminate(pid, 0.0):
            raise EstateError(f"host {host.name} (pid {pid}) outlived SIGKILL")
        self.pid_file(host).unlink(missing_ok=True)

    def remove_host(self, host: Host) -> None:
        """One host gone: stopped by PID, its root unmounted and deleted, its namespace too."""
        self.stop_host(host)
        self.unmount(host)
        network.remove_host_network(self.estate, host)
        shutil.rmtree(self.host_dir(host), ignore_errors=True)
        if self.known_hosts.exists():  # a host made again at its address has new keys
            subprocess.run(
                ["ssh-keygen", "-R", str(host.address), "-f", str(self.known_hosts)],
                capture_output=True,
                check=False,
                timeout=10,
                stdin=subprocess.DEVNULL,
            )

    def stop_gateway_services(self) -> None:
        """The time server and the mirror stopped by PID, their roots unmounted (kept, as a
        stopped host's is)."""
        for server in (self.time_server, self.mirror):
            self.stop_host(server)
            self.unmount(server)

    def unmount(self, host: Host) -> None:
        merged = self.root(host)
        if merged.exists() and _mounted(merged):
            _run(["umount", str(merged)], f"unmounting {host.name}'s root")

    def down(self) -> None:
        """Stop every host by PID, unmount its root, delete its namespace; then the room
        bridges and the estate's state. Safe to repeat, and after a half-made `up`."""
        self.close_connections()
        for _room, host in self.estate.hosts():
            self.remove_host(host)
        self.stop_gateway_services()
        for room in self.estate.rooms:
            network.remove_bridge(self.estate, room)
        if self.state.exists():
            shutil.rmtree(self.state)
