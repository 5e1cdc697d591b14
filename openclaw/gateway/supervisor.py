"""Running a channel under supervision: restarted with exponential backoff whenever it fails,
without touching the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openclaw.config import ChannelSettings
from openclaw.retry import Backoff

if TYPE_CHECKING:
    from openclaw.channels import Channel, Inbox

log = logging.getLogger("openclaw.gateway")


@dataclass(slots=True)
class Supervised:
    """A running channel with what the gateway knows about it."""

    channel: Channel
    settings: ChannelSettings
    restarts: int = 0
    last_error: str = ""
    skipped: int = 0  # platform updates that could not be read
    task: asyncio.Task[None] | None = None
    allowed: frozenset[str] = frozenset()
    """`settings.allowed_user_ids` as strings, built once: asked on every message."""

    def __post_init__(self) -> None:
        self.allowed = frozenset(str(user) for user in self.settings.allowed_user_ids)


async def supervise(
    name: str,
    supervised: Supervised,
    inbox: Inbox,
    stop: asyncio.Event,
    backoff: tuple[float, float],
) -> None:
    """Run a channel until `stop` is set; restart it with exponential backoff whenever it
    fails (a channel whose `run` returns on its own has failed too)."""
    delays = Backoff(*backoff)
    channel = supervised.channel
    while not stop.is_set():
        delays.connected()  # a run that lasts `longest` starts the series over
        try:
            await channel.run(inbox)
            if stop.is_set():
                return
            raise RuntimeError("run() returned without being stopped")
        except Exception as exc:
            if stop.is_set():
                return
            supervised.restarts += 1
            supervised.last_error = f"{type(exc).__name__}: {exc}"
            channel.state = f"failed: {supervised.last_error}"
            delay = delays.delay()
            log.exception("channel %s failed; restarting in %.1fs", name, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
