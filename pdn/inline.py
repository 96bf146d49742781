"""Run a Pulumi program inside pdn's own process: the mechanism of Pulumi's Automation API
inline programs (its language server, served on loopback; the CLI is told `--client`).

pdn validates the tenant fleet and imports the SDKs once, then serves one program per shard
stack, several at a time: each run keeps its settings and config in its own context. A program
started by the CLI instead costs every stack ~2 s of Python start-up, SDK imports and re-reading
the fleet, and the language host's `pip list`.

Two costs of the Python SDK (3.272) are taken off programs run here, measured on one shard of the
fleet (548 resources, 12-14 s): its wait for outstanding outputs calls `asyncio.wait(...,
FIRST_COMPLETED)` over every pending output until each is done, quadratic in the outputs (3.9 s
of the GIL); `_drain` awaits each once, as they complete. And it sends every debug message to the
engine as a blocking call (~5 per resource), which the CLI shows only under `--debug`, never
passed by pdn: they are dropped unless PDN_PULUMI_DEBUG is set.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import grpc
import pulumi.log
import pulumi.runtime.stack
from pulumi.automation._server import LanguageServer
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import language_pb2_grpc
from pulumi.runtime.settings import SETTINGS, _get_rpc_manager

from pdn.stacks import Program


async def _drain(await_all_outstanding_tasks: bool = True) -> None:
    """pulumi.runtime.stack.wait_for_rpcs with the same semantics (every RPC, then every
    output, again while either gets more; the first failure raised), each output awaited once."""
    rpcs = _get_rpc_manager()
    while True:
        while rpcs.rpcs:
            await asyncio.sleep(0)
            try:
                await rpcs.rpcs.pop()
            except Exception as exn:
                if rpcs.unhandled_exception is not None:
                    raise exn from rpcs.unhandled_exception.with_traceback(rpcs.exception_traceback)
                raise
        if rpcs.unhandled_exception is not None:
            raise rpcs.unhandled_exception.with_traceback(rpcs.exception_traceback)
        while await_all_outstanding_tasks:
            with SETTINGS.lock:
                pending = list(SETTINGS.outputs)
                SETTINGS.outputs.clear()
            if not pending:
                break
            for task in asyncio.as_completed(pending):
                await task
        if not rpcs.rpcs:
            return


def _debug(*_: Any, **__: Any) -> None:
    """A program's debug message, not sent (see the module's doc)."""


pulumi.runtime.stack.wait_for_rpcs = _drain
if not os.environ.get("PDN_PULUMI_DEBUG"):
    pulumi.log.debug = _debug


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
