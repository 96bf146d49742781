"""Fixtures that drive the real pulumi engine with the built toolchain, isolated per test run,
through pdn.stacks (the way `pdn up` drives it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pdn import paths, pulumi_env, stacks
from pdn.dc.lifecycle import LocalDC
from tests.integration.dc_fixtures import running_dc


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


@pytest.fixture(scope="session")
def local_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDC]:
    """One local DC for the session (about 5 s to start)."""
    yield from running_dc(tmp_path_factory.mktemp("dc-state"))
