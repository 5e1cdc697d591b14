"""The config file as text: reading JSON with `//` comments or JSON5, recognising a file written
for upstream OpenClaw, and replacing the file atomically.

No pydantic here, so the CLI can read `plugins.disable` before `--help` without paying for the
config models. JSON5 (`json5`, a slow pure-Python parser) is imported only for a file that plain
JSON with comments cannot read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any


class ConfigFileError(ValueError):
    """The file could not be read or parsed; the message names the file and the place."""


def strip_comments(text: str) -> str:
    """Blank out `//` line comments outside strings, keeping line and column numbers intact,
    so the starter config can explain itself and errors still point at the right place."""
    out = []
    in_string = escaped = in_comment = False
    for index, char in enumerate(text):
        if in_comment:
            in_comment = char != "\n"
            out.append(char if char == "\n" else " ")
        elif in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            out.append(char)
        elif char == "/" and text[index + 1 : index + 2] == "/":
            in_comment = True
            out.append(" ")
        else:
            in_string = char == '"'
            out.append(char)
    return "".join(out)


def parse_jsonc(text: str) -> Any:
    """JSON with `//` comments; raises json.JSONDecodeError."""
    return json.loads(strip_comments(text))


def parse_config_text(text: str, file: Path | str) -> Any:
    """The file's data: JSON with `//` comments first (fast), JSON5 only when that fails."""
    try:
        return parse_jsonc(text)
    except json.JSONDecodeError as exc:
        first = exc
    import json5

    try:
        return json5.loads(text)
    except ValueError as exc:
        detail = str(exc).removeprefix("<string>:")
        raise ConfigFileError(
            f"{file}: not valid JSON: {first.msg} at line {first.lineno}, column {first.colno} "
            f"(nor JSON5: line {detail})"
        ) from None


def read_config_file(file: Path) -> tuple[str, Any]:
    """The file's text and data."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{file}: cannot read config: {exc.strerror}") from None
    return text, parse_config_text(text, file)


def raw_disabled_plugins(file: Path) -> list[str]:
    """`plugins.disable` read without validating the rest (empty when unreadable)."""
    try:
        _, data = read_config_file(file)
    except ConfigFileError:
        return []
    plugins = data.get("plugins") if isinstance(data, dict) else None
    disable = plugins.get("disable") if isinstance(plugins, dict) else None
    if not isinstance(disable, list):
        return []
    return [name for name in disable if isinstance(name, str)]


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (`openclaw.json_file.write_atomically`), keeping
    the old file's permissions; a new file is readable by its owner only, since it may hold
    secrets."""
    from openclaw.json_file import write_atomically

    write_atomically(path, text, mode=None)


# --- upstream OpenClaw's dialect ------------------------------------------------------------

# Top-level sections only upstream OpenClaw's file has (ours: `agent`, `providers`, ...).
UPSTREAM_SECTIONS = ("agents", "models", "auth", "env", "session", "messages", "bindings", "wizard")
KERNEL_SECTIONS = ("agent", "providers", "channels", "gateway", "sandbox", "limits", "plugins")
_CAMEL = re.compile(r"^[a-z]+[A-Z]")
_VARIABLE = re.compile(r"\$\{[A-Z_][A-Z0-9_]*\}")


def _walk(value: Any, path: str = ""):
    """Every (dotted path, key, value) below `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key), item
            yield from _walk(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _setting_keys(data: dict[str, Any]) -> set[str]:
    """The setting names in the kernel's sections; not the names of `providers` and `channels`
    entries, which the user chooses (`myLab` is a fine provider name)."""
    keys: set[str] = set()
    for section in KERNEL_SECTIONS:
        value = data.get(section)
        named = section in ("providers", "channels") and isinstance(value, dict)
        parts = list(value.values()) if named and isinstance(value, dict) else [value]
        for part in parts:
            keys.update(key for _, key, _ in _walk(part))
    return keys


def upstream_differences(data: Any) -> list[str]:
    """What marks `data` as upstream OpenClaw's config rather than ours; empty when it is ours.

    Only upstream-only sections or camelCase keys in the kernel's sections count as evidence;
    `${VAR}` strings are named as a difference once the file is recognised."""
    if not isinstance(data, dict):
        return []
    differences = []
    sections = [key for key in UPSTREAM_SECTIONS if key in data]
    if sections:
        names = ", ".join(f"`{key}`" for key in sections)
        differences.append(
            f"top-level {names}: upstream sections (here: `agent` for the model and workspace, "
            "`providers` for provider keys)"
        )
    if isinstance(data.get("agent"), dict) and isinstance(data["agent"].get("model"), dict):
        differences.append('`agent.model` is an object (here: a "provider/model" string)')
    camel = sorted({key for key in _setting_keys(data) if _CAMEL.match(key)})
    if camel:
        shown = ", ".join(camel[:5]) + (", ..." if len(camel) > 5 else "")
        differences.append(f"camelCase keys ({shown}; here: snake_case such as `base_url`)")
    if not differences:
        return []
    if any(_VARIABLE.search(item) for _, _, item in _walk(data) if isinstance(item, str)):
        differences.append('`${VAR}` substitution (here: {"$env": "VAR"} for a secret)')
    return differences


def upstream_error(file: Path | str, differences: list[str]) -> str:
    """One message naming the differences and the command that converts the file."""
    lines = [f"{file}: this looks like an upstream OpenClaw config, which reads differently:"]
    lines += [f"  - {item}" for item in differences]
    lines.append(
        f"Convert it with `openclaw config import-upstream {file} --force` (it keeps the original "
        f"as {file}.upstream.bak), or into another file with `--output FILE`."
    )
    return "\n".join(lines)
