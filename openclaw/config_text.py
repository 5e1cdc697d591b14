"""Editing JSON with `//` comments in place (`openclaw config set|unset`): the value at a dotted
path is replaced, added or removed, and every other byte of the file, its comments included,
stays as it was."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from openclaw.config_file import strip_comments

_DECODER = json.JSONDecoder()


@dataclass
class _Node:
    """A value's span in the text; an object's members map key → (key start, value node)."""

    start: int
    end: int
    members: dict[str, tuple[int, _Node]] | None = None


def _skip(clean: str, at: int) -> int:
    while at < len(clean) and clean[at] in " \t\r\n":
        at += 1
    return at


def _parse(clean: str, at: int) -> _Node:
    """The value starting at `at` (after whitespace) in comment-blanked JSON text."""
    at = _skip(clean, at)
    if clean[at] == "{":
        members: dict[str, tuple[int, _Node]] = {}
        at = _skip(clean, at + 1)
        start = at - 1
        while clean[at] != "}":
            key, after = _DECODER.raw_decode(clean, at)
            colon = _skip(clean, after)
            value = _parse(clean, colon + 1)
            members[key] = (at, value)
            at = _skip(clean, value.end)
            if clean[at] == ",":
                at = _skip(clean, at + 1)
        return _Node(clean.rfind("{", 0, start + 1), at + 1, members)
    if clean[at] == "[":
        start = at
        at = _skip(clean, at + 1)
        while clean[at] != "]":
            at = _skip(clean, _parse(clean, at).end)
            if clean[at] == ",":
                at = _skip(clean, at + 1)
        return _Node(start, at + 1)
    _, end = _DECODER.raw_decode(clean, at)
    return _Node(at, end)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _nested(keys: list[str], value: Any) -> Any:
    for key in reversed(keys):
        value = {key: value}
    return value


def set_in_text(text: str, path: list[str], value: Any) -> str:
    """`text` (JSON with `//` comments) with the value at `path` replaced or added, every other
    byte (comments included) unchanged. Raises ValueError when a parent on `path` is no object."""
    clean = strip_comments(text)
    node = _parse(clean, 0)
    for depth, key in enumerate(path):
        if node.members is None:
            raise ValueError(f"{'.'.join(path[:depth]) or 'the config'} is not an object")
        if key not in node.members:
            member = f"{_dumps(key)}: {_dumps(_nested(path[depth + 1 :], value))}"
            if not node.members:
                return text[: node.start + 1] + member + text[node.start + 1 :]
            first = min(start for start, _ in node.members.values())
            line_start = clean.rfind("\n", 0, first) + 1
            indent = clean[line_start:first]
            separator = f",\n{indent}" if not indent.strip() else ", "
            return text[:first] + member + separator + text[first:]
        node = node.members[key][1]
    return text[: node.start] + _dumps(value) + text[node.end :]


def unset_in_text(text: str, path: list[str]) -> str | None:
    """`text` without the member at `path` (and its line, when it had one to itself); None when
    there is no such member."""
    clean = strip_comments(text)
    node = _parse(clean, 0)
    for key in path[:-1]:
        if node.members is None or key not in node.members:
            return None
        node = node.members[key][1]
    if node.members is None or path[-1] not in node.members:
        return None
    start, value = node.members[path[-1]]
    end = _skip(clean, value.end)
    comma_before = None
    if clean[end] == ",":
        end += 1
    else:  # the last member: drop the comma before it instead
        end = value.end
        before = clean[:start].rstrip()
        comma_before = len(before) - 1 if before.endswith(",") else None
    line_start = clean.rfind("\n", 0, start) + 1
    line_end = clean.find("\n", end)
    line_end = len(clean) if line_end < 0 else line_end
    if not clean[line_start:start].strip() and not clean[end:line_end].strip():
        start, end = line_start, min(line_end + 1, len(clean))
    text = text[:start] + text[end:]
    if comma_before is not None:
        text = text[:comma_before] + text[comma_before + 1 :]
    return text
