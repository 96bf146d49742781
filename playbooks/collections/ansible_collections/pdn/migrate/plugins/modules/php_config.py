#!/usr/bin/python
"""Ansible module: a PHP application's configuration file pointed at new settings, in one pass
on the host that serves it: the file placed from its initial content where it is missing (kept
where it is), each `define('KEY', value);` line set (replaced in place, or added after the
opening tag), its owner, group and mode set. Changed only when the file changes; check mode
says what would. Values are PHP literals, given as they should be written.
"""

from __future__ import annotations

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: php_config
short_description: Place a PHP configuration file once and set its define() lines
options:
  path:
    description: The configuration file.
    type: path
    required: true
  initial:
    description: Its content where it does not exist yet (the application's own).
    type: str
    required: true
  defines:
    description: KEY -> PHP literal (quoted strings quoted), each written as define('KEY', value);
    type: dict
    required: true
extends_documentation_fragment: files
author: pdn
"""

OPENING = re.compile(r"^<\?php.*$", re.MULTILINE)


def configured(text: str, defines: dict[str, str]) -> str:
    """text with every define of defines set: an existing line replaced, a missing one added
    after the opening tag (in the order given)."""
    missing = []
    for key, value in defines.items():
        line = f"define('{key}', {value});"
        pattern = re.compile(rf"^define\(\s*['\"]{re.escape(key)}['\"]\s*,.*$", re.MULTILINE)
        text, found = pattern.subn(lambda _match, line=line: line, text, count=1)
        if not found:
            missing.append(line)
    if missing:
        opening = OPENING.search(text)
        at = opening.end() if opening else 0
        block = "\n".join(missing)
        text = f"{text[:at]}\n{block}{text[at:]}" if opening else f"<?php\n{block}\n{text}"
    return text


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "initial": {"type": "str", "required": True, "no_log": True},
            "defines": {"type": "dict", "required": True, "no_log": True},
        },
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params["path"]
    exists = os.path.exists(path)
    if exists:
        with open(path, encoding="utf-8") as found:
            before = found.read()
    else:
        before = module.params["initial"]
    after = configured(before, {k: str(v) for k, v in module.params["defines"].items()})
    changed = not exists or after != before
    if changed and not module.check_mode:
        directory = os.path.dirname(path) or "."
        handle, partial = tempfile.mkstemp(dir=directory, prefix=".pdn-config-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(after)
        os.chmod(partial, 0o600)  # the password is in it: nobody else reads it meanwhile
        module.atomic_move(partial, path)
    file_args = module.load_file_common_arguments(module.params)
    if not module.check_mode or exists:
        changed = module.set_fs_attributes_if_different(file_args, changed)
    module.exit_json(changed=changed, path=path)


if __name__ == "__main__":
    main()
