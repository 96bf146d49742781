"""Read tenant files: every problem of every file at once, each located (file:line:column),
naming the field, what is wrong and how to fix it. Nothing here touches a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pdn.documents import JsonPath, Located, read_located
from pdn.tenants.errors import Problem
from pdn.tenants.model import Contact, Groups, Quota, Tenant


class _FileError(Exception):
    """A file that cannot be parsed at all (its message is already located)."""


def field_name(path: JsonPath) -> str:
    """('quota', 'cpu_cores') -> 'quota.cpu_cores'; ('contacts', 0) -> 'contacts[0]'."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name


def load_tenant(path: Path) -> tuple[Tenant | None, Located | None, list[Problem]]:
    """The tenant in path (or None) with its locations and the problems found in it alone."""
    try:
        located = read_located(path, _FileError)
    except _FileError as err:
        return None, None, [_problem_from_message(path, str(err))]
    if not isinstance(located.document, dict):
        line, column = located.where(())
        return (
            None,
            located,
            [Problem(path, line, column, "", "expected a mapping of tenant fields")],
        )
    try:
        return Tenant.model_validate(located.document), located, []
    except ValidationError as err:
        return None, located, [_from_pydantic(path, located, e) for e in err.errors()]


def _problem_from_message(path: Path, message: str) -> Problem:
    # "FILE:LINE:COLUMN: text" or "FILE: text", as pdn.documents writes them.
    rest = message.removeprefix(f"{path}")
    line = column = 1
    if rest.startswith(":"):
        head = rest[1:].split(":", 2)
        if len(head) == 3 and head[0].isdigit() and head[1].isdigit():
            line, column, rest = int(head[0]), int(head[1]), ":" + head[2]
    return Problem(path, line, column, "", rest.removeprefix(":").strip())


_UNION_TAGS = {"tenant", "platform", "egress"}


def _from_pydantic(path: Path, located: Located, error: Any) -> Problem:
    # A discriminated flow's errors carry its tag: flows.0.tenant.ports -> flows.0.ports
    raw = list(error["loc"])
    loc: JsonPath = tuple(
        p
        for i, p in enumerate(raw)
        if not (
            i >= 2
            and raw[i - 2] == "flows"
            and isinstance(raw[i - 1], int)
            and p in _UNION_TAGS
            and i < len(raw) - 1
        )
    )
    line, column = located.where(loc)
    kind, message = error["type"], error["msg"]
    name = field_name(loc)
    if kind == "extra_forbidden":
        parent = field_name(loc[:-1])
        allowed = _allowed_fields(loc[:-1])
        message = f"unknown field {loc[-1]!r}" + (
            f"; allowed here: {', '.join(allowed)}" if allowed else ""
        )
        name = parent
    elif kind == "missing":
        message = f"required field {loc[-1]!r} is missing"
        name = field_name(loc[:-1])
    elif kind == "string_pattern_mismatch":
        named = next((p for p in reversed(loc) if isinstance(p, str)), "")
        hint = _PATTERN_HINTS.get(named, "has characters that are not allowed here")
        message = f"{error['input']!r} {hint}"
    elif kind.endswith("_type") and "input" in error:
        message = f"{message}, got {type(error['input']).__name__} {error['input']!r}"
        if kind == "string_type":
            message += " (quote it in YAML)"
    elif kind == "value_error":
        message = str(error["ctx"]["error"]) if "ctx" in error else message
        field, _, rest = message.partition(": ")
        if not loc and field in Tenant.model_fields:  # a rule across fields names its field
            loc, message = (field,), rest
            line, column = located.where(loc)
            name = field
    return Problem(path, line, column, name, message)


_PATTERN_HINTS = {
    "slug": "is not a slug: lowercase letters, digits and '-', starting with a letter, at most 40",
    "parent": "is not a slug: lowercase letters, digits and '-', starting with a letter",
    "tenant": "is not a tenant slug: lowercase letters, digits and '-'",
    "name": "has control characters (newlines, escapes): write it on one line",
    "agency_code": "is not an agency code: capitals, digits, '.' and '-', at most 20",
    "region_code": "is not a Kemendagri code: PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD (quote it)",
    "bps_code": "is not a BPS code: 2, 4, 7 or 10 digits (quote it)",
    "email": "is not an e-mail address",
    "phone": "is not an Indonesian phone number in the form +62…",
    "admins": "is not a group name: lowercase letters, digits, ':', '.', '_' and '-'",
    "readers": "is not a group name: lowercase letters, digits, ':', '.', '_' and '-'",
    "sites": "is not a site code: lowercase letters, digits and '-'",
    "accept_from": "is not a tenant slug: lowercase letters, digits and '-'",
}


def _allowed_fields(at: JsonPath) -> list[str]:
    by_path: dict[tuple[str, ...], type[Any]] = {
        (): Tenant,
        ("quota",): Quota,
        ("groups",): Groups,
        ("contacts",): Contact,
    }
    key = tuple(p for p in at if isinstance(p, str))
    found = by_path.get(key)
    if found is None and key and key[0] == "flows":
        return ["tenant", "platform", "egress", "ports"]
    return sorted(found.model_fields) if found else []
