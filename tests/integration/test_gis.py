"""The GIS platform on the session's DC, for real: the platform stack made the PostGIS database
on the DC's PostgreSQL and loaded the national reference layer; it answers for a kabupaten with
its kecamatan; every role reads it and none writes it; a write grant given by hand shows in the
platform's preview and `up --refresh` takes it back.

The tenants' side: `pdn gis load` fills Kabupaten Bekasi's two layers (its file declares them);
the DC's feature service (pygeoapi under gunicorn, HTTPS) answers OGC API Features for them:
items, a bbox, a region by Kemendagri code (exact, and a whole kecamatan prefix in CQL2); the
public one to anyone, the private one to Bekasi's token only (another tenant's: 403, not listed;
none: 401); the reference layer answers for 32.16 with its 23 kecamatan; a broken file changes
nothing; the map of the public layer is drawn in a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import shapely
import urllib3

from pdn import regions, stacks
from pdn.compliance import browser
from pdn.dataservices.sql import POSTGRESQL
from pdn.dc import gis as dc_gis
from pdn.gis import reference
from pdn.tenants.rollout import shard_stack
from pdn.tenants.shards import shard_of
from tests.integration.conftest import SITE, Onboarded

pytestmark = pytest.mark.integration


def _admin(onboarded: Onboarded) -> reference.GisAdmin:
    access = onboarded.dc.database_admin(POSTGRESQL)
    return reference.GisAdmin(access.server, access.user, access.password)


def _query(onboarded: Onboarded, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with _admin(onboarded).connect() as conn:
        return list(conn.execute(sql, params).fetchall())


def test_the_reference_layer_answers_for_a_kabupaten_with_its_kecamatan(
    onboarded: Onboarded,
) -> None:
    outputs = stacks.Stack(onboarded.env, onboarded.platform).outputs()
    assert outputs["gis"]["database"] == "pdn_gis"
    assert outputs["gis"]["reference"]["rows"] == 91599
    (postgis,) = _query(onboarded, "SELECT postgis_lib_version()")
    assert postgis[0].startswith("3.3")
    kecamatan = _query(
        onboarded,
        "SELECT code, name FROM reference.regions WHERE parent = %s ORDER BY code",
        "32.16",
    )
    assert [(c, n) for c, n in kecamatan] == [(r.code, r.name) for r in regions.children("32.16")]
    assert len(kecamatan) == 23
    assert kecamatan[0] == ("32.16.01", "Tarumajaya")
    ((name, level, parent),) = _query(
        onboarded, "SELECT name, level, parent FROM reference.regions WHERE code = %s", "32.16"
    )
    assert (name, level, parent) == ("Kabupaten Bekasi", 2, "32")


def test_a_write_grant_by_hand_shows_in_preview_and_up_takes_it_back(
    onboarded: Onboarded,
) -> None:
    admin = _admin(onboarded)
    with admin.connect() as conn:
        conn.execute("GRANT INSERT ON reference.regions TO PUBLIC")
    platform = stacks.Stack(onboarded.env, onboarded.platform)
    shown = platform.preview(refresh=True, diff=True)
    assert "public_write: True -> False" in shown, shown
    platform.up(refresh=True)
    assert reference.differences(reference.observe(admin)) == []
    platform.preview(expect_no_changes=True, refresh=True)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "gis"
FASKES = EXAMPLES / "kab-bekasi-fasilitas-kesehatan.geojson"
TANAH = EXAMPLES / "kab-bekasi-bidang-tanah.geojson"
PUBLIC, PRIVATE = "kab-bekasi.fasilitas-kesehatan", "kab-bekasi.bidang-tanah"


def _pdn(onboarded: Onboarded, *args: str) -> int:
    return onboarded.pdn("gis", "--dir", str(onboarded.tenants_dir), *args)


def _get(onboarded: Onboarded, path: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    url, ca = onboarded.dc.feature_service()
    headers = {"Accept": "application/geo+json, application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    pool = urllib3.PoolManager(ssl_context=ssl.create_default_context(cadata=ca), retries=False)
    answer = pool.request("GET", url + path, headers=headers, timeout=30)
    return answer.status, json.loads(answer.data) if answer.data else {}


def _listed(onboarded: Onboarded, token: str | None = None) -> list[str]:
    status, body = _get(onboarded, "/collections?f=json", token)
    assert status == 200, body
    return [c["id"] for c in body["collections"]]


@pytest.fixture(scope="module")
def loaded(onboarded: Onboarded) -> Onboarded:
    """Bekasi's two layers loaded, and the service showing them (it reads its catalogue again
    every 2 s)."""
    assert _pdn(onboarded, "load", "kab-bekasi", str(FASKES), "--layer", "fasilitas-kesehatan") == 0
    assert _pdn(onboarded, "load", "kab-bekasi", str(TANAH), "--layer", "bidang-tanah") == 0
    deadline = time.monotonic() + 30
    while PUBLIC not in _listed(onboarded) and time.monotonic() < deadline:
        time.sleep(0.5)
    return onboarded


def _features(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(path.read_text())["features"]
    return found


def test_a_tenant_layer_answers_items_bbox_and_region_filters(loaded: Onboarded) -> None:
    file = _features(FASKES)
    status, items = _get(loaded, f"/collections/{PUBLIC}/items?f=json&limit=100")
    assert status == 200, items
    assert items["numberMatched"] == len(file) == 23
    by_name = {f["properties"]["nama"]: f for f in items["features"]}
    for feature in file:  # every feature as the file has it: properties and position
        served = by_name[feature["properties"]["nama"]]
        assert served["properties"]["kode_wilayah"] == feature["properties"]["kode_wilayah"]
        assert served["geometry"]["coordinates"] == pytest.approx(
            feature["geometry"]["coordinates"]
        )
    west, south, east, north = 107.0, -6.3, 107.15, -6.1
    inside = [
        f
        for f in file
        if west <= f["geometry"]["coordinates"][0] <= east
        and south <= f["geometry"]["coordinates"][1] <= north
    ]
    assert 0 < len(inside) < len(file)
    status, boxed = _get(
        loaded, f"/collections/{PUBLIC}/items?f=json&limit=100&bbox={west},{south},{east},{north}"
    )
    assert status == 200, boxed
    assert sorted(f["properties"]["nama"] for f in boxed["features"]) == sorted(
        f["properties"]["nama"] for f in inside
    )
    status, one = _get(loaded, f"/collections/{PUBLIC}/items?f=json&kode_wilayah=32.16.01")
    assert status == 200, one
    assert [f["properties"]["nama"] for f in one["features"]] == ["Puskesmas Tarumajaya"]
    cql = urllib.parse.quote("kode_wilayah LIKE '32.16.0%'")
    status, prefixed = _get(
        loaded, f"/collections/{PUBLIC}/items?f=json&limit=100&filter-lang=cql-text&filter={cql}"
    )
    assert status == 200, prefixed
    want = sorted(
        f["properties"]["kode_wilayah"]
        for f in file
        if f["properties"]["kode_wilayah"].startswith("32.16.0")
    )
    assert sorted(f["properties"]["kode_wilayah"] for f in prefixed["features"]) == want


def test_a_private_layer_answers_its_tenant_only(loaded: Onboarded) -> None:
    bekasi = loaded.client_token("kab-bekasi", "kab-bekasi-arsip")
    kemendagri = loaded.client_token("kemendagri", "kemendagri-siak-sync")
    assert PRIVATE not in _listed(loaded)
    assert PRIVATE not in _listed(loaded, kemendagri)
    assert {PUBLIC, PRIVATE, "regions"} <= set(_listed(loaded, bekasi))
    status, _ = _get(loaded, f"/collections/{PRIVATE}/items?f=json")
    assert status == 401
    status, body = _get(loaded, f"/collections/{PRIVATE}/items?f=json", kemendagri)
    assert status == 403, body
    status, items = _get(loaded, f"/collections/{PRIVATE}/items?f=json&limit=100", bekasi)
    assert status == 200, items
    assert items["numberMatched"] == len(_features(TANAH))
    polygon = shapely.geometry.shape(items["features"][0]["geometry"])
    assert polygon.geom_type == "Polygon"
    assert polygon.is_valid
    status, body = _get(loaded, f"/collections/{PRIVATE}/items?f=json", "not-a-token")
    assert status == 401, body
    # In the database as well: the province reads its kabupaten's layers, Kemendagri does not.
    (rows,) = _query(
        loaded,
        "SELECT pg_has_role('gis_prov_jawa_barat', 'gis_kab_bekasi_read', 'member'),"
        " pg_has_role('pdn_gis_service', 'gis_kab_bekasi_read', 'member'),"
        " has_schema_privilege('public', 't_kab_bekasi', 'USAGE')",
    )
    assert rows == (True, True, False)


def test_the_reference_layer_answers_through_the_service(loaded: Onboarded) -> None:
    status, body = _get(loaded, "/collections/regions/items?f=json&parent=32.16&limit=100")
    assert status == 200, body
    assert sorted(f["id"] for f in body["features"]) == [r.code for r in regions.children("32.16")]
    assert {f["properties"]["level"] for f in body["features"]} == {3}


def test_a_broken_file_is_refused_and_the_layer_is_kept(
    loaded: Onboarded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "faskes.geojson"
    broken.write_text(FASKES.read_text()[:500])
    assert _pdn(loaded, "load", "kab-bekasi", str(broken), "--layer", "fasilitas-kesehatan") == 1
    assert "GDAL can read" in capsys.readouterr().err
    assert _pdn(loaded, "load", "kab-bekasi", str(FASKES), "--layer", "fasilitas-kesehatan") == 1
    assert "--replace" in capsys.readouterr().err
    assert _pdn(loaded, "load", "kab-bekasi", str(FASKES), "--layer", "jalan") == 1
    assert "declares no layer 'jalan'" in capsys.readouterr().err
    status, items = _get(loaded, f"/collections/{PUBLIC}/items?f=json&limit=1")
    assert (status, items["numberMatched"]) == (200, 23)
    assert (
        _pdn(
            loaded, "load", "kab-bekasi", str(FASKES), "--layer", "fasilitas-kesehatan", "--replace"
        )
        == 0
    )
    assert "replaced kab-bekasi.fasilitas-kesehatan: 23 Point" in capsys.readouterr().out


def test_a_second_rollout_changes_nothing(loaded: Onboarded) -> None:
    assert all(set(c) == {"same"} for c in loaded.roll_out(["kab-bekasi"]).values())


def test_the_map_of_a_layer_renders_in_a_real_browser(loaded: Onboarded) -> None:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    browser.ensure_chromium()
    url, _ca = loaded.dc.feature_service()
    profile = Path(tempfile.mkdtemp(prefix="pdn-chromium-"))
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(browser.CHROMIUM), env={**os.environ, "TMPDIR": str(profile)}
            )
            try:
                # The DC's CA is not in the browser's store: this test trusts it by not checking.
                context = chromium.new_context(ignore_https_errors=True)
                page = context.new_page()
                page.goto(f"{url}/map/{PUBLIC}")
                page.wait_for_selector("body[data-state=drawn]", timeout=30_000)
                assert page.get_attribute("body", "data-features") == "23"
                # The features are drawn in orange on the map's pale blue: count those pixels
                # of what the browser drew.
                orange = page.evaluate(
                    """() => {
                      const c = document.getElementById("map");
                      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                      let n = 0;
                      for (let i = 0; i < d.length; i += 4)
                        if (d[i] > 200 && d[i + 1] > 80 && d[i + 1] < 190 && d[i + 2] < 120) n++;
                      return n;
                    }"""
                )
            finally:
                chromium.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert orange > 23 * 20, orange


def test_a_grant_by_hand_shows_in_preview_and_refresh_takes_it_back(loaded: Onboarded) -> None:
    """Bekasi's reader role given by hand to a role of nobody's: the shard's preview shows the
    drift, and `pdn tenant up --refresh` takes the membership back."""
    with _admin(loaded).connect() as conn:
        conn.execute("CREATE ROLE pdn_it_outsider NOLOGIN")
    try:
        with _admin(loaded).connect() as conn:
            conn.execute("GRANT gis_kab_bekasi_read TO pdn_it_outsider")
        shown = shard_stack(loaded.env, SITE, shard_of("kab-bekasi")).preview(refresh=True)
        assert "kab-bekasi-gis-layers update" in shown, shown
        loaded.roll_out(["kab-bekasi"], refresh=True)
        ((member,),) = _query(
            loaded, "SELECT pg_has_role('pdn_it_outsider', 'gis_kab_bekasi_read', 'member')"
        )
        assert member is False
    finally:
        with _admin(loaded).connect() as conn:
            conn.execute("DROP ROLE IF EXISTS pdn_it_outsider")


def _direct(onboarded: Onboarded, path: str, token: str | None = None) -> tuple[int, Any]:
    """pygeoapi's own answer, from behind the front (loopback, plain HTTP)."""
    settings = onboarded.dc.settings
    headers = {"Accept": "application/geo+json, application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = urllib3.PoolManager(retries=False).request(
        "GET",
        f"http://{settings.listen_host}:{settings.ports.gis_backend}{path}",
        headers=headers,
        timeout=30,
    )
    return answer.status, json.loads(answer.data)


def _served_by(onboarded: Onboarded, path: str, token: str | None = None) -> str:
    url, ca = onboarded.dc.feature_service()
    pool = urllib3.PoolManager(ssl_context=ssl.create_default_context(cadata=ca), retries=False)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = pool.request("GET", url + path, headers=headers, timeout=30)
    return str(answer.headers.get("X-Powered-By", "")).split()[0]


@pytest.mark.parametrize(
    ("collection", "query", "reader"),
    [
        (PUBLIC, "f=json&limit=100", None),
        (PUBLIC, "f=json&limit=100&bbox=107.0,-6.3,107.15,-6.1", None),
        (PUBLIC, "f=json&kode_wilayah=32.16.05", None),
        (PUBLIC, "f=json&limit=5&offset=5", None),  # a middle page: prev and next
        (PUBLIC, "f=json&limit=5&offset=20", None),  # the last page
        (PUBLIC, "f=json&limit=5&offset=40", None),  # past the end: counted
        (PRIVATE, "f=json&limit=3", "kab-bekasi"),
        ("regions", "f=json&parent=32.16&limit=100", None),
        ("regions", "f=json&level=2&limit=10", None),  # a number column: pygeoapi's
    ],
)
def test_the_front_answers_items_as_pygeoapi_does(
    loaded: Onboarded, collection: str, query: str, reader: str | None
) -> None:
    """Items answered by the compiled front (pdn-features) and by pygeoapi behind it hold the
    same features in the same order, the same counts and the same kinds of links."""
    token = loaded.client_token(reader, f"{reader}-arsip") if reader else None
    path = f"/collections/{collection}/items?{query}"
    status, front = _get(loaded, path, token)
    back_status, back = _direct(loaded, path, token)
    assert (status, back_status) == (200, 200), (front, back)
    expected = "pygeoapi" if "level=" in query else "pdn-features"
    assert _served_by(loaded, path, token) == expected
    assert [f["id"] for f in front["features"]] == [f["id"] for f in back["features"]]
    for mine, theirs in zip(front["features"], back["features"], strict=True):
        # pygeoapi lists a null geometry's column among the properties too (the reference
        # layer's empty boundaries); the front does not.
        leaked = {"geom": None} if theirs["geometry"] is None else {}
        assert {**mine["properties"], **leaked} == theirs["properties"]
        assert json.dumps(mine["geometry"]) == json.dumps(theirs["geometry"]) or (
            shapely.geometry.shape(mine["geometry"]).equals_exact(
                shapely.geometry.shape(theirs["geometry"]), 1e-12
            )
        )
    for key in ("numberMatched", "numberReturned"):
        assert front[key] == back[key], key
    assert [link["rel"] for link in front["links"]] == [link["rel"] for link in back["links"]]


def test_what_the_front_does_not_answer_pygeoapi_does(loaded: Onboarded) -> None:
    cql = urllib.parse.quote("kode_wilayah LIKE '32.16.0%'")
    assert _served_by(loaded, f"/collections/{PUBLIC}/items?f=json&filter={cql}") == "pygeoapi"
    assert _served_by(loaded, f"/collections/{PUBLIC}/items?f=html") == "pygeoapi"
    assert _served_by(loaded, "/collections?f=json") == "pygeoapi"
    status, body = _get(loaded, f"/collections/{PRIVATE}/items?f=json&filter={cql}")
    assert status == 401, body  # pygeoapi's own check: the front is not its only guard


def test_killed_by_pid_it_comes_back_and_answers(loaded: Onboarded) -> None:
    """SIGKILL to the front and to pygeoapi's master: pygeoapi's workers go with it (they would
    keep the port), and `dc up` starts both again, answering as before."""
    dc = loaded.dc
    pids: dict[str, int] = {}
    for name in (dc_gis.NAME, dc_gis.BACKEND_NAME):
        pid = dc.supervisor.pid(name)
        assert pid is not None, name
        pids[name] = pid
    os.kill(pids[dc_gis.BACKEND_NAME], signal.SIGKILL)
    status, body = _get(loaded, "/collections?f=json")  # the front stays, says what is wrong
    assert (status, body["code"]) == (502, 502), body
    os.kill(pids[dc_gis.NAME], signal.SIGKILL)
    dc.up(progress=lambda _: None)
    for name, pid in pids.items():
        assert dc.supervisor.pid(name) not in (None, pid), name
    status, items = _get(loaded, f"/collections/{PUBLIC}/items?f=json&limit=1")
    assert (status, items["numberMatched"]) == (200, 23)
    assert PUBLIC in _listed(loaded)
