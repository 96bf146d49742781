"""The DC's two realms and the rules every login in them obeys.

- `pdn-asn`: civil servants (aparatur sipil negara) of every agency; the cluster and the
  agencies' internal applications trust it. No self-registration; a strict password policy;
  MFA (TOTP) for every member of a tenant's admin groups, at the browser and the CLI alike.
- `pdn-warga`: citizens using agencies' public services; self-registration with a verified
  e-mail, a password policy fit for the public, shorter sessions.

Both: TLS required for every client, brute-force protection (temporary lockout), bounded
sessions, login and admin events kept for audit, Indonesian first.

`ensure` makes a realm what its spec says (idempotent: a second call changes nothing); `observe`
reads what Keycloak holds, in the same shape as `desired`, so a change made by hand in the
console is seen as a difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pdn.sso import clients
from pdn.sso.admin import Admin, quote
from pdn.sso.errors import SsoError

CIVIL_SERVANTS = "pdn-asn"
CITIZENS = "pdn-warga"
MFA_ROLE = "pdn-mfa-required"  # members of a group holding it (through a tenant's admin role)
KUBERNETES_CLIENT = "kubernetes"  # the audience the clusters' API servers accept
SIGNING_AUDIENCE = "pdn-tte"  # the e-signature service's audience
GIS_AUDIENCE = "pdn-gis"  # the GIS platform's feature service's
# The platform's registration authority at the e-signature service: a service client whose
# tokens carry this realm role (issuing and revoking certificates needs it).
REGISTRAR = "pdn-tte-registrar"
GROUPS_SCOPE = "pdn-groups"  # puts the user's group names in the `groups` claim
# The MFA flows: copies of Keycloak's own, whose conditional OTP step asks for the role above
# (Keycloak's asks only users who already set an OTP up).
BROWSER_FLOW = "pdn browser"
DIRECT_GRANT_FLOW = "pdn direct grant"
FLOWS = {
    "browserFlow": (BROWSER_FLOW, "browser"),
    "directGrantFlow": (DIRECT_GRANT_FLOW, "direct grant"),
}
OTP_PROVIDERS = {"auth-otp-form", "direct-grant-validate-otp"}
# Sessions a user may hold at once in the realm; a new login ends the oldest.
SESSION_LIMIT = 3
SESSION_LIMITER = "user-session-limits"
SESSION_BEHAVIOUR = "Terminate oldest session"
# kubelogin's redirect URIs (its defaults): the CLI login with PKCE on the operator's machine.
KUBELOGIN_REDIRECTS = ["http://localhost:8000", "http://localhost:18000"]


@dataclass(frozen=True)
class RealmSpec:
    name: str
    display_name: str
    self_registration: bool
    password_policy: str
    session_idle_seconds: int
    session_max_seconds: int
    cluster_login: bool  # the realm the clusters trust (a `kubernetes` client in it)


ASN = RealmSpec(
    CIVIL_SERVANTS,
    "Aparatur Sipil Negara — Pusat Data Nasional",
    self_registration=False,
    password_policy=(  # noqa: S106 (Keycloak's policy, not a password)
        "length(12) and upperCase(1) and lowerCase(1) and digits(1) and specialChars(1) "
        "and notUsername(undefined) and notEmail(undefined) and passwordHistory(5)"
    ),
    session_idle_seconds=30 * 60,
    session_max_seconds=10 * 3600,  # a working day
    cluster_login=True,
)
WARGA = RealmSpec(
    CITIZENS,
    "Layanan Warga — Pusat Data Nasional",
    self_registration=True,
    password_policy="length(10) and notUsername(undefined) and notEmail(undefined)",  # noqa: S106
    session_idle_seconds=15 * 60,
    session_max_seconds=8 * 3600,
    cluster_login=False,
)
REALMS = (ASN, WARGA)


def desired(spec: RealmSpec) -> dict[str, Any]:
    """The realm's settings pdn owns, as Keycloak represents them."""
    return {
        "realm": spec.name,
        "displayName": spec.display_name,
        "enabled": True,
        "sslRequired": "all",
        "registrationAllowed": spec.self_registration,
        "verifyEmail": spec.self_registration,
        "loginWithEmailAllowed": True,
        "duplicateEmailsAllowed": False,
        "editUsernameAllowed": False,
        "resetPasswordAllowed": True,
        "passwordPolicy": spec.password_policy,
        # Brute force: 5 failures lock the account for a minute, doubling up to 15 minutes.
        "bruteForceProtected": True,
        "permanentLockout": False,
        "failureFactor": 5,
        "waitIncrementSeconds": 60,
        "maxFailureWaitSeconds": 900,
        "maxDeltaTimeSeconds": 12 * 3600,
        "quickLoginCheckMilliSeconds": 1000,
        "minimumQuickLoginWaitSeconds": 60,
        "ssoSessionIdleTimeout": spec.session_idle_seconds,
        "ssoSessionMaxLifespan": spec.session_max_seconds,
        "accessTokenLifespan": 300,
        "revokeRefreshToken": True,
        "otpPolicyType": "totp",
        "otpPolicyAlgorithm": "HmacSHA1",  # what authenticator apps read from the QR code
        "otpPolicyDigits": 6,
        "otpPolicyPeriod": 30,
        "internationalizationEnabled": True,
        "supportedLocales": ["en", "id"],
        "defaultLocale": "id",
        "eventsEnabled": True,
        "eventsExpiration": 90 * 24 * 3600,
        "adminEventsEnabled": True,
        "adminEventsDetailsEnabled": False,  # details would carry what was set, secrets too
        **{binding: flow for binding, (flow, _) in FLOWS.items()},
    }


def _kubernetes_client() -> dict[str, Any]:
    """The clusters' OIDC client: public (kubelogin with PKCE, or a password grant that the
    MFA flow still guards), its tokens for the audience `kubernetes`, with the user's groups."""
    return {
        "clientId": KUBERNETES_CLIENT,
        "name": "Kubernetes API servers of the national DC",
        "protocol": "openid-connect",
        "enabled": True,
        "publicClient": True,
        "standardFlowEnabled": True,
        "directAccessGrantsEnabled": True,
        "implicitFlowEnabled": False,
        "serviceAccountsEnabled": False,
        "redirectUris": KUBELOGIN_REDIRECTS,
        "attributes": {"pkce.code.challenge.method": "S256"},
        "protocolMappers": [
            {
                "name": "audience-kubernetes",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {
                    "included.client.audience": KUBERNETES_CLIENT,
                    "id.token.claim": "true",
                    "access.token.claim": "true",
                },
            }
        ],
    }


def _registrar_client() -> dict[str, Any]:
    """The registration authority's client: client credentials only (the platform's stacks
    issue and revoke signing certificates with its tokens), for the audience pdn-tte."""
    return {
        "clientId": REGISTRAR,
        "name": "Registration authority of the e-signature service",
        "protocol": "openid-connect",
        "enabled": True,
        "publicClient": False,
        "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "implicitFlowEnabled": False,
        "serviceAccountsEnabled": True,
        "redirectUris": [],
        "attributes": {},
        "protocolMappers": [
            {
                "name": "audience-pdn-tte",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {
                    "included.custom.audience": SIGNING_AUDIENCE,
                    "id.token.claim": "false",
                    "access.token.claim": "true",
                },
            }
        ],
    }


def _groups_scope() -> dict[str, Any]:
    return {
        "name": GROUPS_SCOPE,
        "description": "the user's groups, by name, in the `groups` claim",
        "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
        "protocolMappers": [
            {
                "name": "groups",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-group-membership-mapper",
                "config": {
                    "claim.name": "groups",
                    "full.path": "false",
                    "id.token.claim": "true",
                    "access.token.claim": "true",
                    "userinfo.token.claim": "true",
                },
            }
        ],
    }


# Reading.
def observe(admin: Admin, name: str) -> dict[str, Any] | None:
    """What Keycloak holds for the realm, in `desired`'s shape plus `mfa` (the flows ask admins
    for an OTP), `cluster_client` and `groups_scope`; None when the realm is gone."""
    realm = admin.find(f"/{name}")
    if realm is None:
        return None
    keys = desired(ASN).keys()
    seen = {k: realm.get(k) for k in keys}
    flows = [_flow_state(admin, name, flow) for flow, _ in FLOWS.values()]
    seen["mfa"] = all(f["mfa"] for f in flows)
    seen["session_limit"] = [f["session_limit"] for f in flows]
    seen["groups_scope"] = _default_scope_id(admin, name) is not None
    client = clients.find(admin, name, KUBERNETES_CLIENT)
    seen["cluster_client"] = None if client is None else clients.view(client)
    registrar = clients.find(admin, name, REGISTRAR)
    seen["registrar"] = None if registrar is None else _registrar_view(admin, name, registrar)
    return seen


def expected(spec: RealmSpec) -> dict[str, Any]:
    """`observe`'s answer for a realm that is as its spec says."""
    return {
        **desired(spec),
        "mfa": True,
        "session_limit": [SESSION_LIMIT] * len(FLOWS),
        "groups_scope": True,
        "cluster_client": clients.view(_kubernetes_client()) if spec.cluster_login else None,
        "registrar": (
            {**clients.view(_registrar_client()), "role": True} if spec.cluster_login else None
        ),
    }


def differences(spec: RealmSpec, seen: dict[str, Any]) -> list[str]:
    """The settings that differ from the spec, each as `name: held -> wanted`."""
    want = expected(spec)
    return [
        f"{key}: {seen.get(key)!r} -> {value!r}"
        for key, value in want.items()
        if _normal(seen.get(key)) != _normal(value)
    ]


def _normal(value: Any) -> Any:
    return sorted(value, key=repr) if isinstance(value, list) else value


def _service_account(admin: Admin, realm: str, client: dict[str, Any]) -> str:
    return str(admin.get(f"/{realm}/clients/{client['id']}/service-account-user")["id"])


def _registrar_view(admin: Admin, realm: str, client: dict[str, Any]) -> dict[str, Any]:
    """The registrar's client, and whether its service account holds the registrar role."""
    held = {"role": False}
    if client.get("serviceAccountsEnabled"):
        user = _service_account(admin, realm, client)
        roles = admin.get(f"/{realm}/users/{user}/role-mappings/realm")
        held["role"] = any(r["name"] == REGISTRAR for r in roles)
    return {**clients.view(client), **held}


def _default_scope_id(admin: Admin, realm: str) -> str | None:
    scopes = admin.get(f"/{realm}/default-default-client-scopes")
    return next((s["id"] for s in scopes if s["name"] == GROUPS_SCOPE), None)


def _executions(admin: Admin, realm: str, flow: str) -> list[dict[str, Any]]:
    return list(admin.get(f"/{realm}/authentication/flows/{quote(flow)}/executions"))


def _conditional_otp(
    executions: list[dict[str, Any]],
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The flow's conditional subflow holding the OTP step, with its own executions."""
    for index, execution in enumerate(executions):
        if execution.get("authenticationFlow") and execution.get("requirement") == "CONDITIONAL":
            level = execution["level"]
            inside = []
            for child in executions[index + 1 :]:
                if child["level"] <= level:
                    break
                inside.append(child)
            if any(c.get("providerId") in OTP_PROVIDERS for c in inside):
                return execution, inside
    return None


def _parent_alias(flow: str, executions: list[dict[str, Any]], sub_alias: str) -> str:
    """The alias of the flow that holds the subflow sub_alias (the top flow, or a subflow)."""
    index, subflow = next(
        (i, e)
        for i, e in enumerate(executions)
        if e.get("authenticationFlow") and e.get("displayName") == sub_alias
    )
    if subflow["level"] == 0:
        return flow
    for before in reversed(executions[:index]):
        if before["level"] == subflow["level"] - 1 and before.get("authenticationFlow"):
            return str(before["displayName"])
    return flow


def _flow_state(admin: Admin, realm: str, flow: str) -> dict[str, Any]:
    """Whether the flow asks MFA_ROLE's holders for an OTP, and its session limit (None when
    it sets none)."""
    state: dict[str, Any] = {"mfa": False, "session_limit": None}
    if admin.find(f"/{realm}/authentication/flows/{quote(flow)}/executions") is None:
        return state
    executions = _executions(admin, realm, flow)
    limiter = next(
        (e for e in executions if e.get("providerId") == SESSION_LIMITER),
        None,
    )
    if limiter is not None and limiter.get("requirement") == "REQUIRED":
        values = _config(admin, realm, limiter)
        if values.get("behavior") == SESSION_BEHAVIOUR and values.get("userRealmLimit"):
            state["session_limit"] = int(values["userRealmLimit"])
    found = _conditional_otp(executions)
    if found is None:
        return state
    _, inside = found
    providers = {c.get("providerId"): c for c in inside}
    role = providers.get("conditional-user-role")
    otp = next((c for c in inside if c.get("providerId") in OTP_PROVIDERS), None)
    if role is None or otp is None or "conditional-user-configured" in providers:
        return state
    if role.get("requirement") != "REQUIRED" or otp.get("requirement") != "REQUIRED":
        return state
    values = _config(admin, realm, role)
    state["mfa"] = values.get("condUserRole") == MFA_ROLE and values.get("negate") in (
        None,
        "false",
    )
    return state


def _config(admin: Admin, realm: str, execution: dict[str, Any]) -> dict[str, str]:
    config_id = execution.get("authenticationConfig")
    if not config_id:
        return {}
    found = admin.find(f"/{realm}/authentication/config/{config_id}") or {}
    return dict(found.get("config") or {})


# Making.
def ensure(admin: Admin, spec: RealmSpec) -> None:
    """Make the realm as its spec says: create it, or put back what differs."""
    if admin.find(f"/{spec.name}") is None:
        admin.call("POST", "", {"realm": spec.name, "enabled": True})
    _ensure_role(admin, spec.name)
    for flow, source in FLOWS.values():
        _ensure_mfa_flow(admin, spec.name, flow, source)
    _ensure_groups_scope(admin, spec.name)
    if spec.cluster_login:
        _ensure_client(admin, spec.name, _kubernetes_client())
        _ensure_registrar(admin, spec.name)
    # Settings last: the flows they bind exist by now.
    admin.call("PUT", f"/{spec.name}", desired(spec))


def _ensure_role(admin: Admin, realm: str) -> None:
    if admin.find(f"/{realm}/roles/{MFA_ROLE}") is None:
        admin.call(
            "POST",
            f"/{realm}/roles",
            {
                "name": MFA_ROLE,
                "description": "must log in with a second factor (TOTP); held through a "
                "tenant's admin role",
            },
        )


def _ensure_registrar(admin: Admin, realm: str) -> None:
    """The registrar's role and client, its service account holding the role."""
    if admin.find(f"/{realm}/roles/{REGISTRAR}") is None:
        admin.call(
            "POST",
            f"/{realm}/roles",
            {"name": REGISTRAR, "description": "issues and revokes e-signature certificates"},
        )
    _ensure_client(admin, realm, _registrar_client())
    client = clients.find(admin, realm, REGISTRAR)
    if client is None:
        raise SsoError(f"single sign-on: client {REGISTRAR!r} was created but cannot be found")
    if not _registrar_view(admin, realm, client)["role"]:
        user = _service_account(admin, realm, client)
        role = admin.get(f"/{realm}/roles/{REGISTRAR}")
        admin.call("POST", f"/{realm}/users/{user}/role-mappings/realm", [role])


def registrar_secret(admin: Admin, realm: str = CIVIL_SERVANTS) -> str:
    """The registrar client's secret (read by the platform's stacks through the admin API)."""
    client = clients.find(admin, realm, REGISTRAR)
    if client is None:
        raise SsoError(
            f"single sign-on: realm {realm} has no {REGISTRAR!r} client: `pdn up` the "
            "platform stack first"
        )
    return str(admin.get(f"/{realm}/clients/{client['id']}/client-secret")["value"])


def _ensure_mfa_flow(admin: Admin, realm: str, flow: str, source: str) -> None:
    """A copy of Keycloak's flow `source` whose conditional OTP step asks every holder of
    MFA_ROLE (set up at first login in the browser; refused at the CLI until set up), then
    limits the user's sessions."""
    if _flow_state(admin, realm, flow) == {"mfa": True, "session_limit": SESSION_LIMIT}:
        return
    flows = {f["alias"]: f for f in admin.get(f"/{realm}/authentication/flows")}
    if flow in flows:  # changed by hand: made again from Keycloak's own
        for binding, (ours, builtin) in FLOWS.items():
            if ours == flow:  # a bound flow cannot be deleted: bind Keycloak's meanwhile
                admin.call("PUT", f"/{realm}", {binding: builtin})
        _delete_flow_tree(admin, realm, flows[flow]["id"])
    admin.call("POST", f"/{realm}/authentication/flows/{quote(source)}/copy", {"newName": flow})
    found = _conditional_otp(_executions(admin, realm, flow))
    if found is None:
        from pdn.sso.errors import SsoError  # noqa: PLC0415

        raise SsoError(
            f"realm {realm}: Keycloak's {source!r} flow has no conditional OTP step to build "
            f"{flow!r} from (has this Keycloak version changed it?)"
        )
    subflow, inside = found
    sub_alias = subflow["displayName"]
    for child in inside:
        if child.get("providerId") == "conditional-user-configured":
            admin.call("DELETE", f"/{realm}/authentication/executions/{child['id']}")
    admin.call(
        "POST",
        f"/{realm}/authentication/flows/{quote(sub_alias)}/executions/execution",
        {"provider": "conditional-user-role"},
    )
    for child in _executions(admin, realm, sub_alias):
        if child.get("providerId") == "conditional-user-role":
            child["requirement"] = "REQUIRED"
            admin.call("PUT", f"/{realm}/authentication/flows/{quote(sub_alias)}/executions", child)
            admin.call(
                "POST",
                f"/{realm}/authentication/executions/{child['id']}/config",
                {
                    "alias": f"{flow} needs {MFA_ROLE}".replace(" ", "-"),
                    "config": {"condUserRole": MFA_ROLE, "negate": "false"},
                },
            )
            # Conditions run before the step they guard.
            while child.get("index", 0) > 0:
                admin.call(
                    "POST", f"/{realm}/authentication/executions/{child['id']}/raise-priority"
                )
                child["index"] -= 1
        elif child.get("providerId") in OTP_PROVIDERS and child.get("requirement") != "REQUIRED":
            child["requirement"] = "REQUIRED"
            admin.call("PUT", f"/{realm}/authentication/flows/{quote(sub_alias)}/executions", child)
    _add_session_limit(admin, realm, flow, sub_alias)


def _add_session_limit(admin: Admin, realm: str, flow: str, sub_alias: str) -> None:
    """Once the user is known (after the second factor): at most SESSION_LIMIT sessions."""
    parent = _parent_alias(flow, _executions(admin, realm, flow), sub_alias)
    admin.call(
        "POST",
        f"/{realm}/authentication/flows/{quote(parent)}/executions/execution",
        {"provider": SESSION_LIMITER},
    )
    for child in _executions(admin, realm, parent):
        if child.get("providerId") == SESSION_LIMITER:
            child["requirement"] = "REQUIRED"
            admin.call("PUT", f"/{realm}/authentication/flows/{quote(parent)}/executions", child)
            admin.call(
                "POST",
                f"/{realm}/authentication/executions/{child['id']}/config",
                {
                    "alias": f"{flow} session limit".replace(" ", "-"),
                    "config": {
                        "userRealmLimit": str(SESSION_LIMIT),
                        "userClientLimit": "0",
                        "behavior": SESSION_BEHAVIOUR,
                    },
                },
            )


def _delete_flow_tree(admin: Admin, realm: str, flow_id: str) -> None:
    admin.call("DELETE", f"/{realm}/authentication/flows/{flow_id}")


def _ensure_groups_scope(admin: Admin, realm: str) -> None:
    scopes = {s["name"]: s for s in admin.get(f"/{realm}/client-scopes")}
    if GROUPS_SCOPE not in scopes:
        admin.call("POST", f"/{realm}/client-scopes", _groups_scope())
        scopes = {s["name"]: s for s in admin.get(f"/{realm}/client-scopes")}
    if _default_scope_id(admin, realm) is None:
        admin.call("PUT", f"/{realm}/default-default-client-scopes/{scopes[GROUPS_SCOPE]['id']}")


def _ensure_client(admin: Admin, realm: str, wanted: dict[str, Any]) -> None:
    held = clients.find(admin, realm, wanted["clientId"])
    if held is None:
        admin.call("POST", f"/{realm}/clients", wanted)
        return
    if clients.view(held) != clients.view(wanted):
        settings = {k: v for k, v in wanted.items() if k != "protocolMappers"}
        admin.call("PUT", f"/{realm}/clients/{held['id']}", {**held, **settings})
        clients.ensure_mappers(admin, realm, held, wanted.get("protocolMappers") or [])
