"""The policy pack's rules on plain resources: silent on what pdn renders, firing on each kind
of bad change (the engine test in tests/integration/test_tenancy.py runs them for real)."""

from __future__ import annotations

import copy
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from pulumi_policy import policy as pack

from pdn import policies
from pdn.inventory import all_sites
from pdn.policies import Resource
from pdn.tenants.fleet import load_fleet, tenant_files
from pdn.tenants.render import render

FLEET = load_fleet(tenant_files(), all_sites())
TYPES = {
    "Namespace": policies.NAMESPACE,
    "ResourceQuota": policies.QUOTA,
    "LimitRange": policies.LIMITS,
    "NetworkPolicy": policies.NETWORK_POLICY,
    "RoleBinding": policies.ROLE_BINDING,
}


def _rendered() -> list[Resource]:
    resources = []
    for slug in FLEET.tenants:
        for manifest in render(FLEET, slug, "pdn-local").all():
            props: dict[str, Any] = {
                k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")
            }
            resources.append(Resource(TYPES[manifest["kind"]], copy.deepcopy(props)))
    return resources


def _stack_problems(resources: list[Resource]) -> list[str]:
    return (
        policies.default_deny(resources)
        + policies.quota_and_limits(resources)
        + policies.bindings_within_tenant(resources)
    )


def test_what_pdn_renders_passes_every_rule() -> None:
    resources = _rendered()
    assert _stack_problems(resources) == []
    for r in resources:
        assert policies.namespace_labels(r) == []
        assert policies.classification_at_site(r) == []


def test_a_namespace_without_pod_security_or_above_its_site_is_refused() -> None:
    namespace = next(r for r in _rendered() if r.type == policies.NAMESPACE)
    namespace.labels.pop("pod-security.kubernetes.io/enforce")
    namespace.labels["pdn.go.id/classification"] = "secret"
    assert policies.namespace_labels(namespace) == [
        "pod-security.kubernetes.io/enforce must be 'restricted'"
    ]
    assert (
        "'secret' data may not be held at pdn-local"
        in policies.classification_at_site(namespace)[0]
    )


def test_a_tenant_without_default_deny_quota_or_limits_is_refused() -> None:
    resources = [
        r
        for r in _rendered()
        if not (r.metadata.get("namespace") == "kemendagri" and r.type != policies.ROLE_BINDING)
    ]
    assert _stack_problems(resources) == [
        "tenant namespace kemendagri has no default-deny NetworkPolicy",
        "tenant namespace kemendagri has no ResourceQuota",
        "tenant namespace kemendagri has no LimitRange",
    ]


def _find(resources: list[Resource], kind: str, namespace: str, name: str) -> Resource:
    return next(
        r
        for r in resources
        if r.type == kind and r.metadata["namespace"] == namespace and r.metadata["name"] == name
    )


def test_an_opened_default_deny_does_not_count() -> None:
    resources = _rendered()
    deny = _find(resources, policies.NETWORK_POLICY, "kab-bekasi", "tenant-isolation")
    deny.props["spec"]["ingress"].append({"ports": [{"port": 22}]})  # from anywhere
    assert policies.default_deny(resources) == [
        "tenant namespace kab-bekasi has no default-deny NetworkPolicy"
    ]


def test_bindings_that_cross_tenants_are_refused() -> None:
    resources = _rendered()
    admins = _find(resources, policies.ROLE_BINDING, "kemendagri", "tenant-admins")
    admins.props["subjects"].append(
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "oidc:bekasi-admins"}
    )
    admins.props["subjects"].append(
        {"kind": "ServiceAccount", "name": "ci", "namespace": "kab-bekasi"}
    )
    admins.props["subjects"].append(
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}
    )
    admins.props["roleRef"]["name"] = "admin"
    assert policies.bindings_within_tenant(resources) == [
        "kemendagri/tenant-admins grants 'admin'; only ['pdn:tenant-admin', 'pdn:tenant-reader']",
        "kemendagri/tenant-admins binds ServiceAccount 'ci' (of namespace 'kab-bekasi'); "
        "only SSO groups are bound",
        "kemendagri/tenant-admins binds group 'system:masters', which is not an SSO group "
        "(oidc:<group>)",
    ]
    admins.props["roleRef"]["name"] = "pdn:tenant-admin"
    admins.props["subjects"].pop()
    admins.props["subjects"].pop()
    assert policies.bindings_within_tenant(resources) == [
        "group 'oidc:bekasi-admins' administers several tenants: kab-bekasi, kemendagri"
    ]


def test_every_policy_has_an_id_and_a_reason() -> None:
    ids = [p.name for p in policies.POLICIES]
    assert len(set(ids)) == len(ids) == 5
    assert all(i.startswith("pdn-") for i in ids)
    assert all(p.description and "\n" not in p.description for p in policies.POLICIES)


def test_what_the_pack_answers_at_once_is_what_the_policies_would_say() -> None:
    """serve_pack answers remediation, and analysis of types outside RESOURCE_POLICY_TYPES,
    without running the policies: only right while no policy remediates and the resource
    checks find nothing in other types, even objects that break every rule."""
    assert not any(
        isinstance(p, ResourceValidationPolicy) and p.has_remediation() for p in policies.POLICIES
    )
    broken = {"metadata": {"name": "x", "labels": {"pdn.go.id/tenant": "x"}}, "spec": {}}
    for kind in set(TYPES.values()) - policies.RESOURCE_POLICY_TYPES:
        resource = Resource(kind, copy.deepcopy(broken))
        assert policies.namespace_labels(resource) == []
        assert policies.classification_at_site(resource) == []
    namespace = Resource(policies.NAMESPACE, copy.deepcopy(broken))
    assert policies.namespace_labels(namespace)  # the same object as a Namespace is refused


def _stack_request(resources: list[Resource]) -> Any:
    provider = proto.AnalyzerProviderResource(
        type="pulumi:providers:kubernetes", urn="urn:pulumi:s::p::pulumi:providers:kubernetes::k"
    )
    provider.properties.update({"kubeconfig": "{}"})
    analyzed = []
    for n, r in enumerate(resources):
        props = struct_pb2.Struct()
        live = {"managedFields": [{"manager": "pulumi-kubernetes", "operation": "Apply"}]}
        props.update({**r.props, "metadata": {**r.props["metadata"], **live}, "status": {}})
        analyzed.append(
            proto.AnalyzerResource(
                type=r.type,
                urn=f"urn:pulumi:s::p::{r.type}::r{n}",
                name=f"r{n}",
                properties=props,
                provider=provider,
            )
        )
    component = proto.AnalyzerResource(
        type="pdn:tenancy:Tenant", urn="urn:pulumi:s::p::t", name="t"
    )
    return proto.AnalyzeStackRequest(resources=[component, *analyzed])


def test_the_packs_own_stack_analysis_says_what_pulumi_policy_would() -> None:
    """serve_pack's AnalyzeStack (each object converted once) against pulumi-policy's own, on
    what pdn renders and on objects that break each stack policy."""

    class Fast(pack._PolicyAnalyzerServicer):
        pass

    policies._serve_fast(Fast)
    rendered = _rendered()
    broken = copy.deepcopy(rendered)
    first_policy = next(r for r in broken if r.type == policies.NETWORK_POLICY)
    broken.remove(first_policy)  # a namespace without default-deny
    broken.remove(next(r for r in broken if r.type == policies.QUOTA))
    binding = next(r for r in broken if r.type == policies.ROLE_BINDING)
    binding.props["roleRef"]["name"] = "cluster-admin"
    args = ("pdn-guardrails", "0.0.1", policies.POLICIES, EnforcementLevel.MANDATORY)
    for resources, expected in ((rendered, 0), (broken, 3)):
        request = _stack_request(resources)
        ours = Fast(*args).AnalyzeStack(request, None)  # type: ignore[no-untyped-call]
        theirs = pack._PolicyAnalyzerServicer(*args).AnalyzeStack(request, None)  # type: ignore[no-untyped-call]
        assert list(ours.diagnostics) == list(theirs.diagnostics)
        assert len(ours.diagnostics) == expected
    assert {d.policyName for d in ours.diagnostics} == {
        "pdn-tenant-default-deny",
        "pdn-tenant-quota",
        "pdn-rolebinding-within-tenant",
    }
