"""Test helpers for the Telegram channel, shipped to plugin authors: `FakeBotAPI` (a local Bot
API server speaking aiogram's wire format) and `CrashRun` (kill a real gateway mid-turn and count
what the users got). Names load on first use, so pytest's start-up (this package's pytest plugin
is registered through `pytest11`) does not import the fakes."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openclaw_channel_telegram.testing.bot_api import (
        MAX_CAPTION_LEN,
        MAX_MESSAGE_LEN,
        Call,
        FakeBotAPI,
        MarkdownV2Error,
        SentMessage,
        parse_markdown_v2,
    )
    from openclaw_channel_telegram.testing.crash import CrashReport, CrashRun

__all__ = [
    "MAX_CAPTION_LEN",
    "MAX_MESSAGE_LEN",
    "Call",
    "CrashReport",
    "CrashRun",
    "FakeBotAPI",
    "MarkdownV2Error",
    "SentMessage",
    "parse_markdown_v2",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = "crash" if name.startswith("Crash") else "bot_api"
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
