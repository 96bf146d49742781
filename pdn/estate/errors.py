"""The estate's error type."""


class EstateError(Exception):
    """The estate file is invalid, or its hosts cannot be built, reached or removed; the
    message says what to fix."""
