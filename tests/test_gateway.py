"""The gateway end to end with an in-memory channel: the pipeline of "The turn", the HTTP
endpoints, channel supervision, pairing and a real `openclaw gateway` stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from openclaw import hookimpl
from openclaw.channels import Attachment, ChannelType, InboundMessage
from openclaw.commands import Command, CommandContext
from openclaw.gateway import COMMAND_TYPING_DELAY, VOICE_REPLY, Gateway, GatewayError
from openclaw.gateway.pipeline import Debouncer, PairingStore, RateLimiter
from openclaw.gateway.runner import YOUNG_GENERATION
from openclaw.testing.gateway_process import sigterm_mid_turn
from openclaw.testing.servers import FakeOpenAIServer, Reply


class FakeChannel:
    """The Channel protocol in memory: records what the gateway shows, feeds messages in.
    `crashes` makes its first runs fail."""

    max_len = 4096
    max_caption_len = 1024

    def __init__(self, name: str = "fake", prefix: str = "fk", crashes: int = 0) -> None:
        self.name = name
        self.prefix = prefix
        self.state = "starting"
        self.crashes = crashes
        self.runs = 0
        self.typing = 0  # typing indicators shown
        self.gateway: Any = None
        self.messages: dict[str, tuple[str, str, str | None]] = {}  # id → (chat, text, reply_to)
        self._ids = itertools.count(1)
        self._stop = asyncio.Event()

    async def run(self, gateway: Any) -> None:
        self.runs += 1
        self.gateway = gateway
        if self.crashes:
            self.crashes -= 1
            raise ConnectionError("connection lost")
        self.state = "running"
        await self._stop.wait()
        self.state = "stopped"

    async def stop(self) -> None:
        self._stop.set()

    async def say(self, user: str, text: str, chat: str | None = None) -> None:
        """A user writes; returns when the gateway is done with the message. The gateway is
        ready before its channels' tasks first run: wait for this one to be running."""
        for _ in range(500):
            if self.gateway is not None:
                break
            await asyncio.sleep(0.01)
        message = InboundMessage(
            self.prefix, user, chat or user, text, message_id=f"in{next(self._ids)}"
        )
        await self.gateway.deliver(self, message)

    def texts(self, chat: str) -> list[str]:
        """The messages shown in a chat, as they read now."""
        return [text for c, text, _ in self.messages.values() if c == chat]

    async def send_text(
        self, chat_id: str, text: str, *, markdown: bool = False, reply_to: str | None = None
    ) -> str:
        message_id = str(next(self._ids))
        self.messages[message_id] = (chat_id, text, reply_to)
        return message_id

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, *, markdown: bool = False
    ) -> None:
        self.messages[message_id] = (chat_id, text, self.messages[message_id][2])

    async def send_typing(self, chat_id: str) -> None:
        self.typing += 1

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> None:
        pass

    async def send_voice(self, chat_id: str, ogg_opus: bytes, caption: str = "") -> None:
        pass

    def format_markdown(self, text: str) -> str:
        return text


class FakeChannels:
    """Offers the channel types `fake` and `flaky` (whose first `crashes` runs fail) and keeps
    the instances the gateway creates."""

    def __init__(self, crashes: int = 0) -> None:
        self.created: dict[str, FakeChannel] = {}
        self.crashes = crashes

    @hookimpl
    def register_channels(self, register: Any) -> None:
        def factory(name: str, prefix: str, crashes: int) -> Any:
            def create(app: Any, settings: Any) -> FakeChannel:
                channel = self.created[name] = FakeChannel(name, prefix, crashes)
                return channel

            return create

        register(ChannelType("fake", create=factory("fake", "fk", 0)))
        register(ChannelType("flaky", create=factory("flaky", "fl", self.crashes)))


BASE = {
    "channels": {"fake": {"enabled": True, "allowed_user_ids": [42, "43"]}},
    "limits": {"debounce_ms": 0},
}


@pytest.fixture
def start(openclaw_make_app, openclaw_start_gateway):
    """Start a gateway on a free port with the fake channels; stopped after the test."""

    async def start(
        config: dict[str, Any] | None = None,
        crashes: int = 0,
        plugins: tuple[Any, ...] = (),
        **options: Any,
    ) -> tuple[Gateway, FakeChannels]:
        plugin = FakeChannels(crashes)
        app = openclaw_make_app(config={**BASE, **(config or {})}, plugins=[plugin, *plugins])
        return await openclaw_start_gateway(Gateway(app, port=0, **options)), plugin

    return start


async def get(gateway: Gateway, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{gateway.port}{path}") as response,
    ):
        return response.status, await response.text()


async def test_a_message_gets_a_streamed_reply_and_is_persisted(start, openclaw_mock_model):
    openclaw_mock_model.enqueue("Hello from the agent", chunks=4)
    gateway, channels = await start()
    fake = channels.created["fake"]
    await fake.say("42", "hi")
    [shown] = fake.texts("42")
    assert "Hello from the agent" in shown and "round(s)" in shown
    assert next(iter(fake.messages.values()))[2] == "in1"  # answers the user's message
    history = gateway.app.store.history("fk:main:42:42")
    assert [m.role for m in history] == ["user", "assistant"]


async def test_commands_answer_without_a_turn(start, openclaw_mock_model):
    _, channels = await start()
    fake = channels.created["fake"]
    await fake.say("42", "/ping")
    await fake.say("43", "/status")
    assert fake.texts("42") == ["pong"]
    assert "openclaw" in fake.texts("43")[0]
    assert openclaw_mock_model.requests == []


class SlowCommand:
    """`/slow`: a command that takes a while, like `/voice`."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        async def slow(ctx: CommandContext) -> str:
            await asyncio.sleep(COMMAND_TYPING_DELAY + 0.3)
            return "done slowly"

        register(Command("slow", "takes a while", slow))


async def test_a_slow_command_shows_typing_and_a_quick_one_does_not(start, openclaw_mock_model):
    _, channels = await start(plugins=(SlowCommand(),))
    fake = channels.created["fake"]
    await fake.say("42", "/ping")
    assert fake.typing == 0
    await fake.say("42", "/slow")
    assert fake.texts("42") == ["pong", "done slowly"] and fake.typing == 1


async def test_sessions_lists_only_the_users_own(start, openclaw_mock_model):
    openclaw_mock_model.enqueue("one")
    openclaw_mock_model.enqueue("two")
    _, channels = await start()
    fake = channels.created["fake"]
    await fake.say("42", "hello")
    await fake.say("43", "hello")
    await fake.say("42", "/sessions")
    listed = fake.texts("42")[-1]
    assert "fk:main:42:42" in listed and "fk:main:43" not in listed and ":43:43" not in listed


async def test_an_unlisted_user_gets_nothing(start, openclaw_mock_model, openclaw_recording_sink):
    _, channels = await start()
    fake = channels.created["fake"]
    await fake.say("99", "hello?")
    await fake.say("99", "/ping")
    assert fake.messages == {} and openclaw_mock_model.requests == []
    assert len(openclaw_recording_sink.of_type("message.received")) == 2


async def test_pairing_code_approved_from_the_cli(start, openclaw_mock_model, openclaw_home):
    config = {"channels": {"fake": {"enabled": True, "pairing": True}}}
    gateway, channels = await start(config)
    fake = channels.created["fake"]
    await fake.say("7", "hi")
    [invitation] = fake.texts("7")
    code = re.search(r"pairing approve (\w+)", invitation)
    assert code is not None
    await fake.say("7", "hi again")  # the code is sent once, not repeated
    assert len(fake.messages) == 1 and openclaw_mock_model.requests == []

    env = {**os.environ, "OPENCLAW_HOME": str(openclaw_home), "OPENCLAW_LOAD_PLUGINS": ""}
    cli = [sys.executable, "-m", "openclaw.cli", "pairing"]
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True)
    assert code[1] in listed.stdout
    approved = subprocess.run([*cli, "approve", code[1]], env=env, capture_output=True, text=True)
    assert approved.returncode == 0, approved.stderr
    assert "approved fake user 7" in approved.stdout

    openclaw_mock_model.enqueue("welcome")
    await fake.say("7", "now?")
    assert any("welcome" in text for text in fake.texts("7"))
    again = subprocess.run([*cli, "approve", code[1]], env=env, capture_output=True, text=True)
    assert again.returncode == 1 and "no pending pairing code" in again.stderr
    revoked = subprocess.run([*cli, "revoke", "7"], env=env, capture_output=True, text=True)
    assert revoked.returncode == 0 and not gateway.pairing.is_approved("fake", "7")


async def test_a_voice_note_without_speech_to_text_gets_a_clear_reply(start, openclaw_mock_model):
    gateway, channels = await start()
    fake = channels.created["fake"]
    voice = InboundMessage("fk", "42", "42", "", [Attachment("audio", b"OggS", "audio/ogg")])
    await gateway.deliver(fake, voice)
    assert fake.texts("42") == [VOICE_REPLY] and openclaw_mock_model.requests == []


async def test_the_eleventh_message_in_a_minute_is_rate_limited(start, openclaw_recording_sink):
    now = [1000.0]
    _, channels = await start(clock=lambda: now[0])
    fake = channels.created["fake"]
    for _ in range(10):
        await fake.say("42", "/ping")
        now[0] += 1
    await fake.say("42", "/ping")
    texts = fake.texts("42")
    assert texts[:10] == ["pong"] * 10
    assert texts[10] == "You are sending messages too fast; please try again in 50 s."
    [limited] = openclaw_recording_sink.of_type("rate.limited")
    assert (limited.channel, limited.user_id, limited.retry_after) == ("fk", "42", 50.0)
    await fake.say("43", "/ping")  # another user is not affected
    assert fake.texts("43") == ["pong"]
    now[0] += 50
    await fake.say("42", "/ping")
    assert fake.texts("42")[-1] == "pong"


async def test_quick_messages_become_one_turn(start, openclaw_mock_model):
    _, channels = await start({"limits": {"debounce_ms": 150}})
    fake = channels.created["fake"]
    openclaw_mock_model.enqueue("one answer")

    burst = []
    for text in ("first", "second", "third"):
        burst.append(asyncio.create_task(fake.say("42", text)))
        await asyncio.sleep(0.02)
    await fake.say("42", "/ping")  # commands are not debounced
    assert fake.texts("42") == ["pong"]
    await asyncio.gather(*burst)
    assert len(openclaw_mock_model.requests) == 1
    assert openclaw_mock_model.requests[0].messages[-1].text == "first\nsecond\nthird"
    assert any("one answer" in text for text in fake.texts("42"))


async def test_debounce_batches_at_most_five():
    debouncer = Debouncer(0.05, max_batch=5)
    messages = [InboundMessage("fk", "1", "1", str(n)) for n in range(7)]
    results = await asyncio.gather(*(debouncer.submit("k", m) for m in messages))
    batches = [[m.text for m in batch] for batch in results if batch is not None]
    assert batches == [["0", "1", "2", "3", "4"], ["5", "6"]]


def test_rate_limiter_window_slides():
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    assert limiter.check("a") is None and limiter.check("a") is None
    assert limiter.check("a") == 60
    now[0] = 59.5
    assert limiter.check("a") == 0.5
    now[0] = 60
    assert limiter.check("a") is None


async def test_a_full_semaphore_gets_a_busy_reply(
    start, openclaw_mock_model, openclaw_recording_sink
):
    gateway, channels = await start({"limits": {"debounce_ms": 0, "max_concurrent_turns": 1}})
    fake = channels.created["fake"]
    openclaw_mock_model.enqueue("slow answer", delay=0.3)
    first = asyncio.create_task(fake.say("42", "take your time"))
    while not gateway.running_turns:
        await asyncio.sleep(0.01)
    await fake.say("43", "me too")
    assert fake.texts("43") == [
        "I am busy with other conversations right now; please try again in a minute."
    ]
    await first
    assert any("slow answer" in text for text in fake.texts("42"))
    [busy] = openclaw_recording_sink.of_type("busy.rejected")
    assert (busy.channel, busy.user_id) == ("fk", "43")


async def test_http_endpoints_and_metrics_match_the_traffic(
    start, openclaw_mock_model, monkeypatch
):
    monkeypatch.setenv("SRV_KEY", "sk-env-secret-value")
    config = {
        "providers": {
            "srv": {"type": "openai", "base_url": "http://127.0.0.1:1", "api_key": "sk-literal"},
            "env": {"type": "openai", "api_key": {"$env": "SRV_KEY"}},
        },
        "channels": {
            "fake": {"enabled": True, "allowed_user_ids": [42], "token": "123:BOT-TOKEN-XYZ"}
        },
    }
    now = [0.0]
    gateway, channels = await start(config, clock=lambda: now[0])
    fake = channels.created["fake"]
    openclaw_mock_model.enqueue("answer one")
    await fake.say("42", "hello")
    await fake.say("42", "/ping")
    await fake.say("99", "stranger")
    for _ in range(9):
        await fake.say("42", "/ping")  # the 11th message of user 42 is refused

    assert await get(gateway, "/health") == (200, "ok")

    status_code, body = await get(gateway, "/status")
    assert status_code == 200
    for secret in ("sk-literal", "sk-env-secret-value", "BOT-TOKEN-XYZ"):
        assert secret not in body
    status = json.loads(body)
    assert status["agent"]["model"] == "mock/test"
    assert status["channels"]["fake"] == {
        "state": "running",
        "restarts": 0,
        "last_error": "",
        "skipped": 0,
    }
    assert status["sessions"]["by_channel"] == {"fk": 1}
    assert status["uptime"]["seconds"] >= 0 and status["uptime"]["human"].endswith("s")
    assert "ping" in status["commands"]
    assert status["metrics"]["requests"] == 12 and status["metrics"]["turns"] == 1

    status_code, text = await get(gateway, "/metrics")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("openclaw_requests_total", (("channel", "fk"),))] == 12
    assert samples[("openclaw_rate_limited_total", (("channel", "fk"),))] == 1
    assert samples[("openclaw_turn_latency_seconds_count", (("channel", "fk"),))] == 1
    assert samples[("openclaw_tokens_total", ())] > 0
    assert samples[("openclaw_channel_state", (("channel", "fake"), ("state", "running")))] == 1
    assert ("openclaw_busy_rejected_total", (("channel", "fk"),)) not in samples

    status_code, body = await get(gateway, "/metrics/json")
    assert json.loads(body)["openclaw_requests_total"] == [
        {"labels": {"channel": "fk"}, "value": 12.0}
    ]


async def test_freeze_heap_leaves_start_up_out_of_garbage_collection(start, openclaw_mock_model):
    """A full collection walks every object start-up built (aiogram's schemas: about 0.2 s)
    and stalls the turns in flight: `openclaw gateway` freezes them."""
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        gateway, channels = await start(freeze_heap=True)
        assert gc.get_freeze_count() > 10_000
        # and the young generation grows before a pass (a cold turn's new cached messages)
        assert gc.get_threshold() == (YOUNG_GENERATION, *thresholds[1:])
        _, body = await get(gateway, "/metrics/json")
        frozen = json.loads(body)["openclaw_heap_frozen_objects"][0]["value"]
        assert frozen == gc.get_freeze_count()
        openclaw_mock_model.enqueue("still answering")
        await channels.created["fake"].say("42", "hi")
        assert "still answering" in channels.created["fake"].texts("42")[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def test_an_embedding_apps_heap_is_left_alone(start):
    gc.unfreeze()
    thresholds = gc.get_threshold()
    await start()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds


async def test_a_crashing_channel_is_restarted_and_the_others_keep_running(
    start, openclaw_mock_model
):
    config = {
        "channels": {
            "fake": {"enabled": True, "allowed_user_ids": [42]},
            "flaky": {"enabled": True, "allowed_user_ids": [42]},
        }
    }
    gateway, channels = await start(config, crashes=2, backoff=(0.01, 0.05))
    flaky, fake = channels.created["flaky"], channels.created["fake"]
    status = gateway.status()["channels"]["flaky"]
    assert status["state"].startswith("failed: ConnectionError")
    for _ in range(100):
        if flaky.state == "running":
            break
        await asyncio.sleep(0.01)
    assert flaky.runs == 3 and fake.runs == 1
    status = gateway.status()["channels"]["flaky"]
    assert status == {
        "state": "running",
        "restarts": 2,
        "last_error": "ConnectionError: connection lost",
        "skipped": 0,
    }
    await fake.say("42", "/ping")
    assert fake.texts("42") == ["pong"]


@pytest.mark.parametrize(
    ("sandbox", "line"),
    [
        ({}, "INFO: sandbox: commands run in bubblewrap"),
        ({"bubblewrap_path": "/nonexistent/bwrap"}, "INFO: sandbox: commands run under Landlock"),
        (
            {"bubblewrap_path": "/nonexistent/bwrap", "landlock": False},
            "WARNING: sandbox: commands are refused",
        ),
    ],
)
async def test_the_start_up_log_names_the_isolation_backend(start, caplog, sandbox, line):
    with caplog.at_level(logging.INFO, logger="openclaw.gateway"):
        await start({"sandbox": sandbox})
    logged = [f"{r.levelname}: {r.getMessage()}" for r in caplog.records]
    assert any(entry.startswith(line) for entry in logged), logged


async def test_an_enabled_channel_nobody_provides_is_a_clear_error(openclaw_make_app):
    app = openclaw_make_app(config={"channels": {"matrix": {"enabled": True}}})
    with pytest.raises(GatewayError, match=r"channels\.matrix is enabled but no installed plugin"):
        await Gateway(app, port=0).run()


async def test_shutdown_drains_a_running_turn(start, openclaw_mock_model):
    gateway, channels = await start()
    fake = channels.created["fake"]
    openclaw_mock_model.enqueue("finished in time", delay=0.3)
    turn = asyncio.create_task(fake.say("42", "go"))
    while not gateway.running_turns:
        await asyncio.sleep(0.01)
    await gateway.stop()
    assert turn.done()
    assert any("finished in time" in text for text in fake.texts("42"))
    assert fake.state == "stopped"
    await fake.say("42", "too late")  # refused quietly once stopped
    assert len(fake.texts("42")) == 1


def test_openclaw_gateway_refuses_an_enabled_channel_nobody_provides(openclaw_home: Path):
    config = {"channels": {"matrix": {"enabled": True}}}
    (openclaw_home / "openclaw.json").write_text(json.dumps(config))
    env = {**os.environ, "OPENCLAW_HOME": str(openclaw_home), "OPENCLAW_LOAD_PLUGINS": ""}
    done = subprocess.run(
        [sys.executable, "-m", "openclaw.cli", "gateway", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "channels.matrix is enabled but no installed plugin" in done.stderr
    assert "Traceback" not in done.stderr


def test_pairing_store_codes_expire(tmp_path: Path):
    now = [0.0]
    store = PairingStore(tmp_path / "pairing.json", clock=lambda: now[0])
    code, new = store.request("fake", "7", "7")
    assert new and store.request("fake", "7", "7") == (code, False)
    now[0] = 3601
    assert store.pending() == []
    assert store.request("fake", "7", "7")[1]


CHANNEL_PLUGIN = """
import asyncio, json, os
from openclaw import hookimpl
from openclaw.channels import ChannelType, InboundMessage

class Channel:
    name = "fake"
    prefix = "fk"
    max_len = 4096
    max_caption_len = 1024
    state = "starting"

    def __init__(self, app, settings):
        self.stopped = asyncio.Event()
        self.shown = {}

    async def run(self, gateway):
        self.state = "running"
        self.task = asyncio.create_task(
            gateway.deliver(self, InboundMessage("fk", "42", "42", "tell me a story"))
        )
        await self.stopped.wait()

    async def stop(self):
        self.stopped.set()

    async def send_text(self, chat_id, text, *, markdown=False, reply_to=None):
        self.shown[str(len(self.shown))] = text
        self._save()
        return str(len(self.shown) - 1)

    async def edit_text(self, chat_id, message_id, text, *, markdown=False):
        self.shown[message_id] = text
        self._save()

    def _save(self):
        with open(os.environ["SHOWN_FILE"], "w") as file:
            json.dump(self.shown, file)

    async def send_typing(self, chat_id): pass
    async def send_file(self, chat_id, filename, data, caption=""): pass
    async def send_voice(self, chat_id, ogg_opus, caption=""): pass
    def format_markdown(self, text): return text

@hookimpl
def register_channels(register):
    register(ChannelType("fake", create=Channel))
"""


def test_openclaw_gateway_drains_on_sigterm_and_exits_0(openclaw_home: Path, tmp_path: Path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fake_channel.py").write_text(CHANNEL_PLUGIN)
    shown = tmp_path / "shown.json"
    with FakeOpenAIServer(delay=0.2) as server:
        server.enqueue(Reply("Once upon a time, the end.", chunks=6))
        config = {
            "agent": {"model": "srv/fake-model"},
            "providers": {"srv": {"type": "openai", "base_url": server.base_url}},
            "channels": {"fake": {"enabled": True, "allowed_user_ids": [42]}},
            "limits": {"debounce_ms": 0},
        }
        (openclaw_home / "openclaw.json").write_text(json.dumps(config))
        env = {
            "OPENCLAW_LOAD_PLUGINS": "",
            "OPENCLAW_PLUGINS_DIR": str(plugins),
            "SHOWN_FILE": str(shown),
        }
        returncode, stderr = sigterm_mid_turn(openclaw_home, server, env)
    assert returncode == 0, stderr
    assert "gateway stopped" in stderr
    assert "Once upon a time, the end." in json.loads(shown.read_text())["0"]
    from openclaw.store import SqliteStore

    with SqliteStore(openclaw_home / "sessions.db") as store:
        history = store.history("fk:main:42:42")
    assert [m.role for m in history] == ["user", "assistant"]
    assert history[1].text == "Once upon a time, the end."


def test_metrics_sink_counts_tools_fallbacks_and_channel_states():
    from openclaw.events import ProviderFallback, ToolFinished, TurnFailed
    from openclaw.gateway.metrics import MetricsSink

    sink = MetricsSink()
    for event in (
        ToolFinished("tg:main:1:1", name="echo"),
        ToolFinished("tg:main:1:1", name="echo", ok=False),
        ToolFinished("tg:main:1:1", name="echo"),
        ProviderFallback("tg:main:1:1", failed="ollama/llama3.2:1b", next="moonshot/kimi"),
        TurnFailed("tg:main:1:1", error="timeout", kind="timeout"),
    ):
        sink.handle(event)
    sink.set_channel_state("telegram", "failed: ConnectionError: boom")
    sink.set_channel_state("telegram", "running")
    samples = sink.samples()
    assert {s["labels"]["status"]: s["value"] for s in samples["openclaw_tool_calls_total"]} == {
        "ok": 2,
        "failed": 1,
    }
    assert samples["openclaw_provider_fallbacks_total"][0]["value"] == 1
    assert samples["openclaw_errors_total"] == [{"labels": {"channel": "tg"}, "value": 1.0}]
    assert samples["openclaw_channel_state"] == [
        {"labels": {"channel": "telegram", "state": "running"}, "value": 1.0}
    ]
    assert sink.summary()["tool_calls"] == 3
    # a second sink has its own registry: nothing is shared through the global one
    assert MetricsSink().summary()["tool_calls"] == 0


def test_human_duration():
    from openclaw.gateway import human_duration

    assert human_duration(5) == "5s"
    assert human_duration(3725) == "1h 2m 5s"
    assert human_duration(90061) == "1d 1h 1m 1s"


class WarmProbePlugin:
    """A provider type that notes which thread warmed it."""

    class Provider:
        supports_tools = True

        def __init__(self) -> None:
            self.warmed_by: list[str] = []

        def warm(self) -> None:
            import threading

            self.warmed_by.append(threading.current_thread().name)

    @hookimpl
    def register_providers(self, register: Any) -> None:
        from openclaw.providers import ProviderType

        register(ProviderType(name="probe", create=lambda name, settings: self.Provider()))


async def test_the_gateway_warms_the_configured_models_provider_off_the_event_loop(
    start, openclaw_make_app
) -> None:
    from openclaw.gateway import preload_sdks

    config = {
        "agent": {"model": "probe/one", "fallbacks": ["probe/two", "nowhere/model"]},
        "providers": {"probe": {"type": "probe"}},
    }
    gateway, _ = await start(config, plugins=(WarmProbePlugin(),))
    provider = gateway.app.models.resolve("probe/one")
    for _ in range(200):
        if provider.warmed_by:
            break
        await asyncio.sleep(0.01)
    assert provider.warmed_by == ["openclaw-sdk-preload"]  # once, in its thread; unknown skipped
    async with openclaw_make_app({"agent": {"model": "mock/test"}}) as app:
        assert preload_sdks(app) is None  # the mock provider has nothing to warm


async def test_unanswered_messages_are_resumed_once_at_start_up(
    openclaw_make_app, openclaw_start_gateway, openclaw_mock_model
):
    from openclaw.gateway.delivery import GAVE_UP_REPLY, RESEND_REPLY, RESUMED_NOTE
    from openclaw.messages import Message

    plugin = FakeChannels()
    app = openclaw_make_app(config=BASE, plugins=[plugin])
    store = app.store
    # cut three times already: given up with an apology
    store.record_inbound("fake", "44/m4", "44", "m4")
    store.claim_unanswered()
    store.claim_unanswered()
    # cut before its answer: continued from the stored user message
    store.record_inbound("fake", "42/m1", "42", "m1")
    store.start_inbound("fake", ["42/m1"], "fk:main:42:42", 0)
    store.append("fk:main:42:42", Message(role="user", content="first question"))
    # cut while its stored answer was being shown: that answer is sent again
    store.record_inbound("fake", "43/m2", "43", "m2")
    store.start_inbound("fake", ["43/m2"], "fk:main:43:43", 0)
    store.append("fk:main:43:43", Message(role="user", content="second question"))
    store.append("fk:main:43:43", Message(role="assistant", content="the stored answer"))
    # recorded, never started, and the channel cannot hand it over again
    store.record_inbound("fake", "45/m3", "45", "m3")
    openclaw_mock_model.enqueue("the continued answer")

    gateway = await openclaw_start_gateway(Gateway(app, port=0), channel="fake")
    fake = plugin.created["fake"]
    for _ in range(500):
        if store.unanswered_count() == 0 and not gateway.running_turns:
            break
        await asyncio.sleep(0.01)
    assert store.unanswered_count() == 0
    assert fake.texts("42")[0] == RESUMED_NOTE
    assert "the continued answer" in fake.texts("42")[1] and "round(s)" in fake.texts("42")[1]
    assert fake.texts("43") == [f"{RESUMED_NOTE}\n\nthe stored answer"]
    assert fake.texts("44") == [GAVE_UP_REPLY.format(n=3)]
    assert fake.texts("45") == [RESEND_REPLY]
    assert all(reply_to for _, _, reply_to in fake.messages.values())
    [request] = (
        openclaw_mock_model.requests
    )  # only the cut turn went to the model, its question once
    assert [m.text for m in request.messages if m.role == "user"] == ["first question"]
    history = store.history("fk:main:42:42")
    assert [m.role for m in history] == ["user", "assistant"]
    # a platform delivering one of them again is not answered again
    await gateway.deliver(fake, InboundMessage("fk", "42", "42", "first question", message_id="m1"))
    assert len(fake.texts("42")) == 2 and len(openclaw_mock_model.requests) == 1


async def test_a_message_handed_over_twice_is_answered_once(start, openclaw_mock_model):
    gateway, channels = await start()
    fake = channels.created["fake"]
    message = InboundMessage("fk", "42", "42", "hello", message_id="same")
    await asyncio.gather(gateway.deliver(fake, message), gateway.deliver(fake, message))
    await gateway.deliver(fake, message)
    assert len(fake.texts("42")) == 1 and len(openclaw_mock_model.requests) == 1
    assert gateway.metrics.summary()["duplicates"] == 2
