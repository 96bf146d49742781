"""The site's default StorageClass and IngressClass."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s


@dataclass
class PlatformClassesArgs:
    storage_class: str = "pdn-standard"
    # Volumes on the storage pool's disks, bound where the pod lands. Government data is never
    # deleted with its claim: Retain.
    provisioner: str = "kubernetes.io/no-provisioner"
    ingress_class: str = "pdn-public"
    ingress_controller: str = "pdn.go.id/ingress-gateway"


class PlatformClasses(pulumi.ComponentResource):
    storage_class: pulumi.Output[str]
    ingress_class: pulumi.Output[str]

    def __init__(
        self, name: str, args: PlatformClassesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:cluster:PlatformClasses", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        storage = k8s.storage.v1.StorageClass(
            f"{name}-storage",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.storage_class,
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
            ),
            provisioner=args.provisioner,
            reclaim_policy="Retain",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=False,
            opts=child,
        )
        ingress = k8s.networking.v1.IngressClass(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.ingress_class,
                annotations={"ingressclass.kubernetes.io/is-default-class": "true"},
            ),
            spec=k8s.networking.v1.IngressClassSpecArgs(controller=args.ingress_controller),
            opts=child,
        )
        self.storage_class = storage.metadata.apply(lambda m: str(m.name))
        self.ingress_class = ingress.metadata.apply(lambda m: str(m.name))
        self.register_outputs(
            {"storage_class": self.storage_class, "ingress_class": self.ingress_class}
        )
