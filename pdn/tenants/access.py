"""What a user may do in a tenant's namespace, asked of the real API server: the probes of the
isolation matrix (the tenancy tests and compliance control PDN-ISO-1 run the same ones)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException


def _allowed(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ApiException as err:
        if err.status == 403:
            return False
        raise
    return True


def attempts(api: k8s.ApiClient, namespace: str, probe_prefix: str) -> dict[str, bool]:
    """Whether the client (usually impersonating a group) may list secrets and pods, read
    config maps and write one (a dry run: nothing is written) in namespace."""
    core = k8s.CoreV1Api(api)
    probe = {"metadata": {"name": f"{probe_prefix}-{uuid.uuid4().hex[:6]}"}, "data": {"k": "v"}}
    return {
        "list secrets": _allowed(lambda: core.list_namespaced_secret(namespace)),
        "list pods": _allowed(lambda: core.list_namespaced_pod(namespace)),
        "read configmaps": _allowed(lambda: core.list_namespaced_config_map(namespace)),
        "write configmap": _allowed(
            lambda: core.create_namespaced_config_map(namespace, probe, dry_run="All")
        ),
    }
