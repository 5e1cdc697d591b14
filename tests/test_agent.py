"""The agent turn with the scripted model: rounds, parallel tools, errors, limits, persistence."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from openclaw import hookimpl
from openclaw.app import TurnError
from openclaw.events import TurnFailed, TurnFinished
from openclaw.tools import Tool, ToolCallContext, tool


class ToolsPlugin:
    """Test tools: echo, two that must run concurrently, one that hangs, one that floods."""

    def __init__(self) -> None:
        self.barrier_hits = 0
        self.both_running = asyncio.Event()

    @hookimpl
    def register_tools(self, register: Any, context: Any) -> None:
        plugin = self

        @tool
        def echo(text: str) -> str:
            """Repeat the text."""
            return f"echo: {text}"

        async def meet(args: dict[str, Any], ctx: ToolCallContext) -> str:
            plugin.barrier_hits += 1
            if plugin.barrier_hits == 2:
                plugin.both_running.set()
            await asyncio.wait_for(plugin.both_running.wait(), 2)
            return f"met {args['who']}"

        async def hang(args: dict[str, Any], ctx: ToolCallContext) -> str:
            await asyncio.sleep(3600)
            return "never"

        async def flood(args: dict[str, Any], ctx: ToolCallContext) -> str:
            return "A" * 500_000 + "B" * 500_000

        register(echo)
        register(Tool("meet", "wait for the other", {"type": "object"}, meet))
        register(Tool("hang", "never returns", {"type": "object"}, hang, timeout=0.2))
        register(Tool("flood", "prints 1 MB", {"type": "object"}, flood))


def tool_messages(request: Any) -> list[Any]:
    return [m for m in request.messages if m.role == "tool"]


async def test_plain_turn_streams_events_and_persists(
    openclaw_make_app, openclaw_mock_model, openclaw_recording_sink
):
    openclaw_mock_model.enqueue("Hello there, friend!", chunks=4)
    async with openclaw_make_app() as app:
        events = [event async for event in app.run_turn("hi")]
        history = app.store.history(app.default_session())
    types = [e.type for e in events]
    assert types[0] == "turn.started" and types[-1] == "turn.finished"
    assert types.count("text.delta") == 4
    assert "".join(e.text for e in events if e.type == "text.delta") == "Hello there, friend!"
    finished = events[-1]
    assert finished.rounds == 1 and finished.model == "mock/test"
    assert finished.usage.total > 0
    assert "1 round(s) · 0 tool(s)" in finished.footer()
    assert [(m.role, m.text) for m in history] == [
        ("user", "hi"),
        ("assistant", "Hello there, friend!"),
    ]
    assert openclaw_recording_sink.types() == types  # the bus saw the same events


async def test_parallel_tool_calls_run_concurrently(openclaw_make_app, openclaw_mock_model):
    plugin = ToolsPlugin()
    openclaw_mock_model.enqueue(tool_calls=[("meet", {"who": "a"}), ("meet", {"who": "b"})])
    openclaw_mock_model.enqueue("both met")
    async with openclaw_make_app(plugins=[plugin]) as app:
        events = [event async for event in app.run_turn("go")]
    finished = events[-1]
    assert isinstance(finished, TurnFinished), finished
    assert finished.tools == 2 and finished.rounds == 2
    results = tool_messages(openclaw_mock_model.requests[1])
    assert sorted(m.text for m in results) == ["met a", "met b"]
    assert [e.type for e in events].count("tool.finished") == 2
    # the tool specs were offered to the model
    assert {t.name for t in openclaw_mock_model.requests[0].tools} >= {
        "echo",
        "meet",
        "hang",
        "flood",
    }


async def test_unknown_tool_and_bad_json_become_error_results(
    openclaw_make_app, openclaw_mock_model
):
    openclaw_mock_model.enqueue(
        tool_calls=[("nope", {}), ("echo", "{not json"), ("echo", {"txt": 1})]
    )
    openclaw_mock_model.enqueue("recovered")
    async with openclaw_make_app(plugins=[ToolsPlugin()]) as app:
        result = await app.ask("try")
    assert result.text == "recovered"
    errors = {m.tool_call_id: m for m in tool_messages(openclaw_mock_model.requests[1])}
    texts = [m.text for m in errors.values()]
    assert all(m.is_error for m in errors.values())
    assert "unknown tool 'nope'" in texts[0] and "echo" in texts[0]
    assert "not valid JSON" in texts[1]
    assert "invalid arguments for echo" in texts[2] and "text" in texts[2]


async def test_hanging_tool_times_out_and_huge_output_is_truncated(
    openclaw_make_app, openclaw_mock_model
):
    openclaw_mock_model.enqueue(tool_calls=[("hang", {}), ("flood", {})])
    openclaw_mock_model.enqueue("fine")
    async with openclaw_make_app(
        plugins=[ToolsPlugin()], config={"agent": {"tool_output_chars": 1000}}
    ) as app:
        events = [event async for event in app.run_turn("do it")]
    hang, flood = tool_messages(openclaw_mock_model.requests[1])
    assert hang.is_error and "timed out after 0.2s" in hang.text
    assert not flood.is_error
    assert flood.text.startswith("A" * 750) and flood.text.endswith("B" * 250)
    assert "characters truncated" in flood.text and len(flood.text) < 1100
    failed = [e for e in events if e.type == "tool.finished" and not e.ok]
    assert [e.name for e in failed] == ["hang"]


async def test_turn_stops_at_max_rounds(openclaw_make_app, openclaw_mock_model):
    for _ in range(5):
        openclaw_mock_model.enqueue(tool_calls=[("echo", {"text": "again"})])
    async with openclaw_make_app(
        plugins=[ToolsPlugin()], config={"agent": {"max_rounds": 3}}
    ) as app:
        result = await app.ask("loop forever")
        history = app.store.history(app.default_session())
    assert result.stopped == "max_rounds" and result.rounds == 3
    assert len(openclaw_mock_model.requests) == 3
    assert "limit of 3 tool rounds" in history[-1].text


async def test_second_turn_sees_the_first(openclaw_make_app, openclaw_mock_model):
    openclaw_mock_model.enqueue("I am Claw.").enqueue("You asked my name.")
    async with openclaw_make_app() as app:
        await app.ask("what is your name?", session_key="cli:main:u:1")
        await app.ask("what did I ask?", session_key="cli:main:u:1")
        await app.ask("other session", session_key="cli:main:u:2")
    second = [m.text for m in openclaw_mock_model.requests[1].messages]
    assert second[1:] == ["what is your name?", "I am Claw.", "what did I ask?"]
    third = [m.text for m in openclaw_mock_model.requests[2].messages]
    assert third[1:] == ["other session"]


async def test_turn_timeout_leaves_session_consistent(openclaw_make_app, openclaw_mock_model):
    openclaw_mock_model.enqueue(tool_calls=[("hang", {})])
    config = {"agent": {"turn_timeout": 0.3}}
    plugin = ToolsPlugin()
    # a longer tool timeout than the turn's, so the turn timeout is what stops it
    async with openclaw_make_app(plugins=[plugin], config=config) as app:
        app.registry.tools["hang"].value.timeout = 10
        with pytest.raises(TurnError) as caught:
            await app.ask("hang please")
        assert caught.value.event.kind == "timeout"
        history = app.store.history(app.default_session())
        openclaw_mock_model.enqueue("next answer")
        assert (await app.ask("still there?")).text == "next answer"
    roles = [m.role for m in history]
    assert roles == ["user", "assistant", "tool"]
    assert history[1].tool_calls[0].name == "hang"
    assert history[2].is_error and "timed out" in history[2].text
    # the next request carries a complete tool call/result pair
    sent = openclaw_mock_model.requests[-1].messages
    assert [m.role for m in sent] == ["system", "user", "assistant", "tool", "user"]


async def test_closing_the_event_stream_cancels_the_turn(openclaw_make_app, openclaw_mock_model):
    openclaw_mock_model.enqueue("partial answer that is long", delay=0.0, chunks=5)
    openclaw_mock_model.enqueue("later")
    async with openclaw_make_app() as app:
        stream = app.run_turn("hi")
        async for event in stream:
            if event.type == "text.delta":
                await stream.aclose()
                break
        history = app.store.history(app.default_session())
    assert history[0].text == "hi"
    assert history[-1].role == "assistant" and history[-1].text.endswith("[cancelled]")


async def test_before_tool_call_can_deny_and_rewrite(openclaw_make_app, openclaw_mock_model):
    class Guard:
        @hookimpl
        def before_tool_call(self, name: str, arguments: dict, context: ToolCallContext):
            if arguments.get("text") == "secret":
                return "no secrets"
            if arguments.get("text") == "rewrite":
                return {"text": "rewritten"}
            return None

    openclaw_mock_model.enqueue(
        tool_calls=[
            ("echo", {"text": "secret"}),
            ("echo", {"text": "rewrite"}),
            ("echo", {"text": "plain"}),
        ]
    )
    openclaw_mock_model.enqueue("ok")
    async with openclaw_make_app(plugins=[ToolsPlugin(), Guard()]) as app:
        await app.ask("go")
    texts = [m.text for m in tool_messages(openclaw_mock_model.requests[1])]
    assert texts == ["Error: call denied: no secrets", "echo: rewritten", "echo: plain"]


async def test_extend_system_prompt_and_workspace_files(
    openclaw_make_app, openclaw_mock_model, openclaw_home
):
    class Extra:
        @hookimpl
        def extend_system_prompt(self, session_key: str, workspace: str) -> str:
            return "Always answer in haiku."

    workspace = openclaw_home / "workspace"
    workspace.mkdir()
    (workspace / "SOUL.md").write_text("You love cats.")
    async with openclaw_make_app(plugins=[Extra()]) as app:
        await app.ask("one")
        await app.ask("two")
    first, second = (r.messages[0].text for r in openclaw_mock_model.requests)
    assert first == second  # byte-stable prefix across turns
    assert "## SOUL.md\n\nYou love cats." in first and first.endswith("Always answer in haiku.")


async def test_provider_without_tool_support_gets_no_tools(openclaw_make_app, openclaw_mock_model):
    openclaw_mock_model.supports_tools = False
    async with openclaw_make_app(plugins=[ToolsPlugin()]) as app:
        await app.ask("hi")
    assert openclaw_mock_model.requests[0].tools == []


async def test_fallback_to_next_model_and_all_down(openclaw_make_app, openclaw_mock_model):
    openclaw_mock_model.enqueue(error="boom").enqueue("from the fallback")
    config = {"agent": {"model": "mock/first", "fallbacks": ["mock/second"]}}
    async with openclaw_make_app(config=config) as app:
        events = [event async for event in app.run_turn("hi")]
        assert events[-1].model == "mock/second"
        assert app.models.last_model == "mock/second"
        openclaw_mock_model.enqueue(error="down 1").enqueue(error="down 2")
        failed = [event async for event in app.run_turn("again")][-1]
    fallback = next(e for e in events if e.type == "provider.fallback")
    assert (fallback.failed, fallback.next) == ("mock/first", "mock/second")
    assert isinstance(failed, TurnFailed) and failed.kind == "providers"
    assert "mock/first: down 1" in failed.error and "mock/second: down 2" in failed.error


async def test_session_model_override_is_used(openclaw_make_app, openclaw_mock_model):
    async with openclaw_make_app() as app:
        app.store.set_model(app.default_session(), "mock/special")
        result = await app.ask("hi")
    assert result.model == "mock/special"
    assert openclaw_mock_model.requests[0].model == "special"


async def test_image_content_reaches_the_model(openclaw_make_app, openclaw_mock_model):
    from openclaw.messages import ImagePart, TextPart

    parts = [TextPart("what is this?"), ImagePart(data=b"\x89PNG fake", mime_type="image/png")]
    async with openclaw_make_app() as app:
        await app.ask(parts)
        stored = app.store.history(app.default_session())[0]
    sent = openclaw_mock_model.requests[0].messages[-1]
    assert sent.images[0].data == b"\x89PNG fake" and stored.images[0].mime_type == "image/png"


def test_tool_decorator_schema_and_context():
    from pydantic import BaseModel, Field

    @tool(timeout=5)
    def read(path: str, ctx: ToolCallContext, lines: int = 10) -> str:
        """Read a file."""
        return f"{path}:{lines}:{ctx.session_key}"

    class Args(BaseModel):
        query: str = Field(description="what to look for")

    @tool(arguments=Args, name="look")
    async def lookup(query: str) -> str:
        return query.upper()

    assert read.parameters == {
        "type": "object",
        "properties": {"path": {"type": "string"}, "lines": {"default": 10, "type": "integer"}},
        "required": ["path"],
    }
    assert read.description == "Read a file." and read.timeout == 5
    assert lookup.name == "look"
    assert lookup.parameters["properties"]["query"]["description"] == "what to look for"
    context = ToolCallContext("k", services=None)  # type: ignore[arg-type]
    assert asyncio.run(read.run({"path": "a"}, context)) == "a:10:k"
    assert asyncio.run(lookup.run({"query": "x"}, context)) == "X"
    assert json.dumps(read.spec().parameters)


class OfflinePlugin:
    """A provider type declaring a last-resort model that supports no tools."""

    def __init__(self) -> None:
        from openclaw.testing.mock_provider import MockModel

        self.model = MockModel(default="offline answer", supports_tools=False)

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(self.model.provider_type("offline", last_resort="offline/tiny"))


async def test_last_resort_model_answers_after_every_configured_one(
    openclaw_make_app, openclaw_mock_model
):
    offline = OfflinePlugin()
    openclaw_mock_model.enqueue(error="down").enqueue(error="down too")
    config = {"agent": {"model": "mock/a", "fallbacks": ["mock/b"]}}
    async with openclaw_make_app(plugins=[offline, ToolsPlugin()], config=config) as app:
        events = [event async for event in app.run_turn("hi")]
    fallbacks = [e for e in events if e.type == "provider.fallback"]
    assert [(e.failed, e.next, e.last_resort) for e in fallbacks] == [
        ("mock/a", "mock/b", False),
        ("mock/b", "offline/tiny", True),
    ]
    finished = events[-1]
    assert finished.text == "offline answer" and finished.model == "offline/tiny"
    assert finished.footer().endswith("offline/tiny (no tools)")
    assert offline.model.requests[0].tools == []  # never offered tools


async def test_last_resort_is_never_preferred_and_can_be_disabled(
    openclaw_make_app, openclaw_mock_model
):
    offline = OfflinePlugin()
    async with openclaw_make_app(plugins=[offline]) as app:
        assert (await app.ask("hi")).model == "mock/test"
    openclaw_mock_model.enqueue(error="down")
    config = {"agent": {"offline_fallback": False}}
    async with openclaw_make_app(plugins=[offline], config=config) as app:
        failed = [event async for event in app.run_turn("hi")][-1]
    assert failed.type == "turn.failed" and "offline" not in failed.error
    assert offline.model.requests == []


async def test_last_resort_skipped_when_a_user_entry_takes_its_name(
    openclaw_make_app, openclaw_mock_model
):
    offline = OfflinePlugin()
    openclaw_mock_model.enqueue(error="down").enqueue(error="the user's own 'offline' is down too")
    config = {"providers": {"offline": {"type": "mock"}}}
    async with openclaw_make_app(plugins=[offline], config=config) as app:
        assert app.models.last_resort_refs() == []
        failed = [event async for event in app.run_turn("hi")][-1]
    assert failed.type == "turn.failed" and offline.model.requests == []
