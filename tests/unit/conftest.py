"""Pulumi mocks shared by component tests: every registered resource is recorded."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest

from pdn.pulumi_env import PulumiEnvironment
from pdn.state.backends import FileState

# Unit tests run on a PATH with only these: no Go, no iproute2, no toolchain binary. A test
# that needs one of them is an integration test.
UNIT_TEST_COMMANDS = ("sh", "sleep", "cat")


@pytest.fixture(autouse=True, scope="session")
def bare_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    bare = tmp_path_factory.mktemp("bare-path")
    for command in UNIT_TEST_COMMANDS:
        found = shutil.which(command)
        assert found, f"{command} is needed by the unit tests"
        (bare / command).symlink_to(found)
    saved = os.environ["PATH"]
    os.environ["PATH"] = str(bare)
    yield str(bare)
    os.environ["PATH"] = saved


@pytest.fixture
def scratch_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PulumiEnvironment:
    """A Pulumi environment and pdn state dir of the test's own, all under tmp_path (nothing
    in it is run: for code that reads and writes the state's files)."""
    monkeypatch.setenv("PDN_STATE_DIR", str(tmp_path))
    return PulumiEnvironment(
        toolchain_bin=tmp_path / "bin",
        venv_bin=tmp_path / "venv",
        pulumi_home=tmp_path / "home",
        state=FileState(tmp_path / "backend"),
        passphrase_file=None,
    )


def restricted_path() -> str:
    """The PATH unit tests run with."""
    return os.environ["PATH"]


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    resources: list[pulumi.runtime.MockResourceArgs] = field(default_factory=list)

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def pulumi_mocks() -> RecordingMocks:
    # Pulumi's runtime takes the thread's current loop; a test before this one that ran
    # asyncio.run (pyHanko does) leaves the thread without one: then it gets a new one.
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="pdn", stack="unit", preview=False)
    return mocks


def run_program(program: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a Pulumi program under the mocks until every registration finished; return the
    resolved values of the outputs it returns."""
    resolved: dict[str, Any] = {}

    def body() -> pulumi.Output[None]:
        outputs = program()
        return pulumi.Output.all(**outputs).apply(resolved.update)

    pulumi.runtime.test(body)()  # type: ignore[no-untyped-call]
    return resolved
