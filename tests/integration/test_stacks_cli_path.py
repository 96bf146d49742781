"""The code path of `pdn up` / `pdn down`: the pinned CLI with pdn's environment, the kubeconfig
passed as a secret through stdin, idempotent config, against the real local DC."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pdn import paths, pulumi_env, stacks
from pdn.dc import LocalDC

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_name(engine: pulumi_env.PulumiEnvironment) -> Iterator[str]:
    name = f"it-cli-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        try:
            stacks.destroy(engine, name)
            pulumi_env.run_pulumi(engine, ["stack", "rm", name, "--yes"], capture=True)
        finally:
            (paths.REPO_ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)


def test_up_twice_keeps_config_and_changes_nothing(
    engine: pulumi_env.PulumiEnvironment, local_dc: LocalDC, stack_name: str
) -> None:
    config_file = paths.REPO_ROOT / f"Pulumi.{stack_name}.yaml"
    stacks.up(engine, stack_name, kubeconfig=local_dc.kubeconfig)
    config = config_file.read_text()
    assert "pdn:kubeconfig:\n    secure: v1:" in config
    assert "client-key-data" not in config  # the kubeconfig is stored encrypted only

    stacks.up(engine, stack_name, kubeconfig=local_dc.kubeconfig)
    assert config_file.read_text() == config  # unchanged secret: not re-encrypted
    preview = pulumi_env.run_pulumi(
        engine, ["preview", "--stack", stack_name, "--expect-no-changes"], capture=True
    )
    assert "61 unchanged" in preview.stdout


def test_a_failing_pulumi_command_is_one_clear_error(
    engine: pulumi_env.PulumiEnvironment,
) -> None:
    with pytest.raises(pulumi_env.PulumiEnvError, match=r"`pulumi stack select no-such-stack`"):
        pulumi_env.run_pulumi(engine, ["stack", "select", "no-such-stack"], capture=True)
