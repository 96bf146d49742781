"""Fixtures that drive the real pulumi engine with the built toolchain, isolated per test run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from pdn import paths, pulumi_env
from pdn.dc import LocalDC
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
def stack(engine: pulumi_env.PulumiEnvironment) -> Iterator[auto.Stack]:
    """A fresh stack of the repo's own program; removed (with its config file) afterwards."""
    name = f"it-{uuid.uuid4().hex[:8]}"
    workspace = auto.LocalWorkspace(
        work_dir=str(paths.REPO_ROOT),
        env_vars=engine.variables(),
        pulumi_command=auto.PulumiCommand(root=str(engine.toolchain_bin.parent)),
        secrets_provider="passphrase",
    )
    created = auto.Stack.create(name, workspace)
    try:
        yield created
    finally:
        try:
            created.destroy()
            workspace.remove_stack(name)
        finally:
            (paths.REPO_ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)


@pytest.fixture(scope="session")
def local_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDC]:
    """One local DC for the session (about 5 s to start)."""
    yield from running_dc(tmp_path_factory.mktemp("dc-state"))
