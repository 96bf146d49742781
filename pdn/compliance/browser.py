"""The compliance report seen as people see it: Debian's Chromium (pinned to its release line,
installed with apt like the DC's servers: the one registry that has a browser), driven headless
by Playwright (which cannot download its own browsers here). Used to keep a screenshot of each
run's page, and by the tests that check what the page shows."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pdn.compliance.errors import ComplianceError

CHROMIUM = Path("/usr/bin/chromium")
PINNED = {"chromium": "156."}
# Width of the screenshot: the report's tables are wide.
VIEWPORT = (1400, 900)


def ensure_chromium(progress: Callable[[str], None] = print) -> Path:
    """Chromium, installed from Debian when missing (as root), on its pin."""
    from pdn.dc import packages  # noqa: PLC0415
    from pdn.dc.errors import DCError  # noqa: PLC0415

    try:
        packages.ensure(progress, PINNED, needed_by="the compliance report's browser")
    except DCError as err:
        raise ComplianceError(str(err)) from err
    return CHROMIUM


def available() -> bool:
    return CHROMIUM.is_file()


@contextmanager
def page(html: Path) -> Iterator[Any]:
    """A Playwright page with the report open (file://), in a headless Chromium whose profile
    is removed afterwards."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    if not available():
        raise ComplianceError(
            f"no browser at {CHROMIUM}: `apt-get install chromium` (Debian), or run "
            "`pdn comply browser` as root"
        )
    profile = Path(tempfile.mkdtemp(prefix="pdn-chromium-"))
    try:
        with sync_playwright() as playwright:
            # Chromium leaves folders in its TMPDIR: this one, removed afterwards.
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), env={**os.environ, "TMPDIR": str(profile)}
            )
            try:
                width, height = VIEWPORT
                opened = browser.new_page(viewport={"width": width, "height": height})
                opened.goto(html.resolve().as_uri())
                yield opened
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(html: Path, png: Path) -> Path:
    """The whole page as PNG, beside the report."""
    with page(html) as opened:
        opened.screenshot(path=str(png), full_page=True)
    return png
