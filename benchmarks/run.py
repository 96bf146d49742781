"""Warm-path benchmarks of the main job, each against a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py [--repeat N] [--write-readme]

Everything runs in a scratch state dir with its own DC (own interface, address and ports), so an
operator's DC and stacks are left alone. Figures are medians of N runs; ratios divide by the
baseline measured alongside, which is what stays comparable across noisy machines.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common import REPO, hardware_only, quiet, scratch_dc, scratch_stack, write_readme_section

from pdn.dc.lifecycle import LocalDC
from pdn.inventory import LOCAL_SITE

# The baseline on the site's one cluster (the clusters have benchmarks/clusters.py).
INVENTORY = hardware_only(LOCAL_SITE)


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> None:
    subprocess.run(
        cmd,
        env=env,
        cwd=cwd,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


Row = tuple[str, float, str, float]


def bench_toolchain(repeat: int) -> Row:
    """The no-op build (all cached) against the CLI's own start-up."""
    pdn = str(Path(sys.executable).parent / "pdn")
    env = dict(os.environ)
    noop = median_seconds(lambda: run([pdn, "toolchain", "build"], env, REPO), repeat)
    start = median_seconds(lambda: run([pdn, "--help"], env, REPO), repeat)
    return ("`pdn toolchain build`, all cached", noop, "`pdn --help`", start)


def bench_help(repeat: int) -> Row:
    """The CLI's start-up against the interpreter's own (what no import can go below)."""
    pdn = str(Path(sys.executable).parent / "pdn")
    env = dict(os.environ)
    start = median_seconds(lambda: run([pdn, "--help"], env, REPO), repeat)
    bare = median_seconds(lambda: run([sys.executable, "-c", "pass"], env, REPO), repeat)
    return ("`pdn --help`", start, "`python -c pass`", bare)


def bench_heal(dc: LocalDC, repeat: int) -> Row:
    """One `dc up` healing an apiserver that got SIGTERM (stopping, still alive) against `up`
    on a healthy DC."""
    dc.up(progress=quiet)
    samples = []
    for _ in range(repeat):
        pid = dc.supervisor.pid("kube-apiserver")
        if pid is None:
            raise RuntimeError("the apiserver is not running")
        os.kill(pid, signal.SIGTERM)
        started = time.perf_counter()
        status = dc.up(progress=quiet)
        samples.append(time.perf_counter() - started)
        if not status.healthy:
            raise RuntimeError(f"dc up did not heal the DC: {status}")
    healthy = median_seconds(lambda: dc.up(progress=quiet), repeat)
    return (
        "`pdn dc up` healing a SIGTERM'd apiserver (and what exits with it)",
        statistics.median(samples),
        "`pdn dc up` on a healthy DC",
        healthy,
    )


def bench_dc(dc: LocalDC, repeat: int) -> Row:
    """A warm restart (binaries and PKI exist) against `up` on a running DC (checks only)."""
    dc.up(progress=quiet)

    samples = []
    for _ in range(repeat):
        dc.down(progress=quiet)  # not timed: stop, keeping PKI and etcd data
        started = time.perf_counter()
        dc.up(progress=quiet)
        samples.append(time.perf_counter() - started)
    warm = statistics.median(samples)
    check_only = median_seconds(lambda: dc.up(progress=quiet), repeat)
    return (
        "`pdn dc up` of a stopped DC (binaries, PKI, etcd data kept)",
        warm,
        "`pdn dc up` on a running DC",
        check_only,
    )


def bench_pulumi(dc: LocalDC, scratch: Path, repeat: int) -> list[Row]:
    """`pulumi up` with no changes of the platform baseline against the same of an empty
    program, both with their state where `pdn up` keeps it (the DC's bucket); and the empty
    program's up with its state in the bucket against the same on this disk."""
    empty = scratch / "empty"
    empty.mkdir()
    (empty / "Pulumi.yaml").write_text("name: empty\nruntime: python\n")
    (empty / "__main__.py").write_text("")
    bucket = dc.pulumi_state()
    platform_stack = scratch_stack("bench", state=bucket)
    empty_stack = scratch_stack("bench-empty", project=empty, state=bucket)
    on_disk = scratch_stack("bench-empty-file", project=empty)
    platform_stack.set_config("pdn:kubeconfig", dc.kubeconfig.read_text(), secret=True)
    platform_stack.set_plain_config({"pdn:inventory": str(INVENTORY)})
    try:
        platform_stack.up()
        empty_stack.up()
        on_disk.up()
        noop = median_seconds(platform_stack.up, repeat)
        empty_up = median_seconds(empty_stack.up, repeat)
        file_up = median_seconds(on_disk.up, repeat)
        resources = sum(platform_stack.last_changes().values())
    finally:
        platform_stack.remove()
        empty_stack.remove()
        on_disk.remove()
    return [
        (
            f"`pulumi up` of the platform baseline, no changes ({resources} resources)",
            noop,
            "`pulumi up` of an empty program",
            empty_up,
        ),
        (
            "`pulumi up` of an empty program, state in the DC's bucket",
            empty_up,
            "the same, state on this disk (file backend)",
            file_up,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    with scratch_dc(INVENTORY, slot=3) as (dc, scratch):
        rows = [
            bench_help(args.repeat),
            bench_toolchain(args.repeat),
            bench_dc(dc, args.repeat),
            bench_heal(dc, args.repeat),
            *bench_pulumi(dc, scratch, args.repeat),
        ]
    table = render(rows, args.repeat)
    print(table)
    if args.write_readme:
        write_readme_section("bench", table)
    return 0


def render(rows: list[Row], repeat: int) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}; median of {repeat} runs.",
        "",
        "| what | median | baseline (same run) | baseline median | ratio |",
        "|---|---|---|---|---|",
    ]
    for what, value, base, base_value in rows:
        lines.append(
            f"| {what} | {value:.2f} s | {base} | {base_value:.2f} s | {value / base_value:.1f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
