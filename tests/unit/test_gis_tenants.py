"""A tenant's share of the GIS platform: names from the slug, what its file's `gis_layers` must
be, its component under Pulumi's mocks, the provider's diff, and the URNs a targeted run takes."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from pdn.gis import tenants
from pdn.tenants.model import GisLayer
from pdn.tenants.shards import tenant_urns
from platform_services.gis.tenant_gis import (
    LayerArgs,
    TenantGis,
    TenantGisArgs,
    TenantLayersProvider,
)
from tests.unit.conftest import RecordingMocks, run_program

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
SERVER = {"engine": "postgresql", "host": "127.0.0.1", "port": 15432, "ca_pem": CA}


def test_names_come_from_the_slug() -> None:
    spec = tenants.TenantGisSpec(
        "kab-bekasi", (tenants.Layer("fasilitas-kesehatan", "Faskes", True),), ("prov-jawa-barat",)
    )
    assert (spec.schema, spec.owner, spec.reader) == (
        "t_kab_bekasi",
        "gis_kab_bekasi",
        "gis_kab_bekasi_read",
    )
    assert tenants.table_name("fasilitas-kesehatan") == "fasilitas_kesehatan"
    assert tenants.collection_id("kab-bekasi", "jalan") == "kab-bekasi.jalan"
    assert spec.readers == ("kab-bekasi", "prov-jawa-barat")
    want = tenants.expected(spec)
    assert want["reader_members"] == ["gis_prov_jawa_barat", "pdn_gis_service"]
    assert tenants.differences(want, spec) == []
    assert tenants.differences({**want, "public_usage": True}, spec) == [
        "public_usage: True -> False"
    ]


@pytest.mark.parametrize(
    "layer",
    [
        {"name": "Jalan", "title": "Jalan"},  # upper case: not a table name
        {"name": "1-jalan", "title": "Jalan"},
        {"name": "jalan;drop", "title": "Jalan"},
        {"name": "jalan", "title": "Jalan", "public": "yes"},
        {"name": "jalan", "title": "Jalan", "owner": "x"},
    ],
)
def test_a_layer_that_breaks_the_rules_is_refused(layer: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GisLayer.model_validate(layer)


def test_the_component_makes_the_layers_resource(pulumi_mocks: RecordingMocks) -> None:
    def program() -> dict[str, Any]:
        gis = TenantGis(
            "kab-bekasi-gis",
            TenantGisArgs(
                tenant="kab-bekasi",
                layers=[LayerArgs("fasilitas-kesehatan", "Fasilitas Kesehatan", public=True)],
                ancestors=["prov-jawa-barat"],
                server=SERVER,
                admin_user="pdn_admin",
                admin_password=pulumi.Output.secret("pw"),
            ),
        )
        return {"password": gis.password}

    outputs = run_program(program)
    made = {r.name: r for r in pulumi_mocks.resources}
    assert made["kab-bekasi-gis"].typ == "pdn:gis:TenantGis"
    layers = made["kab-bekasi-gis-layers"]
    assert layers.typ == "pulumi-python:dynamic/pdn-gis:TenantLayers"
    assert layers.inputs["layers"] == [
        {"name": "fasilitas-kesehatan", "title": "Fasilitas Kesehatan", "public": True}
    ]
    assert layers.inputs["ancestors"] == ["prov-jawa-barat"]
    assert "password" in outputs


def _props(**changed: Any) -> dict[str, Any]:
    return {
        "server": SERVER,
        "admin_user": "pdn_admin",
        "admin_password": "pw",
        "tenant": "kab-bekasi",
        "layers": [{"name": "jalan", "title": "Jalan", "public": False}],
        "ancestors": [],
        "drift": [],
    } | changed


def test_a_layer_made_public_or_drift_is_an_update_another_tenant_a_replacement() -> None:
    provider = TenantLayersProvider()
    assert not provider.diff("t", _props(), _props()).changes
    public = _props(layers=[{"name": "jalan", "title": "Jalan", "public": True}])
    assert provider.diff("t", _props(), public).changes
    assert provider.diff("t", _props(), public).replaces == []
    assert provider.diff("t", _props(drift=["login: False -> True"]), _props()).changes
    assert provider.diff("t", _props(), _props(tenant="kota-bogor")).replaces == ["tenant"]


def test_a_targeted_run_takes_the_tenants_gis() -> None:
    urns = tenant_urns("tenants-pdn-local-03", "kab-bekasi", data_services=True, gis=True)
    assert any(u.endswith("pdn:gis:TenantGis::kab-bekasi-gis") for u in urns)
    assert any(
        u.endswith("pulumi-python:dynamic/pdn-gis:TenantLayers::kab-bekasi-gis-layers")
        for u in urns
    )
    assert not any("gis" in u for u in tenant_urns("s", "kab-bekasi", data_services=True))
