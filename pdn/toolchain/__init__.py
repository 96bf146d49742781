"""The air-gapped toolchain: every binary pdn needs, built from pinned Go modules."""

from pdn.toolchain.builder import ToolchainError, bin_dir, build, installed_file
from pdn.toolchain.status import BinaryStatus, status

__all__ = ["BinaryStatus", "ToolchainError", "bin_dir", "build", "installed_file", "status"]
