"""Cron inside the real gateway, against the fake Telegram Bot API: a job's answer is delivered
to the chat, the heartbeat is silent on HEARTBEAT_OK and delivers anything else, `/cron` lists
and toggles jobs, and `/status` shows the executor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import openclaw_channel_telegram.plugin as telegram_plugin
import pytest

from openclaw.cron import JobStore, jobs_path
from openclaw.gateway import Gateway
from openclaw.principal import Principal
from openclaw.testing.cron_clock import VirtualClock

START = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def start(openclaw_make_app, openclaw_telegram_api, openclaw_start_gateway):
    """Start a gateway whose Telegram channel is running against the fake Bot API; with
    `clock`, the cron executor runs on that virtual clock."""

    async def start(config: dict[str, Any] | None = None, clock: Any = None) -> Gateway:
        channels = {"telegram": openclaw_telegram_api.channel_settings()}
        data = {"channels": channels, "limits": {"debounce_ms": 0}, **(config or {})}
        gateway = Gateway(openclaw_make_app(config=data, plugins=[telegram_plugin]), port=0)
        if clock is not None:
            clock.attach(gateway.cron)
        return await openclaw_start_gateway(gateway, channel="telegram")

    return start


async def test_a_job_delivers_its_answer_to_the_telegram_chat(
    start, openclaw_telegram_api, openclaw_mock_model, openclaw_home
):
    clock = VirtualClock(START, START + timedelta(minutes=3))
    store = JobStore(jobs_path(openclaw_home), clock=clock.now)
    store.add(
        "Morning brief", "2 7 * * *", "Brief me", target={"channel": "telegram", "chat": "42"}
    )
    openclaw_mock_model.enqueue("Good morning: *three* meetings today.")
    gateway = await start(clock=clock)
    await asyncio.wait_for(clock.finished.wait(), 10)
    assert openclaw_telegram_api.texts(42) == ["Good morning: three meetings today."]
    [job] = store.load()
    assert job.last_status == "ok" and job.last_run == START + timedelta(minutes=2)
    assert openclaw_mock_model.requests[0].messages[-1].text == "Brief me"
    status = gateway.status()["cron"]
    assert status["jobs"] == 1 and status["error"] is None and status["failing"] == []


async def test_a_refused_delivery_is_recorded(
    start, openclaw_telegram_api, openclaw_mock_model, openclaw_home
):
    clock = VirtualClock(START, START + timedelta(minutes=3))
    store = JobStore(jobs_path(openclaw_home), clock=clock.now)
    store.add("ping", "2 7 * * *", "p", target={"channel": "telegram", "chat": "999"})
    openclaw_telegram_api.fail(
        "sendMessage", 400, description="Bad Request: chat not found", times=2
    )
    gateway = await start(clock=clock)
    await asyncio.wait_for(clock.finished.wait(), 10)
    [job] = store.load()
    assert job.last_status == "error"
    assert "sending to telegram:999 failed" in (job.last_error or "")
    assert "chat not found" in (job.last_error or "")
    assert gateway.status()["cron"]["failing"] == ["ping"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("HEARTBEAT_OK", []), ("The nightly backup failed.", ["The nightly backup failed."])],
)
async def test_heartbeat_through_telegram(
    start, openclaw_telegram_api, openclaw_mock_model, openclaw_home, answer, expected
):
    workspace = openclaw_home / "workspace"
    workspace.mkdir()
    (workspace / "HEARTBEAT.md").write_text("- is the nightly backup done?\n")
    openclaw_mock_model.enqueue(answer)
    clock = VirtualClock(START, START + timedelta(minutes=31))
    heartbeat = {"enabled": True, "target": {"channel": "telegram", "chat": 42}}
    gateway = await start(config={"heartbeat": heartbeat}, clock=clock)
    await asyncio.wait_for(clock.finished.wait(), 10)
    assert len(openclaw_mock_model.requests) == 1  # one beat, after the default 30 minutes
    assert "- is the nightly backup done?" in openclaw_mock_model.requests[0].messages[-1].text
    assert len(openclaw_telegram_api.calls_to("sendMessage")) == len(expected)
    assert openclaw_telegram_api.texts(42) == expected
    status = gateway.status()["cron"]["heartbeat"]
    assert status["last_status"] == ("delivered" if expected else "ok (nothing to report)")


async def test_cron_command_lists_and_toggles_jobs(
    start, openclaw_telegram_api, openclaw_mock_model, openclaw_home
):
    store = JobStore(jobs_path(openclaw_home))
    mine = Principal("telegram", "42", "tg")  # /cron shows the asker's jobs only
    store.add("Morning brief", "0 9 * * *", "p", timezone="Europe/Berlin", owner=mine)
    store.add(
        "Morning run", "every 1d", "p", target={"channel": "telegram", "chat": "42"}, owner=mine
    )
    store.add("Evening", "0 21 * * *", "p", owner=mine)
    await start()

    async def send(text: str) -> str:
        count = len(openclaw_telegram_api.texts(42))
        openclaw_telegram_api.user_sends(42, 42, text)
        texts = await openclaw_telegram_api.wait_for(
            lambda: openclaw_telegram_api.texts(42)[count:]
        )
        return texts[0]

    listing = await send("/cron")
    assert listing.startswith("Cron jobs:")
    assert "Morning brief  [0 9 * * *] Europe/Berlin" in listing
    assert "Morning run  [every 1d] UTC  to telegram:42" in listing
    assert (await send("/cron disable EVEN")).startswith("Disabled: ")
    ambiguous = await send("/cron disable morning")
    assert "matches several jobs: Morning brief, Morning run" in ambiguous
    assert (await send("/cron enable evening")).startswith("Enabled: ")
    assert (await send("/cron disable brief")).startswith("Disabled: ")
    assert "Usage: /cron" in await send("/cron explode")
    assert {job.name: job.enabled for job in store.load()} == {
        "Morning brief": False,
        "Morning run": True,
        "Evening": True,
    }
    assert openclaw_mock_model.requests == []
