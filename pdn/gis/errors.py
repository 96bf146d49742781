"""The GIS domain's error type (light: the CLI imports it to print its message)."""


class GisError(Exception):
    """A layer, a file or the GIS database cannot be made or used as asked; the message says
    what to fix."""
