"""The local DC's error type."""


class DCError(Exception):
    """The local DC cannot start, answer or stop; the message says what to fix."""
