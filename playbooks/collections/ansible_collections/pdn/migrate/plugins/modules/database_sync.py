#!/usr/bin/python
"""Ansible module: make one database's tables on a destination equal to a source's, table by
table, and prove it with checksums. Runs on the migration controller, which reaches both sides:
an agency host over SSH (its server through the local socket, as its administrator), a DBaaS
server over TLS as the tenant's own login.

Tables that differ are copied, each in one transaction on the destination (an existing table
emptied and refilled, its owner and grants kept; a missing one created), and every copied
table is then proven equal to the source: see pdn.migrate.tables.sync_database for how tables
are compared (checksums computed by each side's own server: no row crosses to be checked). A
second run copies nothing and reports no change: the same module syncs what changed since the
copy (cutover) and carries the DC's writes home (rollback). Check mode reports what it would
copy. Tables only the destination has are left.
"""

from __future__ import annotations

import subprocess

from ansible.module_utils.basic import AnsibleModule

# The controller's Python is pdn's: the same table code `pdn migrate verify` checks with.
from pdn.migrate.tables import Endpoint, TableError, sync_database

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
    try:
        synced = sync_database(source, destination, check=module.check_mode)
    except (TableError, subprocess.TimeoutExpired, OSError) as err:
        module.fail_json(msg=str(err))
    module.exit_json(
        changed=bool(synced.copied),
        copied=synced.copied,
        bytes=synced.moved,
        only_on_destination=synced.only_on_destination,
    )


if __name__ == "__main__":
    main()
