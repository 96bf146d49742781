"""pdn's CrossGuard policies: what no stack may do to a tenant, whatever its program says.

The tenant files are validated before any stack runs; these rules guard the objects themselves,
on every preview and up (policy/ serves them to the engine), so a change to the rendering code, a
hand-written resource or a stack edited outside pdn is stopped too. Each rule is a plain function
of the resources' properties (unit-tested) wrapped as a mandatory policy with an id and a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from pdn.inventory import all_sites
from pdn.tenants import labels
from pdn.tenants.fleet import SITE_TIER_MAX
from pdn.tenants.model import Classification
from pdn.tenants.render import ADMIN_ROLE, READER_ROLE, SSO_PREFIX

NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMITS = "kubernetes:core/v1:LimitRange"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
TENANT_ROLES = (ADMIN_ROLE, READER_ROLE)
# The committed inventories, read once per policy-pack process (reading them costs ~90 ms, and
# the engine asks once per namespace).
_sites = cache(all_sites)


@dataclass(frozen=True)
class Resource:
    type: str
    props: dict[str, Any]

    @property
    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.props.get("metadata") or {}
        return meta

    @property
    def labels(self) -> dict[str, str]:
        found: dict[str, str] = self.metadata.get("labels") or {}
        return found


def _tenant_namespaces(resources: Iterable[Resource]) -> dict[str, Resource]:
    return {
        r.metadata.get("name", ""): r
        for r in resources
        if r.type == NAMESPACE and labels.TENANT in r.labels
    }


def namespace_labels(resource: Resource) -> list[str]:
    """A tenant namespace carries Pod Security `restricted` and the labels that place it."""
    if resource.type != NAMESPACE or labels.TENANT not in resource.labels:
        return []
    problems = []
    if resource.labels.get(labels.POD_SECURITY_ENFORCE) != "restricted":
        problems.append(f"{labels.POD_SECURITY_ENFORCE} must be 'restricted'")
    problems += [
        f"label {key} is missing"
        for key in (labels.CLASSIFICATION, labels.SITE, labels.REGION_CODE)
        if not resource.labels.get(key)
    ]
    return problems


def classification_at_site(resource: Resource) -> list[str]:
    """A tenant namespace holds no data classed above what its site may hold."""
    if resource.type != NAMESPACE or labels.TENANT not in resource.labels:
        return []
    site = resource.labels.get(labels.SITE, "")
    value = resource.labels.get(labels.CLASSIFICATION, "")
    sites = _sites()
    if site not in sites:
        return [f"site {site!r} is not in any inventory"]
    try:
        classification = Classification(value)
    except ValueError:
        return [f"classification {value!r} is not one of {[c.value for c in Classification]}"]
    allowed = SITE_TIER_MAX[sites[site].tier]
    if classification.rank > allowed.rank:
        tier = sites[site].tier
        return [f"{value!r} data may not be held at {site} ({tier}: at most {allowed.value!r})"]
    return []


def _denies_by_default(spec: dict[str, Any]) -> bool:
    """Selects every pod for ingress and egress, and no rule is open to every peer."""
    rules = [*(spec.get("ingress") or []), *(spec.get("egress") or [])]
    return (
        not (spec.get("podSelector") or {})
        and set(spec.get("policyTypes") or []) == {"Ingress", "Egress"}
        and all(rule.get("from") or rule.get("to") for rule in rules)
    )


def default_deny(resources: list[Resource]) -> list[str]:
    """Every tenant namespace has a policy that denies all ingress and egress by default."""
    denied = {
        r.metadata.get("namespace")
        for r in resources
        if r.type == NETWORK_POLICY and _denies_by_default(r.props.get("spec") or {})
    }
    return [
        f"tenant namespace {name} has no default-deny NetworkPolicy"
        for name in sorted(_tenant_namespaces(resources))
        if name not in denied
    ]


def quota_and_limits(resources: list[Resource]) -> list[str]:
    """Every tenant namespace has a ResourceQuota and a LimitRange."""
    problems = []
    for name in sorted(_tenant_namespaces(resources)):
        for kind, label in ((QUOTA, "ResourceQuota"), (LIMITS, "LimitRange")):
            if not any(r.type == kind and r.metadata.get("namespace") == name for r in resources):
                problems.append(f"tenant namespace {name} has no {label}")
    return problems


def bindings_within_tenant(resources: list[Resource]) -> list[str]:
    """RoleBindings in a tenant namespace grant only the tenant roles, to groups, and no
    tenant's admin group is bound in another tenant's namespace."""
    tenants = _tenant_namespaces(resources)
    problems = []
    admin_groups: dict[str, set[str]] = {}
    for r in resources:
        namespace = r.metadata.get("namespace")
        if r.type != ROLE_BINDING or namespace not in tenants:
            continue
        name = r.metadata.get("name")
        role = (r.props.get("roleRef") or {}).get("name")
        if role not in TENANT_ROLES:
            problems.append(f"{namespace}/{name} grants {role!r}; only {list(TENANT_ROLES)}")
        for subject in r.props.get("subjects") or []:
            if subject.get("kind") != "Group":
                problems.append(
                    f"{namespace}/{name} binds {subject.get('kind')} {subject.get('name')!r} "
                    f"(of namespace {subject.get('namespace')!r}); only SSO groups are bound"
                )
            elif not str(subject.get("name", "")).startswith(SSO_PREFIX):
                problems.append(
                    f"{namespace}/{name} binds group {subject.get('name')!r}, which is not an "
                    f"SSO group ({SSO_PREFIX}<group>)"
                )
            elif role == ADMIN_ROLE:
                admin_groups.setdefault(subject["name"], set()).add(str(namespace))
    problems += [
        f"group {group!r} administers several tenants: {', '.join(sorted(where))}"
        for group, where in sorted(admin_groups.items())
        if len(where) > 1
    ]
    return problems


# The types pdn's resource policies look at; anything else they pass as it is.
RESOURCE_POLICY_TYPES = frozenset({NAMESPACE})


def _resource_policy(
    name: str, reason: str, check: Callable[[Resource], list[str]]
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for problem in check(Resource(args.resource_type, dict(args.props))):
            report(problem, None)

    return ResourceValidationPolicy(name=name, description=reason, validate=validate)


# The stack policies' checks by policy id, and the types they look at: serve_pack runs them
# itself, over each object of those types converted once.
STACK_CHECKS: dict[str, Callable[[list[Resource]], list[str]]] = {}
STACK_POLICY_TYPES = frozenset({NAMESPACE, NETWORK_POLICY, QUOTA, LIMITS, ROLE_BINDING})
# The fields the stack checks read (a key: all of it; with names: only those): a check that
# reads another must be added here, or it sees nothing there.
STACK_POLICY_FIELDS: dict[str, tuple[str, ...]] = {
    "metadata": ("name", "namespace", "labels"),
    "spec": (),
    "roleRef": (),
    "subjects": (),
}


def _stack_policy(
    name: str, reason: str, check: Callable[[list[Resource]], list[str]]
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [Resource(r.resource_type, dict(r.props)) for r in args.resources]
        for problem in check(resources):
            report(problem, None)

    STACK_CHECKS[name] = check
    return StackValidationPolicy(name=name, description=reason, validate=validate)


POLICIES = [
    _resource_policy(
        "pdn-tenant-namespace-labels",
        "A tenant namespace enforces Pod Security 'restricted' and is labelled with its place.",
        namespace_labels,
    ),
    _resource_policy(
        "pdn-classification-at-site",
        "A tenant's data is held only at a site allowed to hold its classification.",
        classification_at_site,
    ),
    _stack_policy(
        "pdn-tenant-default-deny",
        "Every tenant namespace denies all traffic unless a flow was declared.",
        default_deny,
    ),
    _stack_policy(
        "pdn-tenant-quota",
        "Every tenant namespace has a quota and default limits from its tier.",
        quota_and_limits,
    ),
    _stack_policy(
        "pdn-rolebinding-within-tenant",
        "RoleBindings never cross tenants: tenant roles only, SSO groups only, one tenant each.",
        bindings_within_tenant,
    ),
]


def serve_pack(name: str) -> None:
    """Serve POLICIES to the engine as the policy pack `name` (blocks).

    The engine asks a pack to remediate and then to analyze every object, and pulumi-policy 1.21
    deserializes the object and its provider (a kubeconfig) for each call before it looks at a
    policy. None of pdn's policies remediates, and its resource policies look only at
    RESOURCE_POLICY_TYPES: those calls are answered at once with what pulumi-policy would answer
    (nothing), ~2 ms of the pack's CPU saved per object of a fleet rollout. And pulumi-policy
    converts every object of the stack, and its provider, once per stack policy; pdn's stack
    policies see every object of STACK_POLICY_TYPES, converted once (a targeted run in a shard
    of 549 objects: 0.5 s -> see analyze_stack)."""
    from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: PLC0415
    from pulumi_policy import policy as pack  # noqa: PLC0415

    servicer = pack._PolicyAnalyzerServicer
    _serve_fast(servicer)
    PolicyPack(name=name, enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)


def _serve_fast(servicer: Any) -> None:
    """Answer the engine's calls pdn's policies need not look at (see serve_pack)."""
    from google.protobuf import json_format  # noqa: PLC0415
    from pulumi.runtime import proto  # noqa: PLC0415  (the engine's messages: only when serving)
    from pulumi_policy import EnforcementLevel, StackValidationPolicy  # noqa: PLC0415
    from pulumi_policy.deserialize import deserialize_properties  # noqa: PLC0415

    analyze = servicer.Analyze

    def analyze_relevant(self: Any, request: Any, context: Any) -> Any:
        if request.type not in RESOURCE_POLICY_TYPES:
            return proto.AnalyzeResponse()
        return analyze(self, request, context)

    def remediate_nothing(self: Any, request: Any, context: Any) -> Any:
        return proto.RemediateResponse()

    def analyze_stack(self: Any, request: Any, context: Any) -> Any:
        """pulumi-policy's AnalyzeStack for pdn's stack policies: the same diagnostics."""
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        resources = [
            Resource(r.type, dict(deserialize_properties(_checked_fields(r.properties))))
            for r in request.resources
            if r.type in STACK_POLICY_TYPES
        ]
        for policy in POLICIES:
            level = self._get_enforcement_level(policy)
            if not isinstance(policy, StackValidationPolicy) or level == EnforcementLevel.DISABLED:
                continue
            if level == EnforcementLevel.REMEDIATE:  # as pulumi-policy: stack policies cannot
                level = EnforcementLevel.MANDATORY
            report = self._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            for problem in STACK_CHECKS[policy.name](resources):
                report(problem, None)
        return response

    def _checked_fields(properties: Any) -> dict[str, Any]:
        """The parts of an object the stack checks read (STACK_POLICY_FIELDS), as plain values:
        not its status or managed fields (most of a live object's bytes)."""
        found: dict[str, Any] = {}
        for key, parts in STACK_POLICY_FIELDS.items():
            if key not in properties.fields:
                continue
            value = properties.fields[key]
            if parts and value.HasField("struct_value"):
                inner = value.struct_value.fields
                found[key] = {p: json_format.MessageToDict(inner[p]) for p in parts if p in inner}
            else:
                found[key] = json_format.MessageToDict(value)
        return found

    servicer.Analyze = analyze_relevant
    servicer.Remediate = remediate_nothing
    servicer.AnalyzeStack = analyze_stack
