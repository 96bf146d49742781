"""One shard of the tenant fleet on one site, as a Pulumi program: the site's cluster from the
platform stack (a stack reference), one `pdn:tenancy:Tenant` per tenant of the shard, exports.

A function of an already checked fleet, so that `pdn tenant up` runs it inside its own process
(Pulumi's inline programs) with the fleet it validated once, instead of every shard's program
starting Python, importing the SDKs and reading all 620 files again; `tenancy/__main__.py` runs
the same function when the stack is driven by the plain CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import pulumi
import pulumi_kubernetes as k8s

from infra.tenancy.tenant import Tenant, TenantArgs
from pdn.tenants.fleet import Fleet
from pdn.tenants.render import render
from pdn.tenants.shards import placed_in


def shard_program(
    fleet: Fleet,
    site: str,
    shard: int,
    platform_stack: str,
    only: Collection[str] | None = None,
) -> Callable[[], None]:
    """The program of shard `shard` of `site`; platform_stack is the fully qualified name of the
    stack that exports the site's kubeconfig. With `only`, it makes those tenants alone: for a
    run that targets them (`--target`), so the others' objects, neither made nor targeted, are
    left as they are and cost nothing, however many the shard holds."""

    def program() -> None:
        platform = pulumi.StackReference(platform_stack)
        cluster = k8s.Provider(
            f"{site}-cluster",
            kubeconfig=platform.require_output("kubeconfig"),
            enable_server_side_apply=True,
        )
        placed = placed_in(fleet, site, shard)
        for slug in placed if only is None else [s for s in placed if s in only]:
            Tenant(
                slug,
                TenantArgs(render(fleet, slug, site)),
                pulumi.ResourceOptions(provider=cluster),
            )
        # From the fleet, not from the tenants made: a targeted run exports the whole shard too.
        pulumi.export("tenants", placed)
        pulumi.export("namespaces", {slug: fleet.tenants[slug].namespace for slug in placed})

    return program
