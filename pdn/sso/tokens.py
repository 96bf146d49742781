"""Access tokens of the civil servants' realm, as the platform's services check them: signed
by the realm (its JWKS), issued by it, for the service's audience, not expired; the tenant a
tenant's client acts for is the `pdn_tenant` claim (pdn/sso/tenants.py puts it there)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import jwt

from pdn.sso.realms import REGISTRAR
from pdn.sso.tenants import TENANT_CLAIM

KeyFor = Callable[[str], Any]  # the verification key of a token (the realm's JWKS)


class ForbiddenError(Exception):
    """A valid token that may not do this (403)."""


class Tokens:
    """Access tokens of the civil servants' realm, for one service's audience."""

    def __init__(self, issuer: str, key_for: KeyFor, audience: str) -> None:
        self.issuer, self.key_for, self.audience = issuer, key_for, audience

    @staticmethod
    def from_realm(issuer: str, ca_pem: str, audience: str) -> Tokens:
        client = jwt.PyJWKClient(
            f"{issuer}/protocol/openid-connect/certs",
            ssl_context=ssl.create_default_context(cadata=ca_pem),
        )
        return Tokens(issuer, lambda token: client.get_signing_key_from_jwt(token).key, audience)

    def tenant_of(self, authorization: str | None) -> str:
        claims = self._claims(authorization, "the tenant's SSO client")
        tenant = claims.get(TENANT_CLAIM)
        if not isinstance(tenant, str) or not tenant:
            raise PermissionError(f"the token names no tenant ({TENANT_CLAIM})")
        return tenant

    def check_registrar(self, authorization: str | None) -> None:
        claims = self._claims(authorization, f"the registrar ({REGISTRAR})")
        roles = (claims.get("realm_access") or {}).get("roles") or []
        if REGISTRAR not in roles:
            raise ForbiddenError(f"only the registrar ({REGISTRAR}) issues or revokes")

    def _claims(self, authorization: str | None, whose: str) -> dict[str, Any]:
        if not authorization or not authorization.startswith("Bearer "):
            raise PermissionError(f"a bearer token of {whose} is required")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(
                token,
                self.key_for(token),
                algorithms=["RS256", "ES256", "PS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError) as err:
            raise PermissionError(f"the token is not accepted: {err}") from None
        return dict(claims)
