"""The platform's local volumes after its stack was destroyed and made again. They are kept
(Retain: agency data is never deleted with its claim), but a kept volume is Released, still
naming the claim that is gone, and no new claim binds to it: the next `up` would wait forever.
Reclaiming points each such volume at the same claim again (namespace and name, without the old
claim's identity), so the StatefulSet's new claim of that name binds to it, with its data."""

from __future__ import annotations

from typing import Any

import kubernetes.client as k8s

STORAGE_CLASS = "pdn-standard"


def reclaim_released(api: k8s.ApiClient, storage_class: str = STORAGE_CLASS) -> list[str]:
    """The volumes reclaimed (each pre-bound to its former claim's name); a volume whose claim
    still exists is left alone."""
    core = k8s.CoreV1Api(api)
    reclaimed = []
    for pv in core.list_persistent_volume().items:
        ref = pv.spec.claim_ref
        if pv.status.phase != "Released" or pv.spec.storage_class_name != storage_class or not ref:
            continue
        try:
            claim: Any = core.read_namespaced_persistent_volume_claim(ref.name, ref.namespace)
        except k8s.ApiException as err:
            if err.status != 404:
                raise
            claim = None
        if claim is not None and claim.metadata.uid == ref.uid:
            continue  # its claim is there: releasing is the cluster's own business
        core.patch_persistent_volume(
            pv.metadata.name,
            {
                "spec": {
                    "claimRef": {
                        "namespace": ref.namespace,
                        "name": ref.name,
                        "uid": None,
                        "resourceVersion": None,
                    }
                }
            },
        )
        reclaimed.append(pv.metadata.name)
    return reclaimed
