"""An agency estate: the server rooms that consolidation empties, their hosts and what runs on
them, as typed values."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class ServiceKind(StrEnum):
    MARIADB = "mariadb"
    POSTGRESQL = "postgresql"
    WEB = "web"  # nginx + PHP-FPM serving an application
    FILE_SHARE = "file-share"  # SFTP, a directory of the agency's documents
    CRON = "cron"


@dataclass(frozen=True)
class App:
    """A PHP application on a host: its database (here or on another host of the room)."""

    name: str
    engine: ServiceKind  # MARIADB or POSTGRESQL
    database_host: str  # a host of the same room; the app's own host when local
    service: str | None = None  # the name citizens reach it by (DNS), switched at cutover


@dataclass(frozen=True)
class Host:
    name: str
    address: ipaddress.IPv4Address
    services: tuple[ServiceKind, ...]
    app: App | None = None
    databases: tuple[str, ...] = ()  # the seeded databases it serves (see seed.py)
    # The TCP ports its firewall lets in; None: SSH and the services it serves others.
    firewall: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Room:
    """One agency's server room: its own network, gateway first."""

    name: str
    agency: str  # the tenant slug its workloads move to
    network: ipaddress.IPv4Network
    hosts: tuple[Host, ...]

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.network.network_address + 1


@dataclass(frozen=True)
class Estate:
    name: str
    rooms: tuple[Room, ...]

    def hosts(self) -> Iterator[tuple[Room, Host]]:
        for room in self.rooms:
            for host in room.hosts:
                yield room, host

    def host(self, name: str) -> tuple[Room, Host]:
        for room, host in self.hosts():
            if host.name == name:
                return room, host
        raise KeyError(name)
