"""What the model sees besides the new message: the system prompt and the history that fits.

The system prompt is built from the workspace's prompt files, read once and re-read only when a
file changes, in a fixed order and with no volatile parts, so the prompt prefix stays
byte-identical across turns and providers' prompt caches keep hitting. The files are opened as
the file tools open theirs (`WorkspaceFiles`): a prompt file that is a symlink or a hard link is
skipped, so the model cannot link `MEMORY.md` to a secret and have it sent along. A turn checks
each file with one `lstat`: the same (device, inode, size, mtime, ctime) as the file last opened
and checked is that file unchanged (a swap for a symlink, a new hard link, an edit or a rename
each change one of them), so only a changed file is opened through `WorkspaceFiles` again.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from openclaw.errors import ToolError
from openclaw.messages import Message, ToolResult, message_tokens
from openclaw.sandbox import WorkspaceFiles

log = logging.getLogger("openclaw.agent.context")

PROMPT_FILES = ("SOUL.md", "IDENTITY.md", "AGENTS.md", "TOOLS.md", "USER.md", "MEMORY.md")

PREAMBLE = (
    "You are {name}, a personal AI assistant. Answer the user directly and concisely. "
    "Use the tools you are given when they help; say so when something failed."
)

MAX_FILE_CHARS = 20_000

Stamp = tuple[int, int, int, int, int]  # (st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)


def _stamp(st: os.stat_result) -> Stamp:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class PromptFiles:
    """Reads the workspace prompt files, caching each by its `Stamp` (checked with an `lstat`)."""

    def __init__(
        self,
        workspace: Path,
        names: Sequence[str] = PROMPT_FILES,
        files: WorkspaceFiles | None = None,
    ) -> None:
        self.workspace = workspace
        self.names = tuple(names)
        self.files = files or WorkspaceFiles(workspace)
        self._cache: dict[str, tuple[Stamp, str]] = {}
        self._refused: dict[str, str] = {}  # name -> the reason last logged
        self.reads = 0  # how many times a file was actually read (for tests and benchmarks)

    def _read(self, name: str) -> str:
        try:
            st = os.lstat(self.files.workspace / name)
        except FileNotFoundError:  # no such file (or no workspace): nothing to open
            self._cache.pop(name, None)
            return ""
        except OSError:
            st = None  # the walk below says why
        cached = self._cache.get(name)
        if st is not None and cached is not None and cached[0] == _stamp(st):
            return cached[1]
        return self._open(name)

    def _open(self, name: str) -> str:
        """The file read through `WorkspaceFiles` (what is opened is what was checked)."""
        if not self.workspace.is_dir():
            return ""
        try:
            with self.files.locate(name) as place:
                if place.kind() == "missing":
                    self._cache.pop(name, None)
                    return ""
                with place.open_read() as handle:
                    stamp = _stamp(os.fstat(handle.fileno()))
                    cached = self._cache.get(name)
                    if cached and cached[0] == stamp:
                        return cached[1]
                    raw = handle.read()
        except (ToolError, OSError) as exc:
            self._cache.pop(name, None)
            if self._refused.get(name) != str(exc):
                self._refused[name] = str(exc)
                log.warning("workspace prompt file %s skipped: %s", name, exc)
            return ""
        self._refused.pop(name, None)
        text = raw.decode("utf-8", errors="replace").strip()
        self.reads += 1
        if len(text) > MAX_FILE_CHARS:
            text = text[:MAX_FILE_CHARS] + "\n[... truncated ...]"
        self._cache[name] = (stamp, text)
        return text

    def sections(self) -> list[tuple[str, str]]:
        """(file name, text) of every present, non-empty prompt file, in the fixed order."""
        return [(name, text) for name in self.names if (text := self._read(name))]


def build_system_prompt(agent_name: str, files: PromptFiles, extras: Iterable[str] = ()) -> str:
    """The system prompt: preamble, then each workspace file under its name, then plugin extras."""
    parts = [PREAMBLE.format(name=agent_name)]
    parts += [f"## {name}\n\n{text}" for name, text in files.sections()]
    parts += [extra.strip() for extra in extras if extra and extra.strip()]
    return "\n\n".join(parts)


def _units(history: Sequence[Message]) -> list[list[Message]]:
    """Group messages so that an assistant tool-call message and its results stay together."""
    units: list[list[Message]] = []
    for message in history:
        if (
            message.role == "tool"
            and units
            and (units[-1][0].tool_calls or units[-1][0].role == "tool")
        ):
            units[-1].append(message)
        else:
            units.append([message])
    return units


def select_history(history: Sequence[Message], budget: int) -> list[Message]:
    """The newest messages of the repaired history (`repair_history`) that fit in `budget`
    tokens, never splitting a tool call from its results. The newest unit is always kept."""
    chosen: list[list[Message]] = []
    used = 0
    for unit in reversed(_units(repair_history(history))):
        cost = sum(message_tokens(m) for m in unit)
        if chosen and used + cost > budget:
            break
        chosen.append(unit)
        used += cost
    selected = [message for unit in reversed(chosen) for message in unit]
    while selected and selected[0].role == "tool":
        selected.pop(0)
    return selected


ORPHAN_CALL_RESULT = "Error: this tool call has no result; the turn that made it was interrupted."


def repair_history(history: Sequence[Message]) -> list[Message]:
    """The history made valid for every provider, whatever a crash or an older version stored:
    each tool-call message is followed by exactly one result per call, in call order.

    A call without a result is answered with an error result; a call message stored twice in a
    row (the second copy after a failed write) keeps only its later copy; a call repeated in one
    message, a second result for a call, and a result with no call before it are dropped.
    A history that needs no repair is returned as an equal list.
    """
    repaired: list[Message] = []
    index = 0
    while index < len(history):
        message = history[index]
        index += 1
        if message.role == "tool":
            continue  # a result whose call is not right before it
        if not message.tool_calls:
            repaired.append(message)
            continue
        results: dict[str, Message] = {}
        while index < len(history) and history[index].role == "tool":
            result = history[index]
            results.setdefault(result.tool_call_id or "", result)
            index += 1
        calls = list({call.id: call for call in reversed(message.tool_calls)}.values())[::-1]
        following = history[index] if index < len(history) else None
        if not results and following is not None and following.tool_calls:
            copied = {call.id for call in following.tool_calls}
            calls = [call for call in calls if call.id not in copied]
        if calls != message.tool_calls:
            message = dataclasses.replace(message, tool_calls=calls)
        if not calls and not message.text:
            continue
        repaired.append(message)
        for call in calls:
            found = results.get(call.id)
            if found is None:
                found = Message.tool_result(
                    ToolResult(call.id, call.name, ORPHAN_CALL_RESULT, True)
                )
            repaired.append(found)
    return repaired
