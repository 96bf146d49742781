"""Where a wave's workloads land in the national DC, from the tenants' stack outputs: each
tenant's PDN hosts (their addresses), its DBaaS databases and logins, its object storage; and
how the migration controller reaches them (the host pool's SSH identity, the DC's CA, the
gateway the PDN hosts reach DBaaS at). Passwords and keys are held in memory only: they reach a
playbook through its environment, never a file of the controller."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pdn.migrate.errors import MigrateError

if TYPE_CHECKING:
    from pdn.dc.lifecycle import LocalDC
    from pdn.pulumi_env import PulumiEnvironment


@dataclass(frozen=True)
class Database:
    engine: str
    host: str  # where the controller reaches it
    port: int
    database: str
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Storage:
    endpoint: str
    bucket: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class TenantTargets:
    hosts: dict[str, str]  # PDN host name -> address
    databases: dict[str, Database]  # engine -> its database
    storage: Storage | None


@dataclass(frozen=True)
class DCAccess:
    ca: Path  # the DC's CA certificate: DBaaS and object storage present certificates it signed
    gateway: str  # where PDN hosts reach DBaaS (pdn.dc.gateway), at the servers' own ports
    host_key: Path  # the host pool's SSH identity
    host_known_hosts: Path


@dataclass(frozen=True)
class Targets:
    dc: DCAccess
    tenants: dict[str, TenantTargets]

    def of(self, tenant: str) -> TenantTargets:
        found = self.tenants.get(tenant)
        if found is None:
            raise MigrateError(
                f"tenant {tenant} has no stack outputs: onboard it first (tenants/{tenant}.yaml, "
                "then `make up`)"
            )
        return found


def from_outputs(dc: DCAccess, outputs: list[dict[str, Any]]) -> Targets:
    """Targets from the tenant shards' outputs (with secrets shown)."""
    tenants: dict[str, TenantTargets] = {}
    for out in outputs:
        slugs = set(out.get("tenants") or [])
        for slug in slugs:
            dbs = {
                engine: Database(
                    engine,
                    str(info["host"]),
                    int(info["port"]),
                    str(info["database"]),
                    str(info["user"]),
                    str(out["database_passwords"][slug][engine]),
                )
                for engine, info in ((out.get("databases") or {}).get(slug) or {}).items()
            }
            store = (out.get("object_storage") or {}).get(slug)
            storage = (
                Storage(
                    str(store["endpoint"]),
                    str(store["data_bucket"]),
                    str(store["access_key_id"]),
                    str(out["object_storage_secret_keys"][slug]),
                )
                if store
                else None
            )
            addresses = (out.get("host_addresses") or {}).get(slug) or {}
            hosts = {str(k): str(v) for k, v in addresses.items()}
            tenants[slug] = TenantTargets(hosts, dbs, storage)
    return Targets(dc, tenants)


def load_targets(env: PulumiEnvironment, site: str, dc: LocalDC) -> Targets:
    from pdn.dc import gateway  # noqa: PLC0415
    from pdn.tenants.rollout import existing_shards, shard_stack  # noqa: PLC0415

    pool = dc.host_pool()
    key, known_hosts = pool.ssh_identity()
    access = DCAccess(
        dc.settings.pki_dir / "ca.crt", gateway.address(dc.settings), key, known_hosts
    )
    shards = sorted(existing_shards(env, site))
    if not shards:
        raise MigrateError(f"no tenant is onboarded at {site}: `make up` first")
    outputs = [shard_stack(env, site, n).outputs(show_secrets=True) for n in shards]
    return from_outputs(access, outputs)
