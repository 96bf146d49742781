"""`pdn comply run --fix`: the Ansible fixes of a run's failures (a control's `fix` in the
catalog is the role that fixes it), applied to each host that failed it through the migration's
ansible-runner path (bound to pdn, artifacts kept, results read from its events and stats);
pdn then checks again. A waived failure is not fixed: the waiver says it is known and accepted."""

from __future__ import annotations

from dataclasses import dataclass

from pdn.compliance.catalog import Catalog
from pdn.compliance.run import Report
from pdn.estate.hosts import EstateRuntime
from pdn.estate.services import firewall_ports, mirror_url, time_server
from pdn.migrate.runner import PlaybookRun, run_playbook

PLAYBOOK = "comply_fix.yml"


@dataclass(frozen=True)
class Fixes:
    roles: dict[str, list[str]]  # host -> the roles it is given
    run: PlaybookRun | None  # None: nothing had a fix


def fixes_for(report: Report, catalog: Catalog, kind: str = "estate-host") -> dict[str, list[str]]:
    """Per host of kind (estate-host, pdn-host), the fix roles of the controls it failed
    (where there is one)."""
    roles: dict[str, list[str]] = {}
    for result in report.results:
        found, _, name = result.target.partition("/")
        fix = catalog.control(result.control).fix
        if result.outcome.ok or fix is None or found != kind:
            continue
        roles.setdefault(name, [])
        if fix not in roles[name]:
            roles[name].append(fix)
    return roles


def apply_fixes(
    report: Report,
    catalog: Catalog,
    runtime: EstateRuntime,
    *,
    kind: str = "estate-host",
    check: bool = False,
) -> Fixes:
    """Apply (or, with check, only show) the fixes of report's failures on its hosts of kind,
    reached through runtime (the estate's, or the DC's host pool's)."""
    roles = fixes_for(report, catalog, kind)
    if not roles:
        return Fixes(roles, None)
    # What each host's firewall lets in, the hosts' time server and mirror, from the inventory
    # that made them.
    ports = {name: list(firewall_ports(*runtime.estate.host(name))) for name in roles}
    run = run_playbook(
        runtime,
        PLAYBOOK,
        extravars={
            "comply_fixes": roles,
            "comply_firewall_ports": ports,
            "comply_time_servers": [str(time_server(runtime.estate))],
            "comply_packages_mirrors": [mirror_url(runtime.estate)],
            "comply_packages_keyring_source": str(runtime.mirror_keyring()),
            # pdn's hosts share this machine's clock: chronyd tracks it and never sets it.
            "comply_time_daemon_args": ["-x"],
        },
        limit=",".join(sorted(roles)),
        check=check,
    )
    return Fixes(roles, run)
