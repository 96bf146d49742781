"""TLS on every endpoint the DC serves, asked with OpenSSL's own client the way an attacker's
would ask: what a modern client gets, and whether an old protocol or a weak cipher is taken."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from typing import Any

import pytest

from pdn.compliance.targets import TlsTarget

# Suites without encryption: a client that offers only these must be refused. (3DES, RC4 and
# export suites are weak too, but this OpenSSL cannot offer them any more.)
WEAK_CIPHERS = "ECDHE-ECDSA-NULL-SHA:ECDHE-RSA-NULL-SHA:NULL-SHA256:NULL-SHA:@SECLEVEL=0"


def _s_client(endpoint: TlsTarget, *options: str) -> tuple[bool, str]:
    """Whether a handshake with these options succeeds (its certificate verified against the
    DC's CA, for the endpoint's name or address), and what the client said."""
    try:
        ipaddress.ip_address(endpoint.host)
        name = ["-verify_ip", endpoint.host]
    except ValueError:
        name = ["-verify_hostname", endpoint.host, "-servername", endpoint.host]
    argv = [
        "openssl",
        "s_client",
        "-brief",
        "-connect",
        f"{endpoint.host}:{endpoint.port}",
        "-CAfile",
        str(endpoint.ca),
        "-verify_return_error",
        *name,
        *(["-starttls", endpoint.starttls] if endpoint.starttls else []),
        *options,
    ]
    done = subprocess.run(argv, input="", capture_output=True, text=True, timeout=20, check=False)
    said = f"{done.stdout}\n{done.stderr}"
    return "Verification: OK" in said and "Protocol version:" in said, said


def _field(said: str, name: str) -> str:
    found = re.search(rf"^{name}: (.+)$", said, re.MULTILINE)
    return found.group(1).strip() if found else "?"


def _refused_by_server(said: str) -> bool:
    """The server ended the handshake (an alert, or no answer a client of that kind accepts),
    not this client that could not even offer it."""
    return "alert" in said or "wrong version number" in said or "unexpected eof" in said


@pytest.mark.control("PDN-TLS-1")
def test_tls_is_strong(endpoint: TlsTarget, record_property: Any) -> None:
    modern, said = _s_client(endpoint)
    tls12, said12 = _s_client(endpoint, "-tls1_2")
    old, said_old = _s_client(endpoint, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    weak, said_weak = _s_client(endpoint, "-tls1_2", "-cipher", WEAK_CIPHERS)
    cipher12 = _field(said12, "Ciphersuite")
    found = {
        "a modern client": (
            f"{_field(said, 'Protocol version')} {_field(said, 'Ciphersuite')}, certificate "
            f"verified"
            if modern
            else f"FAILED ({said.strip().splitlines()[-1:]})"
        ),
        "TLS 1.2": f"{cipher12}" if tls12 else "not offered",
        "TLS 1.1": "ACCEPTED" if old else "refused",
        "weak ciphers": "ACCEPTED" if weak else "refused",
    }
    record_property("evidence", "; ".join(f"{k}: {v}" for k, v in found.items()))
    assert modern, f"no verified TLS handshake: {said[-300:]}"
    # TLS 1.2, where offered, only with forward secrecy and an AEAD cipher.
    assert not tls12 or (
        cipher12.startswith("ECDHE-") and ("GCM" in cipher12 or "CHACHA20" in cipher12)
    ), f"TLS 1.2 with {cipher12}"
    assert not old, "TLS 1.1 accepted"
    assert _refused_by_server(said_old), f"TLS 1.1 not tried: {said_old[-300:]}"
    assert not weak, f"a weak cipher accepted: {_field(said_weak, 'Ciphersuite')}"
    assert _refused_by_server(said_weak), f"weak ciphers not tried: {said_weak[-300:]}"
