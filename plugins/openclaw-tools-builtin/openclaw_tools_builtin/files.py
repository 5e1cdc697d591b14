"""File tools: read_file, write_file, list_dir and patch.

Every path is opened through `WorkspaceFiles` (`openclaw.sandbox.fs`): component by component
from the open workspace directory, never following a symlink, so a process swapping a folder
for a link while a tool runs cannot lead it outside. Writes are atomic (a temporary file in the
same open directory, then renamed there), so a reader never sees half a file and a failed write
leaves the old one intact.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, TextIO

from pydantic import BaseModel, Field

from openclaw.sandbox import WorkspaceFiles
from openclaw.tools import Tool, ToolError, tool

if TYPE_CHECKING:
    from openclaw.sandbox import SandboxPolicy
    from openclaw.sandbox.fs import Directory
    from openclaw.tools import ToolContext

MAX_WRITE_BYTES = 5_000_000
MAX_LINE_CHARS = 2_000
MAX_LIST_ENTRIES = 500
MAX_LIST_DEPTH = 3
BINARY_SNIFF_BYTES = 8_192
MAX_COUNTED_MATCHES = 1_000  # patch counts matches up to here
NOTE_ROOM = 300  # characters kept free under the kernel's output cap for the closing note

Shown = tuple[str, str, bool]  # a listed entry: its name, its line, whether it is a directory


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
    files = WorkspaceFiles.of(policy)
    # read_file stops short of the kernel's truncation so its own continuation note survives.
    read_budget = max(context.config.agent.tool_output_chars - NOTE_ROOM, 200)

    def read_lines(path: str, offset: int, limit: int | None, line_numbers: bool) -> str:
        with files.locate(path) as place:
            if place.kind() == "dir":
                raise ToolError(f"{place.shown} is a directory; use list_dir.")
            if place.kind() == "missing":
                raise ToolError(f"{place.shown} does not exist or is not a regular file.")
            with place.open_read() as handle:
                return numbered(handle, place.shown, offset, limit, line_numbers)

    def numbered(
        handle: BinaryIO, shown: str, offset: int, limit: int | None, line_numbers: bool
    ) -> str:
        size = os.fstat(handle.fileno()).st_size
        if looks_binary(handle.read(BINARY_SNIFF_BYTES)):
            raise ToolError(
                f"{shown} is binary or not UTF-8 ({human_size(size)}); read_file "
                "shows UTF-8 text only. Use exec (e.g. `file`, `xxd | head`) to inspect it."
            )
        if size == 0:
            return f"{shown} is empty."
        handle.seek(0)
        out: list[str] = []
        used = 0
        number = 0
        more = False
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
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
        text.detach()
        if not out:
            raise ToolError(f"offset {offset} is past the end of {shown} ({number} lines).")
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
        existed, shown = files.write(path, data)
        verb = "replaced" if existed else "created"
        return f"{verb} {shown} ({human_size(len(data))})"

    def listing(path: str, depth: int) -> str:
        with files.directory(path) as root:
            children, count, capped = tree(root, depth)
        lines = [f"{root.shown}/"]

        def show(key: tuple[str, ...], indent: str) -> None:
            for name, text, is_dir in children.get(key, []):
                lines.append(f"{indent}{text}")
                if is_dir:
                    show((*key, name), indent + "  ")

        show((), "  ")
        if count == 0:
            lines.append("  (empty)")
        if capped:
            lines.append(
                f"[stopped at {MAX_LIST_ENTRIES} entries; list a subdirectory or use a smaller "
                "depth to see the rest]"
            )
        return "\n".join(lines)

    def tree(root: Directory, depth: int) -> tuple[dict[tuple[str, ...], list[Shown]], int, bool]:
        """The entries of `root` and its subdirectories (keyed by their path below `root`),
        how many, and whether the cap cut the listing short.

        Breadth first, so the cap drops the deepest entries rather than whole siblings. Each
        subdirectory is opened from `root` by descriptor, component by component; symlinks are
        shown, never followed."""
        children: dict[tuple[str, ...], list[Shown]] = {}
        count, capped = 0, False
        level: list[tuple[str, ...]] = [()]
        for _ in range(depth):
            next_level = []
            for key in level:
                try:
                    with root.descend(key) as directory:
                        entries = directory.entries()
                        room = MAX_LIST_ENTRIES - count
                        if len(entries) > room:
                            entries, capped = entries[:room], True
                        shown = [describe(directory, entry) for entry in entries]
                except (OSError, ToolError) as exc:
                    if not key:
                        why = exc.strerror if isinstance(exc, OSError) else str(exc)
                        raise ToolError(f"cannot list {root.shown}: {why}") from None
                    continue  # vanished or replaced since it was listed
                children[key] = shown
                count += len(shown)
                next_level += [(*key, name) for name, _, is_dir in shown if is_dir]
            level = next_level
            if capped:
                break
        return children, count, capped

    def describe(directory: Directory, entry: os.DirEntry[str]) -> Shown:
        if entry.is_symlink():
            return entry.name, f"{entry.name} -> {directory.readlink(entry.name)}", False
        if entry.is_dir(follow_symlinks=False):
            return entry.name, f"{entry.name}/", True
        size = human_size(entry.stat(follow_symlinks=False).st_size)
        return entry.name, f"{entry.name}  ({size})", False

    def apply_patch(path: str, old_text: str, new_text: str) -> str:
        with files.locate(path) as place:
            if place.kind() == "missing":
                raise ToolError(f"{place.shown} does not exist or is not a regular file.")
            with place.open_read() as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > MAX_WRITE_BYTES:
                    raise ToolError(f"{place.shown} is too large to patch ({human_size(size)}).")
                raw = handle.read(MAX_WRITE_BYTES + 1)
            shown = place.shown
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ToolError(f"{shown} is not a UTF-8 text file.") from exc
            starts: list[int] = []
            at = text.find(old_text)
            while at != -1 and len(starts) <= MAX_COUNTED_MATCHES:
                starts.append(at)
                at = text.find(old_text, at + 1)  # overlapping matches count too
            if not starts:
                raise ToolError(
                    f"old_text was not found in {shown} (0 matches). Read the file and copy "
                    "the text exactly, whitespace and indentation included."
                )
            lines = list(dict.fromkeys(text.count("\n", 0, start) + 1 for start in starts[:10]))
            if len(starts) > 1:
                count = len(starts)
                times = f"more than {MAX_COUNTED_MATCHES}" if count > MAX_COUNTED_MATCHES else count
                where = ", ".join(str(n) for n in lines)
                raise ToolError(
                    f"old_text matches {times} times in {shown} (line(s) {where}"
                    f"{', ...' if count > 10 else ''}); include more surrounding text so it "
                    "matches exactly once."
                )
            start = starts[0]
            # replaced in the directory it was read from, whatever its name leads to by now
            place.replace((text[:start] + new_text + text[start + len(old_text) :]).encode())
        removed, added = old_text.count("\n") + 1, new_text.count("\n") + 1
        return f"patched {shown} at line {lines[0]}: {removed} line(s) replaced by {added}"

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
