"""Single sign-on and the e-signature service's production deployment on the real local DC
cluster: the platform stack of the session wrote it; the real API server admitted every pod
under Pod Security `restricted`, the scheduler put Keycloak's replicas on two compute servers
and the signing service on a storage server with its claim bound to that server's volume, and
kwok runs them."""

from __future__ import annotations

import time

import pytest
from kubernetes import client as k8s

from pdn import stacks
from pdn.inventory import LOCAL_SITE, ServerRole, load_site
from tests.integration.conftest import Onboarded

pytestmark = pytest.mark.integration
SITE = load_site(LOCAL_SITE)
STORAGE = {s.name for _, s in SITE.servers() if s.role is ServerRole.STORAGE}
COMPUTE = {s.name for _, s in SITE.servers() if s.role is ServerRole.COMPUTE}


def _ready(apps: k8s.AppsV1Api) -> tuple[int, int]:
    keycloak = apps.read_namespaced_deployment("keycloak", "pdn-identity").status
    signing = apps.read_namespaced_stateful_set("tte", "pdn-pki").status
    return keycloak.ready_replicas or 0, signing.ready_replicas or 0


def test_keycloak_and_the_signing_service_run_where_production_puts_them(
    onboarded: Onboarded,
) -> None:
    outputs = stacks.Stack(onboarded.env, onboarded.platform).outputs()
    assert outputs["identity_cluster"]["urls"]["sso"] == f"https://sso.{SITE.code}.pdn.go.id"
    with onboarded.dc.api_client() as api:
        apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
        deadline, ready = time.monotonic() + 120, (0, 0)
        while time.monotonic() < deadline and ready != (2, 1):
            ready = _ready(apps)
            time.sleep(1)
        assert ready == (2, 1)
        keycloaks = core.list_namespaced_pod(
            "pdn-identity", label_selector="app.kubernetes.io/name=keycloak"
        ).items
        nodes = [p.spec.node_name for p in keycloaks]
        assert set(nodes) <= COMPUTE
        assert len(set(nodes)) == 2, f"both replicas on one server: {nodes}"
        (signer,) = core.list_namespaced_pod(
            "pdn-pki", label_selector="app.kubernetes.io/name=tte"
        ).items
        assert signer.spec.node_name in STORAGE
        claim = core.read_namespaced_persistent_volume_claim("data-tte-0", "pdn-pki")
        assert claim.status.phase == "Bound"
        assert claim.spec.volume_name == f"{signer.spec.node_name}-tte"
        # The passwords reach Keycloak from its Secret, never from its spec.
        keycloak = apps.read_namespaced_deployment("keycloak", "pdn-identity")
        env = keycloak.spec.template.spec.containers[0].env
        assert all(e.value is None for e in env if e.name.startswith("KC_"))


def test_the_gis_feature_service_runs_where_production_puts_it(onboarded: Onboarded) -> None:
    outputs = stacks.Stack(onboarded.env, onboarded.platform).outputs()
    assert outputs["gis_cluster"]["url"] == f"https://gis.{SITE.code}.pdn.go.id"
    with onboarded.dc.api_client() as api:
        apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
        deadline, ready = time.monotonic() + 120, 0
        while time.monotonic() < deadline and ready != 2:
            ready = apps.read_namespaced_deployment("pdn-gis", "pdn-gis").status.ready_replicas or 0
            time.sleep(1)
        assert ready == 2  # admitted under Pod Security restricted, and scheduled
        pods = core.list_namespaced_pod(
            "pdn-gis", label_selector="app.kubernetes.io/name=pdn-gis"
        ).items
        nodes = [p.spec.node_name for p in pods]
        assert set(nodes) <= COMPUTE
        assert len(set(nodes)) == 2, f"both replicas on one server: {nodes}"
        env = pods[0].spec.containers[0].env
        (password,) = [e for e in env if e.name == "PDN_GIS_DB_PASSWORD"]
        assert password.value is None
        assert password.value_from.secret_key_ref.name == "gis-credentials"
