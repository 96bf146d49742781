"""A Pulumi dynamic provider for signing certificates at the DC's e-signature service (a
tenant's seal, or one of its officials'), through the service's registrar API
(`pdn.tte.registrar`).

Create issues one (the holder's previous one superseded); a changed name, title or e-mail, or
a certificate close to its end, is a replacement: a new certificate, the old one superseded.
Read follows the holder's valid certificate: one rotated by hand (`pdn tte issue`) is adopted;
one revoked by hand leaves none, and the next `up` issues a new one. Delete revokes it (the
tenant or the official has left). The private key never leaves the service.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from pdn.tte.registrar import Certificate, Holder, Registrar, registrar_token
from platform_services.sso.providers import admin_of

HOLDER_KEYS = ("tenant", "name", "official", "title", "email")
RENEW_DAYS = 30  # a certificate this close to its end is replaced at the next `up`
REVOKED_REASON = "cessation_of_operation"  # its holder is gone from the tenant file


def _holder(props: Mapping[str, Any]) -> Holder:
    return Holder(
        str(props["tenant"]),
        str(props["name"]),
        props.get("official"),
        props.get("title"),
        props.get("email"),
    )


def _registrar(props: Mapping[str, Any]) -> Registrar:
    service = props["service"]
    return Registrar(
        str(service["url"]), str(service["ca_pem"]), registrar_token(admin_of(props["sso"]))
    )


def _outputs(certificate: Certificate | None) -> dict[str, Any]:
    if certificate is None:
        return {"serial": None, "certificate_pem": None, "not_after": None}
    return {
        "serial": certificate.serial,
        "certificate_pem": certificate.pem,
        "not_after": certificate.not_after,
    }


def _due(not_after: str | None, now: datetime.datetime | None = None) -> bool:
    """No valid certificate, or one within RENEW_DAYS of its end."""
    if not not_after:
        return True
    ends = datetime.datetime.fromisoformat(not_after)
    now = now or datetime.datetime.now(datetime.UTC)
    return ends - now < datetime.timedelta(days=RENEW_DAYS)


class SignerCertificateProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        moved = [k for k in HOLDER_KEYS if olds.get(k) != news.get(k)]
        if _due(olds.get("not_after")):
            moved.append("not_after")
        changed = moved + [k for k in ("service", "sso") if olds.get(k) != news.get(k)]
        # Replaced, never edited: a certificate's contents are signed. The new one first (the
        # service supersedes the old), then the old one's delete finds it revoked already.
        return DiffResult(changes=bool(changed), replaces=moved, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        holder = _holder(props)
        issued = _registrar(props).issue(holder)
        return CreateResult(holder.key, {**props, **_outputs(issued)})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Only where the service or the SSO answer changed: the certificate stays."""
        return UpdateResult({**news, **{k: olds.get(k) for k in _outputs(None)}})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        current = _registrar(props).current(_holder(props))
        return ReadResult(id_, {**props, **_outputs(current)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        serial = props.get("serial")
        if serial:
            _registrar(props).revoke(str(serial), REVOKED_REASON)


class SignerCertificate(Resource, module="pdn-tte", name="SignerCertificate"):
    """A signing certificate of the DC's e-signature service for a tenant or an official."""

    serial: pulumi.Output[str]
    certificate_pem: pulumi.Output[str]
    not_after: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        service: Mapping[str, pulumi.Input[str]],
        sso: Mapping[str, pulumi.Input[Any]],
        holder: Holder,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            SignerCertificateProvider(),
            resource_name,
            {
                "service": dict(service),
                "sso": dict(sso),
                "tenant": holder.tenant,
                "name": holder.name,
                "official": holder.official,
                "title": holder.title,
                "email": holder.email,
                **_outputs(None),
            },
            opts,
        )
