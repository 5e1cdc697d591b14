"""The lifecycle and runtime hooks, the core commands and sink isolation, through a real App."""

from __future__ import annotations

import io
import types
from typing import Any

import pluggy

from openclaw import hookimpl
from openclaw.channels import ChannelType, InboundMessage
from openclaw.cli.chat import chat_loop
from openclaw.commands import CommandContext, parse_command, run_command
from openclaw.tools import tool


def lines(*texts: str):
    """A read_line function answering from a script, then EOF."""
    queue = list(texts)

    def read(prompt: str) -> str:
        if not queue:
            raise EOFError
        return queue.pop(0)

    return read


async def test_startup_and_shutdown_hooks_run_in_isolation(openclaw_make_app):
    calls: list[str] = []

    class Lifecycle:
        @hookimpl
        async def startup(self, services: Any) -> None:
            calls.append("async startup")

        @hookimpl
        def shutdown(self, services: Any) -> None:
            calls.append("shutdown")

    class Crashes:
        @hookimpl
        def startup(self, services: Any) -> None:
            raise RuntimeError("no luck")

    app = openclaw_make_app(plugins=[("life", Lifecycle()), ("crash", Crashes())])
    async with app:
        assert "async startup" in calls
        assert any("plugin 'crash': startup failed: no luck" in p for p in app.problems)
    assert calls == ["async startup", "shutdown"]


async def test_add_hookspecs_lets_plugins_define_hooks_for_others(openclaw_make_app):
    spec_module = types.ModuleType("weather_specs")
    marker = pluggy.HookspecMarker("openclaw")

    def weather_report(city: str) -> str:  # the spec
        """Describe the weather in a city."""

    spec_module.weather_report = marker(weather_report)

    class Provider:
        @hookimpl
        def add_hookspecs(self, pm: pluggy.PluginManager) -> None:
            pm.add_hookspecs(spec_module)

    class Implementer:
        @hookimpl
        def weather_report(self, city: str) -> str:
            return f"sunny in {city}"

    app = openclaw_make_app(plugins=[("implementer", Implementer()), ("provider", Provider())])
    assert not app.problems
    assert app.plugins.hook.weather_report(city="Lisbon") == ["sunny in Lisbon"]


async def test_inbound_message_hook_can_claim_or_rewrite(openclaw_make_app, openclaw_mock_model):
    class Inbound:
        @hookimpl
        def inbound_message(self, message: InboundMessage):
            if message.text == "secret word":
                return "claimed by a plugin"
            if message.text.startswith("translate:"):
                message.text = message.text.removeprefix("translate:").strip()
                return message
            return None

    out = io.StringIO()
    async with openclaw_make_app(plugins=[Inbound()]) as app:
        read = lines("secret word", "translate: bonjour", "/ping", "plain")
        await chat_loop(app, app.default_session(), read, out)
    text = out.getvalue()
    assert "claimed by a plugin" in text and "pong" in text
    sent = [r.messages[-1].text for r in openclaw_mock_model.requests]
    assert sent == ["bonjour", "plain"]  # the claimed message never reached the model


async def test_register_channels_records_the_channel_type(openclaw_make_app):
    class Channel:
        @hookimpl
        def register_channels(self, register: Any) -> None:
            register(ChannelType("pigeon", create=lambda app, settings: None))

    app = openclaw_make_app(
        plugins=[("pigeon", Channel())], config={"channels": {"pigeon": {"enabled": True}}}
    )
    assert app.registry.channels["pigeon"].plugin == "pigeon"
    assert "terminal" in app.registry.channels
    assert app.validate_sections() == []
    other = openclaw_make_app(config={"channels": {"carrier": {"enabled": True}}})
    assert other.validate_sections() == [
        "channels.carrier: no installed plugin provides this channel"
    ]


async def test_a_failing_sink_does_not_stop_the_others(openclaw_make_app, openclaw_recording_sink):
    class Broken:
        name = "broken"

        def handle(self, event: Any) -> None:
            raise ValueError("sink bug")

    class Sinks:
        @hookimpl
        def register_sinks(self, register: Any) -> None:
            register(Broken())

    async with openclaw_make_app(plugins=[Sinks()]) as app:
        await app.ask("hi")
    assert app.bus.sink_errors["broken"] >= 3
    assert openclaw_recording_sink.types()[-1] == "turn.finished"


def test_parse_command():
    assert parse_command("/model openai/gpt-4o") == ("model", "openai/gpt-4o")
    assert parse_command("!help") == ("help", "")
    assert parse_command("/help@MyBot") == ("help", "")
    assert parse_command("hello /help") is None
    assert parse_command("/") is None
    assert parse_command("/../etc") is None


async def test_core_commands(openclaw_make_app, openclaw_mock_model):
    async with openclaw_make_app() as app:
        commands = app.registry.command_map()
        key = app.default_session()

        async def run(text: str):
            reply = await run_command(
                commands, text, CommandContext(app.services, key, channel="cli")
            )
            assert reply is not None, text
            return reply

        assert (await run("/ping")).text == "pong"
        assert "/model [ref] — show or switch" in (await run("/help")).text
        assert "Nothing to export" in (await run("/export")).text
        await app.ask("first question")
        exported = await run("/export")
        assert "first question" in exported.text
        assert exported.file is not None and exported.file[0] == "cli_main_local_default.md"
        assert "Model: mock/test" in (await run("/model")).text
        assert (await run("/model mock/other")).text == "Model for this session: mock/other"
        assert "Cannot use 'nope'" in (await run("/model nope")).text
        assert "unknown provider 'ghost'" in (await run("/model ghost/x")).text
        assert (await app.ask("again")).model == "mock/other"
        assert "reset to the default" in (await run("/model default")).text
        assert "▶ cli:main:local:default · 4 msgs" in (await run("/sessions")).text
        assert "sessions: 1 · messages: 4" in (await run("/db")).text
        status = (await run("/status")).text
        assert "model: mock/test" in status
        assert "sandbox: commands run in bubblewrap" in status
        assert "new session" in (await run("/new")).text
        assert app.store.history(key) == []
        assert "I am main" in (await run("/start")).text
        assert await run_command(commands, "/unknown", CommandContext(app.services, key)) is None


async def test_runtime_hooks_isolate_a_raising_plugin(openclaw_make_app, openclaw_mock_model):
    class Broken:
        @hookimpl
        def before_tool_call(self, name: str, arguments: dict, context: Any):
            raise RuntimeError("policy bug")

        @hookimpl
        def extend_system_prompt(self, session_key: str, workspace: str) -> str:
            raise RuntimeError("prompt bug")

        @hookimpl
        def inbound_message(self, message: InboundMessage):
            raise RuntimeError("inbound bug")

    class Fine:
        @hookimpl
        def extend_system_prompt(self, session_key: str, workspace: str) -> str:
            return "Be brief."

    class Echo:
        @hookimpl
        def register_tools(self, register: Any, context: Any) -> None:
            @tool
            def echo(text: str) -> str:
                """Repeat the text."""
                return text

            register(echo)

    openclaw_mock_model.enqueue(tool_calls=[("echo", {"text": "hi"})]).enqueue("done")
    out = io.StringIO()
    async with openclaw_make_app(plugins=[Echo(), Fine(), Broken()]) as app:
        await chat_loop(app, app.default_session(), lines("please echo"), out)
    first, second = openclaw_mock_model.requests
    assert first.messages[-1].text == "please echo"  # the raising inbound hook was passed over
    assert first.messages[0].text.endswith("Be brief.")  # the working extension still applies
    result = next(m for m in second.messages if m.role == "tool")
    assert result.is_error and "policy plugin 'Broken' failed (policy bug)" in result.text


async def test_a_plugin_can_register_a_provider_type(openclaw_make_app):
    from pydantic import BaseModel, ConfigDict

    from openclaw.messages import Usage
    from openclaw.providers import ChatDelta, ChatResult, ProviderType

    class ShoutSettings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        type: str = "shout"
        suffix: str = "!"

    class Shout:
        supports_tools = False

        def __init__(self, name: str, settings: ShoutSettings) -> None:
            self.name, self.settings = name, settings

        async def stream(self, request):
            text = request.messages[-1].text.upper() + self.settings.suffix
            yield ChatDelta(text)
            yield ChatResult(text, [], Usage(1, 1))

        async def aclose(self) -> None:
            pass

    class ShoutPlugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(
                ProviderType(
                    "shout", create=Shout, settings_model=ShoutSettings, presets={"loud": {}}
                )
            )

    config = {
        "agent": {"model": "loud/any"},
        "providers": {"quiet": {"type": "shout", "suffix": "."}},
    }
    async with openclaw_make_app(plugins=[ShoutPlugin()], config=config) as app:
        assert (await app.ask("hello")).text == "HELLO!"
        assert (await app.ask("hi", model="quiet/x")).text == "HI."
        assert app.registry.declared_by("ShoutPlugin") == {"providers": ["shout (chat)"]}


async def test_on_shutdown_callbacks_run_even_if_one_fails(openclaw_make_app):
    closed: list[str] = []

    async def close_async() -> None:
        closed.append("async")

    def broken() -> None:
        raise RuntimeError("close failed")

    app = openclaw_make_app()
    async with app:
        app.on_shutdown(lambda: closed.append("sync"))
        app.on_shutdown(broken)
        app.on_shutdown(close_async)
    assert closed == ["async", "sync"]  # last registered closes first
