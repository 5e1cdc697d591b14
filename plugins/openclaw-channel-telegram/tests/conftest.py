"""Shared fixtures: the fake Bot API and a channel pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from openclaw_channel_telegram.aiogram_import import import_aiogram
from openclaw_channel_telegram.channel import TelegramChannel
from openclaw_channel_telegram.settings import TelegramSettings
from openclaw_channel_telegram.testing import FakeBotAPI

from openclaw.channels import InboundMessage

# Before any test module imports aiogram: the tests run it as the channel imports it.
import_aiogram()


class RecordingInbox:
    """Stands in for the gateway: records what the channel hands over, optionally waits."""

    def __init__(self) -> None:
        self.received: list[InboundMessage] = []
        self.hold: asyncio.Event | None = None

        self.recorded: set[tuple[str, str]] = set()
        self.skips = 0

    def knows(self, channel: str, user_id: str) -> bool:
        return True  # every user may talk: the transport tests see every message whole

    def record(self, channel: Any, chat_id: str, message_id: str, payload: str = "") -> bool:
        """Like the gateway: False for a message seen before."""
        new = (chat_id, message_id) not in self.recorded
        self.recorded.add((chat_id, message_id))
        return new

    def skipped(self, channel: Any) -> None:
        self.skips += 1

    def commands(self) -> dict[str, Any]:
        return {}

    async def deliver(self, channel: Any, message: InboundMessage) -> None:
        self.received.append(message)
        if self.hold is not None and message.text == "slow":
            await self.hold.wait()


@pytest.fixture
def make_channel(openclaw_telegram_api: FakeBotAPI) -> Callable[..., TelegramChannel]:
    def build(**settings: Any) -> TelegramChannel:
        values = {
            "enabled": True,
            "token": openclaw_telegram_api.token,
            "api_base": openclaw_telegram_api.base_url,
            "poll_timeout": 1,
            "retry_delay": 0.01,
            **settings,
        }
        return TelegramChannel(None, TelegramSettings.model_validate(values))

    return build


@pytest.fixture
def gateway() -> RecordingInbox:
    return RecordingInbox()


@pytest.fixture
def running() -> Callable[..., Any]:
    """`async with running(channel, gateway):` polls in the background, then stops."""
    return _running


@contextlib.asynccontextmanager
async def _running(channel: TelegramChannel, gateway: Any) -> AsyncIterator[asyncio.Task[None]]:
    """Run the channel in the background until the block ends, then stop it."""
    task = asyncio.create_task(channel.run(gateway))
    for _ in range(500):
        if channel.state == "running" or task.done():
            break
        await asyncio.sleep(0.01)
    assert channel.state == "running", channel.state
    try:
        yield task
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 5)
