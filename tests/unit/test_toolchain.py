"""The toolchain module: pins, cache keys, skipping, verification, status."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pdn import paths
from pdn.toolchain import ToolchainError, build, status
from pdn.toolchain import builder as build_mod
from pdn.toolchain.components import (
    CLUSTER_API_VERSION,
    COMPONENTS,
    ETCD_VERSION,
    KUBERNETES_VERSION,
    KWOK_VERSION,
    LANGUAGE_HOST_SDK_VERSION,
    PULUMI_KUBERNETES_MODULE,
    PULUMI_KUBERNETES_PSEUDO_VERSION,
    PULUMI_VERSION,
    Binary,
    component,
)
from tests.unit.conftest import restricted_path

MODULES = paths.REPO_ROOT / "toolchain"


def _required(module_dir: str, module: str) -> str:
    text = (MODULES / module_dir / "go.mod").read_text()
    match = re.search(rf"^\s*{re.escape(module)} (\S+)", text, re.MULTILINE)
    assert match, f"{module} is not required in toolchain/{module_dir}/go.mod"
    return match.group(1)


@pytest.mark.parametrize(
    ("module_dir", "module", "version"),
    [
        ("pulumi", "github.com/pulumi/pulumi/pkg/v3", PULUMI_VERSION),
        ("pulumi", "github.com/pulumi/pulumi/sdk/v3", PULUMI_VERSION),
        ("pulumi-language-python", "github.com/pulumi/pulumi/sdk/v3", LANGUAGE_HOST_SDK_VERSION),
        ("kubernetes", "k8s.io/kubernetes", KUBERNETES_VERSION),
        ("etcd", "go.etcd.io/etcd/server/v3", ETCD_VERSION),
        ("kwok", "sigs.k8s.io/kwok", KWOK_VERSION),
        ("cluster-api", "sigs.k8s.io/cluster-api", CLUSTER_API_VERSION),
        ("cluster-api", "sigs.k8s.io/cluster-api/test", CLUSTER_API_VERSION),
    ],
)
def test_committed_modules_pin_the_declared_versions(
    module_dir: str, module: str, version: str
) -> None:
    assert _required(module_dir, module) == version
    assert (MODULES / module_dir / "go.sum").stat().st_size > 0


def test_provider_module_is_the_release_source_without_local_replace() -> None:
    text = (MODULES / "pulumi-kubernetes" / "go.mod").read_text()
    assert text.startswith(f"module {PULUMI_KUBERNETES_MODULE}\n")
    assert "=> ../sdk" not in text
    assert PULUMI_KUBERNETES_PSEUDO_VERSION.startswith("v4.0.0-")


def test_kubernetes_staging_modules_are_pinned_to_the_release() -> None:
    text = (MODULES / "kubernetes" / "go.mod").read_text()
    replaced = re.findall(r"^\s*(k8s\.io/\S+) => k8s\.io/\S+ (v\S+)", text, re.MULTILINE)
    assert len(replaced) >= 30
    minor = KUBERNETES_VERSION.split(".", 1)[1]
    assert {version for _, version in replaced} == {f"v0.{minor}"}


def test_every_binary_the_platform_needs_is_declared() -> None:
    names = {b.name for c in COMPONENTS for b in c.binaries}
    assert names == {
        "pulumi",
        "pulumi-language-python",
        "pulumi-language-python-exec",
        "pulumi-resource-pulumi-python",
        "pulumi-resource-kubernetes",
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "kwok",
        "capi-controller",
        "capi-kubeadm-bootstrap",
        "capi-kubeadm-control-plane",
        "capd-controller",
        "pdn-features",
    }


GO = "go1.26.8"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty toolchain cache; `build` sees a fixed Go, so no Go needs to be installed."""
    monkeypatch.setenv("PDN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(build_mod, "go_version", lambda: GO)
    return tmp_path / "cache"


@pytest.fixture
def modules_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "toolchain"
    shutil.copytree(MODULES, copy)
    monkeypatch.setattr(build_mod, "modules_root", lambda: copy)
    return copy


def test_key_changes_with_the_pins_and_go_only(modules_copy: Path) -> None:
    etcd, kwok = component("etcd"), component("kwok")
    before = build_mod.component_key(etcd, "go1.26.8")
    assert before == build_mod.component_key(etcd, "go1.26.8")
    assert before != build_mod.component_key(etcd, "go1.27.3")
    kwok_before = build_mod.component_key(kwok, "go1.26.8")
    with (modules_copy / "etcd" / "go.sum").open("a") as handle:
        handle.write("example.com/x v1.0.0 h1:AAAA=\n")
    assert build_mod.component_key(etcd, "go1.26.8") != before
    assert build_mod.component_key(kwok, "go1.26.8") == kwok_before


def test_the_install_dir_follows_the_pins_without_go(
    modules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = build_mod.bin_dir()
    assert build_mod.bin_dir() == before
    with (modules_copy / "kwok" / "go.sum").open("a") as handle:
        handle.write("example.com/x v1.0.0 h1:AAAA=\n")
    assert build_mod.bin_dir() != before


def _fake_built(comp_name: str, script: str) -> None:
    comp = component(comp_name)
    target = build_mod.component_dir(comp, GO) / "bin"
    target.mkdir(parents=True)
    for binary in comp.binaries:
        path = target / binary.name
        path.write_text(f"#!/bin/sh\n{script}\n")
        path.chmod(0o755)
    for _, _, _, installed in comp.module_files:
        (target.parent / installed).parent.mkdir(parents=True, exist_ok=True)
        (target.parent / installed).write_text("kind: Stage\n")
    (target.parent / "built.json").write_text(json.dumps({"component": comp_name}))


def test_built_components_are_skipped_installed_and_listed(cache: Path) -> None:
    _fake_built("etcd", f"echo 'etcd Version: {ETCD_VERSION.lstrip('v')}'")
    lines: list[str] = []
    results = build(["etcd"], progress=lines.append)
    assert [(r.component, r.skipped) for r in results] == [("etcd", True)]
    assert "already built" in lines[0]
    linked = build_mod.bin_dir() / "etcd"
    assert linked.samefile(build_mod.component_dir(component("etcd"), GO) / "bin" / "etcd")
    manifest = build_mod.load_manifest()
    assert manifest is not None
    assert manifest["origin"] == "built here"
    assert manifest["go"] == GO
    assert manifest["files"]["bin/etcd"]["sha256"] == build_mod.sha256_file(linked)


def test_unknown_component_is_refused(cache: Path) -> None:
    with pytest.raises(ToolchainError, match="known components: pulumi"):
        build(["terraform"], progress=lambda _: None)


def test_status_needs_no_go_and_reports_missing_built_and_broken(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_built("etcd", f"echo 'etcd Version: {ETCD_VERSION.lstrip('v')}'")
    _fake_built("kwok", "echo 'kwok version v0.0.1'")
    build(["etcd", "kwok"], progress=lambda _: None)
    monkeypatch.setattr(build_mod, "go_version", _no_go)
    rows = {row.binary: row for row in status()}
    assert rows["etcd"].origin == (f"built here from go.etcd.io/etcd/server/v3@v3.6.16 with {GO}")
    assert rows["etcd"].version == "etcd Version: 3.6.16"
    assert rows["kwok"].broken
    assert "expected version v0.8.0" in rows["kwok"].version
    assert rows["pulumi"].path is None
    assert rows["pulumi"].origin.startswith("missing: run `pdn toolchain build pulumi`")


def test_status_sees_a_binary_changed_after_install(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_built("etcd", f"echo 'etcd Version: {ETCD_VERSION.lstrip('v')}'")
    build(["etcd"], progress=lambda _: None)
    with (build_mod.bin_dir() / "etcd").open("a") as handle:
        handle.write("# tampered\n")
    rows = {row.binary: row for row in status()}
    assert rows["etcd"].version.startswith("BROKEN: its sha256 differs from the manifest")


def _no_go() -> str:
    raise AssertionError("Go was asked for")


def test_pinned_binary_on_path_is_reported_with_its_origin(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "usr-local-bin"
    elsewhere.mkdir()
    fake = elsewhere / "kwok"
    fake.write_text(f"#!/bin/sh\necho 'kwok version {KWOK_VERSION}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{elsewhere}:{restricted_path()}")
    rows = {row.binary: row for row in status()}
    assert rows["kwok"].path == fake
    assert rows["kwok"].origin == f"found on PATH at the pinned version ({fake})"


def test_verify_refuses_a_wrong_version(tmp_path: Path) -> None:
    script = tmp_path / "kubectl"
    script.write_text("#!/bin/sh\necho 'Client Version: v1.33.0'\n")
    script.chmod(0o755)
    binary = Binary("kubectl", ("version", "--client"), KUBERNETES_VERSION)
    with pytest.raises(ToolchainError, match=re.escape("expected version v1.34.4")):
        build_mod.verify_binary(script, binary)
    with pytest.raises(ToolchainError, match="not produced"):
        build_mod.verify_binary(tmp_path / "absent", binary)


@pytest.mark.parametrize(
    ("configured", "used"),
    [
        ("", "https://proxy.golang.org"),
        ("https://proxy.golang.org,direct", "https://proxy.golang.org"),
        ("direct", "https://proxy.golang.org"),
        (
            "https://goproxy.pdn.go.id|https://proxy.golang.org",
            "https://goproxy.pdn.go.id,https://proxy.golang.org",
        ),
    ],
)
def test_modules_come_from_a_registry_never_a_vcs_host(configured: str, used: str) -> None:
    assert build_mod.registry_only_goproxy(configured) == used


def test_a_plugin_that_never_announces_its_port_is_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = tmp_path / "pulumi-resource-kubernetes"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    monkeypatch.setattr(build_mod, "PLUGIN_ANNOUNCE_TIMEOUT", 1.0)
    with pytest.raises(ToolchainError, match="did not announce a port"):
        build_mod.plugin_version(silent)


def test_every_overlay_replaces_a_file_of_the_pinned_release() -> None:
    """An overlay is a whole upstream file with pdn's change: it names the release it was
    taken from, which must be the pinned one (a raised pin means taking the file again)."""
    overlays = {
        (build.module_dir, module, replacement)
        for c in COMPONENTS
        for build in c.builds
        for module, _, replacement in build.overlays
    }
    assert len(overlays) == 2
    for module_dir, module, replacement in overlays:
        header = (MODULES / module_dir / replacement).read_text()[:2000]
        name = module.removeprefix("sigs.k8s.io/")
        assert f"pdn: a build overlay of {name} {CLUSTER_API_VERSION}'s" in header, replacement
