"""Whole turns through the real provider plugins and SDKs against local SSE servers."""

from __future__ import annotations

import asyncio
from typing import Any

from openclaw import hookimpl
from openclaw.testing.servers import FakeAnthropicServer, FakeOpenAIServer, Reply
from openclaw.tools import Tool, ToolCallContext, tool


class Tools:
    @hookimpl
    def register_tools(self, register: Any, context: Any) -> None:
        @tool
        def echo(text: str) -> str:
            """Repeat the text."""
            return f"echo: {text}"

        async def hang(args: dict[str, Any], ctx: ToolCallContext) -> str:
            await asyncio.sleep(3600)
            return "never"

        async def flood(args: dict[str, Any], ctx: ToolCallContext) -> str:
            return "x" * 1_000_000

        register(echo)
        register(Tool("hang", "never returns", {"type": "object"}, hang, timeout=0.3))
        register(Tool("flood", "prints 1 MB", {"type": "object"}, flood))


def provider_config(kind: str, server: Any, **agent: Any) -> dict[str, Any]:
    return {
        "agent": {"model": "srv/fake-model", **agent},
        "providers": {"srv": {"type": kind, "base_url": server.base_url, "max_retries": 0}},
    }


async def test_openai_turn_with_parallel_hanging_and_flooding_tools(
    openclaw_make_app, openclaw_openai_server
):
    openclaw_openai_server.enqueue(
        Reply(tool_calls=[("hang", "{}"), ("flood", "{}")]), Reply("Both done.", chunks=3)
    )
    config = provider_config("openai", openclaw_openai_server, tool_output_chars=32000)
    async with openclaw_make_app(plugins=[Tools()], config=config) as app:
        events = [event async for event in app.run_turn("go")]
    finished = events[-1]
    assert finished.type == "turn.finished", finished
    assert (finished.text, finished.rounds, finished.tools) == ("Both done.", 2, 2)
    assert finished.usage.total == 30 and not finished.usage.estimated  # 2 × (10 + 5)
    tool_messages = [
        m for m in openclaw_openai_server.requests[1]["messages"] if m["role"] == "tool"
    ]
    hang, flood = (m["content"] for m in tool_messages)
    assert "timed out after 0.3s" in hang
    assert len(flood) < 32_100 and "characters truncated" in flood
    assert [m["tool_call_id"] for m in tool_messages] == ["call_fake_0", "call_fake_1"]


async def test_anthropic_turn_with_two_parallel_tool_calls(
    openclaw_make_app, openclaw_anthropic_server
):
    openclaw_anthropic_server.enqueue(
        Reply(tool_calls=[("echo", '{"text": "a"}'), ("echo", '{"text": "b"}')], usage=None),
        Reply("Echoed twice."),
    )
    config = provider_config("anthropic", openclaw_anthropic_server)
    async with openclaw_make_app(plugins=[Tools()], config=config) as app:
        result = await app.ask("echo a and b")
    assert result.text == "Echoed twice." and result.tools == 2
    user_turn = openclaw_anthropic_server.requests[1]["messages"][-1]
    results = [block for block in user_turn["content"] if block["type"] == "tool_result"]
    assert [r["content"] for r in results] == ["echo: a", "echo: b"]


async def test_max_rounds_over_http(openclaw_make_app):
    always_a_tool_call = Reply(tool_calls=[("echo", '{"text": "x"}')])
    with FakeOpenAIServer(default=lambda body: always_a_tool_call) as srv:
        async with openclaw_make_app(
            plugins=[Tools()], config=provider_config("openai", srv, max_rounds=4)
        ) as app:
            result = await app.ask("never stop")
    assert result.stopped == "max_rounds" and result.rounds == 4
    assert len(srv.requests) == 4


async def test_history_is_pruned_to_the_budget_over_http(openclaw_make_app):
    with FakeAnthropicServer() as server:
        config = provider_config("anthropic", server, history_tokens=300)
        async with openclaw_make_app(config=config) as app:
            for index in range(12):
                await app.ask(f"message {index} " + "words " * 40)
            stored = app.store.history(app.default_session())
    sent = server.requests[-1]["messages"]
    assert len(stored) == 24
    assert 1 <= len(sent) < 6  # only the newest messages fit 300 tokens
    assert sent[-1]["content"].startswith("message 11")
