"""Agencies as tenants of a site's cluster: one component per tenant, and the shared roles."""

from infra.tenancy.roles import TenantRoles, TenantRolesArgs
from infra.tenancy.tenant import Tenant, TenantArgs

__all__ = ["Tenant", "TenantArgs", "TenantRoles", "TenantRolesArgs"]
