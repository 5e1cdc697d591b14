"""The structlog sink: levels, JSON output, and secrets kept out of the log."""

from __future__ import annotations

import io
import json

from openclaw.default_plugins.log_sink import LogSink
from openclaw.events import TextDelta, ToolStarted, TurnFailed, TurnFinished


def test_json_lines_with_levels_and_redaction():
    out = io.StringIO()
    sink = LogSink(level="info", fmt="json", stream=out)
    sink.handle(TextDelta(session_key="k", text="private words"))  # never logged
    sink.handle(ToolStarted(session_key="k", name="exec"))  # debug: below info
    sink.handle(TurnFinished(session_key="k", text="the answer", rounds=2, model="m/x"))
    sink.handle(
        TurnFailed(
            session_key="k",
            error="401 for key sk-proj-abcdefghijklmnop and bot "
            "123456789:AAHabcdefghijklmnopqrstuvwxyz",
        )
    )
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["turn.finished", "turn.failed"]
    assert records[0]["level"] == "info" and records[0]["rounds"] == 2
    assert records[0]["tokens"] == 0  # a count, not a secret
    assert "text" not in records[0]  # the conversation stays out of the log
    assert records[1]["level"] == "warning"
    assert "sk-proj" not in records[1]["error"] and "AAH" not in records[1]["error"]
    assert records[1]["error"].count("[REDACTED]") == 2


def test_console_format_and_debug_level():
    out = io.StringIO()
    sink = LogSink(level="debug", fmt="console", stream=out)
    sink.handle(ToolStarted(session_key="k", name="exec", arguments='{"api_key": "x"}'))
    text = out.getvalue()
    assert "tool.started" in text and "exec" in text


async def test_config_logging_section_configures_the_sink(openclaw_make_app):
    app = openclaw_make_app(config={"logging": {"level": "warning", "format": "json"}})
    async with app:
        sink = next(s for s in app.bus.sinks if isinstance(s, LogSink))
        assert (sink.level, sink.format) == (30, "json")
