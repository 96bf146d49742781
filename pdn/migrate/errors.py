"""The migration's error type."""


class MigrateError(Exception):
    """A migration step cannot run or failed on a host; the message says which and what to do."""
