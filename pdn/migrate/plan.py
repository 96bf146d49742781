"""`pdn migrate plan`: the estate's hosts in waves. What must move together (an application and
the database it calls) is one unit and never split; a unit moves in the same wave as what it
depends on or later; units of one agency stay together where they fit; each wave has an order,
a data volume and an estimated duration. Shown as a table and drawn as SVG.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from pdn.migrate.assess import Assessment
from pdn.migrate.errors import MigrateError

# Estimates: the copy rate between an agency room and the national DC, and the fixed work per
# host (deploy, rewrite configuration, smoke test, cut over).
COPY_MBIT_S = 100.0
PER_HOST_MINUTES = 15.0


@dataclass(frozen=True)
class Wave:
    number: int
    hosts: tuple[str, ...]  # in the order they move (what is depended on first)
    agencies: tuple[str, ...]
    data_bytes: int
    minutes: float


@dataclass(frozen=True)
class Plan:
    waves: tuple[Wave, ...]
    dependencies: tuple[tuple[str, str], ...]  # (host, the host it depends on)

    def wave_of(self, host: str) -> int:
        return next(w.number for w in self.waves if host in w.hosts)


def _units(hosts: list[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    """Hosts that must move together: connected by a dependency (an app and its database)."""
    parent = {h: h for h in hosts}

    def root(h: str) -> str:
        while parent[h] != h:
            parent[h] = parent[parent[h]]
            h = parent[h]
        return h

    for a, b in edges:
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for h in hosts:
        groups.setdefault(root(h), []).append(h)
    return list(groups.values())


def _ordered(unit: list[str], edges: set[tuple[str, str]]) -> list[str]:
    """Within a unit, what is depended on first (a database before its application)."""
    done: list[str] = []
    pending = sorted(unit)
    while pending:
        ready = [h for h in pending if all(t in done for s, t in edges if s == h and t in unit)]
        step = ready[0] if ready else pending[0]  # a cycle moves as one, in name order
        done.append(step)
        pending.remove(step)
    return done


def make_plan(assessment: Assessment, agencies: dict[str, str], max_hosts: int = 4) -> Plan:
    """agencies: host -> the tenant it moves to."""
    if max_hosts < 1:
        raise MigrateError("--max-hosts must be at least 1")
    hosts = sorted(agencies)
    edges = {
        (d.source, d.target)
        for d in assessment.dependencies
        if d.source in agencies and d.target in agencies
    }
    units = _units(hosts, edges)
    too_big = [u for u in units if len(u) > max_hosts]
    if too_big:
        raise MigrateError(
            f"{', '.join(sorted(too_big[0]))} must move together ({len(too_big[0])} hosts) and "
            f"a wave holds {max_hosts}: raise --max-hosts"
        )
    unit_of = {h: i for i, unit in enumerate(units) for h in unit}
    needs = {
        i: {unit_of[t] for s, t in edges if unit_of[s] == i and unit_of[t] != i}
        for i in range(len(units))
    }
    # Units in dependency order; among those ready, by agency, then name: an agency's hosts
    # stay together.
    order: list[int] = []
    while len(order) < len(units):
        ready = [i for i in range(len(units)) if i not in order and needs[i] <= set(order)]
        if not ready:
            raise MigrateError("the dependencies between units form a cycle")
        ready.sort(key=lambda i: (min(agencies[h] for h in units[i]), sorted(units[i])))
        order.append(ready[0])
    waves: list[list[str]] = []
    placed: dict[int, int] = {}
    for i in order:
        earliest = max((placed[d] for d in needs[i]), default=0)
        wave = next(
            (w for w in range(earliest, len(waves)) if len(waves[w]) + len(units[i]) <= max_hosts),
            len(waves),
        )
        if wave == len(waves):
            waves.append([])
        waves[wave].extend(_ordered(units[i], edges))
        placed[i] = wave
    return Plan(
        tuple(
            Wave(
                n + 1,
                tuple(members),
                tuple(sorted({agencies[h] for h in members})),
                sum(assessment.data_bytes.get(h, 0) for h in members),
                round(
                    sum(assessment.data_bytes.get(h, 0) for h in members)
                    * 8
                    / (COPY_MBIT_S * 1e6)
                    / 60
                    + PER_HOST_MINUTES * len(members),
                    1,
                ),
            )
            for n, members in enumerate(waves)
        ),
        tuple(sorted(edges)),
    )


def write_plan(plan: Plan, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    as_json = directory / "plan.json"
    as_json.write_text(
        json.dumps(
            {"waves": [asdict(w) for w in plan.waves], "dependencies": plan.dependencies},
            indent=1,
        )
        + "\n"
    )
    picture = directory / "plan.svg"
    picture.write_text(svg(plan))
    return as_json, picture


def svg(plan: Plan) -> str:
    """Waves as columns, hosts as boxes in their order, dependencies as arrows."""
    box_w, box_h, gap_x, gap_y, top = 170, 34, 80, 18, 70
    where: dict[str, tuple[int, int]] = {}
    parts = []
    for column, wave in enumerate(plan.waves):
        x = 20 + column * (box_w + gap_x)
        parts.append(
            f'<text x="{x}" y="30" font-weight="bold">Wave {wave.number}</text>'
            f'<text x="{x}" y="48" font-size="11">{wave.data_bytes / 1e6:.1f} MB, '
            f"~{wave.minutes:.0f} min</text>"
        )
        for row, host in enumerate(wave.hosts):
            y = top + row * (box_h + gap_y)
            where[host] = (x, y)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" '
                f'fill="#e8f0fe" stroke="#1a56db"/><text x="{x + 10}" y="{y + 22}">'
                f"{html.escape(host)}</text>"
            )
    for source, target in plan.dependencies:
        (x1, y1), (x2, y2) = where[source], where[target]
        parts.append(
            f'<line x1="{x1}" y1="{y1 + box_h / 2}" x2="{x2 + box_w}" y2="{y2 + box_h / 2}" '
            'stroke="#c81e1e" stroke-width="1.5" marker-end="url(#arrow)"/>'
            if x1 != x2
            else f'<path d="M{x1} {y1 + box_h / 2} C{x1 - 40} {y1 + box_h / 2} {x2 - 40} '
            f'{y2 + box_h / 2} {x2} {y2 + box_h / 2}" fill="none" stroke="#c81e1e" '
            'stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
    rows = max((len(w.hosts) for w in plan.waves), default=1)
    width = 40 + len(plan.waves) * (box_w + gap_x)
    height = top + rows * (box_h + gap_y) + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="13"><defs><marker id="arrow" viewBox="0 0 10 10" '
        'refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0 0 L10 5 L0 10 z" fill="#c81e1e"/></marker></defs>'
        + "".join(parts)
        + "</svg>\n"
    )
