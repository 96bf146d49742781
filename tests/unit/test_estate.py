"""The estate file (one located error per mistake) and the data its hosts are seeded with."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
import yaml

from pdn import regions
from pdn.estate.errors import EstateError
from pdn.estate.loader import LOCAL_ESTATE, load_estate, parse_estate
from pdn.estate.model import ServiceKind
from pdn.estate.network import bridge_name, veth_name
from pdn.estate.seed import DATABASES, nik, schema_sql


def _demo() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(LOCAL_ESTATE.read_text())
    return loaded


def test_the_demo_estate_has_six_hosts_of_three_agencies() -> None:
    estate = load_estate(LOCAL_ESTATE)
    hosts = list(estate.hosts())
    assert len(hosts) == 6
    assert {room.agency for room in estate.rooms} == {
        "kab-bekasi",
        "kab-bekasi-disdukcapil",
        "prov-jawa-barat",
    }
    _room, app = estate.host("simpeg-app")
    assert app.app is not None
    assert app.app.database_host == "simpeg-db"  # one host calls another's database
    kinds = {kind for _r, h in hosts for kind in h.services}
    assert kinds == set(ServiceKind)
    for room, host in hosts:
        assert len(bridge_name(estate, room)) <= 15
        assert len(veth_name(estate, host)) <= 15


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        (
            lambda d: d["rooms"][0].update(network="192.0.2.0/26"),
            "rooms[0].network",
            "192.0.2.0/26 is outside 198.18.0.0/15",
        ),
        (
            lambda d: d["rooms"][1].update(network="198.18.192.0/25"),
            "rooms[1].network",
            "overlaps room bkpsdm-bekasi's 198.18.192.0/26",
        ),
        (
            lambda d: d["rooms"][0]["hosts"][1].update(address="198.18.192.10"),
            "rooms[0].hosts[1].address",
            "198.18.192.10 is already simpeg-app's",
        ),
        (
            lambda d: d["rooms"][0]["hosts"][0].update(address="198.18.192.1"),
            "rooms[0].hosts[0].address",
            "is its gateway",
        ),
        (
            lambda d: d["rooms"][0]["hosts"][0].update(address="198.18.192.70"),
            "rooms[0].hosts[0].address",
            "not a host address of the room's network",
        ),
        (
            lambda d: d["rooms"][0]["hosts"][1].update(services=["oracle"]),
            "rooms[0].hosts[1].services[0]",
            "'oracle' is not one of",
        ),
        (
            lambda d: d["rooms"][0]["hosts"][0]["app"].update(database_host="portal"),
            "rooms[0].hosts[0].app.database_host",
            "no host 'portal' in room bkpsdm-bekasi",
        ),
        (
            lambda d: d["rooms"][0]["hosts"][1].update(databases=["layanan"]),
            "rooms[0].hosts[1].databases[0]",
            "layanan is a postgresql database and simpeg-db runs no postgresql",
        ),
        (
            lambda d: d["rooms"][2]["hosts"][1].update(name="portal"),
            "rooms[2].hosts[1].name",
            "host 'portal' is already listed at rooms[2].hosts[0]",
        ),
        (
            lambda d: d["rooms"][0]["hosts"][0]["app"].update(service="simpeg bekasi"),
            "rooms[0].hosts[0].app.service",
            "'simpeg bekasi' is not a domain name",
        ),
        (
            lambda d: d["rooms"][0]["hosts"][0].update(cpu=4),
            "rooms[0].hosts[0]",
            "unknown field(s) ['cpu']",
        ),
    ],
)
def test_each_mistake_is_one_located_error(edit: Any, where: str, says: str) -> None:
    document = _demo()
    edit(document)
    with pytest.raises(EstateError) as raised:
        parse_estate(document, "estate/local.yaml")
    said = str(raised.value)
    assert said.startswith(f"estate/local.yaml: {where}: "), said
    assert says in said


def test_a_broken_file_names_its_line(tmp_path: Any) -> None:
    broken = tmp_path / "estate.yaml"
    broken.write_text("estate: demo\nrooms:\n  - name: [unclosed\n")
    with pytest.raises(EstateError) as raised:
        load_estate(broken)
    assert re.match(rf"{re.escape(str(broken))}:\d+:\d+: ", str(raised.value))


def test_a_nik_is_a_real_district_a_birth_date_and_a_serial() -> None:
    assert nik("32.16.01", datetime.date(1985, 3, 7), female=True, serial=12) == "3216014703850012"
    for database in ("simpeg", "layanan"):
        found = set(re.findall(r"'(\d{16})'", schema_sql(database)))
        assert len(found) >= DATABASES[database].rows * 0.95
        for number in found:
            district = f"{number[:2]}.{number[2:4]}.{number[4:6]}"
            assert regions.lookup(district) is not None, number
            day = int(number[6:8])
            day -= 40 if day > 40 else 0
            datetime.date(1900 + int(number[10:12]), int(number[8:10]), day)  # a real date


def test_region_codes_are_written_both_ways_agencies_write_them() -> None:
    codes = re.findall(r"^\('([\d.]+)'", schema_sql("satudata"), re.MULTILINE)
    kemendagri = [c for c in codes if "." in c]
    bps_style = [c for c in codes if "." not in c]
    assert kemendagri
    assert bps_style
    assert all(regions.lookup(c) is not None for c in kemendagri)
    assert "'3216'" in schema_sql("simpeg")  # BPS's code of Kab. Bekasi, not 32.16
