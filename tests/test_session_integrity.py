"""A session stays valid for the model whatever a tool printed or a crash left behind."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import openai
import pytest

from openclaw.agent.context import repair_history
from openclaw.messages import Message, ToolCall
from openclaw.store import SqliteStore
from openclaw.store.schema import message_ids
from openclaw.testing.servers import FakeOpenAIServer, Reply


def openai_config(server: Any) -> dict[str, Any]:
    return {
        "agent": {"model": "srv/fake-model"},
        "providers": {"srv": {"type": "openai", "base_url": server.base_url, "max_retries": 0}},
    }


async def test_a_file_name_that_is_not_utf8_leaves_the_session_usable(
    openclaw_make_app, openclaw_openai_server
):
    openclaw_openai_server.enqueue(
        Reply(tool_calls=[("list_dir", '{"path": "."}')]), Reply("Listed.")
    )
    async with openclaw_make_app(
        config=openai_config(openclaw_openai_server), entry_points=True
    ) as app:
        workspace = Path(app.config.workspace)
        workspace.mkdir(parents=True, exist_ok=True)
        with open(os.path.join(os.fsencode(workspace), b"bad\xff.txt"), "wb") as handle:
            handle.write(b"x")
        first = await app.ask("what is in the workspace?")
        second = await app.ask("and now?")
    assert first.text == "Listed."
    assert second.text == "echo: and now?"
    listing = [m for m in openclaw_openai_server.requests[1]["messages"] if m["role"] == "tool"]
    assert len(listing) == 1 and "bad\\xff.txt" in listing[0]["content"]
    assert "not valid UTF-8" in listing[0]["content"]
    history = app.store.history(app.default_session())
    assert [m.role for m in history] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]


def broken_session(db: Path, key: str) -> None:
    """Rows as a crash or an older version left them, written with plain SQL: a call stored twice
    (the first copy without results), a call never answered, and a result with no call."""
    SqliteStore(db).close()  # the schema
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO sessions (key, channel, created_at, updated_at) VALUES (?, 'cli', 1, 1)",
        [key],
    )
    calls_a = '[{"id": "call_a", "name": "list_dir", "arguments": "{}"}]'
    calls_b = '[{"id": "call_b", "name": "read_file", "arguments": "{}"}]'
    rows = [
        ("user", "list it", None, None),
        ("assistant", "Looking.", calls_a, None),
        ("assistant", "", calls_a, None),
        ("tool", "Error: tool call failed.", None, "call_a"),
        ("tool", "a second result", None, "call_a"),
        ("assistant", "It failed.", None, None),
        ("tool", "a result without a call", None, "call_x"),
        ("user", "read it", None, None),
        ("assistant", "", calls_b, None),
        ("user", "hello?", None, None),
    ]
    first, _ = message_ids(1)
    for n, (role, content, calls, call_id) in enumerate(rows):
        conn.execute(
            "INSERT INTO messages (id, session_id, role, content, tool_calls, tool_call_id, "
            "created_at) VALUES (?, 1, ?, ?, ?, ?, 1)",
            [first + n, role, content, calls, call_id],
        )
    conn.commit()
    conn.close()


async def test_a_broken_session_is_repaired_before_it_reaches_the_model(
    openclaw_make_app, openclaw_openai_server
):
    async with openclaw_make_app(config=openai_config(openclaw_openai_server)) as app:
        key = app.default_session()
        broken_session(app.config.sessions_db, key)
        result = await app.ask("still there?")
    assert result.text == "echo: still there?"
    sent = openclaw_openai_server.requests[0]["messages"][1:]  # after the system prompt
    shape = [
        (m["role"], m.get("tool_call_id") or [c["id"] for c in m.get("tool_calls") or []])
        for m in sent
    ]
    assert shape == [
        ("user", []),
        ("assistant", []),  # "Looking.": its call went to the later copy
        ("assistant", ["call_a"]),
        ("tool", "call_a"),
        ("assistant", []),
        ("user", []),
        ("assistant", ["call_b"]),
        ("tool", "call_b"),  # the orphan call answered with an error
        ("user", []),
        ("user", []),
    ]
    assert sent[3]["content"] == "Error: tool call failed."
    assert "interrupted" in sent[7]["content"]


def test_the_fake_server_refuses_what_the_repair_fixes():
    """The broken rows above, sent as stored, get OpenAI's 400; the check in the server works."""
    with FakeOpenAIServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        calls = [{"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
        twice = [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "", "tool_calls": calls},
            {"role": "assistant", "content": "", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "call_a", "content": "r"},
        ]
        with pytest.raises(openai.BadRequestError, match="did not have response messages"):
            client.chat.completions.create(model="fake-model", messages=twice)


def test_repair_leaves_a_valid_history_alone():
    call = ToolCall("c1", "echo", "{}")
    history = [
        Message(role="user", content="q"),
        Message(role="assistant", content="", tool_calls=[call]),
        Message(role="tool", content="r", tool_call_id="c1", name="echo"),
        Message(role="assistant", content="done"),
    ]
    assert repair_history(history) == history


def test_a_round_is_stored_in_one_transaction(tmp_path):
    """A result that cannot be stored (here a trigger plays a full disk) leaves no call behind:
    nothing of the round is written."""
    key = "cli:main:local:default"
    with SqliteStore(tmp_path / "s.db") as store:
        store.append(key, Message(role="user", content="q"))
        call = Message(role="assistant", content="", tool_calls=[ToolCall("c1", "f", "{}")])
        unstorable = Message(role="tool", content="r", tool_call_id="c1", name="f")
        conn = sqlite3.connect(tmp_path / "s.db")
        conn.execute(
            "CREATE TRIGGER no_results BEFORE INSERT ON messages WHEN NEW.role = 'tool' "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
        conn.commit()
        conn.close()
        with pytest.raises(sqlite3.IntegrityError, match="disk full"):
            store.append_round(key, call, [unstorable])
        assert [m.role for m in store.history(key)] == ["user"]
