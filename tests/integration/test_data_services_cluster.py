"""The data services' production deployment on the real local DC cluster: the platform stack of
the session wrote it; the real API server admitted every pod under Pod Security `restricted`, the
real scheduler placed each on its pool with its claims bound to the local volumes of its role on
that node, and kwok runs them."""

from __future__ import annotations

import time

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from pdn.inventory import LOCAL_SITE, ServerRole, load_site
from tests.integration.conftest import Onboarded

pytestmark = pytest.mark.integration
SITE = load_site(LOCAL_SITE)
STORAGE = {s.name for _, s in SITE.servers() if s.role is ServerRole.STORAGE}
COMPUTE = {s.name for _, s in SITE.servers() if s.role is ServerRole.COMPUTE}
WORKLOADS = {  # namespace/name: replicas on the local site (two storage servers)
    "pdn-storage/seaweedfs-master": 1,
    "pdn-storage/seaweedfs-volume": 2,
    "pdn-storage/seaweedfs-filer": 2,
    "pdn-databases/postgresql": 1,
    "pdn-databases/mariadb": 1,
}


def _ready(apps: k8s.AppsV1Api) -> dict[str, int]:
    found = {}
    for key in [*WORKLOADS, "pdn-storage/seaweedfs-s3"]:
        namespace, name = key.split("/")
        try:
            if name == "seaweedfs-s3":
                status = apps.read_namespaced_deployment(name, namespace).status
            else:
                status = apps.read_namespaced_stateful_set(name, namespace).status
        except ApiException as err:
            if err.status != 404:
                raise
            continue
        found[key] = status.ready_replicas or 0
    return found


def test_every_data_service_runs_on_its_pool_with_its_own_volumes(onboarded: Onboarded) -> None:
    with onboarded.dc.api_client() as api:
        apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
        deadline, ready = time.monotonic() + 120, dict[str, int]()
        wanted = {**WORKLOADS, "pdn-storage/seaweedfs-s3": 2}
        while time.monotonic() < deadline and ready != wanted:
            ready = _ready(apps)
            time.sleep(1)
        assert ready == wanted
        claims = {
            f"{c.metadata.namespace}/{c.metadata.name}": c
            for ns in ("pdn-storage", "pdn-databases")
            for c in core.list_namespaced_persistent_volume_claim(ns).items
        }
        placed = []
        for key in WORKLOADS:
            namespace, name = key.split("/")
            pods = core.list_namespaced_pod(
                namespace, label_selector=f"app.kubernetes.io/name={name}"
            ).items
            nodes = [p.spec.node_name for p in pods]
            assert set(nodes) <= STORAGE, f"{name} on {nodes}"
            assert len(set(nodes)) == len(nodes), f"{name}: two replicas on one server"
            for pod in pods:
                claim = claims[f"{namespace}/data-{pod.metadata.name}"]
                assert claim.status.phase == "Bound"
                # The local volume of this role on the pod's own server, nothing else.
                assert claim.spec.volume_name == f"{pod.spec.node_name}-{name}"
                placed.append(f"{pod.metadata.name}@{pod.spec.node_name}")
        gateways = core.list_namespaced_pod(
            "pdn-storage", label_selector="app.kubernetes.io/name=seaweedfs-s3"
        ).items
        assert {p.spec.node_name for p in gateways} <= COMPUTE
        print("placed: " + ", ".join(sorted(placed)))


def test_the_namespaces_refuse_a_pod_that_is_not_restricted(onboarded: Onboarded) -> None:
    """What makes the test above mean something: the API server would have refused our pods
    had they not passed `restricted`."""
    privileged = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="it-as-root"),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="c",
                    image="registry.pdn.go.id/platform/mariadb:10.11.19",
                    # As root, capabilities kept: what `restricted` forbids (privileged itself
                    # is refused earlier, by the API server's --allow-privileged=false).
                    security_context=k8s.V1SecurityContext(run_as_user=0),
                )
            ]
        ),
    )
    with onboarded.dc.api_client() as api:
        core = k8s.CoreV1Api(api)
        for namespace in ("pdn-storage", "pdn-databases"):
            with pytest.raises(ApiException) as refused:
                core.create_namespaced_pod(namespace, privileged)
            assert refused.value.status == 403, refused.value.body
            assert "violates PodSecurity" in str(refused.value.body)
