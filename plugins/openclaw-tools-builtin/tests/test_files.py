"""read_file, write_file, list_dir and patch, driven through the kernel by the scripted model on a
temporary workspace with real files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


@pytest.fixture
def workspace(openclaw_home: Path) -> Path:
    path = openclaw_home / "workspace"
    path.mkdir()
    return path


async def test_read_file_whole_and_ranges(openclaw_call_tools, workspace):
    (workspace / "notes.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    whole, middle, plain = await openclaw_call_tools(
        ("read_file", {"path": "notes.txt"}),
        ("read_file", {"path": "notes.txt", "offset": 4, "limit": 2}),
        ("read_file", {"path": "./notes.txt", "offset": 9, "line_numbers": False}),
    )
    assert not whole.is_error
    assert whole.text.splitlines()[0] == "     1\tline 1"
    assert whole.text.splitlines()[-1] == "    10\tline 10"
    assert middle.text.splitlines() == [
        "     4\tline 4",
        "     5\tline 5",
        "[lines 4-5 shown; the file continues: read_file with offset=6]",
    ]
    assert plain.text == "line 9\nline 10"


async def test_read_file_caps_output_and_says_where_to_continue(openclaw_call_tools, workspace):
    (workspace / "big.log").write_text("".join(f"entry {n:05d}\n" for n in range(1, 20_001)))
    config = {"agent": {"tool_output_chars": 2000}}
    (first,) = await openclaw_call_tools(("read_file", {"path": "big.log"}), config=config)
    assert len(first.text) < 2000 and "characters truncated" not in first.text
    note = first.text.splitlines()[-1]
    assert note.startswith("[lines 1-") and "read_file with offset=" in note
    next_offset = int(note.rsplit("=", 1)[1].rstrip("]"))
    assert first.text.splitlines()[-2].endswith(f"entry {next_offset - 1:05d}")
    (following,) = await openclaw_call_tools(
        ("read_file", {"path": "big.log", "offset": next_offset, "limit": 1}),
        config=config,
    )
    assert following.text.splitlines()[0].endswith(f"entry {next_offset:05d}")


async def test_read_file_long_lines_are_cut(openclaw_call_tools, workspace):
    (workspace / "min.js").write_text("x" * 10_000 + "\nend\n")
    (workspace / "one.line").write_text("y" * 20_000_000)  # read in pieces, never whole
    minified, single = await openclaw_call_tools(
        ("read_file", {"path": "min.js"}),
        ("read_file", {"path": "one.line"}),
    )
    assert "[... 8000 more characters on this line]" in minified.text
    assert minified.text.endswith("\tend")
    assert single.text.endswith("y [... 19998000 more characters on this line]")


async def test_read_file_refuses_binary_directories_and_missing_files(
    openclaw_call_tools, workspace
):
    (workspace / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    (workspace / "latin1.txt").write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
    (workspace / "empty.txt").write_text("")
    (workspace / "short.txt").write_text("a\nb\n")
    (workspace / "sub").mkdir()
    results = await openclaw_call_tools(
        ("read_file", {"path": "image.png"}),
        ("read_file", {"path": "latin1.txt"}),
        ("read_file", {"path": "sub"}),
        ("read_file", {"path": "missing.txt"}),
        ("read_file", {"path": "empty.txt"}),
        ("read_file", {"path": "short.txt", "offset": 5}),
    )
    image, latin1, directory, missing, empty, past = results
    assert image.is_error and "image.png is binary or not UTF-8 (216 B)" in image.text
    assert "\x00" not in image.text
    assert latin1.is_error and "latin1.txt is binary or not UTF-8" in latin1.text
    assert directory.is_error and "is a directory; use list_dir" in directory.text
    assert missing.is_error and "does not exist" in missing.text
    assert not empty.is_error and empty.text == "empty.txt is empty."
    assert past.is_error and "offset 5 is past the end of short.txt (2 lines)" in past.text


async def test_paths_cannot_escape_the_workspace(openclaw_call_tools, workspace, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("TOPSECRET\n")
    (workspace / "etc").symlink_to("/etc")
    (workspace / "hop").symlink_to(workspace / "etc")  # a chain of symlinks
    (workspace / "out").symlink_to(outside)
    calls = [
        ("read_file", {"path": "../outside.txt"}),
        ("read_file", {"path": str(outside)}),
        ("read_file", {"path": "etc/passwd"}),
        ("read_file", {"path": "hop/hostname"}),
        ("read_file", {"path": "out"}),
        ("read_file", {"path": "/etc/passwd"}),
        ("list_dir", {"path": "etc"}),
        ("list_dir", {"path": ".."}),
        ("write_file", {"path": "../escaped.txt", "content": "x"}),
        ("write_file", {"path": "etc/evil.conf", "content": "x"}),
        ("write_file", {"path": "out", "content": "overwritten"}),
        ("patch", {"path": "out", "old_text": "TOPSECRET", "new_text": "public"}),
    ]
    results = await openclaw_call_tools(*calls)
    for (name, args), result in zip(calls, results, strict=True):
        assert result.is_error, (name, args, result.text)
        assert "TOPSECRET" not in result.text and "root:" not in result.text
        assert "blocked by sandbox rule" in result.text, (name, args, result.text)
    assert outside.read_text() == "TOPSECRET\n"
    assert not (tmp_path / "escaped.txt").exists()


async def test_write_file_creates_parents_and_replaces_atomically(openclaw_call_tools, workspace):
    script = workspace / "run.sh"
    script.write_text("old\n")
    script.chmod(0o755)
    inode = script.stat().st_ino
    with script.open() as reader:  # a reader holding the old file keeps seeing it whole
        created, replaced = await openclaw_call_tools(
            ("write_file", {"path": "a/b/c/new.md", "content": "# héllo\n"}),
            ("write_file", {"path": "run.sh", "content": "#!/bin/sh\necho new\n"}),
        )
        assert reader.read() == "old\n"
    assert created.text == "created a/b/c/new.md (9 B)"
    assert replaced.text == "replaced run.sh (19 B)"
    assert (workspace / "a/b/c/new.md").read_text() == "# héllo\n"
    assert script.read_text() == "#!/bin/sh\necho new\n"
    assert script.stat().st_ino != inode  # renamed over, not rewritten in place
    assert script.stat().st_mode & 0o777 == 0o755  # the mode survives the replacement
    leftovers = [p.name for p in workspace.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


async def test_write_file_refuses_too_large_and_directories(openclaw_call_tools, workspace):
    (workspace / "dir").mkdir()
    big, directory = await openclaw_call_tools(
        ("write_file", {"path": "big.txt", "content": "x" * 5_000_001}),
        ("write_file", {"path": "dir", "content": "x"}),
    )
    assert big.is_error and "write_file takes at most 4.8 MB" in big.text
    assert not (workspace / "big.txt").exists()
    assert directory.is_error and "dir is a directory" in directory.text


async def test_list_dir_depth_sorting_sizes_and_marks(openclaw_call_tools, workspace):
    (workspace / "b.txt").write_text("x" * 2048)
    (workspace / "a.txt").write_text("hi")
    deep = workspace / "src" / "pkg" / "inner" / "deeper"
    deep.mkdir(parents=True)
    (workspace / "src" / "main.py").write_text("print()\n")
    (deep / "hidden_by_depth.txt").write_text("")
    (workspace / "link").symlink_to("/etc")
    default, three, one = await openclaw_call_tools(
        ("list_dir", {}),
        ("list_dir", {"path": ".", "depth": 3}),
        ("list_dir", {"path": "src", "depth": 1}),
    )
    assert default.text.splitlines() == [
        "./",
        "  a.txt  (2 B)",
        "  b.txt  (2.0 KB)",
        "  link -> /etc",
        "  src/",
        "    main.py  (8 B)",
        "    pkg/",
    ]
    assert three.text.splitlines()[-1] == "      inner/"
    assert "deeper" not in three.text
    assert one.text.splitlines() == ["src/", "  main.py  (8 B)", "  pkg/"]


async def test_list_dir_stops_at_500_entries_keeping_the_upper_levels(
    openclaw_call_tools, workspace
):
    crowded = workspace / "a_crowded"
    crowded.mkdir()
    for n in range(600):
        (crowded / f"f{n:03d}").write_text("")
    (workspace / "z_last.txt").write_text("")
    (result,) = await openclaw_call_tools(("list_dir", {"depth": 2}))
    lines = result.text.splitlines()
    assert "  z_last.txt  (0 B)" in lines  # the top level is complete
    assert len(lines) == 1 + 500 + 1
    assert lines[-1].startswith("[stopped at 500 entries")


async def test_list_dir_refuses_files_and_shows_empty_directories(openclaw_call_tools, workspace):
    (workspace / "file.txt").write_text("")
    (workspace / "empty").mkdir()
    not_dir, empty = await openclaw_call_tools(
        ("list_dir", {"path": "file.txt"}),
        ("list_dir", {"path": "empty"}),
    )
    assert not_dir.is_error and "file.txt is not a directory" in not_dir.text
    assert empty.text == "empty/\n  (empty)"


async def test_patch_must_match_exactly_once(openclaw_call_tools, workspace):
    source = workspace / "app.py"
    original = "def f():\n    return 1\n\n\ndef g():\n    return 1\r\n"
    source.write_bytes(original.encode())
    none, twice, overlapping = await openclaw_call_tools(
        ("patch", {"path": "app.py", "old_text": "return 2", "new_text": "return 3"}),
        ("patch", {"path": "app.py", "old_text": "return 1", "new_text": "return 3"}),
        ("patch", {"path": "app.py", "old_text": "\n\n", "new_text": "\n"}),
    )
    assert none.is_error and "not found in app.py (0 matches)" in none.text
    assert twice.is_error and "matches 2 times in app.py (line(s) 2, 6);" in twice.text
    assert overlapping.is_error and "matches 2 times" in overlapping.text
    assert source.read_bytes() == original.encode()  # untouched by the failures

    (done,) = await openclaw_call_tools(
        (
            "patch",
            {
                "path": "app.py",
                "old_text": "def g():\n    return 1",
                "new_text": "def g():\n    return 2",
            },
        ),
    )
    assert not done.is_error
    assert done.text == "patched app.py at line 5: 2 line(s) replaced by 2"
    assert source.read_bytes() == original.replace("return 1\r", "return 2\r").encode()


async def test_patch_counts_many_matches_cheaply(openclaw_call_tools, workspace):
    (workspace / "same.txt").write_text("a" * 3_000_000 + "\nb\n")
    (many,) = await openclaw_call_tools(
        ("patch", {"path": "same.txt", "old_text": "a", "new_text": "c"})
    )
    assert many.is_error
    assert "matches more than 1000 times in same.txt (line(s) 1, ...);" in many.text


async def test_patch_refuses_binary_and_missing_files(openclaw_call_tools, workspace):
    (workspace / "blob.bin").write_bytes(b"\xff\xfe\x00old")
    binary, missing = await openclaw_call_tools(
        ("patch", {"path": "blob.bin", "old_text": "old", "new_text": "new"}),
        ("patch", {"path": "nope.txt", "old_text": "old", "new_text": "new"}),
    )
    assert binary.is_error and "not a UTF-8 text file" in binary.text
    assert missing.is_error and "does not exist" in missing.text


@pytest.mark.parametrize(
    ("name", "arguments", "field"),
    [
        ("read_file", {}, "path"),
        ("read_file", {"path": "a", "offset": 0}, "offset"),
        ("read_file", {"path": "a", "limit": "many"}, "limit"),
        ("write_file", {"path": "a"}, "content"),
        ("list_dir", {"depth": 4}, "depth"),
        ("patch", {"path": "a", "old_text": "", "new_text": "b"}, "old_text"),
    ],
)
async def test_invalid_arguments_name_the_field(
    openclaw_call_tools, workspace, name, arguments, field
):
    (result,) = await openclaw_call_tools((name, arguments))
    assert result.is_error
    assert result.text.startswith(f"Error: invalid arguments for {name}: {field}:")


async def test_schemas_come_from_the_argument_models(
    openclaw_make_app, openclaw_mock_model, workspace
):
    openclaw_mock_model.enqueue("hi")
    async with openclaw_make_app(entry_points=True) as app:
        await app.ask("hello")
    specs = {spec.name: spec.parameters for spec in openclaw_mock_model.requests[0].tools}
    assert specs["read_file"]["required"] == ["path"]
    assert specs["read_file"]["properties"]["offset"]["minimum"] == 1
    assert specs["patch"]["required"] == ["path", "old_text", "new_text"]
    assert specs["list_dir"]["properties"]["depth"]["maximum"] == 3


async def test_symlinks_are_not_followed_even_inside_the_workspace(openclaw_call_tools, workspace):
    (workspace / "real").mkdir()
    (workspace / "real" / "a.txt").write_text("inside\n")
    (workspace / "inside").symlink_to(workspace / "real")
    (workspace / "alias.txt").symlink_to("real/a.txt")
    through, alias, write, listed, direct = await openclaw_call_tools(
        ("read_file", {"path": "inside/a.txt"}),
        ("read_file", {"path": "alias.txt"}),
        ("write_file", {"path": "inside/new.txt", "content": "x"}),
        ("list_dir", {"path": "."}),
        ("read_file", {"path": "real/a.txt"}),
    )
    assert through.is_error and "blocked by sandbox rule 'symlink'" in through.text
    assert f"inside is a symlink (to {workspace / 'real'})" in through.text
    assert alias.is_error and "alias.txt is a symlink (to real/a.txt)" in alias.text
    assert write.is_error and not (workspace / "real" / "new.txt").exists()
    assert "  alias.txt -> real/a.txt" in listed.text.splitlines()
    assert direct.text == "     1\tinside"


async def test_hard_links_and_special_files_are_refused(openclaw_call_tools, workspace, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("TOPSECRET\n")
    os.link(outside, workspace / "hard")
    os.mkfifo(workspace / "pipe")
    calls = [
        ("read_file", {"path": "hard"}),
        ("write_file", {"path": "hard", "content": "overwritten"}),
        ("patch", {"path": "hard", "old_text": "TOPSECRET", "new_text": "public"}),
        ("read_file", {"path": "pipe"}),  # would block on open if opened like a file
        ("write_file", {"path": "pipe", "content": "x"}),
        ("patch", {"path": "pipe", "old_text": "a", "new_text": "b"}),
    ]
    results = await openclaw_call_tools(*calls)
    rules = [
        result.text.split("'")[1] if "blocked by sandbox rule" in result.text else result.text
        for result in results
    ]
    assert rules == ["hard link"] * 3 + ["special file"] * 3
    assert not any("TOPSECRET" in result.text for result in results)
    assert outside.read_text() == "TOPSECRET\n" and (workspace / "hard").stat().st_nlink == 2
    assert stat.S_ISFIFO((workspace / "pipe").stat().st_mode)


async def test_the_home_around_the_workspace_is_out_of_reach(
    openclaw_call_tools, workspace, openclaw_home
):
    """The default workspace lives inside $OPENCLAW_HOME: nothing above it is reachable."""
    (openclaw_home / "pairing.json").write_text('{"approved": []}')
    calls = [
        ("read_file", {"path": "../openclaw.json"}),
        ("read_file", {"path": str(openclaw_home / "pairing.json")}),
        ("write_file", {"path": "../pairing.json", "content": '{"approved": ["stranger"]}'}),
        ("patch", {"path": "../pairing.json", "old_text": "[]", "new_text": '["x"]'}),
        ("list_dir", {"path": ".."}),
        ("list_dir", {"path": "sub/../.."}),
    ]
    results = await openclaw_call_tools(*calls)
    assert all("blocked by sandbox rule 'path allowlist'" in r.text for r in results), results
    assert (openclaw_home / "pairing.json").read_text() == '{"approved": []}'


async def test_the_home_inside_the_workspace_is_out_of_reach(openclaw_call_tools, openclaw_home):
    """A workspace holding $OPENCLAW_HOME (here its parent folder) still cannot reach it."""
    workspace = openclaw_home.parent
    (openclaw_home / "pairing.json").write_text('{"approved": []}')
    (workspace / "notes.txt").write_text("mine\n")
    home = openclaw_home.name
    calls = [
        ("read_file", {"path": f"{home}/pairing.json"}),
        ("read_file", {"path": f"{home}/openclaw.json"}),
        ("write_file", {"path": f"{home}/pairing.json", "content": '{"approved": ["x"]}'}),
        ("write_file", {"path": f"{home}/new.json", "content": "{}"}),
        ("patch", {"path": f"{home}/pairing.json", "old_text": "[]", "new_text": '["x"]'}),
        ("list_dir", {"path": home}),
    ]
    config = {"agent": {"workspace": str(workspace)}}
    *refused, listed, notes = await openclaw_call_tools(
        *calls, ("list_dir", {"depth": 2}), ("read_file", {"path": "notes.txt"}), config=config
    )
    for (name, args), result in zip(calls, refused, strict=True):
        assert "blocked by sandbox rule 'protected path'" in result.text, (name, args, result)
    assert (openclaw_home / "pairing.json").read_text() == '{"approved": []}'
    assert not (openclaw_home / "new.json").exists()
    assert f"  {home}/" in listed.text.splitlines()  # shown, never entered
    assert "pairing.json" not in listed.text and "openclaw.json" not in listed.text
    assert notes.text == "     1\tmine"
