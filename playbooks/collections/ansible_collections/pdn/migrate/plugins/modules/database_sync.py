#!/usr/bin/python
"""Ansible module: make one database's tables on a destination equal to a source's, table by
table, and prove it with checksums. Runs on the migration controller, which reaches both sides:
an agency host over SSH (its server through the local socket, as its administrator), a DBaaS
server over TLS as the tenant's own login.

Each table's row count and content checksum (an order-free sum of one hash per row, computed
by the same engine on both sides) is compared first; only tables that differ are copied, each
in one transaction on the destination: an existing table is emptied and refilled (its owner and
grants kept), a missing one is created. A second run copies nothing and reports no change: the
same module syncs what changed since the copy (cutover) and carries the DC's writes home
(rollback). Check mode reports what it would copy. Tables only the destination has are left.
"""

from __future__ import annotations

import subprocess

from ansible.module_utils.basic import AnsibleModule

# The controller's Python is pdn's: the same table code `pdn migrate verify` checks with.
from pdn.migrate.tables import Endpoint, TableError, copy_table

DOCUMENTATION = r"""
module: database_sync
short_description: Sync a database's tables from a source to a destination, with checksums
description:
  - Compares each table's row count and checksum on both sides and copies only those that
    differ, in one transaction per table on the destination. Runs on the controller.
options:
  engine:
    description: mariadb or postgresql (the same on both sides).
    type: str
    required: true
  source:
    description: An endpoint (see endpoint options).
    type: dict
    required: true
  destination:
    description: An endpoint.
    type: dict
    required: true
  destination_password:
    description: The destination's password when it is a server endpoint.
    type: str
  source_password:
    description: The source's password when it is a server endpoint.
    type: str
notes:
  - "An endpoint is either {ssh: [argv to reach the host], database: NAME}, the server on that
    host reached as its administrator, or {host, port, database, user, ca}, a server over TLS."
author: pdn
"""


def main():
    module = AnsibleModule(
        argument_spec={
            "engine": {"type": "str", "required": True, "choices": ["mariadb", "postgresql"]},
            "source": {"type": "dict", "required": True},
            "destination": {"type": "dict", "required": True},
            "source_password": {"type": "str", "no_log": True},
            "destination_password": {"type": "str", "no_log": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    source = Endpoint.of(p["engine"], p["source"], p["source_password"])
    destination = Endpoint.of(p["engine"], p["destination"], p["destination_password"])
    differ, moved, present = [], 0, set()
    try:
        wanted = source.checksums()
        present = set(destination.tables())
        had = {t: destination.checksum(t) for t in wanted if t in present}
        differ = sorted(t for t in wanted if had.get(t) != wanted[t])
        if differ and not module.check_mode:
            for table in differ:
                moved += copy_table(source, destination, table, exists=table in present)
            after = {t: destination.checksum(t) for t in differ}
            wrong = [t for t in differ if after[t] != wanted[t]]
            if wrong:
                module.fail_json(
                    msg=f"after the copy, {', '.join(wrong)} still differ on "
                    f"{destination.where()}: a writer on the source? stop it and run again"
                )
    except (TableError, subprocess.TimeoutExpired, OSError) as err:
        module.fail_json(msg=str(err))
    module.exit_json(
        changed=bool(differ),
        copied=differ,
        bytes=moved,
        tables={t: {"rows": s.rows, "checksum": s.checksum} for t, s in wanted.items()},
        only_on_destination=sorted(present - set(wanted)),
    )


if __name__ == "__main__":
    main()
