"""Where a cluster's machines come from: Cluster API's infrastructure provider.

The local DC runs CAPD's in-memory backend, which Cluster API drives through the same lifecycle
as bare metal (provision, join, drain, delete) without hardware. Each backend names the
infrastructure objects a Cluster and its pools refer to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

INFRASTRUCTURE_GROUP = "infrastructure.cluster.x-k8s.io"


class MachineBackend(StrEnum):
    IN_MEMORY = "in-memory"  # CAPD's in-memory machines: the local DC


@dataclass(frozen=True)
class InfrastructureKinds:
    api_version: str
    cluster_kind: str
    machine_template_kind: str


KINDS = {
    MachineBackend.IN_MEMORY: InfrastructureKinds(
        f"{INFRASTRUCTURE_GROUP}/v1beta2", "DevCluster", "DevMachineTemplate"
    ),
}


def _provisioning(seconds: str) -> dict[str, str]:
    return {"startupDuration": seconds, "startupJitter": "0.2"}


def cluster_spec(backend: MachineBackend) -> dict[str, Any]:
    return {"backend": {"inMemory": {}}}


def machine_template_spec(backend: MachineBackend) -> dict[str, Any]:
    # Seconds, not minutes: a VM boot, then the node, apiserver and etcd of each machine.
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


def template_name(base: str, spec: dict[str, Any]) -> str:
    """Machine templates are immutable in Cluster API: a changed spec is a new template (and
    a rollout), so the name carries a digest of the spec."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    return f"{base}-{digest}"
