"""The state backends' shared layout, read without pulumi: stacks, checkpoints, locks; the move
of file stacks; the S3 backend's URL for pulumi."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pdn.pulumi_env import PulumiEnvError
from pdn.state.backends import (
    FileState,
    S3State,
    checkpoint,
    has_stack,
    locks,
    stack_key,
    stack_names,
)
from pdn.state.migrate import migrate


def _stack(state: FileState, project: str, name: str, resources: int = 1) -> None:
    document = {
        "checkpoint": {"latest": {"resources": [{"urn": f"u{i}"} for i in range(resources)]}}
    }
    state.write(stack_key(project, name), json.dumps(document).encode())


def test_stacks_and_checkpoints_are_read_from_the_layout(tmp_path: Path) -> None:
    state = FileState(tmp_path)
    _stack(state, "pdn", "local", resources=3)
    _stack(state, "pdn-tenants", "tenants-pdn-local-04")
    state.write(".pulumi/stacks/pdn/local.json.bak", b"{}")  # pulumi's spare copy: not a stack
    assert stack_names(state, "pdn") == {"local"}
    assert stack_names(state, "pdn-tenants") == {"tenants-pdn-local-04"}
    assert has_stack(state, "pdn", "local")
    assert not has_stack(state, "pdn", "other")
    assert len(checkpoint(state, "pdn", "local")["resources"]) == 3
    assert checkpoint(state, "pdn", "other") == {}
    state.write(stack_key("pdn", "broken"), b"{not json")
    assert checkpoint(state, "pdn", "broken") == {}  # unreadable: no resources, no crash


def test_locks_are_read_with_their_holder(tmp_path: Path) -> None:
    state = FileState(tmp_path)
    folder = ".pulumi/locks/organization/pdn/local"
    holder = {"pid": 4242, "hostname": "ops-1", "username": "root", "timestamp": "t"}
    state.write(f"{folder}/a.json", json.dumps(holder).encode())
    state.write(f"{folder}/b.json", b"")  # half-written: not a lock anyone can name
    assert [lock.holder["pid"] for lock in locks(state, "pdn", "local")] == [4242]
    assert locks(state, "pdn", "elsewhere") == []


def test_file_stacks_move_with_their_history_and_the_source_is_kept(tmp_path: Path) -> None:
    source, target = FileState(tmp_path / "file"), FileState(tmp_path / "bucket")
    _stack(source, "pdn", "local")
    _stack(source, "pdn-tenants", "tenants-pdn-local-02")
    source.write(".pulumi/meta.yaml", b"version: 1\n")
    source.write(".pulumi/history/pdn/local/local-1.history.json", b"{}")
    source.write(".pulumi/backups/pdn/local/local.1.json", b"{}")  # pulumi's spares: left
    moved = migrate(source, target)
    assert moved.stacks == ("pdn/local", "pdn-tenants/tenants-pdn-local-02")
    assert moved.files == 4
    assert target.walk() == sorted(
        [
            ".pulumi/history/pdn/local/local-1.history.json",
            ".pulumi/meta.yaml",
            stack_key("pdn", "local"),
            stack_key("pdn-tenants", "tenants-pdn-local-02"),
        ]
    )
    assert moved.kept_at is not None
    assert (moved.kept_at / stack_key("pdn", "local")).is_file()
    assert not source.root.exists()


def test_a_stack_the_target_already_holds_stops_the_move(tmp_path: Path) -> None:
    source, target = FileState(tmp_path / "file"), FileState(tmp_path / "bucket")
    _stack(source, "pdn", "local")
    _stack(source, "pdn", "other")
    _stack(target, "pdn", "local", resources=5)
    with pytest.raises(PulumiEnvError, match="already holds pdn/local: nothing was moved"):
        migrate(source, target)
    assert stack_names(target, "pdn") == {"local"}
    assert len(checkpoint(target, "pdn", "local")["resources"]) == 5
    assert source.root.is_dir()


def test_a_running_update_stops_the_move(tmp_path: Path) -> None:
    source, target = FileState(tmp_path / "file"), FileState(tmp_path / "bucket")
    _stack(source, "pdn", "local")
    source.write(".pulumi/locks/organization/pdn/local/x.json", b'{"pid": 1}')
    with pytest.raises(PulumiEnvError, match="an update holds a lock"):
        migrate(source, target)
    assert target.walk() == []


def test_the_s3_url_tells_pulumi_the_endpoint_path_style_and_profile(tmp_path: Path) -> None:
    state = S3State(
        "pdn-pulumi-state",
        "https://127.0.0.1:18334",
        ca_file=tmp_path / "ca.crt",
        credentials_file=tmp_path / "creds",
        profile="pdn-pulumi-state",
    )
    parts = urlsplit(state.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc) == ("s3", "pdn-pulumi-state")
    assert query["endpoint"] == "https://127.0.0.1:18334"
    assert query["s3ForcePathStyle"] == "true"
    assert query["profile"] == "pdn-pulumi-state"
    variables = state.variables()
    assert variables["AWS_CA_BUNDLE"] == str(tmp_path / "ca.crt")
    assert variables["AWS_SHARED_CREDENTIALS_FILE"] == str(tmp_path / "creds")
    assert not any("SECRET" in key for key in variables)  # the key stays in its file
    operator = S3State.from_url("s3://state?endpoint=https://rgw.pdn.go.id&profile=ops")
    assert (operator.bucket, operator.endpoint, operator.profile) == (
        "state",
        "https://rgw.pdn.go.id",
        "ops",
    )
