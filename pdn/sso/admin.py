"""Keycloak's admin REST API over verified TLS, as the platform's admin.

The CA is carried as PEM and the admin's password as a value, never as paths: a Pulumi dynamic
provider runs in its own process from the state, on whichever operator's machine runs `up`.
"""

from __future__ import annotations

import json
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any

import urllib3

from pdn.sso.errors import SsoError

TIMEOUT = urllib3.Timeout(connect=5.0, read=60.0)


@dataclass(frozen=True)
class Server:
    """Where Keycloak answers (its public https URL) and the CA that signs it (PEM)."""

    url: str
    ca_pem: str

    def __post_init__(self) -> None:
        if not self.url.startswith("https://"):
            raise SsoError(
                f"single sign-on at {self.url!r}: only https:// is accepted (passwords and "
                "tokens never cross the network in clear)"
            )
        if "BEGIN CERTIFICATE" not in self.ca_pem:
            raise SsoError(f"single sign-on at {self.url}: its CA is not a PEM certificate")

    def issuer(self, realm: str) -> str:
        return f"{self.url.rstrip('/')}/realms/{realm}"


@dataclass(frozen=True)
class AdminLogin:
    """The platform's admin in Keycloak's master realm (the password reaches Pulumi as a
    secret input)."""

    server: Server
    user: str
    password: str = ""

    def __repr__(self) -> str:  # never the password, in a traceback or a log
        return f"AdminLogin({self.server.url!r}, {self.user!r})"


def quote(name: str) -> str:
    """A role's or flow's name as one path segment (they hold ':' and spaces)."""
    return urllib.parse.quote(name, safe="")


def pool(ca_pem: str) -> urllib3.PoolManager:
    """HTTPS connections verified against ca_pem (PEM), no retries."""
    context = ssl.create_default_context(cadata=ca_pem)
    return urllib3.PoolManager(ssl_context=context, timeout=TIMEOUT, retries=False)


def _message(response: urllib3.BaseHTTPResponse) -> str:
    try:
        body = json.loads(response.data or b"{}")
    except ValueError:
        return response.data[:200].decode(errors="replace")
    if isinstance(body, dict):
        return str(
            body.get("errorMessage") or body.get("error_description") or body.get("error") or body
        )
    return str(body)


class Admin:
    """One admin session: a token from the master realm, then JSON calls on /admin/realms."""

    def __init__(self, login: AdminLogin) -> None:
        self.login = login
        self._http = pool(login.server.ca_pem)
        self._token = self._admin_token()

    def _request(
        self, method: str, url: str, *, body: bytes | None = None, headers: dict[str, str]
    ) -> urllib3.BaseHTTPResponse:
        try:
            return self._http.request(method, url, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as err:
            raise SsoError(
                f"single sign-on at {self.login.server.url} does not answer ({err}): is the "
                "DC up (`pdn dc up`)?"
            ) from None

    def _admin_token(self) -> str:
        url = f"{self.login.server.issuer('master')}/protocol/openid-connect/token"
        form = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": self.login.user,
                "password": self.login.password,
            }
        )
        answer = self._request(
            "POST",
            url,
            body=form.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if answer.status != 200:
            raise SsoError(
                f"single sign-on at {self.login.server.url}: the platform admin "
                f"{self.login.user!r} cannot log in ({answer.status}: {_message(answer)}): "
                "check the admin password the stack was given"
            )
        return str(json.loads(answer.data)["access_token"])

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        missing_ok: bool = False,
        params: dict[str, str] | None = None,
    ) -> Any:
        """The JSON answer of one admin call (path under /admin/realms); None for 404 when
        missing_ok, or for an answer without a body."""
        url = f"{self.login.server.url.rstrip('/')}/admin/realms{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        answer = self._request(method, url, body=data, headers=headers)
        if answer.status == 401:  # the admin token expired mid-run: one fresh token, once
            self._token = self._admin_token()
            headers["Authorization"] = f"Bearer {self._token}"
            answer = self._request(method, url, body=data, headers=headers)
        if answer.status == 404 and missing_ok:
            return None
        if answer.status >= 300:
            raise SsoError(
                f"single sign-on: {method} {path} was refused ({answer.status}: {_message(answer)})"
            )
        return json.loads(answer.data) if answer.data else None

    def get(self, path: str, **params: str) -> Any:
        return self.call("GET", path, params=params or None)

    def find(self, path: str, **params: str) -> Any:
        """GET, or None when Keycloak answers 404."""
        return self.call("GET", path, missing_ok=True, params=params or None)
