"""The tenant fleet at national scale, on a scratch DC of PDN Cikarang's first phase.

    .venv/bin/python benchmarks/tenant_fleet.py [--write-readme]

Generates 620 tenants from the real region list (38 provinces, 514 kabupaten/kota under them,
68 central agencies) and measures, in one run, each against a baseline of the same run:
- the fleet rollout (`pdn tenant up --all`: every shard stack, two at a time) against
  `kubectl apply --server-side` of the same objects (in namespaces of their own);
- changing one tenant with 620 present against the same change with it alone, and onboarding
  one more tenant against onboarding the first;
- a rollout killed midway (SIGKILL of the whole process group) and run again: the time to
  converge, and that nothing was lost or duplicated;
- the rollout's peak memory (pdn and every pulumi process under it).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from common import REPO, hardware_only, quiet, scratch_dc, settle, write_readme_section

from pdn import pulumi_env, regions, stacks
from pdn.inventory import all_sites, load_site
from pdn.tenants.fleet import load_fleet, tenant_files
from pdn.tenants.render import render
from pdn.tenants.rollout import existing_shards, roll_out, shard_stack
from pdn.tenants.shards import SHARDS

CIKARANG = hardware_only(REPO / "infra" / "inventory" / "cikarang.yaml")
SITE = "pdn-cikarang"
CENTRAL = 68


def _roll(env: pulumi_env.PulumiEnvironment, directory: Path, slugs: list[str]) -> None:
    fleet = load_fleet(tenant_files(directory), all_sites())
    roll_out(env, fleet, SITE, directory, slugs=slugs, platform="bench-platform", progress=quiet)


def _set_tier(path: Path, tier: str) -> None:
    path.write_text(re.sub(r"^tier: \w+$", f"tier: {tier}", path.read_text(), flags=re.M))


def _changes(env: pulumi_env.PulumiEnvironment, directory: Path, slug: str) -> float:
    """The median of three changes of slug's tier (`pdn tenant up SLUG` each: the files read
    and checked, the shard's up)."""
    seconds = []
    for tier in ("vital", "batch", "vital"):
        _set_tier(directory / f"{slug}.yaml", tier)
        settle()
        started = time.perf_counter()
        _roll(env, directory, [slug])
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _tenant(
    slug: str, name: str, kind: str, *, code: str, region: str, parent: str | None = None
) -> str:
    document = {
        "schema_version": 1,
        "slug": slug,
        "name": name,
        "kind": kind,
        "agency_code": code,
        "region_code": region,
        **({"parent": parent} if parent else {}),
        "contacts": [
            {"name": f"Pengelola TI {name}", "email": f"ti@{slug}.go.id", "role": "owner"}
        ],
        "tier": "batch",
        "classification": "internal",
        "sites": [SITE],
        "groups": {"admins": [f"{slug}-admins"], "readers": [f"{slug}-readers"]},
        "flows": [{"platform": "sso"}],
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def generate(directory: Path) -> int:
    """620 tenant files: every province and kabupaten/kota of the real list, and central
    agencies (synthetic names, numbered: the list has no agencies)."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for province in regions.children():
        prov_slug = f"prov-{province.code}"
        (directory / f"{prov_slug}.yaml").write_text(
            _tenant(
                prov_slug,
                f"Pemerintah Provinsi {province.name}",
                "province",
                code=f"PROV-{province.code}",
                region=province.code,
            )
        )
        count += 1
        for regency in regions.children(province.code):
            kind = "kota" if regency.name.startswith("Kota") else "kabupaten"
            slug = f"{'kota' if kind == 'kota' else 'kab'}-{regency.code.replace('.', '-')}"
            code = f"{kind.upper()[:4]}-{regency.code.replace('.', '')}"
            (directory / f"{slug}.yaml").write_text(
                _tenant(
                    slug,
                    f"Pemerintah {regency.name}",
                    kind,
                    code=code,
                    region=regency.code,
                    parent=prov_slug,
                )
            )
            count += 1
    for number in range(1, CENTRAL + 1):
        slug = f"central-{number:02d}"
        (directory / f"{slug}.yaml").write_text(
            _tenant(
                slug,
                f"Kementerian/Lembaga {number:02d}",
                "agency",
                code=f"KL-{number:02d}",
                region="31.71",
            )
        )
        count += 1
    return count


class PeakMemory:
    """The peak resident memory of this process and the processes started under it while the
    block runs (pulumi, its plugins), sampled: not the DC's services, started before."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._before: set[int] = set()

    def __enter__(self) -> PeakMemory:
        self._before = set(_tree(os.getpid(), set())[1]) - {os.getpid()}
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _tree_rss(os.getpid(), self._before))


def _tree(root: int, skip: set[int]) -> tuple[dict[int, int], list[int]]:
    """Every process's RSS, and root's descendants (itself included), not entering skip."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack += [c for c in children.get(pid, []) if c not in skip]
    return rss, found


def _tree_rss(root: int, skip: set[int]) -> int:
    rss, found = _tree(root, skip)
    return sum(rss.get(pid, 0) for pid in found)


def kubectl_baseline(
    env: pulumi_env.PulumiEnvironment, kubeconfig: Path, tenants_dir: Path, scratch: Path
) -> float:
    """`kubectl apply --server-side` of the same objects, in namespaces of their own (kc-…)."""
    fleet = load_fleet(tenant_files(tenants_dir), all_sites())
    documents = []
    for slug in fleet.tenants:
        for manifest in render(fleet, slug, SITE).all():
            copy = yaml.safe_load(yaml.safe_dump(manifest))
            meta = copy["metadata"]
            if copy["kind"] == "Namespace":
                meta["name"] = f"kc-{meta['name']}"[:63]
            else:
                meta["namespace"] = f"kc-{meta['namespace']}"[:63]
            documents.append(copy)
    path = scratch / "kubectl-fleet.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    started = time.perf_counter()
    subprocess.run(
        [
            str(env.toolchain_bin / "kubectl"),
            "--kubeconfig",
            str(kubeconfig),
            "apply",
            "--server-side",
            "-f",
            str(path),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with scratch_dc(CIKARANG, slot=4) as (dc, scratch):
        env = pulumi_env.environment()
        dc.up(progress=quiet)
        stacks.up_on_local_dc(env, "bench-platform", load_site(CIKARANG), CIKARANG, dc.kubeconfig)
        tenants_dir = scratch / "tenants"
        total = generate(tenants_dir)
        print(f"{total} tenants generated", flush=True)

        # One tenant alone: onboard it (its shard stack is made), then change it (timed).
        one = scratch / "one"
        one.mkdir()
        lone = "central-01"
        (one / f"{lone}.yaml").write_bytes((tenants_dir / f"{lone}.yaml").read_bytes())
        settle()
        started = time.perf_counter()
        _roll(env, one, [lone])
        figures["first tenant"] = time.perf_counter() - started
        figures["change, 1 present"] = _changes(env, one, lone)
        alone = figures["change, 1 present"]
        print(f"first tenant {figures['first tenant']:.1f}s, changed {alone:.1f}s", flush=True)

        settle()
        figures["kubectl"] = kubectl_baseline(env, dc.kubeconfig, tenants_dir, scratch)
        print(f"kubectl apply --server-side: {figures['kubectl']:.1f}s", flush=True)

        fleet = load_fleet(tenant_files(tenants_dir), all_sites())
        settle()
        with PeakMemory() as memory:
            started = time.perf_counter()
            roll_out(env, fleet, SITE, tenants_dir, platform="bench-platform", progress=quiet)
            figures["fleet"] = time.perf_counter() - started
        figures["peak MiB"] = memory.peak / 2**20
        print(
            f"fleet rollout: {figures['fleet']:.1f}s, peak {figures['peak MiB']:.0f} MiB",
            flush=True,
        )

        # The same changes to the same tenant, with the whole fleet present.
        figures["change, fleet present"] = _changes(env, tenants_dir, lone)
        (tenants_dir / "kab-32-16-dinkes.yaml").write_text(
            _tenant(
                "kab-32-16-dinkes",
                "Dinas Kesehatan Kabupaten Bekasi",
                "unit",
                code="KAB-3216-DINKES",
                region="32.16",
                parent="kab-32-16",
            )
        )
        settle()
        started = time.perf_counter()
        _roll(env, tenants_dir, ["kab-32-16-dinkes"])
        figures["one more"] = time.perf_counter() - started
        print(
            f"with {total} present: change {figures['change, fleet present']:.1f}s, "
            f"one more {figures['one more']:.1f}s",
            flush=True,
        )

        settle()
        figures["resumed"] = killed_and_resumed(tenants_dir, figures["fleet"] / 3)
        verified = verify(env, dc, tenants_dir)
        print(f"killed rollout resumed in {figures['resumed']:.1f}s; {verified}", flush=True)
    table = render_table(figures, total, verified)
    print(table)
    if args.write_readme:
        write_readme_section("tenants", table)
    return 0


def killed_and_resumed(tenants_dir: Path, after: float) -> float:
    """Every tenant gets one more reader group; the rollout is SIGKILLed (its whole process
    group) after `after` seconds, then run again: the seconds it takes to converge."""
    for path in tenants_dir.glob("*.yaml"):
        text = path.read_text()
        slug = path.stem
        path.write_text(text.replace(f"- {slug}-readers", f"- {slug}-readers\n  - {slug}-auditors"))
    command = [str(Path(sys.executable).parent / "pdn"), "tenant", "up", "--all", "--site", SITE]
    command += ["--platform-stack", "bench-platform", "--dir", str(tenants_dir)]
    # The stacks this run made are in the scratch DC's file backend (pulumi_env.environment()).
    env = {**os.environ, "PDN_STATE_BACKEND": "file"}
    killed = subprocess.Popen(
        command,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    time.sleep(after)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def verify(env: pulumi_env.PulumiEnvironment, dc: object, tenants_dir: Path) -> str:
    """Nothing lost or duplicated: every tenant's 7 objects once in the state, every shard at
    rest (a preview changes nothing)."""
    fleet = load_fleet(tenant_files(tenants_dir), all_sites())
    urns: list[str] = []
    for shard in existing_shards(env, SITE):
        stack = shard_stack(env, SITE, shard)
        stack.preview(expect_no_changes=True)
        urns += [r["urn"] for r in stack.export()["deployment"]["resources"]]
    namespaces = [u for u in urns if u.endswith("-namespace") and "Namespace" in u]
    if len(urns) != len(set(urns)):
        raise RuntimeError("duplicate URNs after the resumed rollout")
    if len(namespaces) != len(fleet.tenants):
        raise RuntimeError(
            f"{len(namespaces)} namespaces in the state for {len(fleet.tenants)} tenants"
        )
    return f"{len(fleet.tenants)} tenants, {len(namespaces)} namespaces, none twice, shards at rest"


def render_table(f: dict[str, float], total: int, verified: str) -> str:
    rows = [
        (
            f"fleet rollout, `pdn tenant up --all` ({SHARDS} shards, 2 at a time)",
            f["fleet"],
            "`kubectl apply --server-side` of the same objects",
            f["kubectl"],
        ),
        (
            f"one tenant's quota changed, {total} present (`pdn tenant up SLUG`, median of 3)",
            f["change, fleet present"],
            "the same change, the tenant alone",
            f["change, 1 present"],
        ),
        (
            f"one more tenant onboarded, {total} present",
            f["one more"],
            "the first tenant onboarded, alone (its shard stack made)",
            f["first tenant"],
        ),
        (
            "rollout SIGKILLed at a third, run again to convergence",
            f["resumed"],
            "the uninterrupted rollout",
            f["fleet"],
        ),
    ]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores; one run on a scratch DC "
        f"of PDN Cikarang phase 1, {total} tenants.",
        "",
        "| what | time | baseline (same run) | baseline | ratio |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {w} | {v:.1f} s | {b} | {bv:.1f} s | {v / bv:.2f}x |" for w, v, b, bv in rows]
    lines += [
        f"| peak memory of the rollout (pdn, every pulumi) | {f['peak MiB']:.0f} MiB | | | |",
        "",
        f"After the resumed run: {verified}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
