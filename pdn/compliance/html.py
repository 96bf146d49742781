"""The report people read: one self-contained HTML page per run (report.html beside the JSON),
per agency and per control, every result with its evidence, and the trend against the previous
run (what failed anew, what was fixed). Built from the JSON report alone, so an old run can be
rendered again; no script, no outside resource (it is opened on air-gapped desks). Everything a
target said is escaped: evidence comes from the hosts being checked."""

from __future__ import annotations

from collections import Counter, defaultdict
from html import escape
from typing import Any

from pdn.compliance.catalog import Catalog

Document = dict[str, Any]  # a report.json
PLATFORM = "PDN platform"  # the group of targets no agency owns (clusters, stores, PDN hosts)
OK = ("passed", "waived")

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1b1f24; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1.5em; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e5e5e5;
  vertical-align: top; }
th { background: #f3f4f6; } td:first-child, td:nth-child(2) { white-space: nowrap; }
.passed { color: #116329; } .failed, .waiver-expired { color: #b42318; font-weight: 600; }
.waived { color: #9a6700; } .new { background: #fde8e8; } .fixed { background: #e6f4ea; }
.summary span { display: inline-block; margin-right: 2em; font-size: 1.2em; }
td.evidence { font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap;
  word-break: break-word; max-width: 60em; }
"""


def _key(result: Document) -> tuple[str, str]:
    return str(result["control"]), str(result["target"])


def changes(current: Document, previous: Document | None) -> dict[tuple[str, str], str]:
    """Per (control, target): "new failure" (failing now, not before), "fixed" (the reverse),
    "new" (not checked before); nothing when unchanged or with no previous run."""
    if previous is None:
        return {}
    before = {_key(r): r["outcome"] in OK for r in previous["results"]}
    found = {}
    for result in current["results"]:
        key, ok = _key(result), result["outcome"] in OK
        if key not in before:
            found[key] = "new" if ok else "new failure"
        elif before[key] and not ok:
            found[key] = "new failure"
        elif not before[key] and ok:
            found[key] = "fixed"
    return found


def render(current: Document, catalog: Catalog, previous: Document | None = None) -> str:
    results = current["results"]
    changed = changes(current, previous)
    counts = Counter(str(r["outcome"]) for r in results)
    failing = sum(n for outcome, n in counts.items() if outcome not in OK)
    verdict = "COMPLIANT" if results and not failing else "NOT COMPLIANT"
    trend = (
        f"against the run of {escape(str(previous['at']))}: "
        f"{sum(1 for c in changed.values() if c == 'new failure')} new failure(s), "
        f"{sum(1 for c in changed.values() if c == 'fixed')} fixed"
        if previous is not None
        else "no previous run to compare with"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>PDN compliance {escape(str(current['at']))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<h1>PDN compliance: <span id="verdict">{verdict}</span></h1>',
        f"<p>Run {escape(str(current['at']))}, catalog {escape(str(current['catalog']))}; "
        f'<span id="trend">{trend}</span>.</p>',
        '<p class="summary">'
        + "".join(
            f'<span id="count-{o}" class="{o}">{o}: {counts.get(o, 0)}</span>'
            for o in ("passed", "failed", "waived", "waiver-expired")
        )
        + f'<span id="count-unchecked">not checked: {len(current.get("unchecked", []))}</span>'
        + "</p>",
        _agencies(results),
        _controls(results, catalog, previous),
        _results(results, changed),
        _unchecked(current.get("unchecked", [])),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _agencies(results: list[Document]) -> str:
    by_agency: dict[str, list[Document]] = defaultdict(list)
    for result in results:
        by_agency[str(result.get("agency") or PLATFORM)].append(result)
    rows = []
    for agency in sorted(by_agency, key=lambda a: (a == PLATFORM, a)):
        mine = by_agency[agency]
        bad = sorted({f"{r['control']} on {r['target']}" for r in mine if r["outcome"] not in OK})
        state = "failed" if bad else "passed"
        rows.append(
            f'<tr data-agency="{escape(agency)}" data-state="{state}">'
            f"<td>{escape(agency)}</td><td>{len(mine)}</td>"
            f'<td class="{state}">{len(bad)}</td><td>{escape(", ".join(bad)) or "-"}</td></tr>'
        )
    return (
        '<h2>Per agency</h2><table id="agencies"><tr><th>agency</th><th>checks</th>'
        "<th>failing</th><th>what fails</th></tr>" + "".join(rows) + "</table>"
    )


def _controls(results: list[Document], catalog: Catalog, previous: Document | None) -> str:
    before = Counter(
        str(r["control"]) for r in (previous or {}).get("results", []) if r["outcome"] not in OK
    )
    rows = []
    for control in catalog.controls:
        mine = [r for r in results if r["control"] == control.id]
        if not mine:
            continue
        bad = [str(r["target"]) for r in mine if r["outcome"] not in OK]
        waived = sum(1 for r in mine if r["outcome"] == "waived")
        was = f"{before[control.id]} → " if previous is not None else ""
        rows.append(
            f'<tr data-control="{escape(control.id)}" data-failing="{len(bad)}">'
            f"<td>{escape(control.id)}</td><td>{escape(control.severity.value)}</td>"
            f"<td>{escape(control.title)}</td><td>{len(mine) - len(bad) - waived}</td>"
            f'<td class="{"failed" if bad else "passed"}">{was}{len(bad)}</td><td>{waived}</td>'
            f"<td>{escape(', '.join(bad)) or '-'}</td></tr>"
        )
    return (
        '<h2>Per control</h2><table id="controls"><tr><th>control</th><th>severity</th>'
        "<th>title</th><th>passed</th><th>failing (previous → now)</th><th>waived</th>"
        "<th>failing targets</th></tr>" + "".join(rows) + "</table>"
    )


def _unchecked(missing: list[Document]) -> str:
    """Controls no check implements yet for a kind of target this run had: a coverage gap,
    shown so that it is never read as compliance."""
    if not missing:
        return (
            '<h2>Not checked</h2><p id="unchecked">Every control applicable here was checked.</p>'
        )
    rows = "".join(
        f'<tr data-control="{escape(str(m["control"]))}" data-kind="{escape(str(m["kind"]))}">'
        f"<td>{escape(str(m['control']))}</td><td>{escape(str(m['kind']))}</td>"
        f"<td>{escape(str(m['title']))}</td></tr>"
        for m in missing
    )
    return (
        "<h2>Not checked: no check implements these yet</h2>"
        '<table id="unchecked"><tr><th>control</th><th>target kind</th><th>title</th></tr>'
        + rows
        + "</table>"
    )


def _results(results: list[Document], changed: dict[tuple[str, str], str]) -> str:
    order = {"failed": 0, "waiver-expired": 0, "waived": 1, "passed": 2}
    rows = []
    for r in sorted(results, key=lambda r: (order.get(str(r["outcome"]), 0), *_key(r))):
        change = changed.get(_key(r), "")
        waiver = r.get("waiver") or {}
        note = (
            f" (waiver of {waiver.get('approver')} until {waiver.get('expires')}: "
            f"{waiver.get('reason')})"
            if waiver
            else ""
        )
        css = {"new failure": "new", "fixed": "fixed"}.get(change, "")
        rows.append(
            f'<tr class="{css}" data-control="{escape(str(r["control"]))}" '
            f'data-target="{escape(str(r["target"]))}" data-outcome="{escape(str(r["outcome"]))}">'
            f"<td>{escape(str(r['control']))}</td><td>{escape(str(r['target']))}</td>"
            f'<td class="{escape(str(r["outcome"]))}">{escape(str(r["outcome"]))}'
            f"{escape(note)}</td><td>{escape(change)}</td>"
            f'<td class="evidence">{escape(str(r["evidence"]))}</td></tr>'
        )
    return (
        '<h2>Every result, with its evidence</h2><table id="results"><tr><th>control</th>'
        "<th>target</th><th>outcome</th><th>since the previous run</th><th>evidence</th></tr>"
        + "".join(rows)
        + "</table>"
    )
