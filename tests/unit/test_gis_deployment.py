"""The GIS feature service as the cluster runs it in production, under Pulumi mocks: two
restricted replicas on the compute pool, the compiled front serving HTTPS and pygeoapi beside it
on the pod's loopback, the database password only through a Secret, the settings those the local
DC's processes run with, and only tenants and the platform reaching it."""

from __future__ import annotations

from typing import Any

import pulumi

from pdn.inventory import LOCAL_SITE, load_site
from platform_services.deployment.gis import GisDeployment, GisDeploymentArgs
from tests.unit.conftest import RecordingMocks, run_program

SITE = load_site(LOCAL_SITE)
SECRET_SIG = pulumi.runtime.rpc._special_sig_key
PASSWORD = "gis-pa55word"


def _deployment() -> dict[str, Any]:
    made = GisDeployment(
        "pdn-local-gis-service",
        GisDeploymentArgs(
            site=SITE,
            tls_cert="-----BEGIN CERTIFICATE-----\n",
            tls_key=pulumi.Output.secret("key"),
            ca_pem="-----BEGIN CERTIFICATE-----\nca\n",
            database_password=pulumi.Output.secret(PASSWORD),
        ),
    )
    return {"url": made.url}


def _of(mocks: RecordingMocks, kind: str) -> list[Any]:
    return [r for r in mocks.resources if r.typ.startswith("kubernetes:") and r.typ.endswith(kind)]


def test_two_restricted_replicas_with_the_password_in_a_secret(
    pulumi_mocks: RecordingMocks,
) -> None:
    assert run_program(_deployment)["url"] == "https://gis.pdn-local.pdn.go.id"
    (deployment,) = _of(pulumi_mocks, "apps/v1:Deployment")
    spec = deployment.inputs["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["nodeSelector"] == {"pdn.go.id/pool": "compute"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    front, pygeoapi = pod["containers"]
    for container in (front, pygeoapi):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        env = {e["name"]: e for e in container["env"]}
        assert env["PDN_GIS_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "gis-credentials",
            "key": "database-password",
        }
        assert env["PDN_GIS_ISSUER"]["value"] == "https://sso.pdn-local.pdn.go.id/realms/pdn-asn"
        assert env["PDN_GIS_DB_USER"]["value"] == "pdn_gis_service"
    assert front["image"] == "registry.pdn.go.id/platform/pdn-features:0.1.0"
    assert [p["containerPort"] for p in front["ports"]] == [8443]
    env = {e["name"]: e.get("value") for e in front["env"]}
    assert env["PDN_GIS_BACKEND"] == "http://127.0.0.1:8080"
    assert env["PDN_GIS_TLS_CERT"] == "/etc/pdn/tls/tls.crt"
    assert front["readinessProbe"]["httpGet"]["port"] == 8443
    assert pygeoapi["image"] == "registry.pdn.go.id/platform/pdn-gis:0.1.0"
    assert pygeoapi["args"][-1] == "pdn.gis.server:application()"
    assert "--bind=127.0.0.1:8080" in pygeoapi["args"]  # the pod's loopback only
    assert not pygeoapi.get("ports")
    assert PASSWORD not in str(deployment.inputs)
    for secret in _of(pulumi_mocks, "Secret"):  # whole data a Pulumi secret: encrypted in state
        assert secret.inputs["stringData"][SECRET_SIG] == pulumi.runtime.rpc._special_secret_sig
    (budget,) = _of(pulumi_mocks, "PodDisruptionBudget")
    assert budget.inputs["spec"]["maxUnavailable"] == 1


def test_only_tenants_and_the_platform_reach_it(pulumi_mocks: RecordingMocks) -> None:
    run_program(_deployment)
    (policy,) = _of(pulumi_mocks, "NetworkPolicy")
    rule = policy.inputs["spec"]["ingress"][0]
    assert [p["port"] for p in rule["ports"]] == [8443]
    peers = [p["namespaceSelector"] for p in rule["from"]]
    assert {"matchExpressions": [{"key": "pdn.go.id/tenant", "operator": "Exists"}]} in peers
    assert len(peers) == 2
