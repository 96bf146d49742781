"""The data services' production deployment under Pulumi mocks: sized from the inventory, every
pod restricted, each claim bound only to its role's local volumes, the secrets kept secret."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from pdn.inventory import LOCAL_SITE, ServerRole, load_site
from platform_services.deployment import Deployment, DeploymentArgs, VolumeSizes
from tests.unit.conftest import RecordingMocks, run_program

SITE = load_site(LOCAL_SITE)
SECRET_SIG = pulumi.runtime.rpc._special_sig_key
STORAGE_SERVERS = sorted(s.name for _, s in SITE.servers() if s.role is ServerRole.STORAGE)


def _deployment(sizes: VolumeSizes | None = None) -> dict[str, Any]:
    made = Deployment(
        "pdn-local-data-services",
        DeploymentArgs(
            site=SITE,
            tls_cert="-----BEGIN CERTIFICATE-----\n",
            tls_key=pulumi.Output.secret("key"),
            s3_admin_access_key=pulumi.Output.secret("AKIA"),
            s3_admin_secret_key=pulumi.Output.secret("s3cr3t"),
            sizes=sizes or VolumeSizes(),
        ),
    )
    return {"volumes": made.volumes, "endpoints": made.endpoints}


def _of(mocks: RecordingMocks, kind: str) -> list[pulumi.runtime.MockResourceArgs]:
    return [r for r in mocks.resources if r.typ.startswith("kubernetes:") and r.typ.endswith(kind)]


def test_one_volume_server_per_storage_server_and_a_local_volume_per_role(
    pulumi_mocks: RecordingMocks,
) -> None:
    volumes = run_program(_deployment)["volumes"]
    assert sorted(volumes) == [
        "mariadb",
        "postgresql",
        "seaweedfs-filer",
        "seaweedfs-master",
        "seaweedfs-volume",
    ]
    for role, names in volumes.items():
        assert names == [f"{server}-{role}" for server in STORAGE_SERVERS]
    sets = {s.inputs["metadata"]["name"]: s.inputs for s in _of(pulumi_mocks, "StatefulSet")}
    assert sets["seaweedfs-volume"]["spec"]["replicas"] == len(STORAGE_SERVERS)
    assert sets["seaweedfs-master"]["spec"]["replicas"] == 1  # two storage servers: no quorum of 3
    for pv in _of(pulumi_mocks, "PersistentVolume"):
        spec = pv.inputs["spec"]
        assert spec["persistentVolumeReclaimPolicy"] == "Retain"
        node = spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
        assert node["values"][0] in STORAGE_SERVERS
        assert pv.inputs["metadata"]["name"] == f"{node['values'][0]}-{spec['local']['path'][9:]}"


def test_every_pod_passes_restricted_and_claims_only_its_roles_volumes(
    pulumi_mocks: RecordingMocks,
) -> None:
    run_program(_deployment)
    workloads = [*_of(pulumi_mocks, "StatefulSet"), *_of(pulumi_mocks, "Deployment")]
    assert len(workloads) == 6
    for workload in workloads:
        name = workload.inputs["metadata"]["name"]
        pod = workload.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["readOnlyRootFilesystem"] is True
            assert container["image"].startswith("registry.pdn.go.id/platform/")
            assert ":" in container["image"]
            assert "latest" not in container["image"]
        for claim in workload.inputs["spec"].get("volumeClaimTemplates", []):
            assert claim["spec"]["selector"]["matchLabels"] == {"pdn.go.id/volume-role": name}
            assert claim["spec"]["storageClassName"] == "pdn-standard"
    budgets = {
        b.inputs["metadata"]["name"]: b.inputs["spec"]
        for b in _of(pulumi_mocks, "PodDisruptionBudget")
    }
    assert budgets["postgresql"]["maxUnavailable"] == 0  # a drain never takes the one primary
    assert budgets["seaweedfs-volume"]["maxUnavailable"] == 1


def test_only_tenants_and_backups_reach_the_client_ports(pulumi_mocks: RecordingMocks) -> None:
    run_program(_deployment)
    policies = {
        p.inputs["metadata"]["name"]: p.inputs["spec"] for p in _of(pulumi_mocks, "NetworkPolicy")
    }
    for name, port in (("allow-s3-clients", 443), ("allow-postgresql-clients", 5432)):
        rule = policies[name]["ingress"][0]
        assert [p["port"] for p in rule["ports"]] == [port]
        peers = [p["namespaceSelector"] for p in rule["from"]]
        assert {"matchExpressions": [{"key": "pdn.go.id/tenant", "operator": "Exists"}]} in peers
        assert {"matchLabels": {"kubernetes.io/metadata.name": "pdn-backup"}} in peers


def test_keys_go_into_secrets_only(pulumi_mocks: RecordingMocks) -> None:
    run_program(_deployment)
    secrets = {s.inputs["metadata"]["name"]: s for s in _of(pulumi_mocks, "Secret")}
    assert secrets["data-services-tls"].inputs["type"] == "kubernetes.io/tls"
    for secret in secrets.values():  # whole data sent as a Pulumi secret: encrypted in state
        assert secret.inputs["stringData"][SECRET_SIG] == pulumi.runtime.rpc._special_secret_sig
    identities = secrets["seaweedfs-s3-identities"].inputs["stringData"]["value"]
    assert "s3cr3t" in identities["identities.json"]  # the gateway's admin identity
    for config in _of(pulumi_mocks, "ConfigMap"):
        assert "s3cr3t" not in str(config.inputs)


def test_a_disk_too_small_for_the_data_services_is_named(pulumi_mocks: RecordingMocks) -> None:
    too_big = VolumeSizes(postgresql=10**6)
    with pytest.raises(Exception, match=r"storage server a02-s1: its 61440 GiB disk cannot hold"):
        run_program(lambda: _deployment(too_big))
