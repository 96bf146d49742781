"""Health probes over HTTP(S), verifying the DC's own CA and presenting a client certificate."""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path

from pdn.dc.pki import KeyPair


def https_get(
    host: str, port: int, path: str, ca: Path | None, client: KeyPair | None = None
) -> tuple[int, str]:
    """GET path; returns (status, body). Raises OSError when nothing answers."""
    status, body, _ = _get(host, port, path, ca, client)
    return status, body


def _get(
    host: str, port: int, path: str, ca: Path | None, client: KeyPair | None
) -> tuple[int, str, http.client.HTTPMessage]:
    if ca is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection(host, port, timeout=3)
    else:
        context = ssl.create_default_context(cafile=str(ca))
        if client is not None:
            context.load_cert_chain(str(client.cert), str(client.key))
        connection = http.client.HTTPSConnection(host, port, timeout=3, context=context)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace"), response.headers
    finally:
        connection.close()


def expect_ok(
    host: str,
    port: int,
    path: str,
    ca: Path | None,
    client: KeyPair | None = None,
    *,
    header: tuple[str, str] | None = None,
) -> str | None:
    """None when GET path answers 200 (and, if given, header (name, text) holds text), else a
    short reason (for status and waits): a service that answers but is not the one expected
    (an older program on its port) is not healthy."""
    try:
        status, body, headers = _get(host, port, path, ca, client)
    except (OSError, ssl.SSLError, http.client.HTTPException) as err:
        return f"{path}: {err.__class__.__name__}: {err}"
    if status != 200:
        return f"{path}: HTTP {status} {body.strip()[:120]}"
    if header is not None and header[1] not in (headers.get(header[0]) or ""):
        return f"{path}: no {header[0]} {header[1]!r} (another program answers on port {port})"
    return None
