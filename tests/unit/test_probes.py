"""The DC's health probes against a real HTTP server on loopback: 200 is healthy, and a probe
that names a header also tells the expected program from another one on its port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pdn.dc.probes import expect_ok


class _Health(BaseHTTPRequestHandler):
    via = ""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        if self.via:
            self.send_header("Via", self.via)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_header_tells_the_expected_program_from_another_on_its_port(
    server: ThreadingHTTPServer,
) -> None:
    port = server.server_address[1]
    assert expect_ok("127.0.0.1", port, "/health", None) is None
    problem = expect_ok("127.0.0.1", port, "/health", None, header=("Via", "pdn-features"))
    assert problem == (f"/health: no Via 'pdn-features' (another program answers on port {port})")
    _Health.via = "1.1 pdn-features"
    try:
        assert expect_ok("127.0.0.1", port, "/health", None, header=("Via", "pdn-features")) is None
    finally:
        _Health.via = ""
    assert expect_ok("127.0.0.1", port, "/other", None) == '/other: HTTP 503 {"status": "ok"}'
