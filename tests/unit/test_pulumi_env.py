"""The environment every pulumi invocation gets."""

from __future__ import annotations

import shlex
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from pdn import paths, pulumi_env
from pdn.pulumi_env import PulumiEnvError
from pdn.toolchain import bin_dir


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PDN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PDN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    return tmp_path


def _fake_pulumi(script: str = "#!/bin/sh\n") -> Path:
    toolchain = bin_dir()
    toolchain.mkdir(parents=True)
    (toolchain / "pulumi").write_text(script)
    (toolchain / "pulumi").chmod(0o755)
    return toolchain


@pytest.fixture
def tmpdir_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process's temporary directory (TMPDIR and tempfile's), empty."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    return tmp


def test_missing_cli_says_how_to_build_it(dirs: Path) -> None:
    with pytest.raises(PulumiEnvError, match="run `pdn toolchain build`"):
        pulumi_env.environment()


def test_variables_are_air_gapped_and_outside_the_clone(dirs: Path) -> None:
    toolchain = _fake_pulumi()
    env = pulumi_env.environment().variables({"PATH": "/usr/bin", "HOME": "/root"})
    path = env["PATH"].split(":")
    assert path[0] == str(toolchain)
    assert path[1] == str(paths.venv_bin())
    assert path[-1] == "/usr/bin"
    assert env["PULUMI_HOME"] == str(dirs / "cache" / "pulumi-home")
    assert env["PULUMI_BACKEND_URL"] == (dirs / "state" / "pulumi-state").as_uri()
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_IGNORE_AMBIENT_PLUGINS"] == "true"
    assert env["PULUMI_PYTHON_CMD"].endswith("/python")
    assert env["HOME"] == "/root"


def test_local_passphrase_is_generated_once_and_private(dirs: Path) -> None:
    _fake_pulumi()
    first = pulumi_env.environment()
    assert first.passphrase_file is not None
    mode = stat.S_IMODE(first.passphrase_file.stat().st_mode)
    assert mode == 0o600
    secret = first.passphrase_file.read_text()
    assert len(secret) >= 32
    second = pulumi_env.environment()
    assert second.passphrase_file == first.passphrase_file
    assert second.passphrase_file.read_text() == secret
    env = second.variables({"PATH": "", "PULUMI_CONFIG_PASSPHRASE": "stale"})
    assert "PULUMI_CONFIG_PASSPHRASE" not in env
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(first.passphrase_file)


def test_operator_passphrase_wins(dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_pulumi()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-the-vault")
    env = pulumi_env.environment()
    assert env.passphrase_file is None
    assert env.variables()["PULUMI_CONFIG_PASSPHRASE"] == "from-the-vault"
    assert not (dirs / "state" / "secrets").exists()


def test_exports_are_shell_safe(
    dirs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A state dir with a space, a quote and a `$(…)`: the shell must read them back verbatim.
    hostile = tmp_path / "it's $(touch pwned) `x` dir"
    monkeypatch.setenv("PDN_STATE_DIR", str(hostile))
    monkeypatch.chdir(tmp_path)
    _fake_pulumi()
    exports = pulumi_env.environment().exports()
    for line in exports.splitlines():
        assert shlex.split(line)[0] == "export", line
    script = 'eval "$1"; printf "%s\\n" "$PULUMI_BACKEND_URL" "$PULUMI_CONFIG_PASSPHRASE_FILE"'
    shown = subprocess.run(
        ["/bin/sh", "-c", script, "sh", exports], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    parsed = dict(zip(["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE"], shown, strict=True))
    assert parsed["PULUMI_BACKEND_URL"] == (hostile / "pulumi-state").as_uri()
    assert parsed["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(hostile / "secrets" / "pulumi-passphrase")
    assert not (tmp_path / "pwned").exists()


def test_pulumis_plugins_get_a_private_tmpdir_that_is_removed_after(
    dirs: Path, tmpdir_here: Path
) -> None:
    # As the kubernetes provider does at every start: a kubeconfig written to $TMPDIR, left there.
    _fake_pulumi(
        '#!/bin/sh\nprintf "%s" "$TMPDIR"\necho "client-key-data: x" > "$TMPDIR/kubeconfig1"\n'
    )
    shown = pulumi_env.run_pulumi(pulumi_env.environment(), ["version"], capture=True).stdout
    scratch = Path(shown)
    assert scratch.parent == tmpdir_here
    assert not scratch.exists()
    assert list(tmpdir_here.iterdir()) == []


def test_the_private_tmpdir_is_removed_when_pulumi_fails(dirs: Path, tmpdir_here: Path) -> None:
    _fake_pulumi('#!/bin/sh\n: > "$TMPDIR/kubeconfig1"\nexit 3\n')
    with pytest.raises(PulumiEnvError, match="exit 3"):
        pulumi_env.run_pulumi(pulumi_env.environment(), ["up"], capture=True)
    assert list(tmpdir_here.iterdir()) == []
