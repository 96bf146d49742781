"""The one place that decides the environment of every pulumi invocation.

Air-gapped and non-interactive: the pinned toolchain and the project's venv first on PATH, a
PULUMI_HOME and a file backend outside the clone, a passphrase secrets provider, no update checks,
no plugin downloads, the kubernetes provider installed from the locally built binary.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pdn import paths
from pdn.files import private_dir, tighten, write_private
from pdn.toolchain import bin_dir
from pdn.toolchain.components import PULUMI_KUBERNETES_VERSION

if TYPE_CHECKING:
    from pdn.state.backends import StateBackend

PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


class PulumiEnvError(Exception):
    """Pulumi cannot be run here; the message says what to fix."""


@dataclass(frozen=True)
class PulumiEnvironment:
    toolchain_bin: Path
    venv_bin: Path
    pulumi_home: Path
    state: StateBackend
    passphrase_file: Path | None  # None: the caller's own PULUMI_CONFIG_PASSPHRASE(_FILE) is used

    @property
    def pulumi(self) -> Path:
        return self.toolchain_bin / "pulumi"

    @property
    def backend_url(self) -> str:
        return self.state.url

    def variables(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The variables pdn sets, layered over `base` (default: this process's environment)."""
        base = dict(os.environ if base is None else base)
        env = dict(base)
        env["PATH"] = os.pathsep.join(
            [str(self.toolchain_bin), str(self.venv_bin), base.get("PATH", "")]
        )
        env["PULUMI_HOME"] = str(self.pulumi_home)
        env["PULUMI_BACKEND_URL"] = self.backend_url
        env.update(self.state.variables())
        env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
        env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
        # Plugins come from PULUMI_HOME, where ensure_kubernetes_plugin installs the built one.
        env["PULUMI_IGNORE_AMBIENT_PLUGINS"] = "true"
        env["PULUMI_PYTHON_CMD"] = str(self.venv_bin / "python")
        if self.passphrase_file is not None:
            env.pop("PULUMI_CONFIG_PASSPHRASE", None)
            env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(self.passphrase_file)
        return env

    def exports(self) -> str:
        """Shell lines for `eval "$(pdn env)"`, so `pulumi …` can be typed directly."""
        env = self.variables(base={"PATH": os.environ.get("PATH", "")})
        return "".join(f"export {key}={shell_quote(value)}\n" for key, value in env.items())


def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def environment(
    base: Mapping[str, str] | None = None,
    *,
    create: bool = True,
    state: StateBackend | None = None,
) -> PulumiEnvironment:
    """Build the environment, creating its directories and the local passphrase on first use
    (create=False only reads: `pdn env` must not make a passphrase as a side effect).
    state: where the stacks' state lives (default: the file backend in pdn's state dir;
    `pdn.state.select` picks the configured one)."""
    from pdn.state.backends import FileState  # noqa: PLC0415  (it imports this module)

    base = os.environ if base is None else base
    toolchain = require_cli()
    pulumi_home = paths.cache_dir() / "pulumi-home"
    state = state or FileState(file_state_dir())
    passphrase: Path | None = None
    if create:
        pulumi_home.mkdir(parents=True, exist_ok=True)
        if isinstance(state, FileState):
            private_dir(state.root)  # the state: ciphertexts, but also every resource's inputs
        if not any(base.get(v) for v in PASSPHRASE_VARS):
            passphrase = _local_passphrase()
    elif not any(base.get(v) for v in PASSPHRASE_VARS) and passphrase_path().is_file():
        passphrase = passphrase_path()
    return PulumiEnvironment(toolchain, paths.venv_bin(), pulumi_home, state, passphrase)


def require_cli() -> Path:
    """The toolchain's bin dir, once it holds the pulumi CLI."""
    toolchain = bin_dir()
    if not (toolchain / "pulumi").is_file():
        raise PulumiEnvError(
            f"the pulumi CLI is not installed ({toolchain}/pulumi is missing): "
            "run `pdn toolchain build` (needs Go) or `pdn toolchain import FILE`"
        )
    return toolchain


def file_state_dir() -> Path:
    """The file backend's root: on this machine, outside the clone."""
    return paths.state_dir() / "pulumi-state"


def _local_passphrase() -> Path:
    """A generated passphrase for stacks on this machine, readable by its owner only."""
    path = passphrase_path()
    if path.exists():
        private_dir(path.parent)
        tighten(path)
    else:
        write_private(path, secrets.token_urlsafe(32))
    return path


def passphrase_path() -> Path:
    return paths.state_dir() / "secrets" / "pulumi-passphrase"


def ensure_kubernetes_plugin(env: PulumiEnvironment) -> None:
    """Install the locally built kubernetes provider into PULUMI_HOME (no download), again
    whenever the toolchain holds a different build of it."""
    binary = env.toolchain_bin / "pulumi-resource-kubernetes"
    if not binary.is_file():
        raise PulumiEnvError(f"{binary} is missing: run `pdn toolchain build pulumi-kubernetes`")
    plugin_dir = env.pulumi_home / "plugins" / f"resource-kubernetes-v{PULUMI_KUBERNETES_VERSION}"
    marker = plugin_dir / ".pdn-installed-from"
    stat = binary.stat()
    source = f"{binary} {stat.st_ino} {stat.st_size} {stat.st_mtime_ns}\n"
    installed = (plugin_dir / "pulumi-resource-kubernetes").is_file()
    if installed and marker.is_file() and marker.read_text() == source:
        return
    run_pulumi(
        env,
        [
            "plugin",
            "install",
            "resource",
            "kubernetes",
            PULUMI_KUBERNETES_VERSION,
            "--file",
            str(binary),
            "--reinstall",
        ],
        capture=True,
    )
    marker.write_text(source)


def run_pulumi(
    env: PulumiEnvironment,
    args: list[str],
    *,
    cwd: Path | None = None,
    capture: bool = False,
    stdin_text: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the pinned pulumi CLI non-interactively; raise PulumiEnvError when it fails.

    Its plugins get a private TMPDIR, removed when it ends: the kubernetes provider writes the
    cluster's kubeconfig (client key included) to a temporary file at every start and never
    removes it, so without this each up would leave a credential in /tmp."""
    variables = env.variables()
    variables["PULUMI_SKIP_CONFIRMATIONS"] = "true"
    variables.update(extra_env or {})
    with tempfile.TemporaryDirectory(prefix="pdn-pulumi-") as scratch:  # mode 0700
        variables["TMPDIR"] = scratch
        proc = subprocess.run(
            [str(env.pulumi), *args, "--non-interactive"],
            cwd=cwd or paths.REPO_ROOT,
            env=variables,
            input=stdin_text if stdin_text is not None else "",
            capture_output=capture,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        detail = _error_lines(proc.stdout, proc.stderr) if capture else "see the output above"
        raise PulumiEnvError(f"`pulumi {' '.join(args)}` failed (exit {proc.returncode}): {detail}")
    return proc


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)(: |$)")


def _error_lines(stdout: str | None, stderr: str | None) -> str:
    """What pulumi said went wrong: a policy pack's violations (id and message), its `error:`
    lines (a program's error is in stdout, the command's in stderr), else its last line."""
    lines = [line.strip() for line in f"{stdout or ''}\n{stderr or ''}".splitlines()]
    picked = []
    for index, line in enumerate(lines):
        if line.startswith("- [mandatory]") and index + 2 < len(lines):
            policy = line.split()[2]
            picked.append(f"policy {policy}: {lines[index + 2]};")
    picked += [line for line in lines if line.startswith("error:")]
    # A program's or a dynamic provider's traceback: its exception lines say what went wrong.
    picked += [line for line in lines if _EXCEPTION.match(line)][-2:]
    picked = picked or [line for line in lines if line][-1:]
    return " ".join(dict.fromkeys(picked)) or "no output"
