"""The compliance domain's error type."""


class ComplianceError(Exception):
    """The catalog or a waiver file is invalid, or a check cannot run; the message says what to
    fix."""
