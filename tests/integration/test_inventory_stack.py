"""The inventory stack through the real Pulumi engine (pdn.stacks + the built toolchain)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pdn import stacks
from pdn.pulumi_env import PulumiEnvError

BMC_PASSWORD = "bmc-Cikarang-2026!"  # a test value; must never appear in plaintext in state

pytestmark = pytest.mark.integration


def _state_file(state_dir: Path, stack: stacks.Stack) -> Path:
    matches = list((state_dir / "pulumi-state" / ".pulumi" / "stacks").rglob(f"{stack.name}.json"))
    assert len(matches) == 1, f"expected one state file for {stack.name}, found {matches}"
    return matches[0]


def test_up_secret_no_changes_destroy(stack: stacks.Stack, isolated_state: Path) -> None:
    stack.set_config("pdn:bmcPassword", BMC_PASSWORD, secret=True)
    assert "secure: v1:" in stack.config_file.read_text()
    assert BMC_PASSWORD not in stack.config_file.read_text()

    first = stack.up()
    outputs = stack.outputs(show_secrets=True)
    assert outputs["site"] == "pdn-local"
    assert outputs["region_code"] == "32.16"
    assert outputs["zones"] == ["zone-a", "zone-b"]
    assert outputs["server_count"] == 8
    assert outputs["capacity"]["compute"]["cpu_cores"] == 256
    assert "bmc_password" not in outputs  # kept in state, encrypted, for no reader outside

    deployment = stack.export()["deployment"]
    types = Counter(r["type"] for r in deployment["resources"])
    assert types["pdn:infra:Site"] == 1
    assert types["pdn:infra:Rack"] == 3
    assert types["pdn:infra:ServerPool"] == 7
    assert first == {"create": sum(types.values())}

    state_text = _state_file(isolated_state, stack).read_text()
    assert BMC_PASSWORD not in state_text
    site = next(
        r
        for r in json.loads(state_text)["checkpoint"]["latest"]["resources"]
        if r["type"] == "pdn:infra:Site"
    )
    assert set(site["outputs"]["bmc_password"]) == {
        "4dabf18193072939515e22adb298388d",
        "ciphertext",
    }

    assert stack.up() == {"same": sum(types.values())}
    stack.preview(expect_no_changes=True)

    assert stack.destroy() == {"delete": sum(types.values())}
    assert not stack.export()["deployment"].get("resources")


def test_broken_inventory_fails_the_update_with_the_field_named(
    stack: stacks.Stack, tmp_path: Path
) -> None:
    broken = tmp_path / "site.yaml"
    broken.write_text(
        "site: {code: x, name: X, region_code: '32.16', tier: local}\n"
        "halls: [{name: h, zone: z, racks: [{name: r, power_kw: 5, servers: "
        "[{name: s, role: database, cpu_cores: 1, memory_gib: 1, disk_gib: 1}]}]}]\n"
    )
    stack.set_config("pdn:inventory", str(broken))
    with pytest.raises(PulumiEnvError) as err:
        stack.up()
    assert "halls[0].racks[0].servers[0].role: 'database' is not one of" in str(err.value)
