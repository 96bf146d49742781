"""The `pdn.go.id/*` label vocabulary: the one place that names what pdn puts on objects."""

from __future__ import annotations

PREFIX = "pdn.go.id"

TENANT = f"{PREFIX}/tenant"  # the tenant's slug
PARENT = f"{PREFIX}/parent"  # the parent tenant's slug, on a unit's namespace
AGENCY_CODE = f"{PREFIX}/agency-code"
REGION_CODE = f"{PREFIX}/region-code"  # Kemendagri, dotted: a label value allows dots
CLASSIFICATION = f"{PREFIX}/classification"
SITE = f"{PREFIX}/site"
TIER = f"{PREFIX}/tier"
MANAGED_BY = f"{PREFIX}/managed-by"
# Namespaces of the shared platform (SSO, PKI, storage, …): tenants may reach these.
PLATFORM = f"{PREFIX}/platform"

MANAGER = "pdn"
POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"
POD_SECURITY_AUDIT = "pod-security.kubernetes.io/audit"
POD_SECURITY_WARN = "pod-security.kubernetes.io/warn"
NAMESPACE_NAME = "kubernetes.io/metadata.name"
