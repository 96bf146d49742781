"""Where a cluster's machines come from: Cluster API's infrastructure provider.

Production runs Metal3: each inventory server is a BareMetalHost (BMC address, boot NIC), and a
pool's Metal3MachineTemplate selects the hosts labelled with its cluster and pool, so a machine
lands on a server of its pool and nowhere else. The local DC runs CAPD's in-memory backend,
which Cluster API drives through the same lifecycle (provision, join, drain, delete) without
hardware. Each backend names the infrastructure objects a Cluster and its pools refer to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pdn.clusters.names import POOL_LABEL

INFRASTRUCTURE_GROUP = "infrastructure.cluster.x-k8s.io"
API_SERVER_PORT = 6443
# The labels a BareMetalHost carries and a pool's hosts are selected by.
HOST_CLUSTER_LABEL = "pdn.go.id/cluster"
HOST_POOL_LABEL = POOL_LABEL


class MachineBackend(StrEnum):
    IN_MEMORY = "in-memory"  # CAPD's in-memory machines: the local DC
    METAL3 = "metal3"  # the site's own servers, through their BMCs: production


@dataclass(frozen=True)
class InfrastructureKinds:
    api_version: str
    cluster_kind: str
    machine_template_kind: str


KINDS = {
    MachineBackend.IN_MEMORY: InfrastructureKinds(
        f"{INFRASTRUCTURE_GROUP}/v1beta2", "DevCluster", "DevMachineTemplate"
    ),
    MachineBackend.METAL3: InfrastructureKinds(
        f"{INFRASTRUCTURE_GROUP}/v1beta1", "Metal3Cluster", "Metal3MachineTemplate"
    ),
}


@dataclass(frozen=True)
class MachineImage:
    """The OS image Metal3 writes to a server's disk (served by the site's image server)."""

    url: str
    sha256: str
    disk_format: str = "qcow2"


@dataclass(frozen=True)
class Machines:
    """How one cluster's machines are made."""

    backend: MachineBackend = MachineBackend.IN_MEMORY
    image: MachineImage | None = None  # Metal3 only

    @property
    def kinds(self) -> InfrastructureKinds:
        return KINDS[self.backend]

    def cluster_spec(self, endpoint: str | None) -> dict[str, Any]:
        if self.backend is MachineBackend.IN_MEMORY:
            return {"backend": {"inMemory": {}}}
        return {
            "controlPlaneEndpoint": {"host": endpoint, "port": API_SERVER_PORT},
            "cloudProviderEnabled": False,
        }

    def template_spec(self, cluster: str, pool: str) -> dict[str, Any]:
        if self.backend is MachineBackend.IN_MEMORY:
            # Seconds, not minutes: a VM boot, then the node, apiserver and etcd of each.
            return {
                "template": {
                    "spec": {
                        "backend": {
                            "inMemory": {
                                "vm": {"provisioning": _provisioning("3s")},
                                "node": {"provisioning": _provisioning("1s")},
                                "apiServer": {"provisioning": _provisioning("1s")},
                                "etcd": {"provisioning": _provisioning("1s")},
                            }
                        }
                    }
                }
            }
        if self.image is None:
            raise ValueError("Metal3 machines need an image")
        return {
            "template": {
                "spec": {
                    "image": {
                        "url": self.image.url,
                        "checksum": self.image.sha256,
                        "checksumType": "sha256",
                        "format": self.image.disk_format,
                    },
                    "hostSelector": {
                        "matchLabels": {HOST_CLUSTER_LABEL: cluster, HOST_POOL_LABEL: pool}
                    },
                    # Wipe a host's partition tables between owners, not the whole disk.
                    "automatedCleaningMode": "metadata",
                }
            }
        }

    def node_labels(self, pool: str | None) -> str:
        """The kubelet's --node-labels: the pool, and on Metal3 the host's UUID, by which CAPM3
        matches a node to its host when no cloud provider sets the provider ID."""
        labels = [f"{HOST_POOL_LABEL}={pool}"] if pool else []
        if self.backend is MachineBackend.METAL3:
            labels.append("metal3.io/uuid={{ ds.meta_data.uuid }}")
        return ",".join(labels)


def _provisioning(seconds: str) -> dict[str, str]:
    return {"startupDuration": seconds, "startupJitter": "0.2"}


def template_name(base: str, spec: dict[str, Any]) -> str:
    """Machine templates are immutable in Cluster API: a changed spec is a new template (and
    a rollout), so the name carries a digest of the spec."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    return f"{base}-{digest}"
