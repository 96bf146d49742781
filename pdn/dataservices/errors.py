"""The data services' error type (light: the CLI imports it to print its message)."""


class DataServiceError(Exception):
    """A data service cannot be planned, reached or used as asked; the message says what to
    fix."""
