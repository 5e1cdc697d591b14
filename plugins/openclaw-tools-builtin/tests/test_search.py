"""grep and find through the kernel, once with ripgrep and fd and once with the grep and find
fallbacks: the PATH holds only the programs of the round, and each is a wrapper that records
that it ran, so a test proves which program answered."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROGRAMS = {"rg+fd": ("rg", "fdfind"), "grep+find": ("grep", "find")}


@pytest.fixture
def workspace(openclaw_home: Path) -> Path:
    path = openclaw_home / "workspace"
    (path / "src").mkdir(parents=True)
    (path / "docs").mkdir()
    (path / ".hidden").mkdir()
    (path / "README.md").write_text("Hello World\nhello again\n")
    (path / "src" / "app.py").write_text("import os\n\ndef main():\n    print('hello')\n")
    (path / "src" / "util.py").write_text("HELLO = 1\n")
    (path / "docs" / "guide.txt").write_text("nothing here\n")
    (path / ".hidden" / "secret.txt").write_text("hello hidden\n")
    (path / "data.bin").write_bytes(b"hello\0binary")
    return path


@dataclass
class Programs:
    grep: str
    find: str
    log: Path

    def ran(self) -> set[str]:
        return set(self.log.read_text().split()) if self.log.exists() else set()


@pytest.fixture(params=sorted(PROGRAMS))
def programs(request: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Programs:
    """A PATH of wrappers for this round's programs only, which log their runs.

    The wrappers live in a hidden workspace directory (which the searches skip), so they are
    reachable inside the sandbox too.
    """
    bin_dir = workspace / ".bin"
    bin_dir.mkdir()
    for name in PROGRAMS[request.param]:
        real = shutil.which(name)
        assert real, f"{name} must be installed (Debian ripgrep, fd-find, grep, findutils)"
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\necho {name} >> "${{0%/*}}/calls"\nexec {real} "$@"\n')
        wrapper.chmod(0o755)
    for name in ("sh", "true", "bwrap"):  # what the sandbox itself runs
        if found := shutil.which(name):
            (bin_dir / name).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    return Programs(*PROGRAMS[request.param], log=bin_dir / "calls")


async def test_grep_smart_case_skips_hidden_and_binary(openclaw_call_tools, programs):
    lower, upper = await openclaw_call_tools(
        ("grep", {"pattern": "hello"}),
        ("grep", {"pattern": "Hello"}),
    )
    assert lower.text.splitlines() == [
        "4 match(es) in 3 file(s)",
        "README.md:1:Hello World",
        "README.md:2:hello again",
        "src/app.py:4:    print('hello')",
        "src/util.py:1:HELLO = 1",
    ]
    assert upper.text.splitlines() == ["1 match(es) in 1 file(s)", "README.md:1:Hello World"]
    assert programs.ran() == {programs.grep}


async def test_grep_glob_context_paths_and_literal(openclaw_call_tools, programs):
    results = await openclaw_call_tools(
        ("grep", {"pattern": "main", "glob": "*.py", "context": 1}),
        ("grep", {"pattern": "hello", "path": "src"}),
        ("grep", {"pattern": "os", "path": "src/app.py"}),
        ("grep", {"pattern": "print('", "literal": True}),
        ("grep", {"pattern": "HELLO", "glob": "*.md"}),
    )
    context, in_dir, in_file, literal, filtered = (r.text.splitlines() for r in results)
    assert context == [
        "1 match(es) in 1 file(s)",
        "src/app.py-2-",
        "src/app.py:3:def main():",
        "src/app.py-4-    print('hello')",
    ]
    assert in_dir == [
        "2 match(es) in 2 file(s)",
        "src/app.py:4:    print('hello')",
        "src/util.py:1:HELLO = 1",
    ]
    assert in_file == ["1 match(es) in 1 file(s)", "src/app.py:1:import os"]
    assert literal == ["1 match(es) in 1 file(s)", "src/app.py:4:    print('hello')"]
    assert filtered == ["no matches for 'HELLO' in ."]


async def test_grep_caps_results_and_reports_errors(openclaw_call_tools, programs):
    capped, context_capped, nothing, bad_regex = await openclaw_call_tools(
        ("grep", {"pattern": "l", "max_results": 2}),
        ("grep", {"pattern": "hello", "max_results": 1, "context": 1, "path": "src"}),
        ("grep", {"pattern": "zzz"}),
        ("grep", {"pattern": "print("}),
    )
    assert capped.text.splitlines() == [
        "2 match(es) in 1 file(s) (showing the first 2 of 4; narrow the search)",
        "README.md:1:Hello World",
        "README.md:2:hello again",
    ]
    assert context_capped.text.splitlines() == [
        "1 match(es) in 1 file(s) (showing the first 1 of 2; narrow the search)",
        "src/app.py-3-def main():",
        "src/app.py:4:    print('hello')",
    ]
    assert not nothing.is_error and nothing.text == "no matches for 'zzz' in ."
    assert bad_regex.is_error and bad_regex.text.startswith("Error: grep failed:")


async def test_find_patterns_types_depth_and_cap(openclaw_call_tools, programs):
    results = await openclaw_call_tools(
        ("find", {"pattern": "*.py"}),
        ("find", {"type": "d"}),
        ("find", {"max_depth": 1}),
        ("find", {"pattern": "readme*"}),
        ("find", {"pattern": "Readme*"}),
        ("find", {"max_results": 2}),
        ("find", {"path": "src", "type": "f"}),
    )
    python, dirs, top, smart, exact, capped, in_src = (r.text.splitlines() for r in results)
    assert python == ["2 result(s)", "src/app.py", "src/util.py"]
    assert dirs == ["2 result(s)", "docs/", "src/"]
    assert top == ["4 result(s)", "README.md", "data.bin", "docs/", "src/"]
    assert smart == ["1 result(s)", "README.md"]
    assert exact == ["nothing named 'Readme*' in ."]
    assert capped == [
        "7 result(s) (showing the first 2; narrow the search)",
        "README.md",
        "data.bin",
    ]
    assert in_src == ["2 result(s)", "src/app.py", "src/util.py"]
    assert programs.ran() == {programs.find}


async def test_search_stays_in_the_workspace(openclaw_call_tools, programs, workspace):
    (workspace / "etc").symlink_to("/etc")
    calls = [
        ("grep", {"pattern": "root", "path": ".."}),
        ("grep", {"pattern": "root", "path": "/etc/passwd"}),
        ("grep", {"pattern": "root", "path": "etc"}),
        ("find", {"pattern": "passwd", "path": "/etc"}),
        ("find", {"pattern": "*", "path": "etc/"}),
    ]
    results = await openclaw_call_tools(*calls)
    assert all(r.is_error for r in results), [r.text for r in results]
    assert not any("root:" in r.text for r in results)
    # the symlink inside the workspace is not followed by a search of the workspace
    root, passwd = await openclaw_call_tools(
        ("grep", {"pattern": "root:x"}),
        ("find", {"pattern": "passwd"}),
    )
    assert root.text == "no matches for 'root:x' in ."
    assert passwd.text == "nothing named 'passwd' in ."


async def test_find_and_grep_on_wrong_kinds_of_paths(openclaw_call_tools, programs):
    not_dir, missing = await openclaw_call_tools(
        ("find", {"path": "README.md"}),
        ("grep", {"pattern": "x", "path": "nope"}),
    )
    assert not_dir.is_error and "README.md is not a directory" in not_dir.text
    assert missing.is_error and "nope does not exist" in missing.text


async def test_without_any_search_program_the_error_says_so(
    openclaw_call_tools, workspace, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    grep, find = await openclaw_call_tools(("grep", {"pattern": "x"}), ("find", {"pattern": "x"}))
    assert grep.is_error and "neither rg (ripgrep) nor grep is installed" in grep.text
    assert find.is_error and "neither fd nor find is installed" in find.text


@pytest.mark.parametrize(
    ("name", "arguments", "field"),
    [
        ("grep", {}, "pattern"),
        ("grep", {"pattern": "x", "context": 11}, "context"),
        ("grep", {"pattern": "x", "max_results": 0}, "max_results"),
        ("find", {"type": "x"}, "type"),
        ("find", {"max_depth": 0}, "max_depth"),
    ],
)
async def test_invalid_arguments_name_the_field(
    openclaw_call_tools, workspace, name, arguments, field
):
    (result,) = await openclaw_call_tools((name, arguments))
    assert result.is_error
    assert result.text.startswith(f"Error: invalid arguments for {name}: {field}:")
