"""The local DC's GIS feature service: `pdn-features` (the toolchain's, built from
toolchain/pdn-features) on HTTPS with a DC-CA certificate, answering feature queries from PostGIS
itself and handing the rest of the API to pygeoapi (`pdn.gis.server` under gunicorn) behind it
on loopback. Both read the GIS database on the DC's PostgreSQL with the service's login, and
both check every token and access rule (pygeoapi does not rely on the front).

The login (`pdn_gis_service`) and its password are the DC's: made once, kept owner-only, set
on the server at every `dc up`; what it may read the platform stack grants (the GIS database,
its catalogue, and each tenant's reader role). The password reaches the service through its
environment, never a command line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pdn.dc import passwords, pki
from pdn.dc.errors import DCError
from pdn.dc.probes import expect_ok
from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings
from pdn.gis.reference import SERVICE_ROLE
from pdn.sso.realms import CIVIL_SERVANTS

NAME = "gis"  # the front: what users reach
BACKEND_NAME = "gis-pygeoapi"
CERT_FILE = "gis"
WORKERS = 2  # gunicorn processes (one per core here), each with threads
FRONT_BINARY = "pdn-features"


def url(settings: DCSettings) -> str:
    return f"https://{settings.listen_host}:{settings.ports.gis}"


def service_password(settings: DCSettings) -> str:
    return passwords.kept(settings.root / "gis" / "service.json", ("database_password",))[
        "database_password"
    ]


def ensure_certificate(settings: DCSettings, ca: pki.KeyPair) -> pki.KeyPair:
    return pki.ensure_service_cert(
        settings.pki_dir, ca, CERT_FILE, "pdn GIS feature service", settings.listen_host
    )


def ensure_login(settings: DCSettings, ca: Path) -> None:
    """The service's login on the DC's PostgreSQL, its password in step with the kept one."""
    from psycopg import sql as pgsql  # noqa: PLC0415

    from pdn.dataservices import sql  # noqa: PLC0415
    from pdn.dataservices.databases import scram_verifier  # noqa: PLC0415
    from pdn.dataservices.errors import DataServiceError  # noqa: PLC0415
    from pdn.dc import databases  # noqa: PLC0415

    access = databases.admin_access(settings, sql.POSTGRESQL, ca)
    verifier = pgsql.Literal(scram_verifier(service_password(settings)))
    role = pgsql.Identifier(SERVICE_ROLE)
    try:
        with sql.connect(access.server, access.user, access.password) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (SERVICE_ROLE,))
            verb = "ALTER" if exists.fetchone() else "CREATE"
            conn.execute(pgsql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(role, verifier))
    except DataServiceError as err:
        raise DCError(f"cannot make the GIS service's login: {err}") from err


def process_specs(
    settings: DCSettings, ca: pki.KeyPair, sso_url: str, toolchain: Path
) -> tuple[ProcessSpec, ProcessSpec]:
    """pygeoapi behind (plain HTTP on loopback), then the front (HTTPS, the service's port)."""
    cert = pki.KeyPair(settings.pki_dir / f"{CERT_FILE}.crt", settings.pki_dir / f"{CERT_FILE}.key")
    host, port, inner = settings.listen_host, settings.ports.gis, settings.ports.gis_backend
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PDN_GIS_URL": url(settings),
        "PDN_GIS_DB_HOST": settings.listen_host,
        "PDN_GIS_DB_PORT": str(settings.ports.postgresql),
        "PDN_GIS_DB_USER": SERVICE_ROLE,
        "PDN_GIS_DB_PASSWORD": service_password(settings),
        "PDN_GIS_DB_CA": str(ca.cert),
        "PDN_GIS_ISSUER": f"{sso_url}/realms/{CIVIL_SERVANTS}",
        "PDN_GIS_SSO_CA": str(ca.cert),
    }
    backend = ProcessSpec(
        BACKEND_NAME,
        (
            sys.executable,
            "-m",
            "gunicorn",
            "--config=python:pdn.gis.gunicorn_conf",  # workers die with it
            f"--bind={host}:{inner}",
            f"--workers={WORKERS}",
            "--worker-class=gthread",
            "--threads=4",
            "--graceful-timeout=5",
            "--access-logfile=-",
            f"--worker-tmp-dir={settings.run_dir}",
            "pdn.gis.server:application()",
        ),
        (inner,),
        lambda: expect_ok(host, inner, "/health", None),
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    front = ProcessSpec(
        NAME,
        (str(toolchain / FRONT_BINARY),),
        (port,),
        # A DC made before the front ran pygeoapi itself on this port (healthy, and not the
        # front): answers through the front say `Via: 1.1 pdn-features`.
        lambda: expect_ok(host, port, "/health", ca.cert, header=("Via", FRONT_BINARY)),
        env={
            **env,
            "PDN_GIS_LISTEN": f"{host}:{port}",
            "PDN_GIS_TLS_CERT": str(cert.cert),
            "PDN_GIS_TLS_KEY": str(cert.key),
            "PDN_GIS_BACKEND": f"http://{host}:{inner}",
        },
    )
    return backend, front
