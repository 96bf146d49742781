"""The DC's database services on the PDN hosts' network. A tenant's host (its VM) reaches DBaaS
at the host network's gateway address, as a production host reaches the DBaaS service address.
The local DC's servers listen on loopback only, so this process forwards the gateway's database
ports to them, byte for byte: TLS runs end to end between the application and the server (whose
certificate names the gateway address too), and the servers still refuse anything without it.

It binds with IP_FREEBIND: the gateway address appears when the host pool's bridge does (the
first PDN host), which may be after the DC is up.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings

NAME = "dbaas-gateway"
IP_FREEBIND = 15  # linux/in.h; not exported by Python's socket module
BUFFER = 64 * 1024


@dataclass(frozen=True)
class Route:
    listen: str  # address:port on the host network
    target: str  # address:port on loopback

    @staticmethod
    def parse(text: str) -> Route:
        listen, _, target = text.partition("=")
        return Route(listen, target)

    def __str__(self) -> str:
        return f"{self.listen}={self.target}"


def address(settings: DCSettings) -> str:
    """Where the PDN hosts reach the DC's services: their network's gateway."""
    return str(settings.host_network.network_address + 1)


def routes(settings: DCSettings) -> list[Route]:
    gateway, ports = address(settings), settings.ports
    return [
        Route(f"{gateway}:{port}", f"{settings.listen_host}:{port}")
        for port in (ports.postgresql, ports.mariadb)
    ]


def listening(where: str) -> bool:
    """Whether a socket of this machine listens on address:port (read from /proc/net/tcp, not
    by connecting: before the bridge exists the address would route out of the machine)."""
    host, _, port = where.rpartition(":")
    packed = int(ipaddress.IPv4Address(host)).to_bytes(4, "big")
    wanted = f"{int.from_bytes(packed, 'little'):08X}:{int(port):04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # TCP_LISTEN
            return True
    return False


def process_spec(settings: DCSettings) -> ProcessSpec:
    wanted = routes(settings)
    argv = (sys.executable, "-m", "pdn.dc.gateway", *(str(r) for r in wanted))

    def problem() -> str | None:
        missing = [r.listen for r in wanted if not listening(r.listen)]
        return f"not listening on {', '.join(missing)}" if missing else None

    return ProcessSpec(NAME, argv, (), problem)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One direction; its end is passed on as a half-close (the other may still answer)."""
    try:
        while data := await reader.read(BUFFER):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


def _handler(
    target: str,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    host, _, port = target.rpartition(":")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            writer.close()
            up_writer.close()

    return handle


async def _serve(wanted: list[Route]) -> None:
    servers = []
    for route in wanted:
        host, _, port = route.listen.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((host, int(port)))
        servers.append(await asyncio.start_server(_handler(route.target), sock=sock))
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str]) -> None:
    asyncio.run(_serve([Route.parse(a) for a in argv]))


if __name__ == "__main__":
    main(sys.argv[1:])
