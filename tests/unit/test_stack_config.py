"""A stack's plain config is read and written in its file directly: secrets and the secrets
salt are kept, nothing is written when nothing changed, and a shard can share a salt."""

from __future__ import annotations

import pytest
import yaml

from pdn.pulumi_env import PulumiEnvironment
from pdn.stacks import Stack, StackError

SECURE = {"secure": "v1:abc"}


@pytest.fixture
def stack(scratch_env: PulumiEnvironment) -> Stack:
    made = Stack(scratch_env, "tenants-x-00")
    made.config_file.parent.mkdir(parents=True)
    made.config_file.write_text(
        yaml.safe_dump(
            {"config": {"pdn:site": "a", "pdn:kubeconfig": SECURE}, "encryptionsalt": "v1:s"}
        )
    )
    return made


def test_plain_values_only(stack: Stack) -> None:
    assert stack.plain_config() == {"pdn:site": "a"}


def test_setting_keeps_secrets_and_salt(stack: Stack) -> None:
    stack.set_plain_config({"pdn:site": "b", "pdn:shard": "3"})
    written = yaml.safe_load(stack.config_file.read_text())
    assert written["config"] == {"pdn:site": "b", "pdn:kubeconfig": SECURE, "pdn:shard": "3"}
    assert written["encryptionsalt"] == "v1:s"
    assert stack.config_file.stat().st_mode & 0o077 == 0


def test_an_unchanged_value_writes_nothing(stack: Stack) -> None:
    before = stack.config_file.stat().st_mtime_ns
    stack.set_plain_config({"pdn:site": "a"})
    assert stack.config_file.stat().st_mtime_ns == before


def test_keys_are_namespaced(stack: Stack) -> None:
    with pytest.raises(StackError, match="namespaced"):
        stack.set_plain_config({"site": "b"})


def test_a_broken_config_file_is_named(stack: Stack) -> None:
    stack.config_file.write_text("config: [\n")
    with pytest.raises(StackError, match=str(stack.config_file)):
        stack.plain_config()
