"""Build the pinned toolchain from the Go module proxy into a cache outside the clone.

Layout under ``<cache>/toolchain``:
  components/<name>-<key>/bin/   one component's binaries; <key> hashes its pins and Go version
  components/<name>-<key>/built.json  written last: its presence means the build is complete
  <toolchain key>/bin/           hard links to every component's binaries: the one dir on PATH
  logs/<name>.log                the last build log of each component
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2_grpc

from pdn import paths
from pdn.toolchain.components import COMPONENTS, Binary, Component, GoBuild, component

ProgressFn = Callable[[str], None]
HEARTBEAT_SECONDS = 30.0


class ToolchainError(Exception):
    """The toolchain cannot be built or is incomplete; the message says what to do."""


def toolchain_root() -> Path:
    return paths.cache_dir() / "toolchain"


def modules_root() -> Path:
    return paths.REPO_ROOT / "toolchain"


def go_version() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(
            "the Go toolchain is not on PATH: install Go 1.26 (it builds every binary)"
        )
    return subprocess.run(
        [go, "env", "GOVERSION"], check=True, capture_output=True, text=True
    ).stdout.strip()


def component_key(comp: Component, go: str) -> str:
    """A digest of everything that decides the component's bytes: its pins, flags and Go."""
    digest = hashlib.sha256()
    digest.update(go.encode())
    digest.update(repr((comp.builds, comp.module_files)).encode())
    for build in comp.builds:
        for name in ("go.mod", "go.sum"):
            digest.update((modules_root() / build.module_dir / name).read_bytes())
    return digest.hexdigest()[:12]


def component_dir(comp: Component, go: str) -> Path:
    return toolchain_root() / "components" / f"{comp.name}-{component_key(comp, go)}"


def toolchain_key(go: str) -> str:
    digest = hashlib.sha256("".join(component_key(c, go) for c in COMPONENTS).encode())
    return digest.hexdigest()[:12]


def bin_dir(go: str | None = None) -> Path:
    """The directory holding every binary of the pinned toolchain (put it first on PATH)."""
    return toolchain_root() / toolchain_key(go or go_version()) / "bin"


def is_built(comp: Component, go: str) -> bool:
    return (component_dir(comp, go) / "built.json").is_file()


@dataclass(frozen=True)
class BuildResult:
    component: str
    seconds: float
    skipped: bool


def build(
    names: list[str] | None = None, progress: ProgressFn = print, force: bool = False
) -> list[BuildResult]:
    """Build missing components (all, or those named) and link them into the toolchain bin dir."""
    go = go_version()
    selected = [c for c in COMPONENTS if names is None or c.name in names]
    if names is not None and len(selected) != len(set(names)):
        known = ", ".join(c.name for c in COMPONENTS)
        raise ToolchainError(f"unknown component in {names}; known components: {known}")
    results: list[BuildResult] = []
    for index, comp in enumerate(selected, start=1):
        label = f"[{index}/{len(selected)}] {comp.name}"
        if is_built(comp, go) and not force:
            progress(f"{label}: already built ({component_dir(comp, go)})")
            results.append(BuildResult(comp.name, 0.0, skipped=True))
            continue
        started = time.monotonic()
        progress(f"{label}: building {comp.origin}; log: {log_path(comp)}")
        with _Heartbeat(label, started, progress):
            _build_component(comp, go)
        elapsed = time.monotonic() - started
        progress(f"{label}: built and verified in {_fmt(elapsed)}")
        results.append(BuildResult(comp.name, elapsed, skipped=False))
    _link_view(go)
    return results


def log_path(comp: Component) -> Path:
    return toolchain_root() / "logs" / f"{comp.name}.log"


def _build_component(comp: Component, go: str) -> None:
    target = component_dir(comp, go)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "bin").mkdir(parents=True)
    log = log_path(comp)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as log_file:
        for step in comp.builds:
            _go_build(step, partial / "bin", log_file)
        sources: dict[tuple[str, str], Path] = {}  # one download per module, not per file
        for module_dir, module, inner_path, installed in comp.module_files:
            if (module_dir, module) not in sources:
                sources[module_dir, module] = _module_source_dir(
                    modules_root() / module_dir, module, log_file
                )
            source = sources[module_dir, module] / inner_path
            dest = partial / installed
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            dest.chmod(0o755 if installed.startswith("bin/") else 0o644)
        versions = {b.name: verify_binary(partial / "bin" / b.name, b) for b in comp.binaries}
    (partial / "built.json").write_text(
        json.dumps({"component": comp.name, "origin": comp.origin, "go": go, "versions": versions})
    )
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


DEFAULT_GOPROXY = "https://proxy.golang.org"


def registry_only_goproxy(configured: str) -> str:
    """The configured module proxies without `direct`/`off`: modules come from a registry
    (a mirror in the DC, or the public proxy), never straight from a VCS host."""
    proxies = [p for p in configured.replace("|", ",").split(",") if p.strip()]
    kept = [p.strip() for p in proxies if p.strip() not in ("direct", "off")]
    return ",".join(kept) or DEFAULT_GOPROXY


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GOPROXY"] = registry_only_goproxy(env.get("GOPROXY", ""))
    env["GOFLAGS"] = "-buildvcs=false -mod=readonly"
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def _run(cmd: list[str], cwd: Path, log_file: TextIO, env: dict[str, str] | None = None) -> None:
    log_file.write(f"$ {' '.join(cmd)}  (in {cwd})\n")
    log_file.flush()
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env or _go_env(),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise ToolchainError(
            f"`{' '.join(cmd[:3])} …` failed (exit {proc.returncode}) in {cwd}; "
            f"see the log {log_file.name}"
        )


def _module_source_dir(module_dir: Path, module: str, log_file: TextIO) -> Path:
    """Download (from the proxy, checksum-verified) the module pinned by module_dir's go.mod."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", module],
        cwd=module_dir,
        env=_go_env(),
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        raise ToolchainError(
            f"cannot download {module} pinned in {module_dir}/go.mod: {out.stderr}"
        )
    info = json.loads(out.stdout)
    log_file.write(f"# {module}@{info['Version']} from {info['Dir']}\n")
    return Path(info["Dir"])


def _prepare_copied_source(step: GoBuild, log_file: TextIO) -> Path:
    """Copy a module's source out of the read-only module cache and run its generator there."""
    if step.copy_source is None:
        raise ToolchainError(f"{step.module_dir}: no source module to copy")
    module, version = step.copy_source
    committed = modules_root() / step.module_dir
    build_dir = toolchain_root() / "src" / f"{step.module_dir}-{version}"
    shutil.rmtree(build_dir, ignore_errors=True)
    source = _module_source_dir(committed, f"{module}@{version}", log_file)
    shutil.copytree(source, build_dir)
    for path in [build_dir, *build_dir.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    # The committed go.mod/go.sum are the module's own with its ../sdk replace dropped, tidied.
    for name in ("go.mod", "go.sum"):
        shutil.copyfile(committed / name, build_dir / name)
    for package in step.packages:
        env = _go_env() | dict(step.generate_env)
        generator = build_dir / package / "generate.go"
        if generator.is_file():
            _run(["go", "run", "generate.go"], build_dir / package, log_file, env)
    return build_dir


def _go_build(step: GoBuild, out_dir: Path, log_file: TextIO) -> None:
    cwd = (
        _prepare_copied_source(step, log_file)
        if step.copy_source
        else modules_root() / step.module_dir
    )
    output = str(out_dir / step.output) if step.output else str(out_dir) + "/"
    cmd = ["go", "build", "-trimpath", "-o", output]
    if step.tags:
        cmd += ["-tags", ",".join(step.tags)]
    if step.ldflags:
        cmd += ["-ldflags", " ".join(step.ldflags)]
    _run(cmd + list(step.packages), cwd, log_file)


def verify_binary(path: Path, binary: Binary) -> str:
    """Ask the binary its version; return the line that shows it, or raise if it is wrong."""
    if not os.access(path, os.X_OK):
        raise ToolchainError(f"{path} was not produced or is not executable")
    if not binary.expected_version:
        return "(script)"
    if binary.plugin:
        version = plugin_version(path)
        if binary.expected_version != version:
            raise ToolchainError(
                f"{path} serves plugin version {version!r}, expected {binary.expected_version}"
            )
        return f"plugin {version}"
    command = (
        [str(path), *binary.version_args]
        if binary.version_args
        else ["go", "version", "-m", str(path)]
    )
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    output = (proc.stdout + proc.stderr).strip()
    lines = [line.strip() for line in output.splitlines() if binary.expected_version in line]
    if not lines:
        raise ToolchainError(
            f"{path} reports {output[:200]!r}, expected version {binary.expected_version}"
        )
    if binary.version_args:
        return " ".join(lines[0].split()[:3])
    # A `go version -m` line: "dep <module> <version> <sum>" or "build -ldflags=... X=v".
    fields = lines[0].split()
    if fields[0] in ("mod", "dep"):
        return f"{fields[1]}@{fields[2]}"
    return next(f for f in fields if binary.expected_version in f).rsplit("/", 1)[-1]


def plugin_version(path: Path) -> str:
    """Start a Pulumi resource plugin and ask its version over gRPC, as the engine does."""
    # The engine address is only dialled for logging; nothing listens there and that is fine.
    proc = subprocess.Popen(
        [str(path), "127.0.0.1:1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = proc.stdout.readline().strip() if proc.stdout else ""
        if not port.isdigit():
            raise ToolchainError(f"{path} did not announce a port (printed {port!r})")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=30)
        return str(info.version)
    except grpc.RpcError as err:
        raise ToolchainError(f"{path} does not answer GetPluginInfo: {err}") from err
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _link_view(go: str) -> None:
    """Hard-link every built binary into one bin dir, so a pulumi there finds its plugins."""
    view = bin_dir(go)
    view.mkdir(parents=True, exist_ok=True)
    for comp in COMPONENTS:
        if not is_built(comp, go):
            continue
        for binary in comp.binaries:
            source = component_dir(comp, go) / "bin" / binary.name
            dest = view / binary.name
            if dest.exists() and os.path.samefile(source, dest):
                continue
            dest.unlink(missing_ok=True)
            try:
                os.link(source, dest)
            except OSError:
                shutil.copy2(source, dest)


def _fmt(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class _Heartbeat:
    """Print 'still building' every HEARTBEAT_SECONDS so a long build is visibly alive."""

    def __init__(self, label: str, started: float, progress: ProgressFn) -> None:
        self._label, self._started, self._progress = label, started, progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            elapsed = time.monotonic() - self._started
            self._progress(f"{self._label}: still building ({_fmt(elapsed)} elapsed)")

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def installed_file(component_name: str, relative: str) -> Path:
    """A non-binary file a built component installed (e.g. kwok's stage definitions)."""
    comp = component(component_name)
    go = go_version()
    path = component_dir(comp, go) / relative
    if not path.is_file():
        raise ToolchainError(f"{path} is missing: run `pdn toolchain build {component_name}`")
    return path
