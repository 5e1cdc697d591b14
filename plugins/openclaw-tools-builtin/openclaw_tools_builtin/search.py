"""Search tools: grep (ripgrep, else grep) and find (fd / fdfind, else find).

The programs are looked up on the process PATH at each call, so an install (or a test's PATH)
takes effect at once. They run as argv lists under the sandbox policy, never as shell strings
built from model input, and their output is parsed into one format whichever program ran:
sorted by path, paths relative to the workspace, capped with a note.

The path to search is checked as the file tools check theirs (`WorkspaceFiles`: walked from the
workspace by descriptor, no symlink in it, not `$OPENCLAW_HOME`); the program then starts in
the checked directory by name. What it could reach if that name were swapped right after is
what any command reaches, so the boundary there is the command's isolation. Neither program
follows the symlinks it meets while searching.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from openclaw.sandbox import WorkspaceFiles
from openclaw.tools import Tool, ToolError, tool

if TYPE_CHECKING:
    from openclaw.sandbox import ProcessResult, SandboxPolicy
    from openclaw.tools import ToolContext

SEARCH_TIMEOUT = 30.0
OUTPUT_LIMIT = 2_000_000  # bytes read from the search program; results are capped below that
MAX_LINE_CHARS = 300
TOOL_MARGIN = 5.0  # the tool's own timeout leaves the command's timeout room to report first

# `path NUL line-number (':' match | '-' context) text`, the same for rg --null and grep -Z.
LINE = re.compile(r"(?P<line>\d+)(?P<kind>[:-])(?P<text>.*)", re.DOTALL)


def find_binary(*names: str) -> str | None:
    """The first of `names` on the PATH, as its real file (a sandbox may not see a symlink's
    directory, a test's temporary bin for instance)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return os.path.realpath(found)
    return None


def smart_case(pattern: str) -> bool:
    """True when the search should ignore case: the pattern has no uppercase letter."""
    return pattern == pattern.lower()


@dataclass(slots=True)
class Hit:
    path: str
    line: int
    match: bool
    text: str


class GrepArguments(BaseModel):
    pattern: str = Field(
        min_length=1,
        description="Regular expression (extended syntax); case-insensitive unless it contains "
        "an uppercase letter.",
    )
    path: str = Field(".", description="File or directory to search, relative to the workspace.")
    glob: str | None = Field(None, description="Only search files whose name matches, e.g. *.py")
    context: int = Field(0, ge=0, le=10, description="Lines of context before and after a match.")
    literal: bool = Field(False, description="Match the pattern as plain text, not a regex.")
    max_results: int = Field(100, ge=1, le=1000, description="Stop after this many matches.")


class FindArguments(BaseModel):
    pattern: str = Field(
        "*",
        min_length=1,
        description="Glob for the file name, e.g. *.py or test_*; case-insensitive unless it "
        "contains an uppercase letter.",
    )
    path: str = Field(".", description="Directory to search, relative to the workspace.")
    type: Literal["f", "d"] | None = Field(None, description="f: files only; d: directories only.")
    max_depth: int | None = Field(
        None, ge=1, le=50, description="How deep to descend (1 = this directory only)."
    )
    max_results: int = Field(200, ge=1, le=2000, description="Stop after this many paths.")


def grep_argv(
    pattern: str, operand: str, is_dir: bool, glob: str | None, context: int, literal: bool
) -> list[str]:
    """The command for ripgrep, else grep; both print `path NUL line:text`."""
    rg = find_binary("rg")
    if rg is not None:
        argv = [rg, "--no-config", "--null", "--with-filename", "--line-number", "--no-heading"]
        argv.append("--color=never")
        argv.append("--ignore-case" if smart_case(pattern) else "--case-sensitive")
        if glob:
            argv += ["--glob", glob]
        if literal:
            argv.append("--fixed-strings")
        flag = "--regexp"
    else:
        grep = find_binary("grep")
        if grep is None:
            raise ToolError("grep is unavailable: neither rg (ripgrep) nor grep is installed.")
        argv = [grep, "-r", "-H", "-n", "-I", "-Z", "--color=never", "-F" if literal else "-E"]
        if smart_case(pattern):
            argv.append("-i")
        if glob:
            argv.append(f"--include={glob}")
        if is_dir:  # skip hidden files and directories, as ripgrep does
            argv += ["--exclude-dir=.?*", "--exclude=.*"]
        flag = "-e"
    if context:
        argv += ["-C", str(context)]
    return [*argv, flag, pattern, "--", operand]


def find_argv(pattern: str, kind: str | None, max_depth: int | None) -> list[str]:
    """The command for fd (fdfind on Debian), else find; both print one path per line."""
    fd = find_binary("fd", "fdfind")
    if fd is not None:
        argv = [fd, "--glob", "--color=never"]
        argv.append("--ignore-case" if smart_case(pattern) else "--case-sensitive")
        if kind:
            argv += ["--type", kind]
        if max_depth:
            argv += ["--max-depth", str(max_depth)]
        return [*argv, "--", pattern, "."]
    find = find_binary("find")
    if find is None:
        raise ToolError("find is unavailable: neither fd nor find is installed.")
    argv = [find, ".", "-mindepth", "1"]
    if max_depth:
        argv += ["-maxdepth", str(max_depth)]
    argv += ["-name", ".*", "-prune", "-o"]  # skip hidden entries, as fd does
    if kind:
        argv += ["-type", kind]
    return [*argv, "-iname" if smart_case(pattern) else "-name", pattern, "-print"]


def parse_hits(stdout: str, prefix: str) -> list[Hit]:
    hits = []
    for record in stdout.splitlines():
        name, nul, rest = record.partition("\0")
        found = LINE.fullmatch(rest) if nul else None
        if found is None:  # group separators, notes such as "binary file matches"
            continue
        text = found["text"]
        if len(text) > MAX_LINE_CHARS:
            text = f"{text[:MAX_LINE_CHARS]} [...]"
        path = prefix + name.removeprefix("./")
        hits.append(Hit(path, int(found["line"]), found["kind"] == ":", text))
    # stable: lines keep their order within a file
    hits.sort(key=lambda hit: hit.path)
    return hits


def format_hits(hits: list[Hit], max_results: int, context: int) -> tuple[list[str], int, int]:
    """The output lines for at most `max_results` matches (with their context lines), the
    number of matches shown and the number of files they are in."""
    lines: list[str] = []
    shown = 0
    files: set[str] = set()
    previous: Hit | None = None
    for hit in hits:
        adjacent = (
            previous is not None and previous.path == hit.path and previous.line + 1 == hit.line
        )
        if shown == max_results and (hit.match or not adjacent):
            break  # what follows belongs to matches past the cap
        if hit.match:
            shown += 1
            files.add(hit.path)
        if context and previous is not None and not adjacent:
            lines.append("--")
        sep = ":" if hit.match else "-"
        lines.append(f"{hit.path}{sep}{hit.line}{sep}{hit.text}")
        previous = hit
    return lines, shown, len(files)


def make_tools(policy: SandboxPolicy, context: ToolContext) -> list[Tool]:
    files = WorkspaceFiles.of(policy)
    timeout = policy.clamp_timeout(SEARCH_TIMEOUT)

    async def run(argv: list[str], cwd: Path) -> ProcessResult:
        result = await policy.run(argv, cwd=cwd, timeout=timeout, output_limit=OUTPUT_LIMIT)
        if result.timed_out:
            raise ToolError(
                f"the search timed out after {timeout:g}s; narrow the path or the pattern."
            )
        return result

    def prefix_for(shown: str) -> str:
        return "" if shown == "." else f"{shown}/"

    def checked(path: str) -> tuple[Path, str, str, str | None]:
        """(the directory to search in, its path as shown, the path as shown, the file's
        name when `path` is a file)."""
        with files.locate(path) as place:
            kind = place.kind()
            if kind == "missing":
                raise ToolError(f"{place.shown} does not exist.")
            if kind != "dir":
                place.open_read().close()  # refuses links and special files
                return place.directory.path, place.directory.shown, place.shown, place.name
        with files.directory(path) as directory:
            return directory.path, directory.shown, directory.shown, None

    @tool(arguments=GrepArguments, timeout=timeout + TOOL_MARGIN)
    async def grep(
        pattern: str, path: str, glob: str | None, context: int, literal: bool, max_results: int
    ) -> str:
        """Search file contents for a regular expression (ripgrep, else grep): prints
        path:line:text for matches, path-line-text for context lines. Skips binary and hidden
        files."""
        cwd, cwd_shown, searched, name = checked(path)
        operand = "." if name is None else name
        result = await run(grep_argv(pattern, operand, name is None, glob, context, literal), cwd)
        hits = parse_hits(result.stdout, prefix_for(cwd_shown))
        if not hits:
            if result.exit_code not in (0, 1):
                detail = result.stderr.strip() or f"exit code {result.exit_code}"
                raise ToolError(f"grep failed: {detail}")
            return f"no matches for {pattern!r} in {searched}"
        lines, shown, files = format_hits(hits, max_results, context)
        total = sum(hit.match for hit in hits)
        header = f"{shown} match(es) in {files} file(s)"
        if shown < total:
            header += f" (showing the first {shown} of {total}; narrow the search)"
        if result.truncated:
            header += " (output cut short; results may be incomplete)"
        return "\n".join([header, *lines])

    @tool(arguments=FindArguments, timeout=timeout + TOOL_MARGIN)
    async def find(
        pattern: str,
        path: str,
        type: Literal["f", "d"] | None,
        max_depth: int | None,
        max_results: int,
    ) -> str:
        """Find files and directories by name with a glob (fd, else find), sorted;
        directories end with /. Skips hidden entries."""
        with files.directory(path) as directory:
            base, shown = directory.path, directory.shown
        result = await run(find_argv(pattern, type, max_depth), base)
        found = sorted(
            {line.removeprefix("./").rstrip("/") for line in result.stdout.splitlines() if line}
        )
        if not found:
            if result.exit_code != 0 and result.stderr.strip():
                raise ToolError(f"find failed: {result.stderr.strip()}")
            return f"nothing named {pattern!r} in {shown}"
        prefix = prefix_for(shown)
        lines = []
        for name in found[:max_results]:
            entry = base / name
            mark = "/" if entry.is_dir() and not entry.is_symlink() else ""
            lines.append(f"{prefix}{name}{mark}")
        header = f"{len(found)} result(s)"
        if len(found) > max_results:
            header += f" (showing the first {max_results}; narrow the search)"
        if result.truncated:
            header += " (output cut short; results may be incomplete)"
        return "\n".join([header, *lines])

    return [grep, find]
