"""Read a YAML document from a file, every failure one located line that says what to fix.

`read_yaml` for trusted inventories; `read_located` for files anyone may write (tenants): no
aliases or anchors (a few lines of them expand to gigabytes), a size limit, and the line and
column of every value, so a schema error can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

E = TypeVar("E", bound=Exception)
MAX_BYTES = 256 * 1024  # a tenant file is a page or two; refuse what cannot be one
Location = tuple[int, int]  # line, column (1-based)
JsonPath = tuple[str | int, ...]


def read_yaml(path: Path, error: type[E]) -> object:
    """The parsed document, or `error` with `FILE[:LINE:COLUMN]: problem` (no parser dump)."""
    text = _read_text(path, error)
    if _CLoader is not None:  # libyaml: a site's inventory takes 0.3 s in the Python parser
        try:
            return yaml.load(text, Loader=_CLoader)  # noqa: S506  (the safe loader)
        except yaml.YAMLError:
            pass  # the Python parser says what is wrong in its own (clearer) words
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise _yaml_error(path, err, error) from err


def _read_text(path: Path, error: type[E], limit: int | None = None) -> str:
    try:
        if limit is not None and path.stat().st_size > limit:
            raise error(
                f"{path}: {path.stat().st_size} bytes, more than the {limit} a file of this kind "
                "may have: is it the right file?"
            )
        raw = path.read_bytes()
    except OSError as err:
        raise error(f"{path}: cannot read the file: {err.strerror}") from err
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise error(
            f"{path}:{line}:{column}: byte 0x{raw[err.start]:02x} is not UTF-8: "
            "save the file as UTF-8"
        ) from err


def _yaml_error(path: Path, err: yaml.YAMLError, error: type[E]) -> E:
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = err.problem or err.context or "invalid syntax"
        return error(f"{where}: not valid YAML: {problem}")
    first = str(err).splitlines()[0] if str(err) else "invalid YAML"
    return error(f"{path}: not valid YAML: {first}")


@dataclass(frozen=True)
class Located:
    """A parsed document and where each of its values stands in the file."""

    document: Any
    locations: dict[JsonPath, Location]

    def where(self, path: JsonPath) -> Location:
        """The location of path, or of its nearest ancestor that exists (a missing field: the
        mapping that lacks it)."""
        for depth in range(len(path), -1, -1):
            found = self.locations.get(path[:depth])
            if found is not None:
                return found
        return (1, 1)


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases, and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML aliases (*name) are not allowed here: write the value out",
                event.start_mark,
            )
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML anchors (&name) are not allowed here: write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def read_located(path: Path, error: type[E], limit: int = MAX_BYTES) -> Located:
    """Parse an untrusted YAML file (one document) keeping every value's line and column."""
    text = _read_text(path, error, limit)
    # Without '&' and '*' a document can hold no anchor or alias: libyaml may compose it (~10x
    # faster, which is most of validating 620 tenant files). Anything else, and any error, goes
    # through the pure-Python loader, which refuses aliases and says where, in its own words.
    if _CLoader is not None and "&" not in text and "*" not in text:
        loader: Any = _CLoader(text)
        try:
            return _located(loader, path, error)
        except yaml.YAMLError:
            pass
        finally:
            loader.dispose()
    loader = _NoAliasLoader(text)
    try:
        return _located(loader, path, error)
    except yaml.YAMLError as err:
        raise _yaml_error(path, err, error) from err
    finally:
        loader.dispose()


_CLoader = getattr(yaml, "CSafeLoader", None)


def _located(loader: Any, path: Path, error: type[E]) -> Located:
    node = loader.get_single_node()
    if node is None:
        return Located(None, {(): (1, 1)})
    locations: dict[JsonPath, Location] = {}
    _index(node, (), locations, path, error)
    return Located(loader.construct_document(node), locations)


def _index(
    node: yaml.Node, at: JsonPath, into: dict[JsonPath, Location], path: Path, error: type[E]
) -> None:
    into[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key, value in node.value:
            name = key.value
            if name in seen:
                raise error(
                    f"{path}:{key.start_mark.line + 1}:{key.start_mark.column + 1}: "
                    f"{name!r} is given twice (first on line {seen[name]}): keep one"
                )
            seen[name] = key.start_mark.line + 1
            _index(value, (*at, str(name)), into, path, error)
            # A field is where its key is (a list under it starts a line later).
            into[(*at, str(name))] = (key.start_mark.line + 1, key.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*at, position), into, path, error)
