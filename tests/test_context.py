"""System prompt files (cached, byte-stable) and history selection within a token budget."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from openclaw.agent.context import PromptFiles, build_system_prompt, select_history
from openclaw.messages import Message, ToolCall, message_tokens
from openclaw.sandbox import WorkspaceFiles
from openclaw.sandbox.fs import Location
from openclaw.tools import truncate


def test_prompt_files_are_cached_by_mtime_and_ordered(tmp_path):
    (tmp_path / "USER.md").write_text("The user is Ana.")
    (tmp_path / "SOUL.md").write_text("Be kind.")
    (tmp_path / "NOTES.md").write_text("not a prompt file")
    files = PromptFiles(tmp_path)
    first = build_system_prompt("main", files)
    assert first.index("## SOUL.md") < first.index("## USER.md")
    assert "NOTES" not in first
    assert files.reads == 2
    assert build_system_prompt("main", files) == first
    assert files.reads == 2  # nothing re-read
    user = tmp_path / "USER.md"
    user.write_text("The user is Bruno.")
    stat = user.stat()
    os.utime(user, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    changed = build_system_prompt("main", files)
    assert files.reads == 3 and "Bruno" in changed and "Ana" not in changed
    user.unlink()
    assert "## USER.md" not in build_system_prompt("main", files)


def _exchange(index: int, with_tool: bool) -> list[Message]:
    messages = [Message(role="user", content=f"question {index} " + "x" * 200)]
    if with_tool:
        call = ToolCall(f"c{index}", "echo", '{"text": "hi"}')
        messages.append(Message(role="assistant", content="", tool_calls=[call]))
        messages.append(Message(role="tool", content="r" * 400, tool_call_id=f"c{index}"))
    messages.append(Message(role="assistant", content=f"answer {index}"))
    return messages


def test_history_fits_budget_and_keeps_tool_pairs():
    history = [m for i in range(30) for m in _exchange(i, with_tool=i % 2 == 0)]
    for budget in range(100, 3000, 37):
        chosen = select_history(history, budget)
        assert chosen[-1] is history[-1]
        assert sum(message_tokens(m) for m in chosen) <= max(budget, message_tokens(history[-1]))
        assert chosen[0].role != "tool"
        ids = {c.id for m in chosen for c in m.tool_calls}
        results = {m.tool_call_id for m in chosen if m.role == "tool"}
        assert ids == results  # no call without its result, no result without its call
    assert select_history(history, 10**9) == history


def test_newest_unit_is_kept_even_over_budget():
    big = [Message(role="user", content="y" * 10_000)]
    assert select_history(big, 100) == big


def test_dangling_tool_call_is_answered_with_an_error():
    call = ToolCall("c1", "hang", "{}")
    history = [
        Message(role="user", content="q"),
        Message(role="assistant", content="", tool_calls=[call]),
        Message(role="user", content="next"),
    ]
    chosen = select_history(history, 10_000)
    assert [m.role for m in chosen] == ["user", "assistant", "tool", "user"]
    assert chosen[2].tool_call_id == "c1" and chosen[2].is_error
    assert "interrupted" in chosen[2].text


def test_truncate_keeps_head_and_tail():
    text = "H" * 900 + "T" * 300
    out = truncate(text, 400)
    assert out.startswith("H" * 300) and out.endswith("T" * 100)
    assert "[... 800 characters truncated ...]" in out
    assert truncate("short", 400) == "short"


def test_a_linked_prompt_file_is_skipped(tmp_path, caplog):
    """The model could link MEMORY.md to a secret (a command may create any symlink in the
    workspace): a symlink or hard link is skipped with a warning, never read."""
    secret = tmp_path / "secret.json"
    secret.write_text('{"token": "SECRET-TOKEN"}')
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "MEMORY.md").symlink_to(secret)
    os.link(secret, workspace / "USER.md")
    (workspace / "SOUL.md").write_text("Be kind.")
    prompt = build_system_prompt("main", PromptFiles(workspace))
    assert "SECRET-TOKEN" not in prompt and "Be kind." in prompt
    assert "prompt file MEMORY.md skipped: blocked by sandbox rule 'symlink'" in caplog.text
    assert "prompt file USER.md skipped: blocked by sandbox rule 'hard link'" in caplog.text


class CountingFiles(WorkspaceFiles):
    """The real `WorkspaceFiles`, counting the walks (`locate`) a turn's prompt costs."""

    def __init__(self, workspace: Path) -> None:
        super().__init__(workspace)
        self.walks = 0

    @contextlib.contextmanager
    def locate(self, path: str | Path, *, create_parents: bool = False) -> Iterator[Location]:
        self.walks += 1
        with super().locate(path, create_parents=create_parents) as place:
            yield place


def test_an_unchanged_prompt_file_is_not_opened_again(tmp_path):
    """Every turn builds the prompt: an unchanged file costs an lstat, not a checked walk and
    an open; an edit, a swap for a symlink or a new hard link is still seen at the next turn."""
    (tmp_path / "SOUL.md").write_text("Be kind.")
    (tmp_path / "USER.md").write_text("The user is Ana.")
    files = CountingFiles(tmp_path)
    prompts = PromptFiles(tmp_path, files=files)
    first = build_system_prompt("main", prompts)
    walks = files.walks
    assert walks == 2  # the four missing files are not walked to either
    for _ in range(20):
        assert build_system_prompt("main", prompts) == first
    assert files.walks == walks

    user = tmp_path / "USER.md"
    user.write_text("The user is Bea.")  # the same size: the mtime (and ctime) tell
    assert "Bea" in build_system_prompt("main", prompts)

    secret = tmp_path.parent / f"{tmp_path.name}-secret"
    secret.write_text("SECRET-TOKEN")
    soul = tmp_path / "SOUL.md"
    soul.unlink()
    soul.symlink_to(secret)
    assert "SECRET-TOKEN" not in build_system_prompt("main", prompts)
    soul.unlink()
    soul.write_text("Be kind.")
    assert "Be kind." in build_system_prompt("main", prompts)
    os.link(soul, tmp_path.parent / f"{tmp_path.name}-other-name")  # now a hard link
    assert "Be kind." not in build_system_prompt("main", prompts)
