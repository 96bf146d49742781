"""Carrying the toolchain to a host without Go: the archive is refused unless it is intact,
complete and built from this checkout's pins; Go build info is read without Go."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from pdn.toolchain import ToolchainError, build, buildinfo, export, import_
from pdn.toolchain import builder as build_mod
from pdn.toolchain.components import COMPONENTS

GO = "go1.26.8"


@pytest.fixture
def exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An archive of a complete (fake) toolchain, exported from one cache."""
    monkeypatch.setenv("PDN_CACHE_DIR", str(tmp_path / "builder-cache"))
    monkeypatch.setattr(build_mod, "go_version", lambda: GO)
    for comp in COMPONENTS:
        target = build_mod.component_dir(comp, GO)
        (target / "bin").mkdir(parents=True)
        for binary in comp.binaries:
            (target / "bin" / binary.name).write_text(f"#!/bin/sh\necho {binary.name}\n")
            (target / "bin" / binary.name).chmod(0o755)
        for _, _, _, installed in comp.module_files:
            (target / installed).parent.mkdir(parents=True, exist_ok=True)
            (target / installed).write_text("kind: Stage\n")
        (target / "built.json").write_text(json.dumps({"component": comp.name}))
    build(progress=lambda _: None)
    archive = tmp_path / "toolchain.tar"
    export(archive)
    # The importing host: an empty cache, and no Go.
    monkeypatch.setenv("PDN_CACHE_DIR", str(tmp_path / "operator-cache"))
    return archive


def _rewrite(archive: Path, change: dict[str, bytes | None]) -> None:
    """Rewrite archive with some members replaced (bytes) or dropped (None), or added."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(archive, "w") as tar:
        for member, original in members:
            data = change.pop(member.name, original) if member.name in change else original
            if data is None:
                continue
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        for name, data in change.items():
            info = tarfile.TarInfo(name)
            info.size = len(data or b"")
            tar.addfile(info, io.BytesIO(data or b""))


def _manifest(archive: Path) -> dict[str, object]:
    with tarfile.open(archive) as tar:
        loaded: dict[str, object] = json.load(tar.extractfile("pdn-toolchain/manifest.json"))  # type: ignore[arg-type]
    return loaded


def test_the_archive_lists_every_file_with_its_checksum(exported: Path) -> None:
    with tarfile.open(exported) as tar:
        names = set(tar.getnames())
    manifest = _manifest(exported)
    files = manifest["files"]
    assert isinstance(files, dict)
    assert names == {"pdn-toolchain/manifest.json"} | {f"pdn-toolchain/{f}" for f in files}
    assert "bin/kube-apiserver" in files
    assert "share/kwok/stages/pod-ready.yaml" in files


def test_a_tampered_binary_is_refused_and_nothing_installed(exported: Path) -> None:
    _rewrite(exported, {"pdn-toolchain/bin/etcd": b"#!/bin/sh\necho pwned\n"})
    with pytest.raises(ToolchainError, match=r"bin/etcd does not match its sha256"):
        import_(exported)
    assert not build_mod.install_dir().exists()


def test_other_pins_are_refused(exported: Path) -> None:
    manifest = _manifest(exported)
    manifest["pins"] = "0123456789ab"
    _rewrite(exported, {"pdn-toolchain/manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(ToolchainError, match=r"built from other pins \(0123456789ab\)"):
        import_(exported)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pdn-toolchain/bin/kwok": None}, "lacks files its manifest lists"),
        ({"pdn-toolchain/bin/backdoor": b"x"}, "holds files its manifest does not list"),
        ({"pdn-toolchain/manifest.json": None}, "has no pdn-toolchain/manifest.json"),
    ],
)
def test_incomplete_or_padded_archives_are_refused(
    exported: Path, change: dict[str, bytes | None], message: str
) -> None:
    _rewrite(exported, change)
    with pytest.raises(ToolchainError, match=message):
        import_(exported)


def test_binaries_are_version_checked_before_install(exported: Path) -> None:
    # The fake binaries have the right checksums but print no version.
    with pytest.raises(ToolchainError, match="expected version"):
        import_(exported)
    assert not build_mod.install_dir().exists()


def test_not_an_archive_is_one_clear_line(tmp_path: Path) -> None:
    junk = tmp_path / "toolchain.tar.gz"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(ToolchainError, match=r"toolchain\.tar\.gz is not a toolchain archive"):
        import_(junk)
    with pytest.raises(ToolchainError, match="no such file"):
        import_(tmp_path / "absent.tar")
    with pytest.raises(ToolchainError, match=r"name the archive \*\.tar or \*\.tar\.gz"):
        import_(tmp_path / "toolchain.zip")


def test_an_incomplete_toolchain_is_not_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PDN_CACHE_DIR", str(tmp_path / "empty"))
    with pytest.raises(ToolchainError, match="no toolchain is installed here"):
        export(tmp_path / "t.tar")


def _go_binary_blob(version: str, modinfo: str) -> bytes:
    """The bytes Go 1.18+ writes: aligned header, then varint-prefixed inline strings."""
    sentinel = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6"
    info = sentinel + modinfo.encode() + b"\n" + b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2"
    header = b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16)
    return (
        b"\x7fELF"
        + bytes(28)
        + header
        + bytes([len(version)])
        + version.encode()
        + bytes([len(info) & 0x7F | 0x80, len(info) >> 7])
        + info
        + bytes(64)
    )


def test_build_info_is_read_without_go(tmp_path: Path) -> None:
    binary = tmp_path / "pulumi-language-python"
    modinfo = "path\tgithub.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python\n" + (
        "dep\tgithub.com/pulumi/pulumi/sdk/v3\tv3.68.0\th1:abc=\n" * 3
    )
    binary.write_bytes(_go_binary_blob("go1.26.8", modinfo.rstrip("\n")))
    version, info = buildinfo.read(binary)
    assert version == "go1.26.8"
    assert info.splitlines()[1] == "dep\tgithub.com/pulumi/pulumi/sdk/v3\tv3.68.0\th1:abc="
    assert buildinfo.describe(binary).startswith(f"{binary}: go1.26.8\n\tpath\t")
    plain = tmp_path / "script"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(buildinfo.BuildInfoError, match="no Go build information"):
        buildinfo.read(plain)
