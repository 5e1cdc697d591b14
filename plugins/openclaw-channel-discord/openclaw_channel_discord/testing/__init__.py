"""Test helpers for the Discord channel, shipped to plugin authors: `FakeDiscord` (a local
Discord REST API, CDN and gateway websocket speaking disnake's wire format). Names load on first
use, so pytest's start-up (this package's pytest plugin is registered through `pytest11`) does
not import the fake."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openclaw_channel_discord.testing.fake_discord import (
        MAX_CONTENT,
        MESSAGE_CONTENT_INTENT,
        DiscordAPIError,
        FakeDiscord,
        Request,
        SentMessage,
    )

__all__ = [
    "MAX_CONTENT",
    "MESSAGE_CONTENT_INTENT",
    "DiscordAPIError",
    "FakeDiscord",
    "Request",
    "SentMessage",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.fake_discord"), name)
