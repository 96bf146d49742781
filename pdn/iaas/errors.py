"""The IaaS error type."""


class HostError(Exception):
    """A PDN host cannot be made, found or removed; the message says what to do."""
