"""The clusters' error type."""


class ClusterError(Exception):
    """The management cluster cannot be read, or a cluster operation is not allowed; the
    message says what to do."""
