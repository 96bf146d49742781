"""Read a YAML document from a file, every failure one located line that says what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml

E = TypeVar("E", bound=Exception)


def read_yaml(path: Path, error: type[E]) -> object:
    """The parsed document, or `error` with `FILE[:LINE:COLUMN]: problem` (no parser dump)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise error(f"{path}: cannot read the file: {err.strerror}") from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise error(
            f"{path}:{line}:{column}: byte 0x{raw[err.start]:02x} is not UTF-8: "
            "save the file as UTF-8"
        ) from err
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = err.problem or err.context or "invalid syntax"
        raise error(f"{where}: not valid YAML: {problem}") from err
    except yaml.YAMLError as err:
        first = str(err).splitlines()[0] if str(err) else "invalid YAML"
        raise error(f"{path}: not valid YAML: {first}") from err
