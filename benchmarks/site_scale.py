"""How the main job scales with the size of a site: the local site (8 servers) as the baseline
and PDN Cikarang's first phase (315 servers), each on its own scratch DC, in the same run.

    .venv/bin/python benchmarks/site_scale.py [--write-readme]

Per site: `pdn dc up` from nothing (PKI, etcd, one Node per server Ready), the first `pulumi up`
of the platform, a no-op `pulumi up`, and `pulumi destroy`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common import REPO, hardware_only, quiet, scratch_dc, scratch_stack, write_readme_section

from pdn.inventory import LOCAL_SITE

CIKARANG = REPO / "infra" / "inventory" / "cikarang.yaml"
PHASES = ("dc up", "first up", "no-op up", "destroy")


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(inventory: Path, slot: int) -> tuple[int, int, dict[str, float]]:
    """(servers, resources, seconds per phase) for one site on its own scratch DC."""
    with scratch_dc(inventory, slot) as (dc, _):
        times = {"dc up": seconds(lambda: dc.up(progress=quiet))}
        stack = scratch_stack(f"scale-{dc.site.code}")
        stack.set_config("pdn:inventory", str(inventory))
        stack.set_config("pdn:kubeconfig", dc.kubeconfig.read_text(), secret=True)
        try:
            times["first up"] = seconds(stack.up)
            times["no-op up"] = seconds(stack.up)
            resources = len(stack.export()["deployment"]["resources"])
            times["destroy"] = seconds(stack.destroy)
        finally:
            stack.remove()
        return len(list(dc.site.servers())), resources, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    base_servers, base_resources, base = measure(hardware_only(LOCAL_SITE), slot=4)
    servers, resources, big = measure(hardware_only(CIKARANG), slot=5)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores; one run per site.",
        "",
        f"| phase | local site: {base_servers} servers, {base_resources} resources "
        f"| PDN Cikarang phase 1: {servers} servers, {resources} resources | ratio |",
        "|---|---|---|---|",
    ]
    for phase in PHASES:
        ratio = big[phase] / base[phase]
        lines.append(f"| {phase} | {base[phase]:.1f} s | {big[phase]:.1f} s | {ratio:.1f}x |")
    table = "\n".join(lines)
    print(table)
    if args.write_readme:
        write_readme_section("scale", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
