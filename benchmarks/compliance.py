"""The compliance suite over many hosts, in one run: `pdn comply run` of 50 real hosts against 1
(goal: within 10x), on a scratch estate of its own (10 agency rooms of 5 hosts each, on
198.18.204.0/23), each host a real Debian host with its own sshd in its own namespace.

Each kind runs ROUNDS times, alternating, and the median counts; the hosts are up and their SSH
host keys known before the first round, so the figures are the suite's: one multiplexed SSH
connection per host, every host control's commands on it, the reports (JUnit XML, JSON, HTML;
not the screenshot, a fixed ~2 s that would flatter the ratio).

    python benchmarks/compliance.py [--write-readme]
"""

from __future__ import annotations

import argparse
import ipaddress
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from common import write_readme_section

from pdn.compliance.catalog import load_catalog
from pdn.compliance.run import estate_targets, run
from pdn.estate.hosts import EstateRuntime
from pdn.estate.loader import load_estate

ROUNDS = 3
GOAL = 10.0
ROOMS, PER_ROOM = 10, 5
NETWORK = ipaddress.IPv4Network("198.18.204.0/23")
AGENCIES = ("kab-bekasi", "kab-bekasi-disdukcapil", "prov-jawa-barat", "kemendagri")


def _estate(path: Path) -> Path:
    rooms = []
    for n, subnet in enumerate(list(NETWORK.subnets(new_prefix=27))[:ROOMS]):
        addresses = list(subnet.hosts())[9 : 9 + PER_ROOM]
        rooms.append(
            {
                "name": f"ruang-{n:02d}",
                "agency": AGENCIES[n % len(AGENCIES)],
                "network": str(subnet),
                "hosts": [
                    {"name": f"srv-{n:02d}-{k}", "address": str(a), "services": ["cron"]}
                    for k, a in enumerate(addresses)
                ],
            }
        )
    path.write_text(yaml.safe_dump({"estate": "bench-comply", "rooms": rooms}, sort_keys=False))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    catalog = load_catalog()
    times: dict[int, list[float]] = {1: [], ROOMS * PER_ROOM: []}
    with tempfile.TemporaryDirectory(prefix="pdn-bench-comply-") as work:
        runtime = EstateRuntime(load_estate(_estate(Path(work) / "estate.yaml")))
        try:
            started = time.monotonic()
            runtime.up()
            print(f"{ROOMS * PER_ROOM} hosts up in {time.monotonic() - started:.0f}s")
            targets = estate_targets(runtime)
            warm = run(targets, catalog, (), runs=Path(work) / "runs", screenshot=False)
            per_host = len(warm.results) // len(targets)  # one result per host control
            if not warm.ok or per_host * len(targets) != len(warm.results):
                raise SystemExit(f"the warm-up run is not clean: {len(warm.results)} results")
            for _ in range(ROUNDS):
                for hosts, taken in times.items():
                    started = time.monotonic()
                    report = run(
                        targets[:hosts], catalog, (), runs=Path(work) / "runs", screenshot=False
                    )
                    taken.append(time.monotonic() - started)
                    if not report.ok or len(report.results) != per_host * hosts:
                        raise SystemExit(f"{hosts} hosts: {len(report.results)} results, not ok")
        finally:
            runtime.down()
    one, many = statistics.median(times[1]), statistics.median(times[ROOMS * PER_ROOM])
    ratio = many / one
    table = "\n".join(
        [
            "| `pdn comply run` of the host controls, real hosts over SSH | seconds | ratio |",
            "|---|---:|---:|",
            f"| 1 host (median of {ROUNDS}) | {one:.1f} | 1.00x |",
            f"| {ROOMS * PER_ROOM} hosts of {ROOMS} rooms (median of {ROUNDS}) | {many:.1f} | "
            f"{ratio:.2f}x (goal ≤ {GOAL:.0f}x) |",
        ]
    )
    print(table)
    if args.write_readme:
        write_readme_section("compliance", table)
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
