"""The GIS platform's feature service under concurrent load, against plain SQL on the same rows,
on one scratch DC, in one run.

The GIS database, the reference layer and a tenant's schema are made as `pdn up` makes them
(pdn.gis), and a layer of 5,000 points over Kabupaten Bekasi is loaded with `pdn gis load`'s
code. Then, each for a fixed time with C concurrent clients over TLS:
- OGC API Features: a page of up to 100 features in a bounding box (`/items?bbox=..&limit=100`),
  anonymously on a public layer, and with a tenant's SSO token on a private one;
- the baseline: the same query as plain SQL through psycopg (the service's own login, one
  connection per client), the features as GeoJSON text (`ST_AsGeoJSON`), rows fetched;
- the service's floor: `/health` through the same HTTPS and gunicorn workers (no pygeoapi).
Goal: feature queries at least a third of the SQL rate.

    python benchmarks/gis.py [--write-readme] [--seconds 20] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import random
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import urllib3
from common import quiet, scratch_dc, write_readme_section

from pdn.dc import gis as dc_gis
from pdn.dc.lifecycle import LocalDC
from pdn.gis import load, reference, tenants
from pdn.gis.features import Database
from pdn.inventory import LOCAL_SITE
from pdn.sso import realms
from pdn.sso import tenants as sso_tenants
from pdn.sso.admin import Admin, AdminLogin, Server

TENANT = "kab-bekasi"
POINTS = 5000
BEKASI = (107.0, -6.45, 107.25, -6.05)  # west, south, east, north
SERVICE = sso_tenants.Application("bench-gis", "service")


def _points(path: Path) -> Path:
    rnd = random.Random(3216)  # noqa: S311 (sample positions, not secrets)
    kecamatan = [f"32.16.{n:02d}" for n in range(1, 24)]
    west, south, east, north = BEKASI
    features = [
        {
            "type": "Feature",
            "properties": {"nomor": i, "kode_wilayah": rnd.choice(kecamatan)},
            "geometry": {
                "type": "Point",
                "coordinates": [rnd.uniform(west, east), rnd.uniform(south, north)],
            },
        }
        for i in range(POINTS)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _boxes(count: int = 64) -> list[tuple[float, float, float, float]]:
    """Boxes of about 1/50 of the area: ~100 points each."""
    rnd = random.Random(1)  # noqa: S311 (sample boxes)
    west, south, east, north = BEKASI
    width, height = (east - west) / 7, (north - south) / 7
    return [
        (x, y, x + width, y + height)
        for x, y in (
            (rnd.uniform(west, east - width), rnd.uniform(south, north - height))
            for _ in range(count)
        )
    ]


def _setup(dc: LocalDC, scratch: Path) -> tuple[Database, str]:
    """The GIS as `pdn up` makes it, Bekasi's layers loaded; the service's login, and a token
    of a Bekasi service client."""
    access = dc.database_admin("postgresql")
    admin = reference.GisAdmin(access.server, access.user, access.password)
    reference.ensure(admin)
    layers = (tenants.Layer("titik", "Titik", True), tenants.Layer("titik-rahasia", "Titik", False))
    tenants.ensure(admin, tenants.TenantGisSpec(TENANT, layers), "bench-Password-123")
    data = _points(scratch / "titik.geojson")
    for layer in layers:
        load.load(admin, TENANT, layer.name, data)
    sso = dc.sso_admin()
    server = Server(sso.url, sso.ca_pem)
    sso_admin = Admin(AdminLogin(server, sso.user, sso.password))
    for realm in realms.REALMS:
        realms.ensure(sso_admin, realm)
    spec = sso_tenants.TenantAccessSpec(
        realms.CIVIL_SERVANTS, TENANT, ("bench-admins",), (), (SERVICE,)
    )
    secret = sso_tenants.ensure(sso_admin, spec)[spec.client_id(SERVICE)]
    http = urllib3.PoolManager(ssl_context=ssl.create_default_context(cadata=server.ca_pem))
    answer = http.request(
        "POST",
        f"{server.issuer(realms.CIVIL_SERVANTS)}/protocol/openid-connect/token",
        body=urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": spec.client_id(SERVICE),
                "client_secret": secret,
            }
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    token = str(json.loads(answer.data)["access_token"])
    ca = dc.settings.pki_dir / "ca.crt"
    settings = dc.settings
    password = dc_gis.service_password(settings)
    return Database(
        settings.listen_host, settings.ports.postgresql, reference.SERVICE_ROLE, password, ca
    ), token


def _load(
    seconds: float, clients: int, make: Callable[[], Any], request: Callable[[Any, int], int]
) -> tuple[float, float, float, int, float]:
    """(requests/s, p50 ms, p99 ms, errors, features per request) of `clients` threads."""
    latencies: list[float] = []
    counts: list[int] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        handle = make()
        mine, got, bad, i = [], [], 0, n
        while time.monotonic() < stop:
            started = time.perf_counter()
            found = request(handle, i)
            mine.append(time.perf_counter() - started)
            bad += found < 0
            got.append(max(found, 0))
            i += clients
        with lock:
            latencies.extend(mine)
            counts.extend(got)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return (
        len(latencies) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        errors[0],
        sum(counts) / max(len(counts), 1),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    boxes = _boxes()
    figures: dict[str, tuple[float, float, float, int, float]] = {}
    with scratch_dc(LOCAL_SITE, slot=6) as (dc, dc_scratch):
        dc.up(progress=quiet)
        scratch = dc_scratch / "gis"  # removed with the scratch DC
        scratch.mkdir()
        db, token = _setup(dc, scratch)
        url, ca_pem = dc.feature_service()
        time.sleep(3)  # the service reads its catalogue again every 2 s

        def http() -> urllib3.PoolManager:
            return urllib3.PoolManager(
                ssl_context=ssl.create_default_context(cadata=ca_pem), retries=False
            )

        def features(layer: str, headers: dict[str, str]) -> Callable[[Any, int], int]:
            collection = tenants.collection_id(TENANT, layer)

            def request(pool: urllib3.PoolManager, i: int) -> int:
                bbox = ",".join(f"{v:.5f}" for v in boxes[i % len(boxes)])
                answer = pool.request(
                    "GET",
                    f"{url}/collections/{collection}/items?f=json&limit=100&bbox={bbox}",
                    headers=headers,
                )
                if answer.status != 200:
                    return -1
                return len(json.loads(answer.data)["features"])

            return request

        schema, table = tenants.schema_name(TENANT), tenants.table_name("titik")

        def sql(conn: Any, i: int) -> int:
            rows = conn.execute(
                f"SELECT fid, nomor, kode_wilayah, ST_AsGeoJSON(geom) FROM {schema}.{table}"  # noqa: S608
                " WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) LIMIT 100",
                boxes[i % len(boxes)],
            ).fetchall()
            return len(rows)

        figures["plain SQL (psycopg, TLS), the baseline"] = _load(
            args.seconds, args.clients, db.connect, sql
        )

        def health(pool: urllib3.PoolManager, _: int) -> int:
            return 0 if pool.request("GET", f"{url}/health").status == 200 else -1

        # What HTTPS through gunicorn costs before pygeoapi is reached: the service's floor.
        figures["the service's /health (HTTPS, gunicorn, one catalogue check)"] = _load(
            args.seconds, args.clients, http, health
        )
        figures["OGC API Features, public layer, anonymous"] = _load(
            args.seconds, args.clients, http, features("titik", {})
        )
        figures["OGC API Features, private layer, tenant's token"] = _load(
            args.seconds,
            args.clients,
            http,
            features("titik-rahasia", {"Authorization": f"Bearer {token}"}),
        )
    table = render(figures, args.clients, args.seconds)
    print(table)
    if args.write_readme:
        write_readme_section("gis-bench", table)
    return 0


def render(
    f: dict[str, tuple[float, float, float, int, float]], clients: int, seconds: float
) -> str:
    baseline = next(iter(f.values()))[0]
    lines = [
        f"{POINTS:,} points, a bbox page of up to 100 per query; {clients} clients, "
        f"{seconds:.0f} s each, 2 cores, one run:",
        "",
        "| query | per second | p50 ms | p99 ms | features each | errors | of the SQL rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (rate, p50, p99, errors, each) in f.items():
        lines.append(
            f"| {name} | {rate:.0f} | {p50:.0f} | {p99:.0f} | {each:.0f} | {errors} | "
            f"{rate / baseline:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
