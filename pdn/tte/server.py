"""The signing service's process: `python -m pdn.tte.server ...`, as the DC starts it."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from pdn.tte.service import SigningService, Tokens, serve
from pdn.tte.site import SiteAuthority


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", required=True)
    parser.add_argument("--authority", type=Path, required=True, help="the site CA's directory")
    parser.add_argument("--base-url", required=True, help="where this service is reached")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True, help="its serving certificate (PEM)")
    parser.add_argument("--key", required=True)
    parser.add_argument("--issuer", required=True, help="the SSO realm whose tokens it takes")
    parser.add_argument("--sso-ca", type=Path, required=True, help="the CA that signs the SSO")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes accepting requests (default: one per core, at most 4)",
    )
    args = parser.parse_args(argv)
    # pyHanko logs each failed validation as an error: a verdict, not a fault of the service.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    authority = SiteAuthority(args.authority, args.site, args.base_url)
    tokens = Tokens.from_realm(args.issuer, args.sso_ca.read_text())
    serve(
        SigningService(authority, tokens),
        args.host,
        args.port,
        args.cert,
        args.key,
        workers=max(1, args.workers),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
