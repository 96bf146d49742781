"""What both benchmarks need: a scratch DC, a scratch stack of the program, README sections."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pdn import pulumi_env, stacks  # noqa: E402
from pdn.dataservices.sql import ENGINES  # noqa: E402
from pdn.dc.lifecycle import LocalDC  # noqa: E402
from pdn.inventory import LOCAL_SITE, all_sites, load_site  # noqa: E402
from pdn.state.backends import StateBackend  # noqa: E402
from pdn.tenants.fleet import load_fleet, tenant_files  # noqa: E402
from pdn.tenants.rollout import roll_out  # noqa: E402
from tests.integration.dc_fixtures import isolated_settings  # noqa: E402


def quiet(_: str) -> None:
    """Progress sink for timed runs."""


@contextmanager
def scratch_dc(inventory: Path, slot: int) -> Iterator[tuple[LocalDC, Path]]:
    """A DC with its own interface, address, ports and state, so an operator's DC and stacks
    are left alone; stopped and removed afterwards. Yields the DC (not started) and the dir."""
    scratch = Path(tempfile.mkdtemp(prefix="pdn-bench-"))
    os.environ["PDN_STATE_DIR"] = str(scratch / "state")
    os.environ.pop("PULUMI_CONFIG_PASSPHRASE", None)
    os.environ.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    site = load_site(inventory)
    dc = LocalDC(site, isolated_settings(site, scratch / "state", slot=slot))
    try:
        yield dc, scratch
    finally:
        dc.down(purge=True, progress=quiet)
        shutil.rmtree(scratch, ignore_errors=True)


def onboard_examples(
    dc: LocalDC, scratch: Path, *, host_pool: bool = False
) -> tuple[pulumi_env.PulumiEnvironment, Path]:
    """The platform baseline on a started scratch DC (its data services bound; with host_pool,
    its PDN hosts too) and the example tenants rolled out onto it from a copy of tenants/: the
    environment and that copy."""
    env = pulumi_env.environment(state=dc.pulumi_state())
    storage = dc.object_storage_admin()
    stacks.up_on_local_dc(
        env,
        "bench-platform",
        load_site(LOCAL_SITE),
        LOCAL_SITE,
        dc.kubeconfig,
        object_storage=stacks.ObjectStorageBinding(
            dc.object_storage_endpoint(), storage.access_key, storage.secret_key
        ),
        databases=tuple(
            stacks.DatabaseBinding(a.server, a.user, a.password)
            for a in (dc.database_admin(e) for e in ENGINES)
        ),
        cluster_tls=dc.cluster_tls(),
        workload_kubeconfigs=dc.workload_kubeconfigs(),
        host_pool=(dc.settings.host_pool_dir, str(dc.settings.host_network)) if host_pool else None,
        sso=dc.sso_admin(),
    )
    tenants = scratch / "tenants"
    tenants.mkdir()
    for example in tenant_files():
        shutil.copy(example, tenants / example.name)
    roll_out(
        env,
        load_fleet(tenant_files(tenants), all_sites()),
        dc.site.code,
        tenants,
        platform="bench-platform",
        progress=quiet,
    )
    return env, tenants


def scratch_stack(
    name: str, project: Path = REPO, state: StateBackend | None = None
) -> stacks.Stack:
    """A new stack of project in the scratch state, through pdn.stacks (as `pdn up` runs it);
    state: its backend (default: the file backend of the scratch state dir)."""
    env = pulumi_env.environment(state=state)
    stack = stacks.Stack(env, name, project)
    stack.ensure()
    return stack


def write_readme_section(marker: str, table: str) -> None:
    """Replace what stands between <!-- marker:begin --> and <!-- marker:end --> in the README."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    readme = REPO / "README.md"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    readme.write_text(pattern.sub(f"{begin}\n{table}\n{end}", readme.read_text()))


def hardware_only(inventory: Path) -> Path:
    """A copy of a site's inventory without its clusters (in a temporary file): for the
    benchmarks of the baseline and tenants, which one cluster carries; the clusters have
    their own (benchmarks/clusters.py)."""
    site = yaml.safe_load(inventory.read_text())
    site.pop("clusters", None)
    directory = Path(tempfile.mkdtemp(prefix="pdn-bench-inventory-"))
    atexit.register(shutil.rmtree, directory, True)  # made at import: removed at exit
    path = directory / inventory.name
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


def settle(*, busy_below: float = 0.5, seconds: int = 3, limit: float = 180) -> float:
    """Wait until the machine has used less than `busy_below` cores for `seconds` seconds in a
    row (the scratch DC's nodes registering, its controllers reconciling the last step's
    namespaces), so that each figure measures its own work: a kubectl baseline taken while the
    DC was still starting ran 14.5-24.5 s across one day's runs. The DC's steady background
    (its nodes' lease renewals, ~0.3 cores) stays in every figure. Returns the seconds waited."""
    started = time.monotonic()
    calm = 0
    previous = _cpu_times()
    while calm < seconds and time.monotonic() - started < limit:
        time.sleep(1)
        now = _cpu_times()
        busy = (now[0] - previous[0]) / os.sysconf("SC_CLK_TCK")
        calm = calm + 1 if busy < busy_below else 0
        previous = now
    return time.monotonic() - started


def _cpu_times() -> tuple[int, int]:
    """(busy, idle) clock ticks of every CPU since boot."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, idle
