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
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pdn import pulumi_env  # noqa: E402
from pdn.dc import LocalDC  # noqa: E402
from pdn.inventory import LOCAL_SITE, load_site  # noqa: E402
from tests.integration.dc_fixtures import isolated_settings  # noqa: E402

MARK_BEGIN, MARK_END = "<!-- bench:begin -->", "<!-- bench:end -->"


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


def quiet(_: str) -> None:
    """Progress sink for timed runs."""


def bench_toolchain(repeat: int) -> Row:
    """The no-op build (all cached) against the CLI's own start-up."""
    pdn = str(Path(sys.executable).parent / "pdn")
    env = dict(os.environ)
    noop = median_seconds(lambda: run([pdn, "toolchain", "build"], env, REPO), repeat)
    start = median_seconds(lambda: run([pdn, "--help"], env, REPO), repeat)
    return ("`pdn toolchain build`, all cached", noop, "`pdn --help`", start)


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


def bench_pulumi(dc: LocalDC, scratch: Path, repeat: int) -> Row:
    """`pulumi up` with no changes of the whole platform against the same of an empty program."""
    penv = pulumi_env.environment()
    pulumi_env.ensure_kubernetes_plugin(penv)
    variables = penv.variables() | {"PULUMI_SKIP_CONFIRMATIONS": "true"}
    pulumi = str(penv.pulumi)
    empty = scratch / "empty"
    empty.mkdir()
    (empty / "Pulumi.yaml").write_text("name: empty\nruntime: python\n")
    (empty / "__main__.py").write_text("")
    flags = ["--non-interactive", "--stack", "bench"]
    for project in (REPO, empty):
        run([pulumi, "stack", "init", "bench", "--non-interactive"], variables, project)
    subprocess.run(
        [pulumi, "config", "set", "--secret", "pdn:kubeconfig", *flags],
        input=dc.kubeconfig.read_text(),
        text=True,
        env=variables,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    up = [pulumi, "up", "--yes", "--skip-preview", *flags]
    try:
        for project in (REPO, empty):
            run(up, variables, project)
        noop = median_seconds(lambda: run(up, variables, REPO), repeat)
        empty_up = median_seconds(lambda: run(up, variables, empty), repeat)
    finally:
        run([pulumi, "destroy", "--yes", "--skip-preview", *flags], variables, REPO)
        run([pulumi, "stack", "rm", "--yes", *flags], variables, REPO)
    return (
        "`pulumi up --stack local`, no changes (61 resources)",
        noop,
        "`pulumi up` of an empty program",
        empty_up,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="pdn-bench-"))
    os.environ["PDN_STATE_DIR"] = str(scratch / "state")
    os.environ.pop("PULUMI_CONFIG_PASSPHRASE", None)
    os.environ.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    site = load_site(LOCAL_SITE)
    dc = LocalDC(site, isolated_settings(site, scratch / "state", slot=3))
    try:
        rows = [
            bench_toolchain(args.repeat),
            bench_dc(dc, args.repeat),
            bench_pulumi(dc, scratch, args.repeat),
        ]
    finally:
        dc.down(purge=True, progress=quiet)
        (REPO / "Pulumi.bench.yaml").unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    table = render(rows, args.repeat)
    print(table)
    if args.write_readme:
        readme = REPO / "README.md"
        pattern = re.compile(re.escape(MARK_BEGIN) + ".*?" + re.escape(MARK_END), re.DOTALL)
        readme.write_text(pattern.sub(f"{MARK_BEGIN}\n{table}\n{MARK_END}", readme.read_text()))
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
