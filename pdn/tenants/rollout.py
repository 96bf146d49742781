"""`pdn tenant up`: roll tenants out to a site, shard by shard.

The fleet is checked first (every file); nothing is touched if one is wrong. Then:
- `up SLUG…`: only the shards those tenants live in, and in them only those tenants and the
  tenants whose objects depend on them (their units, and the tenants they exchange flows with),
  by `--target`: the cost does not grow with the fleet.
- `up --all`: every shard of the site that has tenants or still holds some (a removed file's
  tenant is deleted), two shards at a time.
A shard killed midway is run again from the top: its stale lock is cleared, and server-side
apply takes over any object the first run created but did not record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdn import orphans, paths
from pdn.clusters.placement import cluster_class
from pdn.pulumi_env import PulumiEnvironment
from pdn.stacks import (
    HOST_KEYS,
    Stack,
    StackError,
    has_object_storage,
    has_signing,
    has_sso,
    host_backend,
    resources,
    stack_names,
)
from pdn.tenants.fleet import Fleet
from pdn.tenants.model import TenantFlow
from pdn.tenants.shards import (
    DATABASE_TYPE,
    DATABASES_TYPE,
    PROJECT,
    SHARDS,
    STORAGE_TYPE,
    dynamic_provider_urn,
    placed_in,
    provider_urn,
    shard_of,
    stack_name,
    tenant_urns,
)

TENANCY_PROJECT = paths.REPO_ROOT / "tenancy"
# How a secret value is marked in Pulumi's state (resource.SecretSig).
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105  (a marker, not a secret)
POLICY_PACK = paths.REPO_ROOT / "policy" / "pdn-policy"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ShardResult:
    stack: str
    tenants: list[str]  # the tenants this run updated (all of the shard's, with --all)
    changes: dict[str, int]
    seconds: float


def shard_stack(env: PulumiEnvironment, site: str, shard: int) -> Stack:
    return Stack(env, stack_name(site, shard), TENANCY_PROJECT, policy_packs=(POLICY_PACK,))


def related(fleet: Fleet, slugs: set[str]) -> set[str]:
    """The tenants whose objects change when those in slugs change: themselves, their units
    (they bind their ancestors' readers) and their flow partners (ingress rules)."""
    found = set(slugs)
    for slug in slugs & set(fleet.tenants):
        found.update(fleet.units(slug))
        tenant = fleet.tenants[slug]
        found.update(f.tenant for f in tenant.flows if isinstance(f, TenantFlow))
        found.update(
            other.slug
            for other in fleet.tenants.values()
            if any(isinstance(f, TenantFlow) and f.tenant == slug for f in other.flows)
        )
    return found


def existing_shards(env: PulumiEnvironment, site: str) -> set[int]:
    """The shards of site that have a stack (read from the backend directly)."""
    prefix = f"tenants-{site}-"
    numbers = [n.removeprefix(prefix) for n in stack_names(env, PROJECT) if n.startswith(prefix)]
    return {int(number) for number in numbers if number.isdigit()}


def _check_layout(env: PulumiEnvironment, site: str) -> None:
    """Refuse to roll out over shard stacks made with another shard count: a tenant would move
    to another stack, which would create it anew while its old stack deleted it."""
    for shard in sorted(existing_shards(env, site)):
        stack = shard_stack(env, site, shard)
        made_with = stack.plain_config().get("pdn:shards")
        if shard >= SHARDS or made_with != str(SHARDS):
            raise StackError(
                f"{stack.name} was made when the fleet had {made_with or 'another number of'} "
                f"shards; pdn now uses {SHARDS}, and rolling out would move tenants between "
                "stacks (each namespace deleted by its old stack): remove the tenants first "
                f"(`pdn down`), or move their state with `pulumi state move`"
            )


def _prepare(
    stack: Stack,
    site: str,
    shard: int,
    platform: str,
    tenants_dir: Path,
    *,
    data_services: bool,
    hosts: dict[str, str],
    sso: bool = False,
    signing: bool = False,
) -> None:
    # The shard reads the platform stack's kubeconfig (a secret): one secrets key for both.
    stack.ensure(secrets_of=Stack(stack.env, platform))
    stack.set_plain_config(
        {
            "pdn:site": site,
            "pdn:shard": str(shard),
            "pdn:shards": str(SHARDS),
            "pdn:platformStack": f"organization/pdn/{platform}",
            "pdn:tenantsDir": str(tenants_dir.resolve()),
            "pdn:dataServices": "true" if data_services else "false",
            "pdn:sso": "true" if sso else "false",
            "pdn:signing": "true" if signing else "false",
            **{HOST_KEYS[k]: v for k, v in hosts.items()},
        }
    )


def roll_out(
    env: PulumiEnvironment,
    fleet: Fleet,
    site: str,
    tenants_dir: Path,
    *,
    slugs: list[str] | None = None,
    platform: str = "local",
    parallel: int = 2,
    refresh: bool = False,
    progress: Progress = print,
) -> list[ShardResult]:
    """Roll out slugs (with what depends on them), or the whole fleet of site when None.
    refresh: read every object back first, so a change made by hand is put right."""
    _reap_orphans(env, progress)
    _check_layout(env, site)
    jobs: dict[int, list[str] | None]
    if slugs is None:
        placed = {shard_of(s) for s, t in fleet.tenants.items() if site in t.sites}
        jobs = {shard: None for shard in sorted(placed | existing_shards(env, site))}
    else:
        chosen = related(fleet, set(slugs))
        by_shard: dict[int, list[str]] = {}
        for slug in sorted(chosen):
            by_shard.setdefault(shard_of(slug), []).append(slug)
        jobs = {shard: members for shard, members in sorted(by_shard.items())}
    # Tenants get their share of the object store where the platform stack is bound to one.
    data_services = has_object_storage(Stack(env, platform))
    hosts = host_backend(Stack(env, platform))  # and their PDN hosts, where it has a backend
    sso = has_sso(Stack(env, platform))  # and their groups and clients, where it has an SSO
    signing = has_signing(Stack(env, platform))  # and their signing certificates

    def run(shard: int, members: list[str] | None) -> ShardResult:
        stack = shard_stack(env, site, shard)
        started = time.monotonic()
        _prepare(
            stack,
            site,
            shard,
            platform,
            tenants_dir,
            data_services=data_services,
            hosts=hosts,
            sso=sso,
            signing=signing,
        )
        recorded = _state_resources(env, stack.name)
        targets = (
            None
            if members is None
            else _targets(
                recorded,
                stack.name,
                site,
                fleet,
                members,
                data_services=data_services,
                host_backend=hosts.get("backend"),
                sso=sso,
                signing=signing,
            )
        )
        # The state is saved once, at the end, not after every step (a save rewrites the whole
        # shard's state): every object is an idempotent server-side apply, so a run killed
        # before its save is run again and takes over what it had made.
        leaving = _leaving_data(recorded, placed_in(fleet, site, shard))
        if members is not None:  # a targeted run removes only the tenants it targets
            leaving = {slug: kept for slug, kept in leaving.items() if slug in members}
        # A targeted run makes only its tenants: the others' outputs (their databases, keys,
        # hosts) are handed over from the shard's last run, in memory, and exported again.
        previous = _outputs(stack, recorded) if members is not None and recorded else None
        program = shard_program(
            fleet,
            site,
            shard,
            f"organization/pdn/{platform}",
            members,
            data_services=data_services,
            hosts=hosts,
            sso=sso,
            signing=signing,
            previous=previous,
        )
        changes = stack.up(targets=targets, checkpoints=False, program=program, refresh=refresh)
        for slug, kept in sorted(leaving.items()):
            progress(
                f"[{stack.name}] {slug} removed: its S3 key, database logins and grants are "
                f"gone; its {', '.join(kept)} are kept with their data (deleting agency data "
                "is never implicit: remove them by hand once the agency agrees)"
            )
        updated = members if members is not None else placed_in(fleet, site, shard)
        if members is None and not updated:
            stack.remove()  # its last tenant is gone: later rollouts need not start it
        result = ShardResult(stack.name, updated, changes, time.monotonic() - started)
        names = ", ".join(updated) or "no tenants"
        progress(f"[{stack.name}] {_summary(changes)} ({names}) in {result.seconds:.1f}s")
        return result

    from infra.tenancy.shard import shard_program  # noqa: PLC0415  (the SDKs: only to roll out)

    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    futures = [pool.submit(run, shard, members) for shard, members in jobs.items()]
    try:
        return [f.result() for f in futures]
    finally:
        # On Ctrl-C or a failed shard, the shards not started yet are not started; those
        # running finish (or stop on the same signal), so no stack is left half-written.
        pool.shutdown(wait=True, cancel_futures=True)


def _state_resources(env: PulumiEnvironment, stack: str) -> list[dict[str, Any]]:
    """The resources a shard's state records (none if it has none yet)."""
    return resources(env, PROJECT, stack)


def _outputs(stack: Stack, recorded: list[dict[str, Any]]) -> dict[str, Any]:
    """The shard's outputs: from its state as read, unless one is a secret (data services'
    passwords), which the CLI decrypts (~0.5 s: the passphrase's key derived again)."""
    root = next((r for r in recorded if r.get("type") == "pulumi:pulumi:Stack"), {})
    outputs = root.get("outputs") or {}
    if SECRET_SIG in json.dumps(outputs):
        return stack.outputs(show_secrets=True)
    return dict(outputs)


def _leaving_data(resources: list[dict[str, Any]], placed: list[str]) -> dict[str, list[str]]:
    """The buckets and databases of tenants the shard's state holds and its program no longer
    makes: their logins go, their data is kept, and the operator is told."""
    owners = {r["urn"]: r for r in resources if r["type"] in (STORAGE_TYPE, DATABASES_TYPE)}
    found: dict[str, list[str]] = {}
    for r in resources:
        owner = owners.get(r.get("parent", ""))
        if owner is None or r["type"].endswith(":User"):
            continue
        slug = owner["urn"].rsplit("::", 1)[-1].rsplit("-", 1)[0]
        if slug in placed:
            continue
        if r["type"] == DATABASE_TYPE:
            engine = r["urn"].rsplit("-", 1)[-1]
            found.setdefault(slug, []).append(f"{engine} database {r['id']}")
        else:
            name = (r.get("outputs") or {}).get("name", r["id"])
            found.setdefault(slug, []).append(f"bucket {name}")
    return found


def _engines(fleet: Fleet, slug: str) -> tuple[str, ...]:
    tenant = fleet.tenants.get(slug)
    return tuple(sorted(e.value for e in tenant.databases)) if tenant else ()


def _targets(
    resources: list[dict[str, Any]],
    stack: str,
    site: str,
    fleet: Fleet,
    slugs: list[str],
    *,
    data_services: bool,
    host_backend: str | None = None,
    sso: bool = False,
    signing: bool = False,
) -> list[str]:
    """What a run for slugs targets: their URNs, and those the state holds under their
    components that the program may no longer make (a child renamed or dropped by a newer pdn),
    so they are deleted. Each provider only while the shard has none: once it exists,
    targeting it would take in every object that depends on it, the whole shard."""
    recorded = {r["urn"] for r in resources}
    wanted = [
        urn
        for slug in slugs
        for urn in tenant_urns(
            stack,
            slug,
            data_services=data_services,
            engines=_engines(fleet, slug),
            hosts=tuple(h.name for h in fleet.tenants[slug].hosts) if slug in fleet.tenants else (),
            host_backend=host_backend,
            sso=sso,
            officials=_officials(fleet, slug) if signing else None,
            gis=slug in fleet.tenants and bool(fleet.tenants[slug].gis_layers),
        )
    ]
    inside = set(wanted)
    for r in resources:  # in the state's order: a parent comes before its children
        if r.get("parent") in inside:
            inside.add(r["urn"])
            wanted.append(r["urn"])
    classes = {cluster_class(fleet.tenants[slug].classification).value for slug in slugs}
    providers = [provider_urn(stack, site, c) for c in sorted(classes)]
    if data_services or host_backend == "local" or sso:
        providers.append(dynamic_provider_urn(stack))
    missing = [p for p in providers if p not in recorded]
    return list(dict.fromkeys([*missing, *wanted]))


def _officials(fleet: Fleet, slug: str) -> tuple[str, ...]:
    tenant = fleet.tenants.get(slug)
    return () if tenant is None else tuple(o.id for o in tenant.officials)


def tear_down(env: PulumiEnvironment, site: str, progress: Progress = print) -> None:
    """Destroy every tenant shard of site (before its platform goes), and remove the stacks:
    an empty shard has nothing worth keeping, and the next rollout may use another layout."""
    _reap_orphans(env, progress)
    for shard in sorted(existing_shards(env, site)):
        stack = shard_stack(env, site, shard)
        stack.clear_stale_lock()
        changes = stack.destroy()
        stack.remove(destroy=False)
        progress(f"[{stack.name}] {_summary(changes)}, stack removed")


def _reap_orphans(env: PulumiEnvironment, progress: Progress) -> None:
    for pid in orphans.reap(env, (POLICY_PACK.parent,)):
        progress(f"stopped pid {pid}: a plugin left running by a killed rollout")


def _summary(changes: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(changes.items())) or "no changes"


__all__ = ["SHARDS", "ShardResult", "related", "roll_out", "shard_stack", "tear_down"]
