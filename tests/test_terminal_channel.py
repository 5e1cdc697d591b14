"""The `terminal` channel answers through the gateway: `openclaw gateway` with
`channels.terminal` enabled reads its stdin as the owner's chat and writes the streamed answers
and command replies to its stdout, in a subprocess as a user runs it. Its input is bytes: what is
not UTF-8 is replaced, never a crash."""

from __future__ import annotations

import asyncio
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from openclaw.channels import Channel, InboundMessage
from openclaw.commands import Command
from openclaw.default_plugins.terminal_channel import TerminalChannel
from openclaw.store import SqliteStore
from openclaw.testing.servers import FakeOpenAIServer, Reply


def read_until(lines: queue.Queue[str], wanted: str, timeout: float = 30.0) -> str:
    """What the process wrote until a line containing `wanted` (or the timeout)."""
    seen = ""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        try:
            seen += lines.get(timeout=0.2)
        except queue.Empty:
            continue
    return seen


def test_the_terminal_channel_answers_through_the_gateway(openclaw_home: Path):
    with FakeOpenAIServer() as server:
        server.enqueue(Reply("Hello from the gateway's console.", chunks=4))
        config = {
            "agent": {"model": "srv/fake-model"},
            "providers": {"srv": {"type": "openai", "base_url": server.base_url}},
            "channels": {"terminal": {"enabled": True}},
            "limits": {"debounce_ms": 0},
        }
        (openclaw_home / "openclaw.json").write_text(json.dumps(config))
        env = {**os.environ, "OPENCLAW_HOME": str(openclaw_home), "OPENAI_API_KEY": "sk-test"}
        process = subprocess.Popen(
            [sys.executable, "-m", "openclaw.cli", "gateway", "--port", "0"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None and process.stdin is not None
        stdout = process.stdout

        def pump() -> None:
            for char in iter(lambda: stdout.read(1), ""):
                lines.put(char)

        threading.Thread(target=pump, daemon=True).start()
        try:
            process.stdin.write("/ping\n")
            process.stdin.flush()
            assert "pong" in read_until(lines, "pong")
            process.stdin.write("hello, are you there?\n")
            process.stdin.flush()
            answer = read_until(lines, "console.")
            assert "Hello from the gateway's console." in answer
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert "channel terminal failed" not in stderr
        sent = server.requests[-1]["messages"][-1]
        assert sent == {"role": "user", "content": "hello, are you there?"}
    with SqliteStore(openclaw_home / "sessions.db") as store:
        history = store.history("cli:main:local:default")
    assert [m.text for m in history] == [
        "hello, are you there?",
        "Hello from the gateway's console.",
    ]


class RecordingInbox:
    """An `openclaw.channels.Inbox` that keeps what it is handed."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []

    async def deliver(self, channel: Channel, message: InboundMessage) -> None:
        self.messages.append(message)

    def knows(self, channel: str, user_id: str) -> bool:
        return True

    def record(self, channel: Channel, chat_id: str, message_id: str, payload: str = "") -> bool:
        return True

    def skipped(self, channel: Channel) -> None:
        return None

    def commands(self) -> dict[str, Command]:
        return {}


async def test_input_that_is_not_utf8_is_replaced_not_a_crash(openclaw_make_app):
    read_end, write_end = os.pipe()
    inbox = RecordingInbox()
    async with openclaw_make_app() as app:
        channel = TerminalChannel(app.services, stdin=read_end, out=io.StringIO())
        running = asyncio.create_task(channel.run(inbox))
        os.write(write_end, b"caf\xe9 ok\n\xff\xfeline two\nh\xc3")  # Latin-1, bad, half
        await asyncio.sleep(0.05)
        os.write(write_end, b"\xa9llo\nno newline at the end")  # the half's other half
        os.close(write_end)  # the input ends
        for _ in range(200):
            if len(inbox.messages) == 4 or running.done():
                break
            await asyncio.sleep(0.01)
        assert not running.done()  # still running: it waits for the gateway to stop it
        await channel.stop()
        await asyncio.wait_for(running, 5)
    os.close(read_end)
    assert [m.text for m in inbox.messages] == [
        "caf\ufffd ok",
        "\ufffd\ufffdline two",
        "h\u00e9llo",
        "no newline at the end",
    ]
    assert {(m.channel, m.user_id, m.chat_id) for m in inbox.messages} == {
        ("cli", "local", "default")
    }
    assert channel.state == "stopped"
