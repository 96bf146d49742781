"""Connections to a site's database servers (PostgreSQL, MariaDB): always TLS, the server's
certificate verified against the DC's CA and its name (127.0.0.1 in the local DC)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdn.dataservices.errors import DataServiceError
from pdn.dataservices.s3 import pem_file

POSTGRESQL = "postgresql"
MARIADB = "mariadb"
ENGINES = (POSTGRESQL, MARIADB)


@dataclass(frozen=True)
class Server:
    engine: str
    host: str
    port: int
    ca_pem: str

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise DataServiceError(f"database engine {self.engine!r}: one of {ENGINES}")
        if "BEGIN CERTIFICATE" not in self.ca_pem:
            raise DataServiceError(f"{self.engine} at {self.host}:{self.port}: no PEM CA")

    @staticmethod
    def of(found: Mapping[str, Any]) -> Server:
        """From a stack output or a provider's inputs: engine, host, port, ca_pem."""
        return Server(
            str(found["engine"]), str(found["host"]), int(found["port"]), str(found["ca_pem"])
        )

    def ca_file(self) -> Path:
        return pem_file(self.ca_pem)


def connect(server: Server, user: str, password: str, database: str | None = None) -> Any:
    """A connection (autocommit) as user; DataServiceError if the server cannot be reached
    over verified TLS or refuses the login."""
    try:
        if server.engine == POSTGRESQL:
            import psycopg  # noqa: PLC0415

            return psycopg.connect(
                host=server.host,
                port=server.port,
                user=user,
                password=password,
                dbname=database or "postgres",
                sslmode="verify-full",
                sslrootcert=str(server.ca_file()),
                connect_timeout=5,
                autocommit=True,
            )
        import pymysql  # noqa: PLC0415

        context = ssl.create_default_context(cafile=str(server.ca_file()))
        return pymysql.connect(
            host=server.host,
            port=server.port,
            user=user,
            password=password,
            database=database,
            ssl=context,
            connect_timeout=5,
            autocommit=True,
        )
    except Exception as err:
        raise DataServiceError(
            f"{server.engine} at {server.host}:{server.port} as {user}: {err}".strip()
        ) from err


def problem(server: Server, user: str, password: str) -> str | None:
    """None when the server answers a query over verified TLS, else what is wrong."""
    try:
        with connect(server, user, password) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except DataServiceError as err:
        return str(err)
    return None
