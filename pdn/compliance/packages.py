"""PDN-PKG-1 judged on what the host's apt says after refreshing its index: the sources it reads
(`apt-get indextargets`) are the DC's mirror and no other, and for every installed package
(`apt-cache policy`) the installed version is one the mirror serves and apt's candidate is that
same version (nothing newer waits on the mirror)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pdn.compliance.verdict import Verdict

SOURCES = "== sources"
UPDATE_FAILED = "== update failed"
POLICY = "== policy"
SHOWN = 5  # packages named in the evidence; the rest counted

_VERSION_ROW = re.compile(r"^ (\*\*\*| {3}) (\S+) (-?\d+)$")
_SOURCE_ROW = re.compile(r"^ {8}(-?\d+) (\S+)")


@dataclass
class Package:
    name: str
    installed: str = ""
    candidate: str = ""
    installed_from: list[str] = field(default_factory=list)  # sources of the installed version


def parse_policy(text: str) -> list[Package]:
    """`apt-cache policy PKG…`'s entries (apt's output for people, stable since apt 1.0)."""
    found: list[Package] = []
    current: Package | None = None
    installed_row = False
    for line in text.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            current = Package(line[:-1])
            found.append(current)
            installed_row = False
        elif current is None:
            continue
        elif line.startswith("  Installed: "):
            current.installed = line.split(": ", 1)[1].strip()
        elif line.startswith("  Candidate: "):
            current.candidate = line.split(": ", 1)[1].strip()
        elif row := _VERSION_ROW.match(line):
            installed_row = row.group(1) == "***"
        elif (source := _SOURCE_ROW.match(line)) and installed_row:
            current.installed_from.append(source.group(2).rstrip("/"))
    return found


def _squashed(text: str) -> str:
    return " ".join(text.split())[:300] or "nothing"


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def judge(said: str, mirror: str) -> Verdict:
    """The verdict on the check's output: its sources section, then its policy section."""
    mirror = mirror.rstrip("/")
    if SOURCES not in said:
        return Verdict(False, f"apt did not report its sources: {_squashed(said)}")
    wrong_source = _sources_wrong(said, mirror)
    if wrong_source is not None:
        return Verdict(False, wrong_source)
    if UPDATE_FAILED in said:
        apt_said = said.split(UPDATE_FAILED, 1)[1].splitlines()
        errors = [line for line in apt_said if line.startswith(("E:", "W:"))] or apt_said
        return Verdict(False, f"apt-get update from {mirror} failed: {_squashed(' '.join(errors))}")
    if POLICY not in said:
        return Verdict(False, f"apt did not report its packages: {_squashed(said)}")
    return _installed(parse_policy(said.split(POLICY, 1)[1]), mirror)


def _sources_wrong(said: str, mirror: str) -> str | None:
    """What is wrong with the sources apt reads, if anything: another source, or no mirror."""
    listed = re.split(f"{UPDATE_FAILED}|{POLICY}", said.split(SOURCES, 1)[1])[0]
    sources = sorted({line.strip().rstrip("/") for line in listed.splitlines()} - {""})
    others = [s for s in sources if s != mirror]
    if others:
        return f"apt also reads {_named(others)}, not only the DC's mirror {mirror}"
    if mirror not in sources:
        return f"apt does not read the DC's mirror {mirror}"
    return None


def _installed(packages: list[Package], mirror: str) -> Verdict:
    """Every installed version from the mirror, and none behind it."""
    installed = [p for p in packages if p.installed and p.installed != "(none)"]
    if not installed:
        return Verdict(False, "apt-cache policy reported no installed package")
    foreign = [f"{p.name} {p.installed}" for p in installed if mirror not in p.installed_from]
    behind = [
        f"{p.name} {p.installed} (mirror: {p.candidate})"
        for p in installed
        if p.candidate not in {"", "(none)", p.installed}
    ]
    problems = []
    if foreign:
        problems.append(f"{len(foreign)} not from the mirror: {_named(foreign)}")
    if behind:
        problems.append(f"{len(behind)} behind the mirror: {_named(behind)}")
    if problems:
        return Verdict(False, f"of {len(installed)} packages, " + "; ".join(problems))
    return Verdict(
        True, f"{len(installed)} packages, each from the DC's mirror {mirror}, none behind it"
    )
