"""What a site's inventory must say before Metal3 can make its clusters' machines."""

from __future__ import annotations

from pdn import inventory


def bare_metal_problems(site: inventory.Site) -> list[str]:
    """One line per missing or clashing fact, each naming the cluster or server to fix."""
    problems = []
    owners: dict[str, str] = {}  # server -> cluster
    for cluster in site.clusters:
        if cluster.purpose is inventory.ClusterPurpose.MANAGEMENT:
            continue  # it exists before Cluster API: not made by Metal3
        if cluster.endpoint is None:
            problems.append(
                f"cluster {cluster.name}: no endpoint: give the control plane's VIP or DNS "
                "name (clusters[].endpoint)"
            )
        for server in cluster.servers():
            owners[server.name] = cluster.name
    seen: dict[tuple[str, str], str] = {}
    for _, server in site.servers():
        if server.bmc is None:
            if server.name in owners:
                problems.append(
                    f"server {server.name} (cluster {owners[server.name]}): no bmc: give its "
                    "bmc.address and bmc.boot_mac"
                )
            continue
        for field, value in (("address", server.bmc.address), ("boot_mac", server.bmc.boot_mac)):
            if (field, value) in seen:
                problems.append(
                    f"server {server.name}: bmc.{field} {value} is also {seen[field, value]}'s"
                )
            seen[field, value] = server.name
    return problems
