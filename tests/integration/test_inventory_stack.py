"""The inventory stack through the real Pulumi engine (Automation API + the built toolchain)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from pulumi import automation as auto

BMC_PASSWORD = "bmc-Cikarang-2026!"  # a test value; must never appear in plaintext in state

pytestmark = pytest.mark.integration


def _state_file(state_dir: Path, stack: auto.Stack) -> Path:
    matches = list((state_dir / "pulumi-state" / ".pulumi" / "stacks").rglob(f"{stack.name}.json"))
    assert len(matches) == 1, f"expected one state file for {stack.name}, found {matches}"
    return matches[0]


def test_up_secret_no_changes_destroy(stack: auto.Stack, isolated_state: Path) -> None:
    stack.set_config("pdn:bmcPassword", auto.ConfigValue(value=BMC_PASSWORD, secret=True))

    first = stack.up()
    assert first.summary.result == "succeeded"
    outputs = first.outputs
    assert outputs["site"].value == "pdn-local"
    assert outputs["region_code"].value == "32.16"
    assert outputs["zones"].value == ["zone-a", "zone-b"]
    assert outputs["server_count"].value == 8
    assert outputs["capacity"].value["compute"]["cpu_cores"] == 256
    assert outputs["bmc_password"].secret is True
    assert outputs["bmc_password"].value == BMC_PASSWORD

    deployment = stack.export_stack().deployment
    assert deployment is not None
    types = Counter(r["type"] for r in deployment["resources"])
    assert types["pdn:infra:Site"] == 1
    assert types["pdn:infra:Rack"] == 3
    assert types["pdn:infra:ServerPool"] == 7
    assert first.summary.resource_changes == {"create": sum(types.values())}

    state_text = _state_file(isolated_state, stack).read_text()
    assert BMC_PASSWORD not in state_text
    stack_outputs = next(
        r["outputs"]
        for r in json.loads(state_text)["checkpoint"]["latest"]["resources"]
        if r["type"] == "pulumi:pulumi:Stack"
    )
    assert set(stack_outputs["bmc_password"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}

    second = stack.up()
    assert second.summary.resource_changes == {"same": sum(types.values())}
    stack.preview(expect_no_changes=True)

    destroyed = stack.destroy()
    assert destroyed.summary.resource_changes == {"delete": sum(types.values())}
    after = stack.export_stack().deployment
    assert after is not None
    assert not after.get("resources")


def test_broken_inventory_fails_the_update_with_the_field_named(
    stack: auto.Stack, tmp_path: Path
) -> None:
    broken = tmp_path / "site.yaml"
    broken.write_text(
        "site: {code: x, name: X, region_code: '32.16', tier: local}\n"
        "halls: [{name: h, zone: z, racks: [{name: r, power_kw: 5, servers: "
        "[{name: s, role: database, cpu_cores: 1, memory_gib: 1, disk_gib: 1}]}]}]\n"
    )
    stack.set_config("pdn:inventory", auto.ConfigValue(value=str(broken)))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    assert "halls[0].racks[0].servers[0].role: 'database' is not one of" in str(err.value)
