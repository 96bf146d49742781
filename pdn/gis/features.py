"""The GIS platform's feature service: OGC API Features (pygeoapi) over the GIS database, with
the DC's single sign-on in front.

What it serves comes from the database, not from a file: the national reference layer
(`regions`, public) and every tenant layer the catalogue lists whose table is loaded. The
catalogue is read again when older than `refresh` seconds, so a layer appears once `pdn gis
load` has filled it and goes once the tenant's file drops it, without a restart.

Who reads what: an anonymous request sees the public layers; a bearer token of the civil
servants' realm for this service's audience (`pdn-gis`), issued to a tenant's client (claim
`pdn_tenant`), sees those too and the layers whose readers include that tenant (its own, and
its units' for a parent). A token that is not valid is refused (401), never downgraded to
anonymous; a layer the caller may not read is 401 without a token, 403 with one, and is never
listed. pygeoapi answers what passes; one pygeoapi API per set of visible layers, so
`/collections` lists only those.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdn.gis import reference

REFERENCE_COLLECTION = "regions"
INDONESIA_BBOX = [94.0, -12.0, 142.0, 7.0]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
ITEM_LIMIT = 1000


@dataclass(frozen=True)
class Database:
    """The service's login on the GIS database (verified TLS)."""

    host: str
    port: int
    user: str
    password: str
    ca_file: Path

    def provider(self, schema: str, table: str, id_field: str) -> dict[str, Any]:
        return {
            "type": "feature",
            "name": "pdn.gis.provider.LayerProvider",  # pygeoapi's PostgreSQL one, SRID known
            "data": {
                "host": self.host,
                "port": self.port,
                "dbname": reference.DATABASE,
                "user": self.user,
                "password": self.password,
                "search_path": [schema, "public"],
            },
            "options": {"sslmode": "verify-full", "sslrootcert": str(self.ca_file)},
            "id_field": id_field,
            "table": table,
            "geom_field": "geom",
        }

    def connect(self) -> Any:
        import psycopg  # noqa: PLC0415

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=reference.DATABASE,
            sslmode="verify-full",
            sslrootcert=str(self.ca_file),
            connect_timeout=10,
            autocommit=True,
        )

    def __repr__(self) -> str:  # never the password
        return f"Database({self.host}:{self.port}, {self.user!r})"


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    public: bool
    readers: frozenset[str]
    schema: str
    table: str
    id_field: str = "fid"
    description: str = ""


def reference_collection() -> Collection:
    return Collection(
        REFERENCE_COLLECTION,
        "Wilayah administrasi Indonesia (Kemendagri)",
        True,
        frozenset(),
        reference.SCHEMA,
        "regions",
        id_field="code",
        description=(
            "Every province, kabupaten/kota, kecamatan and desa/kelurahan by its Kemendagri "
            "code, with its name, level and parent. Boundaries are empty until a licensed "
            "source is loaded."
        ),
    )


class CatalogueError(Exception):
    """The GIS database cannot be read (503: the service answers again once it can)."""


def read_catalogue(db: Database) -> list[Collection]:
    """The reference layer and every catalogued tenant layer whose table exists."""
    import psycopg  # noqa: PLC0415

    try:
        with db.connect() as conn:
            rows = _catalogued(conn)
    except psycopg.Error as err:
        raise CatalogueError(
            f"the GIS database does not answer ({type(err).__name__}): "
            "is the platform stack up (pdn up)?"
        ) from err
    found = [reference_collection()]
    for cid, title, public, readers, schema, table in rows:
        tenant = cid.partition(".")[0]
        found.append(
            Collection(
                cid,
                title,
                bool(public),
                frozenset(readers),
                schema,
                table,
                description=f"A layer of {tenant}" + (" (public)" if public else ""),
            )
        )
    return found


def _catalogued(conn: Any) -> list[Any]:
    return list(
        conn.execute(
            "SELECT collection, title, public, readers, table_schema, table_name"
            " FROM catalogue.layers"
            " WHERE to_regclass(quote_ident(table_schema) || '.' || quote_ident(table_name))"
            " IS NOT NULL ORDER BY collection"
        )
    )


def pygeoapi_config(
    base_url: str, db: Database, collections: Iterable[Collection], *, title: str
) -> dict[str, Any]:
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 0},
            "url": base_url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US", "id-ID"],
            "limits": {"default_items": 100, "max_items": ITEM_LIMIT},
            "map": {"url": "", "attribution": ""},  # no tile server is reached from a DC
            "pretty_print": False,
        },
        # pygeoapi warns at every request without an offset (its int(None)): errors only.
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": title,
                "description": "OGC API Features of the national data center's GIS platform",
                "keywords": ["PDN", "GIS", "Satu Data Indonesia"],
                "keywords_type": "theme",
                "terms_of_service": f"{base_url}/",
                "url": f"{base_url}/",
            },
            "license": {"name": "per layer", "url": f"{base_url}/"},
            "provider": {"name": "Pusat Data Nasional", "url": f"{base_url}/"},
            "contact": {"name": "PDN platform", "email": "platform@pdn.go.id"},
        },
        "resources": {
            c.id: {
                "type": "collection",
                "title": c.title,
                "description": c.description or c.title,
                "keywords": ["PDN"],
                "extents": {"spatial": {"bbox": INDONESIA_BBOX, "crs": CRS84}},
                "providers": [db.provider(c.schema, c.table, c.id_field)],
            }
            for c in collections
        },
    }


class Catalogue:
    """The collections, read again when older than refresh seconds (thread-safe)."""

    def __init__(
        self,
        read: Callable[[], list[Collection]],
        refresh: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read, self._refresh, self._clock = read, refresh, clock
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._collections: list[Collection] = []
        self.version = ""

    def current(self) -> list[Collection]:
        with self._lock:
            if self._clock() - self._at >= self._refresh:
                self._collections = self._read()
                self._at = self._clock()
                listed = [(c.id, c.title, c.public, sorted(c.readers)) for c in self._collections]
                self.version = hashlib.sha256(json.dumps(listed).encode()).hexdigest()[:16]
            return self._collections


def visible(collections: Iterable[Collection], tenant: str | None) -> list[Collection]:
    return [c for c in collections if c.public or (tenant is not None and tenant in c.readers)]


class Apis:
    """One pygeoapi API per (catalogue version, visible collections), the most recent kept."""

    def __init__(self, make: Callable[[list[Collection]], Any], keep: int = 64) -> None:
        self._make, self._keep = make, keep
        self._lock = threading.Lock()
        self._made: OrderedDict[tuple[str, tuple[str, ...]], Any] = OrderedDict()

    def of(self, version: str, collections: list[Collection]) -> Any:
        key = (version, tuple(c.id for c in collections))
        with self._lock:
            if key in self._made:
                self._made.move_to_end(key)
                return self._made[key]
        api = self._make(collections)
        with self._lock:
            self._made[key] = api
            while len(self._made) > self._keep:
                self._made.popitem(last=False)
        return api
