#!/usr/bin/python
"""Ansible module: several small text files put in place on one host in one module run (each
its content, owner, group and mode; missing directories made 0755 root). What
`ansible.builtin.copy` and `template` do for one file each, in two module runs and a file
transfer each: a migration's host takes three such files on its critical path. Each file is
written whole, atomically, and only where its content differs; changed when any file (or its
owner, group or mode) changes; check mode says which would, diff mode shows how.
"""

from __future__ import annotations

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: host_files
short_description: Put several small text files in place in one run
options:
  files:
    description: The files, each {path, content, owner, group, mode}.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: Its whole content (text).
        type: str
        required: true
      owner:
        type: str
        default: root
      group:
        type: str
        default: root
      mode:
        description: Octal, as a string ("0644").
        type: str
        required: true
author: pdn
"""


def _current(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as found:
            return found.read()
    except FileNotFoundError:
        return None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                    "mode": {"type": "str", "required": True},
                },
            }
        },
        supports_check_mode=True,
    )
    changed_paths, diffs = [], []
    for spec in module.params["files"]:
        path = spec["path"]
        if not os.path.isabs(path):
            module.fail_json(msg=f"{path}: give an absolute path")
        before = _current(path)
        content_changed = before != spec["content"]
        if content_changed:
            diffs.append(
                {
                    "before_header": path,
                    "after_header": path,
                    "before": before or "",
                    "after": spec["content"],
                }
            )
        if content_changed and not module.check_mode:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".pdn-file-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(spec["content"])
            module.atomic_move(partial, path)
        changed = content_changed
        if before is not None or not module.check_mode:
            attributes = {
                "path": path,
                "owner": spec["owner"],
                "group": spec["group"],
                "mode": spec["mode"],
                "attributes": None,
                "secontext": [None, None, None],
            }
            changed = module.set_fs_attributes_if_different(attributes, changed)
        if changed:
            changed_paths.append(path)
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, diff=diffs)


if __name__ == "__main__":
    main()
