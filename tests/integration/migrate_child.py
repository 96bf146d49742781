"""A migration run in a process of its own, so a test can kill it by PID midway:
`python -m tests.integration.migrate_child ESTATE_FILE ESTATE_STATE DC_STATE WAVE`. It reaches the
test session's DC and tenants as the session does (PDN_STATE_DIR is inherited)."""

from __future__ import annotations

import sys
from pathlib import Path

from pdn import pulumi_env
from pdn.dc.lifecycle import LocalDC
from pdn.estate.hosts import EstateRuntime
from pdn.estate.loader import load_estate
from pdn.inventory import LOCAL_SITE, load_site
from pdn.migrate.discovery import load_discovery
from pdn.migrate.targets import load_targets
from pdn.migrate.waves import run_wave, wave_hosts, work_of
from tests.integration.dc_fixtures import isolated_settings


def main(estate_file: str, estate_state: str, dc_state: str, wave: str) -> int:
    runtime = EstateRuntime(load_estate(Path(estate_file)), Path(estate_state))
    site = load_site(LOCAL_SITE)
    dc = LocalDC(site, isolated_settings(site, Path(dc_state)))
    targets = load_targets(pulumi_env.environment(state=dc.pulumi_state()), site.code, dc)
    work = work_of(runtime, wave_hosts(runtime, int(wave)), load_discovery(runtime), targets)
    return 0 if run_wave(runtime, int(wave), work, targets).ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
