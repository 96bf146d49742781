"""PDN hosts (IaaS) in tenant files and as Pulumi resources, under mocks: sizes held to the
quota, the local pool's dynamic resources, KubeVirt VirtualMachines for production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from infra.iaas.local_host import LocalHostProvider
from infra.iaas.tenant_hosts import HostBackend, TenantHosts, TenantHostsArgs
from pdn.tenants.fleet import tenant_files
from pdn.tenants.model import PdnHostSpec, Tenant
from pdn.tenants.shards import tenant_urns
from tests.unit.conftest import RecordingMocks, run_program


def _bekasi() -> dict[str, Any]:
    path = next(p for p in tenant_files() if p.name == "kab-bekasi.yaml")
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def test_hosts_are_held_to_the_quota() -> None:
    document = _bekasi()  # standard tier: 8 cores, 32 GiB, 512 GiB
    document["hosts"] = [{"name": f"h{i}", "size": "large"} for i in range(3)]
    with pytest.raises(ValidationError) as raised:
        Tenant.model_validate(document, strict=False)
    assert "hosts: their cpu_cores add up to 12, over the quota's 8" in str(raised.value)
    document["hosts"] = [{"name": "h1", "size": "large"}, {"name": "h1", "size": "small"}]
    with pytest.raises(ValidationError) as twice:
        Tenant.model_validate(document, strict=False)
    assert "hosts: a host name is listed twice" in str(twice.value)
    document["hosts"] = [{"name": "h1", "size": "huge"}]
    with pytest.raises(ValidationError):
        Tenant.model_validate(document, strict=False)


def _hosts(backend: HostBackend) -> dict[str, Any]:
    specs = [PdnHostSpec(name="simpeg", size="small"), PdnHostSpec(name="arsip", size="medium")]  # type: ignore[arg-type]

    def program() -> dict[str, Any]:
        hosts = TenantHosts(
            "kab-bekasi-hosts",
            TenantHostsArgs(
                tenant="kab-bekasi",
                namespace="kab-bekasi",
                hosts=specs,
                backend=backend,
                pool="/var/lib/pdn/hosts",
                network="198.18.208.0/24",
            ),
        )
        return {"addresses": hosts.addresses}

    return run_program(program)


def test_on_the_local_dc_each_host_is_a_resource_of_the_pool(
    pulumi_mocks: RecordingMocks,
) -> None:
    _hosts(HostBackend.LOCAL)
    dynamic = {
        r.name: r.inputs for r in pulumi_mocks.resources if r.typ.startswith("pulumi-python")
    }
    assert set(dynamic) == {"kab-bekasi-hosts-simpeg", "kab-bekasi-hosts-arsip"}
    assert dynamic["kab-bekasi-hosts-arsip"]["size"] == "medium"
    assert dynamic["kab-bekasi-hosts-arsip"]["pool"] == "/var/lib/pdn/hosts"


def test_in_production_each_host_is_a_kubevirt_virtual_machine(
    pulumi_mocks: RecordingMocks,
) -> None:
    _hosts(HostBackend.KUBEVIRT)
    machines = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in pulumi_mocks.resources
        if r.typ == "kubernetes:kubevirt.io/v1:VirtualMachine"
    }
    assert set(machines) == {"simpeg", "arsip"}
    arsip = machines["arsip"]
    assert arsip["metadata"]["namespace"] == "kab-bekasi"
    domain = arsip["spec"]["template"]["spec"]["domain"]
    assert domain["cpu"] == {"cores": 2}
    assert domain["memory"] == {"guest": "4Gi"}
    volume = arsip["spec"]["dataVolumeTemplates"][0]["spec"]
    assert volume["storage"]["resources"]["requests"]["storage"] == "40Gi"
    assert volume["sourceRef"] == {
        "kind": "DataSource",
        "name": "debian-12",
        "namespace": "pdn-images",
    }


def test_a_new_size_is_an_update_and_a_new_image_a_new_host() -> None:
    provider = LocalHostProvider()
    old = {
        "tenant": "t",
        "name": "h",
        "size": "small",
        "image": "debian-12",
        "pool": "/p",
        "network": "198.18.208.0/24",
    }
    resized = provider.diff("t/h", old, {**old, "size": "large"})
    assert resized.changes
    assert resized.replaces == []
    reimaged = provider.diff("t/h", old, {**old, "image": "debian-13"})
    assert reimaged.replaces == ["image"]
    assert not provider.diff("t/h", old, dict(old)).changes


def test_a_targeted_rollout_takes_in_the_tenants_hosts() -> None:
    urns = tenant_urns("s", "kab-bekasi", hosts=("simpeg",), host_backend="local")
    assert "urn:pulumi:s::pdn-tenants::pdn:iaas:TenantHosts::kab-bekasi-hosts" in urns
    assert (
        "urn:pulumi:s::pdn-tenants::pdn:iaas:TenantHosts$pulumi-python:dynamic:Resource::"
        "kab-bekasi-hosts-simpeg" in urns
    )
    assert not any("TenantHosts" in u for u in tenant_urns("s", "kab-bekasi", hosts=("simpeg",)))


def _pool_names(directory: Path) -> tuple[str, str, str]:
    from pdn.estate import network  # noqa: PLC0415
    from pdn.iaas.local import LocalHostPool  # noqa: PLC0415

    estate = LocalHostPool(directory).runtime({"kab-bekasi-simpeg": "198.18.208.2"}).estate
    room = estate.rooms[0]
    return (
        network.bridge_name(estate, room),
        network.veth_name(estate, room.hosts[0]),
        network.namespace_name(estate, room.hosts[0]),
    )


def test_two_dcs_pools_never_share_a_bridge_link_or_namespace(tmp_path: Path) -> None:
    """An operator's DC and a test's DC on one machine: taking one's hosts down leaves the
    other's alone; one pool names its parts the same every time."""
    operator, test = _pool_names(tmp_path / "operator"), _pool_names(tmp_path / "test")
    assert all(a != b for a, b in zip(operator, test, strict=True))
    assert _pool_names(tmp_path / "operator") == operator
