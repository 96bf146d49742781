"""Lookup plugin: a secret of the running migration, asked of the pdn process that started the
playbook, over its private socket (named by PDN_MIGRATE_SECRETS). Secrets never pass through
Ansible's variables files, its environment (ansible-runner writes that to its artifacts) or a
file of the controller."""

from __future__ import annotations

import os
import socket

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: secret
short_description: A secret of the running pdn migration
description:
  - Asks the pdn process that runs the playbook for a named secret over its private socket.
options:
  _terms:
    description: Names of the secrets.
    required: true
author: pdn
"""


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        path = os.environ.get("PDN_MIGRATE_SECRETS")
        if not path:
            raise AnsibleError("no secrets socket: run this playbook through `pdn migrate`")
        found = []
        for term in terms:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(path)
                conn.sendall(term.encode() + b"\n")
                answer = b""
                while chunk := conn.recv(4096):
                    answer += chunk
            if not answer.startswith(b"+"):
                raise AnsibleError(f"pdn knows no secret named {term}")
            found.append(answer[1:].decode().rstrip("\n"))
        return found
