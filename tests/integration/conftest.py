"""Fixtures that drive the real pulumi engine with the built toolchain, isolated per test run,
through pdn.stacks (the way `pdn up` drives it)."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3
from kubernetes import client as k8s

from pdn import paths, pulumi_env, stacks
from pdn.clusters.placement import placements
from pdn.dataservices.sql import ENGINES
from pdn.dc import pulumi_state
from pdn.dc.lifecycle import LocalDC
from pdn.inventory import LOCAL_SITE, all_sites
from pdn.sso import realms
from pdn.tenants.fleet import Fleet, load_fleet, tenant_files
from pdn.tenants.rollout import existing_shards, roll_out, shard_stack, tear_down
from pdn.tenants.shards import shard_of
from tests.integration.dc_fixtures import running_dc
from tests.integration.estate_fixtures import agency_estate, estate_file  # noqa: F401 (fixtures)

SITE = "pdn-local"


@pytest.fixture
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stacks and secrets of this test live in tmp; the toolchain cache is shared."""
    state = tmp_path / "state"
    monkeypatch.setenv("PDN_STATE_DIR", str(state))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    return state


@pytest.fixture
def engine(isolated_state: Path) -> pulumi_env.PulumiEnvironment:
    env = pulumi_env.environment()
    pulumi_env.ensure_kubernetes_plugin(env)
    return env


@pytest.fixture
def stack(engine: pulumi_env.PulumiEnvironment) -> Iterator[stacks.Stack]:
    """A fresh stack of the repo's own program, its config in the isolated state; destroyed and
    removed afterwards. The working tree is checked to stay clean."""
    before = set(paths.REPO_ROOT.glob("Pulumi.*.yaml"))
    created = stacks.Stack(engine, f"it-{uuid.uuid4().hex[:8]}")
    created.ensure()
    try:
        yield created
    finally:
        created.remove()
        assert set(paths.REPO_ROOT.glob("Pulumi.*.yaml")) == before


@dataclass
class Onboarded:
    dc: LocalDC
    env: pulumi_env.PulumiEnvironment
    platform: str
    tenants_dir: Path

    def fleet(self) -> Fleet:
        return load_fleet(tenant_files(self.tenants_dir), all_sites())

    def api_client(self, slug: str) -> k8s.ApiClient:
        """A client (as the platform admin) of the cluster tenant slug lives on: the workload
        cluster its data class picks."""
        fleet = self.fleet()
        cluster = placements(self.dc.site, fleet.tenants.values()).get(slug)
        return self.dc.api_client(cluster=cluster)

    def workload_api_clients(self) -> list[k8s.ApiClient]:
        return [self.dc.api_client(cluster=name) for name in self.dc.workload_planes]

    def roll_out(
        self, slugs: list[str] | None = None, *, refresh: bool = False
    ) -> dict[str, dict[str, int]]:
        results = roll_out(
            self.env,
            self.fleet(),
            SITE,
            self.tenants_dir,
            slugs=slugs,
            platform=self.platform,
            refresh=refresh,
            progress=print,
        )
        return {r.stack: r.changes for r in results}

    def pdn(self, *args: str) -> int:
        """`pdn ARGS` as an operator of this DC runs it (the DC found from its state dir)."""
        from pdn.cli.main import main  # noqa: PLC0415

        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PDN_STATE_DIR", str(self.dc.settings.state_root))
            return main(list(args))

    def client_token(self, slug: str, client_id: str) -> str:
        """An access token of one of the tenant's service clients (client credentials, its
        secret from the tenant's shard stack)."""
        secret = shard_stack(self.env, SITE, shard_of(slug)).outputs(show_secrets=True)[
            "sso_client_secrets"
        ][slug][client_id]
        access = self.dc.sso_admin()
        answer = urllib3.PoolManager(
            ssl_context=ssl.create_default_context(cadata=access.ca_pem)
        ).request(
            "POST",
            f"{access.url}/realms/{realms.CIVIL_SERVANTS}/protocol/openid-connect/token",
            body=urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                }
            ),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status == 200, answer.data
        return str(json.loads(answer.data)["access_token"])


@pytest.fixture(scope="session")
def onboarded(local_dc: LocalDC, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Onboarded]:
    """The platform stack bound to the DC's cluster and object store, and the example tenants,
    in a state dir of their own (one rollout for the session); all removed afterwards, even on
    failure."""
    state = tmp_path_factory.mktemp("tenancy-state")
    tenants_dir = tmp_path_factory.mktemp("tenants")
    for example in tenant_files():
        shutil.copy(example, tenants_dir / example.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PDN_STATE_DIR", str(state))
        patch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
        patch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
        # The state where `pdn up` keeps it by default: the DC's own object store.
        env = pulumi_env.environment(state=local_dc.pulumi_state())
        platform = f"it-platform-{uuid.uuid4().hex[:6]}"
        admin = local_dc.object_storage_admin()
        storage = stacks.ObjectStorageBinding(
            local_dc.object_storage_endpoint(), admin.access_key, admin.secret_key
        )
        servers = tuple(
            stacks.DatabaseBinding(access.server, access.user, access.password)
            for access in (local_dc.database_admin(engine) for engine in ENGINES)
        )
        stacks.up_on_local_dc(
            env,
            platform,
            local_dc.site,
            LOCAL_SITE,
            local_dc.kubeconfig,
            object_storage=storage,
            databases=servers,
            cluster_tls=local_dc.cluster_tls(),
            workload_kubeconfigs=local_dc.workload_kubeconfigs(),
            host_pool=(local_dc.settings.host_pool_dir, str(local_dc.settings.host_network)),
            sso=local_dc.sso_admin(),
            signing=local_dc.signing_service(),
            identity_tls=local_dc.identity_tls(),
            gis=local_dc.gis_cluster(),
        )
        onboard = Onboarded(local_dc, env, platform, tenants_dir)
        try:
            onboard.roll_out()
            yield onboard
        finally:
            try:
                tear_down(env, SITE, progress=print)
                for shard in existing_shards(env, SITE):
                    shard_stack(env, SITE, shard).remove()
            finally:
                stacks.Stack(env, platform).remove()


@pytest.fixture(scope="session")
def local_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDC]:
    """One local DC for the session (about 5 s to start)."""
    yield from running_dc(tmp_path_factory.mktemp("dc-state"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that make and destroy platform stacks of their own (whose cluster-wide objects,
    tenant roles and node labels, the session's platform shares) run before every test that
    uses the session's `onboarded` platform, which owns those objects from then on."""
    items.sort(key=lambda item: "onboarded" in getattr(item, "fixturenames", ()))  # stable


def plaintext_leaks(
    onboarded: Onboarded,
    secrets: Sequence[str | bytes],
    *,
    homes: set[Path],
    logs: Sequence[Path] = (),
) -> tuple[list[tuple[str, int]], int]:
    """Where a secret stands in plaintext: the state (with its backups and history), the
    stack configs, the repo, the DC's logs and `logs`; `homes` are the secrets' own
    owner-only files, not searched. (leaks as (file, secret index), files searched)."""
    needles = [s if isinstance(s, bytes) else s.encode() for s in secrets]
    roots = (Path(os.environ["PDN_STATE_DIR"]), paths.REPO_ROOT)
    files = [
        p
        for root in roots
        for p in root.rglob("*")
        if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts
    ]
    files += [p for p in onboarded.dc.settings.log_dir.rglob("*") if p.is_file()]
    files += list(logs)
    leaks = [
        (str(p), n)
        for p in files
        if p not in homes
        for body in (p.read_bytes(),)  # read once, searched for each secret
        for n, secret in enumerate(needles)
        if secret in body
    ]
    # The state itself is in the DC's object store: every version of every object in its bucket.
    s3, bucket = onboarded.dc.object_storage_client(), pulumi_state.BUCKET
    versions = [
        v
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for v in page.get("Versions", [])
    ]
    for v in versions:
        body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
        leaks += [
            (f"s3://{bucket}/{v['Key']}?versionId={v['VersionId']}", n)
            for n, secret in enumerate(needles)
            if secret in body
        ]
    return leaks, len(files) + len(versions)
