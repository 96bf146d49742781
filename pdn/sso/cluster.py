"""The identity services' names inside a site's cluster, where production runs them: Keycloak
(`pdn-identity`) and the e-signature service (`pdn-pki`); what their serving certificate
carries besides their public hostnames."""

from __future__ import annotations

IDENTITY_NAMESPACE = "pdn-identity"
PKI_NAMESPACE = "pdn-pki"
KEYCLOAK_SERVICE = "keycloak"
SIGNING_SERVICE = "tte"


def public_hosts(site: str) -> tuple[str, str]:
    """Where agencies' applications and relying parties reach them: (SSO, e-signature)."""
    return f"sso.{site}.pdn.go.id", f"tte.{site}.pdn.go.id"


def service_names(site: str) -> tuple[str, ...]:
    short = (
        f"{KEYCLOAK_SERVICE}.{IDENTITY_NAMESPACE}.svc",
        f"{SIGNING_SERVICE}.{PKI_NAMESPACE}.svc",
    )
    return (*public_hosts(site), *short, *(f"{name}.cluster.local" for name in short))
