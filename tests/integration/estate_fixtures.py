"""An agency estate for integration tests: the demo estate's rooms and hosts under another name
and on networks of their own (198.18.196.0/24), so an estate an operator runs is left alone.
Removed at the end of the session, even on failure."""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pdn.estate.hosts import EstateRuntime
from pdn.estate.loader import LOCAL_ESTATE, load_estate

DEMO_BLOCK = ipaddress.IPv4Network("198.18.192.0/24")
TEST_BLOCK = ipaddress.IPv4Network("198.18.196.0/24")


def _moved(text: str) -> str:
    return text.replace("198.18.192.", "198.18.196.")


def write_test_estate(path: Path, name: str = "it") -> Path:
    document = yaml.safe_load(_moved(LOCAL_ESTATE.read_text()))
    document["estate"] = name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def estate_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_estate(tmp_path_factory.mktemp("estate") / "estate.yaml")


@pytest.fixture(scope="session")
def agency_estate(estate_file: Path) -> Iterator[EstateRuntime]:
    """The estate's six hosts, up (about 5 s; the Debian root is built once, ~80 s)."""
    runtime = EstateRuntime(load_estate(estate_file))
    try:
        runtime.down()  # what a killed earlier session left (hosts' data, the mirror's debs)
        runtime.up()
        yield runtime
    finally:
        runtime.down()


def run_on(runtime: EstateRuntime, host: str, command: str, user: str = "root") -> str:
    """A command on an estate host over SSH, as an operator runs it; its output."""
    _room, found = runtime.estate.host(host)
    done = subprocess.run(
        [*runtime.ssh_argv(found, user), command],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout.strip()


def _dpkg_deb(*argv: str) -> None:
    subprocess.run(
        ["dpkg-deb", *argv], capture_output=True, check=True, timeout=60, stdin=subprocess.DEVNULL
    )


def build_deb(directory: Path, name: str, version: str) -> Path:
    """A package as an agency or the DC builds one: one file, no scripts."""
    tree = directory / f"{name}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: Diskominfo <it@example.go.id>\nDescription: an agency's reporting tool\n"
    )
    (tree / f"usr/share/{name}").mkdir(parents=True)
    (tree / f"usr/share/{name}/VERSION").write_text(version + "\n")
    deb = directory / f"{name}_{version}_all.deb"
    _dpkg_deb("--root-owner-group", "--build", str(tree), str(deb))
    return deb


def rebuilt(deb: Path, directory: Path, suffix: str) -> Path:
    """deb again with its version raised by suffix (a security update the DC publishes)."""
    tree = directory / f"{deb.stem}{suffix}"
    _dpkg_deb("--raw-extract", str(deb), str(tree))
    control = tree / "DEBIAN/control"
    lines = control.read_text().splitlines()
    version = next(line.split(": ", 1)[1] for line in lines if line.startswith("Version: "))
    control.write_text(
        "\n".join(
            f"Version: {version}{suffix}" if line.startswith("Version: ") else line
            for line in lines
        )
        + "\n"
    )
    out = directory / f"{deb.name.split('_', 1)[0]}_{version}{suffix}_all.deb"
    _dpkg_deb("--build", str(tree), str(out))
    return out
