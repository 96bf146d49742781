"""The air-gapped toolchain: every binary pdn needs, built from pinned Go modules."""

from pdn.toolchain.builder import (
    bin_dir,
    build,
    install_dir,
    installed_file,
    load_manifest,
)
from pdn.toolchain.errors import ToolchainError
from pdn.toolchain.status import BinaryStatus, status
from pdn.toolchain.transfer import export, import_

__all__ = [
    "BinaryStatus",
    "ToolchainError",
    "bin_dir",
    "build",
    "export",
    "import_",
    "install_dir",
    "installed_file",
    "load_manifest",
    "status",
]
