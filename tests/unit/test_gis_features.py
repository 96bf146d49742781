"""The feature service's access rules, before pygeoapi is reached: who sees which collection
(anonymous: public only; a tenant: its own and its units'), a token not accepted is 401 and
never anonymous, a private layer is 401 without a token and 403 with another tenant's, the
catalogue read again after its refresh period, and a database that does not answer is 503."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from pdn.gis import features
from pdn.gis.server import Settings, create_app
from pdn.sso.tokens import Tokens

ISSUER = "https://127.0.0.1:18443/realms/pdn-asn"
REALM_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

PUBLIC = features.Collection(
    "kab-bekasi.faskes", "Faskes", True, frozenset({"kab-bekasi", "prov-jawa-barat"}), "t", "f"
)
PRIVATE = features.Collection(
    "kab-bekasi.tanah", "Tanah", False, frozenset({"kab-bekasi", "prov-jawa-barat"}), "t", "t"
)


def _token(key: Any = REALM_KEY, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "pdn-gis", "exp": now + 300, "iat": now} | claims
    return jwt.encode(body, key, algorithm="RS256")


def _bearer(tenant: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(pdn_tenant=tenant, **claims)}"}


@pytest.fixture
def client(tmp_path: Path) -> Any:
    settings = Settings(
        "https://127.0.0.1:18490",
        features.Database("127.0.0.1", 15432, "pdn_gis_service", "pw", tmp_path / "ca.crt"),
        ISSUER,
        tmp_path / "ca.crt",
    )
    tokens = Tokens(ISSUER, lambda _t: REALM_KEY.public_key(), "pdn-gis")
    app = create_app(
        settings, tokens, read=lambda: [features.reference_collection(), PUBLIC, PRIVATE]
    )
    return app.test_client()


def test_who_sees_what() -> None:
    every = [features.reference_collection(), PUBLIC, PRIVATE]

    def ids(found: list[features.Collection]) -> list[str]:
        return [c.id for c in found]

    assert ids(features.visible(every, None)) == ["regions", "kab-bekasi.faskes"]
    assert ids(features.visible(every, "kemendagri")) == ["regions", "kab-bekasi.faskes"]
    assert ids(features.visible(every, "kab-bekasi")) == [
        "regions",
        "kab-bekasi.faskes",
        "kab-bekasi.tanah",
    ]
    assert "kab-bekasi.tanah" in ids(features.visible(every, "prov-jawa-barat"))  # its parent


def test_a_private_layer_is_401_anonymous_and_403_for_another_tenant(client: Any) -> None:
    anonymous = client.get("/collections/kab-bekasi.tanah/items")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    other = client.get("/collections/kab-bekasi.tanah/items", headers=_bearer("kemendagri"))
    assert other.status_code == 403
    assert "kemendagri may not read it" in other.get_json()["description"]
    assert client.get("/collections/nothing.here/items").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        f"Bearer {_token(OTHER_KEY, pdn_tenant='kab-bekasi')}",  # not the realm's key
        f"Bearer {_token(pdn_tenant='kab-bekasi', aud='pdn-tte')}",  # another service's
        f"Bearer {_token(pdn_tenant='kab-bekasi', exp=int(time.time()) - 60)}",  # expired
        f"Bearer {_token()}",  # no tenant
        "Basic a2FiOmJla2FzaQ==",
    ],
)
def test_a_token_not_accepted_is_refused_not_taken_as_anonymous(
    client: Any, authorization: str
) -> None:
    # Even for a public layer: a client that sent a token expects to be who it says.
    answer = client.get("/collections/kab-bekasi.faskes", headers={"Authorization": authorization})
    assert answer.status_code == 401


def test_the_catalogue_is_read_again_after_its_period() -> None:
    now, reads = [0.0], []

    def read() -> list[features.Collection]:
        reads.append(now[0])
        return [features.reference_collection(), *([PUBLIC] if len(reads) > 1 else [])]

    catalogue = features.Catalogue(read, refresh=2.0, clock=lambda: now[0])
    first = catalogue.current()
    version = catalogue.version
    now[0] = 1.0
    assert catalogue.current() == first  # within the period: not read again
    now[0] = 2.5
    assert [c.id for c in catalogue.current()] == ["regions", "kab-bekasi.faskes"]
    assert catalogue.version != version
    assert reads == [0.0, 2.5]


def test_a_database_that_does_not_answer_is_503_and_health_says_so(tmp_path: Path) -> None:
    settings = Settings(
        "https://127.0.0.1:18490",
        features.Database("127.0.0.1", 1, "pdn_gis_service", "pw", tmp_path / "ca.crt"),
        ISSUER,
        tmp_path / "ca.crt",
    )

    def down() -> list[features.Collection]:
        raise features.CatalogueError("the GIS database does not answer (OperationalError)")

    tokens = Tokens(ISSUER, lambda _t: REALM_KEY.public_key(), "pdn-gis")
    client = create_app(settings, tokens, read=down).test_client()
    assert client.get("/collections").status_code == 503
    health = client.get("/health")
    assert health.status_code == 200
    assert "does not answer" in health.get_json()["database"]


def test_the_database_password_is_never_in_a_repr(tmp_path: Path) -> None:
    db = features.Database("127.0.0.1", 15432, "pdn_gis_service", "s3cret-pw", tmp_path)
    assert "s3cret-pw" not in repr(db)


def test_the_map_page_names_only_a_collection_id(client: Any) -> None:
    page = client.get("/map/kab-bekasi.faskes")
    assert page.status_code == 200
    assert '"https://127.0.0.1:18490/collections/kab-bekasi.faskes/items?f=json&limit=1000"' in (
        page.get_data(as_text=True)
    )
    assert client.get('/map/x"<script>').status_code == 404
