"""Discovery of an estate, in one run: `pdn migrate discover` of all six hosts against one host
(goal: within 2x), on a scratch estate of its own (the demo's hosts on 198.18.200.0/24).

Each kind runs ROUNDS times, alternating, and the median counts; the estate is up before the
first round (its Debian root cached), so the figures are Ansible's work over SSH: connection,
the discovery module, the databases' catalogs and column profiles.

    python benchmarks/discovery.py [--write-readme]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from common import write_readme_section

from pdn.estate.hosts import EstateRuntime
from pdn.estate.loader import LOCAL_ESTATE, load_estate
from pdn.migrate.discovery import discover

ROUNDS = 3
GOAL = 2.0
ONE_HOST = "simpeg-db"  # a database host: the heaviest kind to discover


def _estate(path: Path) -> Path:
    document = yaml.safe_load(LOCAL_ESTATE.read_text().replace("198.18.192.", "198.18.200."))
    document["estate"] = "bench"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    times: dict[int, list[float]] = {1: [], 6: []}
    with tempfile.TemporaryDirectory(prefix="pdn-bench-discovery-") as work:
        runtime = EstateRuntime(load_estate(_estate(Path(work) / "estate.yaml")))
        try:
            runtime.up()
            discover(runtime)  # warm: SSH host keys accepted, nothing timed
            for _ in range(ROUNDS):
                for hosts, limit in ((1, ONE_HOST), (6, None)):
                    started = time.monotonic()
                    run = discover(runtime, limit=limit)
                    times[hosts].append(time.monotonic() - started)
                    if len(run.hosts) != hosts or any(run.changed.values()):
                        raise SystemExit(f"discovery of {hosts} hosts went wrong: {run}")
        finally:
            runtime.down()
    one, six = statistics.median(times[1]), statistics.median(times[6])
    ratio = six / one
    table = "\n".join(
        [
            "| discovery (`pdn migrate discover`, real hosts over SSH) | seconds | ratio |",
            "|---|---:|---:|",
            f"| 1 host ({ONE_HOST}, median of {ROUNDS}) | {one:.1f} | 1.00x |",
            f"| 6 hosts of 3 agencies (median of {ROUNDS}) | {six:.1f} | "
            f"{ratio:.2f}x (goal ≤ {GOAL:.0f}x) |",
        ]
    )
    print(table)
    if args.write_readme:
        write_readme_section("discovery", table)
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
