"""File tools: read_file, write_file, list_dir and patch.

Every path goes through `SandboxPolicy.resolve_path`, which resolves `..` and symlinks before
deciding, so the tools act on the real target inside the allowlist or not at all. Writes are
atomic (a temporary file in the same directory, then `os.replace`), so a reader never sees half
a file and a failed write leaves the old one intact.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import BaseModel, Field

from openclaw.tools import Tool, ToolError, tool

if TYPE_CHECKING:
    from openclaw.sandbox import SandboxPolicy
    from openclaw.tools import ToolContext

MAX_WRITE_BYTES = 5_000_000
MAX_LINE_CHARS = 2_000
MAX_LIST_ENTRIES = 500
MAX_LIST_DEPTH = 3
BINARY_SNIFF_BYTES = 8_192
MAX_COUNTED_MATCHES = 1_000  # patch counts matches up to here
NOTE_ROOM = 300  # characters kept free under the kernel's output cap for the closing note


def display_path(path: Path, workspace: Path) -> str:
    """`path` relative to the workspace when inside it (what the model passed), else absolute."""
    try:
        relative = path.relative_to(workspace.resolve())
    except ValueError:
        return str(path)
    return relative.as_posix() if relative.parts else "."


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def looks_binary(head: bytes) -> bool:
    """A NUL byte or invalid UTF-8 in the first bytes (a cut multi-byte character is fine)."""
    if b"\0" in head:
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return True
    return False


def text_lines(handle: TextIO) -> Iterator[tuple[str, int]]:
    """Each line without its ending, cut at MAX_LINE_CHARS, with the number of characters cut.

    A long line is read in pieces and never held whole (a minified file, a log with no
    newline)."""
    while line := handle.readline(MAX_LINE_CHARS):
        cut = 0
        if len(line) == MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            while rest := handle.readline(MAX_LINE_CHARS):
                ended = rest.endswith(("\n", "\r"))
                cut += len(rest.rstrip("\r\n"))
                if ended:
                    break
        yield line.rstrip("\r\n"), cut


def atomic_write(target: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `target`, then rename it over `target`.

    An existing file keeps its permission bits; a new one gets 0666 minus the umask, as a plain
    `open()` would.
    """
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    for attempt in range(100):
        temp = target.with_name(f".{target.name}.{os.getpid()}.{attempt}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - a hundred stale temporary files
        raise ToolError(f"cannot create a temporary file beside {target}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class ReadFileArguments(BaseModel):
    path: str = Field(description="File to read, relative to the workspace.")
    offset: int = Field(1, ge=1, description="First line to show (1-based).")
    limit: int | None = Field(
        None, ge=1, description="How many lines to show (default: as many as fit)."
    )
    line_numbers: bool = Field(True, description="Prefix each line with its number.")


class WriteFileArguments(BaseModel):
    path: str = Field(description="File to create or replace, relative to the workspace.")
    content: str = Field(description="The complete new content of the file.")


class ListDirArguments(BaseModel):
    path: str = Field(".", description="Directory to list, relative to the workspace.")
    depth: int = Field(
        2, ge=1, le=MAX_LIST_DEPTH, description="How many levels to descend (1 = this directory)."
    )


class PatchArguments(BaseModel):
    path: str = Field(description="File to edit, relative to the workspace.")
    old_text: str = Field(
        min_length=1,
        description="Exact text to replace (whitespace included); must occur exactly once.",
    )
    new_text: str = Field(description="The replacement text.")


def make_tools(policy: SandboxPolicy, context: ToolContext) -> list[Tool]:
    workspace = context.workspace
    # read_file stops short of the kernel's truncation so its own continuation note survives.
    read_budget = max(context.config.agent.tool_output_chars - NOTE_ROOM, 200)

    def shown(path: Path) -> str:
        return display_path(path, workspace)

    def read_lines(path: str, offset: int, limit: int | None, line_numbers: bool) -> str:
        target = policy.resolve_path(path)
        if target.is_dir():
            raise ToolError(f"{shown(target)} is a directory; use list_dir.")
        if not target.is_file():
            raise ToolError(f"{shown(target)} does not exist or is not a regular file.")
        size = target.stat().st_size
        with target.open("rb") as handle:
            if looks_binary(handle.read(BINARY_SNIFF_BYTES)):
                raise ToolError(
                    f"{shown(target)} is binary or not UTF-8 ({human_size(size)}); read_file "
                    "shows UTF-8 text only. Use exec (e.g. `file`, `xxd | head`) to inspect it."
                )
        if size == 0:
            return f"{shown(target)} is empty."
        out: list[str] = []
        used = 0
        number = 0
        more = False
        with target.open(encoding="utf-8", errors="replace", newline="") as text:
            for number, (line, cut) in enumerate(text_lines(text), start=1):
                if number < offset:
                    continue
                if limit is not None and len(out) >= limit:
                    more = True
                    break
                if cut:
                    line = f"{line} [... {cut} more characters on this line]"
                entry = f"{number:>6}\t{line}" if line_numbers else line
                if out and used + len(entry) + 1 > read_budget:
                    more = True
                    break
                out.append(entry)
                used += len(entry) + 1
        if not out:
            raise ToolError(f"offset {offset} is past the end of {shown(target)} ({number} lines).")
        if more:
            last = offset + len(out) - 1
            out.append(
                f"[lines {offset}-{last} shown; the file continues: "
                f"read_file with offset={last + 1}]"
            )
        return "\n".join(out)

    def write(path: str, content: str) -> str:
        data = content.encode("utf-8")
        if len(data) > MAX_WRITE_BYTES:
            raise ToolError(
                f"content is {human_size(len(data))}; write_file takes at most "
                f"{human_size(MAX_WRITE_BYTES)}."
            )
        target = policy.resolve_path(path, write=True)
        if target.is_dir():
            raise ToolError(f"{shown(target)} is a directory.")
        existed = target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
        verb = "replaced" if existed else "created"
        return f"{verb} {shown(target)} ({human_size(len(data))})"

    def listing(path: str, depth: int) -> str:
        root = policy.resolve_path(path)
        if not root.is_dir():
            raise ToolError(f"{shown(root)} is not a directory.")
        # Breadth first, so the cap drops the deepest entries rather than whole siblings.
        children: dict[Path, list[os.DirEntry[str]]] = {}
        count = 0
        capped = False
        level = [root]
        for _ in range(depth):
            next_level = []
            for directory in level:
                try:
                    with os.scandir(directory) as scan:
                        entries = sorted(scan, key=lambda e: e.name)
                except OSError as exc:
                    if directory == root:
                        raise ToolError(f"cannot list {shown(root)}: {exc.strerror}") from exc
                    continue
                room = MAX_LIST_ENTRIES - count
                if len(entries) > room:
                    entries, capped = entries[:room], True
                children[directory] = entries
                count += len(entries)
                next_level += [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
            level = next_level
            if capped:
                break
        lines = [f"{shown(root)}/"]

        def show(directory: Path, indent: str) -> None:
            for entry in children.get(directory, []):
                if entry.is_symlink():
                    lines.append(f"{indent}{entry.name} -> {os.readlink(entry.path)}")
                elif entry.is_dir():
                    lines.append(f"{indent}{entry.name}/")
                    show(Path(entry.path), indent + "  ")
                else:
                    size = human_size(entry.stat(follow_symlinks=False).st_size)
                    lines.append(f"{indent}{entry.name}  ({size})")

        show(root, "  ")
        if count == 0:
            lines.append("  (empty)")
        if capped:
            lines.append(
                f"[stopped at {MAX_LIST_ENTRIES} entries; list a subdirectory or use a smaller "
                "depth to see the rest]"
            )
        return "\n".join(lines)

    def apply_patch(path: str, old_text: str, new_text: str) -> str:
        target = policy.resolve_path(path, write=True)
        if not target.is_file():
            raise ToolError(f"{shown(target)} does not exist or is not a regular file.")
        raw = target.read_bytes()
        if len(raw) > MAX_WRITE_BYTES:
            raise ToolError(f"{shown(target)} is too large to patch ({human_size(len(raw))}).")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ToolError(f"{shown(target)} is not a UTF-8 text file.") from exc
        starts: list[int] = []
        at = text.find(old_text)
        while at != -1 and len(starts) <= MAX_COUNTED_MATCHES:
            starts.append(at)
            at = text.find(old_text, at + 1)  # overlapping matches count too
        if not starts:
            raise ToolError(
                f"old_text was not found in {shown(target)} (0 matches). Read the file and copy "
                "the text exactly, whitespace and indentation included."
            )
        lines = list(dict.fromkeys(text.count("\n", 0, start) + 1 for start in starts[:10]))
        if len(starts) > 1:
            count = len(starts)
            times = f"more than {MAX_COUNTED_MATCHES}" if count > MAX_COUNTED_MATCHES else count
            where = ", ".join(str(n) for n in lines)
            raise ToolError(
                f"old_text matches {times} times in {shown(target)} (line(s) {where}"
                f"{', ...' if count > 10 else ''}); include more surrounding text so it "
                "matches exactly once."
            )
        start = starts[0]
        atomic_write(
            target, (text[:start] + new_text + text[start + len(old_text) :]).encode("utf-8")
        )
        removed, added = old_text.count("\n") + 1, new_text.count("\n") + 1
        return f"patched {shown(target)} at line {lines[0]}: {removed} line(s) replaced by {added}"

    @tool(arguments=ReadFileArguments)
    async def read_file(path: str, offset: int, limit: int | None, line_numbers: bool) -> str:
        """Read a text file from the workspace, optionally a range of lines (offset is 1-based).
        Long files are cut with a note saying which offset to read next."""
        return await asyncio.to_thread(read_lines, path, offset, limit, line_numbers)

    @tool(arguments=WriteFileArguments)
    async def write_file(path: str, content: str) -> str:
        """Create or replace a file with the given content (parent directories are created).
        To change part of an existing file, prefer patch."""
        return await asyncio.to_thread(write, path, content)

    @tool(arguments=ListDirArguments)
    async def list_dir(path: str, depth: int) -> str:
        """List a directory as a tree (up to 3 levels): directories end with /, files show
        their size, symlinks show their target."""
        return await asyncio.to_thread(listing, path, depth)

    @tool(arguments=PatchArguments)
    async def patch(path: str, old_text: str, new_text: str) -> str:
        """Replace old_text with new_text in a file. old_text must occur exactly once; copy it
        exactly from read_file output (without the line numbers)."""
        return await asyncio.to_thread(apply_patch, path, old_text, new_text)

    return [read_file, write_file, list_dir, patch]
