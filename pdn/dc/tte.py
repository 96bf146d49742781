"""The DC's e-signature service: its site CA (signed by the national root in a ceremony) and
the signing service (`pdn.tte.server`), HTTPS with a DC-CA certificate.

The national root is offline by design (`pdn.tte.root`). The local DC stands in for the
ceremony: its root lives outside the DC's state, in `<state>/offline/tte-root` (the removable
media), its key encrypted under the passphrase in PDN_TTE_ROOT_PASSPHRASE or, when that is not
set, one made once and kept owner-only beside it (the custodians). The DC's state never holds
the root key; a purged DC's new site CA is signed by the same root.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from pdn.dc import pki
from pdn.dc.probes import expect_ok
from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings
from pdn.files import write_private
from pdn.sso.realms import CIVIL_SERVANTS
from pdn.tte import profiles, root
from pdn.tte.site import Issued, SiteAuthority

NAME = "tte"
CERT_FILE = "tte"
PASSPHRASE_ENV = "PDN_TTE_ROOT_PASSPHRASE"  # noqa: S105 (the variable's name)


def offline_root(settings: DCSettings) -> Path:
    return settings.state_root / "offline" / "tte-root"


def _passphrase(settings: DCSettings) -> bytes:
    given = os.environ.get(PASSPHRASE_ENV)
    if given:
        return given.encode()
    kept = offline_root(settings).parent / "tte-root.passphrase"
    if not kept.is_file():
        write_private(kept, secrets.token_urlsafe(32))
    return kept.read_bytes().strip()


def url(settings: DCSettings) -> str:
    return f"https://{settings.listen_host}:{settings.ports.tte}"


def authority(settings: DCSettings) -> SiteAuthority:
    return SiteAuthority(settings.root / "tte", settings.site_code, url(settings))


def ensure_authority(settings: DCSettings) -> SiteAuthority:
    """The site CA, signed by the (local stand-in for the) offline root once, and the root's
    revocation list installed."""
    site = authority(settings)
    if not site.ready:
        _ceremony(settings, site)
    # The service's own certificates, made before it answers.
    for role, name in (
        (profiles.Role.TSA, "Time-Stamping Authority"),
        (profiles.Role.OCSP, "OCSP"),
    ):
        if site.current(role) is None:
            site.issue(role, f"PDN {settings.site_code} {name}")
    return site


def _ceremony(settings: DCSettings, site: SiteAuthority) -> None:
    directory, passphrase = offline_root(settings), _passphrase(settings)
    if not (directory / root.KEY).is_file():
        root.init(directory, passphrase)
    cert = root.sign_site(
        directory, passphrase, site.request(), settings.site_code, f"{url(settings)}/crl/root.crl"
    )
    site.install(
        cert.public_bytes(serialization.Encoding.PEM), (directory / root.CERT).read_bytes()
    )
    site.install_root_crl(root.crl(directory, passphrase).public_bytes(serialization.Encoding.PEM))


def ensure_certificate(settings: DCSettings, ca: pki.KeyPair) -> pki.KeyPair:
    return pki.ensure_service_cert(
        settings.pki_dir, ca, CERT_FILE, "pdn e-signature service", settings.listen_host
    )


def process_spec(settings: DCSettings, ca: pki.KeyPair, sso_url: str) -> ProcessSpec:
    cert = pki.KeyPair(settings.pki_dir / f"{CERT_FILE}.crt", settings.pki_dir / f"{CERT_FILE}.key")
    host, port = settings.listen_host, settings.ports.tte
    argv = (
        sys.executable,
        "-m",
        "pdn.tte.server",
        f"--site={settings.site_code}",
        f"--authority={authority(settings).directory}",
        f"--base-url={url(settings)}",
        f"--host={host}",
        f"--port={port}",
        f"--cert={cert.cert}",
        f"--key={cert.key}",
        f"--issuer={sso_url}/realms/{CIVIL_SERVANTS}",
        f"--sso-ca={ca.cert}",
    )
    return ProcessSpec(
        NAME,
        argv,
        (port,),
        lambda: expect_ok(host, port, "/certs/root.crt", ca.cert),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1"},
    )


def issue_for_tenant(
    settings: DCSettings,
    slug: str,
    name: str,
    *,
    official: str | None = None,
    email: str | None = None,
    title: str | None = None,
) -> Issued:
    """A signing certificate for the tenant (its seal) or one of its officials, superseding
    the holder's previous one: key rotation by hand (`pdn tte issue`)."""
    issued, _before = authority(settings).issue_signer(
        slug, name, official=official, email=email, title=title
    )
    return issued
