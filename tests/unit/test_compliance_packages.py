"""PDN-PKG-1's judgement on what apt 2.6 (Debian bookworm) printed on a local DC estate host
(tests/unit/apt_policy/*.txt: the check's own command, its package list cut to a few)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdn.compliance import packages
from pdn.estate.loader import LOCAL_ESTATE, load_estate
from pdn.estate.services import apt_sources, mirror_url

SAID = Path(__file__).parent / "apt_policy"
MIRROR = "http://198.18.192.1/debian"


def _said(name: str) -> str:
    return (SAID / f"{name}.txt").read_text()


def test_a_host_whose_packages_all_come_from_the_mirror_passes() -> None:
    verdict = packages.judge(_said("clean"), MIRROR)
    assert verdict.passes
    assert verdict.evidence == (f"3 packages, each from the DC's mirror {MIRROR}, none behind it")


def test_a_mirror_url_with_a_trailing_slash_is_the_same_mirror() -> None:
    assert packages.judge(_said("clean"), MIRROR + "/").passes


@pytest.mark.parametrize(
    ("said", "evidence"),
    [
        # An agency's own package, installed by hand (dpkg -i): no source has its version.
        ("foreign", "of 4 packages, 1 not from the mirror: agency-tool 1.0"),
        # The DC published 1.1 of it; the host still runs its own 1.0.
        (
            "behind",
            "of 3 packages, 1 not from the mirror: agency-tool 1.0; "
            "1 behind the mirror: agency-tool 1.0 (mirror: 1.1)",
        ),
        # A second source in sources.list, which apt cannot even reach (it fails the update).
        (
            "other_source",
            f"apt also reads http://repo.agency.example/debian, not only the DC's mirror {MIRROR}",
        ),
        # The mirror's server stopped: apt's own words, not a stale index read as current.
        (
            "mirror_down",
            f"apt-get update from {MIRROR} failed: E: Failed to fetch "
            f"{MIRROR}/dists/bookworm/InRelease Could not connect to 198.18.192.1:80",
        ),
    ],
)
def test_what_apt_says_is_wrong_fails_naming_it(said: str, evidence: str) -> None:
    verdict = packages.judge(_said(said), MIRROR)
    assert not verdict.passes
    assert verdict.evidence.startswith(evidence), verdict.evidence


def test_a_host_reading_another_mirror_only_fails() -> None:
    verdict = packages.judge(_said("clean"), "http://198.18.200.1/debian")
    assert not verdict.passes
    assert verdict.evidence.startswith("apt also reads http://198.18.192.1/debian")


def test_a_host_with_no_sources_at_all_fails() -> None:
    said = "== sources\n== policy\n" + _said("clean").split("== policy\n", 1)[1]
    verdict = packages.judge(said, MIRROR)
    assert (verdict.passes, verdict.evidence) == (
        False,
        f"apt does not read the DC's mirror {MIRROR}",
    )


@pytest.mark.parametrize(
    "said",
    ["", "sh: 1: apt-get: not found\n", "== sources\nhttp://198.18.192.1/debian\n"],
)
def test_output_that_is_not_apt_s_report_fails(said: str) -> None:
    verdict = packages.judge(said, MIRROR)
    assert not verdict.passes
    assert verdict.evidence.startswith("apt did not report")


def test_no_installed_package_is_not_a_pass() -> None:
    verdict = packages.judge(f"== sources\n{MIRROR}\n== policy\n", MIRROR)
    assert (verdict.passes, verdict.evidence) == (
        False,
        "apt-cache policy reported no installed package",
    )


def test_many_problems_are_counted_and_the_first_named() -> None:
    entry = (
        "pkg{n}:\n  Installed: 1.0\n  Candidate: 1.0\n  Version table:\n"
        " *** 1.0 100\n        100 /var/lib/dpkg/status\n"
    )
    policy = "".join(entry.format(n=n) for n in range(8))
    verdict = packages.judge(f"== sources\n{MIRROR}\n== policy\n{policy}", MIRROR)
    assert verdict.evidence == (
        "of 8 packages, 8 not from the mirror: pkg0 1.0, pkg1 1.0, pkg2 1.0, pkg3 1.0, "
        "pkg4 1.0 and 3 more"
    )


def test_a_host_boots_reading_its_estate_s_mirror_by_its_key_only() -> None:
    estate = load_estate(LOCAL_ESTATE)
    sources = apt_sources(estate)
    assert f"URIs: {mirror_url(estate)}\n" in sources
    assert mirror_url(estate) == f"http://{estate.rooms[0].gateway}/debian"
    assert "Signed-By: /etc/apt/keyrings/pdn-mirror.gpg\n" in sources
