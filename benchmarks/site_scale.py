"""How the main job scales with the size of a site: the local site (8 servers) as the baseline
and PDN Cikarang's first phase (315 servers), each on its own scratch DC, in the same run.

    .venv/bin/python benchmarks/site_scale.py [--write-readme]

Per site: `pdn dc up` from nothing (PKI, etcd, one Node per server Ready), the first `pulumi up`
of the platform, a no-op `pulumi up`, and `pulumi destroy`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pdn import pulumi_env  # noqa: E402
from pdn.dc import LocalDC  # noqa: E402
from pdn.inventory import LOCAL_SITE, load_site  # noqa: E402
from tests.integration.dc_fixtures import isolated_settings  # noqa: E402

CIKARANG = REPO / "infra" / "inventory" / "cikarang.yaml"
MARK_BEGIN, MARK_END = "<!-- scale:begin -->", "<!-- scale:end -->"
PHASES = ("dc up", "first up", "no-op up", "destroy")


def timed(action: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(
        action, env=env, cwd=REPO, input=stdin or "", text=True, check=True, capture_output=True
    )
    return time.perf_counter() - started


def measure(inventory: Path, slot: int) -> tuple[int, int, dict[str, float]]:
    """(servers, resources, seconds per phase) for one site on its own scratch DC."""
    scratch = Path(tempfile.mkdtemp(prefix="pdn-scale-"))
    os.environ["PDN_STATE_DIR"] = str(scratch / "state")
    site = load_site(inventory)
    dc = LocalDC(site, isolated_settings(site, scratch / "state", slot=slot))
    stack = f"scale-{site.code}"
    flags = ["--non-interactive", "--stack", stack]
    times: dict[str, float] = {}
    try:
        started = time.perf_counter()
        dc.up(progress=lambda _: None)
        times["dc up"] = time.perf_counter() - started
        penv = pulumi_env.environment()
        pulumi_env.ensure_kubernetes_plugin(penv)
        env = penv.variables() | {"PULUMI_SKIP_CONFIRMATIONS": "true"}
        pulumi = str(penv.pulumi)
        timed([pulumi, "stack", "init", stack, "--non-interactive"], env)
        timed([pulumi, "config", "set", "inventory", str(inventory), *flags], env)
        timed(
            [pulumi, "config", "set", "--secret", "pdn:kubeconfig", *flags],
            env,
            stdin=dc.kubeconfig.read_text(),
        )
        up = [pulumi, "up", "--yes", "--skip-preview", *flags]
        times["first up"] = timed(up, env)
        times["no-op up"] = timed(up, env)
        exported = subprocess.run(
            [pulumi, "stack", "export", *flags],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        resources = exported.count('"urn":')
        times["destroy"] = timed([pulumi, "destroy", "--yes", "--skip-preview", *flags], env)
        timed([pulumi, "stack", "rm", "--yes", *flags], env)
    finally:
        dc.down(purge=True, progress=lambda _: None)
        (REPO / f"Pulumi.{stack}.yaml").unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return len(list(site.servers())), resources, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    os.environ.pop("PULUMI_CONFIG_PASSPHRASE", None)
    os.environ.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    base_servers, base_resources, base = measure(LOCAL_SITE, slot=4)
    servers, resources, big = measure(CIKARANG, slot=5)
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
        readme = REPO / "README.md"
        pattern = re.compile(re.escape(MARK_BEGIN) + ".*?" + re.escape(MARK_END), re.DOTALL)
        readme.write_text(pattern.sub(f"{MARK_BEGIN}\n{table}\n{MARK_END}", readme.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
