"""The inventory loader: the committed inventory loads, and every bad field is named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from pdn.inventory import LOCAL_SITE, InventoryError, ServerRole, load_site, parse_site

LOCAL = LOCAL_SITE


def _doc() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(LOCAL.read_text())
    return loaded


def test_committed_local_inventory_loads() -> None:
    site = load_site(LOCAL)
    assert site.code == "pdn-local"
    assert site.region_code == "32.16"
    assert site.zones == ("zone-a", "zone-b")
    assert [r.name for r in site.racks] == ["a01", "a02", "b01"]
    servers = [s for _, s in site.servers()]
    assert len(servers) == 8
    assert {s.role for s in servers} == {
        ServerRole.CONTROL_PLANE,
        ServerRole.COMPUTE,
        ServerRole.STORAGE,
    }
    a01 = site.racks[0]
    assert a01.hall == "hall-a"
    assert [s.name for s in a01.pool(ServerRole.COMPUTE)] == ["a01-c1", "a01-c2"]


def _set(doc: dict[str, Any], path: list[Any], value: Any) -> None:
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


_DELETE = object()
SERVER = ["halls", 0, "racks", 0, "servers", 0]


@pytest.mark.parametrize(
    ("path", "value", "field", "hint"),
    [
        (["site", "region_code"], 3216, "site.region_code", "Kemendagri"),
        (["site", "region_code"], "32.70", "site.region_code", "not in the Kemendagri list"),
        (["site", "region_code"], "32.99", "site.region_code", "32.79 Kota Banjar"),
        (["site", "region_code"], "32", "site.region_code", "kabupaten/kota code is expected"),
        (["site", "region_code"], "32.16.", "site.region_code", "dotted digits"),
        (["site", "tier"], "gold", "site.tier", "tier-3"),
        (["site", "code"], "PDN_Local", "site.code", "DNS label"),
        (["site", "name"], "", "site.name", "non-empty"),
        (["site", "owner"], "x", "site", "unknown field"),
        (["halls"], [], "halls", "non-empty list"),
        (["halls", 0, "racks", 1, "name"], "a01", "halls[0].racks[1].name", "listed twice"),
        (["halls", 0, "racks", 0, "power_kw"], -1, "halls[0].racks[0].power_kw", "positive"),
        ([*SERVER, "role"], "database", "halls[0].racks[0].servers[0].role", "compute"),
        ([*SERVER, "cpu_cores"], 0, "halls[0].racks[0].servers[0].cpu_cores", "positive"),
        ([*SERVER, "memory_gib"], True, "halls[0].racks[0].servers[0].memory_gib", "positive"),
        ([*SERVER, "disk_gib"], _DELETE, "halls[0].racks[0].servers[0].disk_gib", "positive"),
    ],
)
def test_invalid_field_is_named(path: list[Any], value: Any, field: str, hint: str) -> None:
    doc = copy.deepcopy(_doc())
    _set(doc, path, value)
    with pytest.raises(InventoryError) as err:
        parse_site(doc, "sites/x.yaml")
    message = str(err.value)
    assert message.startswith(f"sites/x.yaml: {field}:"), message
    assert hint in message


def test_duplicate_server_names_point_at_first_listing() -> None:
    doc = copy.deepcopy(_doc())
    doc["halls"][1]["racks"][0]["servers"][0]["name"] = "a01-cp1"
    with pytest.raises(InventoryError, match=r"already listed at halls\[0\]\.racks\[0\]"):
        parse_site(doc, "x.yaml")


def test_missing_file_is_one_located_line(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"nope\.yaml: cannot read the file: No such file"):
        load_site(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("content", "located"),
    [
        # A YAML syntax error: the line and column of the problem, not the parser's context dump.
        (b"site:\n  name: [unclosed\nhalls: []\n", r"broken\.yaml:3:6: not valid YAML"),
        (b"site:\n\tcode: x\n", r"broken\.yaml:2:1: not valid YAML: found character '\\t'"),
        # Latin-1 bytes from a spreadsheet export: where they are, and what to do.
        (b"site:\n  name: Pusat Data Bekasi \xe9\n", r"broken\.yaml:2:27: byte 0xe9 is not UTF-8"),
    ],
)
def test_broken_file_is_one_located_line(tmp_path: Path, content: bytes, located: str) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(content)
    with pytest.raises(InventoryError, match=located) as err:
        load_site(broken)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("path", sorted((LOCAL_SITE.parent).glob("*.yaml")), ids=lambda p: p.name)
def test_every_committed_inventory_is_valid(path: Path) -> None:
    site = load_site(path)
    assert site.racks
    assert len({s.name for _, s in site.servers()}) == len(list(site.servers()))


def test_cikarang_phase_one_has_three_zones_and_every_role() -> None:
    site = load_site(LOCAL_SITE.parent / "cikarang.yaml")
    assert site.zones == ("zone-a", "zone-b", "zone-c")
    assert site.tier == "tier-4"
    assert {s.role for _, s in site.servers()} == set(ServerRole)
    assert len(list(site.servers())) == 315
