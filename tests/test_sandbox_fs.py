"""`WorkspaceFiles` on real files: the path cases of the adversarial table refused for reading
and writing, roots nested in one another, `$OPENCLAW_HOME` by identity, FIFOs never opened, and
a write replacing (never writing through) what its name holds."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

from openclaw.sandbox import SandboxDenied, SandboxPolicy, WorkspaceFiles
from openclaw.tools import ToolError

_spec = importlib.util.spec_from_file_location(
    "sandbox_cases", Path(__file__).with_name("sandbox_cases.py")
)
assert _spec is not None and _spec.loader is not None
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A stand-in `$OPENCLAW_HOME` holding the workspace, as by default."""
    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True)
    (home / "openclaw.json").write_text('{"token": "SECRET"}')
    (home / "pairing.json").write_text("{}")
    return home


def files_for(home: Path, workspace: Path, **kwargs: object) -> WorkspaceFiles:
    return WorkspaceFiles(
        workspace,
        protected_paths=[home, home / "openclaw.json"],
        **kwargs,  # type: ignore[arg-type]
    )


def read(files: WorkspaceFiles, path: str | Path) -> bytes:
    with files.locate(path) as place, place.open_read() as handle:
        return handle.read()


@pytest.mark.parametrize(("case", "path", "write", "rule"), cases.PATHS)
async def test_every_path_case_is_refused_for_reading_and_writing(
    case: str, path: str, write: bool, rule: str, tmp_path: Path
) -> None:
    workspace, outside, shared = tmp_path / "ws", tmp_path / "outside", tmp_path / "shared"
    for folder in (workspace / "sub", outside, shared):
        folder.mkdir(parents=True)
    (outside / "secret").write_text("TOP-SECRET")
    protected = shared / "openclaw.json"
    protected.write_text('{"api_key": "SECRET-CONFIG"}')
    links = {
        "etc": "/etc",
        "out": str(outside),
        "chain1": str(workspace / "out"),
        "chain2": str(workspace / "chain1"),
        "dangling": str(outside / "nothing"),
        "loop1": "loop2",
        "loop2": "loop1",
        "made": "/etc/passwd",  # the table's command-made link, made here directly
    }
    for name, target in links.items():
        (workspace / name).symlink_to(target)
    os.link(outside / "secret", workspace / "hard")
    files = WorkspaceFiles(workspace, allowed_paths=[shared], protected_paths=[protected])
    given = path.format(outside=outside, outside_name=outside.name, protected=protected)
    with pytest.raises(SandboxDenied):
        read(files, given)
    with pytest.raises(SandboxDenied):
        files.write(given, b"overwritten")
    assert (outside / "secret").read_text() == "TOP-SECRET"
    assert protected.read_text() == '{"api_key": "SECRET-CONFIG"}'
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]


def test_the_home_is_refused_by_identity_even_inside_the_workspace(home: Path) -> None:
    files = files_for(home, home.parent)
    with pytest.raises(SandboxDenied, match="'protected path': home is openclaw's own"):
        read(files, "home/pairing.json")
    with pytest.raises(SandboxDenied, match="'protected path'"):
        files.write("home/new.json", b"{}")
    with pytest.raises(SandboxDenied, match="'protected path'"):
        read(files_for(home, home), "pairing.json")  # the home as the workspace itself
    with pytest.raises(SandboxDenied, match="give the workspace and sandbox"):
        files_for(home, home).write("x", b"")
    os.link(home / "openclaw.json", home.parent / "config-link")
    with pytest.raises(SandboxDenied, match="'protected path'"):  # checked before the links
        read(files, "config-link")
    assert not (home / "new.json").exists()


def test_a_workspace_inside_the_home_reaches_nothing_above(home: Path) -> None:
    files = files_for(home, home / "workspace")
    for path in ("../openclaw.json", str(home / "pairing.json"), "sub/../../pairing.json"):
        with pytest.raises(SandboxDenied, match="'path allowlist'"):
            read(files, path)
    assert files.write("notes.md", b"mine") == (False, "notes.md")
    assert read(files, str(home / "workspace" / "notes.md")) == b"mine"


def test_a_root_inside_another_is_walked_from_it(home: Path, tmp_path: Path) -> None:
    """An allowed path inside the workspace is reached from the workspace, so replacing it
    with a symlink (the model can write the workspace) leads nowhere."""
    workspace = home / "workspace"
    (workspace / "shared").mkdir()
    (workspace / "shared" / "a.txt").write_text("shared")
    files = files_for(home, workspace, allowed_paths=[workspace / "shared"])
    assert read(files, workspace / "shared" / "a.txt") == b"shared"
    (workspace / "shared").rename(workspace / "shared.real")
    (workspace / "shared").symlink_to(home)
    with pytest.raises(SandboxDenied, match="'symlink': shared is a symlink"):
        read(files, workspace / "shared" / "openclaw.json")
    with pytest.raises(SandboxDenied, match="'symlink'"):
        files.write(workspace / "shared" / "pairing.json", b"owned")
    assert (home / "pairing.json").read_text() == "{}"


def test_an_allowed_path_outside_is_shown_absolute(home: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    files = files_for(home, home / "workspace", allowed_paths=[shared])
    assert files.write(shared / "x" / "y.txt", b"1") == (False, f"{shared}/x/y.txt")
    with files.directory(shared) as directory:
        assert [entry.name for entry in directory.entries()] == ["x"]
        assert directory.shown == str(shared)


def test_a_fifo_is_refused_without_being_opened(home: Path) -> None:
    workspace = home / "workspace"
    os.mkfifo(workspace / "pipe")
    files = files_for(home, workspace)
    started = time.monotonic()
    with pytest.raises(SandboxDenied, match="'special file'"):
        read(files, "pipe")
    with pytest.raises(SandboxDenied, match="'special file'"):
        files.write("pipe", b"x")
    assert time.monotonic() - started < 2


def test_a_name_swapped_after_locating_is_checked_again(home: Path) -> None:
    """The open directory stays the one that was checked; the name in it is looked at again
    when it is used, so a symlink put there in between is refused."""
    workspace = home / "workspace"
    (workspace / "target.txt").write_text("old")
    files = files_for(home, workspace)
    with files.locate("target.txt") as place:
        assert place.kind() == "file"
        (workspace / "target.txt").unlink()
        (workspace / "target.txt").symlink_to(home / "pairing.json")  # swapped in now
        with pytest.raises(SandboxDenied, match="'symlink'"):
            place.replace(b"new")
        with pytest.raises(SandboxDenied, match="'symlink'"):
            place.open_read()
    assert (home / "pairing.json").read_text() == "{}"
    assert sorted(p.name for p in workspace.iterdir()) == ["target.txt"]  # no temporary left


def test_missing_paths_and_kinds_are_told_apart(home: Path) -> None:
    workspace = home / "workspace"
    (workspace / "dir").mkdir()
    files = files_for(home, workspace)
    with pytest.raises(ToolError, match="nope does not exist"):
        read(files, "nope/x")
    with pytest.raises(ToolError, match="dir is a directory"):
        read(files, "dir")
    with pytest.raises(ToolError, match="dir is a directory"):
        files.write("dir", b"x")
    (workspace / "file").write_text("")
    with pytest.raises(ToolError, match="file is not a directory"), files.directory("file"):
        pass
    policy = SandboxPolicy(workspace, protected_paths=[home])
    assert WorkspaceFiles.of(policy).write("a/b.txt", b"x") == (False, "a/b.txt")
