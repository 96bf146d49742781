"""The DC's single sign-on configured as code, on the real Keycloak and the real API servers:
the platform stack makes the realms, each tenant's shard its roles, groups and clients, from the
example tenant files. A tenant admin logs in to the cluster with a real ID token (and a second
factor) and acts in its own namespace only; a change made by hand in Keycloak shows in preview
and the next `up` puts it back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import struct
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from pdn import stacks
from pdn.dc import sso
from pdn.sso import realms, tenants
from pdn.sso.admin import Admin, AdminLogin, Server
from pdn.tenants.access import attempts
from pdn.tenants.rollout import shard_stack
from pdn.tenants.shards import shard_of
from pdn.tte.service import Tokens
from tests.integration.conftest import Onboarded

pytestmark = pytest.mark.integration
SITE = "pdn-local"


def _server(onboarded: Onboarded) -> Server:
    return Server(
        sso.url(onboarded.dc.settings), (onboarded.dc.settings.pki_dir / "ca.crt").read_text()
    )


def _admin(onboarded: Onboarded) -> Admin:
    found = sso.credentials(onboarded.dc.settings)
    return Admin(AdminLogin(_server(onboarded), found.admin_user, found.admin_password))


def _access_spec(onboarded: Onboarded, slug: str) -> tenants.TenantAccessSpec:
    tenant = onboarded.fleet().tenants[slug]
    return tenants.TenantAccessSpec(
        realms.CIVIL_SERVANTS,
        slug,
        tuple(tenant.groups.admins),
        tuple(tenant.groups.readers),
        tuple(
            tenants.Application(a.name, a.kind.value, tuple(a.redirect_uris))
            for a in tenant.applications
        ),
    )


def _token(onboarded: Onboarded, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Keycloak's token endpoint of the civil servants' realm: (status, answer)."""
    server = _server(onboarded)
    http = urllib3.PoolManager(ssl_context=_context(server.ca_pem), retries=False)
    answer = http.request(
        "POST",
        f"{server.issuer(realms.CIVIL_SERVANTS)}/protocol/openid-connect/token",
        body=urllib.parse.urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return answer.status, json.loads(answer.data)


def _context(ca_pem: str) -> Any:
    import ssl  # noqa: PLC0415

    return ssl.create_default_context(cadata=ca_pem)


def _totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it from the secret
    Keycloak shows (its raw bytes; the app reads them base32-encoded)."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(secret.encode(), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


class Person:
    def __init__(self, username: str, password: str, otp_secret: str | None) -> None:
        self.username, self.password, self.otp_secret = username, password, otp_secret


@pytest.fixture
def people(onboarded: Onboarded) -> Iterator[dict[str, Person]]:
    """A civil servant in kab-bekasi's admin group (with a TOTP authenticator) and one in its
    readers' group, imported as an operator migrating users would; removed afterwards."""
    admin = _admin(onboarded)
    tag = uuid.uuid4().hex[:6]
    # Each fixed part meets the realm's password policy (upper, lower, digit, special): the
    # random tail may hold no digit (1 in 15), and Keycloak answers such an import with a 500.
    made = {
        "intruded": Person(f"it-intruded-{tag}", f"Intr1!{secrets.token_urlsafe(12)}", None),
        "admin": Person(
            f"it-admin-{tag}", f"Adm1n!{secrets.token_urlsafe(12)}", secrets.token_hex(10)
        ),
        "reader": Person(f"it-reader-{tag}", f"Re4d!{secrets.token_urlsafe(12)}", None),
    }
    groups = {
        "admin": "bekasi-admins",
        "reader": "bekasi-inspektorat",
        "intruded": "bekasi-inspektorat",
    }
    users = []
    for role, person in made.items():
        credentials: list[dict[str, Any]] = [
            {"type": "password", "value": person.password, "temporary": False}
        ]
        if person.otp_secret:
            credentials.append(
                {
                    "type": "otp",
                    "userLabel": "authenticator",
                    "secretData": json.dumps({"value": person.otp_secret}),
                    "credentialData": json.dumps(
                        {
                            "subType": "totp",
                            "digits": 6,
                            "counter": 0,
                            "period": 30,
                            "algorithm": "HmacSHA1",
                        }
                    ),
                }
            )
        users.append(
            {
                "username": person.username,
                "enabled": True,
                "email": f"{person.username}@bekasikab.go.id",
                "emailVerified": True,
                "firstName": "Uji",
                "lastName": role.capitalize(),
                "groups": [f"/{groups[role]}"],
                "credentials": credentials,
            }
        )
    admin.call(
        "POST",
        f"/{realms.CIVIL_SERVANTS}/partialImport",
        {"ifResourceExists": "FAIL", "users": users},
    )
    try:
        yield made
    finally:
        for person in made.values():
            for found in admin.get(
                f"/{realms.CIVIL_SERVANTS}/users", username=person.username, exact="true"
            ):
                admin.call("DELETE", f"/{realms.CIVIL_SERVANTS}/users/{found['id']}")


def _login(onboarded: Onboarded, person: Person, *, otp: bool = True) -> tuple[int, dict[str, Any]]:
    form = {
        "grant_type": "password",
        "client_id": realms.KUBERNETES_CLIENT,
        "username": person.username,
        "password": person.password,
        "scope": "openid",
    }
    if otp and person.otp_secret:
        form["otp"] = _totp(person.otp_secret)
    return _token(onboarded, form)


def _as_bearer(onboarded: Onboarded, slug: str, token: str) -> k8s.ApiClient:
    """A client of the cluster slug lives on, as the bearer of token (no certificate)."""
    platform = onboarded.api_client(slug)
    configuration = platform.configuration
    configuration = k8s.Configuration(
        host=configuration.host, api_key={"authorization": f"Bearer {token}"}
    )
    configuration.ssl_ca_cert = platform.configuration.ssl_ca_cert
    platform.close()
    return k8s.ApiClient(configuration)


def test_realms_and_every_tenants_groups_and_clients_are_as_the_files_say(
    onboarded: Onboarded,
) -> None:
    admin = _admin(onboarded)
    for realm in realms.REALMS:
        seen = realms.observe(admin, realm.name)
        assert seen is not None, realm.name
        assert realms.differences(realm, seen) == [], realm.name
    for slug in onboarded.fleet().tenants:
        access = _access_spec(onboarded, slug)
        assert tenants.differences(access, tenants.observe(admin, access)) == [], slug
    # The discovery document of each realm answers at its issuer, over the DC's CA.
    outputs = stacks.Stack(onboarded.env, onboarded.platform).outputs()
    assert outputs["sso"]["issuers"] == {
        r.name: _server(onboarded).issuer(r.name) for r in realms.REALMS
    }


def test_a_tenant_admin_logs_in_with_a_second_factor_and_acts_in_its_namespace_only(
    onboarded: Onboarded, people: dict[str, Person]
) -> None:
    boss = people["admin"]
    # A password alone is refused: the admin group's role requires the second factor.
    status, answer = _login(onboarded, boss, otp=False)
    assert status in (400, 401), answer
    status, answer = _login(onboarded, boss)
    assert status == 200, answer
    id_token, access_token = answer["id_token"], answer["access_token"]
    with _as_bearer(onboarded, "kab-bekasi", id_token) as api:
        review = k8s.AuthenticationV1Api(api).create_self_subject_review({})
        assert review.status.user_info.username == f"oidc:{boss.username}"
        assert "oidc:bekasi-admins" in review.status.user_info.groups
        done = attempts(api, "kab-bekasi", "it-sso")
        assert done == dict.fromkeys(done, True), done
        # Another tenant's namespace on the same cluster: nothing.
        for other in ("kab-bekasi-disdukcapil", "prov-jawa-barat"):
            done = attempts(api, other, "it-sso")
            assert done == dict.fromkeys(done, False), (other, done)
    # An access token (for applications) does not log in to the cluster; nor a forged one.
    head, body, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["preferred_username"] = "platform-admin"
    forged = ".".join(
        [
            head,
            base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="),
            signature,
        ]
    )
    for token in (access_token, forged):
        with _as_bearer(onboarded, "kab-bekasi", token) as api:
            with pytest.raises(ApiException) as refused:
                k8s.CoreV1Api(api).list_namespaced_pod("kab-bekasi")
            assert refused.value.status == 401


def test_a_tenant_reader_reads_without_mfa_and_writes_nothing(
    onboarded: Onboarded, people: dict[str, Person]
) -> None:
    status, answer = _login(onboarded, people["reader"])
    assert status == 200, answer
    with _as_bearer(onboarded, "kab-bekasi", answer["id_token"]) as api:
        assert attempts(api, "kab-bekasi", "it-sso") == {
            "list secrets": False,
            "list pods": True,
            "read configmaps": True,
            "write configmap": False,
        }


def test_guessing_locks_an_account_and_sessions_are_limited(
    onboarded: Onboarded, people: dict[str, Person]
) -> None:
    """Five wrong passwords lock the account for a while (the right one is refused too); a
    user holds at most three sessions, a new login ending the oldest."""
    victim = people["intruded"]
    wrong = Person(victim.username, victim.password + "x", None)
    for _ in range(realms.desired(realms.ASN)["failureFactor"]):
        status, _answer = _login(onboarded, wrong)
        assert status in (400, 401)
    status, answer = _login(onboarded, victim)
    assert status in (400, 401), answer  # locked: the right password is refused
    reader = people["reader"]
    for _ in range(realms.SESSION_LIMIT + 2):
        status, answer = _login(onboarded, reader)
        assert status == 200, answer
    admin = _admin(onboarded)
    (user,) = admin.get(f"/{realms.CIVIL_SERVANTS}/users", username=reader.username, exact="true")
    sessions = admin.get(f"/{realms.CIVIL_SERVANTS}/users/{user['id']}/sessions")
    assert len(sessions) == realms.SESSION_LIMIT


def test_a_service_client_gets_tokens_with_its_secret_only(onboarded: Onboarded) -> None:
    shard = shard_stack(onboarded.env, SITE, shard_of("kemendagri"))
    secret = shard.outputs(show_secrets=True)["sso_client_secrets"]["kemendagri"][
        "kemendagri-siak-sync"
    ]
    form = {"grant_type": "client_credentials", "client_id": "kemendagri-siak-sync"}
    status, answer = _token(onboarded, form | {"client_secret": secret})
    assert status == 200, answer
    # Its token names its tenant for the e-signature service, which accepts it as such.
    server = _server(onboarded)
    tokens = Tokens.from_realm(server.issuer(realms.CIVIL_SERVANTS), server.ca_pem)
    assert tokens.tenant_of(f"Bearer {answer['access_token']}") == "kemendagri"
    status, _ = _token(onboarded, form | {"client_secret": secret[::-1]})
    assert status == 401
    # Its secret is a secret in the state: the shard's outputs hide it without --show-secrets.
    assert shard.outputs()["sso_client_secrets"] == "[secret]"


def test_a_change_by_hand_shows_in_preview_and_up_puts_it_back(onboarded: Onboarded) -> None:
    admin = _admin(onboarded)
    realm = realms.CIVIL_SERVANTS
    # Someone switches off brute-force protection and takes MFA off the kemendagri admins.
    admin.call("PUT", f"/{realm}", {"bruteForceProtected": False})
    role = "tenant:kemendagri:admin"
    mfa = admin.get(f"/{realm}/roles/{realms.MFA_ROLE}")
    admin.call("DELETE", f"/{realm}/roles/{urllib.parse.quote(role)}/composites", [mfa])
    platform = stacks.Stack(onboarded.env, onboarded.platform)
    shown = platform.preview(refresh=True, diff=True)
    assert "bruteForceProtected: False -> True" in shown, shown
    shard = shard_stack(onboarded.env, SITE, shard_of("kemendagri"))
    # Its program from tenancy/, as an operator runs `pulumi preview --refresh --diff` there.
    shown = shard.preview(refresh=True, diff=True)
    assert "roles tenant:kemendagri:admin: [] -> ['pdn-mfa-required']" in shown, shown
    # The next `up` (with a refresh, as `pdn tenant up --refresh`) puts both back.
    platform.up(refresh=True)
    onboarded.roll_out(["kemendagri"], refresh=True)
    assert realms.differences(realms.ASN, realms.observe(admin, realm) or {}) == []
    spec = _access_spec(onboarded, "kemendagri")
    assert tenants.differences(spec, tenants.observe(admin, spec)) == []


def test_a_second_up_changes_nothing(onboarded: Onboarded) -> None:
    platform = stacks.Stack(onboarded.env, onboarded.platform)
    platform.preview(expect_no_changes=True, refresh=True)
    changes = onboarded.roll_out()
    assert all(set(c) == {"same"} for c in changes.values()), changes
