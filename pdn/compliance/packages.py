"""PDN-PKG-1: a host's packages come from the DC's mirror and none is behind it.

The host is only read (nothing refreshed or written there): the sources its apt reads
(`apt-get indextargets`) and what dpkg has installed (`dpkg-query`). The mirror's index is read
once per run by pdn itself (its Release, then the Packages file whose SHA-256 the Release gives)
and each host's installed versions are compared with it in Debian's version order: a version the
mirror does not serve was not installed from it; a newer one there is an update not installed.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from pdn.compliance.errors import ComplianceError
from pdn.compliance.verdict import Verdict

SOURCES = "== sources"
INSTALLED = "== installed"
SHOWN = 5  # packages named in the evidence; the rest counted
SUITE = "bookworm"
INDEX = "main/binary-amd64/Packages"
TIMEOUT = 10.0


class MirrorError(ComplianceError):
    """The mirror's index could not be read, or does not match its Release."""


@dataclass(frozen=True)
class MirrorIndex:
    url: str
    versions: dict[tuple[str, str], frozenset[str]]  # (package, architecture) -> versions


def parse_packages(text: str, url: str) -> MirrorIndex:
    """A Packages file's (package, architecture) -> versions."""
    found: dict[tuple[str, str], set[str]] = {}
    for paragraph in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in paragraph.splitlines()
            if ": " in line and line[0] != " "
        )
        if "Package" in fields and "Version" in fields:
            key = (fields["Package"], fields.get("Architecture", ""))
            found.setdefault(key, set()).add(fields["Version"])
    return MirrorIndex(url.rstrip("/"), {k: frozenset(v) for k, v in found.items()})


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:  # noqa: S310 (http: the DC's mirror)
            return bytes(answer.read())
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise MirrorError(f"{url}: {reason}") from err


def read_index(url: str) -> MirrorIndex:
    """The mirror's index as its Release states it (gzip'd Packages, else plain), its digest
    checked."""
    base = f"{url.rstrip('/')}/dists/{SUITE}"
    release = _get(f"{base}/InRelease").decode(errors="replace")
    digests = {}
    in_sha256 = False
    for line in release.splitlines():
        if not line.startswith(" "):
            in_sha256 = line.startswith("SHA256:")
        elif in_sha256 and len(line.split()) == 3:
            digest, size, name = line.split()
            digests[name] = (digest, int(size))
    for name, unpack in ((f"{INDEX}.gz", gzip.decompress), (INDEX, bytes)):
        if name in digests:
            data = _get(f"{base}/{name}")
            if (hashlib.sha256(data).hexdigest(), len(data)) != digests[name]:
                raise MirrorError(f"{base}/{name} does not match the digest its Release gives")
            return parse_packages(unpack(data).decode(errors="replace"), url)
    raise MirrorError(f"{base}/InRelease names no {INDEX}")


# Debian's version order (deb-version(7)), as dpkg --compare-versions.
def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


_TEXT = re.compile(r"\D*")
_DIGITS = re.compile(r"\d*")


def _compare_part(a: str, b: str) -> int:
    """dpkg's comparison of an upstream version or a revision: alternately the leading
    non-digits (letters before others, ~ before everything, even the end) and the leading
    number."""
    while a or b:
        a_text, b_text = _TEXT.match(a).group(), _TEXT.match(b).group()  # type: ignore[union-attr]
        a, b = a[len(a_text) :], b[len(b_text) :]
        for i in range(max(len(a_text), len(b_text))):
            x = _order(a_text[i]) if i < len(a_text) else 0
            y = _order(b_text[i]) if i < len(b_text) else 0
            if x != y:
                return -1 if x < y else 1
        a_number, b_number = _DIGITS.match(a).group(), _DIGITS.match(b).group()  # type: ignore[union-attr]
        a, b = a[len(a_number) :], b[len(b_number) :]
        if int(a_number or "0") != int(b_number or "0"):
            return -1 if int(a_number or "0") < int(b_number or "0") else 1
    return 0


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as Debian orders versions a and b ([epoch:]upstream[-revision])."""
    a_epoch, _, a_rest = a.rpartition(":") if ":" in a else ("0", "", a)
    b_epoch, _, b_rest = b.rpartition(":") if ":" in b else ("0", "", b)
    if int(a_epoch or "0") != int(b_epoch or "0"):
        return -1 if int(a_epoch or "0") < int(b_epoch or "0") else 1
    a_upstream, _, a_revision = a_rest.rpartition("-") if "-" in a_rest else (a_rest, "", "")
    b_upstream, _, b_revision = b_rest.rpartition("-") if "-" in b_rest else (b_rest, "", "")
    return _compare_part(a_upstream, b_upstream) or _compare_part(a_revision, b_revision)


# The verdict.
def _squashed(text: str) -> str:
    return " ".join(text.split())[:300] or "nothing"


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _sources_wrong(listed: str, mirror: str) -> str | None:
    """What is wrong with the sources apt reads, if anything: another source, or no mirror."""
    sources = sorted({line.strip().rstrip("/") for line in listed.splitlines()} - {""})
    others = [s for s in sources if s != mirror]
    if others:
        return f"apt also reads {_named(others)}, not only the DC's mirror {mirror}"
    if mirror not in sources:
        return f"apt does not read the DC's mirror {mirror}"
    return None


def judge(said: str, mirror: str, index: MirrorIndex | MirrorError) -> Verdict:
    """The verdict on the check's output (its sources, then dpkg's installed packages: status,
    name, architecture, version, tab-separated) against the index of mirror (or what kept it
    from being read)."""
    mirror = mirror.rstrip("/")
    if SOURCES not in said or INSTALLED not in said:
        return Verdict(False, f"apt and dpkg did not report: {_squashed(said)}")
    listed, installed_text = said.split(SOURCES, 1)[1].split(INSTALLED, 1)
    wrong_source = _sources_wrong(listed, mirror)
    if wrong_source is not None:
        return Verdict(False, wrong_source)
    if isinstance(index, MirrorError):
        return Verdict(False, f"the DC's mirror could not be read: {index}")
    installed = [
        row.split("\t")[1:]
        for row in installed_text.splitlines()
        if row.count("\t") == 3 and row[1:2] == "i"  # installed (ii), or held installed (hi)
    ]
    if not installed:
        return Verdict(False, "dpkg reported no installed package")
    foreign, behind = [], []
    for name, architecture, version in installed:
        served = index.versions.get((name, architecture), frozenset())
        if version not in served:
            foreign.append(f"{name} {version}")
        latest = max(served, key=functools.cmp_to_key(compare_versions), default=version)
        if compare_versions(latest, version) > 0:
            behind.append(f"{name} {version} (mirror: {latest})")
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
