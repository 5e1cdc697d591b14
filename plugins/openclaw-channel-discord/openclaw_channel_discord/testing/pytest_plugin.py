"""pytest fixtures of the Discord channel (registered through the `pytest11` entry point
`openclaw-discord`, so any suite with this plugin installed has them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from openclaw_channel_discord.testing.fake_discord import FakeDiscord


@pytest.fixture
def openclaw_discord_api() -> Iterator[FakeDiscord]:
    """A running fake Discord (REST API, CDN and gateway websocket, `FakeDiscord`); give the
    Discord channel `openclaw_discord_api.api_base` and `openclaw_discord_api.token`."""
    from openclaw_channel_discord.testing.fake_discord import FakeDiscord

    with FakeDiscord() as api:
        yield api
