"""PDN-NET-1's judgement on rulesets the real nft printed, and the ruleset pdn's hosts boot with."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from pdn.compliance import firewall
from pdn.compliance.errors import ComplianceError
from pdn.compliance.verdict import Verdict
from pdn.estate.model import App, Host, Room, ServiceKind
from pdn.estate.services import firewall_ports, firewall_ruleset

RULESETS = Path(__file__).parent / "nft_rulesets"


def _judge(name: str) -> Verdict:
    return firewall.judge((RULESETS / f"{name}.json").read_text())


def test_pdns_ruleset_denies_by_default_and_names_what_it_lets_in() -> None:
    verdict = _judge("pdn-default-deny")
    assert verdict.passes
    assert (
        verdict.evidence == "inet pdn_filter input: policy drop, denies by default, tcp in 22, 3306"
    )


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("flushed", "no input filter chain: everything coming in is accepted"),
        ("debian-default", "inet filter input: policy accept, does not deny by default"),
        # An IPv4 table that rejects the rest leaves IPv6 open.
        ("ipv4-only-reject", "nothing denies by default for ipv6"),
        # A rule that accepts everything is reached before the drop policy.
        ("accept-before-drop", "inet f input: policy drop, does not deny by default"),
    ],
)
def test_a_ruleset_that_lets_everything_in_somewhere_fails(name: str, said: str) -> None:
    verdict = _judge(name)
    assert not verdict.passes
    assert said in verdict.evidence


def test_an_ipv4_table_ending_in_a_reject_denies_ipv4() -> None:
    assert "ip legacy INPUT: policy accept, denies by default, tcp in 22" in (
        _judge("ipv4-only-reject").evidence
    )


def test_output_that_is_not_json_is_an_error() -> None:
    with pytest.raises(ComplianceError, match="did not print JSON"):
        firewall.judge("Error: Could not process rule: Operation not permitted")


def _room() -> Room:
    app = App("simpeg", ServiceKind.MARIADB, "db", "simpeg.example.go.id")
    hosts = (
        Host("web", ipaddress.IPv4Address("198.18.0.10"), (ServiceKind.WEB,), app),
        Host("db", ipaddress.IPv4Address("198.18.0.11"), (ServiceKind.MARIADB,)),
        Host("pg", ipaddress.IPv4Address("198.18.0.12"), (ServiceKind.POSTGRESQL,)),
        Host("pdn", ipaddress.IPv4Address("198.18.0.13"), (), firewall=(443, 80)),
    )
    return Room("room", "agency", ipaddress.IPv4Network("198.18.0.0/24"), hosts)


@pytest.mark.parametrize(
    ("host", "ports"),
    [
        ("web", (22, 80)),
        ("db", (22, 3306)),  # the web host's application uses it
        ("pg", (22,)),  # nobody else uses it: it stays closed
        ("pdn", (22, 80, 443)),  # given by its maker; SSH always
    ],
)
def test_a_host_lets_in_ssh_and_what_it_serves_others(host: str, ports: tuple[int, ...]) -> None:
    room = _room()
    (found,) = [h for h in room.hosts if h.name == host]
    assert firewall_ports(room, found) == ports


def test_the_boot_ruleset_is_the_fix_roles_template() -> None:
    ruleset = firewall_ruleset((22, 3306))
    assert ruleset.startswith("#!/usr/sbin/nft -f\n")
    assert "flush ruleset" in ruleset
    assert "table inet pdn_filter {" in ruleset
    assert "policy drop;" in ruleset
    assert "tcp dport { 22, 3306 } accept" in ruleset
