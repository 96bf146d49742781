"""The control catalog and waivers: the shipped catalog loads; every mistake is one located line
that says what to fix; a clause is cited only with its text; an expired waiver fails and a
waiver never hides what the check found."""

from __future__ import annotations

import ast
import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from pdn.compliance.catalog import (
    Framework,
    load_catalog,
    load_waivers,
    parse_catalog,
    parse_waivers,
)
from pdn.compliance.errors import ComplianceError
from pdn.compliance.outcome import Outcome, judge

TODAY = datetime.date(2026, 12, 6)


def _control(**changes: Any) -> dict[str, Any]:
    control: dict[str, Any] = {
        "id": "PDN-SSH-1",
        "title": "SSH takes keys only",
        "source": {"framework": "pdn-baseline", "related": ["CIS Debian: SSH"]},
        "severity": "high",
        "applies_to": ["pdn-host"],
        "check": "test_ssh_takes_keys_only",
    }
    control.update(changes)
    return control


def _catalog(*controls: dict[str, Any]) -> dict[str, Any]:
    return {"catalog": "pdn-compliance", "version": "2026.12", "controls": list(controls)}


def test_the_shipped_catalog_and_waivers_load() -> None:
    catalog = load_catalog()
    assert len(catalog.controls) >= 15
    assert {c.source.framework for c in catalog.controls} == {Framework.PDN_BASELINE}
    load_waivers(catalog)


@pytest.mark.parametrize(
    ("control", "message"),
    [
        (_control(id="SSH-1"), r"controls\[0\]\.id: 'SSH-1' is not a control id like PDN-SSH-1"),
        (_control(severity="urgent"), r"controls\[0\]\.severity: 'urgent' is not one of: low,"),
        (_control(applies_to=["laptop"]), r"controls\[0\]\.applies_to\[0\]: 'laptop' is not one"),
        (_control(owner="x"), r"controls\[0\]: unknown field\(s\) \['owner'\]"),
        (
            _control(source={"framework": "cis-debian", "clause": "5.2.10"}),
            r"controls\[0\]\.source: a cis-debian control cites its clause and quotes the text",
        ),
        (
            _control(source={"framework": "pdn-baseline", "clause": "4.1"}),
            r"controls\[0\]\.source: the PDN baseline has no clauses",
        ),
    ],
)
def test_every_mistake_is_located(control: dict[str, Any], message: str) -> None:
    with pytest.raises(ComplianceError, match=r"^catalog\.yaml: " + message):
        parse_catalog(_catalog(control), "catalog.yaml")


def test_a_control_listed_twice_is_named() -> None:
    with pytest.raises(ComplianceError, match=r"controls\[1\]\.id: PDN-SSH-1 is listed twice"):
        parse_catalog(_catalog(_control(), _control()), "catalog.yaml")


def test_a_clause_is_cited_with_its_text() -> None:
    source = {"framework": "cis-debian", "clause": "5.2.10", "quote": "Ensure SSH root login..."}
    catalog = parse_catalog(_catalog(_control(source=source)), "catalog.yaml")
    assert catalog.controls[0].source.clause == "5.2.10"


def _waiver(**changes: Any) -> dict[str, Any]:
    waiver: dict[str, Any] = {
        "control": "PDN-SSH-1",
        "target": "estate-host/simpeg-app",
        "reason": "the agency's backup tool logs in with a password until wave 2 moves it",
        "approver": "Kepala Pusat Data Nasional",
        "expires": datetime.date(2026, 12, 31),
    }
    waiver.update(changes)
    return waiver


@pytest.mark.parametrize(
    ("waiver", "message"),
    [
        (_waiver(control="PDN-XX-9"), r"waivers\[0\]\.control: PDN-XX-9 is not a control"),
        (_waiver(target="simpeg-app"), r"waivers\[0\]\.target: 'simpeg-app' is not <kind>/<name>"),
        (_waiver(expires="soon"), r"waivers\[0\]\.expires: 'soon' is not a date"),
        (_waiver(approver=""), r"waivers\[0\]\.approver: expected a non-empty text"),
    ],
)
def test_every_waiver_mistake_is_located(waiver: dict[str, Any], message: str) -> None:
    catalog = parse_catalog(_catalog(_control()), "catalog.yaml")
    with pytest.raises(ComplianceError, match=r"^waivers\.yaml: " + message):
        parse_waivers({"waivers": [waiver]}, "waivers.yaml", catalog)


def test_a_waiver_holds_until_it_expires_and_never_hides_the_result() -> None:
    catalog = parse_catalog(_catalog(_control()), "catalog.yaml")
    waivers = parse_waivers({"waivers": [_waiver()]}, "waivers.yaml", catalog)
    target = "estate-host/simpeg-app"
    failed = judge("PDN-SSH-1", target, False, waivers, TODAY)
    assert (failed.outcome, failed.passed, failed.waiver) == (Outcome.WAIVED, False, waivers[0])
    assert failed.outcome.ok
    assert judge("PDN-SSH-1", "estate-host/portal", False, waivers, TODAY).outcome is Outcome.FAILED
    later = datetime.date(2027, 1, 1)
    expired = judge("PDN-SSH-1", target, False, waivers, later)
    assert expired.outcome is Outcome.WAIVER_EXPIRED
    assert not expired.outcome.ok
    # An expired waiver fails even where the check passes: it must be renewed or removed.
    assert judge("PDN-SSH-1", target, True, waivers, later).outcome is Outcome.WAIVER_EXPIRED
    passed = judge("PDN-SSH-1", target, True, waivers, TODAY)
    assert (passed.outcome, passed.waiver) == (Outcome.PASSED, waivers[0])


def test_every_check_of_the_suite_implements_one_control_of_the_catalog() -> None:
    """A result is named by its control through the test's name (the catalog's `check`), even
    when the test fails before it can say so: each test's marker and name must agree with it."""
    suite = Path(__file__).resolve().parents[1] / "compliance"
    tests: dict[str, str] = {}
    for module in suite.glob("test_*.py"):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                marks = [
                    d.args[0].value
                    for d in node.decorator_list
                    if isinstance(d, ast.Call)
                    and ast.unparse(d.func) == "pytest.mark.control"
                    and isinstance(d.args[0], ast.Constant)
                ]
                assert len(marks) == 1, f"{node.name}: one @pytest.mark.control(ID), not {marks}"
                tests[node.name] = str(marks[0])
    catalog = load_catalog()
    for name, control in tests.items():
        assert catalog.control(control).check == name
    assert tests  # the suite has checks


def test_every_fix_is_a_role_the_fix_playbook_applies() -> None:
    """A control's `fix` names a role of playbooks/roles, which comply_fix.yml includes when
    the host's comply_fixes list names it."""
    playbooks = Path(__file__).resolve().parents[2] / "playbooks"
    plays = yaml.safe_load((playbooks / "comply_fix.yml").read_text())
    included = {
        task["ansible.builtin.include_role"]["name"]: task["when"] for task in plays[0]["tasks"]
    }
    fixes = {c.fix for c in load_catalog().controls if c.fix}
    assert fixes == set(included)
    for role in fixes:
        assert (playbooks / "roles" / role / "tasks" / "main.yml").is_file()
        assert f"'{role}' in comply_fixes[inventory_hostname]" in included[role]
