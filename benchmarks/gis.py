"""The GIS platform's feature service under concurrent load, against plain SQL of the same rows,
on one scratch DC, in one run.

The GIS database, the reference layer and a tenant's schema are made as `pdn up` makes them
(pdn.gis), and a layer of 5,000 points over Kabupaten Bekasi is loaded with `pdn gis load`'s
code. Then, each for a fixed time with C concurrent connections, from compiled load generators
so that the client's own cost (Python's, before) does not decide the figures:
- the baseline: the query as plain SQL (pgbench, prepared, TLS verified, one connection per
  client): the page of up to 100 features in a bounding box, in id order, geometry as GeoJSON;
- OGC API Features through the service (wrk over HTTPS, keep-alive): the same page
  (`/items?bbox=..&limit=100`), anonymously on a public layer and with a tenant's SSO token on a
  private one: what the compiled front (pdn-features) answers;
- the same query to pygeoapi behind it (plain HTTP on loopback): what the service answered
  before the front.
Every box is asked once of both paths first: the same features each. Goal: feature queries at
least a third of the SQL rate.

    python benchmarks/gis.py [--write-readme] [--seconds 20] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import urllib3
from common import quiet, scratch_dc, settle, write_readme_section

from pdn.dc import gis as dc_gis
from pdn.dc import packages
from pdn.dc.lifecycle import LocalDC
from pdn.gis import load, reference, tenants
from pdn.gis.features import Database
from pdn.inventory import LOCAL_SITE
from pdn.sso import realms
from pdn.sso import tenants as sso_tenants
from pdn.sso.admin import Admin, AdminLogin, Server

WRK = {"wrk": "4.1.0-"}  # Debian bookworm's, pinned to its release line like the DC's servers
PGBENCH = Path("/usr/lib/postgresql/15/bin/pgbench")  # the DC's PostgreSQL 15 package
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


Figures = tuple[float, float, float, int, float]  # per second, p50 ms, p99 ms, errors, features


def _bbox(box: tuple[float, float, float, float]) -> str:
    """A box as the items query's `bbox` parameter."""
    return ",".join(f"{v:.5f}" for v in box)


def _page_sql(box: tuple[float, float, float, float]) -> str:
    """The page as plain SQL: what the front asks of PostGIS, as a user would write it."""
    schema, table = tenants.schema_name(TENANT), tenants.table_name("titik")
    west, south, east, north = box
    return (
        f"SELECT fid, nomor, kode_wilayah, ST_AsGeoJSON(geom, 15) FROM {schema}.{table}"  # noqa: S608
        f" WHERE ST_Intersects(geom, ST_MakeEnvelope({west:.5f}, {south:.5f}, {east:.5f},"
        f" {north:.5f}, 4326)) ORDER BY fid LIMIT 100"
    )


def _pgbench(
    db: Database,
    boxes: list[tuple[float, float, float, float]],
    seconds: float,
    clients: int,
    work: Path,
) -> tuple[float, float, float, int]:
    """(per second, p50 ms, p99 ms, errors) from pgbench's per-transaction log."""
    scripts = []
    for n, box in enumerate(boxes):
        script = work / f"box{n}.sql"
        script.write_text(_page_sql(box) + ";\n")
        scripts += ["-f", str(script)]
    logs = work / "pgbench-log"
    logs.mkdir()
    env = {
        **os.environ,
        "PGHOST": db.host,
        "PGPORT": str(db.port),
        "PGUSER": db.user,
        "PGPASSWORD": db.password,
        "PGDATABASE": reference.DATABASE,
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(db.ca_file),
    }
    done = subprocess.run(
        [
            str(PGBENCH),
            "--no-vacuum",
            "--protocol=prepared",
            f"--client={clients}",
            "--jobs=2",
            f"--time={int(seconds)}",
            "--log",
            f"--log-prefix={logs}/tx",
            *scripts,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 120,
    )
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    latencies, first, last = [], float("inf"), 0.0
    for log in logs.iterdir():  # client transaction time_us script epoch us
        for line in log.read_text().splitlines():
            _client, _tx, micros, _script, epoch, us = line.split()[:6]
            latencies.append(int(micros) / 1000)
            at = int(epoch) + int(us) / 1e6
            first, last = min(first, at - int(micros) / 1e6), max(last, at)
    latencies.sort()
    return (
        len(latencies) / (last - first),
        latencies[len(latencies) // 2],
        latencies[int(len(latencies) * 0.99)],
        0,
    )


WRK_SCRIPT = """
boxes = {%(boxes)s}
headers = {%(headers)s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "%(path)s" .. boxes[(counter %% #boxes) + 1], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.stderr:write(string.format(
    '{"requests": %%d, "micros": %%d, "p50": %%d, "p99": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _wrk(  # noqa: PLR0917 (one load's settings)
    base: str,
    path: str,
    headers: dict[str, str],
    boxes: list[tuple[float, float, float, float]],
    seconds: float,
    clients: int,
    work: Path,
) -> tuple[float, float, float, int]:
    """(per second, p50 ms, p99 ms, errors) of wrk on base+path+bbox, from its done() summary."""
    script = work / f"wrk-{len(list(work.iterdir()))}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "boxes": ",".join(json.dumps(_bbox(b)) for b in boxes),
            "headers": ",".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()),
            "path": path,
        }
    )
    done = subprocess.run(
        [
            "wrk",
            "--threads=2",
            f"--connections={clients}",
            f"--duration={int(seconds)}s",
            f"--script={script}",
            base,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    summary = [line for line in done.stderr.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not summary:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    got = json.loads(summary[-1])
    return (
        got["requests"] / (got["micros"] / 1e6),
        got["p50"] / 1000,
        got["p99"] / 1000,
        got["errors"],
    )


def _same_features(  # noqa: PLR0917
    db: Database,
    url: str,
    ca_pem: str,
    collection: str,
    headers: dict[str, str],
    boxes: list[tuple[float, float, float, float]],
) -> float:
    """Every box asked of the service and of SQL: the same feature ids; the mean per page."""
    pool = urllib3.PoolManager(ssl_context=ssl.create_default_context(cadata=ca_pem))
    counts = []
    with db.connect() as conn:
        for box in boxes:
            rows = [str(r[0]) for r in conn.execute(_page_sql(box)).fetchall()]
            bbox = _bbox(box)
            answer = pool.request(
                "GET",
                f"{url}/collections/{collection}/items?f=json&limit=100&bbox={bbox}",
                headers=headers,
            )
            served = [str(f["id"]) for f in json.loads(answer.data)["features"]]
            if answer.status != 200 or served != rows:
                raise SystemExit(f"{collection} {bbox}: the service and SQL differ")
            counts.append(len(rows))
    return sum(counts) / len(counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    packages.ensure(print, WRK, needed_by="the GIS benchmark's HTTP load (wrk)")
    boxes = _boxes()
    figures: dict[str, Figures] = {}
    with scratch_dc(LOCAL_SITE, slot=6) as (dc, dc_scratch):
        dc.up(progress=quiet)
        work = dc_scratch / "gis"  # removed with the scratch DC
        work.mkdir()
        db, token = _setup(dc, work)
        url, ca_pem = dc.feature_service()
        time.sleep(3)  # the service reads its catalogue again every 2 s
        bearer = {"Authorization": f"Bearer {token}"}
        public, private = (tenants.collection_id(TENANT, n) for n in ("titik", "titik-rahasia"))
        each = _same_features(db, url, ca_pem, public, {}, boxes)
        _same_features(db, url, ca_pem, private, bearer, boxes)
        items = "/collections/{}/items?f=json&limit=100&bbox="
        settings = dc.settings
        behind = f"http://{settings.listen_host}:{settings.ports.gis_backend}"
        runs: dict[str, Callable[[], tuple[float, float, float, int]]] = {
            "plain SQL (pgbench, prepared, TLS), the baseline": lambda: _pgbench(
                db, boxes, args.seconds, args.clients, work
            ),
            "OGC API Features, public layer, anonymous": lambda: _wrk(
                url, items.format(public), {}, boxes, args.seconds, args.clients, work
            ),
            "OGC API Features, private layer, tenant's token": lambda: _wrk(
                url, items.format(private), bearer, boxes, args.seconds, args.clients, work
            ),
            "the same query to pygeoapi alone (behind the front, plain HTTP)": lambda: _wrk(
                behind, items.format(public), {}, boxes, args.seconds, args.clients, work
            ),
        }
        for name, run in runs.items():
            settle()
            figures[name] = (*run(), each)
    table = render(figures, args.clients, args.seconds)
    print(table)
    if args.write_readme:
        write_readme_section("gis-bench", table)
    return 0


def render(f: dict[str, Figures], clients: int, seconds: float) -> str:
    baseline = next(iter(f.values()))[0]
    lines = [
        f"{POINTS:,} points, a bbox page of up to 100 per query; {clients} connections, "
        f"{seconds:.0f} s each, 2 cores, one run (the same features each, checked box by box):",
        "",
        "| query | per second | p50 ms | p99 ms | features each | errors | of the SQL rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (rate, p50, p99, errors, each) in f.items():
        lines.append(
            f"| {name} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {each:.0f} | {errors} | "
            f"{rate / baseline:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
