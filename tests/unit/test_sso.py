"""The DC's single sign-on without a Keycloak: what a realm and a tenant's access must hold,
how drift is named, the providers' decisions, the components under Pulumi mocks, and the API
servers' trust in the SSO."""

from __future__ import annotations

import datetime
from typing import Any

import pulumi
import pytest
import yaml
from pydantic import ValidationError

from pdn.dc import control_plane
from pdn.inventory import all_sites
from pdn.sso import realms, tenants
from pdn.sso.admin import Server
from pdn.sso.errors import SsoError
from pdn.tenants.fleet import TENANTS_DIR, load_fleet, tenant_files
from pdn.tenants.model import Tenant
from pdn.tenants.shards import tenant_urns
from platform_services.sso.identity import (
    ApplicationArgs,
    Connection,
    OfficialArgs,
    SignersArgs,
    SigningService,
    SingleSignOn,
    SingleSignOnArgs,
    TenantIdentity,
    TenantIdentityArgs,
)
from platform_services.sso.providers import (
    RealmProvider,
    TenantAccessProvider,
    access_design,
    realm_design,
)
from platform_services.tte.providers import SignerCertificateProvider
from tests.unit.conftest import RecordingMocks, run_program

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
FLEET = load_fleet(tenant_files(), all_sites())


def test_only_https_with_a_pem_ca_is_accepted() -> None:
    with pytest.raises(SsoError, match="only https://"):
        Server("http://127.0.0.1:18443", CA)
    with pytest.raises(SsoError, match="not a PEM"):
        Server("https://127.0.0.1:18443", "/etc/ssl/ca.crt")
    assert Server("https://127.0.0.1:18443/", CA).issuer("pdn-asn") == (
        "https://127.0.0.1:18443/realms/pdn-asn"
    )


def test_civil_servants_cannot_register_and_citizens_verify_their_email() -> None:
    asn, warga = realms.desired(realms.ASN), realms.desired(realms.WARGA)
    assert (asn["registrationAllowed"], warga["registrationAllowed"]) == (False, True)
    assert warga["verifyEmail"]
    for settings in (asn, warga):
        assert settings["sslRequired"] == "all"
        assert settings["bruteForceProtected"]
        assert settings["failureFactor"] == 5
        assert settings["browserFlow"] == realms.BROWSER_FLOW
        assert settings["directGrantFlow"] == realms.DIRECT_GRANT_FLOW
        assert "notUsername" in settings["passwordPolicy"]
    assert "length(12)" in asn["passwordPolicy"]
    # Only the civil servants' realm is trusted by the clusters.
    assert realms.expected(realms.ASN)["cluster_client"]["publicClient"]
    assert realms.expected(realms.WARGA)["cluster_client"] is None


def test_a_realm_as_specified_has_no_differences_and_each_change_is_named() -> None:
    seen = realms.expected(realms.ASN)
    assert realms.differences(realms.ASN, seen) == []
    # Lists in another order are the same.
    seen["supportedLocales"] = list(reversed(seen["supportedLocales"]))
    assert realms.differences(realms.ASN, seen) == []
    seen |= {"bruteForceProtected": False, "mfa": False}
    assert realms.differences(realms.ASN, seen) == [
        "bruteForceProtected: False -> True",
        "mfa: False -> True",
    ]


def _spec(**changes: Any) -> tenants.TenantAccessSpec:
    base = {
        "realm": "pdn-asn",
        "tenant": "kab-bekasi",
        "admin_groups": ("bekasi-admins",),
        "reader_groups": ("bekasi-inspektorat",),
        "applications": (
            tenants.Application("simpeg", "confidential", ("https://simpeg.example.go.id/*",)),
            tenants.Application("sync", "service"),
            tenants.Application("mobile", "public", ("https://m.example.go.id/cb",)),
        ),
    }
    return tenants.TenantAccessSpec(**(base | changes))


def test_a_tenants_admins_need_mfa_and_its_readers_only_read() -> None:
    want = tenants.expected(_spec())
    assert want["roles"] == {
        "tenant:kab-bekasi:admin": [realms.MFA_ROLE],
        "tenant:kab-bekasi:readonly": [],
    }
    assert want["groups"] == {
        "bekasi-admins": {"tenant": "kab-bekasi", "roles": ["tenant:kab-bekasi:admin"]},
        "bekasi-inspektorat": {"tenant": "kab-bekasi", "roles": ["tenant:kab-bekasi:readonly"]},
    }


def test_each_kind_of_application_gets_its_own_kind_of_client() -> None:
    spec = _spec()
    web, service, mobile = (tenants.client_representation(spec, a) for a in spec.applications)
    assert web["clientId"] == "kab-bekasi-simpeg"
    assert (web["publicClient"], web["standardFlowEnabled"], web["serviceAccountsEnabled"]) == (
        False,
        True,
        False,
    )
    assert (service["standardFlowEnabled"], service["serviceAccountsEnabled"]) == (False, True)
    assert service["redirectUris"] == []
    assert mobile["publicClient"]
    assert mobile["attributes"]["pkce.code.challenge.method"] == "S256"
    # Server-side clients act for the tenant at the platform (the e-signature service, the
    # GIS feature service); a browser or mobile application never does.
    for client in (web, service):
        mappers = {m["name"]: m["config"] for m in client["protocolMappers"]}
        assert mappers["pdn-tenant"]["claim.value"] == "kab-bekasi"
        assert mappers["pdn-tte-audience"]["included.custom.audience"] == "pdn-tte"
        assert mappers["pdn-gis-audience"]["included.custom.audience"] == "pdn-gis"
    assert mobile["protocolMappers"] == []
    # No client may log a user in with a password at the client (the resource owner grant).
    assert not any(c["directAccessGrantsEnabled"] for c in (web, service, mobile))
    assert all(c["attributes"][tenants.TENANT_ATTRIBUTE] == "kab-bekasi" for c in (web, mobile))


def test_tenant_drift_names_the_part_that_changed() -> None:
    spec = _spec()
    seen = tenants.expected(spec)
    assert tenants.differences(spec, seen) == []
    seen["groups"]["bekasi-admins"] = None  # deleted by hand
    seen["roles"]["tenant:kab-bekasi:admin"] = []  # MFA taken off
    assert tenants.differences(spec, seen) == [
        "roles tenant:kab-bekasi:admin: [] -> ['pdn-mfa-required']",
        "groups bekasi-admins: None -> {'tenant': 'kab-bekasi', 'roles': "
        "['tenant:kab-bekasi:admin']}",
    ]


def _access(**changes: Any) -> dict[str, Any]:
    return {
        "server": {"url": "https://127.0.0.1:18443", "ca_pem": CA},
        "admin_user": "pdn-admin",
        "admin_password": "pw",
        "realm": "pdn-asn",
        "tenant": "kab-bekasi",
        "admin_groups": ["bekasi-admins"],
        "reader_groups": [],
        "applications": [],
    } | changes


def test_drift_found_by_read_is_a_change_and_only_a_new_tenant_replaces() -> None:
    provider = TenantAccessProvider()
    made = _access(drift=[], design=access_design(_access()))
    assert not provider.diff("x", made, _access()).changes
    # What an older pdn made (another design, or none recorded) is updated by a newer one.
    assert provider.diff("x", _access(drift=[]), _access()).changes
    drifted = provider.diff("x", _access(drift=["groups bekasi-admins: ..."]), _access())
    assert drifted.changes
    assert not drifted.replaces
    assert provider.diff("x", _access(), _access(reader_groups=["b"])).replaces == []
    assert provider.diff("x", _access(), _access(tenant="other")).replaces == ["tenant"]
    realm = RealmProvider()
    props = {"server": {}, "admin_user": "a", "admin_password": "p", "realm": "pdn-asn"}
    assert not realm.diff("pdn-asn", props | {"design": realm_design(props)}, props).changes
    assert realm.diff("pdn-asn", props | {"design": "older"}, props).changes
    assert realm.diff("pdn-asn", props | {"drift": ["mfa: False -> True"]}, props).changes
    # A realm is never replaced: its users would go with it.
    assert realm.diff("pdn-asn", props, props | {"realm": "pdn-warga"}).replaces == []


def _connection() -> Connection:
    return Connection("https://127.0.0.1:18443", CA, "pdn-admin", pulumi.Output.secret("pw"))


def test_the_platform_makes_both_realms(pulumi_mocks: RecordingMocks) -> None:
    def program() -> dict[str, Any]:
        sso = SingleSignOn("pdn-local-sso", SingleSignOnArgs(_connection()))
        return {"issuers": sso.issuers}

    run_program(program)
    made = {r.name: r for r in pulumi_mocks.resources}
    assert made["pdn-local-sso"].typ == "pdn:sso:SingleSignOn"
    for realm in ("pdn-asn", "pdn-warga"):
        resource = made[f"pdn-local-sso-{realm}"]
        assert resource.typ == "pulumi-python:dynamic/pdn-sso:Realm"
        assert resource.inputs["realm"] == realm
        assert resource.inputs["server"]["url"] == "https://127.0.0.1:18443"


def test_a_tenant_gets_its_access_from_its_file(pulumi_mocks: RecordingMocks) -> None:
    tenant = FLEET.tenants["kemendagri"]

    def program() -> dict[str, Any]:
        identity = TenantIdentity(
            "kemendagri-identity",
            TenantIdentityArgs(
                tenant="kemendagri",
                admin_groups=tuple(tenant.groups.admins),
                reader_groups=tuple(tenant.groups.readers),
                applications=tuple(
                    ApplicationArgs(a.name, a.kind.value, tuple(a.redirect_uris))
                    for a in tenant.applications
                ),
                connection=_connection(),
            ),
        )
        return {"clients": identity.client_ids}

    out = run_program(program)
    assert out["clients"] == ["kemendagri-sipd", "kemendagri-siak-sync"]
    access = {r.name: r for r in pulumi_mocks.resources}["kemendagri-identity-access"]
    assert access.typ == "pulumi-python:dynamic/pdn-sso:TenantAccess"
    assert access.inputs["admin_groups"] == ["kemendagri-admins"]
    assert [a["kind"] for a in access.inputs["applications"]] == ["confidential", "service"]


def test_every_api_server_trusts_only_id_tokens_of_the_civil_servants_realm() -> None:
    config = control_plane.authentication_config("https://127.0.0.1:18443/realms/pdn-asn", CA)
    (jwt,) = config["jwt"]
    assert jwt["issuer"] == {
        "url": "https://127.0.0.1:18443/realms/pdn-asn",
        "audiences": ["kubernetes"],
        "audienceMatchPolicy": "MatchAny",
        "certificateAuthority": CA,
    }
    assert jwt["claimMappings"]["groups"] == {"claim": "groups", "prefix": "oidc:"}
    assert jwt["claimMappings"]["username"]["prefix"] == "oidc:"
    assert "'ID'" in jwt["claimValidationRules"][0]["expression"]


def test_a_tenant_with_officials_gets_a_certificate_for_its_seal_and_each_official(
    pulumi_mocks: RecordingMocks,
) -> None:
    tenant = FLEET.tenants["kab-bekasi"]
    service = SigningService("https://127.0.0.1:18480", CA)

    def program() -> dict[str, Any]:
        identity = TenantIdentity(
            "kab-bekasi-identity",
            TenantIdentityArgs(
                tenant="kab-bekasi",
                admin_groups=tuple(tenant.groups.admins),
                reader_groups=tuple(tenant.groups.readers),
                applications=(),
                connection=_connection(),
                signers=SignersArgs(
                    service,
                    tenant.name,
                    tuple(OfficialArgs(o.id, o.name, o.title, o.email) for o in tenant.officials),
                ),
            ),
        )
        return {"certificates": identity.certificates}

    out = run_program(program)
    assert set(out["certificates"]) == {"seal", "bupati", "sekda"}
    made = {r.name: r for r in pulumi_mocks.resources}
    seal, bupati = made["kab-bekasi-identity-seal"], made["kab-bekasi-identity-bupati"]
    assert seal.typ == "pulumi-python:dynamic/pdn-tte:SignerCertificate"
    assert (seal.inputs["name"], seal.inputs.get("official")) == (
        "Pemerintah Kabupaten Bekasi",
        None,
    )
    assert bupati.inputs["title"] == "Bupati Bekasi"
    assert bupati.inputs["email"] == "bupati@bekasikab.go.id"
    assert bupati.inputs["service"]["url"] == "https://127.0.0.1:18480"
    urns = tenant_urns("s", "kab-bekasi", sso=True, officials=("bupati", "sekda"))
    signers = [u.rsplit("::", 1)[1] for u in urns if "SignerCertificate" in u]
    assert signers == [f"kab-bekasi-identity-{h}" for h in ("seal", "bupati", "sekda")]
    assert not any("SignerCertificate" in u for u in tenant_urns("s", "kab-bekasi", sso=True))


def _signer(**changed: Any) -> dict[str, Any]:
    return {
        "service": {"url": "https://127.0.0.1:18480", "ca_pem": CA},
        "sso": {"server": {}, "admin_user": "a", "admin_password": "p"},
        "tenant": "kab-bekasi",
        "name": "Hj. Ratna Kusumawati, S.H.",
        "official": "bupati",
        "title": "Bupati Bekasi",
        "email": "bupati@bekasikab.go.id",
        "serial": "ab12",
        "not_after": "2099-01-01T00:00:00+00:00",
    } | changed


def test_a_certificate_is_replaced_when_its_holder_changes_or_it_nears_its_end() -> None:
    provider = SignerCertificateProvider()
    assert not provider.diff("x", _signer(), _signer()).changes
    assert provider.diff("x", _signer(), _signer(title="Pj. Bupati Bekasi")).replaces == ["title"]
    # None valid any more (revoked by hand, found so by a refresh): a new one is issued.
    assert provider.diff("x", _signer(serial=None, not_after=None), _signer()).replaces == [
        "not_after"
    ]
    soon = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=10)).isoformat()
    assert provider.diff("x", _signer(not_after=soon), _signer()).replaces == ["not_after"]
    moved = provider.diff(
        "x", _signer(), _signer(service={"url": "https://elsewhere", "ca_pem": CA})
    )
    assert moved.changes
    assert not moved.replaces  # the same certificate, reached at another address


def test_an_official_is_well_formed_and_named_once() -> None:
    document = yaml.safe_load((TENANTS_DIR / "kab-bekasi.yaml").read_text())
    official = document["officials"][0]
    for officials, says in (
        ([official, official], "officials: an official's id is listed twice"),
        (
            [official, {**official, "id": "wabup"}],
            "officials: an official's e-mail is listed twice",
        ),
        ([{**official, "id": "seal"}], "'seal' names the tenant's own certificate"),
    ):
        with pytest.raises(ValidationError) as raised:
            Tenant.model_validate({**document, "officials": officials}, strict=False)
        assert says in str(raised.value)
