"""The host_files module, run by Ansible on this machine: check mode writes nothing and says
what would change, a run writes each file whole with its mode (its directory made), a second
run changes nothing, and a file changed by hand (content or mode) is put right alone."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import ansible_runner
import pytest

from pdn import paths

pytestmark = pytest.mark.integration

COLLECTIONS = paths.REPO_ROOT / "playbooks" / "collections"


def _runner(tmp_path: Path, files: list[dict[str, str]], *, check: bool = False) -> Any:
    # A directory per run: ansible-runner keeps a run's options (--check) in it for the next.
    runner = Path(tempfile.mkdtemp(prefix="runner-", dir=tmp_path))
    return ansible_runner.run(
        private_data_dir=str(runner),
        host_pattern="localhost",
        inventory=f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}",
        module="pdn.migrate.host_files",
        module_args=json.dumps({"files": files}),
        cmdline="--check" if check else None,
        envvars={
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
            "PATH": os.pathsep.join([str(paths.venv_bin()), os.environ.get("PATH", "")]),
        },
        quiet=True,
    )


def _run(tmp_path: Path, files: list[dict[str, str]], *, check: bool = False) -> dict[str, Any]:
    outcome = _runner(tmp_path, files, check=check)
    assert outcome.status == "successful", outcome.stats
    results = [e["event_data"]["res"] for e in outcome.events if e["event"] == "runner_on_ok"]
    assert len(results) == 1
    return dict(results[0])


def test_files_are_written_once_with_their_modes(tmp_path: Path) -> None:
    site = tmp_path / "etc" / "nginx" / "sites-enabled" / "default"
    boot = tmp_path / "etc" / "pdn" / "boot.d" / "50-web"
    files = [
        {"path": str(site), "content": "server {\n\tlisten 80;\n}\n", "mode": "0644"},
        {"path": str(boot), "content": "#!/bin/sh\nexec true\n", "mode": "0755"},
    ]
    checked = _run(tmp_path, files, check=True)
    assert checked["changed"]
    assert checked["changed_paths"] == [str(site), str(boot)]
    assert not site.exists()

    assert _run(tmp_path, files)["changed"]
    assert site.read_text() == "server {\n\tlisten 80;\n}\n"
    assert oct(boot.stat().st_mode & 0o777) == "0o755"
    assert oct(site.stat().st_mode & 0o777) == "0o644"

    again = _run(tmp_path, files)
    assert not again["changed"]

    boot.chmod(0o600)
    site.write_text("diubah\n")
    fixed = _run(tmp_path, files)
    assert fixed["changed_paths"] == [str(site), str(boot)]
    assert oct(boot.stat().st_mode & 0o777) == "0o755"
    assert site.read_text() == "server {\n\tlisten 80;\n}\n"


def test_a_relative_path_is_refused(tmp_path: Path) -> None:
    outcome = _runner(tmp_path, [{"path": "etc/x", "content": "", "mode": "0644"}])
    failed = [e["event_data"]["res"] for e in outcome.events if e["event"] == "runner_on_failed"]
    assert failed[0]["msg"] == "etc/x: give an absolute path"
