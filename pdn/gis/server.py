"""The feature service's pygeoapi as a WSGI application (gunicorn serves it, several workers),
behind the compiled front `pdn-features` (toolchain/pdn-features), which answers the items
queries it can itself and hands this application everything else, as sent. It checks every
token and access rule itself: the front is not its only guard.

    GET /                                  landing page (OGC API)
    GET /conformance
    GET /collections                       the collections the caller may read
    GET /collections/<id>
    GET /collections/<id>/queryables
    GET /collections/<id>/items            ?bbox=..&limit=..&<property>=..&filter=<CQL2 text>
    GET /collections/<id>/items/<fid>
    GET /map/<id>                          an HTML map of the layer (drawn in the browser)
    GET /health                            200 once the GIS database answers

Settings come from the environment (`PDN_GIS_*`, see `Settings.from_env`); the database
password only from there, never from a command line.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdn.gis import features
from pdn.sso.realms import GIS_AUDIENCE
from pdn.sso.tokens import Tokens

COLLECTION_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,90}$")  # `<slug>.<layer>`, or `regions`


@dataclass(frozen=True)
class Settings:
    base_url: str
    database: features.Database
    issuer: str
    sso_ca: Path
    refresh: float = 2.0

    @staticmethod
    def from_env(env: dict[str, str] | None = None) -> Settings:
        found = dict(os.environ if env is None else env)
        missing = [
            k
            for k in (
                "PDN_GIS_URL",
                "PDN_GIS_DB_HOST",
                "PDN_GIS_DB_PORT",
                "PDN_GIS_DB_USER",
                "PDN_GIS_DB_PASSWORD",
                "PDN_GIS_DB_CA",
                "PDN_GIS_ISSUER",
                "PDN_GIS_SSO_CA",
            )
            if not found.get(k)
        ]
        if missing:
            raise SystemExit(f"pdn.gis.server: set {', '.join(missing)}")
        return Settings(
            found["PDN_GIS_URL"].rstrip("/"),
            features.Database(
                found["PDN_GIS_DB_HOST"],
                int(found["PDN_GIS_DB_PORT"]),
                found["PDN_GIS_DB_USER"],
                found["PDN_GIS_DB_PASSWORD"],
                Path(found["PDN_GIS_DB_CA"]),
            ),
            found["PDN_GIS_ISSUER"],
            Path(found["PDN_GIS_SSO_CA"]),
            float(found.get("PDN_GIS_REFRESH", "2")),
        )


MAP_PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0;font:14px sans-serif}}header{{padding:8px 12px;background:#123}}
header h1{{margin:0;font-size:16px;color:#fff}}canvas{{display:block;background:#eef4f8}}
#legend{{padding:6px 12px}}</style></head>
<body data-state="loading"><header><h1>{title}</h1></header>
<canvas id="map" width="960" height="640"></canvas><div id="legend"></div>
<script>
const items = {items_url};
function coords(g, out) {{
  if (!g) return out;
  if (g.type === "GeometryCollection") {{ g.geometries.forEach(x => coords(x, out)); return out; }}
  const walk = c => typeof c[0] === "number" ? out.push(c) : c.forEach(walk);
  walk(g.coordinates); return out;
}}
function draw(fc) {{
  const canvas = document.getElementById("map"), ctx = canvas.getContext("2d");
  const all = fc.features.flatMap(f => coords(f.geometry, []));
  if (!all.length) {{ document.body.dataset.state = "empty"; return; }}
  let [w, s, e, n] = [180, 90, -180, -90];
  all.forEach(([x, y]) => {{ w = Math.min(w, x); e = Math.max(e, x);
                             s = Math.min(s, y); n = Math.max(n, y); }});
  const pad = 0.05 * Math.max(e - w, n - s, 0.01);
  w -= pad; e += pad; s -= pad; n += pad;
  const k = Math.min(canvas.width / (e - w), canvas.height / (n - s));
  const px = ([x, y]) => [(x - w) * k, (n - y) * k];
  ctx.lineWidth = 2; ctx.strokeStyle = "#0b5394"; ctx.fillStyle = "rgba(230,97,0,0.55)";
  const ring = r => {{ r.forEach((c, i) => {{ const [x, y] = px(c);
                                            i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); }}); }};
  const shape = g => {{
    if (!g) return;
    const t = g.type, c = g.coordinates;
    if (t === "Point" || t === "MultiPoint") {{
      (t === "Point" ? [c] : c).forEach(p => {{ const [x, y] = px(p); ctx.beginPath();
        ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.fill(); ctx.stroke(); }});
    }} else if (t === "LineString" || t === "MultiLineString") {{
      (t === "LineString" ? [c] : c).forEach(l => {{ ctx.beginPath(); ring(l); ctx.stroke(); }});
    }} else if (t === "Polygon" || t === "MultiPolygon") {{
      (t === "Polygon" ? [c] : c).forEach(p => {{ ctx.beginPath(); p.forEach(ring);
        ctx.closePath(); ctx.fill("evenodd"); ctx.stroke(); }});
    }} else if (t === "GeometryCollection") {{ g.geometries.forEach(shape); }}
  }};
  fc.features.forEach(f => shape(f.geometry));
  document.getElementById("legend").textContent =
    fc.features.length + " features, " + w.toFixed(3) + " to " + e.toFixed(3) + " E";
  document.body.dataset.features = String(fc.features.length);
  document.body.dataset.state = "drawn";
}}
fetch(items, {{headers: {{"Accept": "application/geo+json"}}}})
  .then(r => r.ok ? r.json() : Promise.reject(r.status))
  .then(draw)
  .catch(err => {{ document.body.dataset.state = "failed:" + err; }});
</script></body></html>
"""


class FeatureService:
    """Who the caller is, what it may read, and pygeoapi's answer for it."""

    def __init__(
        self,
        settings: Settings,
        tokens: Tokens | None = None,
        read: Callable[[], list[features.Collection]] | None = None,
    ) -> None:
        from pygeoapi.provider import sql as pygeoapi_sql  # noqa: PLC0415

        self.settings = settings
        self.tokens = tokens or Tokens.from_realm(
            settings.issuer, settings.sso_ca.read_text(), GIS_AUDIENCE
        )
        self.catalogue = features.Catalogue(
            read or (lambda: features.read_catalogue(settings.database)), settings.refresh
        )
        self.apis = features.Apis(self._make)
        self._seen = ""
        self._forget_tables = pygeoapi_sql.get_table_model.cache_clear

    def _make(self, collections: list[features.Collection]) -> Any:
        from pygeoapi import api as core  # noqa: PLC0415

        config = features.pygeoapi_config(
            self.settings.base_url, self.settings.database, collections, title="PDN GIS"
        )
        return core.API(config, {"openapi": "3.0.2", "info": {}, "paths": {}})

    def api_for(self, caller: str | None) -> tuple[Any, list[features.Collection]]:
        collections = self.catalogue.current()
        if self.catalogue.version != self._seen:  # a layer loaded, replaced or dropped
            self._forget_tables()
            self._seen = self.catalogue.version
        shown = features.visible(collections, caller)
        return self.apis.of(self.catalogue.version, shown), collections

    @staticmethod
    def problem(status: int, message: str) -> Any:
        from flask import Response  # noqa: PLC0415

        body = json.dumps({"code": status, "description": message})
        headers = {"WWW-Authenticate": 'Bearer realm="pdn-gis"'} if status == 401 else {}
        return Response(body, status, headers, mimetype="application/json")

    def answer(self, function: Any, *args: Any, collection: str | None = None) -> Any:
        from flask import Response, request  # noqa: PLC0415
        from pygeoapi import api as core  # noqa: PLC0415

        authorization = request.headers.get("Authorization")
        try:
            caller = None if authorization is None else self.tokens.tenant_of(authorization)
        except PermissionError as err:  # a token that is not accepted is never anonymous
            return self.problem(401, str(err))
        try:
            api, collections = self.api_for(caller)
        except features.CatalogueError as err:
            return self.problem(503, str(err))
        if collection is not None and collection not in api.config["resources"]:
            if any(c.id == collection for c in collections):
                if caller is None:
                    return self.problem(
                        401, f"{collection}: a bearer token of a reader is required"
                    )
                return self.problem(403, f"{collection}: {caller} may not read it")
            return self.problem(404, f"no collection {collection!r}")
        api_request = core.APIRequest.from_flask(request, api.locales)
        if not api_request.is_valid():
            headers, status, content = api.get_format_exception(api_request)
        else:
            headers, status, content = function(api, api_request, *args)
        response = Response(content, status)
        response.headers.update(headers or {})
        return response

    def map_page(self, collection: str) -> Any:
        from flask import Response  # noqa: PLC0415

        if not COLLECTION_ID.match(collection):  # it goes into the page's script
            return self.problem(404, f"no collection {collection!r}")
        url = f"{self.settings.base_url}/collections/{collection}/items?f=json&limit=1000"
        page = MAP_PAGE.format(title=html.escape(collection), items_url=json.dumps(url))
        return Response(page, 200, mimetype="text/html")

    def health(self) -> Any:
        """200 while the service runs (the DC's probe); the body says whether the GIS database
        answers yet (it does once the platform stack has made it)."""
        from flask import Response  # noqa: PLC0415

        try:
            self.catalogue.current()
            database = "ready"
        except features.CatalogueError as err:
            database = str(err)
        body = json.dumps({"status": "ok", "database": database})
        return Response(body, 200, mimetype="application/json")


def create_app(
    settings: Settings,
    tokens: Tokens | None = None,
    read: Callable[[], list[features.Collection]] | None = None,
) -> Any:
    """The Flask application (tokens: the realm's, from its JWKS unless given; read: the
    catalogue, from the GIS database unless given)."""
    from flask import Flask  # noqa: PLC0415
    from pygeoapi import api as core  # noqa: PLC0415
    from pygeoapi.api import itemtypes  # noqa: PLC0415

    service = FeatureService(settings, tokens, read)
    app = Flask("pdn.gis")
    app.url_map.strict_slashes = False

    def route(rule: str, function: Any, *names: str) -> None:
        def view(**params: str) -> Any:
            args = [params[n] for n in names]
            return service.answer(function, *args, collection=params.get("collection"))

        app.add_url_rule(rule, rule, view, methods=["GET"])

    route("/", core.landing_page)
    route("/conformance", core.conformance)
    route("/collections", core.describe_collections)
    route("/collections/<collection>", core.describe_collections, "collection")
    route("/collections/<collection>/queryables", itemtypes.get_collection_queryables, "collection")
    route("/collections/<collection>/items", itemtypes.get_collection_items, "collection")
    route(
        "/collections/<collection>/items/<fid>", itemtypes.get_collection_item, "collection", "fid"
    )
    app.add_url_rule("/map/<collection>", "map", service.map_page, methods=["GET"])
    app.add_url_rule("/health", "health", service.health, methods=["GET"])
    return app


def application() -> Any:
    """gunicorn's factory: `gunicorn 'pdn.gis.server:application()'`."""
    return create_app(Settings.from_env())
