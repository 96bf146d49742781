"""The DC's DNS server for the agencies' service names (dnsmasq, from Debian), on loopback: it
answers for the names the migration switches, from a records file it re-reads on SIGHUP. A
cutover points a name at the national DC; a rollback points it home again.

`resolve` is a minimal client (one A query over UDP), for the server's probe and for checks.
"""

from __future__ import annotations

import ipaddress
import os
import random
import signal
import socket
import struct
import time
from pathlib import Path

from pdn.dc.errors import DCError
from pdn.dc.processes import ProcessSpec, Supervisor
from pdn.dc.settings import DCSettings
from pdn.files import write_private

NAME = "dns"
PROBE_NAME = "dns.pdn.internal"  # always answered: the server's own health
ZONES = ("go.id", "pdn.internal")  # answered here, never forwarded


def records_file(settings: DCSettings) -> Path:
    return settings.root / "dns" / "services.hosts"


def records(settings: DCSettings) -> dict[str, str]:
    """name -> address, as the server answers them."""
    path = records_file(settings)
    found = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                address, name = line.split()[:2]
                found[name] = address
    return found


def ensure_files(settings: DCSettings) -> None:
    if not records_file(settings).exists():
        _write(settings, {})


def _write(settings: DCSettings, wanted: dict[str, str]) -> None:
    lines = [
        "# The agencies' service names (pdn migrate cutover / rollback); pdn writes this.",
        f"{settings.listen_host} {PROBE_NAME}",
    ]
    lines += [f"{address} {name}" for name, address in sorted(wanted.items()) if name != PROBE_NAME]
    path = records_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, "\n".join(lines) + "\n", mode=0o644)


RELOAD_TIMEOUT = 10.0  # seconds for the server to answer what it re-read


def set_records(settings: DCSettings, changes: dict[str, str], supervisor: Supervisor) -> bool:
    """Point each name at its address; the server re-reads its records. True if any changed."""
    for name, address in changes.items():
        ipaddress.IPv4Address(address)
        if not name or any(c.isspace() for c in name):
            raise DCError(f"{name!r} is no service name")
    current = records(settings)
    current.pop(PROBE_NAME, None)
    wanted = current | changes
    if wanted == current:
        return False
    _write(settings, wanted)
    pid = supervisor.pid(NAME)
    if pid is None:
        raise DCError("the DC's DNS server is not running: `pdn dc up`")
    os.kill(pid, signal.SIGHUP)
    # SIGHUP is asynchronous: a cutover is done once the server answers the new addresses.
    deadline = time.monotonic() + RELOAD_TIMEOUT
    for name, address in changes.items():
        while resolve(name, settings.listen_host, settings.ports.dns) != [address]:
            if time.monotonic() >= deadline:
                raise DCError(
                    f"the DC's DNS server still does not answer {name} with {address} "
                    f"{RELOAD_TIMEOUT:.0f} s after re-reading its records: see its log"
                )
            time.sleep(0.05)
    return True


def process_spec(settings: DCSettings) -> ProcessSpec:
    port = settings.ports.dns
    argv = (
        "/usr/sbin/dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",  # not /etc/dnsmasq.conf: all of its settings are here
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--pid-file=",
        "--log-facility=-",
        f"--port={port}",
        f"--listen-address={settings.listen_host}",
        "--bind-interfaces",
        f"--addn-hosts={records_file(settings)}",
        *(f"--local=/{zone}/" for zone in ZONES),  # unknown names there: NXDOMAIN, not forwarded
        "--user=root",  # it reads the records file again on SIGHUP
    )

    def problem() -> str | None:
        try:
            found = resolve(PROBE_NAME, settings.listen_host, port, timeout=1.0)
        except OSError as err:
            return f"no answer on {settings.listen_host}:{port}: {err}"
        return None if found == [settings.listen_host] else f"answers {found} for {PROBE_NAME}"

    return ProcessSpec(NAME, argv, (port,), problem)


def resolve(name: str, server: str, port: int, timeout: float = 2.0) -> list[str]:
    """The A records the server gives for name ([] for none or NXDOMAIN)."""
    ident = random.randrange(1 << 16)  # noqa: S311 (a query id, not a secret)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(query, (server, port))
        answer, _ = sock.recvfrom(4096)
    got, flags, _qd, count = struct.unpack(">HHHH", answer[:8])
    if got != ident:
        raise OSError("an answer to another query")
    if flags & 0x000F:  # NXDOMAIN, REFUSED, ...
        return []
    at = 12 + len(question) + 4
    found = []
    for _ in range(count):
        if answer[at] & 0xC0 == 0xC0:  # a compressed name
            at += 2
        else:
            while answer[at]:
                at += answer[at] + 1
            at += 1
        kind, _cls, _ttl, size = struct.unpack(">HHIH", answer[at : at + 10])
        at += 10
        if kind == 1 and size == 4:
            found.append(str(ipaddress.IPv4Address(answer[at : at + 4])))
        at += size
    return found
