"""The control catalog (compliance/catalog.yaml): versioned data, every mistake one located line
that says what to fix.

A control names where it comes from. A clause of a regulation or benchmark is cited only with
the text that backs it (`quote`): without that text at hand, a control is the PDN baseline's,
and what it relates to is named in words (`related`), never with a clause number.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdn import paths
from pdn.compliance.errors import ComplianceError
from pdn.documents import read_yaml

COMPLIANCE_DIR = paths.REPO_ROOT / "compliance"
CATALOG = COMPLIANCE_DIR / "catalog.yaml"
WAIVERS = COMPLIANCE_DIR / "waivers.yaml"
_ID = re.compile(r"^PDN-[A-Z][A-Z0-9]*-[0-9]+$")
_CHECK = re.compile(r"^test_[a-z0-9_]+$")
_VERSION = re.compile(r"^[0-9]{4}\.[0-9]{2}(\.[0-9]+)?$")


class Framework(enum.StrEnum):
    BSSN_4_2021 = "bssn-4-2021"  # Peraturan BSSN 4/2021, SPBE security
    CIS_DEBIAN = "cis-debian"
    CIS_KUBERNETES = "cis-kubernetes"
    PDN_BASELINE = "pdn-baseline"  # what the project itself defines


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class TargetKind(enum.StrEnum):
    PDN_HOST = "pdn-host"
    ESTATE_HOST = "estate-host"
    CLUSTER = "cluster"
    TLS_ENDPOINT = "tls-endpoint"
    OBJECT_STORAGE = "object-storage"
    DATABASE = "database"
    TENANT = "tenant"


@dataclass(frozen=True)
class Source:
    framework: Framework
    clause: str | None = None
    quote: str | None = None  # the clause's text, which the citation stands on
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    source: Source
    severity: Severity
    applies_to: tuple[TargetKind, ...]
    check: str  # the test of tests/compliance that implements it
    fix: str | None = None  # the Ansible role that fixes it, where there is one


@dataclass(frozen=True)
class Catalog:
    version: str
    controls: tuple[Control, ...]

    def control(self, control_id: str) -> Control:
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)


@dataclass(frozen=True)
class Waiver:
    control: str
    target: str  # <kind>/<name>, as the report names it
    reason: str
    approver: str
    expires: datetime.date

    def expired(self, today: datetime.date) -> bool:
        return today > self.expires


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> ComplianceError:
        return ComplianceError(f"{self.source}: {where}: {problem}")

    def mapping(
        self, value: object, where: str, required: set[str], optional: Set[str] = frozenset()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        extra = sorted(set(value) - required - optional)
        if extra:
            allowed = sorted(required | optional)
            raise self.fail(where, f"unknown field(s) {extra}; allowed: {allowed}")
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(where, f"missing field(s) {missing}")
        return value

    def text(self, parent: dict[str, Any], key: str, where: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", "expected a non-empty text")
        return value.strip()

    def matching(
        self, parent: dict[str, Any], key: str, where: str, pattern: re.Pattern[str], form: str
    ) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise self.fail(f"{where}.{key}", f"{value!r} is not {form}")
        return value

    def choice(self, value: object, kind: type[enum.StrEnum], where: str) -> Any:
        try:
            return kind(str(value))
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise self.fail(where, f"{value!r} is not one of: {allowed}") from None

    def items(
        self, parent: dict[str, Any], key: str, where: str, *, empty: bool = False
    ) -> list[Any]:
        value = parent.get(key, [] if empty else None)
        if not isinstance(value, list) or (not value and not empty):
            raise self.fail(f"{where}.{key}", "expected a non-empty list")
        return value


def load_catalog(path: Path = CATALOG) -> Catalog:
    return parse_catalog(read_yaml(path, ComplianceError), str(path))


def parse_catalog(document: object, source: str) -> Catalog:
    r = _Reader(source)
    root = r.mapping(document, "(top level)", {"catalog", "version", "controls"})
    if root["catalog"] != "pdn-compliance":
        raise r.fail("catalog", f"{root['catalog']!r}: this file is not the pdn-compliance catalog")
    version = r.matching(root, "version", "(top level)", _VERSION, "a version YYYY.MM[.N]")
    controls: list[Control] = []
    for i, doc in enumerate(r.items(root, "controls", "(top level)")):
        control = _control(r, doc, f"controls[{i}]")
        if any(c.id == control.id for c in controls):
            raise r.fail(f"controls[{i}].id", f"{control.id} is listed twice")
        controls.append(control)
    return Catalog(version, tuple(controls))


def _control(r: _Reader, doc: object, where: str) -> Control:
    fields = {"id", "title", "source", "severity", "applies_to", "check"}
    control = r.mapping(doc, where, fields, {"fix"})
    kinds = tuple(
        r.choice(kind, TargetKind, f"{where}.applies_to[{j}]")
        for j, kind in enumerate(r.items(control, "applies_to", where))
    )
    fix = control.get("fix")
    if fix is not None and not (isinstance(fix, str) and re.match(r"^[a-z][a-z0-9_]*$", fix)):
        raise r.fail(f"{where}.fix", f"{fix!r} is not an Ansible role name")
    return Control(
        id=r.matching(control, "id", where, _ID, "a control id like PDN-SSH-1"),
        title=r.text(control, "title", where),
        source=_source(r, control.get("source"), f"{where}.source"),
        severity=r.choice(control.get("severity"), Severity, f"{where}.severity"),
        applies_to=kinds,
        check=r.matching(control, "check", where, _CHECK, "a test name like test_ssh_hardening"),
        fix=fix,
    )


def _source(r: _Reader, doc: object, where: str) -> Source:
    source = r.mapping(doc, where, {"framework"}, {"clause", "quote", "related"})
    framework = r.choice(source.get("framework"), Framework, f"{where}.framework")
    related = tuple(str(x) for x in r.items(source, "related", where, empty=True))
    if framework is Framework.PDN_BASELINE:
        if "clause" in source or "quote" in source:
            raise r.fail(
                where,
                "the PDN baseline has no clauses: name what the control relates to in `related`",
            )
        return Source(framework, related=related)
    clause, quote = source.get("clause"), source.get("quote")
    if not clause or not quote:
        raise r.fail(
            where,
            f"a {framework.value} control cites its clause and quotes the text that backs it "
            "(clause and quote); without the text, make it pdn-baseline and say what it relates "
            "to in `related`",
        )
    return Source(framework, str(clause), str(quote), related)


def load_waivers(catalog: Catalog, path: Path = WAIVERS) -> tuple[Waiver, ...]:
    return parse_waivers(read_yaml(path, ComplianceError), str(path), catalog)


def parse_waivers(document: object, source: str, catalog: Catalog) -> tuple[Waiver, ...]:
    r = _Reader(source)
    root = r.mapping(document, "(top level)", {"waivers"})
    waivers: list[Waiver] = []
    for i, doc in enumerate(r.items(root, "waivers", "(top level)", empty=True)):
        where = f"waivers[{i}]"
        waiver = r.mapping(doc, where, {"control", "target", "reason", "approver", "expires"})
        control = r.text(waiver, "control", where)
        try:
            catalog.control(control)
        except KeyError:
            raise r.fail(f"{where}.control", f"{control} is not a control of the catalog") from None
        target = r.text(waiver, "target", where)
        kind = target.split("/", 1)[0]
        if "/" not in target or kind not in {k.value for k in TargetKind}:
            raise r.fail(
                f"{where}.target",
                f"{target!r} is not <kind>/<name> with a kind of: "
                + ", ".join(k.value for k in TargetKind),
            )
        expires = waiver.get("expires")
        if not isinstance(expires, datetime.date):
            raise r.fail(f"{where}.expires", f"{expires!r} is not a date (YYYY-MM-DD)")
        waivers.append(
            Waiver(
                control,
                target,
                r.text(waiver, "reason", where),
                r.text(waiver, "approver", where),
                expires,
            )
        )
    return tuple(waivers)
