"""The issue's acceptance, end to end: the real Gateway and the real aiogram client against the
fake Bot API, answering from the scripted model or a local OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import openclaw_channel_telegram.plugin as telegram_plugin
import pytest

from openclaw import hookimpl
from openclaw.gateway import BUSY_REPLY, Gateway
from openclaw.testing.servers import PLANTED_API_KEY, FakeOpenAIServer, Reply
from openclaw.tools import tool


class EchoTools:
    @hookimpl
    def register_tools(self, register: Any, context: Any) -> None:
        @tool
        async def echo(text: str) -> str:
            """Repeat the text, slowly enough for the running indicator to show."""
            await asyncio.sleep(0.6)
            return f"echo: {text}"

        register(echo)


@pytest.fixture
def start(openclaw_make_app, openclaw_telegram_api, openclaw_start_gateway):
    """Start a gateway whose Telegram channel is running against the fake Bot API."""

    async def start(
        config: dict[str, Any] | None = None, plugins: Any = (), **settings: Any
    ) -> Gateway:
        data: dict[str, Any] = {
            "channels": {"telegram": openclaw_telegram_api.channel_settings(**settings)},
            "limits": {"debounce_ms": 0},
            **(config or {}),
        }
        app = openclaw_make_app(config=data, plugins=[telegram_plugin, *plugins])
        return await openclaw_start_gateway(Gateway(app, port=0), channel="telegram")

    return start


async def test_a_message_gets_a_streamed_edited_reply_with_footer(start, openclaw_telegram_api):
    answer = "Hello from the agent. " * 12
    with FakeOpenAIServer(delay=0.05) as server:
        server.enqueue(Reply(answer, chunks=12))
        config = {
            "agent": {"model": "srv/fake_model_v1"},
            "providers": {
                "srv": {"type": "openai", "base_url": server.base_url, "api_key": PLANTED_API_KEY}
            },
        }
        gateway = await start(config)
        openclaw_telegram_api.user_sends(42, 42, "hi")
        await openclaw_telegram_api.wait_for(
            lambda: "fake_model_v1" in "".join(openclaw_telegram_api.texts(42))
        )
    [reply] = openclaw_telegram_api.messages(42)
    assert reply.text.startswith(answer.strip())
    assert reply.text.rstrip().endswith("srv/fake_model_v1")  # the footer, underscores and all
    assert "round(s)" in reply.text
    assert reply.parse_mode == "MarkdownV2" and "fake\\_model\\_v1_" in reply.raw_text
    assert reply.edits, "the reply was streamed by editing one message"
    assert reply.reply_to is not None
    assert [m.role for m in gateway.app.store.history("tg:main:42:42")] == ["user", "assistant"]


async def test_a_tool_round_shows_its_indicators(start, openclaw_telegram_api, openclaw_mock_model):
    openclaw_mock_model.enqueue("Checking.", tool_calls=[("echo", {"text": "hi"})])
    openclaw_mock_model.enqueue("All done.")
    await start(plugins=[EchoTools()])
    openclaw_telegram_api.user_sends(42, 42, "use the tool")
    await openclaw_telegram_api.wait_for(
        lambda: "round(s)" in "".join(openclaw_telegram_api.texts(42))
    )
    [reply] = openclaw_telegram_api.messages(42)
    assert reply.text.startswith("Checking.\n✅ echo\n🔄 round 2\nAll done.")
    shown = [
        reply.text,
        *reply.edits,
        *(c.params.get("text", "") for c in openclaw_telegram_api.calls),
    ]
    assert any("⚙️ echo" in text for text in shown)


@pytest.mark.parametrize(
    ("command", "expected"),
    [("/ping", "pong"), ("/help", "/new"), ("/status", "openclaw"), ("/new", "")],
)
async def test_slash_commands_answer(
    start, openclaw_telegram_api, openclaw_mock_model, command, expected
):
    await start()
    openclaw_telegram_api.user_sends(42, 42, command)
    [text] = await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.texts(42))
    assert expected in text
    assert openclaw_mock_model.requests == []


async def test_an_unlisted_user_gets_nothing(start, openclaw_telegram_api, openclaw_mock_model):
    await start()
    openclaw_telegram_api.user_sends(99, 99, "hello?")
    openclaw_telegram_api.user_sends(42, 42, "/ping")
    await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.texts(42))
    assert openclaw_telegram_api.messages(99) == [] and openclaw_mock_model.requests == []


async def test_a_strangers_files_are_never_downloaded(
    start, openclaw_telegram_api, openclaw_mock_model
):
    await start(pairing=True)
    openclaw_telegram_api.user_sends_photo(77, 77)
    openclaw_telegram_api.user_sends_voice(78, 78)
    await openclaw_telegram_api.wait_for(
        lambda: openclaw_telegram_api.texts(77) and openclaw_telegram_api.texts(78)
    )
    assert "openclaw pairing approve" in openclaw_telegram_api.texts(77)[0]  # still invited
    assert openclaw_telegram_api.calls_to("getFile") == [] and openclaw_mock_model.requests == []
    openclaw_telegram_api.user_sends_photo(42, 42)  # a listed user's photo is fetched
    await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.calls_to("getFile"))


async def test_pairing_gives_a_stranger_a_code(start, openclaw_telegram_api):
    await start(pairing=True)
    openclaw_telegram_api.user_sends(77, 77, "hi")
    [invitation] = await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.texts(77))
    assert "openclaw pairing approve" in invitation


async def test_the_eleventh_message_in_a_minute_is_rate_limited(start, openclaw_telegram_api):
    await start()
    for _ in range(11):
        openclaw_telegram_api.user_sends(42, 42, "/ping")
    texts = await openclaw_telegram_api.wait_for(
        lambda: len(openclaw_telegram_api.texts(42)) == 11 and openclaw_telegram_api.texts(42)
    )
    assert texts.count("pong") == 10
    assert any("too fast" in text for text in texts)


async def test_three_quick_messages_become_one_turn(
    start, openclaw_telegram_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("one answer")
    await start({"limits": {"debounce_ms": 300}})
    for text in ("first", "second", "third"):
        openclaw_telegram_api.user_sends(42, 42, text)
    await openclaw_telegram_api.wait_for(
        lambda: "round(s)" in "".join(openclaw_telegram_api.texts(42))
    )
    await asyncio.sleep(0.4)
    assert len(openclaw_mock_model.requests) == 1
    assert len(openclaw_telegram_api.messages(42)) == 1
    sent = str(openclaw_mock_model.requests[0].messages[-1].content)
    assert all(word in sent for word in ("first", "second", "third"))


async def test_a_full_semaphore_gets_the_busy_reply(
    start, openclaw_telegram_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("slow answer", delay=0.5)
    gateway = await start({"limits": {"debounce_ms": 0, "max_concurrent_turns": 1}})
    openclaw_telegram_api.user_sends(42, 42, "take your time")
    await openclaw_telegram_api.wait_for(lambda: gateway.running_turns)
    openclaw_telegram_api.user_sends(43, 43, "me too")
    assert await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.texts(43)) == [
        BUSY_REPLY
    ]
    await openclaw_telegram_api.wait_for(
        lambda: "slow answer" in "".join(openclaw_telegram_api.texts(42))
    )


async def test_a_photo_reaches_the_model_as_an_image_part(start, openclaw_telegram_api):
    png = b"\x89PNG\r\n\x1a\nphoto-bytes"
    with FakeOpenAIServer() as server:
        server.enqueue("A cat.")
        config = {
            "agent": {"model": "srv/vision"},
            "providers": {
                "srv": {"type": "openai", "base_url": server.base_url, "api_key": PLANTED_API_KEY}
            },
        }
        await start(config)
        openclaw_telegram_api.user_sends_photo(42, 42, png)
        await openclaw_telegram_api.wait_for(
            lambda: "A cat." in "".join(openclaw_telegram_api.texts(42))
        )
    content = server.requests[0]["messages"][-1]["content"]
    text = next(part for part in content if part["type"] == "text")
    image = next(part for part in content if part["type"] == "image_url")
    assert text["text"] == "What is in this image?"
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()


async def test_a_voice_note_without_speech_to_text_gets_a_clear_reply(start, openclaw_telegram_api):
    await start()
    openclaw_telegram_api.user_sends_voice(42, 42)
    [text] = await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.texts(42))
    assert "Voice input is not configured" in text


async def test_rejected_markdown_falls_back_to_plain_text(
    start, openclaw_telegram_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("Some *markdown* answer")
    await start()
    openclaw_telegram_api.reject_markup = True
    openclaw_telegram_api.user_sends(42, 42, "hi")
    await openclaw_telegram_api.wait_for(
        lambda: "round(s)" in "".join(openclaw_telegram_api.texts(42))
    )
    [reply] = openclaw_telegram_api.messages(42)
    assert "Some *markdown* answer" in reply.text and reply.parse_mode is None


async def test_a_429_from_the_bot_api_is_retried(start, openclaw_telegram_api, openclaw_mock_model):
    openclaw_mock_model.enqueue("worth the wait")
    await start()
    openclaw_telegram_api.fail("sendMessage", 429, retry_after=1)
    openclaw_telegram_api.user_sends(42, 42, "hi")
    await openclaw_telegram_api.wait_for(
        lambda: "worth the wait" in "".join(openclaw_telegram_api.texts(42))
    )
    assert [c.status for c in openclaw_telegram_api.calls_to("sendMessage")][:2] == [429, 200]


async def test_shutdown_mid_turn_drains_and_persists(
    start, openclaw_telegram_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("finished in time", delay=0.4)
    gateway = await start()
    openclaw_telegram_api.user_sends(42, 42, "go")
    await openclaw_telegram_api.wait_for(lambda: gateway.running_turns)
    await gateway.stop()
    assert any("finished in time" in text for text in openclaw_telegram_api.texts(42))
    assert gateway.channels["telegram"].channel.state == "stopped"
    history = gateway.app.store.history("tg:main:42:42")
    assert [m.role for m in history] == ["user", "assistant"]


async def test_status_hides_the_token_and_metrics_count_the_traffic(
    start, openclaw_telegram_api, openclaw_mock_model
):
    from prometheus_client.parser import text_string_to_metric_families

    openclaw_mock_model.enqueue("hi there")
    gateway = await start()
    openclaw_telegram_api.user_sends(42, 42, "hello")
    openclaw_telegram_api.user_sends(42, 42, "/ping")
    await openclaw_telegram_api.wait_for(lambda: len(openclaw_telegram_api.texts(42)) == 2)
    base = f"http://127.0.0.1:{gateway.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/status") as response:
            status = await response.text()
        async with session.get(base + "/metrics") as response:
            metrics = await response.text()
    assert openclaw_telegram_api.token not in status
    assert openclaw_telegram_api.token.split(":")[1] not in status
    assert json.loads(status)["channels"]
    samples = {
        (sample.name, sample.labels.get("channel")): sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
    }
    assert samples[("openclaw_requests_total", "tg")] == 2
