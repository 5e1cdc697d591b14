"""Delivery on Telegram: a bad update is skipped, not retried forever; a redelivered message is
answered once; a file that cannot be downloaded still gets an answer; a channel stuck retrying
shows as degraded."""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
import openclaw_channel_telegram.plugin as telegram_plugin
import pytest
from openclaw_channel_telegram.testing import FakeBotAPI

from openclaw.gateway import Gateway


@pytest.fixture
def start(openclaw_make_app, openclaw_telegram_api, openclaw_start_gateway):
    async def start(**settings: Any) -> Gateway:
        data = {
            "channels": {"telegram": openclaw_telegram_api.channel_settings(**settings)},
            "limits": {"debounce_ms": 0},
        }
        app = openclaw_make_app(config=data, plugins=[telegram_plugin])
        return await openclaw_start_gateway(Gateway(app, port=0), channel="telegram")

    return start


async def http_get(gateway: Gateway, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{gateway.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def answered(api: FakeBotAPI, chat: int) -> list[str]:
    """The bot's finished answers in a chat (a streamed answer ends with its footer)."""
    return [text for text in api.texts(chat) if "round(s)" in text]


async def test_a_poison_update_is_skipped_and_the_next_message_answered(
    start, openclaw_telegram_api, openclaw_mock_model, caplog
):
    caplog.set_level(logging.INFO)
    gateway = await start()
    # no `chat` and no `date`: aiogram cannot read it
    poison = {"message": {"message_id": 7, "from": {"id": 43, "is_bot": False, "first_name": "X"}}}
    poison["message"]["text"] = "private words of user 43"
    openclaw_telegram_api.push_update(poison)
    openclaw_telegram_api.user_sends(42, 42, "hello")
    began = time.monotonic()
    await openclaw_telegram_api.wait_for(lambda: answered(openclaw_telegram_api, 42), timeout=5)
    assert time.monotonic() - began < 5
    await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.pending_updates() == 0)
    assert gateway.status()["channels"]["telegram"]["skipped"] == 1
    assert gateway.status()["channels"]["telegram"]["state"] == "running"
    _, metrics = await http_get(gateway, "/metrics")
    assert 'openclaw_updates_skipped_total{channel="tg"} 1.0' in metrics
    assert "private words" not in caplog.text
    assert "skipped update 1 that could not be read (message.date: missing" in caplog.text


async def test_a_redelivered_message_is_answered_once(
    start, openclaw_telegram_api, openclaw_mock_model
):
    gateway = await start()
    update_id = openclaw_telegram_api.user_sends(42, 42, "only once")
    await openclaw_telegram_api.wait_for(lambda: answered(openclaw_telegram_api, 42))
    openclaw_telegram_api.resend(update_id)
    openclaw_telegram_api.user_sends(42, 42, "next")
    await openclaw_telegram_api.wait_for(lambda: len(answered(openclaw_telegram_api, 42)) == 2)
    assert len(openclaw_mock_model.requests) == 2
    _, metrics = await http_get(gateway, "/metrics")
    assert 'openclaw_inbound_duplicates_total{channel="tg"} 1.0' in metrics
    assert gateway.app.store.unanswered_count() == 0


async def test_a_photo_that_cannot_be_downloaded_gets_a_reply(
    start, openclaw_telegram_api, openclaw_mock_model
):
    await start(retries=1)
    openclaw_telegram_api.fail("getFile", 500, times=2)
    openclaw_telegram_api.user_sends_photo(42, 42)
    await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.texts(42))
    [reply] = openclaw_telegram_api.messages(42)
    assert reply.text == "⚠️ I could not download your file from Telegram; please send it again."
    assert reply.reply_to is not None
    assert openclaw_mock_model.requests == []


async def test_a_file_too_big_to_download_gets_a_reply(
    start, openclaw_telegram_api, openclaw_mock_model
):
    await start()
    openclaw_telegram_api.fail("getFile", 400, description="Bad Request: file is too big")
    openclaw_telegram_api.user_sends_document(42, 42, b"x" * 100, "big.pdf", "application/pdf")
    await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.texts(42))
    assert (
        "too large" in openclaw_telegram_api.texts(42)[0]
        and "20 MB" in openclaw_telegram_api.texts(42)[0]
    )
    assert openclaw_mock_model.requests == []


async def test_a_channel_retrying_getupdates_is_degraded_in_health_and_status(
    start, openclaw_telegram_api, openclaw_mock_model
):
    gateway = await start()
    assert await http_get(gateway, "/health") == (200, "ok")
    openclaw_telegram_api.fail("getUpdates", 502, times=1000)
    state = gateway.channels["telegram"].channel
    await openclaw_telegram_api.wait_for(lambda: state.state.startswith("degraded"))
    status, text = await http_get(gateway, "/health")
    assert status == 503 and text.startswith("degraded: telegram (degraded: getUpdates failed")
    assert gateway.status()["channels"]["telegram"]["state"].startswith("degraded")
    openclaw_telegram_api.clear_faults()
    openclaw_telegram_api.user_sends(42, 42, "still there?")
    await openclaw_telegram_api.wait_for(lambda: answered(openclaw_telegram_api, 42), timeout=40)
    assert await http_get(gateway, "/health") == (200, "ok")
