"""pytest fixtures of the Telegram channel (registered through the `pytest11` entry point
`openclaw-telegram`, so any suite with this plugin installed has them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from openclaw_channel_telegram.testing.bot_api import FakeBotAPI


@pytest.fixture
def openclaw_telegram_api() -> Iterator[FakeBotAPI]:
    """A running fake Bot API; give aiogram its `base_url` and `token`."""
    from openclaw_channel_telegram.testing.bot_api import FakeBotAPI

    with FakeBotAPI() as api:
        yield api
