"""The toolchain's error type."""


class ToolchainError(Exception):
    """The toolchain cannot be built, carried or used; the message says what to do."""
