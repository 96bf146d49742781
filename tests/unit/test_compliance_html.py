"""The HTML report from JSON reports: per agency, per control, every result's evidence escaped,
and the trend against the previous run."""

from __future__ import annotations

from typing import Any

from pdn.compliance.catalog import load_catalog
from pdn.compliance.html import changes, render
from pdn.compliance.outcome import Outcome
from pdn.compliance.run import Result, unchecked


def _result(control: str, target: str, outcome: str, evidence: str = "", agency: str = "") -> Any:
    return {
        "control": control,
        "target": target,
        "severity": "high",
        "title": "t",
        "outcome": outcome,
        "passed": outcome == "passed",
        "evidence": evidence,
        "waiver": None,
        "agency": agency,
    }


PREVIOUS = {
    "catalog": "2026.12",
    "at": "20261205T000000.000000Z",
    "ok": False,
    "results": [
        _result("PDN-SSH-1", "estate-host/simpeg-app", "passed", agency="kab-bekasi"),
        _result("PDN-KEYS-1", "estate-host/portal", "failed", agency="kemendagri"),
    ],
}
CURRENT = {
    "catalog": "2026.12",
    "at": "20261206T000000.000000Z",
    "ok": False,
    "results": [
        _result(
            "PDN-SSH-1",
            "estate-host/simpeg-app",
            "failed",
            "passwordauthentication yes <script>alert(1)</script>",
            agency="kab-bekasi",
        ),
        _result("PDN-KEYS-1", "estate-host/portal", "passed", agency="kemendagri"),
        _result("PDN-API-1", "cluster/pdn-local", "passed", "HTTP 401"),
    ],
}


def test_changes_name_new_failures_and_fixes() -> None:
    assert changes(CURRENT, PREVIOUS) == {
        ("PDN-SSH-1", "estate-host/simpeg-app"): "new failure",
        ("PDN-KEYS-1", "estate-host/portal"): "fixed",
        ("PDN-API-1", "cluster/pdn-local"): "new",
    }
    assert changes(CURRENT, None) == {}


def test_the_page_shows_the_verdict_trend_agencies_and_escaped_evidence() -> None:
    page = render(CURRENT, load_catalog(), PREVIOUS)
    assert '<span id="verdict">NOT COMPLIANT</span>' in page
    assert "1 new failure(s), 1 fixed" in page
    assert '<tr data-agency="kab-bekasi" data-state="failed">' in page
    assert '<tr data-agency="kemendagri" data-state="passed">' in page
    assert '<tr data-agency="PDN platform" data-state="passed">' in page
    assert "<script>" not in page  # what a host said is text, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'data-control="PDN-SSH-1" data-failing="1"' in page
    assert ">0 → 1<" in page  # PDN-SSH-1 failing on no target before, one now


def test_a_clean_first_run_is_compliant() -> None:
    clean = {**CURRENT, "results": [_result("PDN-API-1", "cluster/x", "passed")]}
    page = render(clean, load_catalog())
    assert '<span id="verdict">COMPLIANT</span>' in page
    assert "no previous run to compare with" in page


def test_controls_no_check_implements_for_a_kind_are_named() -> None:
    results = [
        Result("PDN-SSH-1", "estate-host/a", "high", "t", Outcome.PASSED, True, ""),
        Result("PDN-KEYS-1", "estate-host/a", "critical", "t", Outcome.PASSED, True, ""),
        Result("PDN-AUDIT-1", "cluster/x", "high", "t", Outcome.PASSED, True, ""),
    ]
    gaps = {(g["control"], g["kind"]) for g in unchecked(results, load_catalog())}
    # The host baseline without a check yet; PDN-AUDIT-1 is checked on clusters, not hosts.
    assert gaps == {
        ("PDN-PKG-1", "estate-host"),
        ("PDN-NET-1", "estate-host"),
        ("PDN-TIME-1", "estate-host"),
        ("PDN-AUDIT-1", "estate-host"),
        ("PDN-API-1", "cluster"),
        ("PDN-API-2", "cluster"),
    }
    page = render(
        {**CURRENT, "unchecked": [dict(g) for g in unchecked(results, load_catalog())]},
        load_catalog(),
    )
    assert '<tr data-control="PDN-TIME-1" data-kind="estate-host">' in page
    assert "not checked: 6" in page
