#!/usr/bin/python
"""Ansible module: make a directory tree on one side equal to another's with rsync, run on the
migration controller (which reaches the agency rooms and the DC's hosts; they do not reach each
other). Content is compared by checksum, not by size and time; owners and groups by number,
modes, times, symlinks and hard links kept; names passed as they are (spaces, non-ASCII).

Changed is what rsync itemized: a second run over an unchanged tree reports nothing. Check mode
is rsync's dry run. With delete, the destination loses what the source no longer has.
"""

from __future__ import annotations

import shlex
import subprocess

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: tree_sync
short_description: Mirror a directory tree between hosts through the controller, with checksums
options:
  source:
    description: A directory, local or host:path (with ssh).
    type: str
    required: true
  destination:
    description: A directory, local or host:path (with ssh).
    type: str
    required: true
  ssh:
    description: The ssh command (argv, without the host) that reaches the remote side.
    type: list
    elements: str
  delete:
    description: Remove what the source does not have.
    type: bool
    default: true
  dir_times:
    description: Keep directories' modification times (off where the destination writes into
      them itself, as a configuration rewritten in place does).
    type: bool
    default: true
  excludes:
    description: Patterns (rsync --exclude) left out of the copy and of deletion.
    type: list
    elements: str
    default: []
author: pdn
"""


def main():
    module = AnsibleModule(
        argument_spec={
            "source": {"type": "str", "required": True},
            "destination": {"type": "str", "required": True},
            "ssh": {"type": "list", "elements": "str"},
            "delete": {"type": "bool", "default": True},
            "excludes": {"type": "list", "elements": "str", "default": []},
            "dir_times": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    argv = [
        "rsync",
        "--archive",
        "--hard-links",
        "--numeric-ids",
        "--checksum",
        "--protect-args",
        "--itemize-changes",
        "--out-format=%i %n%L",
        *(["--delete"] if p["delete"] else []),
        *([] if p["dir_times"] else ["--omit-dir-times"]),
        *(f"--exclude={pattern}" for pattern in p["excludes"]),
        *(["--dry-run"] if module.check_mode else []),
    ]
    if p["ssh"]:
        argv.append(f"--rsh={shlex.join(p['ssh'])}")
    argv += [p["source"].rstrip("/") + "/", p["destination"].rstrip("/") + "/"]
    if ":" not in p["destination"]:
        subprocess.run(["mkdir", "-p", "-m", "0700", p["destination"]], check=False)
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=7200)
    if done.returncode != 0:
        module.fail_json(msg=f"rsync failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    items = [line for line in done.stdout.splitlines() if line.strip()]
    module.exit_json(changed=bool(items), items=items[:200], count=len(items))


if __name__ == "__main__":
    main()
