"""The built toolchain, checked the way an operator would: `pdn toolchain status`."""

from __future__ import annotations

import subprocess

import pytest

from pdn import paths

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
    }
    assert set(lines) == set(expected)
    for binary, version in expected.items():
        assert version in lines[binary], lines[binary]
        assert "built here from" in lines[binary] or "found on PATH" in lines[binary]
