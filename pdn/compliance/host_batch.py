"""A host's check commands in one SSH session: a shell script runs them all at once, keeps
each one's exit status, stdout and stderr apart, then prints them with their lengths so they
split exactly, whatever bytes they hold. One session per host instead of one per command: the
cost of a host check is mostly the session (the client, the channel, the remote shell)."""

from __future__ import annotations

import re
import shlex
from typing import Any

from testinfra.backend.base import CommandResult

_HEADER = re.compile(rb"pdn-result (\d+) (\d+) (\d+) (\d+)\n")


def script(commands: list[str]) -> str:
    """The shell script that runs commands at once and prints each result after a header:
    `pdn-result <index> <rc> <stdout bytes> <stderr bytes>`, then its stdout and stderr."""
    lines = ['d="$(mktemp -d)" || exit 125', "trap 'rm -rf \"$d\"' EXIT"]
    for i, command in enumerate(commands):
        lines.append(
            f'{{ ( {command}\n) >"$d/{i}.out" 2>"$d/{i}.err" </dev/null; echo $? >"$d/{i}.rc"; }} &'
        )
    lines.append("wait")
    for i in range(len(commands)):
        lines.append(
            f'printf "pdn-result {i} %s %s %s\\n" "$(cat "$d/{i}.rc")" '
            f'"$(wc -c <"$d/{i}.out")" "$(wc -c <"$d/{i}.err")"; cat "$d/{i}.out" "$d/{i}.err"'
        )
    return "\n".join(lines) + "\n"


def split(output: bytes, count: int) -> dict[int, tuple[int, bytes, bytes]] | None:
    """index -> (rc, stdout, stderr), from the script's output; None when it is not whole."""
    found: dict[int, tuple[int, bytes, bytes]] = {}
    at = 0
    while at < len(output):
        header = _HEADER.match(output, at)
        if header is None:
            return None
        index, rc, out_len, err_len = (int(g) for g in header.groups())
        at = header.end()
        stdout, stderr = output[at : at + out_len], output[at + out_len : at + out_len + err_len]
        at += out_len + err_len
        found[index] = (rc, stdout, stderr)
    return found if len(found) == count else None


def run(host: Any, commands: list[str]) -> dict[str, Any]:
    """command -> its testinfra CommandResult, from one session on host (a testinfra Host).
    When the session fails (the host does not answer), each command gets the session's result:
    its checks fail with what ssh said."""
    batch = host.run("sh -c " + shlex.quote(script(commands)))
    parts = split(batch.stdout_bytes, len(commands)) if batch.rc == 0 else None
    if parts is None:
        return {command: batch for command in commands}
    return {
        command: CommandResult(host.backend, rc, command.encode(), stdout, stderr)
        for command, (rc, stdout, stderr) in ((c, parts[i]) for i, c in enumerate(commands))
    }
