"""Shard stacks made with another shard count are refused before anything runs: rolling out
over them would move tenants between stacks, each namespace deleted by its old stack."""

from __future__ import annotations

import pytest
import yaml

from pdn.pulumi_env import PulumiEnvironment
from pdn.stacks import StackError
from pdn.state.backends import FileState, stack_key
from pdn.tenants import rollout
from pdn.tenants.shards import PROJECT, SHARDS, stack_name


@pytest.fixture
def env(scratch_env: PulumiEnvironment) -> PulumiEnvironment:
    return scratch_env


def _shard(env: PulumiEnvironment, shard: int, made_with: str | None) -> None:
    name = stack_name("pdn-local", shard)
    assert isinstance(env.state, FileState)
    path = env.state.root / stack_key(PROJECT, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    config = rollout.shard_stack(env, "pdn-local", shard).config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    values = {"pdn:shard": str(shard)} | ({"pdn:shards": made_with} if made_with else {})
    config.write_text(yaml.safe_dump({"config": values}))


def test_shards_of_this_layout_pass(env: PulumiEnvironment) -> None:
    _shard(env, 0, str(SHARDS))
    _shard(env, SHARDS - 1, str(SHARDS))
    rollout._check_layout(env, "pdn-local")


@pytest.mark.parametrize(
    ("shard", "made_with", "says"),
    [
        (SHARDS + 3, "32", "had 32 shards"),  # a shard this layout has no place for
        (1, "32", "had 32 shards"),
        (1, None, "another number of shards"),  # made before the count was recorded
    ],
)
def test_another_layout_is_refused(
    env: PulumiEnvironment, shard: int, made_with: str | None, says: str
) -> None:
    _shard(env, shard, made_with)
    with pytest.raises(StackError, match=says) as refused:
        rollout._check_layout(env, "pdn-local")
    assert "pdn down" in str(refused.value)
