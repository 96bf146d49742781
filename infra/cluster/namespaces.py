"""A platform namespace: Pod Security enforced, and traffic denied unless a policy allows it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

POD_SECURITY_LEVELS = ("restricted", "baseline", "privileged")


@dataclass
class PlatformNamespaceArgs:
    name: str
    purpose: str
    # Pod Security Standard enforced on every pod; "restricted" unless a service truly needs less.
    pod_security: str = "restricted"


class PlatformNamespace(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: PlatformNamespaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:cluster:PlatformNamespace", name, None, opts)
        if args.pod_security not in POD_SECURITY_LEVELS:
            raise ValueError(
                f"namespace {args.name}: pod_security {args.pod_security!r} is not one of "
                f"{POD_SECURITY_LEVELS}"
            )
        child = pulumi.ResourceOptions(parent=self)
        level = args.pod_security
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.name,
                labels={
                    "pod-security.kubernetes.io/enforce": level,
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pdn.go.id/tier": "platform",
                },
                annotations={"pdn.go.id/purpose": args.purpose},
            ),
            opts=child,
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=args.name),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress", "Egress"],
            ),
            opts=in_namespace,
        )
        # Name resolution is the one egress every workload needs; everything else is explicit.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-dns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-dns-egress", namespace=args.name),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={"kubernetes.io/metadata.name": "kube-system"}
                                ),
                                pod_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={"k8s-app": "kube-dns"}
                                ),
                            )
                        ],
                        ports=[
                            k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=53)
                            for p in ("UDP", "TCP")
                        ],
                    )
                ],
            ),
            opts=in_namespace,
        )
        self.name = namespace.metadata.apply(lambda m: str(m.name))
        self.register_outputs({"name": self.name})
