"""The `terminal` channel answers through the gateway: `openclaw gateway` with
`channels.terminal` enabled reads its stdin as the owner's chat and writes the streamed answers
and command replies to its stdout, in a subprocess as a user runs it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

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
