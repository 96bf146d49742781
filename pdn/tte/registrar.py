"""The platform's registration authority at the e-signature service: issues and revokes the
signing certificates tenant files ask for (their seals, their officials'), with a token of the
SSO's registrar client (client credentials; its secret read through Keycloak's admin API, so
it is stored nowhere else).

The service's URL and CA travel as values, never paths: a Pulumi dynamic provider runs this
from the state, in its own process.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

import urllib3

from pdn.sso import realms
from pdn.sso.admin import Admin, pool
from pdn.tte import SEAL
from pdn.tte.errors import TteError


@dataclass(frozen=True)
class Holder:
    """Who a signing certificate is for: a tenant (its seal) or one of its officials."""

    tenant: str
    name: str
    official: str | None = None
    title: str | None = None
    email: str | None = None

    @property
    def key(self) -> str:
        return f"{self.tenant}/{self.official or SEAL}"


@dataclass(frozen=True)
class Certificate:
    """One certificate as the service reports it."""

    serial: str
    pem: str
    not_after: str
    revoked_at: str | None
    reason: str | None

    @staticmethod
    def of(found: dict[str, Any]) -> Certificate:
        return Certificate(
            str(found["serial"]),
            str(found["certificate"]),
            str(found["not_after"]),
            found.get("revoked_at"),
            found.get("reason"),
        )


def _error(answer: urllib3.BaseHTTPResponse) -> str:
    try:
        return str(json.loads(answer.data).get("error") or answer.status)
    except (ValueError, AttributeError):
        return answer.data[:200].decode(errors="replace")


def registrar_token(admin: Admin, realm: str = realms.CIVIL_SERVANTS) -> str:
    """An access token of the registrar client (client credentials)."""
    server = admin.login.server
    secret = realms.registrar_secret(admin, realm)
    try:
        answer = pool(server.ca_pem).request(
            "POST",
            f"{server.issuer(realm)}/protocol/openid-connect/token",
            body=urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": realms.REGISTRAR,
                    "client_secret": secret,
                }
            ),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except urllib3.exceptions.HTTPError as err:
        raise TteError(f"single sign-on at {server.url} does not answer ({err})") from None
    if answer.status != 200:
        raise TteError(
            f"the registrar client cannot get a token from realm {realm} ({answer.status}: "
            f"{_error(answer)}): `pdn up` the platform stack to put it right"
        )
    return str(json.loads(answer.data)["access_token"])


class Registrar:
    """Calls on the signing service's certificate API, as the registrar."""

    def __init__(self, url: str, ca_pem: str, token: str) -> None:
        if not url.startswith("https://"):
            raise TteError(f"e-signature service at {url!r}: only https:// is accepted")
        self.url, self._token = url.rstrip("/"), token
        self._http = pool(ca_pem)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            answer = self._http.request(
                method,
                f"{self.url}{path}",
                body=None if body is None else json.dumps(body).encode(),
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                },
            )
        except urllib3.exceptions.HTTPError as err:
            raise TteError(
                f"the e-signature service at {self.url} does not answer ({err}): is the DC up "
                "(`pdn dc up`)?"
            ) from None
        if answer.status == 404:
            return None
        if answer.status >= 300:
            raise TteError(
                f"the e-signature service refused {method} {path} ({answer.status}: "
                f"{_error(answer)})"
            )
        return json.loads(answer.data)

    def issue(self, holder: Holder) -> Certificate:
        """A new certificate for holder; its previous one is superseded."""
        found = self._call(
            "POST",
            "/v1/certificates",
            {
                "tenant": holder.tenant,
                "name": holder.name,
                "official": holder.official,
                "title": holder.title,
                "email": holder.email,
            },
        )
        return Certificate.of(found)

    def current(self, holder: Holder) -> Certificate | None:
        """The holder's newest valid certificate (None: none is valid)."""
        path = f"/v1/holders/{urllib.parse.quote(holder.tenant, safe='')}"
        if holder.official:
            path += f"/{urllib.parse.quote(holder.official, safe='')}"
        found = self._call("GET", path)
        return None if found is None else Certificate.of(found)

    def look_up(self, serial: str) -> Certificate | None:
        found = self._call("GET", f"/v1/certificates/{serial}")
        return None if found is None else Certificate.of(found)

    def revoke(self, serial: str, reason: str) -> Certificate | None:
        """Revoke (again: no change); None when the service never issued it."""
        found = self._call("POST", f"/v1/certificates/{serial}/revoke", {"reason": reason})
        return None if found is None else Certificate.of(found)
