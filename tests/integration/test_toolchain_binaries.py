"""The built toolchain, checked the way an operator would: `pdn toolchain status`."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from pdn import paths, toolchain
from pdn.toolchain import buildinfo

pytestmark = pytest.mark.integration


def test_status_lists_every_binary_built_here() -> None:
    proc = subprocess.run(
        [str(paths.venv_bin() / "pdn"), "toolchain", "status"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()[:-1]}
    expected = {
        "pulumi": "v3.274.1",
        "kube-apiserver": "v1.34.4",
        "kubectl": "v1.34.4",
        "etcd": "3.6.16",
        "kwok": "v0.8.0",
        "pulumi-resource-kubernetes": "plugin 4.25.0",
        "pulumi-language-python": "sdk/v3@v3.68.0",
        "kube-scheduler": "v1.34.4",
        "kube-controller-manager": "v1.34.4",
        "pulumi-language-python-exec": "(script)",
        "pulumi-resource-pulumi-python": "(script)",
        "capi-controller": "sigs.k8s.io/cluster-api@v1.14.2",
        "capi-kubeadm-bootstrap": "sigs.k8s.io/cluster-api@v1.14.2",
        "capi-kubeadm-control-plane": "sigs.k8s.io/cluster-api@v1.14.2",
        "capd-controller": "sigs.k8s.io/cluster-api/test@v1.14.2",
        "pdn-features": "pdn-features 0.1.0",
    }
    assert set(lines) == set(expected)
    for binary, version in expected.items():
        assert version in lines[binary], lines[binary]
        assert "built here from" in lines[binary] or "found on PATH" in lines[binary]
    assert proc.stdout.splitlines()[-1].startswith("all 16 binaries present in")


def test_go_version_m_and_pdns_own_reader_agree() -> None:
    go = shutil.which("go")
    assert go, "the build host has Go"
    binary = toolchain.bin_dir() / "pulumi-language-python"
    shown = subprocess.run(
        [go, "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert buildinfo.describe(binary) == shown


def _operator_host(cache: Path, state: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """argv as an operator host runs it: no Go on PATH, its own empty cache and state, and no
    network at all (a new network namespace with only loopback up)."""
    path = os.pathsep.join(
        p
        for p in ("/usr/local/sbin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
        if not (Path(p) / "go").exists()
    )
    env = {
        "PATH": path,
        "HOME": os.environ.get("HOME", "/root"),
        "PDN_CACHE_DIR": str(cache),
        "PDN_STATE_DIR": str(state),
        "LANG": "C.UTF-8",
    }
    script = 'ip link set lo up && exec "$@"'
    return subprocess.run(
        ["unshare", "--net", "sh", "-c", script, "sh", *argv],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


def test_an_operator_host_without_go_or_network_imports_and_runs_it(tmp_path: Path) -> None:
    archive = tmp_path / "pdn-toolchain.tar"
    manifest = toolchain.export(archive)
    assert set(manifest["components"]) == {
        "pulumi",
        "pulumi-kubernetes",
        "kubernetes",
        "etcd",
        "kwok",
        "cluster-api",
        "pdn-features",
    }
    cache, state = tmp_path / "operator-cache", tmp_path / "operator-state"
    pdn = str(paths.venv_bin() / "pdn")

    proc = _operator_host(cache, state, pdn, "toolchain", "import", str(archive))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checksums and versions verified" in proc.stdout

    proc = _operator_host(cache, state, pdn, "toolchain", "status")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("kube-apiserver ")]
    assert "v1.34.4" in rows[0]
    assert "imported from pdn-toolchain.tar" in rows[0]
    assert "plugin 4.25.0" in proc.stdout  # the provider answered over gRPC, on loopback

    proc = _operator_host(cache, state, pdn, "dc", "status")
    assert proc.returncode == 1  # not started here; but it ran, without Go
    assert "UNHEALTHY: not running" in proc.stdout
    assert "Traceback" not in proc.stderr

    proc = _operator_host(cache, state, pdn, "env")
    assert proc.returncode == 0, proc.stderr
    assert str(cache) in proc.stdout


def test_an_archive_from_other_pins_is_refused_through_the_cli(tmp_path: Path) -> None:
    archive = tmp_path / "pdn-toolchain.tar"
    with tarfile.open(archive, "w") as tar:
        data = json.dumps({"format": 1, "pins": "000000000000", "files": {}}).encode()
        info = tarfile.TarInfo("pdn-toolchain/manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    proc = _operator_host(
        tmp_path / "c",
        tmp_path / "s",
        str(paths.venv_bin() / "pdn"),
        "toolchain",
        "import",
        str(archive),
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert "was built from other pins (000000000000)" in proc.stderr
