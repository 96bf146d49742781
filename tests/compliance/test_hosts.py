"""Host controls (PDN hosts, estate hosts), over SSH: what each host's own tools say."""

from __future__ import annotations

from typing import Any

import pytest

# Where private keys live on a Debian host and its applications.
KEY_DIRS = ("/etc", "/root", "/home", "/srv", "/var/www", "/opt")
PRIVATE_KEY = r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"


@pytest.mark.control("PDN-SSH-1")
def test_ssh_takes_keys_only(host: Any, record_property: Any) -> None:
    settings = dict(
        line.split(" ", 1)
        for line in host.check_output("sshd -T 2>/dev/null || /usr/sbin/sshd -T").splitlines()
        if " " in line
    )
    wanted = {
        "passwordauthentication": {"no"},
        "permitemptypasswords": {"no"},
        "kbdinteractiveauthentication": {"no"},
        "permitrootlogin": {"prohibit-password", "without-password", "no"},
    }
    found = {key: settings.get(key, "?") for key in wanted}
    record_property("evidence", ", ".join(f"{k} {v}" for k, v in found.items()))
    wrong = {k: v for k, v in found.items() if v not in wanted[k]}
    assert not wrong, f"sshd -T: {wrong}"


@pytest.mark.control("PDN-KEYS-1")
def test_no_secret_is_world_readable(host: Any, record_property: Any) -> None:
    dirs = " ".join(d for d in KEY_DIRS if host.file(d).exists)
    # find says 1 when a grep found nothing in its batch; anything on stderr is a broken search.
    search = host.run(
        f"find {dirs} -xdev -type f -perm -o=r -size -64k "
        f"-exec grep -l -m1 -E -e '{PRIVATE_KEY}' {{}} +"
    )
    assert search.rc in (0, 1), f"the search failed ({search.rc}): {search.stderr}"
    assert not search.stderr, f"the search failed: {search.stderr}"
    found = search.stdout.split("\n")
    readable = sorted(path for path in found if path)
    record_property(
        "evidence", ", ".join(readable) or f"no private key readable by others in {dirs}"
    )
    assert not readable, f"private keys readable by others: {readable}"
