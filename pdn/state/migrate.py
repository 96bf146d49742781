"""Move the stacks of the file backend into another backend, as they are.

Every DIY backend has one layout, so the move is a copy of the files: the stacks' checkpoints
(secrets stay ciphertext under the same salt), their update history and the backend's meta
file. Each copied stack is read back and compared before the file backend is set aside (kept,
renamed, never deleted: it is the way back).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pdn.pulumi_env import PulumiEnvError
from pdn.state.backends import LOCKS, FileState, StateBackend, stack_key, stack_names
from pdn.state.select import PROJECTS

# What a backend holds that the stacks need; backups/ are Pulumi's own spare copies.
COPIED = (".pulumi/meta.yaml", ".pulumi/stacks/", ".pulumi/history/")


@dataclass(frozen=True)
class Moved:
    stacks: tuple[str, ...]  # project/stack
    files: int
    kept_at: Path | None  # where the file backend was set aside (None: nothing to move)


def migrate(source: FileState, target: StateBackend) -> Moved:
    names = [(p, n) for p in PROJECTS for n in sorted(stack_names(source, p))]
    if not names:
        return Moved((), 0, None)
    held = [f"{p}/{n}" for p, n in names if target.read(stack_key(p, n)) is not None]
    if held:
        raise PulumiEnvError(
            f"{target.description} already holds {', '.join(held)}: nothing was moved (two "
            "states of one stack would fight; remove one with `pulumi stack rm` first)"
        )
    busy = [key for key in source.walk() if key.startswith(f"{LOCKS}/") and key.endswith(".json")]
    if busy:
        raise PulumiEnvError(
            f"an update holds a lock in {source.root} ({busy[0]}): let it finish (or "
            "`pulumi cancel` it), then migrate"
        )
    keys = [k for k in source.walk() if k.startswith(COPIED)]
    for key in keys:
        data = source.read(key)
        if data is not None:
            target.write(key, data)
    for project, name in names:
        if target.read(stack_key(project, name)) != source.read(stack_key(project, name)):
            raise PulumiEnvError(
                f"{project}/{name} read back from {target.description} differs from its file: "
                f"the file backend {source.root} was left in place; run `pdn state migrate` again"
            )
    kept = source.root.with_name(f"{source.root.name}.migrated-{time.strftime('%Y%m%dT%H%M%S')}")
    source.root.rename(kept)
    return Moved(tuple(f"{p}/{n}" for p, n in names), len(keys), kept)
