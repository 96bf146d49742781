"""What the e-signature tests share: a national root and a site CA made for real in a test's
directory, and a blank one-page PDF (pyHanko's writer)."""

from __future__ import annotations

import io
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter

from pdn.tte import root
from pdn.tte.site import SiteAuthority

PASSPHRASE = b"correct horse battery staple"


def make_authority(directory: Path, *, root_crl: bool = True) -> SiteAuthority:
    """The root made, a site CA signed by it (and the root's CRL installed)."""
    root.init(directory / "root", PASSPHRASE)
    site = SiteAuthority(directory / "site", "pdn-local", "https://127.0.0.1:18480")
    cert = root.sign_site(directory / "root", PASSPHRASE, site.request(), "pdn-local", "https://x")
    site.install(
        cert.public_bytes(serialization.Encoding.PEM),
        (directory / "root" / root.CERT).read_bytes(),
    )
    if root_crl:
        site.install_root_crl(
            root.crl(directory / "root", PASSPHRASE).public_bytes(serialization.Encoding.PEM)
        )
    return site


def blank_pdf() -> bytes:
    writer = PdfFileWriter()
    box = [generic.NumberObject(n) for n in (0, 0, 595, 842)]
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): generic.ArrayObject(box),
            }
        )
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
