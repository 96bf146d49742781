"""Clusters as code on one scratch DC, in one run: how long `pulumi up` takes from a new
inventory cluster to a workload cluster Cluster API reports ready (control plane and two
workers), and a node pool grown from 2 to 20 machines against 2 to 3 (goal: within 3x).

Each resize starts from 2 machines; each kind runs ROUNDS times, alternating, and the
median counts. The machines are CAPD's in-memory ones: the figures are Cluster API's and the
program's own work (reconciles, bootstrap, waits), not a server's boot.

    python benchmarks/clusters.py [--write-readme]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from common import quiet, scratch_dc, scratch_stack, write_readme_section

from pdn.inventory import LOCAL_SITE

ROUNDS = 3
EXTRA_COMPUTE = 24  # servers of a bench rack, so a pool can take 20
GOAL = 3.0


def _inventory(path: Path, workers: int) -> Path:
    site: dict[str, Any] = yaml.safe_load(LOCAL_SITE.read_text())
    site["halls"][1]["racks"].append(
        {
            "name": "b02",
            "power_kw": 30,
            "servers": [
                {
                    "name": f"b02-c{i:02d}",
                    "role": "compute",
                    "cpu_cores": 64,
                    "memory_gib": 512,
                    "disk_gib": 1920,
                }
                for i in range(1, EXTRA_COMPUTE + 1)
            ],
        }
    )
    site["clusters"] = [
        {
            "name": "management",
            "purpose": "management",
            "kubernetes": "v1.34.4",
            "control_plane": {"servers": ["a01-cp1"]},
        },
        {
            "name": "bench",
            "purpose": "workload",
            "classification": "general",
            "kubernetes": "v1.34.4",
            "control_plane": {"servers": ["b01-cp1"]},
            "workers": [{"name": "workers", "role": "compute", "count": workers}],
        },
    ]
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


def _timed_up(stack: Any) -> float:
    started = time.perf_counter()
    changes = stack.up()
    seconds = time.perf_counter() - started
    if "update" not in changes and "create" not in changes:
        raise RuntimeError(f"pulumi up changed nothing ({changes}): the run measured no work")
    return seconds


def _run(inventory: Path, no_tenants: Path) -> tuple[float, dict[int, list[float]]]:
    with scratch_dc(inventory, slot=6) as (dc, _):
        dc.up(progress=quiet)
        stack = scratch_stack("bench-clusters")
        stack.set_config("pdn:kubeconfig", dc.kubeconfig.read_text(), secret=True)
        stack.set_plain_config({"pdn:inventory": str(inventory), "pdn:tenantsDir": str(no_tenants)})
        to_ready = _timed_up(stack)
        print(f"pulumi up to a ready cluster (1 + 2 machines): {to_ready:.1f}s", flush=True)
        times: dict[int, list[float]] = {3: [], 20: []}
        for _ in range(ROUNDS):
            for size in (3, 20):
                _inventory(inventory, workers=size)
                times[size].append(_timed_up(stack))
                print(f"2 -> {size}: {times[size][-1]:.1f}s", flush=True)
                _inventory(inventory, workers=2)
                _timed_up(stack)
        stack.destroy()
        stack.remove(destroy=False)
    return to_ready, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pdn-bench-clusters-") as work:
        inventory = _inventory(Path(work) / "site.yaml", workers=2)
        no_tenants = Path(work) / "no-tenants"  # the clusters alone: no tenant to place
        no_tenants.mkdir()
        to_ready, times = _run(inventory, no_tenants)
    small, large = statistics.median(times[3]), statistics.median(times[20])
    ratio = large / small
    table = "\n".join(
        [
            "| clusters as code (CAPD in-memory machines) | seconds | ratio |",
            "|---|---:|---:|",
            f"| `pulumi up`: new cluster to ready (1 control plane, 2 workers) | {to_ready:.1f} ||",
            f"| grow a pool 2 → 3 machines (median of {ROUNDS}) | {small:.1f} | 1.00x |",
            f"| grow a pool 2 → 20 machines (median of {ROUNDS}) | {large:.1f} | "
            f"{ratio:.2f}x (goal ≤ {GOAL:.0f}x) |",
        ]
    )
    print(table)
    if args.write_readme:
        write_readme_section("clusters", table)
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
