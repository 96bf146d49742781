"""The GIS platform's reference layer: every region of the Kemendagri list, parents first;
its component under Pulumi's mocks; the provider's diff (drift found by read, another list)."""

from __future__ import annotations

from typing import Any

import pulumi

from pdn import regions
from pdn.gis import reference
from platform_services.gis.platform import GisPlatform, GisPlatformArgs, ReferenceLayerProvider
from tests.unit.conftest import RecordingMocks, run_program

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_the_layer_holds_every_region_parents_first() -> None:
    every = regions.every()
    want = reference.expected()
    assert want.by_level == {1: 38, 2: 514, 3: 7285, 4: 83762}
    assert want.rows == len(every) == 91599
    seen: set[str] = set()
    for code, _name in every:  # COPY into a table whose parent is a foreign key
        parent = code.rpartition(".")[0]
        assert not parent or parent in seen, code
        seen.add(code)
    assert dict(every)["32.16"] == "Kabupaten Bekasi"
    assert reference.differences(want) == []
    assert reference.differences(None) == ["database pdn_gis: missing -> present"]


def test_the_platform_makes_the_reference_layer(pulumi_mocks: RecordingMocks) -> None:
    def program() -> dict[str, Any]:
        gis = GisPlatform(
            "pdn-local-gis",
            GisPlatformArgs(
                server={"engine": "postgresql", "host": "127.0.0.1", "port": 15432, "ca_pem": CA},
                admin_user="pdn_admin",
                admin_password=pulumi.Output.secret("pw"),
            ),
        )
        return {"database": gis.database}

    assert run_program(program)["database"] == "pdn_gis"
    made = {r.name: r for r in pulumi_mocks.resources}
    assert made["pdn-local-gis"].typ == "pdn:gis:GisPlatform"
    layer = made["pdn-local-gis-reference"]
    assert layer.typ == "pulumi-python:dynamic/pdn-gis:ReferenceLayer"
    assert layer.inputs["server"]["port"] == 15432


def _props(**changed: Any) -> dict[str, Any]:
    server = {"engine": "postgresql", "host": "127.0.0.1", "port": 15432, "ca_pem": CA}
    return {
        "server": server,
        "admin_user": "pdn_admin",
        "admin_password": "pw",
        "version": reference.expected().version,
        "drift": [],
    } | changed


def test_drift_or_another_region_list_is_a_change_never_a_replacement() -> None:
    provider = ReferenceLayerProvider()
    assert not provider.diff("pdn_gis", _props(), _props()).changes
    drifted = provider.diff("pdn_gis", _props(drift=["rows: 0 -> 91599"]), _props())
    assert drifted.changes
    assert drifted.replaces == []
    assert provider.diff("pdn_gis", _props(version="older"), _props()).changes
