"""The `pdn` CLI layer: exit codes and messages a user sees, never a traceback for user errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdn.cli.main import main


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
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert f"{component}" in out
    assert out.count("UNHEALTHY: not running") == 5
    assert "0/8 Ready" in out


def test_env_without_a_toolchain_says_how_to_build_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env"]) == 1
    assert "run `pdn toolchain build`" in capsys.readouterr().err


def test_unknown_component_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["toolchain", "build", "terraform"]) == 1
    assert "known components: pulumi, pulumi-kubernetes" in capsys.readouterr().err
