"""PDN-TIME-1's judgement on what chronyc 4.3 (Debian bookworm) printed on the local DC's hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdn.compliance import timekeeping
from pdn.estate.loader import LOCAL_ESTATE, load_estate
from pdn.estate.services import TIME_SERVER_CONFIG, chrony_config, prepare_time_server

# `chronyc -n -c tracking` on an estate host, synchronised to its estate's time server.
SYNCED = (
    "C612C001,198.18.192.1,9,1796568861.163938587,-0.000003760,0.000003760,0.000003760,"
    "0.000,-12.896,1000000.000,0.000009176,0.980885804,0.0,Normal\n"
)
# The same host a moment after chronyd started, before its first answer.
UNSYNCED = (
    "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,"
    "1.000000000,1.000000000,0.0,Not synchronised\n"
)


def _with(line: str, **fields: str) -> str:
    row = line.strip().split(",")
    for index, value in fields.items():
        row[int(index.lstrip("f"))] = value
    return ",".join(row) + "\n"


def test_a_host_synchronised_to_a_server_passes_with_its_reference() -> None:
    verdict = timekeeping.judge(SYNCED)
    assert verdict.passes
    assert verdict.evidence == (
        "synchronised: reference 198.18.192.1 (stratum 9), offset -0.000004 s, leap Normal"
    )


@pytest.mark.parametrize(
    ("tracking", "said"),
    [
        (UNSYNCED, "not synchronised: reference - (stratum 0)"),
        # chronyd serving its own clock (`local`) is not keeping time with anyone.
        (_with(SYNCED, f0="7F7F0101", f1="", f2="8"), "keeps time with its own clock"),
        (_with(SYNCED, f4="-2.500000000"), "more than 1 s off: reference 198.18.192.1"),
        ("", "chronyc tracking did not report: nothing"),
        ("506 Cannot talk to daemon\n", "did not report: 506 Cannot talk to daemon"),
    ],
)
def test_a_host_not_kept_in_time_fails_saying_why(tracking: str, said: str) -> None:
    verdict = timekeeping.judge(tracking)
    assert not verdict.passes
    assert said in verdict.evidence


def test_hosts_keep_time_with_their_estates_server_only(tmp_path: Path) -> None:
    estate = load_estate(LOCAL_ESTATE)
    gateway = estate.rooms[0].gateway
    config = chrony_config(estate)
    assert [line for line in config.splitlines() if line.startswith(("server", "pool"))] == [
        f"server {gateway} iburst"
    ]
    prepare_time_server(estate, tmp_path)
    served = (tmp_path / TIME_SERVER_CONFIG.lstrip("/")).read_text().splitlines()
    assert f"bindaddress {gateway}" in served
    assert sorted(line for line in served if line.startswith("allow")) == sorted(
        f"allow {room.network}" for room in estate.rooms
    )
    assert "cmdport 0" in served  # nobody commands it over the network
