"""`pdn toolchain build | status | export | import`."""

from __future__ import annotations

import argparse
from pathlib import Path

from pdn import toolchain
from pdn.cli.output import BuildProgress, table


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("toolchain", help="build, inspect and carry the pinned binaries")
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="build missing binaries from the Go module proxy")
    build.add_argument("components", nargs="*", help="only these components (default: all)")
    build.add_argument("--force", action="store_true", help="rebuild even when already built")
    build.set_defaults(handler=_build)
    status = actions.add_parser("status", help="each binary, its version, origin, what is missing")
    status.set_defaults(handler=_status)
    export = actions.add_parser(
        "export", help="write the built toolchain and its manifest to FILE (.tar or .tar.gz)"
    )
    export.add_argument("file", type=Path)
    export.set_defaults(handler=_export)
    import_ = actions.add_parser(
        "import", help="verify FILE (checksums, pins, versions) and install it; needs no Go"
    )
    import_.add_argument("file", type=Path)
    import_.set_defaults(handler=_import)


def _build(args: argparse.Namespace) -> int:
    with BuildProgress() as reporter:
        toolchain.build(args.components or None, force=args.force, reporter=reporter)
    print(f"toolchain ready: {toolchain.bin_dir()}")
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = toolchain.status()
    table(
        "toolchain",
        ["binary", "version", "origin"],
        [[r.binary, r.version, r.origin] for r in rows],
    )
    missing = [r.binary for r in rows if not r.present or r.broken]
    if missing:
        print(f"missing or broken: {', '.join(missing)}")
        return 1
    print(f"all {len(rows)} binaries present in {toolchain.bin_dir()}")
    return 0


def _export(args: argparse.Namespace) -> int:
    manifest = toolchain.export(args.file)
    size = args.file.stat().st_size / 2**20
    files, pins = len(manifest["files"]), manifest["pins"]
    print(f"wrote {args.file} ({files} files, {size:.0f} MiB, pins {pins})")
    return 0


def _import(args: argparse.Namespace) -> int:
    manifest = toolchain.import_(args.file)
    print(
        f"installed {len(manifest['files'])} files from {args.file} into {toolchain.install_dir()} "
        f"(checksums and versions verified)"
    )
    return 0
