"""The DC's addresses stay inside 198.18.0.0/15 and clear of this machine's own routes."""

from __future__ import annotations

import ipaddress

import pytest

from pdn.dc import DCError, DCSettings
from pdn.dc.network import Route, check_addresses, routes

MACHINE = [Route(ipaddress.IPv4Network("192.0.2.0/24"), "eth0")]


def test_defaults_are_inside_the_dc_range_and_clear_of_this_machine() -> None:
    check_addresses(DCSettings(site_code="x"), routes())


def test_a_prefix_outside_the_range_is_refused() -> None:
    settings = DCSettings(site_code="x", service_cidr=ipaddress.IPv4Network("10.96.0.0/12"))
    with pytest.raises(DCError, match=r"service CIDR 10\.96\.0\.0/12 is outside 198\.18\.0\.0/15"):
        check_addresses(settings, MACHINE)


def test_the_machines_own_subnet_is_never_used() -> None:
    settings = DCSettings(site_code="x", pod_cidr=ipaddress.IPv4Network("192.0.2.0/25"))
    with pytest.raises(DCError, match="outside"):
        check_addresses(settings, MACHINE)


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
