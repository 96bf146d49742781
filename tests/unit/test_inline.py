"""pdn.inline's wait for a program's outputs: the SDK's semantics without its quadratic cost."""

from __future__ import annotations

import asyncio

import pulumi.log
import pulumi.runtime.stack
import pytest
from pulumi.runtime.settings import SETTINGS

from pdn import inline


def _track(*coroutines: object) -> list[asyncio.Task[object]]:
    tasks = [asyncio.ensure_future(c) for c in coroutines]  # type: ignore[call-overload]
    with SETTINGS.lock:
        SETTINGS.outputs.update(tasks)
    return tasks


async def _later(seconds: float, value: object, log: list[object]) -> object:
    await asyncio.sleep(seconds)
    log.append(value)
    return value


def test_the_sdk_waits_with_pdns_drain_once_pdn_inline_is_imported() -> None:
    assert pulumi.runtime.stack.wait_for_rpcs is inline._drain
    assert pulumi.log.debug is inline._debug


def test_every_output_is_awaited_including_those_made_while_waiting() -> None:
    done: list[object] = []

    async def spawns() -> None:
        await asyncio.sleep(0.01)
        _track(_later(0.02, "made while waiting", done))
        done.append("spawner")

    async def scenario() -> None:
        _track(*(_later(0.001 * (50 - n), n, done) for n in range(50)), spawns())
        await inline._drain()
        with SETTINGS.lock:
            assert not SETTINGS.outputs

    asyncio.run(scenario())
    assert sorted(d for d in done if isinstance(d, int)) == list(range(50))
    assert "made while waiting" in done
    assert "spawner" in done


def test_the_first_failed_output_is_raised() -> None:
    async def fails() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("the namespace output failed")

    async def scenario() -> None:
        tasks = _track(fails(), _later(5, "slow", []))
        try:
            await inline._drain()
        finally:
            for task in tasks:
                task.cancel()

    with pytest.raises(RuntimeError, match="namespace output failed"):
        asyncio.run(scenario())
