"""The DC's addresses stay inside 198.18.0.0/15 and clear of this machine's own routes."""

from __future__ import annotations

import ipaddress
import json

import pytest

from pdn.dc import DCError, DCSettings
from pdn.dc.network import Route, check_addresses, parse_routes

MACHINE = [Route(ipaddress.IPv4Network("192.0.2.0/24"), "eth0")]
# `ip -4 -json route show table all` of a machine like this one (recorded; no `ip` needed).
IP_ROUTES = json.dumps(
    [
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "192.0.2.0/24", "dev": "eth0", "protocol": "kernel", "prefsrc": "192.0.2.10"},
        {"type": "local", "dst": "192.0.2.10", "table": "local", "dev": "eth0"},
        {"type": "broadcast", "dst": "192.0.2.255", "table": "local", "dev": "eth0"},
        {"dst": "198.19.255.1", "dev": "pdn-dc0", "scope": "link"},
    ]
)


def test_routes_are_read_without_default_local_and_broadcast() -> None:
    assert parse_routes(IP_ROUTES) == [
        Route(ipaddress.IPv4Network("192.0.2.0/24"), "eth0"),
        Route(ipaddress.IPv4Network("198.19.255.1/32"), "pdn-dc0"),
    ]


def test_defaults_are_inside_the_dc_range_and_clear_of_this_machine() -> None:
    check_addresses(DCSettings(site_code="x"), parse_routes(IP_ROUTES))


def test_a_prefix_outside_the_range_is_refused() -> None:
    settings = DCSettings(site_code="x", service_cidr=ipaddress.IPv4Network("10.96.0.0/12"))
    with pytest.raises(DCError, match=r"service CIDR 10\.96\.0\.0/12 is outside 198\.18\.0\.0/15"):
        check_addresses(settings, MACHINE)


def test_the_machines_own_subnet_is_never_used() -> None:
    # A machine whose own network lies inside the DC range: the overlap check must catch it
    # (the range check alone would pass it).
    machine = [Route(ipaddress.IPv4Network("198.19.64.0/24"), "eth0")]
    settings = DCSettings(site_code="x")
    assert settings.pod_cidr.subnet_of(ipaddress.IPv4Network("198.18.0.0/15"))
    with pytest.raises(
        DCError,
        match=r"pod CIDR 198\.19\.64\.0/18 overlaps this machine's route 198\.19\.64\.0/24 on eth0",
    ):
        check_addresses(settings, machine)


def test_an_overlapping_route_is_refused_with_where_it_is() -> None:
    taken = [*MACHINE, Route(ipaddress.IPv4Network("198.19.0.0/24"), "br-test")]
    with pytest.raises(DCError, match=r"overlaps this machine's route 198\.19\.0\.0/24 on br-test"):
        check_addresses(DCSettings(site_code="x"), taken)


def test_the_dcs_own_interface_does_not_count_as_a_conflict() -> None:
    settings = DCSettings(site_code="x")
    own = [Route(ipaddress.IPv4Network(f"{settings.advertise_address}/32"), settings.interface)]
    check_addresses(settings, [*MACHINE, *own])


def test_service_and_pod_ranges_must_not_overlap() -> None:
    settings = DCSettings(site_code="x", pod_cidr=ipaddress.IPv4Network("198.19.0.0/18"))
    with pytest.raises(DCError, match="overlaps pod CIDR"):
        check_addresses(settings, MACHINE)
