"""What one tenant is on a site's cluster, as Kubernetes objects (plain manifests).

Per tenant: its Namespace (labels from pdn.tenants.labels, Pod Security `restricted`), a
ResourceQuota and a LimitRange from its tier, one NetworkPolicy that selects every pod for
ingress and egress, so all is denied but what it declared (DNS, its platform services, its
flows, and ingress from the tenants it accepts), and RoleBindings of its groups to the shared
ClusterRoles. A unit's namespace also binds its ancestors' readers (a parent reads its units;
never the reverse).

Pure functions of the fleet: the Pulumi component turns these into resources, and the isolation
test and the policy pack read the same manifests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pdn.tenants import labels
from pdn.tenants.fleet import Fleet
from pdn.tenants.model import EgressFlow, PlatformFlow, Port, Tenant, TenantFlow

ADMIN_ROLE = "pdn:tenant-admin"
READER_ROLE = "pdn:tenant-reader"
DNS_PORTS = ({"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"})
PLATFORM_PORTS = {  # a platform service's own ports, when a flow names none
    "sso": (443,),
    "pki": (443, 80),  # OCSP and CRLs over HTTP
    "storage": (443,),
    "gis": (443,),
    "backup": (443,),
    "observability": (443, 4317),
}
Manifest = dict[str, Any]


@dataclass(frozen=True)
class TenantManifests:
    namespace: Manifest
    quota: Manifest
    limits: Manifest
    isolation: Manifest  # default deny, and exactly the declared flows
    bindings: tuple[Manifest, ...]

    def all(self) -> list[Manifest]:
        return [self.namespace, self.quota, self.limits, self.isolation, *self.bindings]


def render(fleet: Fleet, slug: str, site: str) -> TenantManifests:
    tenant = fleet.tenants[slug]
    return TenantManifests(
        namespace=_namespace(tenant, site),
        quota=_quota(tenant),
        limits=_limits(tenant.namespace),
        isolation=_isolation(fleet, tenant),
        bindings=_bindings(fleet, tenant),
    )


# pulumi-kubernetes would wait on each object (a quota until the controller-manager has
# counted it, a namespace until it is gone): these objects are ready when the API server has
# them, and the wait costs seconds per tenant at fleet scale.
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
# pdn owns its tenants' objects: a field changed by hand is taken back on the next rollout with
# refresh. Without force, server-side apply refuses with a field conflict whenever the hand
# change came from any client but kubectl (found by compliance drift tests).
PATCH_FORCE = {"pulumi.com/patchForce": "true"}


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {labels.MANAGED_BY: labels.MANAGER},
        "annotations": SKIP_AWAIT | PATCH_FORCE,
    }
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def _namespace(tenant: Tenant, site: str) -> Manifest:
    meta = _meta(tenant.namespace)
    meta["labels"].update(
        {
            labels.TENANT: tenant.slug,
            labels.AGENCY_CODE: tenant.agency_code,
            labels.REGION_CODE: tenant.region_code,
            labels.CLASSIFICATION: tenant.classification.value,
            labels.SITE: site,
            labels.TIER: tenant.tier.value,
            labels.POD_SECURITY_ENFORCE: "restricted",
            labels.POD_SECURITY_AUDIT: "restricted",
            labels.POD_SECURITY_WARN: "restricted",
        }
    )
    if tenant.parent:
        meta["labels"][labels.PARENT] = tenant.parent
    quota = tenant.effective_quota
    meta["annotations"].update(
        {
            f"{labels.PREFIX}/name": tenant.name,
            f"{labels.PREFIX}/object-storage-gib": str(quota.object_storage_gib),
        }
    )
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _quota(tenant: Tenant) -> Manifest:
    quota = tenant.effective_quota
    hard = {
        "requests.cpu": str(quota.cpu_cores),
        "limits.cpu": str(quota.cpu_cores * 2),
        "requests.memory": f"{quota.memory_gib}Gi",
        "limits.memory": f"{quota.memory_gib}Gi",
        "requests.storage": f"{quota.storage_gib}Gi",
        "pods": str(quota.pods),
        "services.loadbalancers": "0",  # exposure goes through the platform's ingress
        "services.nodeports": "0",
    }
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta("tenant-quota", tenant.namespace),
        "spec": {"hard": hard},
    }


def _limits(namespace: str) -> Manifest:
    # Containers without requests get these, so the quota can count them.
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta("tenant-defaults", namespace),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                    "default": {"cpu": "500m", "memory": "512Mi"},
                }
            ]
        },
    }


def _policy(namespace: str, name: str, ingress: list[Any], egress: list[Any]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, namespace),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def _ports(ports: list[Port] | tuple[int, ...]) -> list[dict[str, Any]]:
    return [
        {"port": p, "protocol": "TCP"}
        if isinstance(p, int)
        else {"port": p.port, "protocol": p.protocol}
        for p in ports
    ]


def _namespace_peer(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {labels.NAMESPACE_NAME: namespace}}}


def _isolation(fleet: Fleet, tenant: Tenant) -> Manifest:
    own = _namespace_peer(tenant.namespace)
    egress: list[dict[str, Any]] = [
        {"to": [own]},  # within the tenant
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {labels.NAMESPACE_NAME: "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": list(DNS_PORTS),
        },
    ]
    for flow in tenant.flows:
        if isinstance(flow, PlatformFlow):
            ports = flow.ports or PLATFORM_PORTS[flow.platform.value]
            egress.append(
                {"to": [_namespace_peer(flow.platform.namespace)], "ports": _ports(ports)}
            )
        elif isinstance(flow, TenantFlow):
            target = fleet.tenants[flow.tenant].namespace
            egress.append({"to": [_namespace_peer(target)], "ports": _ports(flow.ports)})
        elif isinstance(flow, EgressFlow):
            egress.append({"to": [{"ipBlock": {"cidr": flow.egress}}], "ports": _ports(flow.ports)})
    ingress: list[dict[str, Any]] = [{"from": [own]}]
    for source in fleet.tenants.values():
        if source.slug not in tenant.accept_from:
            continue
        for flow in source.flows:
            if isinstance(flow, TenantFlow) and flow.tenant == tenant.slug:
                ingress.append(
                    {"from": [_namespace_peer(source.namespace)], "ports": _ports(flow.ports)}
                )
    return _policy(tenant.namespace, "tenant-isolation", ingress=ingress, egress=egress)


# The API servers trust the DC's single sign-on with this prefix on its users and groups, so no
# SSO group can pass for one of Kubernetes' own (`system:masters`): a tenant's file names its
# groups as in the SSO, its RoleBindings name them as the API server sees them.
SSO_PREFIX = "oidc:"


def sso_group(group: str) -> str:
    """How the API servers name the members of an SSO group (a RoleBinding's subject)."""
    return f"{SSO_PREFIX}{group}"


def _binding(namespace: str, name: str, role: str, groups: list[str]) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(name, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": sso_group(group)}
            for group in sorted(set(groups))
        ],
    }


def _bindings(fleet: Fleet, tenant: Tenant) -> tuple[Manifest, ...]:
    bindings = [_binding(tenant.namespace, "tenant-admins", ADMIN_ROLE, tenant.groups.admins)]
    readers = list(tenant.groups.readers)
    for ancestor in fleet.ancestors(tenant.slug):  # a parent's readers read its units
        readers += fleet.tenants[ancestor].groups.readers
    # Always present (maybe with no subject), so a tenant's objects are the same set for all.
    bindings.append(_binding(tenant.namespace, "tenant-readers", READER_ROLE, readers))
    return tuple(bindings)


READ = ["get", "list", "watch"]
MANAGE = [*READ, "create", "update", "patch", "delete"]
WORKLOADS = ["deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"]
CORE_OBJECTS = ["pods", "services", "configmaps", "persistentvolumeclaims"]
QUOTA_OBJECTS = ["events", "resourcequotas", "limitranges"]


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {labels.MANAGED_BY: labels.MANAGER}},
        "rules": rules,
    }


CLUSTER_ROLES: tuple[Manifest, ...] = (
    # A tenant's admins run its workloads. They cannot touch RBAC, quotas, limits or network
    # policies: those are the platform's, so no admin can open their tenant up.
    _cluster_role(
        ADMIN_ROLE,
        [
            _rule([""], [*CORE_OBJECTS, "secrets", "serviceaccounts"], MANAGE),
            _rule([""], ["pods/log", "pods/exec", "pods/portforward"], ["get", "create"]),
            _rule([""], QUOTA_OBJECTS, READ),
            _rule(
                ["apps", "batch", "autoscaling", "policy"],
                [*WORKLOADS, "horizontalpodautoscalers", "poddisruptionbudgets"],
                MANAGE,
            ),
            _rule(["networking.k8s.io"], ["ingresses"], MANAGE),
            _rule(["networking.k8s.io"], ["networkpolicies"], READ),
        ],
    ),
    # Auditors and parents: what runs and how it is configured; never secrets or exec.
    _cluster_role(
        READER_ROLE,
        [
            _rule([""], [*CORE_OBJECTS, *QUOTA_OBJECTS], READ),
            _rule(
                ["apps", "batch", "networking.k8s.io"],
                [*WORKLOADS, "ingresses", "networkpolicies"],
                READ,
            ),
        ],
    ),
)
