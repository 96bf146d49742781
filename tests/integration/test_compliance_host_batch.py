"""A host's check commands in one session: the script run by this machine's shell and
coreutils (as a Debian host runs it), its output split back into each command's exit status,
stdout and stderr."""

from __future__ import annotations

import subprocess

import pytest

from pdn.compliance import host_batch

pytestmark = pytest.mark.integration

COMMANDS = [
    "echo hello",
    "printf 'to stderr\\n' >&2; exit 3",
    "printf 'pdn-result 9 9 9 9\\n\\000binary'",  # looks like a header, holds a NUL
    "set -- a b; echo $2  # a comment at the end",
    "true",
]


def _run(commands: list[str]) -> bytes:
    done = subprocess.run(
        ["sh", "-c", host_batch.script(commands)], capture_output=True, check=True, timeout=30
    )
    return done.stdout


def test_each_command_gets_its_own_status_and_output() -> None:
    parts = host_batch.split(_run(COMMANDS), len(COMMANDS))
    assert parts == {
        0: (0, b"hello\n", b""),
        1: (3, b"", b"to stderr\n"),
        2: (0, b"pdn-result 9 9 9 9\n\x00binary", b""),
        3: (0, b"b\n", b""),
        4: (0, b"", b""),
    }


def test_output_that_is_not_whole_is_refused() -> None:
    output = _run(COMMANDS)
    assert host_batch.split(output[:-3], len(COMMANDS)) is None
    assert host_batch.split(b"Connection refused\n", len(COMMANDS)) is None
    assert host_batch.split(output, len(COMMANDS) + 1) is None
