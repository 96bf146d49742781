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
from pdn.inventory import load_site  # noqa: E402
from tests.integration.dc_fixtures import LOCAL_SITE, isolated_settings  # noqa: E402

MARK_BEGIN, MARK_END = "<!-- bench:begin -->", "<!-- bench:end -->"


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> None:
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


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
    rows: list[tuple[str, float, str, float]] = []
    try:
        venv_pdn = str(Path(sys.executable).parent / "pdn")
        env = dict(os.environ)
        # toolchain: the no-op build (everything cached, every binary re-verified) vs a bare
        # `pdn --help` (interpreter and CLI start-up).
        noop_build = median_seconds(lambda: run([venv_pdn, "toolchain", "build"], env, REPO),
                                    args.repeat)
        cli_start = median_seconds(lambda: run([venv_pdn, "--help"], env, REPO), args.repeat)
        rows.append(("`pdn toolchain build`, all cached", noop_build, "`pdn --help`", cli_start))

        # local DC: a warm start (binaries and PKI exist, processes stopped) vs `up` when all
        # is running (the health checks alone).
        dc.up(progress=lambda _: None)

        def restart() -> None:
            dc.down(progress=lambda _: None)
            dc.up(progress=lambda _: None)

        warm_up = median_seconds(restart, args.repeat)
        check_only = median_seconds(lambda: dc.up(progress=lambda _: None), args.repeat)
        rows.append(("`pdn dc up`, warm (stopped DC, state kept)", warm_up,
                     "`pdn dc up` on a running DC", check_only))

        # pulumi: `up` with no changes of the whole platform vs the same of an empty program.
        penv = pulumi_env.environment()
        pulumi_env.ensure_kubernetes_plugin(penv)
        variables = penv.variables() | {"PULUMI_SKIP_CONFIRMATIONS": "true"}
        pulumi = str(penv.pulumi)
        empty = scratch / "empty"
        empty.mkdir()
        (empty / "Pulumi.yaml").write_text("name: empty\nruntime: python\n")
        (empty / "__main__.py").write_text("")
        for project in (REPO, empty):
            run([pulumi, "stack", "select", "bench", "--create", "--non-interactive"],
                variables, project)
        kubeconfig = dc.kubeconfig.read_text()
        subprocess.run([pulumi, "config", "set", "--secret", "pdn:kubeconfig", "--stack", "bench",
                        "--non-interactive"], input=kubeconfig, text=True, env=variables,
                       cwd=REPO, check=True, capture_output=True)
        up = [pulumi, "up", "--yes", "--skip-preview", "--non-interactive", "--stack", "bench"]
        for project in (REPO, empty):
            run(up, variables, project)
        noop_up = median_seconds(lambda: run(up, variables, REPO), args.repeat)
        empty_up = median_seconds(lambda: run(up, variables, empty), args.repeat)
        rows.append(("`pulumi up --stack local`, no changes (61 resources)", noop_up,
                     "`pulumi up` of an empty program", empty_up))
        destroy = [pulumi, "destroy", "--yes", "--skip-preview", "--non-interactive",
                   "--stack", "bench"]
        run(destroy, variables, REPO)
        run([pulumi, "stack", "rm", "bench", "--yes", "--non-interactive"], variables, REPO)
    finally:
        dc.down(purge=True, progress=lambda _: None)
        (REPO / "Pulumi.bench.yaml").unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)

    table = render(rows, args.repeat)
    print(table)
    if args.write_readme:
        readme = REPO / "README.md"
        text = readme.read_text()
        pattern = re.compile(re.escape(MARK_BEGIN) + ".*?" + re.escape(MARK_END), re.DOTALL)
        readme.write_text(pattern.sub(f"{MARK_BEGIN}\n{table}\n{MARK_END}", text))
    return 0


def render(rows: list[tuple[str, float, str, float]], repeat: int) -> str:
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
