"""The e-signature domain's error type (light: the CLI imports it to print its message)."""


class TteError(Exception):
    """A certificate, key or signature cannot be made or used as asked; the message says what
    to fix."""
