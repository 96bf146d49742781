"""Tenant controls: each tenant's file against what its cluster holds and what its data services
say, asked of the real API server (as the tenant's own groups, by impersonation) and of the
backup catalogs at every site."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from pdn.compliance.targets import TenantTarget
from pdn.policies import NAMESPACE, Resource, _denies_by_default, classification_at_site
from pdn.tenants import labels
from pdn.tenants.access import attempts
from pdn.tenants.reachability import Endpoint, can_connect
from pdn.tenants.render import sso_group

# A valid pod that breaks only `restricted`: may run as root, escalate, keep capabilities.
UNRESTRICTED_POD = {
    "metadata": {"name": "pdn-comply-probe"},
    "spec": {"containers": [{"name": "probe", "image": "registry.pdn.go.id/probe:1"}]},
}


def _namespaces(tenant: TenantTarget) -> list[dict[str, Any]]:
    """The tenant's namespaces as its cluster holds them (each labelled with its slug)."""
    with tenant.cluster.api_client() as api:
        found = k8s.CoreV1Api(api).list_namespace(
            label_selector=f"{labels.TENANT}={tenant.tenant.slug}"
        )
        namespaces: list[dict[str, Any]] = [api.sanitize_for_serialization(n) for n in found.items]
    assert namespaces, f"{tenant.cluster.target} holds no namespace of {tenant.tenant.slug}"
    return namespaces


@pytest.mark.control("PDN-PSA-1")
def test_namespaces_enforce_restricted(tenant: TenantTarget, record_property: Any) -> None:
    said, wrong = [], []
    with tenant.cluster.api_client() as api:
        for namespace in _namespaces(tenant):
            name = namespace["metadata"]["name"]
            enforce = namespace["metadata"].get("labels", {}).get(labels.POD_SECURITY_ENFORCE)
            try:
                k8s.CoreV1Api(api).create_namespaced_pod(name, UNRESTRICTED_POD, dry_run="All")
                refused = "ADMITTED"
            except ApiException as err:
                refused = (
                    "refused by PodSecurity"
                    if err.status == 403 and "violates PodSecurity" in str(err.body)
                    else f"error {err.status}: {str(err.body)[:200]}"
                )
            said.append(f"{name}: enforce={enforce}, a pod running as root {refused}")
            if enforce != "restricted" or not refused.startswith("refused"):
                wrong.append(name)
    record_property("evidence", "; ".join(said))
    assert not wrong, f"not enforcing restricted: {said}"


@pytest.mark.control("PDN-NETPOL-1")
def test_namespaces_deny_by_default(tenant: TenantTarget, record_property: Any) -> None:
    """A default-deny policy in each namespace, and a pod of a namespace no flow names cannot
    reach its pods (on the policies the cluster holds, as a conforming network plugin would)."""
    stranger = Endpoint(f"pdn-comply-{uuid.uuid4().hex[:6]}", {}, {"app": "probe"})
    said, wrong = [], []
    with tenant.cluster.api_client() as api:
        policies = [
            api.sanitize_for_serialization(p)
            for p in k8s.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items
        ]
    for namespace in _namespaces(tenant):
        name = namespace["metadata"]["name"]
        deny = [
            p["metadata"]["name"]
            for p in policies
            if p["metadata"]["namespace"] == name and _denies_by_default(p.get("spec") or {})
        ]
        pod = Endpoint(name, namespace["metadata"].get("labels", {}), {"app": "web"})
        reached = [port for port in (80, 443, 5432) if can_connect(policies, stranger, pod, port)]
        said.append(f"{name}: default deny {deny or 'NONE'}; a stranger reaches ports {reached}")
        if not deny or reached:
            wrong.append(name)
    record_property("evidence", "; ".join(said))
    assert not wrong, f"not denying by default: {said}"


@pytest.mark.control("PDN-RES-1")
def test_classification_fits_the_site(tenant: TenantTarget, record_property: Any) -> None:
    """Each namespace carries the file's classification, at a site allowed to hold it (the
    policy pack's own rule, on what the cluster holds)."""
    wanted = tenant.tenant.classification.value
    said, wrong = [], []
    for namespace in _namespaces(tenant):
        found = namespace["metadata"].get("labels", {})
        problems = classification_at_site(Resource(NAMESPACE, namespace))
        if found.get(labels.CLASSIFICATION) != wanted:
            problems.append(
                f"labelled {found.get(labels.CLASSIFICATION)!r}, its file says {wanted!r}"
            )
        said.append(
            f"{namespace['metadata']['name']}: {found.get(labels.CLASSIFICATION)} at "
            f"{found.get(labels.SITE)}" + (f" ({'; '.join(problems)})" if problems else "")
        )
        wrong += problems
    record_property("evidence", "; ".join(said))
    assert not wrong, "; ".join(wrong)


def _attempts(tenant: TenantTarget, group: str, namespace: str) -> dict[str, bool]:
    # As the API server sees a member of the SSO group (its `oidc:` prefix).
    with tenant.cluster.api_client(user=f"pdn-comply-of-{group}", group=sso_group(group)) as api:
        return attempts(api, namespace, "pdn-comply")


@pytest.mark.control("PDN-ISO-1")
def test_tenants_are_isolated(tenant: TenantTarget, record_property: Any) -> None:
    """The impersonation matrix, this tenant's row: its admins do everything in its own
    namespace and nothing in any other tenant's on its cluster; its readers read its own and
    its units' (never secrets, never a write) and nothing else."""
    me = tenant.tenant
    said, wrong = [], []
    for target in (me.slug, *sorted(p.slug for p in tenant.peers)):
        for group in me.groups.admins:
            done = _attempts(tenant, group, target)
            expected = dict.fromkeys(done, target == me.slug)
            if done != expected:
                wrong.append(f"admins {group} in {target}: {done}")
        for group in me.groups.readers:
            done = _attempts(tenant, group, target)
            reads = target == me.slug or target in tenant.units
            expected = {
                "list secrets": False,
                "list pods": reads,
                "read configmaps": reads,
                "write configmap": False,
            }
            if done != expected:
                wrong.append(f"readers {group} in {target}: {done}")
        said.append(target)
    record_property(
        "evidence",
        f"admins {list(me.groups.admins)} and readers {list(me.groups.readers)} tried in "
        f"{', '.join(said)}: " + ("as allowed" if not wrong else "; ".join(wrong)),
    )
    assert not wrong, "; ".join(wrong)


def _rows(backup_rows: list[Any], tenant: TenantTarget) -> list[Any]:
    rows = [r for r in backup_rows if r.tenant == tenant.tenant.slug]
    assert rows, f"no data set of {tenant.tenant.slug} in the backup catalog"
    return rows


def _age(age: datetime.timedelta | None) -> str:
    return "-" if age is None else f"{age.total_seconds() / 3600:.1f} h"


@pytest.mark.control("PDN-BACKUP-1")
def test_backup_is_fresh_at_two_sites(
    tenant: TenantTarget, backup_rows: list[Any], record_property: Any
) -> None:
    said, wrong = [], []
    for row in _rows(backup_rows, tenant):
        sites = 2 if row.policy.second_site else 1
        said.append(
            f"{row.data_set}: {row.last_good or 'no backup'}, {_age(row.age)} old "
            f"(tier allows {_age(row.policy.stale_after)}), at {', '.join(row.sites) or '-'}"
            + (f" ({row.note})" if row.note else "")
        )
        if row.overdue or len(row.sites) < sites:
            wrong.append(row.data_set)
    record_property("evidence", "; ".join(said))
    assert not wrong, f"no fresh backup at {sites} sites: {said}"


@pytest.mark.control("PDN-BACKUP-2")
def test_restore_drill_is_recent(
    tenant: TenantTarget, backup_rows: list[Any], record_property: Any
) -> None:
    said, wrong = [], []
    for row in _rows(backup_rows, tenant):
        said.append(
            f"{row.data_set}: "
            + (
                f"last drill {row.last_drill}, {_age(row.drill_age)} ago"
                if row.last_drill
                else "never drilled"
            )
            + f" (tier allows {_age(row.policy.drill_every)})"
        )
        if row.drill_age is None or row.drill_age > row.policy.drill_every:
            wrong.append(row.data_set)
        elif not row.drill_verified:
            wrong.append(f"{row.data_set} (its last drill found a mismatch)")
    record_property("evidence", "; ".join(said))
    assert not wrong, f"no recent verified restore drill: {said}"
