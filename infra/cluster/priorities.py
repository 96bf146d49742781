"""Priority tiers: what the scheduler keeps running first when a site runs short."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class PriorityTier:
    name: str
    value: int
    description: str
    global_default: bool = False
    preempts: bool = True


DEFAULT_TIERS = (
    PriorityTier(
        "pdn-platform-critical",
        1_000_000,
        "Shared platform services every agency depends on (SSO, e-signature, DNS).",
    ),
    PriorityTier(
        "pdn-tenant-vital", 100_000, "Agency services designated vital information infrastructure."
    ),
    PriorityTier(
        "pdn-tenant-standard",
        10_000,
        "Agency services; the default for pods that name no class.",
        global_default=True,
    ),
    PriorityTier(
        "pdn-tenant-batch",
        1_000,
        "Reports, exports and migrations; never preempts anything.",
        preempts=False,
    ),
)


@dataclass
class PriorityTiersArgs:
    tiers: tuple[PriorityTier, ...] = field(default=DEFAULT_TIERS)


class PriorityTiers(pulumi.ComponentResource):
    names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: PriorityTiersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:cluster:PriorityTiers", name, None, opts)
        if sum(t.global_default for t in args.tiers) > 1:
            raise ValueError("at most one priority tier may be the global default")
        classes = [
            k8s.scheduling.v1.PriorityClass(
                f"{name}-{tier.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=tier.name),
                value=tier.value,
                global_default=tier.global_default,
                description=tier.description,
                preemption_policy="PreemptLowerPriority" if tier.preempts else "Never",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for tier in args.tiers
        ]
        self.names = pulumi.Output.all(*[c.metadata.apply(lambda m: str(m.name)) for c in classes])
        self.register_outputs({"names": self.names})
