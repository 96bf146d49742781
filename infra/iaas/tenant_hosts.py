"""A tenant's PDN hosts, from its tenant file: on the local DC, hosts of the local pool (real,
over SSH); in production, KubeVirt VirtualMachines in the tenant's namespace on its workload
cluster, so the tenant's quota, network policies and backups hold for its VMs as for its pods."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_kubernetes as k8s

from infra.iaas.local_host import LocalHost
from pdn.iaas.model import SIZES
from pdn.tenants.model import PdnHostSpec

# Where the site's images live as KubeVirt DataSources (CDI), one per image the DC serves.
IMAGE_NAMESPACE = "pdn-images"


class HostBackend(StrEnum):
    LOCAL = "local"  # the local DC's host pool
    KUBEVIRT = "kubevirt"  # VirtualMachines on the tenant's workload cluster


@dataclass
class TenantHostsArgs:
    tenant: str
    namespace: str
    hosts: list[PdnHostSpec]
    backend: HostBackend
    pool: str | None = None  # the local pool's directory (local backend)
    network: str | None = None  # and its network
    storage_class: str = "pdn-standard"


class TenantHosts(pulumi.ComponentResource):
    addresses: pulumi.Output[dict[str, str]]  # host -> address (local backend)

    def __init__(
        self, name: str, args: TenantHostsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pdn:iaas:TenantHosts", name, None, opts)
        addresses: dict[str, pulumi.Output[str]] = {}
        for spec in args.hosts:
            if args.backend is HostBackend.LOCAL:
                if args.pool is None or args.network is None:
                    raise ValueError("the local backend needs the pool's directory and network")
                host = LocalHost(
                    f"{name}-{spec.name}",
                    tenant=args.tenant,
                    name=spec.name,
                    size=spec.size,
                    image=spec.image,
                    pool=args.pool,
                    network=args.network,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                addresses[spec.name] = host.address
            else:
                virtual_machine(name, args, spec, self)
        self.addresses = (
            pulumi.Output.all(**addresses).apply(dict)
            if addresses
            else pulumi.Output.from_input({})
        )
        self.register_outputs({"addresses": self.addresses})


def virtual_machine(
    name: str, args: TenantHostsArgs, spec: PdnHostSpec, parent: pulumi.Resource
) -> k8s.apiextensions.CustomResource:
    resources = SIZES[spec.size]
    labels = {
        "pdn.go.id/tenant": args.tenant,
        "pdn.go.id/host": spec.name,
        "pdn.go.id/host-size": spec.size.value,
    }
    return k8s.apiextensions.CustomResource(
        f"{name}-{spec.name}",
        api_version="kubevirt.io/v1",
        kind="VirtualMachine",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=spec.name, namespace=args.namespace, labels=labels
        ),
        spec={
            "runStrategy": "Always",
            "dataVolumeTemplates": [
                {
                    "metadata": {"name": f"{spec.name}-root"},
                    "spec": {
                        "storage": {
                            "storageClassName": args.storage_class,
                            "resources": {"requests": {"storage": f"{resources.disk_gib}Gi"}},
                        },
                        "sourceRef": {
                            "kind": "DataSource",
                            "name": spec.image,
                            "namespace": IMAGE_NAMESPACE,
                        },
                    },
                }
            ],
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "domain": {
                        "cpu": {"cores": resources.cpu_cores},
                        "memory": {"guest": f"{resources.memory_gib}Gi"},
                        "devices": {
                            "disks": [{"name": "root", "disk": {"bus": "virtio"}}],
                            "interfaces": [{"name": "default", "masquerade": {}}],
                        },
                    },
                    "networks": [{"name": "default", "pod": {}}],
                    "volumes": [
                        {"name": "root", "dataVolume": {"name": f"{spec.name}-root"}},
                    ],
                },
            },
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
