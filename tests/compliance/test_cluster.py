"""Cluster controls, through each cluster's own API: what its API server does when asked, not
what its flags say."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from pdn.compliance.targets import ClusterTarget

# The tail of the audit log searched for this run's probe (the API server writes each event as
# it happens; the log rotates at 100 MiB).
AUDIT_TAIL = 8 * 1024 * 1024


def _refusal(call: Any) -> ApiException | None:
    try:
        call()
    except ApiException as err:
        return err
    return None


@pytest.mark.control("PDN-API-1")
def test_api_server_refuses_anonymous(cluster: ClusterTarget, record_property: Any) -> None:
    url, ca = cluster.server()
    assert url.startswith("https://"), f"the API server is not served over TLS: {url}"
    context = ssl.create_default_context(cafile=ca)
    try:
        with urllib.request.urlopen(f"{url}/api", context=context, timeout=10) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as err:
        status = err.code
    record_property("evidence", f"GET {url}/api without credentials: HTTP {status}")
    assert status == 401, f"an anonymous GET /api got HTTP {status}, not 401 (anonymous auth on)"


@pytest.mark.control("PDN-API-2")
def test_api_server_admission(cluster: ClusterTarget, record_property: Any) -> None:
    """PodSecurity refuses a namespace label it does not know; NodeRestriction refuses a node
    that changes another node (both asked as dry runs: nothing is changed)."""
    with cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        node = core.list_node(limit=1).items[0].metadata.name
        bad_label = {
            "metadata": {
                "name": f"pdn-comply-{uuid.uuid4().hex[:8]}",
                "labels": {"pod-security.kubernetes.io/enforce": "anything-goes"},
            }
        }
        pod_security = _refusal(lambda: core.create_namespace(bad_label, dry_run="All"))
    with cluster.api_client(user="system:node:pdn-comply-probe", group="system:nodes") as api:
        patch = {"metadata": {"labels": {"pdn.go.id/comply-probe": "x"}}}
        node_restriction = _refusal(
            lambda: k8s.CoreV1Api(api).patch_node(node, patch, dry_run="All")
        )
    found = {
        "PodSecurity": pod_security is not None and "pod-security" in str(pod_security.body),
        "NodeRestriction": node_restriction is not None
        and "not allowed to modify node" in str(node_restriction.body),
    }
    record_property(
        "evidence",
        f"a namespace labelled enforce=anything-goes: "
        f"{_said(pod_security)}; node pdn-comply-probe patching {node}: {_said(node_restriction)}",
    )
    off = [name for name, on in found.items() if not on]
    assert not off, f"admission plugins not enforcing: {off}"


def _said(err: ApiException | None) -> str:
    if err is None:
        return "accepted"
    try:
        message = json.loads(err.body)["message"]
    except (TypeError, ValueError, KeyError):
        message = str(err.reason)
    return f"refused ({err.status}: {str(message)[:160]})"


@pytest.mark.control("PDN-AUDIT-1")
def test_audit_logging_is_on(cluster: ClusterTarget, record_property: Any) -> None:
    """A request made now is in the API server's audit log."""
    assert cluster.audit_log is not None, f"no audit log is known for {cluster.target}"
    probe = f"pdn-comply-audit-{uuid.uuid4().hex[:12]}"
    with cluster.api_client() as api:
        refused = _refusal(lambda: k8s.CoreV1Api(api).read_namespaced_config_map(probe, "default"))
    assert refused is not None, f"the probe configmap {probe} exists"
    assert refused.status == 404, f"the probe {probe} was refused: {refused}"
    if not cluster.audit_log.exists():
        record_property("evidence", f"{cluster.audit_log} does not exist")
        pytest.fail(f"no audit log at {cluster.audit_log}")
    with cluster.audit_log.open("rb") as log:
        log.seek(max(0, cluster.audit_log.stat().st_size - AUDIT_TAIL))
        events = [line for line in log.read().splitlines() if probe.encode() in line]
    found = [json.loads(line) for line in events]
    record_property(
        "evidence",
        f"{cluster.audit_log}: "
        + (
            f"get configmaps/{probe} by {found[-1]['user']['username']} at "
            f"{found[-1]['stageTimestamp']}"
            if found
            else f"no event of the probe {probe}"
        ),
    )
    assert found, f"the API server did not audit the request for {probe}"
