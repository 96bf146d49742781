"""What both benchmarks need: a scratch DC, a scratch stack of the program, README sections."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pdn import pulumi_env  # noqa: E402
from pdn.dc import LocalDC  # noqa: E402
from pdn.inventory import load_site  # noqa: E402
from tests.integration.dc_fixtures import isolated_settings  # noqa: E402


def quiet(_: str) -> None:
    """Progress sink for timed runs."""


@contextmanager
def scratch_dc(inventory: Path, slot: int) -> Iterator[tuple[LocalDC, Path]]:
    """A DC with its own interface, address, ports and state, so an operator's DC and stacks
    are left alone; stopped and removed afterwards. Yields the DC (not started) and the dir."""
    scratch = Path(tempfile.mkdtemp(prefix="pdn-bench-"))
    os.environ["PDN_STATE_DIR"] = str(scratch / "state")
    os.environ.pop("PULUMI_CONFIG_PASSPHRASE", None)
    os.environ.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    site = load_site(inventory)
    dc = LocalDC(site, isolated_settings(site, scratch / "state", slot=slot))
    try:
        yield dc, scratch
    finally:
        dc.down(purge=True, progress=quiet)
        shutil.rmtree(scratch, ignore_errors=True)


class ScratchStack:
    """A stack of a Pulumi project through the pinned CLI and pdn's environment."""

    def __init__(self, name: str, project: Path = REPO) -> None:
        env = pulumi_env.environment()
        pulumi_env.ensure_kubernetes_plugin(env)
        self.name, self.project = name, project
        self.env = env.variables() | {"PULUMI_SKIP_CONFIRMATIONS": "true"}
        self.pulumi = str(env.pulumi)

    def run(self, *args: str, stdin: str = "") -> str:
        return subprocess.run(
            [self.pulumi, *args, "--non-interactive", "--stack", self.name],
            env=self.env,
            cwd=self.project,
            input=stdin,
            text=True,
            check=True,
            capture_output=True,
        ).stdout

    def create(self, config: dict[str, str], secrets: dict[str, str]) -> None:
        subprocess.run(
            [self.pulumi, "stack", "init", self.name, "--non-interactive"],
            env=self.env,
            cwd=self.project,
            check=True,
            capture_output=True,
        )
        for key, value in config.items():
            self.run("config", "set", key, value)
        for key, value in secrets.items():  # through stdin, never on a command line
            self.run("config", "set", "--secret", key, stdin=value)

    def up(self) -> None:
        self.run("up", "--yes", "--skip-preview")

    def destroy(self) -> None:
        self.run("destroy", "--yes", "--skip-preview")

    def remove(self) -> None:
        """Destroy (a no-op when already done), remove the stack and its config file."""
        try:
            self.destroy()
            self.run("stack", "rm", "--yes")
        finally:
            (self.project / f"Pulumi.{self.name}.yaml").unlink(missing_ok=True)


def write_readme_section(marker: str, table: str) -> None:
    """Replace what stands between <!-- marker:begin --> and <!-- marker:end --> in the README."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    readme = REPO / "README.md"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    readme.write_text(pattern.sub(f"{begin}\n{table}\n{end}", readme.read_text()))
