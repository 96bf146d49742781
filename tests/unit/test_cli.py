"""The `pdn` CLI layer: exit codes and messages a user sees, never a traceback for user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pdn.cli.main import main
from pdn.dc import cluster_api, control_plane
from pdn.dc import gis as dc_gis
from pdn.toolchain import bin_dir, builder
from tests.unit.conftest import restricted_path


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PDN_CACHE_DIR", str(tmp_path / "cache"))


def test_bad_inventory_is_one_line_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "site.yaml"
    bad.write_text("site: {code: x, name: X, region_code: '32.00', tier: local}\nhalls: []\n")
    assert main(["dc", "up", "--inventory", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"pdn: {bad}: site.region_code:")
    assert "Traceback" not in err


def test_dc_status_of_a_stopped_dc_says_what_is_down(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dc", "status"]) == 1
    out = capsys.readouterr().out
    components = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
    data_services = (
        "object-storage",
        "object-storage-second-site",
        "postgresql",
        "mariadb",
        "dbaas-gateway",
        "dns",
        "keycloak",
        "tte",
        "gis",
    )
    cluster_api = (
        "capi-controller",
        "capi-kubeadm-bootstrap",
        "capi-kubeadm-control-plane",
        "capd-controller",
    )
    for component in (*components, *data_services, *cluster_api):
        assert f"{component}" in out
    for plane in ("general", "restricted"):  # the workload clusters' own control planes
        for component in components:
            assert f"{plane}/{component} " in out
    assert out.count("UNHEALTHY: not running") == 19 + 2 * 5
    assert "0/8 Ready" in out


def test_env_without_a_toolchain_says_how_to_build_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env"]) == 1
    assert "run `pdn toolchain build`" in capsys.readouterr().err


def test_unknown_component_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["toolchain", "build", "terraform"]) == 1
    err = capsys.readouterr().err
    assert "unknown component terraform; known components: pulumi, pulumi-kubernetes" in err


def _fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "go").write_text(f"#!/bin/sh\n{script}\n")
    (bin_dir / "go").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{restricted_path()}")


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    return err


def test_a_failing_go_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_go(tmp_path, monkeypatch, "echo 'go: cannot find GOROOT directory' >&2; exit 2")
    assert main(["toolchain", "build", "etcd"]) == 1
    err = _one_line_error(capsys)
    assert "go env GOVERSION` failed (exit 2): go: cannot find GOROOT directory" in err


def test_a_hanging_go_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_go(tmp_path, monkeypatch, "exec sleep 30")
    monkeypatch.setattr(builder, "GO_TIMEOUT", 1.0)
    assert main(["toolchain", "build", "etcd"]) == 1
    assert "env GOVERSION` did not answer in 1s" in _one_line_error(capsys)


def test_a_failing_go_build_points_at_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_go(
        tmp_path,
        monkeypatch,
        'case "$1" in env) echo go1.26.8;; *) echo "no space left on device" >&2; exit 1;; esac',
    )
    assert main(["toolchain", "build", "etcd"]) == 1
    err = _one_line_error(capsys)
    assert "`go build -trimpath …` failed (exit 1)" in err
    assert "logs/etcd.log" in err


def test_no_go_says_how_to_get_a_toolchain(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["toolchain", "build"]) == 1
    assert "Go is not on PATH" in _one_line_error(capsys)


def test_a_missing_ip_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    binaries = bin_dir()
    binaries.mkdir(parents=True)
    for name in (*control_plane.ORDER, *cluster_api.NAMES, dc_gis.FRONT_BINARY):
        (binaries / name).write_text("#!/bin/sh\n")
    assert main(["dc", "up"]) == 1
    assert "the `ip` command is missing: install iproute2" in _one_line_error(capsys)


def test_an_unexpected_failure_is_one_line_with_how_to_see_more(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("pdn.toolchain.status", broken)
    monkeypatch.delenv("PDN_DEBUG", raising=False)
    assert main(["toolchain", "status"]) == 70
    err = _one_line_error(capsys)
    assert "internal error (RuntimeError: boom)" in err
    assert "PDN_DEBUG=1" in err


def test_env_prints_exports_without_making_a_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.setenv("PDN_STATE_BACKEND", "file")
    bin_dir().mkdir(parents=True)
    (bin_dir() / "pulumi").write_text("#!/bin/sh\n")
    assert main(["env"]) == 0
    captured = capsys.readouterr()
    assert "export PULUMI_BACKEND_URL=" in captured.out
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in captured.out
    assert "no stack passphrase yet" in captured.err
    assert not (tmp_path / "state").exists()  # nothing made as a side effect


def test_the_cli_imports_only_what_a_command_uses() -> None:
    # `pdn --help` must stay fast: no heavy library is imported before a command runs.
    code = (
        "import sys, pdn.cli.main; "
        "print(','.join(sorted(m for m in ('kubernetes', 'pulumi', 'grpc', 'rich', 'lokal', "
        "'cryptography', 'boto3', 'ansible_runner') if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_state_in_a_dc_never_brought_up_says_how_to_make_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PDN_STATE_BACKEND", raising=False)  # the default: the DC's object store
    bin_dir().mkdir(parents=True)
    (bin_dir() / "pulumi").write_text("#!/bin/sh\n")
    assert main(["env"]) == 0  # prints where the state will be, and says it is not made
    captured = capsys.readouterr()
    assert "export PULUMI_BACKEND_URL='s3://pdn-pulumi-state?" in captured.out
    assert "state bucket of the local DC is not made yet: `pdn dc up` makes it" in captured.err
    assert main(["state", "show"]) == 1  # a command that reads the state: refused
    err = _one_line_error(capsys)
    assert "no Pulumi state bucket yet" in err
    assert "run `pdn dc up` first" in err
    assert "PDN_STATE_BACKEND=file" in err


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("postgres://pdn@db/state", "expected object-storage"),
        ("s3://bucket", "expected s3://BUCKET?endpoint=https://HOST:PORT"),
        ("s3://bucket?endpoint=http://127.0.0.1:1", "only https:// is accepted"),
    ],
)
def test_a_state_backend_that_is_not_supported_is_named(
    value: str, says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PDN_STATE_BACKEND", value)
    assert main(["state", "show"]) == 1
    assert says in _one_line_error(capsys)


class _LeftPipe:
    """A stdout whose reader has gone (`pdn … | head -1` after its line)."""

    def write(self, _text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("no file descriptor")


def test_a_reader_that_leaves_is_no_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pipe closes under pdn, which stops quietly (exit 141, as a shell reports SIGPIPE),
    not with `internal error`."""
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", _LeftPipe())
        code = main(["tenant", "list"])
    assert code == 141
    assert capsys.readouterr().err == ""
