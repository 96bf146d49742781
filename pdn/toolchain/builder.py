"""Build the pinned toolchain from the Go module proxy into a cache outside the clone.

Layout under ``<cache>/toolchain``:
  components/<name>-<key>/bin/   one component's binaries; <key> hashes its pins and Go version
  components/<name>-<key>/built.json  written last: its presence means the build is complete
  <pins key>/bin/, share/        the installed toolchain: hard links to every component's files,
                                 the one bin dir on PATH; <pins key> hashes the committed pins only
  <pins key>/manifest.json       what is installed: each file's sha256, version and origin
  logs/<name>.log                the last build log of each component

Only `build` needs Go. Everything that runs the toolchain finds it through the pins key and the
manifest, so a host that received it by `pdn toolchain import` (see transfer.py) needs no Go.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import select
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from pdn import paths
from pdn.toolchain import buildinfo
from pdn.toolchain.components import COMPONENTS, Binary, Component, GoBuild, component
from pdn.toolchain.errors import ToolchainError

ProgressFn = Callable[[str], None]
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


def toolchain_root() -> Path:
    return paths.cache_dir() / "toolchain"


def modules_root() -> Path:
    return paths.REPO_ROOT / "toolchain"


GO_TIMEOUT = 60.0  # for `go env` and `go mod download`; builds report their own progress
BUILD_TIMEOUT = 3600.0  # one `go build` or generator run; a cold pulumi build takes ~6 min


def go_version() -> str:
    """The Go that builds the toolchain (only `pdn toolchain build` needs one)."""
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(
            "Go is not on PATH: install Go 1.26 to build the toolchain, or bring one built "
            "elsewhere with `pdn toolchain import FILE`"
        )
    try:
        proc = subprocess.run(
            [go, "env", "GOVERSION"],
            capture_output=True,
            text=True,
            check=False,
            timeout=GO_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as err:
        raise ToolchainError(f"`{go} env GOVERSION` did not answer in {GO_TIMEOUT:.0f}s") from err
    if proc.returncode != 0 or not proc.stdout.strip():
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ToolchainError(f"`{go} env GOVERSION` failed (exit {proc.returncode}): {detail}")
    return proc.stdout.strip()


def component_key(comp: Component, go: str) -> str:
    """A digest of everything that decides the component's bytes: its pins, flags and Go."""
    digest = hashlib.sha256()
    digest.update(go.encode())
    digest.update(repr((comp.builds, comp.module_files)).encode())
    for build in comp.builds:
        for path in _pinned_files(build):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _pinned_files(build: GoBuild) -> list[Path]:
    """What a build's bytes come from in the checkout: its go.mod and go.sum, the overlays, and
    the module's own Go source (pdn's own programs live there; upstream pins have none)."""
    root = modules_root() / build.module_dir
    own = sorted(p.name for p in root.glob("*.go") if not p.name.endswith("_test.go"))
    return [root / name for name in ("go.mod", "go.sum", *(o[2] for o in build.overlays), *own)]


def component_dir(comp: Component, go: str) -> Path:
    return toolchain_root() / "components" / f"{comp.name}-{component_key(comp, go)}"


def pins_key() -> str:
    """A digest of the committed pins of every component (go.mod, go.sum, build definitions),
    without Go: the toolchain a checkout needs, whoever built it and wherever."""
    files = [path for comp in COMPONENTS for build in comp.builds for path in _pinned_files(build)]
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _pins_key(stamp)


@functools.cache
def _pins_key(stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256(
        repr([(c.builds, c.module_files, c.binaries) for c in COMPONENTS]).encode()
    )
    for path, _, _ in stamp:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:12]


def install_dir() -> Path:
    """The installed toolchain of this checkout: bin/, share/ and manifest.json."""
    return toolchain_root() / pins_key()


def bin_dir() -> Path:
    """The directory holding every binary of the pinned toolchain (put it first on PATH)."""
    return install_dir() / "bin"


def manifest_path() -> Path:
    return install_dir() / MANIFEST


def load_manifest() -> dict[str, Any] | None:
    """The manifest of the installed toolchain, or None when nothing is installed."""
    try:
        loaded: dict[str, Any] = json.loads(manifest_path().read_text())
    except (OSError, ValueError):
        return None
    return loaded


def is_built(comp: Component, go: str) -> bool:
    return (component_dir(comp, go) / "built.json").is_file()


@dataclass(frozen=True)
class BuildResult:
    component: str
    seconds: float
    skipped: bool


class BuildReporter(Protocol):
    """Where build progress goes (the CLI shows a bar with an estimate, or plain lines)."""

    def line(self, message: str) -> None: ...
    def start(self, label: str, estimate: float | None) -> None: ...
    def finish(self, message: str) -> None: ...


class LineReporter:
    """A reporter that hands every message to a line sink (tests, libraries)."""

    def __init__(self, progress: ProgressFn) -> None:
        self._progress = progress

    def line(self, message: str) -> None:
        self._progress(message)

    def start(self, label: str, estimate: float | None) -> None:
        pass

    def finish(self, message: str) -> None:
        self._progress(message)


def build(
    names: list[str] | None = None,
    progress: ProgressFn = print,
    force: bool = False,
    reporter: BuildReporter | None = None,
) -> list[BuildResult]:
    """Build missing components (all, or those named) and install them with their manifest."""
    report = reporter or LineReporter(progress)
    selected = [c for c in COMPONENTS if names is None or c.name in names]
    if names is not None and len(selected) != len(set(names)):
        unknown = sorted(set(names) - {c.name for c in COMPONENTS})
        known = ", ".join(c.name for c in COMPONENTS)
        raise ToolchainError(f"unknown component {', '.join(unknown)}; known components: {known}")
    go = go_version()
    results: list[BuildResult] = []
    for index, comp in enumerate(selected, start=1):
        label = f"[{index}/{len(selected)}] {comp.name}"
        if is_built(comp, go) and not force:
            report.line(f"{label}: already built ({component_dir(comp, go)})")
            results.append(BuildResult(comp.name, 0.0, skipped=True))
            continue
        started = time.monotonic()
        report.line(f"{label}: building {comp.origin}; log: {log_path(comp)}")
        report.start(label, last_build_seconds(comp))
        _build_component(comp, go)
        elapsed = time.monotonic() - started
        _record_build_seconds(comp, elapsed)
        report.finish(f"{label}: built and verified in {format_duration(elapsed)}")
        results.append(BuildResult(comp.name, elapsed, skipped=False))
    _install(go)
    return results


def last_build_seconds(comp: Component) -> float | None:
    """How long the component's last build here took (the estimate for the next one)."""
    try:
        return float(log_path(comp).with_suffix(".seconds").read_text())
    except (OSError, ValueError):
        return None


def _record_build_seconds(comp: Component, seconds: float) -> None:
    log_path(comp).with_suffix(".seconds").write_text(f"{seconds:.1f}\n")


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
            if source.is_dir():  # its files, writable (the module cache's are read-only)
                shutil.copytree(source, dest, copy_function=shutil.copyfile)
                for copied in [dest, *dest.rglob("*")]:
                    copied.chmod(0o755 if copied.is_dir() else 0o644)
                continue
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
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env or _go_env(),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=BUILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired as err:
        raise ToolchainError(
            f"`{' '.join(cmd[:3])} …` did not finish in {BUILD_TIMEOUT / 60:.0f} min in {cwd}; "
            f"see the log {log_file.name}"
        ) from err
    except OSError as err:
        raise ToolchainError(f"cannot run `{cmd[0]}`: {err.strerror}; is Go on PATH?") from err
    if proc.returncode != 0:
        raise ToolchainError(
            f"`{' '.join(cmd[:3])} …` failed (exit {proc.returncode}) in {cwd}; "
            f"see the log {log_file.name}"
        )


def _module_source_dir(module_dir: Path, module: str, log_file: TextIO) -> Path:
    """Download (from the proxy, checksum-verified) the module pinned by module_dir's go.mod."""
    try:
        out = subprocess.run(
            ["go", "mod", "download", "-json", module],
            cwd=module_dir,
            env=_go_env(),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=BUILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired as err:
        raise ToolchainError(
            f"downloading {module} did not finish; is the module proxy up?"
        ) from err
    if out.returncode != 0:
        detail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise ToolchainError(
            f"cannot download {module} pinned in {module_dir}/go.mod: {detail} "
            f"(GOPROXY={_go_env()['GOPROXY']})"
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


def _patched_modfile(step: GoBuild, log_file: TextIO) -> Path:
    """A go.mod for a build with some module files replaced: each such module copied out of
    the module cache (Go refuses `-overlay` of files beneath it), the committed replacements
    copied over, and the committed go.mod plus a `replace` of each module by its copy. Returns
    the path for `go build -modfile` (its go.sum beside it, as Go expects)."""
    committed = modules_root() / step.module_dir
    build_dir = toolchain_root() / "src" / f"{step.module_dir}-{step.output or 'build'}"
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    modules: dict[str, Path] = {}
    for module, inside, replacement in step.overlays:
        if module not in modules:
            copy = build_dir / module.replace("/", "_")
            shutil.copytree(_module_source_dir(committed, module, log_file), copy)
            for path in [copy, *copy.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
            modules[module] = copy
        target = modules[module] / inside
        if not target.is_file():
            raise ToolchainError(f"{module} has no {inside} to replace: is the pin right?")
        shutil.copyfile(committed / replacement, target)
        log_file.write(f"# {module}: {inside} replaced by {step.module_dir}/{replacement}\n")
    modfile = build_dir / "go.mod"
    shutil.copyfile(committed / "go.mod", modfile)
    shutil.copyfile(committed / "go.sum", build_dir / "go.sum")
    edits = [f"-replace={module}={copy}" for module, copy in modules.items()]
    _run(["go", "mod", "edit", *edits, str(modfile)], build_dir, log_file)
    return modfile


def _go_build(step: GoBuild, out_dir: Path, log_file: TextIO) -> None:
    cwd = (
        _prepare_copied_source(step, log_file)
        if step.copy_source
        else modules_root() / step.module_dir
    )
    output = str(out_dir / step.output) if step.output else str(out_dir) + "/"
    cmd = ["go", "build", "-trimpath", "-o", output]
    if step.overlays:
        cmd.append(f"-modfile={_patched_modfile(step, log_file)}")
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
    if binary.version_args:
        try:
            proc = subprocess.run(
                [str(path), *binary.version_args],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as err:
            raise ToolchainError(f"{path} did not print its version within 60s") from err
        except OSError as err:
            raise ToolchainError(f"{path} cannot run: {err.strerror}") from err
        output = (proc.stdout + proc.stderr).strip()
    else:
        # What `go version -m` prints, read without Go (an operator host has none).
        try:
            output = buildinfo.describe(path)
        except (buildinfo.BuildInfoError, OSError) as err:
            raise ToolchainError(f"{path}: cannot read its Go build information: {err}") from err
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
    import grpc  # noqa: PLC0415 (heavy; only verification needs it)
    from google.protobuf import empty_pb2  # noqa: PLC0415
    from pulumi.runtime.proto import provider_pb2_grpc  # noqa: PLC0415

    # The engine address is only dialled for logging; nothing listens there and that is fine.
    proc = subprocess.Popen(
        [str(path), "127.0.0.1:1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = _first_line(proc, PLUGIN_ANNOUNCE_TIMEOUT)
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


PLUGIN_ANNOUNCE_TIMEOUT = 30.0


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, or '' if it prints none within timeout."""
    if proc.stdout is None:
        return ""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().strip() if ready else ""


def _install(go: str) -> None:
    """Hard-link every built file into the install dir (so a pulumi there finds its plugins) and
    write the manifest: each file's sha256, version and origin."""
    root = install_dir()
    previous = load_manifest() or {}
    files: dict[str, dict[str, str]] = {}
    components: dict[str, dict[str, str]] = {}
    for comp in COMPONENTS:
        if not is_built(comp, go):
            continue
        built_dir = component_dir(comp, go)
        built = json.loads((built_dir / "built.json").read_text())
        checksums: dict[str, str] = built.setdefault("sha256", {})
        installed = [f"bin/{b.name}" for b in comp.binaries]
        for *_, relative in comp.module_files:  # a directory: each file in it
            path = built_dir / relative
            files_in = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
            installed += [str(p.relative_to(built_dir)) for p in files_in] or [relative]
        for relative in installed:
            source, dest = built_dir / relative, root / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not (dest.exists() and os.path.samefile(source, dest)):
                dest.unlink(missing_ok=True)
                try:
                    os.link(source, dest)
                except OSError:
                    shutil.copy2(source, dest)
            if relative not in checksums:
                checksums[relative] = sha256_file(source)
            files[relative] = {
                "component": comp.name,
                "sha256": checksums[relative],
                "version": built.get("versions", {}).get(relative.removeprefix("bin/"), ""),
            }
        (built_dir / "built.json").write_text(json.dumps(built))
        components[comp.name] = {"origin": comp.origin, "key": built_dir.name}
    if not files:
        return
    same = previous.get("files") == files and previous.get("origin") == "built here"
    manifest = {
        "format": MANIFEST_FORMAT,
        "pins": pins_key(),
        "go": go,
        "origin": "built here",
        "built_on": previous.get("built_on") if same else socket.gethostname(),
        "built_at": previous.get("built_at") if same else _now(),
        "components": components,
        "files": files,
    }
    if manifest != previous:
        write_json_atomic(root / MANIFEST, manifest)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    temporary.replace(path)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def installed_file(component_name: str, relative: str) -> Path:
    """A non-binary file a component installed (e.g. kwok's stage definitions)."""
    path = install_dir() / relative
    if not path.is_file():
        raise ToolchainError(
            f"{path} is missing: run `pdn toolchain build {component(component_name).name}` "
            "or `pdn toolchain import FILE`"
        )
    return path
