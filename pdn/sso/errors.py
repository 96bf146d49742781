"""The single sign-on domain's error type (light: the CLI imports it to print its message)."""


class SsoError(Exception):
    """Keycloak cannot be reached or configured as asked; the message says what to fix."""
