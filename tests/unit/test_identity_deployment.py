"""Single sign-on and the e-signature service as the cluster runs them in production, under
Pulumi mocks: restricted pods, passwords only through Secrets, Keycloak replicated across
compute servers, the signing service on a retained local volume of a storage server, and only
tenants reaching them."""

from __future__ import annotations

from typing import Any

import pulumi

from pdn.inventory import LOCAL_SITE, ServerRole, load_site
from platform_services.deployment.identity import IdentityDeployment, IdentityDeploymentArgs
from tests.unit.conftest import RecordingMocks, run_program

SITE = load_site(LOCAL_SITE)
SECRET_SIG = pulumi.runtime.rpc._special_sig_key
STORAGE_SERVERS = sorted(s.name for _, s in SITE.servers() if s.role is ServerRole.STORAGE)
PASSWORDS = ("db-pa55word", "admin-pa55word")


def _deployment() -> dict[str, Any]:
    made = IdentityDeployment(
        "pdn-local-identity",
        IdentityDeploymentArgs(
            site=SITE,
            tls_cert="-----BEGIN CERTIFICATE-----\n",
            tls_key=pulumi.Output.secret("key"),
            ca_pem="-----BEGIN CERTIFICATE-----\nca\n",
            database_password=pulumi.Output.secret(PASSWORDS[0]),
            admin_user="pdn-admin",
            admin_password=pulumi.Output.secret(PASSWORDS[1]),
        ),
    )
    return {"urls": made.urls}


def _of(mocks: RecordingMocks, kind: str) -> list[Any]:
    return [r for r in mocks.resources if r.typ.startswith("kubernetes:") and r.typ.endswith(kind)]


def test_keycloak_is_replicated_and_the_signing_service_keeps_its_ca_on_a_local_volume(
    pulumi_mocks: RecordingMocks,
) -> None:
    urls = run_program(_deployment)["urls"]
    assert urls == {
        "sso": "https://sso.pdn-local.pdn.go.id",
        "signing": "https://tte.pdn-local.pdn.go.id",
    }
    (keycloak,) = _of(pulumi_mocks, "apps/v1:Deployment")
    spec = keycloak.inputs["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["nodeSelector"] == {"pdn.go.id/pool": "compute"}
    (container,) = pod["containers"]
    assert container["args"][:2] == ["start", "--optimized"]
    assert "--cache-stack=jdbc-ping" in container["args"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    (signing,) = _of(pulumi_mocks, "StatefulSet")
    assert signing.inputs["spec"]["replicas"] == 1  # one writer of the CA's registry
    assert "--workers=4" in signing.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    volumes = [pv.inputs for pv in _of(pulumi_mocks, "PersistentVolume")]
    assert sorted(v["metadata"]["name"] for v in volumes) == [f"{s}-tte" for s in STORAGE_SERVERS]
    assert all(v["spec"]["persistentVolumeReclaimPolicy"] == "Retain" for v in volumes)
    budgets = {
        b.inputs["metadata"]["name"]: b.inputs["spec"]
        for b in _of(pulumi_mocks, "PodDisruptionBudget")
    }
    assert budgets == {
        "keycloak": {"maxUnavailable": 1, "selector": {"matchLabels": pod_labels(keycloak)}},
        "tte": {"maxUnavailable": 0, "selector": {"matchLabels": pod_labels(signing)}},
    }


def pod_labels(workload: Any) -> dict[str, str]:
    labels: dict[str, str] = workload.inputs["spec"]["selector"]["matchLabels"]
    return labels


def test_every_pod_is_restricted_and_passwords_stay_in_secrets(
    pulumi_mocks: RecordingMocks,
) -> None:
    run_program(_deployment)
    workloads = [*_of(pulumi_mocks, "StatefulSet"), *_of(pulumi_mocks, "apps/v1:Deployment")]
    assert len(workloads) == 2
    for workload in workloads:
        pod = workload.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert container["image"].startswith("registry.pdn.go.id/platform/")
        assert not any(p in str(workload.inputs) for p in PASSWORDS)
    keycloak = _of(pulumi_mocks, "apps/v1:Deployment")[0].inputs
    env = {e["name"]: e for e in keycloak["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["KC_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "keycloak-credentials",
        "key": "database-password",
    }
    for secret in _of(pulumi_mocks, "Secret"):  # whole data a Pulumi secret: encrypted in state
        assert secret.inputs["stringData"][SECRET_SIG] == pulumi.runtime.rpc._special_secret_sig
    for config in _of(pulumi_mocks, "ConfigMap"):
        assert not any(p in str(config.inputs) for p in PASSWORDS)


def test_only_tenants_and_the_platform_reach_them(pulumi_mocks: RecordingMocks) -> None:
    run_program(_deployment)
    policies = {
        p.inputs["metadata"]["name"]: p.inputs["spec"] for p in _of(pulumi_mocks, "NetworkPolicy")
    }
    for name in ("allow-keycloak-clients", "allow-tte-clients"):
        rule = policies[name]["ingress"][0]
        assert [p["port"] for p in rule["ports"]] == [8443]
        peers = [p["namespaceSelector"] for p in rule["from"]]
        assert {"matchExpressions": [{"key": "pdn.go.id/tenant", "operator": "Exists"}]} in peers
    peers = policies["allow-keycloak-peers"]["ingress"][0]
    assert [p["port"] for p in peers["ports"]] == [7800, 57800]
    assert peers["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "keycloak"}}}
    ]
