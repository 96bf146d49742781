"""Which backend keeps the stacks' state, by config: PDN_STATE_BACKEND.

- `object-storage` (the default): a bucket of the site's own object store, made by `pdn dc up`
  on the local DC; the state of a national DC lives in the DC, backed up with it.
- `file`: this machine's disk (pdn's state dir): one operator's laptop, for a DC-less try-out.
- `s3://BUCKET?endpoint=https://HOST:PORT[&profile=NAME]`: a bucket elsewhere (a production
  site's Ceph RGW), with the operator's own AWS credentials and AWS_CA_BUNDLE.
"""

from __future__ import annotations

import os

from pdn.inventory import Site
from pdn.pulumi_env import PulumiEnvError, file_state_dir
from pdn.state.backends import FileState, S3State, StateBackend, stack_names

BACKEND_VAR = "PDN_STATE_BACKEND"
OBJECT_STORAGE = "object-storage"
FILE = "file"
# The projects whose stacks pdn drives: the platform and the tenant shards.
PROJECTS = ("pdn", "pdn-tenants")


def choice() -> str:
    return os.environ.get(BACKEND_VAR, "").strip() or OBJECT_STORAGE


def uses_local_dc() -> bool:
    """Whether the state is in the local DC's object store (which must run first)."""
    return choice() == OBJECT_STORAGE


def configured(site: Site, *, made: bool = True) -> StateBackend:
    """The configured backend; for the local DC's, its DC must have been brought up once
    (made=False: where it will be, for printing)."""
    value = choice()
    if value == FILE:
        return FileState(file_state_dir())
    if value == OBJECT_STORAGE:
        from pdn.dc.lifecycle import LocalDC  # noqa: PLC0415  (the DC's clients: only here)

        if made:
            refuse_stranded_file_stacks()
        return LocalDC(site).pulumi_state(made=made)
    if value.startswith("s3://"):
        return S3State.from_url(value)
    raise PulumiEnvError(
        f"{BACKEND_VAR}={value!r}: expected {OBJECT_STORAGE} (the site's own object store, the "
        f"default), {FILE} (this machine's disk) or s3://BUCKET?endpoint=https://HOST:PORT"
    )


def refuse_stranded_file_stacks() -> None:
    """Stacks left in the file backend would be made again, and fight their old selves, if pdn
    silently started a new state next to them: say how to move them instead."""
    local = FileState(file_state_dir())
    stranded = sorted(name for project in PROJECTS for name in stack_names(local, project))
    if stranded:
        raise PulumiEnvError(
            f"stacks {', '.join(stranded)} are in the file backend {local.root}, and pdn now "
            "keeps the state in the site's object store: move them there with "
            f"`pdn state migrate`, or keep using the file backend with {BACKEND_VAR}={FILE}"
        )
