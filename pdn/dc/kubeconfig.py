"""Kubeconfig files with embedded credentials (0600), one per identity."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from pdn.dc.pki import KeyPair
from pdn.files import tighten, write_private


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def render(server: str, ca_cert: Path, client: KeyPair, user: str, cluster: str) -> str:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(client.cert),
                    "client-key-data": _b64(client.key),
                },
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
    }
    return yaml.safe_dump(document, sort_keys=False)


def write(path: Path, content: str) -> None:
    """Written only when it changes (clients watching it see no churn), always owner-only."""
    if path.is_file() and path.read_text() == content:
        tighten(path)
        return
    write_private(path, content)
