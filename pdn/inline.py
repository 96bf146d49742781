"""Run a Pulumi program inside pdn's own process: the mechanism of Pulumi's Automation API
inline programs (its language server, served on loopback; the CLI is told `--client`).

pdn validates the tenant fleet and imports the SDKs once, then serves one program per shard
stack, several at a time: each run keeps its settings and config in its own context. A program
started by the CLI instead costs every stack ~2 s of Python start-up, SDK imports and re-reading
the fleet, and the language host's `pip list`.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import grpc
from pulumi.automation._server import LanguageServer
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import language_pb2_grpc

from pdn.stacks import Program


@contextmanager
def served(program: Program) -> Iterator[list[str]]:
    """Serve program while the block runs; yields the pulumi arguments that make the CLI use it."""
    server = grpc.server(ThreadPoolExecutor(max_workers=4), options=_GRPC_CHANNEL_OPTIONS)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageServer(program), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield [f"--client=127.0.0.1:{port}", "--exec-kind", "auto.inline"]
    finally:
        server.stop(0)
