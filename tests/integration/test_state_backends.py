"""The stacks' state in the DC's own object store (the default) and on a disk (file backend), each
driven by the real pulumi engine: updates, no-op updates, secrets kept encrypted, a concurrent
`up` refused, an `up` killed by PID whose lock the next `up` clears, SeaweedFS's lock-folder
trap, the state identity's reach, and the move of file stacks into the object store."""

from __future__ import annotations

import os
import secrets
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from pdn import pulumi_env
from pdn.dc import pulumi_state
from pdn.dc.lifecycle import LocalDC
from pdn.pulumi_env import PulumiEnvError, PulumiEnvironment
from pdn.stacks import Program, Stack, StackError
from pdn.state.backends import (
    LOCKS,
    FileState,
    Lock,
    S3State,
    StateBackend,
    locks,
    stack_key,
    stack_names,
)
from pdn.state.migrate import migrate

PROJECT = "pdn"
TOKEN_KEY = "pdn:token"


def _program(delay: float = 0.0) -> Program:
    def program() -> None:
        import pulumi  # noqa: PLC0415

        time.sleep(delay)  # long enough for another `up` to meet this one's lock
        pulumi.export("greeting", "selamat pagi")
        pulumi.export("token", pulumi.Config("pdn").require_secret("token"))

    return program


@pytest.fixture(params=["object-storage", "file"])
def backend(request: pytest.FixtureRequest, local_dc: LocalDC, tmp_path: Path) -> StateBackend:
    if request.param == "file":
        return FileState(tmp_path / "pulumi-state")
    return local_dc.pulumi_state()


def _environment(state: StateBackend) -> PulumiEnvironment:
    env = pulumi_env.environment(state=state)
    pulumi_env.ensure_kubernetes_plugin(env)
    return env


@pytest.fixture
def stack(isolated_state: Path, backend: StateBackend) -> Iterator[Stack]:
    made = Stack(_environment(backend), f"it-state-{uuid.uuid4().hex[:8]}")
    made.ensure()
    made.set_config(TOKEN_KEY, secrets.token_urlsafe(24), secret=True)
    try:
        yield made
    finally:
        made.remove()
    assert not made.exists()


def _wait_for_lock(stack: Stack, first: Future[dict[str, int]]) -> Lock:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        held = locks(stack.env.state, PROJECT, stack.name)
        if held:
            return held[0]
        if first.done():
            first.result()  # its error, if it failed before taking the lock
            pytest.fail("the first update finished before its lock was seen")
        time.sleep(0.1)
    pytest.fail("the first update took no lock within 60 s")


def test_up_keeps_state_in_the_backend_with_secrets_encrypted(stack: Stack) -> None:
    assert stack.up(program=_program()) == {"create": 1}
    assert stack.up(program=_program()) == {"same": 1}  # a second up changes nothing
    assert stack.name in stack_names(stack.env.state, PROJECT)
    state = stack.env.state.read(stack_key(PROJECT, stack.name))
    assert state is not None
    assert b"selamat pagi" in state
    token = stack.get_config(TOKEN_KEY)
    assert token
    assert token.encode() not in state
    assert stack.outputs(show_secrets=True)["token"] == token
    print(f"state of {stack.name}: {len(state)} bytes in {stack.env.state.description}")


def test_a_concurrent_up_is_refused_with_its_holder(stack: Stack) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(stack.up, program=_program(delay=8))
        lock = _wait_for_lock(stack, first)
        with pytest.raises(StackError, match="is locked by an update that is running") as refused:
            stack.up(program=_program())
        assert f"pid {lock.holder['pid']} on {lock.holder['hostname']}" in str(refused.value)
        assert first.result() == {"create": 1}  # the first one was not disturbed
    assert not locks(stack.env.state, PROJECT, stack.name)


def test_an_up_killed_by_pid_leaves_a_lock_the_next_up_clears(stack: Stack) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(stack.up, program=_program(delay=20))
        lock = _wait_for_lock(stack, first)
        os.kill(int(lock.holder["pid"]), signal.SIGKILL)  # the pulumi CLI holding the lock
        with pytest.raises(PulumiEnvError):
            first.result()
    assert locks(stack.env.state, PROJECT, stack.name)  # left behind: DIY locks never expire
    assert stack.up(program=_program()) == {"create": 1}
    assert not locks(stack.env.state, PROJECT, stack.name)


def test_the_lock_folder_seaweedfs_lists_is_cleared_before_each_command(
    isolated_state: Path, local_dc: LocalDC
) -> None:
    made = Stack(_environment(local_dc.pulumi_state()), f"it-state-{uuid.uuid4().hex[:8]}")
    made.ensure()
    made.set_config(TOKEN_KEY, "t", secret=True)
    try:
        assert made.up(program=_program()) == {"create": 1}
        folder = f"{LOCKS}/{PROJECT}/{made.name}/"
        made.env.state.write(folder, b"")  # what the store lists after a lock file is deleted
        with pytest.raises(PulumiEnvError, match="unexpected end of JSON input"):
            pulumi_env.run_pulumi(  # pulumi itself, without pdn's clearing: the trap is real
                made.env,
                ["refresh", "--yes", "--stack", made.name, "--config-file", str(made.config_file)],
                capture=True,
            )
        assert made.up(program=_program()) == {"same": 1}
        assert folder not in made.env.state.keys(folder)
    finally:
        made.remove()


def test_the_state_key_reaches_the_state_bucket_only(local_dc: LocalDC) -> None:
    state = local_dc.pulumi_state()
    s3 = state._client()
    s3.list_objects_v2(Bucket=pulumi_state.BUCKET, MaxKeys=1)  # its own: allowed
    refused = []
    calls: dict[str, Callable[[], object]] = {
        "list the database backups": lambda: s3.list_objects_v2(Bucket="pdn-db-backup"),
        "create a bucket": lambda: s3.create_bucket(Bucket=f"it-{uuid.uuid4().hex[:8]}"),
        "turn versioning off": lambda: s3.put_bucket_versioning(
            Bucket=pulumi_state.BUCKET, VersioningConfiguration={"Status": "Suspended"}
        ),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as denied:
            call()
        refused.append(f"{name}: {denied.value.response['Error']['Code']}")
    print("state key refused: " + "; ".join(refused))
    admin = local_dc.object_storage_client()
    assert admin.get_bucket_versioning(Bucket=pulumi_state.BUCKET)["Status"] == "Enabled"


def test_file_stacks_move_into_the_object_store_unchanged(
    isolated_state: Path, local_dc: LocalDC
) -> None:
    source = FileState(pulumi_env.file_state_dir())
    on_disk = Stack(_environment(source), f"it-state-{uuid.uuid4().hex[:8]}")
    on_disk.ensure()
    on_disk.set_config(TOKEN_KEY, "kept across the move", secret=True)
    target: S3State = local_dc.pulumi_state()
    moved_stack = Stack(_environment(target), on_disk.name)
    try:
        assert on_disk.up(program=_program()) == {"create": 1}
        moved = migrate(source, target)
        assert moved.stacks == (f"{PROJECT}/{on_disk.name}",)
        assert moved.kept_at is not None
        assert moved.kept_at.is_dir()
        assert not source.root.exists()  # set aside, not deleted
        assert moved_stack.exists()
        assert moved_stack.up(program=_program()) == {"same": 1}  # nothing made anew
        assert moved_stack.outputs(show_secrets=True)["token"] == "kept across the move"
        assert migrate(source, target).kept_at is None  # a second run has nothing to move
    finally:
        moved_stack.remove()
