"""PDN hosts (IaaS) through Pulumi on the local DC: each tenant file's hosts are real hosts of the
DC's host pool, reachable over SSH; a second rollout changes nothing; a host deleted or resized
behind Pulumi's back shows in `pulumi preview --refresh` and is put right by a refreshed
rollout; the DC going down and up keeps them, with their data."""

from __future__ import annotations

import json
import subprocess

import pytest

from pdn.iaas.local import HOST_FILE
from pdn.tenants.rollout import shard_stack
from pdn.tenants.shards import shard_of
from tests.integration.conftest import SITE, Onboarded

pytestmark = pytest.mark.integration

TENANT, HOST = "kab-bekasi", "simpeg"


def _ssh(onboarded: Onboarded, address: str, command: str) -> str:
    pool = onboarded.dc.host_pool()
    return subprocess.run(
        [*pool.ssh_argv(address), command],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        stdin=subprocess.DEVNULL,
    ).stdout.strip()


def _address(onboarded: Onboarded, slug: str, host: str) -> str:
    outputs = shard_stack(onboarded.env, SITE, shard_of(slug)).outputs()
    return str(outputs["host_addresses"][slug][host])


def _preview(onboarded: Onboarded) -> str:
    return shard_stack(onboarded.env, SITE, shard_of(TENANT)).preview(refresh=True)


def _planned(preview: str) -> list[str]:
    """What the preview plans for the host (its refresh lines aside)."""
    return [
        line.split()[-1]
        for line in preview.splitlines()
        if f"{TENANT}-hosts-{HOST} " in f"{line} "
        and line.split()[-1] not in ("refreshing", "refresh")
    ]


def test_each_tenants_hosts_are_real_hosts(onboarded: Onboarded) -> None:
    network = onboarded.dc.settings.host_network
    for slug, tenant in onboarded.fleet().tenants.items():
        for spec in tenant.hosts:
            address = _address(onboarded, slug, spec.name)
            assert address.startswith(str(network.network_address)[:-1])
            assert _ssh(onboarded, address, "hostname") == f"{slug}-{spec.name}"
            said = json.loads(_ssh(onboarded, address, f"cat /{HOST_FILE}"))
            assert (said["tenant"], said["name"], said["size"]) == (slug, spec.name, "small")
    changes = onboarded.roll_out([TENANT])
    assert all(set(c) == {"same"} for c in changes.values()), changes


def test_a_host_changed_or_deleted_behind_pulumis_back_is_seen_and_put_right(
    onboarded: Onboarded,
) -> None:
    pool = onboarded.dc.host_pool()
    address = _address(onboarded, TENANT, HOST)
    _ssh(onboarded, address, "echo kept > /root/aplikasi.txt")
    # Resized by hand: the refreshed preview shows the update, the refreshed rollout undoes it.
    host = pool.read(TENANT, HOST)
    assert host is not None
    root = pool.runtime_of(host)
    said = json.loads((root / HOST_FILE).read_text())
    (root / HOST_FILE).write_text(json.dumps({**said, "size": "large"}))
    assert _planned(_preview(onboarded)) == ["update"]
    onboarded.roll_out([TENANT], refresh=True)
    assert json.loads(_ssh(onboarded, address, f"cat /{HOST_FILE}"))["size"] == "small"
    assert _ssh(onboarded, address, "cat /root/aplikasi.txt") == "kept"

    # Deleted by hand: gone in the refreshed preview, made again by the refreshed rollout.
    pool.delete(TENANT, HOST)
    assert pool.read(TENANT, HOST) is None
    assert _planned(_preview(onboarded)) == ["create"]
    onboarded.roll_out([TENANT], refresh=True)
    address = _address(onboarded, TENANT, HOST)
    assert _ssh(onboarded, address, "hostname") == f"{TENANT}-{HOST}"
    changes = onboarded.roll_out([TENANT])
    assert all(set(c) == {"same"} for c in changes.values()), changes
    # The targeted runs made kab-bekasi alone; its shard's other tenant keeps its outputs
    # (its host, databases, logins, storage key), which the migration reads.
    neighbour = "prov-jawa-barat"
    assert shard_of(neighbour) == shard_of(TENANT)
    outputs = shard_stack(onboarded.env, SITE, shard_of(TENANT)).outputs(show_secrets=True)
    assert set(outputs["host_addresses"]) == {TENANT, neighbour}
    for key in ("databases", "database_passwords", "object_storage", "object_storage_secret_keys"):
        assert neighbour in outputs[key], key
    assert set(outputs["database_passwords"][neighbour]) == {"postgresql", "mariadb"}
