"""PDN-PKG-1's judgement on what apt 2.6 and dpkg 1.21 (Debian bookworm) printed on a local DC
estate host (tests/unit/host_packages/*.txt, the check's own command), against the estate
mirror's index (its Packages file, cut to the fields the check reads); and Debian's version
order."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdn.compliance import packages
from pdn.compliance.packages import MirrorError, MirrorIndex, compare_versions
from pdn.estate.loader import LOCAL_ESTATE, load_estate
from pdn.estate.services import apt_sources, mirror_url

SAID = Path(__file__).parent / "host_packages"
MIRROR = "http://198.18.192.1/debian"
INDEX = packages.parse_packages((SAID / "mirror-Packages").read_text(), MIRROR)


def _said(name: str) -> str:
    return (SAID / f"{name}.txt").read_text()


def _with(index: MirrorIndex, package: str, architecture: str, version: str) -> MirrorIndex:
    versions = dict(index.versions)
    versions[package, architecture] = versions.get((package, architecture), frozenset()) | {version}
    return MirrorIndex(index.url, versions)


def test_the_mirror_index_holds_every_package_of_the_hosts_root() -> None:
    assert len(INDEX.versions) == 216
    assert INDEX.versions["sensible-utils", "all"] == {"0.0.17+nmu1"}


def test_a_host_whose_packages_all_come_from_the_mirror_passes() -> None:
    verdict = packages.judge(_said("clean"), MIRROR, INDEX)
    assert verdict.passes
    assert verdict.evidence == f"216 packages, each from the DC's mirror {MIRROR}, none behind it"


def test_a_mirror_url_with_a_trailing_slash_is_the_same_mirror() -> None:
    assert packages.judge(_said("clean"), MIRROR + "/", INDEX).passes


def test_a_package_installed_by_hand_is_not_from_the_mirror() -> None:
    verdict = packages.judge(_said("foreign"), MIRROR, INDEX)
    assert (verdict.passes, verdict.evidence) == (
        False,
        "of 217 packages, 1 not from the mirror: agency-tool 1.0",
    )


def test_an_update_on_the_mirror_not_installed_is_behind_it() -> None:
    published = _with(INDEX, "sensible-utils", "all", "0.0.17+nmu1+pdn1")
    published = _with(published, "agency-tool", "all", "1.1")
    verdict = packages.judge(_said("foreign"), MIRROR, published)
    assert (verdict.passes, verdict.evidence) == (
        False,
        "of 217 packages, 1 not from the mirror: agency-tool 1.0; 2 behind the mirror: "
        "agency-tool 1.0 (mirror: 1.1), sensible-utils 0.0.17+nmu1 (mirror: 0.0.17+nmu1+pdn1)",
    )


def test_an_older_version_on_the_mirror_is_not_an_update() -> None:
    older = _with(INDEX, "sensible-utils", "all", "0.0.17")
    assert packages.judge(_said("clean"), MIRROR, older).passes


def test_the_same_package_for_another_architecture_is_not_this_one() -> None:
    versions = dict(INDEX.versions)
    versions["apt", "arm64"] = versions.pop(("apt", "amd64"))
    verdict = packages.judge(_said("clean"), MIRROR, MirrorIndex(MIRROR, versions))
    assert verdict.evidence == "of 216 packages, 1 not from the mirror: apt 2.6.1"


def test_a_host_reading_a_second_source_fails_naming_it() -> None:
    verdict = packages.judge(_said("other_source"), MIRROR, INDEX)
    assert (verdict.passes, verdict.evidence) == (
        False,
        f"apt also reads http://repo.agency.example/debian, not only the DC's mirror {MIRROR}",
    )


def test_a_host_reading_another_mirror_only_fails() -> None:
    verdict = packages.judge(_said("clean"), "http://198.18.200.1/debian", INDEX)
    assert not verdict.passes
    assert verdict.evidence.startswith("apt also reads http://198.18.192.1/debian")


def test_a_host_with_no_sources_at_all_fails() -> None:
    said = "== sources\n== installed\n" + _said("clean").split("== installed\n", 1)[1]
    verdict = packages.judge(said, MIRROR, INDEX)
    assert verdict.evidence == f"apt does not read the DC's mirror {MIRROR}"


def test_a_mirror_that_cannot_be_read_fails_every_host_with_why() -> None:
    down = MirrorError(f"{MIRROR}/dists/bookworm/InRelease: [Errno 111] Connection refused")
    verdict = packages.judge(_said("clean"), MIRROR, down)
    assert (verdict.passes, verdict.evidence) == (
        False,
        f"the DC's mirror could not be read: {MIRROR}/dists/bookworm/InRelease: "
        "[Errno 111] Connection refused",
    )


@pytest.mark.parametrize(
    "said",
    ["", "sh: 1: apt-get: not found\n", f"== sources\n{MIRROR}\n"],
)
def test_output_that_is_not_apt_and_dpkg_s_report_fails(said: str) -> None:
    verdict = packages.judge(said, MIRROR, INDEX)
    assert not verdict.passes
    assert verdict.evidence.startswith("apt and dpkg did not report")


def test_packages_removed_but_not_purged_are_not_installed() -> None:
    said = f"== sources\n{MIRROR}\n== installed\nrc \tagency-tool\tall\t1.0\n"
    verdict = packages.judge(said, MIRROR, INDEX)
    assert verdict.evidence == "dpkg reported no installed package"


def test_many_problems_are_counted_and_the_first_named() -> None:
    rows = "".join(f"ii \tpkg{n}\tall\t1.0\n" for n in range(8))
    verdict = packages.judge(f"== sources\n{MIRROR}\n== installed\n{rows}", MIRROR, INDEX)
    assert verdict.evidence == (
        "of 8 packages, 8 not from the mirror: pkg0 1.0, pkg1 1.0, pkg2 1.0, pkg3 1.0, "
        "pkg4 1.0 and 3 more"
    )


# What `dpkg --compare-versions` says of each pair (bookworm's dpkg 1.21).
@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0", "1.1"),
        ("1.0~rc1", "1.0"),  # a tilde sorts before everything, even the end
        ("1.0", "1.0+deb12u1"),
        ("1.0-1", "1.0-1+deb12u1"),
        ("0.0.17+nmu1", "0.0.17+nmu1+pdn1"),
        ("2.0", "1:0.1"),  # the epoch first
        ("1.9", "1.10"),  # numbers as numbers
        ("1.0a", "1.0b"),
        ("1.0a", "1.0+"),  # letters before other characters
        ("8.2.28-1~deb12u1", "8.2.32-1~deb12u1"),
        ("1:10.11.11-0+deb12u1", "1:10.11.18-0+deb12u1"),
        ("1.0-1", "1.0-1.1"),
    ],
)
def test_debian_version_order(lower: str, higher: str) -> None:
    assert compare_versions(lower, higher) == -1
    assert compare_versions(higher, lower) == 1
    assert compare_versions(lower, lower) == 0


def test_no_revision_is_revision_zero() -> None:
    assert compare_versions("1.2.3", "1.2.3-0") == 0
    assert compare_versions("0:1.2.3", "1.2.3") == 0


def test_a_host_boots_reading_its_estate_s_mirror_by_its_key_only() -> None:
    estate = load_estate(LOCAL_ESTATE)
    sources = apt_sources(estate)
    assert f"URIs: {mirror_url(estate)}\n" in sources
    assert mirror_url(estate) == f"http://{estate.rooms[0].gateway}/debian"
    assert "Signed-By: /etc/apt/keyrings/pdn-mirror.gpg\n" in sources
